package nodewallet

import (
	"slices"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/regtest"
)

// TestBtcwalletReceivedPages pages through a history of receives and
// sends with two transactions per page. The newest page holds only sends:
// the original's pager stopped there and never saw a deposit; raw pages
// must go on to the end and yield every receive exactly once.
func TestBtcwalletReceivedPages(t *testing.T) {
	h := startHarness(t, Config{PageSize: 2})
	ctx := testCtx(t)

	// Three confirmed coins of the wallet to spend later (three receives).
	var receives []string
	for range 3 {
		op, err := h.wallet.Fund(ctx, 50_000_000)
		if err != nil {
			t.Fatalf("Fund: %v", err)
		}
		receives = append(receives, op.TxID)
	}
	// Two outside deposits; the first pays two wallet addresses at once,
	// so its page lists the txid twice and it must come back once.
	a1, err := h.w.CreateAddress(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := h.w.CreateAddress(ctx, "a2")
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := h.params.Decode(a1)
	s2, _ := h.params.Decode(a2)
	sent, err := h.node.Pay(ctx, regtest.Output{Script: s1.Script, Value: 1_000}, regtest.Output{Script: s2.Script, Value: 2_000})
	if err != nil {
		t.Fatal(err)
	}
	receives = append(receives, sent.TxID)
	receives = append(receives, h.fundAddress(t, ctx, a2, 3_000))
	if _, err := h.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.wallet.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	// Three payments to an outside address, mined together on top: the
	// newest page has sends only.
	var sends []string
	for range 3 {
		id, err := h.wallet.SendTo(ctx, h.node.MiningAddress(), 10_000)
		if err != nil {
			t.Fatalf("SendTo: %v", err)
		}
		sends = append(sends, id)
	}
	if _, err := h.node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.wallet.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	stx := h.waitTx(t, ctx, sends[0], func(tx walletgate.WalletTx) bool { return tx.Confirmations == 1 })
	if len(stx.Details) == 0 || stx.Details[0].Category != walletgate.CategorySend || stx.Details[0].Amount >= 0 || stx.Details[0].Fee <= 0 {
		t.Fatalf("send %s details %+v: want a send with a negative amount and a positive (absolute) fee", sends[0], stx.Details)
	}

	var got []string
	cursor, pages, emptyPages := "", 0, 0
	for {
		txs, next, err := h.w.ReceivedPage(ctx, cursor)
		if err != nil {
			t.Fatalf("ReceivedPage(%q): %v", cursor, err)
		}
		pages++
		t.Logf("page %q: %d txs, next %q", cursor, len(txs), next)
		if pages == 1 && (len(txs) != 0 || next == "") {
			t.Fatalf("first page (sends only): %d txs, next %q; want none and a next cursor", len(txs), next)
		}
		if len(txs) == 0 && next != "" {
			emptyPages++
		}
		for _, tx := range txs {
			got = append(got, tx.TxID)
			if tx.TxID == sent.TxID {
				d1, ok1 := receiveOf(tx, a1)
				d2, ok2 := receiveOf(tx, a2)
				if !ok1 || !ok2 || d1.Amount != 1_000 || d2.Amount != 2_000 {
					t.Errorf("two-output deposit details %+v", tx.Details)
				}
			}
		}
		if next == "" {
			break
		}
		if pages > 20 {
			t.Fatalf("no end after %d pages (cursor %q)", pages, next)
		}
		cursor = next
	}
	slices.Sort(got)
	slices.Sort(receives)
	if !slices.Equal(got, receives) {
		t.Fatalf("received txids over %d pages:\n got %v\nwant %v", pages, got, receives)
	}
	// 8 transactions at 2 per page, plus the empty last page.
	if pages != 5 || emptyPages < 1 {
		t.Fatalf("%d pages (%d without receives); want 5 pages with at least one send-only page", pages, emptyPages)
	}
}
