package rpc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
)

// CodeMethodNotFound is the JSON-RPC code both Core and btcd use for an
// unknown method; the fallbacks key on it.
const CodeMethodNotFound = -32601

// missingMethod reports a node saying it lacks a method: -32601 from Core
// and for methods btcd never heard of, -1 "Command unimplemented" for ones
// btcd knows by name but does not do (getnetworkinfo).
func missingMethod(err error) bool {
	var re *walletgate.RPCError
	return errors.As(err, &re) && (re.Code == CodeMethodNotFound || (re.Code == -1 && re.Message == "Command unimplemented"))
}

// IsRPCError reports whether err is a node error with the given code.
func IsRPCError(err error, code int) bool {
	var re *walletgate.RPCError
	return errors.As(err, &re) && re.Code == code
}

// BlockCount returns the height of the node's best block.
func (c *Client) BlockCount(ctx context.Context) (int64, error) {
	var n int64
	err := c.CallInto(ctx, &n, "getblockcount")
	return n, err
}

// BlockHash returns the hash of the best-chain block at height.
func (c *Client) BlockHash(ctx context.Context, height int64) (chainhash.Hash, error) {
	var s string
	if err := c.CallInto(ctx, &s, "getblockhash", height); err != nil {
		return chainhash.Hash{}, err
	}
	return decodeHash("getblockhash", s)
}

// BlockHashes returns the hashes of heights from..from+count-1 in one
// batch.
func (c *Client) BlockHashes(ctx context.Context, from, count int64) ([]chainhash.Hash, error) {
	reqs := make([]Request, count)
	for i := range reqs {
		reqs[i] = Request{Method: "getblockhash", Params: []any{from + int64(i)}}
	}
	res, err := c.Batch(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]chainhash.Hash, len(res))
	for i, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("getblockhash %d: %w", from+int64(i), r.Err)
		}
		var s string
		if err := json.Unmarshal(r.Result, &s); err != nil {
			return nil, walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %v", ErrMalformed, err), "getblockhash %d result", from+int64(i))
		}
		if out[i], err = decodeHash("getblockhash", s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeHash(method, s string) (chainhash.Hash, error) {
	var h chainhash.Hash
	if err := walletgate.CheckHash(s); err != nil {
		return h, walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %w", ErrMalformed, err), "%s returned %q, not a 64-hex hash", method, clip([]byte(s), 80))
	}
	_ = chainhash.Decode(&h, s) // cannot fail after CheckHash
	return h, nil
}

// Block fetches a block by hash (getblock hash 0) and parses it.
func (c *Client) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	var s string
	if err := c.CallInto(ctx, &s, "getblock", hash.String(), 0); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %v", ErrMalformed, err), "block %s is not hex", hash)
	}
	var b wire.MsgBlock
	if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %v", ErrMalformed, err), "parse block %s", hash)
	}
	if got := b.BlockHash(); got != hash {
		return nil, walletgate.Errorf(walletgate.EBackend, "node returned block %s when asked for %s", got, hash)
	}
	return &b, nil
}

// VerboseBlock is getblock at verbosity 2 with the transactions under one
// name: btcd calls them "rawtx", Core "tx".
type VerboseBlock struct {
	Hash   string            `json:"hash"`
	Height int64             `json:"height"`
	Tx     []json.RawMessage `json:"tx"`
	RawTx  []json.RawMessage `json:"rawtx"`
}

// BlockVerbose fetches getblock hash 2 and moves btcd's rawtx into Tx.
func (c *Client) BlockVerbose(ctx context.Context, hash chainhash.Hash) (*VerboseBlock, error) {
	var b VerboseBlock
	if err := c.CallInto(ctx, &b, "getblock", hash.String(), 2); err != nil {
		return nil, err
	}
	if len(b.Tx) == 0 && len(b.RawTx) > 0 {
		b.Tx = b.RawTx
	}
	b.RawTx = nil
	return &b, nil
}

// RawTransaction returns a transaction's hex (getrawtransaction txid 0).
func (c *Client) RawTransaction(ctx context.Context, txid string) (string, error) {
	var s string
	err := c.CallInto(ctx, &s, "getrawtransaction", txid, 0)
	return s, err
}

// Transactions fetches verbose transactions (getrawtransaction txid 1) in
// one batch, returning each as the node wrote it.
func (c *Client) Transactions(ctx context.Context, txids []string) ([]walletgate.TxResult, error) {
	reqs := make([]Request, len(txids))
	for i, id := range txids {
		reqs[i] = Request{Method: "getrawtransaction", Params: []any{id, 1}}
	}
	res, err := c.Batch(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]walletgate.TxResult, len(res))
	for i, r := range res {
		out[i] = walletgate.TxResult{Verbose: r.Result, Err: r.Err}
	}
	return out, nil
}

// TxOrErr is one transaction of RawTransactions: Tx, or the node's error.
type TxOrErr struct {
	Tx  *wire.MsgTx
	Err error
}

// RawTransactions fetches and parses transactions in one batch.
func (c *Client) RawTransactions(ctx context.Context, txids []string) ([]TxOrErr, error) {
	reqs := make([]Request, len(txids))
	for i, id := range txids {
		reqs[i] = Request{Method: "getrawtransaction", Params: []any{id, 0}}
	}
	res, err := c.Batch(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]TxOrErr, len(res))
	for i, r := range res {
		if r.Err != nil {
			out[i].Err = r.Err
			continue
		}
		out[i].Tx, out[i].Err = parseTx(txids[i], r.Result)
	}
	return out, nil
}

func parseTx(txid string, result json.RawMessage) (*wire.MsgTx, error) {
	var s string
	if err := json.Unmarshal(result, &s); err != nil {
		return nil, walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %v", ErrMalformed, err), "getrawtransaction %s result", txid)
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %v", ErrMalformed, err), "transaction %s is not hex", txid)
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, walletgate.WrapError(walletgate.EBackend, fmt.Errorf("%w: %v", ErrMalformed, err), "parse transaction %s", txid)
	}
	return &tx, nil
}

// SendRawTransaction broadcasts a transaction and returns its txid.
func (c *Client) SendRawTransaction(ctx context.Context, rawHex string) (string, error) {
	var txid string
	err := c.CallInto(ctx, &txid, "sendrawtransaction", rawHex)
	return txid, err
}

// RawMempool lists the txids in the node's mempool.
func (c *Client) RawMempool(ctx context.Context) ([]string, error) {
	var ids []string
	err := c.CallInto(ctx, &ids, "getrawmempool")
	return ids, err
}

// EstimateFee returns a fee rate in coin/kB for confirmation within blocks,
// or -1 when the node has no estimate. It asks estimatesmartfee and falls
// back to estimatefee on nodes without it (btcd).
func (c *Client) EstimateFee(ctx context.Context, blocks int) (float64, error) {
	if !c.noSmartFee.Load() {
		var r struct {
			FeeRate *float64 `json:"feerate"`
		}
		err := c.CallInto(ctx, &r, "estimatesmartfee", blocks)
		switch {
		case err == nil:
			if r.FeeRate == nil || *r.FeeRate <= 0 {
				return -1, nil
			}
			return *r.FeeRate, nil
		case missingMethod(err):
			c.noSmartFee.Store(true)
		default:
			return 0, err
		}
	}
	var rate float64
	if err := c.CallInto(ctx, &rate, "estimatefee", blocks); err != nil {
		return 0, err
	}
	if rate <= 0 {
		return -1, nil
	}
	return rate, nil
}

// NetworkInfo is what callers need of getnetworkinfo (or btcd's getinfo).
type NetworkInfo struct {
	Version  int64   `json:"version"`
	RelayFee float64 `json:"relayfee"` // coin/kB
}

// NetworkInfo asks getnetworkinfo and falls back to getinfo on nodes
// without it (btcd).
func (c *Client) NetworkInfo(ctx context.Context) (NetworkInfo, error) {
	var ni NetworkInfo
	if !c.noNetworkInfo.Load() {
		err := c.CallInto(ctx, &ni, "getnetworkinfo")
		if err == nil || !missingMethod(err) {
			return ni, err
		}
		c.noNetworkInfo.Store(true)
	}
	err := c.CallInto(ctx, &ni, "getinfo")
	return ni, err
}
