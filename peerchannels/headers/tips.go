package headers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// subscriber is one open tips websocket.
type subscriber struct {
	frames chan []byte
	kicked chan struct{} // closed when the socket fell too far behind
}

// Run polls the source for tips every PollInterval until ctx ends, sending
// each new LONGEST_CHAIN tip to the tips websockets and, through Pusher, to
// the account websockets. The first tip seen counts as new (as in the
// reference server), and so does the first tip after the source comes back,
// so clients catch up after an outage. When Run returns, every tips
// websocket is closed and new ones are refused, so Run is called once per
// Handler.
func (h *Handler) Run(ctx context.Context) error {
	defer h.shutdown()
	ticker := time.NewTicker(h.cfg.PollInterval)
	defer ticker.Stop()
	var last string
	for {
		last = h.pollOnce(ctx, last)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// pollOnce asks for the tips and announces a LONGEST_CHAIN tip whose hash
// differs from last. It returns the hash now current ("" after a failure).
func (h *Handler) pollOnce(ctx context.Context, last string) string {
	cctx, cancel := context.WithTimeout(ctx, h.cfg.SourceTimeout)
	tips, err := h.cfg.Source.Tips(cctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			h.log.Debug("headers: tip poll failed", "err", err)
		}
		return ""
	}
	tip, ok := LongestChain(tips)
	if !ok {
		h.log.Warn("headers: source reported no LONGEST_CHAIN tip")
		return last
	}
	if tip.Header.Hash == last {
		return last
	}
	frame, err := TipFrame(tip)
	if err != nil {
		h.log.Warn("headers: bad tip from source", "err", err)
		return last
	}
	h.broadcast(frame)
	if h.cfg.Pusher != nil {
		result, err := json.Marshal(tips)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
			h.cfg.Pusher.BroadcastAccountsText(pctx, TipMessageType, result)
			cancel()
		}
	}
	return tip.Header.Hash
}

// broadcast queues frame on every subscriber; one whose queue is full is
// dropped rather than allowed to hold up the others.
func (h *Handler) broadcast(frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.frames <- frame:
		default:
			delete(h.subs, s)
			close(s.kicked)
		}
	}
}

func (h *Handler) subscribe() (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.subs) >= h.cfg.MaxSubscribers {
		return nil, false
	}
	s := &subscriber{frames: make(chan []byte, h.cfg.SubscriberBuffer), kicked: make(chan struct{})}
	h.subs[s] = struct{}{}
	return s, true
}

func (h *Handler) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	select {
	case h.gone <- struct{}{}:
	default:
	}
}

// Shutdown sends every tips websocket away with a close 1001 (going away)
// and refuses new ones with HTTP 503, as Run's end does, and returns once
// they have closed, or with ctx's error when ctx ends first. net/http's
// own shutdown neither closes nor waits for these hijacked connections,
// and Run ends only after the listeners have drained, so call Shutdown
// when shutdown starts. Run keeps polling until its context ends.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.shutdown()
	for {
		n := h.Subscribers()
		if n == 0 {
			return nil
		}
		select {
		case <-h.gone:
		case <-ctx.Done():
			return fmt.Errorf("headers: %d tips websockets still open: %w", n, ctx.Err())
		}
	}
}

func (h *Handler) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// Subscribers reports how many tips websockets are open (for tests and metrics).
func (h *Handler) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// serveTipsWebsocket streams binary 84-byte tips. Nothing is sent on
// connect; client frames are ignored; a ping goes out every PingInterval.
func (h *Handler) serveTipsWebsocket(w http.ResponseWriter, r *http.Request) {
	s, ok := h.subscribe()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	defer h.unsubscribe(s)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		return // Accept has answered the client
	}
	defer c.CloseNow()
	c.SetReadLimit(4096)
	// CloseRead discards client frames and ends ctx when the peer goes.
	ctx := c.CloseRead(r.Context())
	ping := time.NewTicker(h.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-s.kicked:
			c.Close(websocket.StatusPolicyViolation, "too slow to receive tips")
			return
		case frame := <-s.frames:
			wctx, cancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
			err := c.Write(wctx, websocket.MessageBinary, frame)
			cancel()
			if err != nil {
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		}
	}
}
