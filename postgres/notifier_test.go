package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/testenv"
	"github.com/walletgate/walletgate/postgres"
)

// inbox collects notices delivered to a subscriber.
type inbox struct {
	mu  sync.Mutex
	got []walletgate.ChannelNotice
	c   chan struct{} // signalled on every delivery
}

func newInbox() *inbox { return &inbox{c: make(chan struct{}, 1024)} }

func (b *inbox) fn(n walletgate.ChannelNotice) {
	b.mu.Lock()
	b.got = append(b.got, n)
	b.mu.Unlock()
	b.c <- struct{}{}
}

// waitFor waits until a notice with seq arrives, or fails after 10s.
func (b *inbox) waitFor(t *testing.T, seq int64) walletgate.ChannelNotice {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		for _, n := range b.got {
			if n.Sequence == seq {
				b.mu.Unlock()
				return n
			}
		}
		b.mu.Unlock()
		select {
		case <-b.c:
		case <-deadline:
			t.Fatalf("notice with sequence %d never arrived", seq)
		}
	}
}

func (b *inbox) has(seq int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range b.got {
		if n.Sequence == seq {
			return true
		}
	}
	return false
}

// TestNotifier runs two stores with separate pools on one database, as two
// processes: a notice published by either reaches subscribers of both.
func TestNotifier(t *testing.T) {
	url := testenv.PostgresDB(t)
	p1 := openURL(t, url)
	p2, err := postgres.Open(context.Background(), url, postgres.Options{ReconnectMin: 20 * time.Millisecond, ListenPingInterval: time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p1.Close(); p2.Close() })
	adm := admin(t, url)
	if pids := listenerPIDs(t, adm); len(pids) != 0 {
		t.Fatalf("listeners before any subscription: %v", pids)
	}
	n1, n2 := p1.Notifier(), p2.Notifier()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in1, in2 := newInbox(), newInbox()
	if err := n1.SubscribeChannelNotices(ctx, in1.fn); err != nil {
		t.Fatalf("subscribe 1: %v", err)
	}
	if err := n2.SubscribeChannelNotices(ctx, in2.fn); err != nil {
		t.Fatalf("subscribe 2: %v", err)
	}
	want := walletgate.ChannelNotice{ChannelID: 42, ChannelExternalID: "ab-_cd==", AccountID: 7, FromOwnerToken: true,
		Sequence: 1, Received: time.Unix(1700000000, 0).UTC(), ContentType: "application/octet-stream"}

	cases := []struct {
		name string
		pub  *postgres.Notifier
		seq  int64
	}{
		{"published by process 1", n1, 1},
		{"published by process 2", n2, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := want
			w.Sequence = tc.seq
			if err := tc.pub.PublishChannelNotice(ctx, w); err != nil {
				t.Fatalf("publish: %v", err)
			}
			for i, in := range []*inbox{in1, in2} {
				if got := in.waitFor(t, tc.seq); got != w {
					t.Fatalf("subscriber %d got %+v, want %+v", i+1, got, w)
				}
			}
		})
	}

	t.Run("pings while idle", func(t *testing.T) {
		// Listener 2 waits with a 1s ping interval; after idling past it, it
		// must still be on the same, working connection (no reconnect).
		before := listenerPIDs(t, adm)
		time.Sleep(1500 * time.Millisecond)
		if after := listenerPIDs(t, adm); !slices.Equal(before, after) {
			t.Fatalf("listener connections changed while idle: %v → %v", before, after)
		}
		w := want
		w.Sequence = 3
		if err := n1.PublishChannelNotice(ctx, w); err != nil {
			t.Fatalf("publish: %v", err)
		}
		in2.waitFor(t, 3)
	})

	t.Run("reconnects", func(t *testing.T) {
		// Kill both listeners' connections from outside.
		killed := terminateListeners(t, adm)
		if killed != 2 {
			t.Fatalf("terminated %d listener backends, want 2", killed)
		}
		// Notices sent while it reconnects are lost (NOTIFY has no backlog),
		// so keep publishing until one arrives.
		deadline := time.Now().Add(15 * time.Second)
		for seq := int64(100); ; seq++ {
			w := want
			w.Sequence = seq
			if err := n1.PublishChannelNotice(ctx, w); err != nil {
				t.Fatalf("publish: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
			if in1.has(seq) && in2.has(seq) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("listener did not come back after its connection was terminated")
			}
		}
	})

	t.Run("stops with ctx", func(t *testing.T) {
		sub, stop := context.WithCancel(ctx)
		in3 := newInbox()
		if err := n2.SubscribeChannelNotices(sub, in3.fn); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		stop()
		// Its connection closes: wait until only the other listeners remain.
		waitListeners(t, adm, 2)
		w := want
		w.Sequence = 1000
		if err := n1.PublishChannelNotice(ctx, w); err != nil {
			t.Fatalf("publish: %v", err)
		}
		in1.waitFor(t, 1000)
		in2.waitFor(t, 1000)
		if in3.has(1000) {
			t.Fatalf("a cancelled subscription still received notices")
		}
	})
}

// admin is a plain connection for poking at the server from outside the
// stores under test.
func admin(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// listenerPIDs lists the notifiers' dedicated connections.
func listenerPIDs(t *testing.T, c *pgx.Conn) []int32 {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, postgres.ListenerApplicationName)
	if err != nil {
		t.Fatalf("list listeners: %v", err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatalf("list listeners: %v", err)
	}
	return pids
}

func terminateListeners(t *testing.T, c *pgx.Conn) int {
	t.Helper()
	pids := listenerPIDs(t, c)
	for _, pid := range pids {
		if _, err := c.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatalf("terminate %d: %v", pid, err)
		}
	}
	return len(pids)
}

func waitListeners(t *testing.T, c *pgx.Conn, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(listenerPIDs(t, c)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("listener count never became %d (now %d)", n, len(listenerPIDs(t, c)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
