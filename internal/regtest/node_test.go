package regtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStartMinesMatureChain(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t)

	h, err := n.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h != 101 {
		t.Fatalf("height after start = %d, want 101", h)
	}
	var info struct {
		Chain  string `json:"chain"`
		Blocks int64  `json:"blocks"`
	}
	if err := n.CallInto(ctx, &info, "getblockchaininfo"); err != nil {
		t.Fatal(err)
	}
	if info.Chain != "regtest" || info.Blocks != 101 {
		t.Fatalf("getblockchaininfo = %+v, want regtest at 101", info)
	}
	// The first block pays the harness's mining address.
	hash, err := n.BlockHash(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var blk struct {
		RawTx []struct {
			Vout []struct {
				ScriptPubKey struct {
					Address string `json:"address"`
				} `json:"scriptPubKey"`
			} `json:"vout"`
		} `json:"rawtx"`
	}
	if err := n.CallInto(ctx, &blk, "getblock", hash, 2); err != nil {
		t.Fatal(err)
	}
	if len(blk.RawTx) == 0 || len(blk.RawTx[0].Vout) == 0 || blk.RawTx[0].Vout[0].ScriptPubKey.Address != n.MiningAddress() {
		t.Fatalf("block 1 coinbase does not pay the mining address %s: %+v", n.MiningAddress(), blk)
	}
}

func TestStartWithoutBlocks(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t, WithBlocks(0))
	h, err := n.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h != 0 {
		t.Fatalf("height = %d, want 0 (genesis only)", h)
	}
	// Nothing is mature, so funding must fail with a clear message.
	k := NewKey(t, P2WPKH)
	_, err = n.Fund(ctx, k.Script(), 10_000)
	if err == nil || !strings.Contains(err.Error(), "insufficient funds") || !strings.Contains(err.Error(), "mature") {
		t.Fatalf("Fund on an empty chain: err = %v, want insufficient funds naming maturity", err)
	}
	if _, err := n.Generate(ctx, 0); err == nil {
		t.Fatal("Generate(0) succeeded, want an error")
	}
	// The log tail shown on failure is btcd's own output.
	if tail := n.logTail(); !strings.Contains(tail, "RPC server listening on "+n.RPCHost()) {
		t.Fatalf("log tail lacks btcd's RPC start line:\n%s", tail)
	}
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t, WithBlocks(1))

	tests := []struct {
		name   string
		method string
		params []any
		code   int
	}{
		{"unknown method", "nosuchmethod", nil, CodeMethodNotFound},
		{"unknown block", "getblock", []any{strings.Repeat("00", 32), 1}, CodeBlockNotFound},
		{"height beyond tip", "getblockhash", []any{1000}, CodeOutOfRangeHeight},
		{"bad tx hex", "sendrawtransaction", []any{"zz"}, CodeDeserialization},
		{"unknown tx", "getrawtransaction", []any{strings.Repeat("11", 32), 1}, CodeNoTxInfo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.Call(ctx, tc.method, tc.params...)
			var rpcErr *walletgate.RPCError
			if !errors.As(err, &rpcErr) || rpcErr.Code != tc.code {
				t.Fatalf("%s: err = %v, want RPC error code %d", tc.method, err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.method) {
				t.Fatalf("error %q does not name the method %s", err, tc.method)
			}
		})
	}

	// Wrong credentials are refused with a message saying so.
	bad := &Node{opts: n.opts, user: n.user, pass: "wrong", client: n.client, rpcAddr: n.RPCHost()}
	if _, err := bad.Call(ctx, "getblockcount"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("call with a wrong password: err = %v, want HTTP 401", err)
	}
}

// TestURLs checks that the advertised endpoints and credentials work for a
// client that is not the harness: plain HTTP and btcd's websocket.
func TestURLs(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t, WithBlocks(1))

	u, err := url.Parse(n.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != n.RPCHost() || u.User.Username() != n.RPCUser() {
		t.Fatalf("RPCURL %s does not match host %s / user %s", n.RPCURL(), n.RPCHost(), n.RPCUser())
	}
	if p, _ := u.User.Password(); p != n.RPCPass() {
		t.Fatalf("RPCURL password %q, want %q", p, n.RPCPass())
	}
	pass, _ := u.User.Password()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+u.Host+u.Path,
		strings.NewReader(`{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}`))
	req.SetBasicAuth(u.User.Username(), pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Result int64 `json:"result"`
	}
	err = json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	if err != nil || reply.Result != 1 {
		t.Fatalf("getblockcount over RPCURL = %d (err %v), want 1", reply.Result, err)
	}

	// The websocket takes basic auth on the upgrade and pushes blocks.
	h := http.Header{}
	h.Set("Authorization", req.Header.Get("Authorization"))
	ws, _, err := websocket.Dial(ctx, n.WebsocketURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("dial %s: %v", n.WebsocketURL(), err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"1.0","id":1,"method":"notifyblocks","params":[]}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || !bytes.Contains(msg, []byte(`"id":1`)) {
		t.Fatalf("notifyblocks reply = %s (err %v)", msg, err)
	}
	hashes, err := n.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, msg, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(msg, []byte("blockconnected")) || !bytes.Contains(msg, []byte(hashes[0])) {
		t.Fatalf("websocket notification = %s, want blockconnected for %s", msg, hashes[0])
	}
}

func TestParallelNodesAreIndependent(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	a := Start(t, WithBlocks(1))
	b := Start(t, WithBlocks(1))
	if a.RPCHost() == b.RPCHost() {
		t.Fatalf("two nodes share RPC address %s", a.RPCHost())
	}
	if _, err := a.Generate(ctx, 5); err != nil {
		t.Fatal(err)
	}
	ha, err := a.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := b.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ha != 6 || hb != 1 {
		t.Fatalf("heights a=%d b=%d, want 6 and 1", ha, hb)
	}
}

func TestStopAndRestart(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	n := Start(t)
	k := NewKey(t, P2WPKH)
	op, err := n.Fund(ctx, k.Script(), 50_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Generate(ctx, 5); err != nil {
		t.Fatal(err)
	}
	host := n.RPCHost()

	if err := n.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if _, err := n.Height(ctx); err == nil {
		t.Fatal("RPC answered after Stop")
	}

	n.Restart(t)
	if n.RPCHost() != host {
		t.Fatalf("restart moved RPC from %s to %s", host, n.RPCHost())
	}
	h, err := n.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h != 101 {
		t.Fatalf("height after restart = %d, want 101 (regtest chain wiped, re-mined)", h)
	}
	if _, err := n.Confirmations(ctx, op.TxID); !IsRPCError(err, CodeNoTxInfo) {
		t.Fatalf("old funding tx after restart: err = %v, want unknown (code %d)", err, CodeNoTxInfo)
	}
	// The wallet forgot the old chain's coins and funds from the new one.
	op2, err := n.Fund(ctx, k.Script(), 50_000)
	if err != nil {
		t.Fatalf("fund after restart: %v", err)
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if c, err := n.Confirmations(ctx, op2.TxID); err != nil || c != 1 {
		t.Fatalf("confirmations after restart = %d (err %v), want 1", c, err)
	}
}
