package hub_test

import (
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
	"github.com/walletgate/walletgate/hub"
)

func TestParseAddress(t *testing.T) {
	p, err := chain.Lookup("bitweb", "mainnet")
	if err != nil {
		t.Fatal(err)
	}
	spk := append([]byte{0x00, 0x14}, []byte("01234567890123456789")...)
	good, err := p.Encode(spk)
	if err != nil {
		t.Fatal(err)
	}
	dec := hub.ChainDecoder(p)
	tests := []struct{ in, wantErr string }{
		{good, ""},
		{"short", hub.MsgBadAddress},
		{strings.Repeat("a", 91), hub.MsgBadAddress},
		{good + " ", hub.MsgBadAddress},
		{good[:30] + "é", hub.MsgBadAddress},
		{"1" + strings.Repeat("1", 30), ""}, // passes the pattern; the codec decides
	}
	for _, tc := range tests {
		sc, err := hub.ParseAddress(dec, tc.in)
		switch {
		case tc.in == good:
			if err != nil || sc != chainview.NewScript(spk) {
				t.Fatalf("%q: %v %+v", tc.in, err, sc)
			}
		case tc.wantErr != "":
			if walletgate.ErrorMessage(err) != tc.wantErr || walletgate.ErrorCode(err) != walletgate.EInvalid {
				t.Fatalf("%q: %v", tc.in, err)
			}
		default:
			_, cerr := p.Decode(tc.in)
			if cerr == nil || walletgate.ErrorMessage(err) != cerr.Error() {
				t.Fatalf("%q: got %v, want the codec's %v", tc.in, err, cerr)
			}
		}
	}
}

func FuzzParseAddress(f *testing.F) {
	p, err := chain.Lookup("bitweb", "mainnet")
	if err != nil {
		f.Fatal(err)
	}
	dec := hub.ChainDecoder(p)
	for _, s := range []string{"web1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "WEB1QXYZ", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := hub.ParseAddress(dec, s)
		if err != nil {
			if walletgate.ErrorCode(err) != walletgate.EInvalid || walletgate.ErrorMessage(err) == "" {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if len(sc.Hash) != 64 || sc.Hex == "" {
			t.Fatalf("%q: script %+v", s, sc)
		}
	})
}
