package nodewallet

import (
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
)

func TestParseCoins(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "0", want: 0},
		{in: "1", want: 100_000_000},
		{in: "-1", want: -100_000_000},
		{in: "0.12345678", want: 12_345_678},
		{in: "50.00000000", want: 5_000_000_000},
		{in: "-0.00001234", want: -1_234},
		{in: "1e-07", want: 10},              // btcwallet's float64 text for 10 sat
		{in: "1E-08", want: 1},               // one satoshi
		{in: "2.1e+07", want: maxSats},       // the cap itself
		{in: "0.000000001", bad: true},       // below one satoshi
		{in: "1e-09", bad: true},             // below one satoshi
		{in: "21000000.00000001", bad: true}, // beyond the cap
		{in: "1e31", bad: true},              // exponent bound
		{in: "", bad: true},
		{in: "01", bad: true},
		{in: "1.", bad: true},
		{in: ".5", bad: true},
		{in: "+1", bad: true},
		{in: "1/3", bad: true},
		{in: "0x10", bad: true},
		{in: "Inf", bad: true},
		{in: "NaN", bad: true},
		{in: "1e", bad: true},
		{in: "\"1\"", bad: true},
	}
	for _, tt := range tests {
		got, err := parseCoins(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseCoins(%q) = %d; want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseCoins(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatCoins(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0.00000000"}, {1, "0.00000001"}, {100_000_000, "1.00000000"},
		{-1_234, "-0.00001234"}, {maxSats, "21000000.00000000"},
	}
	for _, tt := range tests {
		if got := formatCoins(tt.in); string(got) != tt.want {
			t.Errorf("formatCoins(%d) = %s; want %s", tt.in, got, tt.want)
		}
		if back, err := parseCoins(tt.want); err != nil || back != tt.in {
			t.Errorf("parseCoins(formatCoins(%d)) = %d, %v", tt.in, back, err)
		}
	}
}

const txA = "ba539ec00c63d2b07a792537d1c1202a5a977b994cdef55d7f064070c16f8d36"

func TestParseTransaction(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want walletgate.WalletTx
		bad  string // substring of the error
	}{
		{
			// btcwallet, a payment to itself: positive fees, a send
			// detail without an address.
			name: "btcwallet",
			raw: `{"amount":0.00001234,"fee":0.00000227,"confirmations":0,"txid":"` + txA + `","details":[` +
				`{"account":"","amount":-1,"category":"send","fee":0.00000227,"vout":0},` +
				`{"account":"default","address":"mgu5Ge74pMaoQmqEmuREVCM4Mf7jLnEX3o","amount":0.00001234,"category":"receive","vout":0}]}`,
			want: walletgate.WalletTx{TxID: txA, Details: []walletgate.WalletTxDetail{
				{Category: "send", Amount: -100_000_000, Fee: 227},
				{Category: "receive", Address: "mgu5Ge74pMaoQmqEmuREVCM4Mf7jLnEX3o", Amount: 1_234},
			}},
		},
		{
			// Core: negative fees repeated on each send detail; coinbase
			// categories dropped.
			name: "core",
			raw: `{"amount":-0.30000000,"fee":-0.00000141,"confirmations":7,"txid":"` + strings.ToUpper(txA) + `","details":[` +
				`{"address":"bcrt1qa","category":"send","amount":-0.10000000,"label":"","vout":0,"fee":-0.00000141,"abandoned":false},` +
				`{"address":"bcrt1qb","category":"send","amount":-0.20000000,"vout":1,"fee":-0.00000141,"abandoned":false},` +
				`{"address":"bcrt1qc","category":"immature","amount":50.00000000,"vout":0}]}`,
			want: walletgate.WalletTx{TxID: txA, Confirmations: 7, Details: []walletgate.WalletTxDetail{
				{Category: "send", Address: "bcrt1qa", Amount: -10_000_000, Fee: 141},
				{Category: "send", Address: "bcrt1qb", Amount: -20_000_000, Fee: 141},
			}},
		},
		{
			name: "send detail without fee takes the top-level fee",
			raw:  `{"fee":-0.00000100,"confirmations":-1,"txid":"` + txA + `","details":[{"address":"x","category":"send","amount":-0.5}]}`,
			want: walletgate.WalletTx{TxID: txA, Confirmations: -1, Details: []walletgate.WalletTxDetail{
				{Category: "send", Address: "x", Amount: -50_000_000, Fee: 100},
			}},
		},
		{name: "bad txid", raw: `{"txid":"abc","details":[]}`, bad: "not 64 hex"},
		{name: "float confirmations", raw: `{"txid":"` + txA + `","confirmations":1.5}`, bad: "gettransaction reply"},
		{name: "sub-satoshi amount", raw: `{"txid":"` + txA + `","details":[{"category":"receive","amount":0.000000001}]}`, bad: "below one satoshi"},
		{name: "amount as string", raw: `{"txid":"` + txA + `","details":[{"category":"receive","amount":"x"}]}`, bad: "gettransaction"},
		{name: "not an object", raw: `[]`, bad: "gettransaction reply"},
		{name: "trailing data", raw: `{"txid":"` + txA + `"} {}`, bad: "trailing"},
		{name: "huge fee", raw: `{"txid":"` + txA + `","fee":99999999}`, bad: "21 million"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTransaction([]byte(tt.raw))
			if tt.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("err = %v; want one containing %q", err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.TxID != tt.want.TxID || got.Confirmations != tt.want.Confirmations || len(got.Details) != len(tt.want.Details) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			for i := range got.Details {
				if got.Details[i] != tt.want.Details[i] {
					t.Fatalf("detail %d: got %+v, want %+v", i, got.Details[i], tt.want.Details[i])
				}
			}
		})
	}
}

func TestParseList(t *testing.T) {
	es, err := parseList([]byte(`[{"txid":"` + strings.ToUpper(txA) + `","category":"send","amount":-1},{"txid":"` + txA + `","category":"receive"}]`))
	if err != nil || len(es) != 2 || es[0].TxID != txA || es[0].Category != "send" || es[1].Category != "receive" {
		t.Fatalf("parseList = %+v, %v", es, err)
	}
	for _, bad := range []string{`{}`, `[{"txid":"nothex"}]`, `[1]`, `null x`} {
		if _, err := parseList([]byte(bad)); err == nil {
			t.Errorf("parseList(%s) accepted", bad)
		}
	}
}

func TestParseBalanceAndAddress(t *testing.T) {
	if v, err := parseBalance([]byte(`0.99999773`)); err != nil || v != 99_999_773 {
		t.Errorf("parseBalance = %d, %v", v, err)
	}
	for _, bad := range []string{`"x"`, `1e-9`, `{}`, ``} {
		if _, err := parseBalance([]byte(bad)); err == nil {
			t.Errorf("parseBalance(%s) accepted", bad)
		}
	}
	if a, err := parseAddress([]byte(`"mrszY5dLH4rDwLuJAdbkJtn6Z2xukGCtcP"`)); err != nil || a != "mrszY5dLH4rDwLuJAdbkJtn6Z2xukGCtcP" {
		t.Errorf("parseAddress = %q, %v", a, err)
	}
	for _, bad := range []string{`""`, `1`, `null`, `"` + strings.Repeat("a", 200) + `"`} {
		if _, err := parseAddress([]byte(bad)); err == nil {
			t.Errorf("parseAddress(%s) accepted", bad)
		}
	}
}

func TestParseCursor(t *testing.T) {
	tests := []struct {
		in   string
		want int
		bad  bool
	}{
		{"", 0, false}, {"0", 0, false}, {"200", 200, false},
		{"-1", 0, true}, {"x", 0, true}, {"007", 0, true}, {"+3", 0, true}, {"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := parseCursor(tt.in)
		if tt.bad {
			if walletgate.ErrorCode(err) != walletgate.EInvalid {
				t.Errorf("parseCursor(%q) = %d, %v; want EInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseCursor(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{URL: "http://u:p@127.0.0.1:1/"}, true},
		{"wallet name", Config{URL: "http://127.0.0.1:1/", WalletName: "hot wallet"}, true},
		{"bad kind", Config{URL: "http://127.0.0.1:1/", Kind: "electrum"}, false},
		{"page over max", Config{URL: "http://127.0.0.1:1/", PageSize: 5000}, false},
		{"bad url", Config{URL: "ftp://x/"}, false},
		{"no url", Config{}, false},
	}
	for _, tt := range tests {
		w, err := New(tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: New err = %v; want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && walletgate.ErrorCode(err) != walletgate.EInvalid {
			t.Errorf("%s: error code %s; want invalid", tt.name, walletgate.ErrorCode(err))
		}
		if w != nil {
			w.Close()
		}
	}
	w, _ := New(Config{URL: "http://u:p@127.0.0.1:1/", WalletName: "hot wallet/2"})
	if got := w.rpc.Endpoint(); got != "http://127.0.0.1:1/wallet/hot%20wallet%2F2" {
		t.Errorf("multi-wallet endpoint %q", got)
	}
}

func FuzzParseTransaction(f *testing.F) {
	f.Add([]byte(`{"fee":0.00000227,"confirmations":0,"txid":"` + txA + `","details":[{"amount":-1,"category":"send","fee":0.00000227},{"address":"m","amount":1e-07,"category":"receive"}]}`))
	f.Add([]byte(`{"txid":"` + txA + `","details":[{"category":"receive","amount":21000000.00000001}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := parseTransaction(raw)
		if err != nil {
			return
		}
		if walletgate.CheckHash(tx.TxID) != nil {
			t.Fatalf("accepted txid %q", tx.TxID)
		}
		for _, d := range tx.Details {
			if d.Amount > maxSats || d.Amount < -maxSats || d.Fee < 0 || d.Fee > maxSats {
				t.Fatalf("detail out of range: %+v", d)
			}
			if d.Category != walletgate.CategoryReceive && d.Category != walletgate.CategorySend {
				t.Fatalf("category %q kept", d.Category)
			}
		}
	})
}

func FuzzParseCoins(f *testing.F) {
	for _, s := range []string{"0", "-1", "0.12345678", "1e-07", "2.1e+07", "1e31", "01", "1/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseCoins(s)
		if err != nil {
			return
		}
		if v > maxSats || v < -maxSats {
			t.Fatalf("parseCoins(%q) = %d beyond the cap", s, v)
		}
		// Whatever text was accepted denotes exactly v satoshis.
		if back, err := parseCoins(string(formatCoins(v))); err != nil || back != v {
			t.Fatalf("round trip of %q: %d -> %s -> %d, %v", s, v, formatCoins(v), back, err)
		}
	})
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte(`[{"txid":"` + txA + `","category":"receive"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		es, err := parseList(raw)
		if err != nil {
			return
		}
		for _, e := range es {
			if walletgate.CheckHash(e.TxID) != nil || strings.ToLower(e.TxID) != e.TxID {
				t.Fatalf("accepted txid %q", e.TxID)
			}
		}
	})
}

// TestParseCoinsWords pins the error texts, which surface in logs and on
// the status page.
func TestParseCoinsWords(t *testing.T) {
	for in, want := range map[string]string{
		"01":                           `amount "01" is not a JSON number`,
		"1e31":                         `amount "1e31": exponent out of range`,
		"1e-09":                        `amount "1e-09" has digits below one satoshi`,
		"21000000.00000001":            `amount "21000000.00000001" is beyond 21 million coins`,
		strings.Repeat("1", 130) + "x": `amount "` + strings.Repeat("1", 120) + `…" is not a JSON number`,
	} {
		if _, err := parseCoins(in); err == nil || err.Error() != want {
			t.Errorf("parseCoins(%q) error %v; want %s", in, err, want)
		}
	}
}
