package withdrawals_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/sqlite"
	"github.com/walletgate/walletgate/withdrawals"
)

// ledger records every payment it is asked to make and answers with a
// fresh txid, so a test can count sends per broadcast label.
type ledger struct {
	mu     sync.Mutex
	labels map[string]int
	n      int
}

func (l *ledger) Send(ctx context.Context, to map[string]int64, label string) (string, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.labels[label]++
	l.n++
	return fmt.Sprintf("%064x", l.n), 100, nil
}

// TestTwoBroadcasters: two processes' broadcasters (two stores on one
// SQLite file) run rounds at once while sends are queued; every broadcast
// is handed to the wallet exactly once and every send ends broadcasted.
func TestTwoBroadcasters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.sqlite")
	var stores []*sqlite.Store
	for range 2 {
		st, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	if _, err := stores[0].AddWatch(ctx, walletgate.Watch{Coin: "btc", Address: "in", Account: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[0].ApplyTx(ctx, "btc", walletgate.WalletTx{TxID: "credit", Confirmations: 3, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategoryReceive, Address: "in", Amount: 1_000_000}}}, 3, 15, time.Now()); err != nil {
		t.Fatal(err)
	}
	l := &ledger{labels: map[string]int{}}
	var bcs []*withdrawals.Broadcaster
	for _, st := range stores {
		bc, err := withdrawals.New(st, map[string]walletgate.Sender{"btc": l}, withdrawals.Options{MaxSends: 3})
		if err != nil {
			t.Fatal(err)
		}
		bcs = append(bcs, bc)
	}
	const sends = 60
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range sends {
			if _, err := stores[i%2].QueueSend(ctx, walletgate.SendRequest{Coin: "btc", Account: "alice", Address: fmt.Sprint("to", i%5),
				Amount: 1_000, ExternalID: fmt.Sprint("s", i)}, time.Now()); err != nil {
				t.Errorf("QueueSend %d: %v", i, err)
			}
		}
	})
	for i := range 6 {
		bc := bcs[i%2]
		wg.Go(func() {
			for range 10 {
				if err := bc.RunOnce(ctx, "btc"); err != nil {
					t.Errorf("RunOnce: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for _, bc := range bcs { // sweep what was queued after the last rounds
		if err := bc.RunOnce(ctx, "btc"); err != nil {
			t.Fatal(err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for label, n := range l.labels {
		if n != 1 {
			t.Fatalf("%s sent %d times", label, n)
		}
	}
	bs, _, err := stores[1].ListBroadcasts(ctx, "btc", walletgate.BroadcastAll, walletgate.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	carried := 0
	for _, b := range bs {
		if b.State() != walletgate.BroadcastClosed {
			t.Fatalf("broadcast %d is %s", b.ID, b.State())
		}
		carried += len(b.SendIDs)
	}
	if carried != sends || len(bs) != len(l.labels) {
		t.Fatalf("%d broadcasts carry %d sends, %d were sent; want all %d sends in sent broadcasts", len(bs), carried, len(l.labels), sends)
	}
	bal, _ := stores[0].Balance(ctx, "btc", "alice")
	fees, _ := stores[0].Balance(ctx, "btc", walletgate.NetworkFeesAccount)
	if bal != 1_000_000-sends*1_000 || fees != -100*int64(len(bs)) {
		t.Fatalf("alice %d, fees %d", bal, fees)
	}
}

func TestNew(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, c := range map[string]struct {
		store   walletgate.BroadcastStore
		senders map[string]walletgate.Sender
	}{
		"no store":   {nil, map[string]walletgate.Sender{"btc": &ledger{}}},
		"no coins":   {st, nil},
		"nil sender": {st, map[string]walletgate.Sender{"btc": nil}},
	} {
		if _, err := withdrawals.New(c.store, c.senders, withdrawals.Options{}); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("%s: %v, want EInvalid", name, err)
		}
	}
	bc, _ := withdrawals.New(st, map[string]walletgate.Sender{"btc": &ledger{}}, withdrawals.Options{})
	if err := bc.RunOnce(context.Background(), "doge"); walletgate.ErrorCode(err) != walletgate.ENotFound {
		t.Fatalf("RunOnce on an unknown coin: %v", err)
	}
}

// cancelling is a Sender whose payment goes out while the round's context
// is cancelled (a shutdown during the send).
type cancelling struct{ cancel context.CancelFunc }

func (c cancelling) Send(ctx context.Context, to map[string]int64, label string) (string, int64, error) {
	c.cancel()
	return fmt.Sprintf("%064x", 7), 50, nil
}

// TestCloseSurvivesCancel: a send that completed is recorded even when
// the round's context ends meanwhile, so a shutdown never loses a txid.
func TestCloseSurvivesCancel(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bg := context.Background()
	st.AddWatch(bg, walletgate.Watch{Coin: "btc", Address: "in", Account: "alice"})
	if _, err := st.ApplyTx(bg, "btc", walletgate.WalletTx{TxID: "credit", Confirmations: 3, Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategoryReceive, Address: "in", Amount: 10_000}}}, 3, 15, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.QueueSend(bg, walletgate.SendRequest{Coin: "btc", Account: "alice", Address: "to", Amount: 500, ExternalID: "c1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	bc, _ := withdrawals.New(st, map[string]walletgate.Sender{"btc": cancelling{cancel}}, withdrawals.Options{})
	if err := bc.RunOnce(ctx, "btc"); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	o, err := st.OutgoingTx(bg, "btc", "c1")
	if err != nil || o.State != walletgate.SendBroadcasted || o.TxID != fmt.Sprintf("%064x", 7) {
		t.Fatalf("send after a cancelled round: %+v, %v; want it recorded as broadcasted", o, err)
	}
}
