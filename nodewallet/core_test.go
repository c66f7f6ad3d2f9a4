package nodewallet

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/walletgate/walletgate"
)

func fakeTxID(i int) string { return fmt.Sprintf("%064x", i) }

// coreHistory: three receives (one paying two addresses), one receive the
// wallet drops between listtransactions and gettransaction, then four
// sends, newest last.
func coreHistory() []fakeTx {
	return []fakeTx{
		{txid: fakeTxID(1), conf: 10, entries: []fakeEntry{{category: "receive", address: "bcrt1qa", amount: "0.10000000"}}},
		{txid: fakeTxID(2), conf: 9, entries: []fakeEntry{{category: "receive", address: "bcrt1qb", amount: "0.20000000"}, {category: "receive", address: "bcrt1qc", amount: "0.30000000"}}},
		{txid: fakeTxID(3), conf: 8, entries: []fakeEntry{{category: "receive", address: "bcrt1qd", amount: "0.40000000"}}},
		{txid: fakeTxID(4), conf: 7, entries: []fakeEntry{{category: "receive", address: "bcrt1qe", amount: "0.00000001"}}},
		{txid: fakeTxID(5), conf: 3, entries: []fakeEntry{{category: "send", address: "bcrt1qx", amount: "-0.50000000", fee: "-0.00000141"}}},
		{txid: fakeTxID(6), conf: 2, entries: []fakeEntry{{category: "send", address: "bcrt1qx", amount: "-0.01000000", fee: "-0.00000141"}}},
		{txid: fakeTxID(7), conf: 1, entries: []fakeEntry{{category: "send", address: "bcrt1qx", amount: "-0.02000000", fee: "-0.00000141"}}},
		{txid: fakeTxID(8), conf: 0, entries: []fakeEntry{{category: "send", address: "bcrt1qx", amount: "-0.03000000", fee: "-0.00000141"}}},
	}
}

func newFakeCore(t *testing.T) (*fakeCore, string) {
	f := &fakeCore{user: "u", pass: "p", wallet: "hot", txs: coreHistory(), dropped: map[string]bool{fakeTxID(3): true}}
	srv := f.start(t)
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("u", "p")
	return f, u.String()
}

func TestCoreReceivedPages(t *testing.T) {
	f, u := newFakeCore(t)
	w, err := New(Config{URL: u, PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if k, err := w.Kind(ctx); err != nil || k != KindCore {
		t.Fatalf("Kind = %q, %v; want core", k, err)
	}
	type page struct {
		cursor, next string
		txids        []string
	}
	// Core skips entries: 9 entries at 3 per page, newest first.
	want := []page{
		{"", "3", nil},                                 // sends only: paging goes on
		{"3", "6", []string{fakeTxID(4)}},              // the dropped receive is left out
		{"6", "9", []string{fakeTxID(1), fakeTxID(2)}}, // two entries of tx 2, fetched once
		{"9", "", nil},
	}
	cursor := ""
	for i, p := range want {
		txs, next, err := w.ReceivedPage(ctx, cursor)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		var ids []string
		for _, tx := range txs {
			ids = append(ids, tx.TxID)
			if tx.TxID == fakeTxID(2) && (len(tx.Details) != 2 || tx.Details[1].Amount != 30_000_000 || tx.Confirmations != 9) {
				t.Errorf("tx 2: %+v", tx)
			}
			if tx.TxID == fakeTxID(4) && (len(tx.Details) != 1 || tx.Details[0].Amount != 1) {
				t.Errorf("tx 4: %+v", tx)
			}
		}
		if cursor != p.cursor || next != p.next || !slices.Equal(ids, p.txids) {
			t.Fatalf("page %d at %q: txids %v next %q; want %v next %q", i, cursor, ids, next, p.txids, p.next)
		}
		cursor = next
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batches != 2 {
		t.Errorf("%d batch requests; want 2 (one per page with receives)", f.batches)
	}
	if n := countOf(f.calls, "gettransaction"); n != 4 {
		t.Errorf("%d gettransaction calls; want 4 (txs 1, 2, 3 and 4, once each)", n)
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestCoreCalls(t *testing.T) {
	f, u := newFakeCore(t)
	w, err := New(Config{URL: u, WalletName: "hot", AddressType: "bech32"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	addr, err := w.CreateAddress(ctx, "customer-1")
	if err != nil || addr != "bcrt1qfake1" {
		t.Fatalf("CreateAddress = %q, %v", addr, err)
	}
	f.mu.Lock()
	got := f.newAddrs[0]
	f.mu.Unlock()
	if len(got) != 2 || got[0] != "customer-1" || got[1] != "bech32" {
		t.Errorf("getnewaddress params %v; want [customer-1 bech32] (Core labels, no account)", got)
	}
	if _, err := w.CreateAddress(ctx, "*"); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Errorf("label *: %v; want EInvalid from the node's -11", err)
	}

	tx, err := w.Transaction(ctx, fakeTxID(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Details) != 1 || tx.Details[0] != (walletgate.WalletTxDetail{Category: "send", Address: "bcrt1qx", Amount: -50_000_000, Fee: 141}) {
		t.Errorf("send details %+v; want amount -50000000 and the absolute fee 141", tx.Details)
	}
	_, err = w.Transaction(ctx, fakeTxID(99))
	var re *walletgate.RPCError
	if walletgate.ErrorCode(err) != walletgate.ENotFound || !errors.As(err, &re) || re.Code != -5 || re.Message != "Invalid or non-wallet transaction id" {
		t.Errorf("unknown txid: %v; want ENotFound wrapping -5 verbatim", err)
	}

	for minConf, want := range map[int]int64{0: 175_000_001, 1: 150_000_000} {
		if got, err := w.Balance(ctx, minConf); err != nil || got != want {
			t.Errorf("Balance(%d) = %d, %v; want %d", minConf, got, err, want)
		}
	}
	if _, err := w.Balance(ctx, -1); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Errorf("Balance(-1): %v; want EInvalid", err)
	}

	txid, fee, err := w.Send(ctx, map[string]int64{"bcrt1qx": 50_000_000}, "payout 7")
	if err != nil || txid != fakeTxID(5) || fee != 141 {
		t.Errorf("Send = %s, %d, %v; want tx 5 with fee 141", txid, fee, err)
	}
	f.mu.Lock()
	sp := f.sendParams[0]
	f.mu.Unlock()
	if amt, _ := sp[1].(map[string]any)["bcrt1qx"].(float64); len(sp) != 4 || sp[0] != "" || amt != 0.5 || sp[3] != "payout 7" {
		t.Errorf("sendmany params %v; want [\"\" {bcrt1qx: 0.50000000} 1 \"payout 7\"]", sp)
	}

	// Another wallet name: Core's -18, verbatim, as EUnavailable.
	cold, _ := New(Config{URL: u, WalletName: "cold", Kind: KindCore})
	_, err = cold.Balance(ctx, 0)
	if walletgate.ErrorCode(err) != walletgate.EUnavailable || !errors.As(err, &re) || re.Code != -18 {
		t.Errorf("unknown wallet: %v; want EUnavailable wrapping -18", err)
	}

	// Wrong credentials: EUnauthorized, also for kind detection.
	bad, _ := url.Parse(u)
	bad.User = url.UserPassword("u", "wrong")
	wb, _ := New(Config{URL: bad.String()})
	if _, err := wb.CreateAddress(ctx, "x"); walletgate.ErrorCode(err) != walletgate.EUnauthorized {
		t.Errorf("wrong password: %v; want EUnauthorized", err)
	}
	if _, err := wb.Kind(ctx); err == nil {
		t.Error("Kind with a wrong password succeeded")
	}
}
