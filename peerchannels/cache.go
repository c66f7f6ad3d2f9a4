package peerchannels

import "sync"

// channelRef is what the message endpoints need of a channel. None of it
// changes while the channel exists (amend touches only the public flags and
// the lock, which the store checks itself), and external ids are random
// and never reused, so a cached entry can only be stale for a deleted
// channel, whose tokens are gone and fail authentication first.
type channelRef struct {
	ID         int64
	ExternalID string
	AccountID  int64
	Sequenced  bool
}

// channelCache maps external ids to channelRefs so each message request
// costs one store read (the token) instead of two. It is bounded; when full
// an arbitrary entry makes room.
type channelCache struct {
	mu  sync.Mutex
	m   map[string]channelRef
	max int
}

func newChannelCache(max int) *channelCache {
	return &channelCache{m: make(map[string]channelRef), max: max}
}

func (c *channelCache) get(externalID string) (channelRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[externalID]
	return r, ok
}

func (c *channelCache) put(r channelRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[r.ExternalID]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[r.ExternalID] = r
}

func (c *channelCache) forget(externalID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, externalID)
}
