package electrum

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
)

// Client is a walletgate.Backend on ElectrumX: a pool of pipelining
// connections for requests and one subscriber connection for push.
type Client struct {
	cfg  Config
	coin string
	log  *slog.Logger
	addr string
	pool *pool
	sub  *subscriber
}

var _ walletgate.Backend = (*Client)(nil)

// New validates cfg (after Defaults) and starts the pool and the subscriber
// in the background; it does not wait for a connection, so it never blocks
// (ctx is only checked). Calls made before the first connection attempt
// ended wait for it (within their deadline); once an attempt failed, calls
// made while no connection is up fail at once with EUnavailable naming the
// server and the last error, while the client keeps reconnecting in the
// background. Events go to sink tagged with coin.
func New(ctx context.Context, cfg Config, coin string, sink walletgate.EventSink, log *slog.Logger) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("electrum: new client for %s: %w", coin, err)
	}
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, walletgate.WrapError(walletgate.EInvalid, err, "bad ElectrumX settings for %s", coin)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The caller's logger carries the coin already (each logger owns its
	// attributes once: JSON logs must not repeat a key).
	log = log.With("electrum", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	cl := &Client{cfg: cfg, coin: coin, log: log, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	poolHealth, subHealth := newHealth(), newHealth()
	sh := newShared(newReach(poolHealth, subHealth))
	cl.pool = newPool(&cl.cfg, sh, poolHealth, log)
	cl.sub = newSubscriber(&cl.cfg, sh, subHealth, coin, sink, log)
	return cl, nil
}

// Close stops the subscriber and the pool and closes their connections.
func (cl *Client) Close() error {
	cl.sub.close()
	cl.pool.close()
	return nil
}

// request is one method call of a run.
type request struct {
	method string
	params json.RawMessage
}

func params(args ...any) json.RawMessage {
	b, _ := json.Marshal(args)
	return b
}

// outcome of one request of a run.
type outcome struct {
	result json.RawMessage
	err    error
	resent bool // sent again after its connection was lost
}

// do sends reqs (in batch lines of at most MaxBatch) and returns one
// outcome per request. Retries: a request whose connection died before its
// reply is sent once more when retryLost (on whatever connection is alive);
// one answered -101/-102 is retried up to MaxRetries times after a jittered
// backoff, which also steers it to another connection (-101 closes the
// connection; -102 pauses its writer). The whole run shares ctx's deadline,
// capped by Timeout.
func (cl *Client) do(ctx context.Context, reqs []request, retryLost bool) []outcome {
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.Timeout)
	defer cancel()
	out := make([]outcome, len(reqs))
	lostTries := make([]int, len(reqs))
	busyTries := make([]int, len(reqs))
	todo := make([]int, len(reqs))
	for i := range todo {
		todo[i] = i
	}
	backoff := cl.cfg.BackoffMin
	var after time.Time // latest connection loss seen
	for len(todo) > 0 {
		calls := make([]*call, len(todo))
		for k, i := range todo {
			calls[k] = newCall(ctx, reqs[i].method, reqs[i].params)
		}
		var submitErr error
		for start := 0; start < len(calls); start += cl.cfg.MaxBatch {
			end := min(start+cl.cfg.MaxBatch, len(calls))
			if submitErr == nil {
				submitErr = cl.pool.submit(ctx, &job{ctx: ctx, calls: calls[start:end], after: after})
			}
			if submitErr != nil {
				for _, c := range calls[start:end] {
					c.finish(nil, submitErr)
				}
			}
		}
		var next []int
		sleep := false
		for k, i := range todo {
			err := calls[k].wait(ctx)
			switch {
			case err == nil:
				out[i] = outcome{result: calls[k].result, resent: lostTries[i] > 0}
			case errors.Is(err, errConnLost) && retryLost && lostTries[i] == 0:
				lostTries[i]++
				next = append(next, i)
				after = time.Now()
			case isBusy(err) && busyTries[i] < cl.cfg.MaxRetries:
				busyTries[i]++
				next = append(next, i)
				sleep = true
			case errors.Is(err, context.DeadlineExceeded):
				out[i] = outcome{err: cl.unavailable(reqs[i].method, err)}
			default:
				out[i] = outcome{err: cl.mapErr(reqs[i].method, err), resent: lostTries[i] > 0}
			}
		}
		if sleep {
			if !sleepCtx(ctx, jitter(backoff)) {
				for _, i := range next {
					out[i] = outcome{err: cl.mapErr(reqs[i].method, ctx.Err())}
				}
				break
			}
			backoff = nextBackoff(backoff, &cl.cfg)
		}
		todo = next
	}
	return out
}

// unavailable explains a call whose deadline passed: while no connection
// was up (it waited for the first one, or for a redial), or on a live one.
func (cl *Client) unavailable(method string, err error) error {
	if errors.Is(err, errClosed) {
		return walletgate.WrapError(walletgate.EUnavailable, err, "ElectrumX client for %s is closed", cl.coin)
	}
	if st := cl.pool.health.state(); st.live == 0 {
		if st.last == nil {
			return walletgate.WrapError(walletgate.EUnavailable, err, "no connection to ElectrumX %s for %s yet", cl.addr, method)
		}
		return walletgate.WrapError(walletgate.EUnavailable, errors.Join(err, st.last), "no connection to ElectrumX %s for %s: %s", cl.addr, method, causeText(st.last))
	}
	return cl.mapErr(method, err)
}

// mapErr keeps server errors (*walletgate.RPCError) verbatim and turns
// transport failures into EUnavailable or ETimeout.
func (cl *Client) mapErr(method string, err error) error {
	var re *walletgate.RPCError
	var we *walletgate.Error
	var down *downError
	switch {
	case errors.As(err, &re), errors.As(err, &we):
		return err
	case errors.As(err, &down):
		// Failed at once: the message is what a client sees (a 503 on
		// REST), so it names the server and why it cannot be reached.
		return walletgate.WrapError(walletgate.EUnavailable, err, "no connection to ElectrumX %s (reconnecting in the background): %s", cl.addr, causeText(down.last))
	case errors.Is(err, errClosed):
		return walletgate.WrapError(walletgate.EUnavailable, err, "ElectrumX client for %s is closed", cl.coin)
	case errors.Is(err, context.DeadlineExceeded):
		return walletgate.WrapError(walletgate.ETimeout, err, "ElectrumX %s did not answer %s in time", cl.addr, method)
	case errors.Is(err, context.Canceled):
		return walletgate.WrapError(walletgate.EUnavailable, err, "%s to ElectrumX %s canceled", method, cl.addr)
	case errors.Is(err, errConnLost):
		return walletgate.WrapError(walletgate.EUnavailable, err, "connection to ElectrumX %s lost during %s", cl.addr, method)
	default:
		return walletgate.WrapError(walletgate.EUnavailable, err, "ElectrumX %s failed %s", cl.addr, method)
	}
}

// call runs one request.
func (cl *Client) call(ctx context.Context, retryLost bool, method string, args ...any) (json.RawMessage, error) {
	o := cl.do(ctx, []request{{method: method, params: params(args...)}}, retryLost)[0]
	return o.result, o.err
}

func (cl *Client) decode(method string, raw json.RawMessage, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return walletgate.WrapError(walletgate.EBackend, err, "ElectrumX %s sent an unexpected %s reply", cl.addr, method)
	}
	return nil
}

// normScriptHash checks sh and lowercases it, the form ElectrumX uses in
// notifications (so subscriptions and events match whatever case came in).
func normScriptHash(sh walletgate.ScriptHash) (walletgate.ScriptHash, error) {
	if err := walletgate.CheckHash(string(sh)); err != nil {
		return "", walletgate.WrapError(walletgate.EInvalid, err, "%q is not a script hash (64 hex characters)", string(sh))
	}
	return walletgate.ScriptHash(strings.ToLower(string(sh))), nil
}

func checkTxid(txid string) error {
	if err := walletgate.CheckHash(txid); err != nil {
		return walletgate.WrapError(walletgate.EInvalid, err, "%q is not a transaction id (64 hex characters)", txid)
	}
	return nil
}

type tipJSON struct {
	Height int64  `json:"height"`
	Hex    string `json:"hex"`
}

// Tip returns the subscriber's tip while its connection is up — kept current
// by header notifications, so it is as fresh as a call — and otherwise asks
// blockchain.headers.subscribe on the pool. The service layer caches it.
func (cl *Client) Tip(ctx context.Context) (walletgate.Tip, error) {
	if t, ok := cl.sub.currentTip(); ok {
		return t, nil
	}
	raw, err := cl.call(ctx, true, "blockchain.headers.subscribe")
	if err != nil {
		return walletgate.Tip{}, err
	}
	var t tipJSON
	if err := cl.decode("blockchain.headers.subscribe", raw, &t); err != nil {
		return walletgate.Tip{}, err
	}
	return walletgate.Tip{Height: t.Height, Header: t.Hex}, nil
}

// Balance implements walletgate.Backend with blockchain.scripthash.get_balance.
func (cl *Client) Balance(ctx context.Context, sh walletgate.ScriptHash) (walletgate.Balance, error) {
	sh, err := normScriptHash(sh)
	if err != nil {
		return walletgate.Balance{}, err
	}
	raw, err := cl.call(ctx, true, "blockchain.scripthash.get_balance", sh)
	if err != nil {
		return walletgate.Balance{}, err
	}
	var b struct {
		Confirmed   int64 `json:"confirmed"`
		Unconfirmed int64 `json:"unconfirmed"`
	}
	if err := cl.decode("get_balance", raw, &b); err != nil {
		return walletgate.Balance{}, err
	}
	return walletgate.Balance{Confirmed: b.Confirmed, Unconfirmed: b.Unconfirmed}, nil
}

// History implements walletgate.Backend with blockchain.scripthash.get_history.
func (cl *Client) History(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.HistoryEntry, error) {
	sh, err := normScriptHash(sh)
	if err != nil {
		return nil, err
	}
	raw, err := cl.call(ctx, true, "blockchain.scripthash.get_history", sh)
	if err != nil {
		return nil, err
	}
	var items []struct {
		TxHash string `json:"tx_hash"`
		Height int64  `json:"height"`
		Fee    int64  `json:"fee"`
	}
	if err := cl.decode("get_history", raw, &items); err != nil {
		return nil, err
	}
	out := make([]walletgate.HistoryEntry, len(items))
	for i, it := range items {
		out[i] = walletgate.HistoryEntry{TxHash: it.TxHash, Height: it.Height, Fee: it.Fee}
	}
	return out, nil
}

// Unspent implements walletgate.Backend with blockchain.scripthash.listunspent.
func (cl *Client) Unspent(ctx context.Context, sh walletgate.ScriptHash) ([]walletgate.UTXO, error) {
	sh, err := normScriptHash(sh)
	if err != nil {
		return nil, err
	}
	raw, err := cl.call(ctx, true, "blockchain.scripthash.listunspent", sh)
	if err != nil {
		return nil, err
	}
	var items []struct {
		TxHash string `json:"tx_hash"`
		TxPos  uint32 `json:"tx_pos"`
		Height int64  `json:"height"`
		Value  int64  `json:"value"`
	}
	if err := cl.decode("listunspent", raw, &items); err != nil {
		return nil, err
	}
	out := make([]walletgate.UTXO, len(items))
	for i, it := range items {
		out[i] = walletgate.UTXO{TxHash: it.TxHash, TxPos: it.TxPos, Height: it.Height, Value: it.Value}
	}
	return out, nil
}

// Transactions implements walletgate.Backend: verbose
// blockchain.transaction.get for every txid, sent as batch lines of at most
// MaxBatch items (one round trip for up to MaxBatch txids). Per-item server
// errors stay per item; the error is non-nil only when no item got an
// answer from the server (all failed in transport).
func (cl *Client) Transactions(ctx context.Context, txids []string) ([]walletgate.TxResult, error) {
	for _, id := range txids {
		if err := checkTxid(id); err != nil {
			return nil, err
		}
	}
	if len(txids) == 0 {
		return nil, nil
	}
	reqs := make([]request, len(txids))
	for i, id := range txids {
		reqs[i] = request{method: "blockchain.transaction.get", params: params(id, true)}
	}
	outs := cl.do(ctx, reqs, true)
	res := make([]walletgate.TxResult, len(outs))
	answered := false
	var firstTransport error
	for i, o := range outs {
		var re *walletgate.RPCError
		switch {
		case o.err == nil:
			answered = true
			if !json.Valid(o.result) || bytes.Equal(bytes.TrimSpace(o.result), []byte("null")) {
				res[i].Err = walletgate.Errorf(walletgate.EBackend, "ElectrumX %s sent no verbose transaction for %s", cl.addr, txids[i])
				continue
			}
			res[i].Verbose = o.result
		case errors.As(o.err, &re):
			answered = true
			res[i].Err = o.err
		default:
			if firstTransport == nil {
				firstTransport = o.err
			}
			res[i].Err = o.err
		}
	}
	if !answered {
		return nil, firstTransport
	}
	return res, nil
}

// RawTransaction implements walletgate.Backend with blockchain.transaction.get.
func (cl *Client) RawTransaction(ctx context.Context, txid string) (string, error) {
	if err := checkTxid(txid); err != nil {
		return "", err
	}
	raw, err := cl.call(ctx, true, "blockchain.transaction.get", txid, false)
	if err != nil {
		return "", err
	}
	var s string
	if err := cl.decode("transaction.get", raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// alreadyKnown matches node rejections meaning "this transaction is already
// in the mempool or the chain" (Bitcoin Core and btcd wordings).
func alreadyKnown(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"txn-already-in-mempool", "txn-already-known", "already in block chain", "already have transaction", "transaction already exists"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// Broadcast implements walletgate.Backend with blockchain.transaction.broadcast.
//
// A broadcast whose connection died before the reply is sent once more:
// rebroadcasting is harmless in Electrum. If that second attempt is refused
// because the transaction is already in the mempool or chain, the first one
// got through, so Broadcast returns the txid (computed from rawHex) instead of
// the error. A first-attempt "already known" rejection is returned verbatim,
// since the caller may want to know it was a duplicate.
func (cl *Client) Broadcast(ctx context.Context, rawHex string) (string, error) {
	raw, err := hex.DecodeString(rawHex)
	if err != nil || len(raw) == 0 {
		return "", walletgate.Errorf(walletgate.EInvalid, "raw transaction is not hex (%d characters)", len(rawHex))
	}
	reqs := []request{{method: "blockchain.transaction.broadcast", params: params(rawHex)}}
	o := cl.do(ctx, reqs, true)[0]
	if o.err != nil {
		var re *walletgate.RPCError
		if o.resent && errors.As(o.err, &re) && alreadyKnown(re.Message) {
			var tx wire.MsgTx
			if err := tx.Deserialize(bytes.NewReader(raw)); err == nil {
				return tx.TxHash().String(), nil
			}
		}
		return "", o.err
	}
	var txid string
	if err := cl.decode("transaction.broadcast", o.result, &txid); err != nil {
		return "", err
	}
	return txid, nil
}

// Subscribe implements walletgate.Backend; see subscriber. Script hashes
// are lowercased, and events carry the lowercase form.
func (cl *Client) Subscribe(ctx context.Context, sh walletgate.ScriptHash) (string, error) {
	sh, err := normScriptHash(sh)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.Timeout)
	defer cancel()
	status, err := cl.sub.subscribe(ctx, sh)
	if err != nil {
		if _, up := cl.sub.currentTip(); !up && errors.Is(err, context.DeadlineExceeded) {
			return "", walletgate.WrapError(walletgate.EUnavailable, err, "no subscription connection to ElectrumX %s", cl.addr)
		}
		return "", cl.mapErr("blockchain.scripthash.subscribe", err)
	}
	return status, nil
}

// Unsubscribe implements walletgate.Backend; see subscriber.
func (cl *Client) Unsubscribe(ctx context.Context, sh walletgate.ScriptHash) error {
	sh, err := normScriptHash(sh)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.Timeout)
	defer cancel()
	cl.sub.unsubscribe(ctx, sh)
	return nil
}

// SubscriptionEpoch implements wallet.SubscriptionGuard: the epoch changes
// every time the subscriber connection drops, and live is true only while a
// connection is up and resynced (every subscription re-sent and its status
// compared, changes published). A value cached under one epoch may have
// missed a change notification once the epoch moved on. It takes no locks.
func (cl *Client) SubscriptionEpoch() (epoch uint64, live bool) { return cl.sub.epoch() }

// Stats is a snapshot of a client's connections, for metrics and health
// checks.
type Stats struct {
	PoolConnections int  // live request connections (of Config.PoolSize)
	SubscriberUp    bool // the push connection is up and resynced
	Subscriptions   int  // distinct script hashes subscribed on the server
}

// Stats returns the client's current state.
func (cl *Client) Stats() Stats {
	_, up := cl.sub.currentTip()
	return Stats{PoolConnections: int(cl.pool.live.Load()), SubscriberUp: up, Subscriptions: cl.sub.subscriptions()}
}
