package electrumtest

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// FuzzHandleLine feeds any incoming line to a session: the server must
// answer or drop it, never panic.
func FuzzHandleLine(f *testing.F) {
	chain := NewMemChain()
	chain.Pay(script(1), 1000)
	chain.Mine(1)
	srv, err := NewServer(chain, Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	for _, s := range []string{
		`{"id":1,"method":"server.version","params":["x",["1.4","1.6"]]}`,
		`[{"id":1,"method":"blockchain.scripthash.get_history","params":["` + ScriptHashOf(script(1)) + `"]}]`,
		`{"id":2,"method":"blockchain.block.headers","params":[0,3,1]}`,
		`{"id":3,"method":"blockchain.transaction.get_merkle","params":["00",1]}`,
		`[]`, `{`, `[1,{"id":null}]`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, line []byte, negotiated bool) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		a, b := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, b) }()
		ss := newSession(srv, a)
		if negotiated {
			ss.version = "1.4"
		}
		ss.handleLine(line)
		ss.wg.Wait()
		ss.close()
		b.Close()
	})
}
