package walletgate_test

import (
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
)

func TestFormatParseSats(t *testing.T) {
	for _, c := range []struct {
		sats int64
		text string
	}{
		{21000, "0.00021000"}, {0, "0.00000000"}, {1, "0.00000001"}, {150000000, "1.50000000"},
		{-2100000000000000, "-21000000.00000000"}, {2100000000000000, "21000000.00000000"},
	} {
		if got := walletgate.FormatSats(c.sats); got != c.text {
			t.Errorf("FormatSats(%d) = %q, want %q", c.sats, got, c.text)
		}
		if got, err := walletgate.ParseSats(c.text); err != nil || got != c.sats {
			t.Errorf("ParseSats(%q) = %d, %v; want %d", c.text, got, err, c.sats)
		}
	}
	for _, bad := range []string{"", ".", "1.123456789", "1e8", "0x10", "1,5", "--1", "99999999999999.0", " 1"} {
		if v, err := walletgate.ParseSats(bad); err == nil {
			t.Errorf("ParseSats(%q) = %d, want an error", bad, v)
		}
	}
}

func TestTxUpdateRoundTrip(t *testing.T) {
	u := walletgate.TxUpdate{EventID: "btc:t:a:3", Coin: "btc", TransactionType: "deposit", TransactionID: 7, NetworkTxID: 2,
		Account: "alice", TxID: "t", Address: "a", Amount: 21000, Credited: true, Confirmations: 3}
	b, err := walletgate.MarshalTxUpdate(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"transaction":7,"network_transaction":2,"account":"alice","txid":"t","address":"a","amount":"0.00021000","credited":true,"confirmations":3,"coin_name":"btc","transaction_type":"deposit","event_id":"btc:t:a:3"}`
	if string(b) != want {
		t.Fatalf("payload %s\nwant    %s", b, want)
	}
	back, err := walletgate.UnmarshalTxUpdate(b)
	if err != nil || back != u {
		t.Fatalf("round trip %+v, %v", back, err)
	}
}

// TestTxUpdateCredited: a deposit writes credited true or false, a
// broadcast writes null (spec §8), and each reads back.
func TestTxUpdateCredited(t *testing.T) {
	for _, c := range []struct {
		typ      string
		credited bool
		want     string
	}{
		{walletgate.TxTypeDeposit, true, `"credited":true`},
		{walletgate.TxTypeDeposit, false, `"credited":false`},
		{walletgate.TxTypeBroadcast, false, `"credited":null`},
		{walletgate.TxTypeBroadcast, true, `"credited":null`}, // ignored for broadcasts
	} {
		u := walletgate.TxUpdate{EventID: "e", Coin: "btc", TransactionType: c.typ, Amount: 1, Credited: c.credited}
		b, err := walletgate.MarshalTxUpdate(u)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s credited=%v: payload %s lacks %s", c.typ, c.credited, b, c.want)
		}
		back, err := walletgate.UnmarshalTxUpdate(b)
		wantBack := c.credited && c.typ == walletgate.TxTypeDeposit
		if err != nil || back.Credited != wantBack || back.TransactionType != c.typ {
			t.Errorf("%s credited=%v: read back %+v, %v; want credited %v", c.typ, c.credited, back, err, wantBack)
		}
	}
}

func FuzzParseSats(f *testing.F) {
	for _, s := range []string{"0.00021", "-1.5", "21000000", "1.", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := walletgate.ParseSats(s)
		if err != nil {
			return
		}
		back, err := walletgate.ParseSats(walletgate.FormatSats(v))
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, walletgate.FormatSats(v), back, err)
		}
	})
}
