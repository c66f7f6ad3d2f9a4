// Package inmem holds in-process implementations of walletgate's
// interfaces, for a single walletgate process.
package inmem

import (
	"context"
	"sync"

	"github.com/walletgate/walletgate"
)

// ChannelNotifier is a walletgate.ChannelNotifier within one process:
// PublishChannelNotice calls every live subscriber's fn directly, in the
// publisher's goroutine, so a notice reaches subscribers before Publish
// returns and nothing is queued or dropped.
type ChannelNotifier struct {
	mu   sync.RWMutex
	next uint64
	subs map[uint64]func(walletgate.ChannelNotice)
}

var _ walletgate.ChannelNotifier = (*ChannelNotifier)(nil)

// NewChannelNotifier returns a notifier with no subscribers.
func NewChannelNotifier() *ChannelNotifier {
	return &ChannelNotifier{subs: make(map[uint64]func(walletgate.ChannelNotice))}
}

// PublishChannelNotice implements walletgate.ChannelNotifier.
func (n *ChannelNotifier) PublishChannelNotice(ctx context.Context, notice walletgate.ChannelNotice) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.RLock()
	fns := make([]func(walletgate.ChannelNotice), 0, len(n.subs))
	for _, fn := range n.subs {
		fns = append(fns, fn)
	}
	n.mu.RUnlock()
	// Called outside the lock, so fn may subscribe or cancel freely.
	for _, fn := range fns {
		fn(notice)
	}
	return nil
}

// SubscribeChannelNotices implements walletgate.ChannelNotifier. The
// subscription is live when it returns and ends when ctx ends.
func (n *ChannelNotifier) SubscribeChannelNotices(ctx context.Context, fn func(walletgate.ChannelNotice)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	id := n.next
	n.next++
	n.subs[id] = fn
	n.mu.Unlock()
	context.AfterFunc(ctx, func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	})
	return nil
}

// Subscribers reports how many subscriptions are live.
func (n *ChannelNotifier) Subscribers() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.subs)
}
