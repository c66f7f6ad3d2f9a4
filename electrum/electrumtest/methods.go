package electrumtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/walletgate/walletgate"
)

type handler struct {
	minArgs, maxArgs int
	minVer, maxVer   string // available when minVer <= negotiated < maxVer ("" = unbounded)
	fn               func(s *session, args []json.RawMessage) (any, error)
}

// maxHeaders is ElectrumX's cap on blockchain.block.headers.
const maxHeaders = 2016

var handlers = map[string]handler{
	"server.version":                    {0, 2, "", "", (*session).negotiate},
	"server.ping":                       {0, 2, "", "", func(*session, []json.RawMessage) (any, error) { return nil, nil }},
	"server.features":                   {0, 0, "", "", (*session).features},
	"server.banner":                     {0, 0, "", "", func(*session, []json.RawMessage) (any, error) { return "electrumtest", nil }},
	"server.donation_address":           {0, 0, "", "", func(*session, []json.RawMessage) (any, error) { return "", nil }},
	"blockchain.headers.subscribe":      {0, 0, "", "", (*session).headersSubscribe},
	"blockchain.scripthash.get_balance": {1, 1, "", "1.7", (*session).getBalance},
	"blockchain.scripthash.get_history": {1, 1, "", "1.7", (*session).getHistory},
	"blockchain.scripthash.get_mempool": {1, 1, "", "1.7", (*session).getMempool},
	"blockchain.scripthash.listunspent": {1, 1, "", "1.7", (*session).listUnspent},
	"blockchain.scripthash.subscribe":   {1, 1, "", "1.7", (*session).subscribe},
	"blockchain.scripthash.unsubscribe": {1, 1, "1.4.2", "1.7", (*session).unsubscribe},
	"blockchain.transaction.get":        {1, 2, "", "", (*session).txGet},
	"blockchain.transaction.broadcast":  {1, 1, "", "", (*session).broadcast},
	"blockchain.transaction.get_merkle": {2, 2, "", "", (*session).getMerkle},
	"blockchain.block.header":           {1, 2, "", "", (*session).blockHeader},
	"blockchain.block.headers":          {2, 3, "", "", (*session).blockHeaders},
	"blockchain.estimatefee":            {1, 2, "", "", (*session).estimateFee},
	"blockchain.relayfee":               {0, 0, "", "1.6", (*session).relayFee},
	"mempool.get_fee_histogram":         {0, 0, "", "", (*session).feeHistogram},
}

func badRequest(format string, args ...any) error {
	return &RPCError{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// dispatch runs one request and returns its encoded reply (nil for a
// notification or a dropped connection) and whether to disconnect after it.
func (s *session) dispatch(req *request) ([]byte, bool) {
	srv := s.srv
	srv.countRequest(req.Method)
	if srv.dropAfter.Load() > 0 && srv.dropAfter.Add(-1) == 0 {
		s.close()
		return nil, false
	}
	isNotification := len(req.ID) == 0
	if req.Method != "server.version" {
		switch code := srv.takeInjected(req.Method); code {
		case 0:
		case CodeExcessive:
			return errorReply(req.ID, code, "excessive resource usage"), true
		case CodeBusy:
			return errorReply(req.ID, code, "server busy - request timed out"), false
		default:
			return errorReply(req.ID, code, "injected error"), false
		}
	}
	result, err := s.call(req)
	if isNotification {
		return nil, false
	}
	if err != nil {
		var re *RPCError
		if !errors.As(err, &re) {
			re = &RPCError{Code: CodeInternal, Message: "internal server error"}
		}
		fatal := req.Method == "server.version" && re.Code == CodeBadRequest && strings.HasPrefix(re.Message, "unsupported protocol version")
		return errorReply(req.ID, re.Code, re.Message), fatal
	}
	raw, merr := json.Marshal(result)
	if merr != nil {
		return errorReply(req.ID, CodeInternal, "internal server error"), false
	}
	if len(raw) > srv.cfg.MaxSend {
		return errorReply(req.ID, CodeInvalidRequest, fmt.Sprintf("response too large (over %d bytes", srv.cfg.MaxSend)), false
	}
	return resultReply(req.ID, raw), false
}

func (s *session) call(req *request) (any, error) {
	h, ok := handlers[req.Method]
	s.mu.Lock()
	ver := s.version
	s.mu.Unlock()
	if ok && req.Method != "server.version" {
		if (h.minVer != "" && versionLess(ver, h.minVer)) || (h.maxVer != "" && !versionLess(ver, h.maxVer)) {
			ok = false
		}
	}
	if !ok {
		return nil, &RPCError{Code: CodeMethodNotFound, Message: fmt.Sprintf("unknown method %q", req.Method)}
	}
	var args []json.RawMessage
	p := strings.TrimSpace(string(req.Params))
	if p != "" && p != "null" {
		if err := json.Unmarshal(req.Params, &args); err != nil {
			return nil, &RPCError{Code: CodeInvalidParams, Message: "invalid parameters: expected an array"}
		}
	}
	if len(args) < h.minArgs {
		return nil, &RPCError{Code: CodeInvalidParams, Message: fmt.Sprintf("too few arguments to %s: %d (need %d)", req.Method, len(args), h.minArgs)}
	}
	if len(args) > h.maxArgs && !(req.Method == "server.version" && !versionLess(ver, "1.6")) {
		return nil, &RPCError{Code: CodeInvalidParams, Message: fmt.Sprintf("too many arguments to %s: %d (at most %d)", req.Method, len(args), h.maxArgs)}
	}
	return h.fn(s, args)
}

// parseVersion splits "1.4.2" into numbers; ok is false for malformed text.
func parseVersion(v string) ([]int, bool) {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return nil, false
	}
	out := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || i >= 3 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func versionLess(a, b string) bool {
	va, _ := parseVersion(a)
	vb, _ := parseVersion(b)
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(va) {
			x = va[i]
		}
		if i < len(vb) {
			y = vb[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func (s *session) negotiate(args []json.RawMessage) (any, error) {
	s.mu.Lock()
	done := s.version != ""
	s.mu.Unlock()
	if done {
		return nil, badRequest("server.version already sent")
	}
	cfg := s.srv.cfg
	cmin, cmax := cfg.ProtocolMin, cfg.ProtocolMin
	if len(args) > 1 {
		var one string
		var pair []string
		switch {
		case json.Unmarshal(args[1], &one) == nil:
			cmin, cmax = one, one
		case json.Unmarshal(args[1], &pair) == nil && len(pair) == 2:
			cmin, cmax = pair[0], pair[1]
		default:
			return nil, badRequest("unsupported protocol version: %s", args[1])
		}
	}
	_, ok1 := parseVersion(cmin)
	_, ok2 := parseVersion(cmax)
	if !ok1 || !ok2 {
		return nil, badRequest("unsupported protocol version: %s", cmax)
	}
	neg := cmax
	if versionLess(cfg.ProtocolMax, neg) {
		neg = cfg.ProtocolMax
	}
	floor := cmin
	if versionLess(floor, cfg.ProtocolMin) {
		floor = cfg.ProtocolMin
	}
	if versionLess(neg, floor) {
		return nil, badRequest("unsupported protocol version: %s", cmax)
	}
	s.mu.Lock()
	s.version = neg
	s.mu.Unlock()
	return []string{cfg.ServerVersion, neg}, nil
}

func (s *session) features([]json.RawMessage) (any, error) {
	idx := s.srv.state.Snapshot()
	genesis := ""
	if b, ok := idx.Block(0); ok {
		genesis = b.Header.BlockHash().String()
	}
	return map[string]any{
		"hosts": map[string]any{}, "genesis_hash": genesis, "hash_function": "sha256",
		"server_version": s.srv.cfg.ServerVersion, "protocol_min": s.srv.cfg.ProtocolMin,
		"protocol_max": s.srv.cfg.ProtocolMax, "pruning": nil, "services": []string{},
	}, nil
}

func (s *session) headersSubscribe([]json.RawMessage) (any, error) {
	idx := s.srv.state.Snapshot()
	hdr, _ := idx.HeaderHex(idx.Height())
	s.mu.Lock()
	s.headers = true
	s.tipHeight = idx.Height()
	s.mu.Unlock()
	return map[string]any{"height": idx.Height(), "hex": hdr}, nil
}

func scriptHashArg(raw json.RawMessage) (string, error) {
	return hashArg(raw, "%s is not a valid script hash")
}

func txHashArg(raw json.RawMessage) (string, error) {
	return hashArg(raw, "%s should be a transaction hash")
}

// hashArg reads a 64-hex-digit hash argument and lowercases it. The error
// (ElectrumX's text, format) shows the decoded string when only its
// characters are wrong, else the raw argument unquoted.
func hashArg(raw json.RawMessage, format string) (string, error) {
	var h string
	err := json.Unmarshal(raw, &h)
	if err == nil {
		err = walletgate.CheckHash(h)
	}
	if err != nil {
		var he *walletgate.HashError
		if errors.As(err, &he) && he.Pos >= 0 {
			return "", badRequest(format, h)
		}
		return "", badRequest(format, strings.Trim(string(raw), `"`))
	}
	return strings.ToLower(h), nil
}

func nonNegArg(raw json.RawMessage) (int64, error) {
	var n int64
	if json.Unmarshal(raw, &n) != nil || n < 0 {
		return 0, badRequest("%s should be a non-negative integer", raw)
	}
	return n, nil
}

func (s *session) historyLimit() int { return (s.srv.cfg.MaxSend - 100) / 99 }

func (s *session) getBalance(args []json.RawMessage) (any, error) {
	sh, err := scriptHashArg(args[0])
	if err != nil {
		return nil, err
	}
	c, u := s.srv.state.Snapshot().Balance(sh)
	return map[string]int64{"confirmed": c, "unconfirmed": u}, nil
}

func historyJSON(items []HistoryItem, withFee bool) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m := map[string]any{"tx_hash": it.TxHash, "height": it.Height}
		if withFee || it.Height <= 0 {
			m["fee"] = it.Fee
		}
		out = append(out, m)
	}
	return out
}

func (s *session) getHistory(args []json.RawMessage) (any, error) {
	sh, err := scriptHashArg(args[0])
	if err != nil {
		return nil, err
	}
	h := s.srv.state.Snapshot().History(sh)
	if len(h) > s.historyLimit() {
		return nil, &RPCError{Code: CodeHistoryTooBig, Message: "history too large"}
	}
	return historyJSON(h, false), nil
}

func (s *session) getMempool(args []json.RawMessage) (any, error) {
	sh, err := scriptHashArg(args[0])
	if err != nil {
		return nil, err
	}
	return historyJSON(s.srv.state.Snapshot().Mempool(sh), true), nil
}

func (s *session) listUnspent(args []json.RawMessage) (any, error) {
	sh, err := scriptHashArg(args[0])
	if err != nil {
		return nil, err
	}
	us := s.srv.state.Snapshot().Unspent(sh)
	out := make([]map[string]any, 0, len(us))
	for _, u := range us {
		out = append(out, map[string]any{"tx_hash": u.TxHash, "tx_pos": u.TxPos, "height": u.Height, "value": u.Value})
	}
	return out, nil
}

func (s *session) subscribe(args []json.RawMessage) (any, error) {
	sh, err := scriptHashArg(args[0])
	if err != nil {
		return nil, err
	}
	// Register before reading the snapshot: a change published meanwhile
	// is then notified (notify sees a status that differs from
	// statusPending) instead of falling between the read and the record,
	// which would leave the client with a stale status and no notification.
	s.mu.Lock()
	prev, had := s.subs[sh]
	s.subs[sh] = statusPending
	s.mu.Unlock()
	idx := s.srv.state.Snapshot()
	if len(idx.History(sh)) > s.historyLimit() {
		s.mu.Lock()
		if s.subs[sh] == statusPending {
			if had {
				s.subs[sh] = prev
			} else {
				delete(s.subs, sh)
			}
		}
		s.mu.Unlock()
		return nil, &RPCError{Code: CodeHistoryTooBig, Message: "history too large"}
	}
	st := idx.Status(sh)
	s.mu.Lock()
	if cur := s.subs[sh]; cur == statusPending {
		s.subs[sh] = st
	} else if _, ok := s.subs[sh]; ok {
		st = cur // notified meanwhile with a newer status: answer that one
	}
	s.mu.Unlock()
	return nullable(st), nil
}

// statusPending marks a subscription whose status is being read. It is
// no status (those are "" or 64 hex digits), so any notify differs from it.
const statusPending = "pending"

func (s *session) unsubscribe(args []json.RawMessage) (any, error) {
	sh, err := scriptHashArg(args[0])
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	_, had := s.subs[sh]
	delete(s.subs, sh)
	s.mu.Unlock()
	return had, nil
}

func (s *session) txGet(args []json.RawMessage) (any, error) {
	txid, err := txHashArg(args[0])
	if err != nil {
		return nil, err
	}
	verbose := false
	if len(args) > 1 && json.Unmarshal(args[1], &verbose) != nil {
		return nil, badRequest(`"verbose" must be a boolean`)
	}
	if verbose {
		return s.srv.state.VerboseTx(s.ctx, txid)
	}
	return s.srv.state.RawTx(s.ctx, txid)
}

func (s *session) broadcast(args []json.RawMessage) (any, error) {
	var raw string
	if json.Unmarshal(args[0], &raw) != nil {
		return nil, badRequest("raw_tx should be a string")
	}
	return s.srv.state.Broadcast(s.ctx, raw)
}

func (s *session) getMerkle(args []json.RawMessage) (any, error) {
	txid, err := txHashArg(args[0])
	if err != nil {
		return nil, err
	}
	height, err := nonNegArg(args[1])
	if err != nil {
		return nil, err
	}
	b, ok := s.srv.state.Snapshot().Block(height)
	if !ok {
		return nil, badRequest("height %d out of range", height)
	}
	ids := make([]chainhash.Hash, len(b.Txs))
	pos := -1
	for i, tx := range b.Txs {
		ids[i] = tx.TxHash()
		if ids[i].String() == txid {
			pos = i
		}
	}
	if pos < 0 {
		return nil, badRequest("tx %s not in block at height %d", txid, height)
	}
	_, branch := merkleBranch(ids, pos)
	merkle := make([]string, len(branch))
	for i, h := range branch {
		merkle[i] = h.String()
	}
	return map[string]any{"block_height": height, "merkle": merkle, "pos": pos}, nil
}

// headerProof proves header height against the root of headers 0..cp.
func headerProof(idx *Index, height, cp int64) (map[string]any, error) {
	if cp < height || cp > idx.Height() {
		return nil, badRequest("header height %d must be <= cp_height %d which must be <= chain height %d", height, cp, idx.Height())
	}
	hashes := make([]chainhash.Hash, cp+1)
	for h := int64(0); h <= cp; h++ {
		b, _ := idx.Block(h)
		hashes[h] = b.Header.BlockHash()
	}
	root, branch := merkleBranch(hashes, int(height))
	out := make([]string, len(branch))
	for i, h := range branch {
		out[i] = h.String()
	}
	return map[string]any{"branch": out, "root": root.String()}, nil
}

func (s *session) blockHeader(args []json.RawMessage) (any, error) {
	height, err := nonNegArg(args[0])
	if err != nil {
		return nil, err
	}
	var cp int64
	if len(args) > 1 {
		if cp, err = nonNegArg(args[1]); err != nil {
			return nil, err
		}
	}
	idx := s.srv.state.Snapshot()
	hdr, ok := idx.HeaderHex(height)
	if !ok {
		return nil, badRequest("height %d out of range", height)
	}
	if cp == 0 {
		return hdr, nil
	}
	proof, err := headerProof(idx, height, cp)
	if err != nil {
		return nil, err
	}
	proof["header"] = hdr
	return proof, nil
}

func (s *session) blockHeaders(args []json.RawMessage) (any, error) {
	start, err := nonNegArg(args[0])
	if err != nil {
		return nil, err
	}
	count, err := nonNegArg(args[1])
	if err != nil {
		return nil, err
	}
	var cp int64
	if len(args) > 2 {
		if cp, err = nonNegArg(args[2]); err != nil {
			return nil, err
		}
	}
	idx := s.srv.state.Snapshot()
	count = min(count, maxHeaders)
	var hdrs []string
	for h := start; h < start+count; h++ {
		hx, ok := idx.HeaderHex(h)
		if !ok {
			break
		}
		hdrs = append(hdrs, hx)
	}
	out := map[string]any{"count": len(hdrs), "max": maxHeaders}
	s.mu.Lock()
	ver := s.version
	s.mu.Unlock()
	if versionLess(ver, "1.6") {
		out["hex"] = strings.Join(hdrs, "")
	} else {
		if hdrs == nil {
			hdrs = []string{}
		}
		out["headers"] = hdrs
	}
	if cp != 0 && len(hdrs) > 0 {
		proof, err := headerProof(idx, start+int64(len(hdrs))-1, cp)
		if err != nil {
			return nil, err
		}
		out["branch"], out["root"] = proof["branch"], proof["root"]
	}
	return out, nil
}

func (s *session) estimateFee(args []json.RawMessage) (any, error) {
	n, err := nonNegArg(args[0])
	if err != nil {
		return nil, err
	}
	if len(args) > 1 {
		var mode *string
		if json.Unmarshal(args[1], &mode) != nil || (mode != nil && *mode != "CONSERVATIVE" && *mode != "ECONOMICAL") {
			return nil, badRequest("unknown estimatefee mode: %s", args[1])
		}
	}
	return s.srv.state.EstimateFee(s.ctx, int(n))
}

func (s *session) relayFee([]json.RawMessage) (any, error) { return s.srv.state.RelayFee(s.ctx) }

// feeHistogram bins the mempool by fee rate, descending, each bin about
// 100 kvB like ElectrumX's compact histogram.
func (s *session) feeHistogram([]json.RawMessage) (any, error) {
	idx := s.srv.state.Snapshot()
	type rated struct {
		rate  float64
		vsize int64
	}
	var rs []rated
	for _, tx := range idx.MempoolTxs() {
		vsize := int64((tx.SerializeSizeStripped()*3 + tx.SerializeSize() + 3) / 4)
		fee := int64(0)
		for _, sh := range txScriptHashes(tx) {
			for _, m := range idx.Mempool(sh) {
				if m.TxHash == tx.TxHash().String() {
					fee = m.Fee
				}
			}
		}
		rs = append(rs, rated{float64(fee) / float64(vsize), vsize})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].rate > rs[j].rate })
	out := [][2]float64{}
	var acc int64
	for i, r := range rs {
		acc += r.vsize
		if acc >= 100_000 || i == len(rs)-1 {
			out = append(out, [2]float64{r.rate, float64(acc)})
			acc = 0
		}
	}
	return out, nil
}
