package regtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestWallet brings up btcd and btcwallet, funds the wallet, pays a fresh
// wallet address and follows the payment from the mempool to a block.
func TestWallet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd and btcwallet")
	}
	node := Start(t)
	w := StartWallet(t, node)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := w.Fund(ctx, 100_000_000); err != nil {
		t.Fatalf("Fund: %v", err)
	}
	bal, err := w.Balance(ctx, 1)
	if err != nil || bal != 100_000_000 {
		t.Fatalf("balance after Fund: %d, %v; want 100000000", bal, err)
	}
	addr, err := w.NewAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txid, err := w.SendTo(ctx, addr, 12_345_678)
	if err != nil {
		t.Fatalf("SendTo: %v", err)
	}
	type detail struct {
		Account  string      `json:"account"`
		Address  string      `json:"address"`
		Category string      `json:"category"`
		Amount   json.Number `json:"amount"`
	}
	var tx struct {
		TxID          string      `json:"txid"`
		Confirmations int64       `json:"confirmations"`
		Amount        json.Number `json:"amount"`
		Fee           json.Number `json:"fee"`
		Details       []detail    `json:"details"`
	}
	if err := w.CallInto(ctx, &tx, "gettransaction", txid); err != nil {
		t.Fatalf("gettransaction: %v", err)
	}
	if tx.TxID != txid || tx.Confirmations != 0 {
		t.Fatalf("gettransaction: txid %s confirmations %d; want %s, 0", tx.TxID, tx.Confirmations, txid)
	}
	received := false
	for _, d := range tx.Details {
		amt, err := ParseBTC(d.Amount)
		if err != nil {
			t.Fatal(err)
		}
		if d.Category == "receive" && d.Address == addr && amt == 12_345_678 {
			received = true
		}
	}
	if !received {
		t.Fatalf("gettransaction details %+v: no receive of 12345678 sat to %s", tx.Details, addr)
	}
	mempool, err := node.Mempool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mempool) != 1 || mempool[0] != txid {
		t.Fatalf("node mempool %v, want [%s]", mempool, txid)
	}

	if _, err := node.Generate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := w.CallInto(ctx, &tx, "gettransaction", txid); err != nil {
			t.Fatal(err)
		}
		if tx.Confirmations == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("confirmations %d after 2 blocks, want 2", tx.Confirmations)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Paying ourselves costs only the fee (btcwallet: 1 sat/vB). Unlike
	// Bitcoin Core, btcwallet reports gettransaction's fee as a positive
	// number.
	fee, err := ParseBTC(tx.Fee)
	if err != nil {
		t.Fatal(err)
	}
	bal, err = w.Balance(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fee <= 0 || fee > 1_000 || bal != 100_000_000-fee {
		t.Fatalf("fee %d, balance %d: want a small positive fee and balance 100000000-fee", fee, bal)
	}
	if u := w.RPCURL(); u != "http://"+w.RPCUser()+":"+w.RPCPass()+"@"+w.RPCHost()+"/" {
		t.Fatalf("RPCURL %q", u)
	}
}

func TestParseBTC(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0.12345678", 12_345_678, true},
		{"1", 100_000_000, true},
		{"-0.00000141", -141, true},
		{"21000000", 2_100_000_000_000_000, true},
		{"1e-8", 0, false},
		{"0.123456789", 0, false},
		{"21000000.00000001", 0, false},
		{"", 0, false},
		{"1.2.3", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseBTC(json.Number(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBTC(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			if back, _ := ParseBTC(BTC(got)); back != got {
				t.Errorf("BTC round trip of %d: %s -> %d", got, BTC(got), back)
			}
		}
	}
}
