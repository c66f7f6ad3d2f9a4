package regtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/walletgate/walletgate"
)

// btcd's JSON-RPC error codes the harness and its users meet most.
const (
	CodeMethodNotFound   = -32601 // unknown method
	CodeInvalidParams    = -32602 // wrong parameter count or type
	CodeNoTxInfo         = -5     // no such transaction / address (also: unknown address in searchrawtransactions)
	CodeDeserialization  = -22    // sendrawtransaction: bad hex or transaction encoding
	CodeVerifyRejected   = -26    // sendrawtransaction: rejected by policy, or already in the mempool
	CodeAlreadyInChain   = -27    // sendrawtransaction: already in the chain
	CodeBlockNotFound    = -5     // getblock / invalidateblock: unknown hash
	CodeOutOfRangeHeight = -1     // getblockhash beyond the tip
)

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Call sends one JSON-RPC request and returns its result ("null" when the
// node answered null). A node-side error comes back as *walletgate.RPCError
// (wrapped; use errors.As), with btcd's code and message unchanged.
func (n *Node) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{} // btcd rejects "params": null
	}
	body, err := json.Marshal(rpcRequest{JSONRPC: "1.0", ID: n.reqID.Add(1), Method: method, Params: params})
	if err != nil {
		return nil, fmt.Errorf("regtest: encode %s params: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.RPCHost()+"/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("regtest: %s: %w", method, err)
	}
	req.SetBasicAuth(n.user, n.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("regtest: %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, n.opts.MaxReplyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("regtest: %s: read reply: %w", method, err)
	}
	if int64(len(raw)) > n.opts.MaxReplyBytes {
		return nil, fmt.Errorf("regtest: %s: reply larger than MaxReplyBytes (%d)", method, n.opts.MaxReplyBytes)
	}
	res, err := decodeReply(resp.StatusCode, raw)
	if err != nil {
		return nil, fmt.Errorf("regtest: %s: %w", method, err)
	}
	return res, nil
}

// decodeReply turns an HTTP status and body from btcd into a result or an
// error. It must hold up to any bytes, since it parses what a socket gave.
func decodeReply(status int, body []byte) (json.RawMessage, error) {
	if status == http.StatusUnauthorized {
		return nil, fmt.Errorf("unauthorized (HTTP 401): wrong RPC user or password")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("empty reply (HTTP %d)", status)
	}
	var r rpcReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("malformed reply (HTTP %d) %q: %w", status, clip(body, 200), err)
	}
	if r.Error != nil {
		return nil, &walletgate.RPCError{Code: r.Error.Code, Message: r.Error.Message}
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d without an error object: %q", status, clip(body, 200))
	}
	if len(r.Result) == 0 {
		return json.RawMessage("null"), nil
	}
	return r.Result, nil
}

func clip(b []byte, max int) string {
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// CallInto is Call that decodes the result into out.
func (n *Node) CallInto(ctx context.Context, out any, method string, params ...any) error {
	res, err := n.Call(ctx, method, params...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("regtest: decode %s result %q: %w", method, clip(res, 200), err)
	}
	return nil
}

// IsRPCError reports whether err carries a node error with the given code.
func IsRPCError(err error, code int) bool {
	var e *walletgate.RPCError
	return errors.As(err, &e) && e.Code == code
}

// Height is the height of the best chain's tip.
func (n *Node) Height(ctx context.Context) (int64, error) {
	var h int64
	err := n.CallInto(ctx, &h, "getblockcount")
	return h, err
}

// BlockHash is the hash of the best chain's block at height.
func (n *Node) BlockHash(ctx context.Context, height int64) (string, error) {
	var h string
	err := n.CallInto(ctx, &h, "getblockhash", height)
	return h, err
}

// Generate mines blocks (paying the mining key) and returns their hashes,
// oldest first. Mempool transactions go into the first block.
func (n *Node) Generate(ctx context.Context, blocks int) ([]string, error) {
	if blocks <= 0 {
		return nil, fmt.Errorf("regtest: generate %d blocks: count must be positive", blocks)
	}
	var hashes []string
	if err := n.CallInto(ctx, &hashes, "generate", blocks); err != nil {
		return nil, err
	}
	if len(hashes) != blocks {
		return nil, fmt.Errorf("regtest: generate %d blocks: node returned %d hashes", blocks, len(hashes))
	}
	return hashes, nil
}

// Confirmations is the number of blocks on top of (and including) the block
// holding txid in the best chain, or 0 while the transaction is in the
// mempool. An unknown txid gives an RPC error with code CodeNoTxInfo.
func (n *Node) Confirmations(ctx context.Context, txid string) (int64, error) {
	var tx struct {
		Confirmations int64 `json:"confirmations"`
	}
	err := n.CallInto(ctx, &tx, "getrawtransaction", txid, 1)
	return tx.Confirmations, err
}

// InvalidateBlock marks a block (and its descendants) invalid, so the node
// falls back to its parent; with Generate this makes a reorg.
func (n *Node) InvalidateBlock(ctx context.Context, hash string) error {
	_, err := n.Call(ctx, "invalidateblock", hash)
	return err
}

// ReconsiderBlock undoes InvalidateBlock; the node switches back if that
// chain has more work.
func (n *Node) ReconsiderBlock(ctx context.Context, hash string) error {
	_, err := n.Call(ctx, "reconsiderblock", hash)
	return err
}

// Reorg replaces the top depth blocks of the best chain by newBlocks fresh
// ones: it invalidates the block at height tip-depth+1 and mines. It
// returns the hashes that left the best chain (oldest first) and the new
// blocks. Transactions of the removed blocks go back to the mempool, so
// the first new block normally holds them again.
func (n *Node) Reorg(ctx context.Context, depth, newBlocks int) (removed, added []string, err error) {
	if depth <= 0 || newBlocks <= 0 {
		return nil, nil, fmt.Errorf("regtest: reorg depth %d with %d new blocks: both must be positive", depth, newBlocks)
	}
	tip, err := n.Height(ctx)
	if err != nil {
		return nil, nil, err
	}
	if int64(depth) > tip {
		return nil, nil, fmt.Errorf("regtest: reorg depth %d exceeds tip height %d", depth, tip)
	}
	for h := tip - int64(depth) + 1; h <= tip; h++ {
		hash, err := n.BlockHash(ctx, h)
		if err != nil {
			return nil, nil, err
		}
		removed = append(removed, hash)
	}
	if err := n.InvalidateBlock(ctx, removed[0]); err != nil {
		return nil, nil, err
	}
	added, err = n.Generate(ctx, newBlocks)
	if err != nil {
		return removed, nil, err
	}
	return removed, added, nil
}

// SendRaw broadcasts a serialized transaction and returns its txid as the
// node reports it.
func (n *Node) SendRaw(ctx context.Context, raw []byte) (string, error) {
	var txid string
	err := n.CallInto(ctx, &txid, "sendrawtransaction", hex.EncodeToString(raw))
	return txid, err
}

// Mempool lists the txids in the node's mempool.
func (n *Node) Mempool(ctx context.Context) ([]string, error) {
	var ids []string
	err := n.CallInto(ctx, &ids, "getrawmempool")
	return ids, err
}
