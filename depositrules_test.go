package walletgate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

var (
	ruleT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	early  = ruleT0.Add(-time.Minute)
	late   = ruleT0.Add(time.Minute)
)

func rcv(addr string, sats int64) walletgate.WalletTxDetail {
	return walletgate.WalletTxDetail{Category: walletgate.CategoryReceive, Address: addr, Amount: sats}
}

func view(conf int64, asked time.Time, details ...walletgate.WalletTxDetail) walletgate.TxView {
	return walletgate.TxView{Coin: "btc", Tx: walletgate.WalletTx{TxID: "t1", Confirmations: conf, Details: details},
		Asked: asked, CreditAt: 3, MaxConf: 15}
}

func tracked(id, conf int64, asked time.Time) *walletgate.TrackedTx {
	return &walletgate.TrackedTx{NetworkTx: walletgate.NetworkTx{ID: id, Coin: "btc", Type: walletgate.TxTypeDeposit, TxID: "t1", Confirmations: conf}, Asked: asked}
}

func dep(id int64, addr, account string, amount int64, credited bool) walletgate.Deposit {
	d := walletgate.Deposit{ID: id, NetworkTxID: 7, Coin: "btc", TxID: "t1", Address: addr, Account: account, Amount: amount, Confirmations: 1}
	if credited {
		at := early
		d.CreditedAt = &at
	}
	return d
}

// summary writes a plan as "addr#id:amount:flags" per deposit, flags c
// (credited after the view) and C (credited by this view), so a table can
// state the whole outcome in one string.
func summary(u walletgate.DepositUpdate) string {
	if !u.Apply {
		return "skip"
	}
	var parts []string
	for _, c := range u.Deposits {
		flags := ""
		if c.Deposit.CreditedAt != nil {
			flags += "c"
		}
		if c.Credit {
			flags += "C"
		}
		parts = append(parts, fmt.Sprintf("%s#%d:%d:%s", c.Deposit.Address, c.Deposit.ID, c.Deposit.Amount, flags))
	}
	return fmt.Sprintf("ntx#%d@%d [%s]", u.NetworkTx.ID, u.NetworkTx.Confirmations, strings.Join(parts, " "))
}

func TestPlanDeposit(t *testing.T) {
	watches := map[string]string{"a1": "alice", "a2": "bob"}
	payBoth := []walletgate.WalletTxDetail{rcv("a2", 7), rcv("a1", 1000), rcv("a1", 500), rcv("change", 99999),
		{Category: walletgate.CategorySend, Address: "a1", Amount: -1500}}
	for _, c := range []struct {
		name  string
		state walletgate.DepositState
		view  walletgate.TxView
		want  string
	}{
		{"first view: a deposit per watched address, summed, in address order; change and sends ignored",
			walletgate.DepositState{Watches: watches}, view(0, ruleT0, payBoth...),
			"ntx#0@0 [a1#0:1500: a2#0:7:]"},
		{"first view past the threshold credits at once",
			walletgate.DepositState{Watches: watches}, view(6, ruleT0, payBoth...),
			"ntx#0@6 [a1#0:1500:cC a2#0:7:cC]"},
		{"first view paying nobody we watch is still tracked",
			walletgate.DepositState{}, view(1, ruleT0, rcv("other", 5)),
			"ntx#0@1 []"},
		{"unchanged count: nothing",
			walletgate.DepositState{Tx: tracked(7, 2, early), Deposits: []walletgate.Deposit{dep(1, "a1", "alice", 1500, false)}, Watches: watches},
			view(2, ruleT0, payBoth...), "skip"},
		{"final: tracking ended at max",
			walletgate.DepositState{Tx: tracked(7, 15, early), Watches: watches}, view(16, ruleT0, payBoth...), "skip"},
		{"stale: asked before the view already applied",
			walletgate.DepositState{Tx: tracked(7, 5, late), Watches: watches}, view(4, ruleT0, payBoth...), "skip"},
		{"asked at the same instant as the applied view: not stale",
			walletgate.DepositState{Tx: tracked(7, 5, ruleT0), Deposits: []walletgate.Deposit{dep(1, "a1", "alice", 1500, true)}},
			view(6, ruleT0, rcv("a1", 1500)), "ntx#7@6 [a1#1:1500:c]"},
		{"reaching the threshold credits once",
			walletgate.DepositState{Tx: tracked(7, 2, early), Deposits: []walletgate.Deposit{dep(1, "a1", "alice", 1500, false)}},
			view(3, ruleT0, rcv("a1", 1500)), "ntx#7@3 [a1#1:1500:cC]"},
		{"a reorg seen later lowers the count but never uncredits or credits again",
			walletgate.DepositState{Tx: tracked(7, 6, early), Deposits: []walletgate.Deposit{dep(1, "a1", "alice", 1500, true)}},
			view(2, ruleT0, rcv("a1", 1500)), "ntx#7@2 [a1#1:1500:c]"},
		{"below the threshold nothing is credited",
			walletgate.DepositState{Tx: tracked(7, 0, early), Deposits: []walletgate.Deposit{dep(1, "a1", "alice", 1500, false)}},
			view(2, ruleT0, rcv("a1", 1500)), "ntx#7@2 [a1#1:1500:]"},
		{"existing rows keep their amount and come first; a newly watched address is added after",
			walletgate.DepositState{Tx: tracked(7, 0, early), Deposits: []walletgate.Deposit{dep(4, "a2", "bob", 7, false)}, Watches: watches},
			view(1, ruleT0, rcv("a2", 8), rcv("a1", 1500)), "ntx#7@1 [a2#4:7: a1#0:1500:]"},
		{"a deposit the view no longer pays still moves with the transaction",
			walletgate.DepositState{Tx: tracked(7, 0, early), Deposits: []walletgate.Deposit{dep(2, "a2", "bob", 7, false), dep(1, "a1", "alice", 1500, false)}},
			view(4, ruleT0), "ntx#7@4 [a1#1:1500:cC a2#2:7:cC]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := walletgate.PlanDeposit(c.state, c.view)
			if got := summary(u); got != c.want {
				t.Fatalf("plan %s\nwant %s", got, c.want)
			}
			for _, d := range u.Deposits {
				if d.Deposit.Confirmations != c.view.Tx.Confirmations || !d.Deposit.UpdatedAt.Equal(c.view.Asked) {
					t.Errorf("deposit %s left at %d confirmations, updated %v; want the view's %d at %v",
						d.Deposit.Address, d.Deposit.Confirmations, d.Deposit.UpdatedAt, c.view.Tx.Confirmations, c.view.Asked)
				}
				if d.Credit && !d.Deposit.CreditedAt.Equal(c.view.Asked) {
					t.Errorf("deposit %s credited at %v, want when the view was asked (%v)", d.Deposit.Address, d.Deposit.CreditedAt, c.view.Asked)
				}
			}
		})
	}
}

// TestDepositEvents: one txupdate per deposit of the plan, in its order,
// with the ids the store assigned; without them it refuses.
func TestDepositEvents(t *testing.T) {
	u := walletgate.PlanDeposit(walletgate.DepositState{Tx: tracked(7, 2, early),
		Deposits: []walletgate.Deposit{dep(1, "a2", "bob", 7, false)}, Watches: map[string]string{"a1": "alice"}},
		view(3, ruleT0, rcv("a1", 1500), rcv("a2", 7)))
	if _, err := u.Events(); walletgate.ErrorCode(err) != walletgate.EInternal || !strings.Contains(err.Error(), "a1 has no id") {
		t.Fatalf("Events before the new row has an id: %v, want EInternal naming a1", err)
	}
	u.Deposits[1].Deposit.ID = 9
	evs, err := u.Events()
	if err != nil {
		t.Fatal(err)
	}
	want := []walletgate.TxUpdate{
		{EventID: "btc:t1:a2:3", Coin: "btc", TransactionType: walletgate.TxTypeDeposit, TransactionID: 1, NetworkTxID: 7,
			Account: "bob", TxID: "t1", Address: "a2", Amount: 7, Credited: true, Confirmations: 3},
		{EventID: "btc:t1:a1:3", Coin: "btc", TransactionType: walletgate.TxTypeDeposit, TransactionID: 9, NetworkTxID: 7,
			Account: "alice", TxID: "t1", Address: "a1", Amount: 1500, Credited: true, Confirmations: 3},
	}
	if fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Fatalf("events %+v\nwant   %+v", evs, want)
	}
	first := walletgate.PlanDeposit(walletgate.DepositState{}, view(0, ruleT0))
	if _, err := first.Events(); walletgate.ErrorCode(err) != walletgate.EInternal {
		t.Fatalf("Events of a new network tx without its id: %v, want EInternal", err)
	}
}

func TestTrackedTxTakes(t *testing.T) {
	for _, c := range []struct {
		stored, seen int64
		asked        time.Time
		want         bool
	}{
		{-1, 0, ruleT0, true},
		{3, 3, ruleT0, false}, // unchanged
		{3, 2, late, true},    // reorg, newer view
		{3, 4, early, false},  // stale
		{15, 16, late, false}, // final
		{14, 15, late, true},  // the last tracked step
		{-1, -1, late, false}, // unchanged, even if never confirmed
		{2, 5, ruleT0, true},  // asked at the same instant as the applied view
	} {
		tx := walletgate.TrackedTx{NetworkTx: walletgate.NetworkTx{Confirmations: c.stored}, Asked: ruleT0}
		v := walletgate.TxView{Tx: walletgate.WalletTx{Confirmations: c.seen}, Asked: c.asked, MaxConf: 15}
		if got := tx.Takes(v); got != c.want {
			t.Errorf("stored %d asked %v, view %d asked %v: Takes = %v, want %v", c.stored, ruleT0, c.seen, c.asked, got, c.want)
		}
	}
}
