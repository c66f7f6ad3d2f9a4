package chainview

import (
	"encoding/json"
	"testing"

	"github.com/walletgate/walletgate/chainview/chainviewtest"
)

func TestParseVerbose(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		coinbase  bool
		confirmed bool
		ts        int64 // -1: none
		ins, outs int
		bad       bool
	}{
		{"coinbase confirmed", chainviewtest.VerboseTx{Txid: "a", Coinbase: true, Outs: []chainviewtest.Out{{Value: "50.0", Script: "51"}}, Blockhash: "h", Blocktime: 9, Confs: 1}.JSON(), true, true, 9, 0, 1, false},
		{"mempool", chainviewtest.VerboseTx{Txid: "b", Ins: []chainviewtest.In{{Txid: "A", Vout: 1}}, Outs: []chainviewtest.Out{{Value: "1e-05", Script: "51"}, {Value: "0", Script: "6a"}}}.JSON(), false, false, -1, 1, 2, false},
		{"time without blocktime", `{"time":7,"confirmations":2,"vin":[],"vout":[]}`, false, true, 7, 0, 0, false},
		{"confirmations zero", `{"confirmations":0,"vin":[],"vout":[]}`, false, false, -1, 0, 0, false},
		{"bad value", `{"vout":[{"value":"x"}]}`, false, false, -1, 0, 0, true},
		{"fractional time", `{"time":1.5}`, false, false, -1, 0, 0, true},
		{"not an object", `[1]`, false, false, -1, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := parseVerbose([]byte(tt.raw))
			if (err != nil) != tt.bad {
				t.Fatalf("err = %v, want error %v", err, tt.bad)
			}
			if tt.bad {
				return
			}
			if tx.coinbase != tt.coinbase || tx.confirmed != tt.confirmed || len(tx.ins) != tt.ins || len(tx.outs) != tt.outs {
				t.Fatalf("got %+v", tx)
			}
			if (tt.ts < 0) != (tx.timestamp == nil) || (tx.timestamp != nil && *tx.timestamp != tt.ts) {
				t.Fatalf("timestamp %v, want %d", tx.timestamp, tt.ts)
			}
		})
	}
	tx, _ := parseVerbose([]byte(tests[1].raw))
	if tx.ins[0].prev != "a" || tx.ins[0].vout != 1 || tx.outs[0].sats != 1000 || tx.outs[0].addressed {
		t.Fatalf("mempool tx parsed as %+v", tx)
	}
}

// FuzzParseVerbose: backend text never panics the parser, and what parses
// has one output per vout element.
func FuzzParseVerbose(f *testing.F) {
	f.Add([]byte(chainviewtest.VerboseTx{Txid: "a", Coinbase: true, Outs: []chainviewtest.Out{{Value: "50.0", Script: "51", Address: "x"}}, Blockhash: "h", Blocktime: 9}.JSON()))
	f.Add([]byte(`{"vin":[{"coinbase":""}],"vout":[{"value":1e400}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := parseVerbose(raw)
		if err != nil {
			return
		}
		var shape struct {
			Vout []json.RawMessage `json:"vout"`
		}
		if json.Unmarshal(raw, &shape) == nil && len(shape.Vout) != len(tx.outs) {
			t.Fatalf("%d vout elements parsed into %d outputs", len(shape.Vout), len(tx.outs))
		}
	})
}
