package deposits_test

import (
	"context"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/deposits"
)

// TestPollBroadcast: the poll fetches the service's own broadcasts too
// and emits one txupdate per send (account = sender, address =
// destination) on each confirmation change, until they are final.
func TestPollBroadcast(t *testing.T) {
	ctx := context.Background()
	b := newScripted()
	var got []walletgate.TxUpdate
	tr, st := newTracker(t, deposits.Coin{Wallet: b, MaxConfirmations: 6}, deposits.Options{OnEvents: func(_ string, ev []walletgate.TxUpdate) { got = append(got, ev...) }})
	w, _ := tr.CreateAddress(ctx, "btc", "alice", "")
	b.set(receive(txid(1), 6, w.Address, 50_000))
	if err := tr.WalletNotify(ctx, "btc", txid(1)); err != nil {
		t.Fatal(err)
	}
	got = nil
	s1, err := st.QueueSend(ctx, walletgate.SendRequest{Coin: "btc", Account: "alice", Address: "dest", Amount: 1_000, ExternalID: "x1"}, t0())
	if err != nil {
		t.Fatal(err)
	}
	bc, _, err := st.CollectBroadcast(ctx, "btc", 10, t0())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.OpenBroadcast(ctx, "btc", bc.ID, t0()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CloseBroadcast(ctx, "btc", bc.ID, txid(2), 120, t0()); err != nil {
		t.Fatal(err)
	}
	send := walletgate.WalletTx{TxID: txid(2), Details: []walletgate.WalletTxDetail{
		{Category: walletgate.CategorySend, Address: "dest", Amount: -1_000, Fee: 120}}}
	for _, conf := range []int64{0, 0, 2, 6} {
		send.Confirmations = conf
		b.set(send)
		if err := tr.Poll(ctx, "btc"); err != nil {
			t.Fatalf("Poll at %d: %v", conf, err)
		}
	}
	if len(got) != 3 {
		t.Fatalf("events %+v; want one per change (0, 2, 6)", got)
	}
	for i, conf := range []int64{0, 2, 6} {
		e := got[i]
		if e.TransactionType != walletgate.TxTypeBroadcast || e.Account != "alice" || e.Address != "dest" || e.Amount != 1_000 ||
			e.TransactionID != s1.ID || e.Confirmations != conf || e.TxID != txid(2) || e.Credited {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
	b.mu.Lock()
	before := b.fetches[txid(2)]
	b.mu.Unlock()
	if err := tr.Poll(ctx, "btc"); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	after := b.fetches[txid(2)]
	b.mu.Unlock()
	if after != before {
		t.Fatalf("a final broadcast was fetched again (%d → %d)", before, after)
	}
	if o, _ := st.OutgoingTx(ctx, "btc", "x1"); o.Confirmations != 6 || o.State != walletgate.SendBroadcasted {
		t.Fatalf("send after polling: %+v", o)
	}
}
