package headers_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/walletgate/walletgate/peerchannels/headers"
)

func TestHeaderRaw(t *testing.T) {
	g := chaincfg.RegressionNetParams.GenesisBlock.Header
	var want bytes.Buffer
	_ = g.Serialize(&want)
	good := headers.HeaderFromWire(g, 1, "2")
	tests := []struct {
		name    string
		mutate  func(h *headers.Header)
		wantErr string
	}{
		{"genesis round trip", func(*headers.Header) {}, ""},
		{"no hash to check", func(h *headers.Header) { h.Hash = "" }, ""},
		{"nonce changed", func(h *headers.Header) { h.Nonce++ }, "fields hash to"},
		{"merkle root not reversed", func(h *headers.Header) {
			b := []byte(h.MerkleRoot)
			for i, j := 0, len(b)-2; i < j; i, j = i+2, j-2 {
				b[i], b[i+1], b[j], b[j+1] = b[j], b[j+1], b[i], b[i+1]
			}
			h.MerkleRoot = string(b)
		}, "fields hash to"},
		{"short prev hash", func(h *headers.Header) { h.PrevBlockHash = "00" }, "bad prevBlockHash"},
		{"bad merkle hex", func(h *headers.Header) { h.MerkleRoot = strings.Repeat("g", 64) }, "bad merkleRoot"},
		{"negative timestamp", func(h *headers.Header) { h.CreationTimestamp = -1 }, "creationTimestamp"},
		{"bits too big", func(h *headers.Header) { h.DifficultyTarget = 1 << 32 }, "difficultyTarget"},
		{"version too big", func(h *headers.Header) { h.Version = 1 << 33 }, "version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := good
			tc.mutate(&h)
			raw, err := h.Raw()
			if tc.wantErr == "" {
				if err != nil || !bytes.Equal(raw[:], want.Bytes()) {
					t.Fatalf("raw %x, %v; want %x", raw, err, want.Bytes())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// A signed version (HeaderSV prints Java ints) must map to the same bits.
func TestHeaderNegativeVersion(t *testing.T) {
	g := chaincfg.RegressionNetParams.GenesisBlock.Header
	g.Version = -536870912 // 0xe0000000
	h := headers.HeaderFromWire(g, 1, "2")
	raw, err := h.Raw()
	if err != nil {
		t.Fatal(err)
	}
	h.Version = 0xe0000000
	raw2, err := h.Raw()
	if err != nil || raw != raw2 {
		t.Fatalf("unsigned version gives %x, %v", raw2, err)
	}
}

func FuzzHeaderJSON(f *testing.F) {
	g := headers.HeaderFromWire(chaincfg.RegressionNetParams.GenesisBlock.Header, 1, "2")
	b, _ := json.Marshal(g)
	f.Add(b)
	f.Add([]byte(`{"hash":"","version":-1,"prevBlockHash":"zz"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h headers.Header
		if json.Unmarshal(data, &h) != nil {
			return
		}
		raw, err := h.Raw()
		if err != nil {
			return
		}
		bh, height, err := headers.ParseTipFrame(append(raw[:], 0, 0, 0, 0))
		if err != nil || height != 0 {
			t.Fatalf("rebuilt header does not parse: %v", err)
		}
		if h.Hash != "" && bh.BlockHash().String() != strings.ToLower(h.Hash) {
			t.Fatalf("accepted header hashes to %s, not %s", bh.BlockHash(), h.Hash)
		}
	})
}

func FuzzParseTipFrame(f *testing.F) {
	f.Add(make([]byte, 84))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		bh, height, err := headers.ParseTipFrame(data)
		if err != nil {
			if len(data) == headers.TipFrameSize {
				t.Fatalf("84-byte frame refused: %v", err)
			}
			return
		}
		var b bytes.Buffer
		_ = bh.Serialize(&b)
		if !bytes.Equal(b.Bytes(), data[:80]) || height != uint32(data[80])|uint32(data[81])<<8|uint32(data[82])<<16|uint32(data[83])<<24 {
			t.Fatalf("frame %x parsed to %v/%d", data, bh, height)
		}
	})
}
