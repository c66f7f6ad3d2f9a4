package walletgate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

func TestPlanQueueSend(t *testing.T) {
	r := walletgate.SendRequest{Coin: "btc", Account: "alice", Address: "dest", Amount: 3000, ExternalID: "pay-1"}
	prev := walletgate.OutgoingTx{ID: 5, Coin: "btc", Type: walletgate.OutgoingSend, Account: "alice", Address: "dest", Amount: 3000,
		ExternalID: "pay-1", State: walletgate.SendBroadcasted}
	other := func(mut func(*walletgate.OutgoingTx)) *walletgate.OutgoingTx { p := prev; mut(&p); return &p }
	for _, c := range []struct {
		name    string
		prev    *walletgate.OutgoingTx
		balance int64
		insert  bool
		code    string
		msg     string // part of the error message
	}{
		{"enough balance: a pending send to insert", nil, 3000, true, "", ""},
		{"short by one satoshi", nil, 2999, false, walletgate.EInvalid, `account "alice" has 0.00002999 btc, not enough to send 0.00003000`},
		{"never credited", nil, 0, false, walletgate.EInvalid, "has 0.00000000 btc"},
		{"a repeat returns the first send, whatever the balance now", &prev, 0, false, "", ""},
		{"same id, other amount", other(func(p *walletgate.OutgoingTx) { p.Amount = 3001 }), 1e8, false, walletgate.EConflict,
			`external_id "pay-1" was already used for a send of 0.00003001 from "alice" to dest`},
		{"same id, other address", other(func(p *walletgate.OutgoingTx) { p.Address = "elsewhere" }), 1e8, false, walletgate.EConflict, "to elsewhere"},
		{"same id, other account", other(func(p *walletgate.OutgoingTx) { p.Account = "bob" }), 1e8, false, walletgate.EConflict, `from "bob"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, insert, err := walletgate.PlanQueueSend(r, c.prev, c.balance, ruleT0)
			if c.code != "" {
				if walletgate.ErrorCode(err) != c.code || !strings.Contains(walletgate.ErrorMessage(err), c.msg) || insert {
					t.Fatalf("got insert %v, %v; want %s containing %q", insert, err, c.code, c.msg)
				}
				return
			}
			if err != nil || insert != c.insert {
				t.Fatalf("got insert %v, %v; want insert %v", insert, err, c.insert)
			}
			want := prev
			if c.insert {
				want = walletgate.OutgoingTx{Coin: "btc", Type: walletgate.OutgoingSend, Account: "alice", Address: "dest", Amount: 3000,
					ExternalID: "pay-1", State: walletgate.SendPending, Confirmations: -1, CreatedAt: ruleT0}
			}
			if fmt.Sprint(o) != fmt.Sprint(want) {
				t.Fatalf("send %+v\nwant %+v", o, want)
			}
		})
	}
}

func bcast(opened, closed bool) walletgate.Broadcast {
	b := walletgate.Broadcast{ID: 4, Coin: "btc", Outputs: map[string]int64{"x": 10}, SendIDs: []int64{1}}
	if opened {
		at := ruleT0
		b.OpenedAt = &at
	}
	if closed {
		at := late
		b.ClosedAt, b.TxID = &at, "tx-a"
	}
	return b
}

func TestBroadcastChecks(t *testing.T) {
	empty := bcast(false, false)
	empty.Outputs, empty.SendIDs = map[string]int64{}, nil
	for _, c := range []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"open a pending one", bcast(false, false).CheckOpen(), "", ""},
		{"open an open one", bcast(true, false).CheckOpen(), walletgate.EConflict, "btc broadcast 4 is open, not pending; it is not sent again"},
		{"open a closed one", bcast(true, true).CheckOpen(), walletgate.EConflict, "btc broadcast 4 is closed, not pending; it is not sent again"},
		{"open one without outputs", empty.CheckOpen(), walletgate.EInternal, "btc broadcast 4 has no outputs"},
		{"release one opened before the cut-off", bcast(true, false).CheckRelease(late), "", ""},
		{"release one opened exactly at the cut-off", bcast(true, false).CheckRelease(ruleT0), "", ""},
		{"release one opened after the cut-off", bcast(true, false).CheckRelease(early), walletgate.EConflict,
			"btc broadcast 4 was opened at 2026-01-02T03:04:05Z, too recently to release: its send may still be in flight"},
		{"release a pending one", bcast(false, false).CheckRelease(late), walletgate.EConflict, "btc broadcast 4 is pending, not open"},
		{"release a closed one", bcast(true, true).CheckRelease(late), walletgate.EConflict, "btc broadcast 4 is closed, not open"},
		{"collect nothing", walletgate.ValidateCollect("btc", 0), walletgate.EInvalid, `collect broadcast: coin "btc" must be set and max sends 0 positive`},
		{"collect for no coin", walletgate.ValidateCollect("", 5), walletgate.EInvalid, `collect broadcast: coin "" must be set and max sends 5 positive`},
		{"collect", walletgate.ValidateCollect("btc", 1), "", ""},
	} {
		if c.code == "" {
			if c.err != nil {
				t.Errorf("%s: %v, want nil", c.name, c.err)
			}
			continue
		}
		if walletgate.ErrorCode(c.err) != c.code || walletgate.ErrorMessage(c.err) != c.msg {
			t.Errorf("%s: %v (%s), want %s %q", c.name, c.err, walletgate.ErrorCode(c.err), c.code, c.msg)
		}
	}
}

func TestPlanClose(t *testing.T) {
	noSends := bcast(true, false)
	noSends.SendIDs = nil
	for _, c := range []struct {
		name    string
		b       walletgate.Broadcast
		txid    string
		fee     int64
		holder  int64
		changed bool
		code    string
		msg     string
	}{
		{"close an open one with a fee", bcast(true, false), "tx-a", 150, 0, true, "", ""},
		{"close a pending one (operator) without a fee", bcast(false, false), "tx-a", 0, 0, true, "", ""},
		{"close again as the same txid: nothing, not even a second fee", bcast(true, true), "tx-a", 150, 0, false, "", ""},
		{"close again as another txid", bcast(true, true), "tx-b", 0, 0, false, walletgate.EConflict, "btc broadcast 4 is already closed as tx-a"},
		{"one txid for two broadcasts", bcast(true, false), "tx-a", 0, 9, false, walletgate.EConflict, "txid tx-a is already recorded for btc broadcast 9"},
		{"no sends", noSends, "tx-a", 0, 0, false, walletgate.EInternal, "btc broadcast 4 has no sends"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := walletgate.PlanClose(c.b, c.txid, c.fee, c.holder, ruleT0)
			if c.code != "" {
				if walletgate.ErrorCode(err) != c.code || walletgate.ErrorMessage(err) != c.msg {
					t.Fatalf("%v, want %s %q", err, c.code, c.msg)
				}
				return
			}
			if err != nil || got.Changed != c.changed {
				t.Fatalf("changed %v, %v; want changed %v", got.Changed, err, c.changed)
			}
			if !c.changed || c.fee == 0 {
				if got.Fee != nil {
					t.Fatalf("books a fee %+v; want none", got.Fee)
				}
				return
			}
			f := got.Fee
			if f == nil || f.Type != walletgate.OutgoingNetworkFee || f.Account != walletgate.NetworkFeesAccount || f.Amount != c.fee ||
				f.BroadcastID != c.b.ID || f.State != walletgate.SendBroadcasted || f.ProcessedAt == nil || !f.ProcessedAt.Equal(ruleT0) {
				t.Fatalf("fee row %+v; want %d on %q for broadcast %d, broadcasted now", f, c.fee, walletgate.NetworkFeesAccount, c.b.ID)
			}
		})
	}
	if msg := walletgate.ErrorMessage(walletgate.TxIDTaken("btc", "tx-a", 0)); msg != "txid tx-a is already recorded for another btc broadcast" {
		t.Fatalf("TxIDTaken without a holder: %q", msg)
	}
}

func TestPlanBroadcastTx(t *testing.T) {
	rows := []walletgate.OutgoingTx{
		{ID: 3, Type: walletgate.OutgoingSend, Account: "bob", Address: "x", Amount: 20, State: walletgate.SendBroadcasted},
		{ID: 1, Type: walletgate.OutgoingSend, Account: "alice", Address: "x", Amount: 10, State: walletgate.SendBroadcasted},
		{ID: 4, Type: walletgate.OutgoingNetworkFee, Account: walletgate.NetworkFeesAccount, Amount: 150, State: walletgate.SendBroadcasted},
		{ID: 5, Type: walletgate.OutgoingSend, Account: "carol", Address: "y", Amount: 5, State: "processed"},
	}
	state := func(conf int64, asked time.Time) walletgate.BroadcastTxState {
		return walletgate.BroadcastTxState{Tx: walletgate.TrackedTx{NetworkTx: walletgate.NetworkTx{ID: 8, Confirmations: conf}, Asked: asked},
			BroadcastID: 2, Rows: rows}
	}
	bview := func(conf int64, asked time.Time) walletgate.TxView {
		return walletgate.TxView{Coin: "btc", Tx: walletgate.WalletTx{TxID: "tb", Confirmations: conf}, Asked: asked, MaxConf: 5}
	}
	for _, c := range []struct {
		name  string
		state walletgate.BroadcastTxState
		view  walletgate.TxView
		want  string // event ids, or "skip"
	}{
		{"first confirmation: one event per send in id order, none for the fee or a send no longer open",
			state(-1, early), bview(0, ruleT0), "[btc:tb:send1:0 btc:tb:send3:0]"},
		{"unchanged", state(2, early), bview(2, ruleT0), "skip"},
		{"final", state(5, early), bview(6, ruleT0), "skip"},
		{"stale", state(2, late), bview(3, ruleT0), "skip"},
		{"reorg seen later", state(3, early), bview(1, ruleT0), "[btc:tb:send1:1 btc:tb:send3:1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := walletgate.PlanBroadcastTx(c.state, c.view)
			got := "skip"
			if u.Apply {
				var ids []string
				for _, e := range u.Events {
					ids = append(ids, e.EventID)
				}
				got = fmt.Sprint(ids)
				if u.Confirmations != c.view.Tx.Confirmations {
					t.Fatalf("confirmations %d, want the view's %d", u.Confirmations, c.view.Tx.Confirmations)
				}
			}
			if got != c.want {
				t.Fatalf("events %s, want %s", got, c.want)
			}
		})
	}
	u := walletgate.PlanBroadcastTx(state(0, early), bview(1, ruleT0))
	want := walletgate.TxUpdate{EventID: "btc:tb:send1:1", Coin: "btc", TransactionType: walletgate.TxTypeBroadcast, TransactionID: 1,
		NetworkTxID: 8, Account: "alice", TxID: "tb", Address: "x", Amount: 10, Confirmations: 1}
	if len(u.Events) == 0 || u.Events[0] != want {
		t.Fatalf("first event %+v\nwant %+v", u.Events, want)
	}
}
