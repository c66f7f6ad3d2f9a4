package nullwallet

import (
	"context"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
)

func TestCreateAddress(t *testing.T) {
	tests := []struct {
		coin, network string
		typ           chain.AddressType
		wantType      chain.AddressType
		prefix        string
	}{
		{"btc", "regtest", 0, chain.P2WPKH, "bcrt1q"},
		{"btc", "mainnet", 0, chain.P2WPKH, "bc1q"},
		{"btc", "testnet", chain.P2PKH, chain.P2PKH, ""},
		{"ltc", "mainnet", 0, chain.P2WPKH, "ltc1q"},
		{"doge", "mainnet", 0, chain.P2PKH, "D"},
		{"bsv", "mainnet", 0, chain.P2PKH, "1"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.coin+"/"+tt.network, func(t *testing.T) {
			w, err := New(Config{Coin: tt.coin, Network: tt.network, AddressType: tt.typ})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := chain.Lookup(tt.coin, tt.network)
			seen := map[string]bool{}
			for _, label := range []string{"alice", "alice", "bob", ""} {
				addr, err := w.CreateAddress(ctx, label)
				if err != nil {
					t.Fatal(err)
				}
				a, err := p.Decode(addr)
				if err != nil {
					t.Fatalf("address %q does not decode for %s: %v", addr, p.Key(), err)
				}
				if a.Type != tt.wantType || !strings.HasPrefix(addr, tt.prefix) {
					t.Fatalf("address %q is %s; want %s starting %q", addr, a.Type, tt.wantType, tt.prefix)
				}
				if seen[addr] {
					t.Fatalf("address %q handed out twice", addr)
				}
				seen[addr] = true
			}
			// A second wallet with the same settings hands out the same
			// sequence: addresses depend only on label and counter.
			w2, _ := New(Config{Coin: tt.coin, Network: tt.network, AddressType: tt.typ})
			for n, label := range []string{"alice", "alice"} {
				got, _ := w2.CreateAddress(ctx, label)
				want, _ := w.AddressFor(label, uint64(n))
				if got != want {
					t.Fatalf("second wallet's %s #%d = %s; want %s", label, n, got, want)
				}
			}
		})
	}
}

func TestFixedAnswers(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  Config
		want int64
	}{
		{"default balance", Config{Coin: "btc", Network: "regtest"}, DefaultBalance},
		{"set balance", Config{Coin: "btc", Network: "regtest", Balance: 12_345}, 12_345},
		{"no balance", Config{Coin: "btc", Network: "regtest", NoBalance: true}, 0},
	}
	for _, tt := range tests {
		w, err := New(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, minConf := range []int{0, 1, 3} {
			if got, err := w.Balance(ctx, minConf); err != nil || got != tt.want {
				t.Errorf("%s: Balance(%d) = %d, %v; want %d", tt.name, minConf, got, err, tt.want)
			}
		}
		if _, err := w.Balance(ctx, -1); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("%s: Balance(-1) err %v; want EInvalid", tt.name, err)
		}
		if w.TracksConfirmations() {
			t.Errorf("%s: TracksConfirmations is true", tt.name)
		}
		if _, err := w.Transaction(ctx, strings.Repeat("ab", 32)); walletgate.ErrorCode(err) != walletgate.ENotFound {
			t.Errorf("%s: Transaction err %v; want ENotFound", tt.name, err)
		}
		for _, cursor := range []string{"", "100", "junk"} {
			txs, next, err := w.ReceivedPage(ctx, cursor)
			if len(txs) != 0 || next != "" || err != nil {
				t.Errorf("%s: ReceivedPage(%q) = %v, %q, %v; want an empty last page", tt.name, cursor, txs, next, err)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		msg  string
	}{
		{"unknown coin", Config{Coin: "xyz", Network: "mainnet"}, "xyz"},
		{"unknown network", Config{Coin: "btc", Network: "moon"}, "moon"},
		{"negative balance", Config{Coin: "btc", Network: "regtest", Balance: -1}, "negative"},
		{"segwit on a coin without it", Config{Coin: "doge", Network: "mainnet", AddressType: chain.P2WPKH}, "segwit"},
		{"unsupported type", Config{Coin: "btc", Network: "regtest", AddressType: chain.P2TR}, "P2WPKH or P2PKH"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if walletgate.ErrorCode(err) != walletgate.EInvalid || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v; want EInvalid naming %q", tt.name, err, tt.msg)
		}
	}
}

func TestCreateAddressCancelled(t *testing.T) {
	w, _ := New(Config{Coin: "btc", Network: "regtest"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.CreateAddress(ctx, "x"); err == nil {
		t.Fatal("CreateAddress with a cancelled context succeeded")
	}
}

func TestSend(t *testing.T) {
	ctx := context.Background()
	off, _ := New(Config{Coin: "btc", Network: "regtest"})
	if _, _, err := off.Send(ctx, map[string]int64{"a": 1}, "x"); walletgate.ErrorCode(err) != walletgate.ENotImplemented {
		t.Fatalf("Send without FakeSends: %v, want ENotImplemented", err)
	}
	w, _ := New(Config{Coin: "btc", Network: "regtest", FakeSends: true})
	to := map[string]int64{"b": 2, "a": 1}
	txid, fee, err := w.Send(ctx, to, "Outgoing broadcast 1")
	if err != nil || walletgate.CheckHash(txid) != nil || fee != 0 {
		t.Fatalf("fake Send = %q, %d, %v", txid, fee, err)
	}
	again, _, _ := w.Send(ctx, map[string]int64{"a": 1, "b": 2}, "Outgoing broadcast 1")
	other, _, _ := w.Send(ctx, map[string]int64{"a": 1, "b": 3}, "Outgoing broadcast 1")
	if again != txid || other == txid {
		t.Fatalf("txids %s, %s, %s: want the same for the same request only", txid, again, other)
	}
	for name, r := range map[string]map[string]int64{"none": {}, "zero": {"a": 0}} {
		if _, _, err := w.Send(ctx, r, "x"); walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("Send %s: %v, want EInvalid", name, err)
		}
	}
}
