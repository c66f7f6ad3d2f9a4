package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// Store-level checks of the rules the stores delegate to walletgate
// (PlanDeposit, PlanBroadcastTx, NewOutboxEvents): that each store reads
// the state those rules need and persists what they decide.

// testLateWatch: an address watched after its transaction was first seen
// gets its deposit on the transaction's next change, not on a repeat of
// an unchanged view, and the deposit already there keeps its id.
func testLateWatch(t *testing.T, s walletgate.DepositStore) {
	const coin = "lwc"
	watch(t, s, coin, "early", "alice")
	tx := walletgate.WalletTx{TxID: "late-watch-tx", Details: []walletgate.WalletTxDetail{recv("early", 10), recv("late", 20)}}
	first := apply(t, s, coin, tx)
	if len(first) != 1 || first[0].Address != "early" {
		t.Fatalf("first view gave %+v, want one event for the watched address", first)
	}
	watch(t, s, coin, "late", "bob")
	if again := apply(t, s, coin, tx); len(again) != 0 {
		t.Fatalf("an unchanged view after the new watch gave %+v; want nothing", again)
	}
	tx.Confirmations = 3
	ev := apply(t, s, coin, tx)
	if len(ev) != 2 || ev[0].Address != "early" || ev[0].TransactionID != first[0].TransactionID ||
		ev[1].Address != "late" || ev[1].Account != "bob" || ev[1].TransactionID <= ev[0].TransactionID || !ev[1].Credited {
		t.Fatalf("the next change gave %+v; want the early deposit (same id) then a new credited one for bob", ev)
	}
	if b := balance(t, s, coin, "bob"); b != 20 {
		t.Fatalf("bob's balance %d, want 20", b)
	}
}

// testOutboxPayload: what a handler is handed is exactly the payload of
// the event ApplyTx returned, byte for byte (MarshalTxUpdate at commit).
func testOutboxPayload(t *testing.T, s walletgate.DepositStore) {
	const coin, h = "opc", "payload-handler"
	if err := s.RegisterHandler(ctxT(t), h); err != nil {
		t.Fatal(err)
	}
	watch(t, s, coin, "p1", "alice")
	ev := apply(t, s, coin, walletgate.WalletTx{TxID: "payload-tx", Confirmations: 3, Details: []walletgate.WalletTxDetail{recv("p1", 21000)}})
	if len(ev) != 1 {
		t.Fatalf("apply gave %+v", ev)
	}
	want, err := walletgate.MarshalTxUpdate(ev[0])
	if err != nil {
		t.Fatal(err)
	}
	items := claim(t, s, h, 10, t0)
	if len(items) != 1 || !bytes.Equal(items[0].Payload, want) || items[0].Event != ev[0] {
		t.Fatalf("claimed %+v\nwant payload %s and event %+v", items, want, ev[0])
	}
	ack(t, s, h, items...)
}

// testBroadcastStaleView: broadcast views are ordered like deposit ones:
// one asked for before the view already applied is ignored, a reorg seen
// later applies.
func testBroadcastStaleView(t *testing.T, s LedgerStore) {
	ctx := ctxT(t)
	coin := uniqueCoin("bs")
	credit(t, s, coin, "alice", 10_000)
	queue(t, s, walletgate.SendRequest{Coin: coin, Account: "alice", Address: "out", Amount: 1_000, ExternalID: "stale-send"})
	b, _ := collect(t, s, coin, 10)
	if _, err := s.OpenBroadcast(ctx, coin, b.ID, t0); err != nil {
		t.Fatal(err)
	}
	txid := fakeTxID(50)
	if _, err := s.CloseBroadcast(ctx, coin, b.ID, txid, 0, t0); err != nil {
		t.Fatal(err)
	}
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	steps := []struct {
		conf   int64
		asked  time.Time
		events int
		want   int64
	}{
		{0, at(1), 1, 0},
		{5, at(10), 1, 5},
		{4, at(9), 0, 5},  // stale
		{5, at(11), 0, 5}, // unchanged
		{3, at(12), 1, 3}, // a reorg seen later
	}
	for i, st := range steps {
		ev, err := s.ApplyBroadcastTx(ctx, coin, walletgate.WalletTx{TxID: txid, Confirmations: st.conf}, 15, st.asked)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		o, err := s.OutgoingTx(ctx, coin, "stale-send")
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(ev) != st.events || o.Confirmations != st.want {
			t.Errorf("step %d (conf %d asked %v): %d events, send at %d; want %d events, %d", i, st.conf, st.asked, len(ev), o.Confirmations, st.events, st.want)
		}
	}
	if t.Failed() {
		return
	}
	n, err := s.NetworkTx(ctx, coin, walletgate.TxTypeBroadcast, txid)
	if err != nil || n.Confirmations != 3 {
		t.Fatalf("broadcast network tx %+v, %v; want 3 confirmations", n, err)
	}
}
