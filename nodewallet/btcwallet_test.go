package nodewallet

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/internal/regtest"
)

// harness is a real btcd regtest node with a btcwallet on top and a
// nodewallet.Wallet speaking to it.
type harness struct {
	node   *regtest.Node
	wallet *regtest.Wallet
	w      *Wallet
	params *chain.Params
}

func startHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("starts btcd and btcwallet")
	}
	node := regtest.Start(t)
	rw := regtest.StartWallet(t, node)
	cfg.URL = rw.RPCURL()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(w.Close)
	p, err := chain.Lookup("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	return &harness{node: node, wallet: rw, w: w, params: p}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fundAddress pays sats to addr from the harness's mining key (outside the
// wallet) and returns the txid.
func (h *harness) fundAddress(t *testing.T, ctx context.Context, addr string, sats int64) string {
	t.Helper()
	a, err := h.params.Decode(addr)
	if err != nil {
		t.Fatalf("decode wallet address %q: %v", addr, err)
	}
	op, err := h.node.Fund(ctx, a.Script, sats)
	if err != nil {
		t.Fatalf("fund %s: %v", addr, err)
	}
	return op.TxID
}

// waitTx polls Transaction until ok accepts it: btcwallet learns of
// mempool transactions and blocks asynchronously from btcd.
func (h *harness) waitTx(t *testing.T, ctx context.Context, txid string, ok func(walletgate.WalletTx) bool) walletgate.WalletTx {
	t.Helper()
	for {
		tx, err := h.w.Transaction(ctx, txid)
		if err == nil && ok(tx) {
			return tx
		}
		select {
		case <-ctx.Done():
			t.Fatalf("transaction %s: last %+v, %v: %v", txid, tx, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func receiveOf(tx walletgate.WalletTx, addr string) (walletgate.WalletTxDetail, bool) {
	for _, d := range tx.Details {
		if d.Category == walletgate.CategoryReceive && d.Address == addr {
			return d, true
		}
	}
	return walletgate.WalletTxDetail{}, false
}

// TestBtcwalletDeposit follows an outside payment to a fresh address from
// the mempool into blocks, checks the balance at 0 and 1 confirmations,
// and maps the node's errors.
func TestBtcwalletDeposit(t *testing.T) {
	h := startHarness(t, Config{})
	ctx := testCtx(t)

	k, err := h.w.Kind(ctx)
	if err != nil || k != KindBtcwallet {
		t.Fatalf("Kind = %q, %v; want btcwallet", k, err)
	}
	if !h.w.TracksConfirmations() {
		t.Fatal("TracksConfirmations is false for a node wallet")
	}
	// The label "" would fail on btcwallet (no such account); the backend
	// must use Config.Account.
	addr, err := h.w.CreateAddress(ctx, "")
	if err != nil {
		t.Fatalf("CreateAddress: %v", err)
	}
	a, err := h.params.Decode(addr)
	if err != nil || a.Type != chain.P2PKH {
		t.Fatalf("address %q decodes as %v, %v; want btcwallet's default P2PKH", addr, a.Type, err)
	}
	addr2, err := h.w.CreateAddress(ctx, "customer-7")
	if err != nil || addr2 == addr {
		t.Fatalf("second CreateAddress = %q, %v; want a fresh address", addr2, err)
	}

	const amount = 12_345_678
	txid := h.fundAddress(t, ctx, addr, amount)
	tx := h.waitTx(t, ctx, txid, func(walletgate.WalletTx) bool { return true })
	d, ok := receiveOf(tx, addr)
	if !ok || d.Amount != amount || tx.Confirmations != 0 || tx.TxID != txid {
		t.Fatalf("unconfirmed tx %+v: want receive of %d to %s, 0 confirmations", tx, amount, addr)
	}
	for _, d := range tx.Details {
		if d.Category == walletgate.CategorySend {
			t.Fatalf("outside payment has a send detail: %+v", tx.Details)
		}
	}

	bal0, err := h.w.Balance(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	bal1, err := h.w.Balance(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bal0 != amount || bal1 != 0 {
		t.Fatalf("balance before mining: minConf 0 = %d, minConf 1 = %d; want %d and 0", bal0, bal1, amount)
	}

	for want := int64(1); want <= 3; want++ {
		if _, err := h.node.Generate(ctx, 1); err != nil {
			t.Fatal(err)
		}
		tx = h.waitTx(t, ctx, txid, func(tx walletgate.WalletTx) bool { return tx.Confirmations >= want })
		if tx.Confirmations != want {
			t.Fatalf("after %d blocks: %d confirmations", want, tx.Confirmations)
		}
		if d, ok := receiveOf(tx, addr); !ok || d.Amount != amount {
			t.Fatalf("after %d blocks: details %+v", want, tx.Details)
		}
	}
	if err := h.wallet.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if bal1, err = h.w.Balance(ctx, 1); err != nil || bal1 != amount {
		t.Fatalf("balance after mining, minConf 1 = %d, %v; want %d", bal1, err, amount)
	}

	// An unknown txid: ENotFound carrying the node's -5 verbatim.
	_, err = h.w.Transaction(ctx, strings.Repeat("0", 62)+"ff")
	var re *walletgate.RPCError
	if walletgate.ErrorCode(err) != walletgate.ENotFound || !errors.As(err, &re) || re.Code != -5 || re.Message != "No information for transaction" {
		t.Fatalf("unknown txid: %v (code %s); want ENotFound wrapping rpc error -5", err, walletgate.ErrorCode(err))
	}
	// A malformed txid never reaches the node.
	if _, err := h.w.Transaction(ctx, "zz"); walletgate.ErrorCode(err) != walletgate.EInvalid || errors.As(err, &re) {
		t.Fatalf("malformed txid: %v; want EInvalid without a node error", err)
	}
}

// TestBtcwalletWrongPassword: a wrong RPC password is EUnauthorized on
// every method, before and after kind detection.
func TestBtcwalletWrongPassword(t *testing.T) {
	h := startHarness(t, Config{})
	ctx := testCtx(t)
	u, err := url.Parse(h.wallet.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(h.wallet.RPCUser(), "wrong")
	for _, kind := range []Kind{KindAuto, KindBtcwallet} {
		w, err := New(Config{URL: u.String(), Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		calls := map[string]func() error{
			"CreateAddress": func() error { _, err := w.CreateAddress(ctx, "x"); return err },
			"Transaction":   func() error { _, err := w.Transaction(ctx, strings.Repeat("a", 64)); return err },
			"ReceivedPage":  func() error { _, _, err := w.ReceivedPage(ctx, ""); return err },
			"Balance":       func() error { _, err := w.Balance(ctx, 1); return err },
		}
		for name, call := range calls {
			if err := call(); walletgate.ErrorCode(err) != walletgate.EUnauthorized {
				t.Errorf("kind %q %s with a wrong password: %v; want EUnauthorized", kind, name, err)
			}
		}
	}
}

// TestBtcwalletSend pays two addresses in one transaction and reads back
// its fee; bad recipient lists never reach the node.
func TestBtcwalletSend(t *testing.T) {
	h := startHarness(t, Config{})
	ctx := testCtx(t)
	if _, err := h.wallet.Fund(ctx, 100_000_000); err != nil {
		t.Fatal(err)
	}
	if err := h.wallet.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	a1, _ := h.w.CreateAddress(ctx, "")
	a2, _ := h.w.CreateAddress(ctx, "")
	txid, fee, err := h.w.Send(ctx, map[string]int64{a1: 1_000_000, a2: 2_500_000}, "payout 1")
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	// btcwallet pays 1 sat/vB: a one-input, three-output P2PKH tx is
	// a few hundred vbytes.
	if fee < 100 || fee > 1_000 {
		t.Fatalf("fee %d sat; want the transaction's fee at 1 sat/vB", fee)
	}
	tx := h.waitTx(t, ctx, txid, func(walletgate.WalletTx) bool { return true })
	d1, ok1 := receiveOf(tx, a1)
	d2, ok2 := receiveOf(tx, a2)
	if !ok1 || !ok2 || d1.Amount != 1_000_000 || d2.Amount != 2_500_000 {
		t.Fatalf("one transaction must pay both: %+v", tx.Details)
	}
	for _, d := range tx.Details {
		if d.Category == walletgate.CategorySend && d.Fee != fee {
			t.Fatalf("send detail fee %d; Send reported %d", d.Fee, fee)
		}
	}
	for name, r := range map[string]map[string]int64{
		"none":     {},
		"zero":     {a1: 0},
		"negative": {a1: -5},
		"too much": {a1: maxSats + 1},
		"no addr":  {"": 5},
	} {
		if _, _, err := h.w.Send(ctx, r, ""); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("Send %s: %v; want EInvalid", name, err)
		}
	}
}
