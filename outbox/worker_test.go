package outbox_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/outbox"
	"github.com/walletgate/walletgate/sqlite"
)

// cannedStore hands out fixed outbox items once and records acks; the
// embedded interface is nil, as the worker calls nothing else.
type cannedStore struct {
	walletgate.DepositStore
	mu    sync.Mutex
	items []walletgate.OutboxItem
	acked []int64
}

func (s *cannedStore) RegisterHandler(context.Context, string) error { return nil }

func (s *cannedStore) ClaimOutbox(context.Context, string, int, time.Duration, time.Time) ([]walletgate.OutboxItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := s.items
	s.items = nil
	return items, nil
}

func (s *cannedStore) AckOutbox(_ context.Context, _ string, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, id)
	return nil
}

func (s *cannedStore) RetryOutbox(context.Context, string, int64, time.Time, string) error {
	return nil
}

// deliverOne runs a worker over store until h has been handed one event,
// and returns the bytes it was given.
func deliverOne(t *testing.T, store walletgate.DepositStore) (walletgate.TxUpdate, []byte) {
	t.Helper()
	type delivery struct {
		ev   walletgate.TxUpdate
		data []byte
	}
	got := make(chan delivery, 1)
	h := outbox.Func{HandlerName: "bytes", Fn: func(_ context.Context, _ string, ev walletgate.TxUpdate, data []byte) error {
		select {
		case got <- delivery{ev, append([]byte(nil), data...)}:
		default:
		}
		return nil
	}}
	w := outbox.NewWorker(store, h, outbox.WorkerOptions{Poll: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer cancel()
	select {
	case d := <-got:
		cancel()
		<-done
		return d.ev, d.data
	case err := <-done:
		t.Fatalf("worker stopped before delivering: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery within 20s")
	}
	return walletgate.TxUpdate{}, nil
}

// TestWorkerDeliversStoredBytes: the worker hands handlers the payload as
// the outbox holds it, byte for byte, even where re-encoding the decoded
// event would give other bytes (here: spacing and a key this binary does
// not know).
func TestWorkerDeliversStoredBytes(t *testing.T) {
	stored := []byte(`{"transaction": 1, "event_id": "btc:tx:addr:3", "from_a_newer_binary": true}`)
	st := &cannedStore{items: []walletgate.OutboxItem{{ID: 41, Handler: "bytes", Attempts: 1, Payload: stored, Event: ev}}}
	gotEv, data := deliverOne(t, st)
	if string(data) != string(stored) {
		t.Fatalf("handler got %s\nwant the stored %s", data, stored)
	}
	if gotEv != ev {
		t.Fatalf("handler got event %+v, want %+v", gotEv, ev)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.acked) != 1 || st.acked[0] != 41 {
		t.Fatalf("acked %v, want [41]", st.acked)
	}
}

// TestWorkerPayloadIsApplied: through a real store, what a handler gets is
// exactly MarshalTxUpdate of the event ApplyTx returned (today's wire
// payload).
func TestWorkerPayloadIsApplied(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.RegisterHandler(ctx, "bytes"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddWatch(ctx, walletgate.Watch{Coin: "btc", Address: "addr", Account: "alice"}); err != nil {
		t.Fatal(err)
	}
	applied, err := st.ApplyTx(ctx, "btc", walletgate.WalletTx{TxID: "tx", Confirmations: 3, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategoryReceive, Address: "addr", Amount: 21000}}}, 3, 15, time.Now())
	if err != nil || len(applied) != 1 {
		t.Fatalf("ApplyTx: %+v, %v", applied, err)
	}
	want, err := walletgate.MarshalTxUpdate(applied[0])
	if err != nil {
		t.Fatal(err)
	}
	gotEv, data := deliverOne(t, st)
	if string(data) != string(want) || gotEv != applied[0] {
		t.Fatalf("handler got %s (%+v)\nwant %s (%+v)", data, gotEv, want, applied[0])
	}
}
