package walletnotify

import (
	"strings"
	"testing"
)

// FuzzParseLine: never panics; an accepted line always yields 64
// lower-case hex digits, and a txid line round-trips.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{hash(1), " " + hash(2) + "\r", "block:" + hash(3), "block:", "", "\x00", strings.ToUpper(hash(4))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok, err := ParseLine(s)
		if !ok || err != nil {
			return
		}
		if len(n.Hash) != 64 || strings.ToLower(n.Hash) != n.Hash {
			t.Fatalf("ParseLine(%q) = %+v", s, n)
		}
		if n.Kind == KindTx {
			if back, ok, err := ParseLine(n.Hash); !ok || err != nil || back != n {
				t.Fatalf("round trip of %q: %+v %v %v", s, back, ok, err)
			}
		}
	})
}

// FuzzFormNote: exactly one of a note or an error, never a panic.
func FuzzFormNote(f *testing.F) {
	f.Add(hash(1), "")
	f.Add("", hash(2))
	f.Add(hash(1), hash(2))
	f.Add("xyz", "")
	f.Fuzz(func(t *testing.T, txid, block string) {
		n, err := FormNote(txid, block)
		if err == nil && len(n.Hash) != 64 {
			t.Fatalf("FormNote(%q, %q) = %+v without error", txid, block, n)
		}
	})
}

// FuzzParseBlockIO: any body gives a note, nothing, or an error.
func FuzzParseBlockIO(f *testing.F) {
	f.Add([]byte(`{"type":"ping"}`))
	f.Add([]byte(`{"type":"account","delivery_attempt":2,"data":{"txid":"` + hash(1) + `"}}`))
	f.Add([]byte(`{"type":"new-blocks","data":{"block_hash":"` + hash(1) + `"}}`))
	f.Add([]byte(`{"type":"account","data":[]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, n, ok, err := ParseBlockIO(body)
		if ok && err == nil && len(n.Hash) != 64 {
			t.Fatalf("ParseBlockIO(%q) = %+v", body, n)
		}
		if !ok && n != (Note{}) {
			t.Fatalf("ParseBlockIO(%q): note %+v without ok", body, n)
		}
	})
}

// FuzzLineSplitter: however the stream is cut into chunks, the lines are
// those of splitting the whole stream on CR and LF (lines over the limit
// dropped).
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("a\r\nb\rc\n"), uint8(1))
	f.Add([]byte(hash(1)+"\n"+hash(2)), uint8(7))
	f.Add([]byte(strings.Repeat("x", 100)+"\nok\n"), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8) {
		const max = 32
		var want []string
		// Reference: split on every CR or LF; the text after the last
		// separator is an unfinished line and not emitted.
		cur := []byte{}
		for _, b := range stream {
			if b == '\r' || b == '\n' {
				if len(cur) <= max {
					want = append(want, string(cur))
				}
				cur = cur[:0]
				continue
			}
			cur = append(cur, b)
		}
		var got []string
		s := lineSplitter{max: max}
		step := int(cut%16) + 1
		for i := 0; i < len(stream); i += step {
			s.feed(stream[i:min(i+step, len(stream))], func(line []byte) { got = append(got, string(line)) })
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Fatalf("stream %q step %d: got %q, want %q", stream, step, got, want)
		}
	})
}
