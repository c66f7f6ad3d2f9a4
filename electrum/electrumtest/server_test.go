package electrumtest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// rawClient speaks the wire protocol by hand.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func start(t *testing.T, chain ChainState, cfg Config) *Server {
	t.Helper()
	srv, err := NewServer(chain, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func dialRaw(t *testing.T, srv *Server) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, br: bufio.NewReaderSize(c, 1<<20)}
}

func (r *rawClient) send(line string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(line + "\n")); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the next line (raw, with padding) or fails after 5 s.
func (r *rawClient) read() string {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := r.br.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v (got %q)", err, line)
	}
	return line
}

type reply struct {
	ID     *int            `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcErrObj      `json:"error"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func (r *rawClient) reply() reply {
	r.t.Helper()
	line := r.read()
	var rep reply
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		r.t.Fatalf("reply %q: %v", line, err)
	}
	return rep
}

func (r *rawClient) call(id int, method string, params ...any) reply {
	r.t.Helper()
	p, _ := json.Marshal(params)
	if params == nil {
		p = []byte("[]")
	}
	r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, p))
	return r.reply()
}

func (r *rawClient) hello(version string) {
	r.t.Helper()
	rep := r.call(0, "server.version", "test", version)
	if rep.Error != nil {
		r.t.Fatalf("server.version: %+v", rep.Error)
	}
}

func (r *rawClient) expectClosed() {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := r.br.ReadString('\n'); err == nil {
		r.t.Fatalf("connection still open, got %q", line)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.t.Fatal("connection not closed")
	}
}

func script(n byte) []byte {
	s := make([]byte, 22)
	s[0], s[1] = 0x00, 0x14
	for i := 2; i < 22; i++ {
		s[i] = n
	}
	return s
}

func TestVersionFirstRule(t *testing.T) {
	srv := start(t, NewMemChain(), Config{})
	r := dialRaw(t, srv)
	rep := r.call(5, "blockchain.scripthash.get_balance", strings.Repeat("00", 32))
	if rep.Error == nil || rep.Error.Code != 1 || rep.Error.Message != "use server.version to identify client" || rep.ID == nil || *rep.ID != 5 {
		t.Fatalf("reply %+v", rep)
	}
	r.expectClosed()
}

func TestVersionNegotiation(t *testing.T) {
	srv := start(t, NewMemChain(), Config{})
	for _, tc := range []struct {
		name    string
		version any
		want    string
		errText string
	}{
		{"exact", "1.4", "1.4", ""},
		{"range capped at server max", []string{"1.4", "1.9"}, "1.7", ""},
		{"range within", []string{"1.4", "1.4.2"}, "1.4.2", ""},
		{"too old", []string{"1.0", "1.2"}, "", "unsupported protocol version: 1.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			rep := r.call(1, "server.version", "test", tc.version)
			if tc.errText != "" {
				if rep.Error == nil || rep.Error.Code != 1 || rep.Error.Message != tc.errText {
					t.Fatalf("reply %+v, want error %q", rep, tc.errText)
				}
				r.expectClosed()
				return
			}
			var res []string
			if err := json.Unmarshal(rep.Result, &res); err != nil || len(res) != 2 || res[0] != "ElectrumX 2.0.0" || res[1] != tc.want {
				t.Fatalf("result %s, want [ElectrumX 2.0.0 %s]", rep.Result, tc.want)
			}
			again := r.call(2, "server.version", "test", tc.version)
			if again.Error == nil || again.Error.Message != "server.version already sent" {
				t.Fatalf("second version: %+v", again)
			}
		})
	}
}

func TestPaddingToPowersOfTwo(t *testing.T) {
	chain := NewMemChain()
	for i := 0; i < 40; i++ {
		chain.Pay(script(1), int64(1000+i))
	}
	srv := start(t, chain, Config{})
	r := dialRaw(t, srv)
	for _, tc := range []struct {
		method string
		params []any
	}{
		{"server.version", []any{"t", "1.4"}},
		{"server.ping", nil},
		{"blockchain.scripthash.listunspent", []any{ScriptHashOf(script(1))}},
	} {
		p, _ := json.Marshal(tc.params)
		r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, tc.method, p))
		line := r.read()
		n := len(line)
		if n < 1024 || bits.OnesCount(uint(n)) != 1 {
			t.Fatalf("%s: reply of %d bytes is not a power of two >= 1024", tc.method, n)
		}
		trimmed := strings.TrimRight(line[:n-2], " ")
		if !strings.HasSuffix(line, " }\n") && len(trimmed) != n-2 {
			t.Fatalf("%s: padding not before the final brace: %q", tc.method, line[n-10:])
		}
		if !json.Valid([]byte(line)) {
			t.Fatalf("%s: padded reply is not JSON", tc.method)
		}
	}
}

func TestFlushRuleHoldsSmallReplies(t *testing.T) {
	srv := start(t, NewMemChain(), Config{FlushRule: true, FlushInterval: time.Hour})
	r := dialRaw(t, srv)
	r.hello("1.4") // warm-up: sent at once
	sh := ScriptHashOf(script(1))
	r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"blockchain.scripthash.get_balance","params":[%q]}`, sh))
	_ = r.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := r.br.ReadString('\n'); err == nil {
		t.Fatalf("small reply within the hold was sent: %q", line)
	}
	// Enough further replies to pass 1024 buffered bytes release them all.
	for id := 2; id <= 20; id++ {
		r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"blockchain.scripthash.get_balance","params":[%q]}`, id, sh))
	}
	r.br = bufio.NewReaderSize(r.c, 1<<20) // drop the timed-out reader's state
	seen := map[int]bool{}
	for {
		_ = r.c.SetReadDeadline(time.Now().Add(time.Second))
		line, err := r.br.ReadString('\n')
		if err != nil {
			break // the rest is held again
		}
		var rep reply
		if json.Unmarshal([]byte(line), &rep) != nil || rep.ID == nil || rep.Error != nil {
			t.Fatalf("reply %q", line)
		}
		seen[*rep.ID] = true
	}
	// About 70 bytes each: the flush came once 1024 bytes were buffered
	// (at least 14 replies, the held one among them), and the replies
	// after that flush are held again.
	if !seen[1] || len(seen) < 14 || len(seen) == 20 {
		t.Fatalf("released replies %v", seen)
	}
}

func TestBatchesAndErrors(t *testing.T) {
	chain := NewMemChain()
	chain.Pay(script(1), 5000)
	chain.Mine(1)
	srv := start(t, chain, Config{NoPadding: true})
	r := dialRaw(t, srv)
	r.hello("1.4")
	sh := ScriptHashOf(script(1))
	r.send(fmt.Sprintf(`[{"jsonrpc":"2.0","id":1,"method":"blockchain.scripthash.get_balance","params":[%q]},{"jsonrpc":"2.0","id":2,"method":"nope","params":[]}]`, sh))
	line := r.read()
	if !strings.Contains(line, `}, {`) {
		t.Fatalf("batch reply not joined by \", \": %q", line)
	}
	var items []reply
	if err := json.Unmarshal([]byte(line), &items); err != nil || len(items) != 2 {
		t.Fatalf("batch reply %q: %v", line, err)
	}
	if string(items[0].Result) != `{"confirmed":5000,"unconfirmed":0}` || items[1].Error == nil || items[1].Error.Code != -32601 {
		t.Fatalf("batch items %+v", items)
	}
	r.send(`[]`)
	if rep := r.reply(); rep.Error == nil || rep.Error.Code != -32600 {
		t.Fatalf("empty batch: %+v", rep)
	}
	for _, tc := range []struct {
		name, line string
		code       int
		msg        string
	}{
		{"unknown method", `{"id":3,"method":"foo.bar","params":[]}`, -32601, `unknown method "foo.bar"`},
		{"bad script hash", `{"id":3,"method":"blockchain.scripthash.get_balance","params":["xyz"]}`, 1, "xyz is not a valid script hash"},
		{"bad tx hash", `{"id":3,"method":"blockchain.transaction.get","params":["12"]}`, 1, "12 should be a transaction hash"},
		{"unknown tx", fmt.Sprintf(`{"id":3,"method":"blockchain.transaction.get","params":[%q]}`, strings.Repeat("ab", 32)), 2, MsgNoSuchTx},
		{"verbose not bool", fmt.Sprintf(`{"id":3,"method":"blockchain.transaction.get","params":[%q,"yes"]}`, strings.Repeat("ab", 32)), 1, `"verbose" must be a boolean`},
		{"height out of range", `{"id":3,"method":"blockchain.block.header","params":[99]}`, 1, "height 99 out of range"},
		{"negative height", `{"id":3,"method":"blockchain.block.header","params":[-1]}`, 1, "-1 should be a non-negative integer"},
		{"too many args", fmt.Sprintf(`{"id":3,"method":"blockchain.scripthash.get_balance","params":[%q,1]}`, sh), -32602, ""},
		{"unsubscribe needs 1.4.2", fmt.Sprintf(`{"id":3,"method":"blockchain.scripthash.unsubscribe","params":[%q]}`, sh), -32601, `unknown method "blockchain.scripthash.unsubscribe"`},
		{"invalid JSON", `{"id":3,"method":`, -32700, "invalid JSON"},
		{"bad fee mode", `{"id":3,"method":"blockchain.estimatefee","params":[2,"FAST"]}`, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.send(tc.line)
			rep := r.reply()
			if rep.Error == nil || rep.Error.Code != tc.code || (tc.msg != "" && rep.Error.Message != tc.msg) {
				t.Fatalf("reply %+v, want code %d %q", rep.Error, tc.code, tc.msg)
			}
		})
	}
}

func TestProtocol17DropsScripthashMethods(t *testing.T) {
	srv := start(t, NewMemChain(), Config{})
	r := dialRaw(t, srv)
	r.hello("1.7")
	rep := r.call(1, "blockchain.scripthash.get_balance", ScriptHashOf(script(1)))
	if rep.Error == nil || rep.Error.Code != -32601 {
		t.Fatalf("get_balance at 1.7: %+v", rep)
	}
}

func TestOversizedLineDroppedSilently(t *testing.T) {
	srv := start(t, NewMemChain(), Config{MaxRecv: 1000})
	r := dialRaw(t, srv)
	r.hello("1.4")
	r.send(`{"id":9,"method":"server.ping","params":["` + strings.Repeat("x", 5000) + `"]}`)
	rep := r.call(10, "server.ping")
	if rep.ID == nil || *rep.ID != 10 || rep.Error != nil {
		t.Fatalf("first reply after the oversized line: %+v", rep)
	}
}

func TestIdleSessionReaped(t *testing.T) {
	srv := start(t, NewMemChain(), Config{SessionTimeout: 200 * time.Millisecond})
	r := dialRaw(t, srv)
	r.hello("1.4")
	r.expectClosed()
}

func TestInjectedExcessiveDisconnects(t *testing.T) {
	srv := start(t, NewMemChain(), Config{})
	r := dialRaw(t, srv)
	r.hello("1.4")
	srv.InjectError(-101, 1)
	rep := r.call(1, "server.ping")
	if rep.Error == nil || rep.Error.Code != -101 || rep.Error.Message != "excessive resource usage" {
		t.Fatalf("reply %+v", rep)
	}
	r.expectClosed()
}

func TestIndexOrderStatusAndUnspent(t *testing.T) {
	chain := NewMemChain()
	a := chain.Pay(script(1), 5000)
	chain.Mine(1)
	// Mempool: parent spends a (confirmed input: height 0); child spends
	// the parent (unconfirmed input: height -1).
	parent := chain.Spend([]wire.OutPoint{{Hash: a.TxHash(), Index: 0}}, script(1), 4000)
	child := chain.Spend([]wire.OutPoint{{Hash: parent.TxHash(), Index: 0}}, script(1), 3500)
	idx := chain.Snapshot()
	sh := ScriptHashOf(script(1))
	want := []HistoryItem{{TxHash: a.TxHash().String(), Height: 1}, {TxHash: parent.TxHash().String(), Height: 0, Fee: 1000}, {TxHash: child.TxHash().String(), Height: -1, Fee: 500}}
	got := idx.History(sh)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("history %+v, want %+v", got, want)
	}
	pre := fmt.Sprintf("%s:1:%s:0:%s:-1:", a.TxHash(), parent.TxHash(), child.TxHash())
	sum := sha256.Sum256([]byte(pre))
	if idx.Status(sh) != hex.EncodeToString(sum[:]) {
		t.Fatalf("status %s, want sha256(%q)", idx.Status(sh), pre)
	}
	if c, u := idx.Balance(sh); c != 5000 || u != -1500 {
		t.Fatalf("balance %d/%d, want 5000/-1500", c, u)
	}
	us := idx.Unspent(sh)
	if len(us) != 1 || us[0] != (UnspentItem{TxHash: child.TxHash().String(), TxPos: 0, Height: 0, Value: 3500}) {
		t.Fatalf("unspent %+v: spent outputs must be left out", us)
	}
	if idx.Status(ScriptHashOf(script(2))) != "" {
		t.Fatal("status of an unused script must be empty")
	}
}

func TestMerkleProofVerifies(t *testing.T) {
	chain := NewMemChain()
	var txs []*wire.MsgTx
	for i := 0; i < 4; i++ {
		txs = append(txs, chain.Pay(script(byte(i+1)), 1000))
	}
	chain.Mine(1)
	srv := start(t, chain, Config{NoPadding: true})
	r := dialRaw(t, srv)
	r.hello("1.4")
	target := txs[2]
	rep := r.call(1, "blockchain.transaction.get_merkle", target.TxHash().String(), 1)
	var m struct {
		Merkle []string `json:"merkle"`
		Pos    int      `json:"pos"`
	}
	if err := json.Unmarshal(rep.Result, &m); err != nil {
		t.Fatalf("%s: %v", rep.Result, err)
	}
	h := target.TxHash()
	pos := m.Pos
	for _, sib := range m.Merkle {
		s, _ := chainhash.NewHashFromStr(sib)
		var buf [64]byte
		if pos%2 == 0 {
			copy(buf[:32], h[:])
			copy(buf[32:], s[:])
		} else {
			copy(buf[:32], s[:])
			copy(buf[32:], h[:])
		}
		h = chainhash.DoubleHashH(buf[:])
		pos /= 2
	}
	b, _ := chain.Snapshot().Block(1)
	if h != b.Header.MerkleRoot {
		t.Fatalf("proof gives %s, block root %s", h, b.Header.MerkleRoot)
	}
}

func TestNotificationsOnChange(t *testing.T) {
	chain := NewMemChain()
	srv := start(t, chain, Config{NoPadding: true})
	r := dialRaw(t, srv)
	r.hello("1.4")
	sh := ScriptHashOf(script(7))
	if rep := r.call(1, "blockchain.scripthash.subscribe", sh); string(rep.Result) != "null" {
		t.Fatalf("initial status %s, want null", rep.Result)
	}
	r.call(2, "blockchain.headers.subscribe")
	chain.Pay(script(7), 100)
	n := r.reply()
	want := fmt.Sprintf(`[%q,%q]`, sh, chain.Snapshot().Status(sh))
	if n.Method != "blockchain.scripthash.subscribe" || n.ID != nil || string(n.Params) != want {
		t.Fatalf("notification %+v, want params %s", n, want)
	}
	chain.Mine(1)
	h := r.reply()
	if h.Method != "blockchain.headers.subscribe" || !strings.HasPrefix(string(h.Params), `[{"height":1,"hex":"`) {
		t.Fatalf("header notification %+v", h)
	}
}

func TestBlockHeadersShapeByVersion(t *testing.T) {
	chain := NewMemChain()
	chain.Mine(2)
	srv := start(t, chain, Config{NoPadding: true})
	for _, tc := range []struct{ version, key string }{{"1.4", `"hex"`}, {"1.6", `"headers"`}} {
		r := dialRaw(t, srv)
		r.hello(tc.version)
		rep := r.call(1, "blockchain.block.headers", 0, 5)
		if !strings.Contains(string(rep.Result), tc.key) || !strings.Contains(string(rep.Result), `"count":3`) {
			t.Fatalf("%s: %s", tc.version, rep.Result)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	chain := NewMemChain()
	for i := 0; i < 4; i++ {
		chain.Pay(script(1), int64(1000+i))
	}
	chain.Mine(1)
	// MaxSend 400: history is capped at (400-100)/99 = 3 entries.
	srv := start(t, chain, Config{MaxSend: 400, NoPadding: true})
	r := dialRaw(t, srv)
	r.hello("1.4")
	sh := ScriptHashOf(script(1))
	for _, method := range []string{"blockchain.scripthash.get_history", "blockchain.scripthash.subscribe"} {
		if rep := r.call(1, method, sh); rep.Error == nil || rep.Error.Code != 10001 || rep.Error.Message != "history too large" {
			t.Fatalf("%s: %+v", method, rep)
		}
	}
	rep := r.call(2, "blockchain.scripthash.listunspent", sh)
	if rep.Error == nil || rep.Error.Code != -32600 || rep.Error.Message != "response too large (over 400 bytes" {
		t.Fatalf("listunspent: %+v", rep.Error)
	}
}

func TestFeeAndFeatureMethods(t *testing.T) {
	chain := NewMemChain()
	chain.Mine(3)
	srv := start(t, chain, Config{NoPadding: true})
	r := dialRaw(t, srv)
	r.hello("1.4")
	if rep := r.call(1, "blockchain.estimatefee", 2); string(rep.Result) != "0.0002" {
		t.Fatalf("estimatefee: %+v", rep)
	}
	if rep := r.call(2, "blockchain.relayfee"); string(rep.Result) != "0.00001" {
		t.Fatalf("relayfee: %+v", rep)
	}
	if rep := r.call(3, "mempool.get_fee_histogram"); string(rep.Result) != "[]" {
		t.Fatalf("fee histogram of an empty mempool: %+v", rep)
	}
	var f map[string]any
	rep := r.call(4, "server.features")
	if err := json.Unmarshal(rep.Result, &f); err != nil || f["hash_function"] != "sha256" || f["protocol_max"] != "1.7" {
		t.Fatalf("features %s", rep.Result)
	}
	genesis, _ := chain.Snapshot().Block(0)
	if f["genesis_hash"] != genesis.Header.BlockHash().String() {
		t.Fatalf("genesis %v", f["genesis_hash"])
	}
	// Header with a checkpoint proof: the branch leads to the root.
	rep = r.call(5, "blockchain.block.header", 1, 3)
	var proof struct {
		Header string   `json:"header"`
		Branch []string `json:"branch"`
		Root   string   `json:"root"`
	}
	if err := json.Unmarshal(rep.Result, &proof); err != nil || len(proof.Branch) != 2 {
		t.Fatalf("header proof %s", rep.Result)
	}
	b1, _ := chain.Snapshot().Block(1)
	h := b1.Header.BlockHash()
	pos := 1
	for _, sib := range proof.Branch {
		s, _ := chainhash.NewHashFromStr(sib)
		var buf [64]byte
		if pos%2 == 0 {
			copy(buf[:32], h[:])
			copy(buf[32:], s[:])
		} else {
			copy(buf[:32], s[:])
			copy(buf[32:], h[:])
		}
		h = chainhash.DoubleHashH(buf[:])
		pos /= 2
	}
	if h.String() != proof.Root {
		t.Fatalf("branch gives %s, root %s", h, proof.Root)
	}
	r16 := dialRaw(t, srv)
	r16.hello("1.6")
	if rep := r16.call(1, "blockchain.relayfee"); rep.Error == nil || rep.Error.Code != -32601 {
		t.Fatalf("relayfee at 1.6: %+v", rep)
	}
}

// raceChain is a MemChain whose Snapshot, once armed, runs a hook after
// reading the snapshot and before returning it: the hook plays a change
// that is published, and notified, while a request holds an older
// snapshot. The watch goroutine never wakes (Changed never fires), so the
// hook's notify is the only one.
type raceChain struct {
	*MemChain
	never chan struct{}
	mu    sync.Mutex
	hook  func()
}

func (c *raceChain) Changed() <-chan struct{} { return c.never }

func (c *raceChain) Snapshot() *Index {
	idx := c.MemChain.Snapshot()
	c.mu.Lock()
	h := c.hook
	c.hook = nil
	c.mu.Unlock()
	if h != nil {
		h()
	}
	return idx
}

// A payment that lands while blockchain.scripthash.subscribe reads its
// status must still reach the client: as a notification, and not as a
// reply holding the older status with nothing after it.
func TestChangeDuringSubscribeIsNotified(t *testing.T) {
	chain := &raceChain{MemChain: NewMemChain(), never: make(chan struct{})}
	srv := start(t, chain, Config{NoPadding: true})
	r := dialRaw(t, srv)
	r.hello("1.4")
	sh := ScriptHashOf(script(9))
	chain.mu.Lock()
	chain.hook = func() {
		chain.Pay(script(9), 500)
		for _, ss := range srv.sessionList() {
			ss.notify(chain.MemChain.Snapshot())
		}
	}
	chain.mu.Unlock()
	r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"blockchain.scripthash.subscribe","params":[%q]}`, sh))
	var params, result string
	for range 2 { // the reply and the notification, in either order
		m := r.reply()
		if m.Method == "blockchain.scripthash.subscribe" {
			params = string(m.Params)
		} else {
			result = string(m.Result)
		}
	}
	want := chain.MemChain.Snapshot().Status(sh)
	if want == "" {
		t.Fatal("the hook did not run")
	}
	if params != fmt.Sprintf(`[%q,%q]`, sh, want) {
		t.Fatal("no notification of the status that changed during subscribe")
	}
	if result != fmt.Sprintf("%q", want) {
		t.Fatalf("subscribe answered %s after notifying %s", result, want)
	}
}

// TestDownRefusesAndDropsUntilUp: Down is a dead ElectrumX — open sessions
// end, new connections are refused — and Up serves again on the same
// address with the changes made meanwhile.
func TestDownRefusesAndDropsUntilUp(t *testing.T) {
	chain := NewMemChain()
	srv := start(t, chain, Config{NoPadding: true})
	addr := srv.Addr()
	r := dialRaw(t, srv)
	r.hello("1.4")
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	r.expectClosed()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("connection to %s accepted while down", addr)
	}
	chain.Pay(script(4), 700)
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("back on %s, want %s", srv.Addr(), addr)
	}
	r2 := dialRaw(t, srv)
	r2.hello("1.4")
	rep := r2.call(1, "blockchain.scripthash.get_balance", ScriptHashOf(script(4)))
	if string(rep.Result) != `{"confirmed":0,"unconfirmed":700}` {
		t.Fatalf("balance after Up = %s, want the payment made while down", rep.Result)
	}
}

// TestAfterReplyOrdersNotificationBehindReply: a chain change made by the
// AfterReply hook of a subscribe is notified after that subscribe's reply,
// which still carries the status from before the change — in single and
// in batch requests.
func TestAfterReplyOrdersNotificationBehindReply(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			chain := NewMemChain()
			srv := start(t, chain, Config{NoPadding: true})
			r := dialRaw(t, srv)
			r.hello("1.4")
			sh := ScriptHashOf(script(5))
			ran := make(chan struct{})
			srv.AfterReply("blockchain.scripthash.subscribe", func() {
				chain.Pay(script(5), 900)
				close(ran)
			})
			req := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"blockchain.scripthash.subscribe","params":[%q]}`, sh)
			if batch {
				req = "[" + req + "]"
			}
			r.send(req)
			first := strings.TrimSpace(r.read())
			if batch {
				first = strings.TrimSuffix(strings.TrimPrefix(first, "["), "]")
			}
			var rep reply
			if err := json.Unmarshal([]byte(first), &rep); err != nil || rep.ID == nil || string(rep.Result) != "null" {
				t.Fatalf("first line %q, want the subscribe reply with the old (null) status", first)
			}
			<-ran
			n := r.reply()
			if want := fmt.Sprintf(`[%q,%q]`, sh, chain.Snapshot().Status(sh)); n.Method != "blockchain.scripthash.subscribe" || string(n.Params) != want {
				t.Fatalf("second message %+v, want the notification %s", n, want)
			}
			// The hook is spent: the next subscribe changes nothing.
			before := chain.Snapshot().Status(sh)
			r.call(2, "blockchain.scripthash.subscribe", sh)
			if chain.Snapshot().Status(sh) != before {
				t.Fatal("AfterReply ran twice")
			}
		})
	}
}
