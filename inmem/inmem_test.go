package inmem_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/inmem"
)

type recorder struct {
	mu  sync.Mutex
	got []int64
}

func (r *recorder) fn(n walletgate.ChannelNotice) {
	r.mu.Lock()
	r.got = append(r.got, n.Sequence)
	r.mu.Unlock()
}

func (r *recorder) seqs() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.got...)
}

func TestChannelNotifier(t *testing.T) {
	n := inmem.NewChannelNotifier()
	ctx := context.Background()
	var a, b recorder
	actx, cancelA := context.WithCancel(ctx)
	if err := n.SubscribeChannelNotices(actx, a.fn); err != nil {
		t.Fatalf("subscribe a: %v", err)
	}
	if err := n.SubscribeChannelNotices(ctx, b.fn); err != nil {
		t.Fatalf("subscribe b: %v", err)
	}
	notice := walletgate.ChannelNotice{ChannelID: 7, ChannelExternalID: "x", AccountID: 1, Sequence: 1,
		Received: time.Unix(1700000000, 0).UTC(), ContentType: "application/json"}
	if err := n.PublishChannelNotice(ctx, notice); err != nil {
		t.Fatalf("publish: %v", err)
	}
	cancelA()
	// AfterFunc runs in its own goroutine; wait until a is gone.
	for n.Subscribers() != 1 {
		time.Sleep(time.Millisecond)
	}
	notice.Sequence = 2
	if err := n.PublishChannelNotice(ctx, notice); err != nil {
		t.Fatalf("publish: %v", err)
	}
	cases := []struct {
		name string
		r    *recorder
		want []int64
	}{
		{"cancelled subscriber got only the first", &a, []int64{1}},
		{"live subscriber got both", &b, []int64{1, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.seqs()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("done context", func(t *testing.T) {
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := n.SubscribeChannelNotices(done, b.fn); err == nil {
			t.Fatalf("subscribing with a done context succeeded")
		}
		if err := n.PublishChannelNotice(done, notice); err == nil {
			t.Fatalf("publishing with a done context succeeded")
		}
	})
	t.Run("subscribe from inside fn", func(t *testing.T) {
		var inner recorder
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		once := sync.Once{}
		if err := n.SubscribeChannelNotices(sctx, func(walletgate.ChannelNotice) {
			once.Do(func() { _ = n.SubscribeChannelNotices(sctx, inner.fn) })
		}); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		notice.Sequence = 3
		_ = n.PublishChannelNotice(ctx, notice)
		notice.Sequence = 4
		_ = n.PublishChannelNotice(ctx, notice)
		if got := inner.seqs(); len(got) != 1 || got[0] != 4 {
			t.Fatalf("subscriber added during delivery got %v, want [4]", got)
		}
	})
}
