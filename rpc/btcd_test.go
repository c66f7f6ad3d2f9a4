package rpc

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/internal/regtest"
)

// TestAgainstBtcd runs the typed methods against a real btcd regtest node,
// which exercises the quirks the client exists for: integer verbosity,
// "rawtx" in verbose blocks, the estimatefee and getinfo fallbacks, empty
// bodies and Connection: close.
func TestAgainstBtcd(t *testing.T) {
	node := regtest.Start(t)
	ctx := context.Background()
	c := newClient(t, Config{URL: node.RPCURL(), MaxConcurrent: 4})

	key := regtest.NewKey(t, regtest.P2WPKH)
	op, err := node.Fund(ctx, key.Script(), 50_000)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := c.RawMempool(ctx)
	if err != nil || len(mem) != 1 || mem[0] != op.TxID {
		t.Fatalf("RawMempool = %v, %v; want [%s]", mem, err, op.TxID)
	}
	hashes, err := node.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	height, err := c.BlockCount(ctx)
	if err != nil || height != 102 {
		t.Fatalf("BlockCount = %d, %v; want 102", height, err)
	}
	got, err := c.BlockHashes(ctx, 101, 2)
	if err != nil || got[1].String() != hashes[0] {
		t.Fatalf("BlockHashes(101, 2) = %v, %v; want last %s", got, err, hashes[0])
	}
	blk, err := c.Block(ctx, got[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(blk.Transactions) != 2 || blk.Transactions[1].TxHash().String() != op.TxID {
		t.Fatalf("block has %d txs; want coinbase + %s", len(blk.Transactions), op.TxID)
	}
	vb, err := c.BlockVerbose(ctx, got[1])
	if err != nil || len(vb.Tx) != 2 || vb.Height != 102 {
		t.Fatalf("BlockVerbose = %+v, %v; want 2 txs (btcd's rawtx) at 102", vb, err)
	}

	txs, err := c.Transactions(ctx, []string{op.TxID, strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		TxID          string `json:"txid"`
		Confirmations int64  `json:"confirmations"`
	}
	if err := json.Unmarshal(txs[0].Verbose, &v); err != nil || v.TxID != op.TxID || v.Confirmations != 1 {
		t.Fatalf("verbose tx = %s, %v; want txid %s with 1 confirmation", txs[0].Verbose, err, op.TxID)
	}
	if !IsRPCError(txs[1].Err, -5) {
		t.Fatalf("unknown tx error = %v; want btcd's -5", txs[1].Err)
	}
	raws, err := c.RawTransactions(ctx, []string{op.TxID})
	if err != nil || raws[0].Err != nil || raws[0].Tx.TxHash().String() != op.TxID {
		t.Fatalf("RawTransactions = %+v, %v", raws, err)
	}

	if _, err := c.SendRawTransaction(ctx, "zz"); !IsRPCError(err, -22) {
		t.Fatalf("bad hex broadcast: %v; want RPC -22", err)
	}
	if rate, err := c.EstimateFee(ctx, 6); err != nil || (rate != -1 && rate <= 0) {
		t.Fatalf("EstimateFee = %v, %v; want a rate or -1 via btcd's estimatefee", rate, err)
	}
	if ni, err := c.NetworkInfo(ctx); err != nil || ni.RelayFee <= 0 {
		t.Fatalf("NetworkInfo = %+v, %v; want getinfo's relay fee", ni, err)
	}

	bad := newClient(t, Config{URL: "http://" + node.RPCUser() + ":nope@" + node.RPCHost() + "/"})
	if _, err := bad.BlockCount(ctx); walletgate.ErrorCode(err) != walletgate.EUnauthorized {
		t.Fatalf("wrong password against btcd: %v; want EUnauthorized", err)
	}
}
