// Package indexertest runs a fake ElectrumSV simple-indexer for tests. The
// real one is a Python service over a regtest node that cannot run here, so
// this models its HTTP routes and its /ws push socket closely, with the same
// quirks (double-encoded JSON from output-spend/notifications, binary-only
// tip-filter bodies, 300 s..7 d durations, ISO dates without a zone) and the
// faults a proxy must survive: SetDown drops every connection and the
// websocket, SetStatus forces an error status on one path.
//
// Its data is real Bitcoin data: transactions are wire.MsgTx values, blocks
// get their true merkle root, and merkle proofs are computed from the block's
// transactions.
package indexertest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/peerchannels/indexer"
)

// Tip-filter duration limits of the simple indexer.
const (
	MinDuration = 5 * 60
	MaxDuration = 7 * 24 * 60 * 60
)

// Request is one HTTP request the fake received.
type Request struct {
	Method, Path      string
	Query             url.Values
	Accept            string
	ContentType       string
	Authorization     string
	Body              []byte
	ReceivedWhileDown bool
}

type proof struct {
	header wire.BlockHeader
	index  int
	nodes  []indexer.TSCNode
	rawTx  []byte
}

type filter struct {
	dateCreated uint32
	duration    uint32
}

// Server is a running fake simple-indexer.
type Server struct {
	// URL is the base URL to use as INDEXER_URL.
	URL string
	ts  *httptest.Server

	mu          sync.Mutex
	down        bool
	status      map[string]int
	txs         map[chainhash.Hash][]byte
	proofs      map[chainhash.Hash]proof
	spends      map[indexer.Outpoint]indexer.OutputSpend
	watched     map[indexer.Outpoint]bool
	filters     map[int64]map[[32]byte]filter
	restoration map[[32]byte][]indexer.RestorationMatch
	conns       map[*websocket.Conn]bool
	wsConnects  int
	requests    []Request
}

// New starts a fake simple-indexer and stops it when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		status: map[string]int{}, txs: map[chainhash.Hash][]byte{}, proofs: map[chainhash.Hash]proof{},
		spends: map[indexer.Outpoint]indexer.OutputSpend{}, watched: map[indexer.Outpoint]bool{},
		filters: map[int64]map[[32]byte]filter{}, restoration: map[[32]byte][]indexer.RestorationMatch{},
		conns: map[*websocket.Conn]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "true") })
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("POST /api/v1/restoration/search", s.restorationSearch)
	mux.HandleFunc("GET /api/v1/transaction/{txid}", s.transaction)
	mux.HandleFunc("GET /api/v1/merkle-proof/{txid}", s.merkleProof)
	mux.HandleFunc("POST /api/v1/output-spend", s.outputSpends)
	mux.HandleFunc("POST /api/v1/output-spend/notifications", s.register)
	mux.HandleFunc("POST /api/v1/output-spend/notifications:unregister", s.unregister)
	mux.HandleFunc("POST /api/v1/transaction/filter", s.addFilters)
	mux.HandleFunc("POST /api/v1/transaction/filter:delete", s.deleteFilters)
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		down, forced := s.down, s.status[r.URL.Path]
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			Accept: r.Header.Get("Accept"), ContentType: r.Header.Get("Content-Type"),
			Authorization: r.Header.Get("Authorization"), Body: body, ReceivedWhileDown: down})
		s.mu.Unlock()
		if down {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		if forced != 0 {
			http.Error(w, http.StatusText(forced), forced)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	s.URL = s.ts.URL
	t.Cleanup(func() {
		s.SetDown(true)
		s.ts.Close()
	})
	return s
}

// SetDown drops the websocket and every later request (true), or serves
// again (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	var conns []*websocket.Conn
	if down {
		for c := range s.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.CloseNow()
	}
}

// SetStatus makes requests to path answer status (0 restores the route).
func (s *Server) SetStatus(path string, status int) {
	s.mu.Lock()
	s.status[path] = status
	s.mu.Unlock()
}

// Requests returns the requests received for path, oldest first.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// WebsocketConnects counts accepted /ws connections.
func (s *Server) WebsocketConnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsConnects
}

// AddTransaction makes tx known to GET /transaction.
func (s *Server) AddTransaction(tx *wire.MsgTx) chainhash.Hash {
	var b bytes.Buffer
	_ = tx.Serialize(&b)
	h := tx.TxHash()
	s.mu.Lock()
	s.txs[h] = b.Bytes()
	s.mu.Unlock()
	return h
}

// AddBlock mines txs into a block on prev: it sets the header's true merkle
// root, records a merkle proof for every transaction, makes them known to
// GET /transaction and returns the header.
func (s *Server) AddBlock(prev wire.BlockHeader, txs []*wire.MsgTx) wire.BlockHeader {
	level := make([]chainhash.Hash, len(txs))
	for i, tx := range txs {
		level[i] = tx.TxHash()
		s.AddTransaction(tx)
	}
	branches := make([][]indexer.TSCNode, len(txs))
	positions := make([]int, len(txs))
	for i := range positions {
		positions[i] = i
	}
	for len(level) > 1 {
		for i, pos := range positions {
			sib := pos ^ 1
			if sib >= len(level) {
				branches[i] = append(branches[i], indexer.TSCNode{Duplicate: true})
			} else {
				branches[i] = append(branches[i], indexer.TSCNode{Hash: level[sib]})
			}
			positions[i] = pos / 2
		}
		next := make([]chainhash.Hash, 0, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			right := level[i]
			if i+1 < len(level) {
				right = level[i+1]
			}
			var buf [64]byte
			copy(buf[:32], level[i][:])
			copy(buf[32:], right[:])
			next = append(next, chainhash.DoubleHashH(buf[:]))
		}
		level = next
	}
	hdr := wire.BlockHeader{Version: 0x20000000, PrevBlock: prev.BlockHash(), MerkleRoot: level[0],
		Timestamp: prev.Timestamp.Add(time.Second), Bits: 0x207fffff}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, tx := range txs {
		var b bytes.Buffer
		_ = tx.Serialize(&b)
		s.proofs[tx.TxHash()] = proof{header: hdr, index: i, nodes: branches[i], rawTx: b.Bytes()}
	}
	return hdr
}

// AddRestorationMatch makes m a result of searching for its pushdata hash.
func (s *Server) AddRestorationMatch(m indexer.RestorationMatch) {
	s.mu.Lock()
	s.restoration[m.PushDataHash] = append(s.restoration[m.PushDataHash], m)
	s.mu.Unlock()
}

// Spend records sp and, when its outpoint is registered for notifications,
// pushes the 104-byte record to every /ws connection.
func (s *Server) Spend(sp indexer.OutputSpend) {
	s.mu.Lock()
	s.spends[sp.Outpoint()] = sp
	var conns []*websocket.Conn
	if s.watched[sp.Outpoint()] {
		for c := range s.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	frame := sp.AppendBinary(nil)
	for _, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Write(ctx, websocket.MessageBinary, frame)
		cancel()
	}
}

// PushRaw sends frame as-is to every /ws connection (to model a
// misbehaving indexer).
func (s *Server) PushRaw(typ websocket.MessageType, frame []byte) {
	s.mu.Lock()
	var conns []*websocket.Conn
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Write(ctx, typ, frame)
		cancel()
	}
}

// Watched reports whether op is registered for spend notifications.
func (s *Server) Watched(op indexer.Outpoint) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watched[op]
}

// Filters returns the account's registered pushdata hashes and durations.
func (s *Server) Filters(accountID int64) map[[32]byte]uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[[32]byte]uint32{}
	for h, f := range s.filters[accountID] {
		out[h] = f.duration
	}
	return out
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	s.mu.Lock()
	s.conns[c] = true
	s.wsConnects++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	ctx := c.CloseRead(r.Context())
	<-ctx.Done()
}

// accept returns the request's Accept with */* and absence mapped to def.
func accept(r *http.Request, def string) string {
	a := r.Header.Get("Accept")
	if a == "" || a == "*/*" {
		return def
	}
	return a
}

func reject(w http.ResponseWriter, reason string) {
	http.Error(w, reason, http.StatusBadRequest)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func writeBinary(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}

func (s *Server) restorationSearch(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		FilterKeys []string `json:"filterKeys"`
	}
	if len(body) == 0 || json.Unmarshal(body, &req) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var matches []indexer.RestorationMatch
	s.mu.Lock()
	for _, k := range req.FilterKeys {
		h, err := hex.DecodeString(k)
		if err != nil || len(h) != 32 {
			s.mu.Unlock()
			reject(w, "invalid filter key")
			return
		}
		matches = append(matches, s.restoration[[32]byte(h)]...)
	}
	s.mu.Unlock()
	if accept(r, "application/json") == "application/octet-stream" {
		var out []byte
		for _, m := range matches {
			out = m.AppendBinary(out)
		}
		writeBinary(w, append(out, 0))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	for _, m := range matches {
		line, _ := json.Marshal(map[string]any{
			"flags": m.Flags, "pushDataHashHex": hex.EncodeToString(m.PushDataHash[:]),
			"lockingTransactionId": m.LockingTxHash.String(), "lockingTransactionIndex": m.LockingIndex,
			"unlockingTransactionId": m.UnlockingTxHash.String(), "unlockingInputIndex": m.UnlockingIndex,
		})
		_, _ = w.Write(append(line, '\n'))
	}
	_, _ = io.WriteString(w, "{}")
}

func parseTxID(w http.ResponseWriter, r *http.Request) (chainhash.Hash, bool) {
	h, err := chainhash.NewHashFromStr(r.PathValue("txid"))
	if err != nil || len(r.PathValue("txid")) != 64 {
		reject(w, "invalid txid")
		return chainhash.Hash{}, false
	}
	return *h, true
}

func (s *Server) transaction(w http.ResponseWriter, r *http.Request) {
	h, ok := parseTxID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	raw, found := s.txs[h]
	s.mu.Unlock()
	if !found {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if accept(r, "application/json") == "application/octet-stream" {
		writeBinary(w, raw)
		return
	}
	writeJSON(w, hex.EncodeToString(raw))
}

func (s *Server) merkleProof(w http.ResponseWriter, r *http.Request) {
	h, ok := parseTxID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	p, found := s.proofs[h]
	s.mu.Unlock()
	if !found {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	full := r.URL.Query().Get("includeFullTx") == "1"
	target := r.URL.Query().Get("targetType")
	if target == "" {
		target = "hash"
	}
	tsc := indexer.TSCProof{Index: uint64(p.index), Nodes: p.nodes, TxOrID: h[:]}
	jsonTxOrID := h.String()
	if full {
		tsc.Flags |= indexer.TSCFullTx
		tsc.TxOrID = p.rawTx
		jsonTxOrID = hex.EncodeToString(p.rawTx)
	}
	var jsonTarget string
	switch target {
	case "hash":
		bh := p.header.BlockHash()
		tsc.Target, jsonTarget = bh[:], bh.String()
	case "header":
		var b bytes.Buffer
		_ = p.header.Serialize(&b)
		tsc.Flags |= indexer.TSCTargetHeader
		tsc.Target, jsonTarget = b.Bytes(), hex.EncodeToString(b.Bytes())
	case "merkleroot":
		tsc.Flags |= indexer.TSCTargetMerkleRoot
		tsc.Target, jsonTarget = p.header.MerkleRoot[:], p.header.MerkleRoot.String()
	default:
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if accept(r, "application/json") == "application/octet-stream" {
		b, err := tsc.MarshalBinary()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeBinary(w, b)
		return
	}
	nodes := make([]string, len(p.nodes))
	for i, n := range p.nodes {
		if n.Duplicate {
			nodes[i] = "*"
		} else {
			nodes[i] = n.Hash.String()
		}
	}
	writeJSON(w, map[string]any{"index": p.index, "txOrId": jsonTxOrID, "target": jsonTarget, "nodes": nodes})
}

// parseOutpoints reads a JSON [[txid, vout]] or (when binary) N×36 body.
func parseOutpoints(w http.ResponseWriter, r *http.Request, binaryOK bool) ([]indexer.Outpoint, bool) {
	body, _ := io.ReadAll(r.Body)
	if len(body) == 0 {
		reject(w, "no body")
		return nil, false
	}
	switch r.Header.Get("Content-Type") {
	case "application/json":
		var entries [][2]any
		if json.Unmarshal(body, &entries) != nil {
			reject(w, "one or more payload entries are incorrect")
			return nil, false
		}
		var out []indexer.Outpoint
		for _, e := range entries {
			txid, ok1 := e[0].(string)
			vout, ok2 := e[1].(float64)
			h, err := chainhash.NewHashFromStr(txid)
			if !ok1 || !ok2 || err != nil || vout < 0 || vout != float64(uint32(vout)) {
				reject(w, "one or more payload entries are incorrect")
				return nil, false
			}
			out = append(out, indexer.Outpoint{TxHash: *h, Index: uint32(vout)})
		}
		return out, true
	case "application/octet-stream":
		if !binaryOK {
			reject(w, "binary request body support not implemented yet")
			return nil, false
		}
		ops, err := indexer.ParseOutpoints(body)
		if err != nil {
			reject(w, "binary request body malformed")
			return nil, false
		}
		return ops, true
	default:
		reject(w, "unknown request body content type")
		return nil, false
	}
}

// spendsFor answers with the known spends of ops; JSON is encoded twice
// when double is set (the notifications route's quirk).
func (s *Server) spendsFor(w http.ResponseWriter, r *http.Request, ops []indexer.Outpoint, double bool) {
	s.mu.Lock()
	var found []indexer.OutputSpend
	for _, op := range ops {
		if sp, ok := s.spends[op]; ok {
			found = append(found, sp)
		}
	}
	s.mu.Unlock()
	if accept(r, "application/json") == "application/octet-stream" {
		var out []byte
		for _, sp := range found {
			out = sp.AppendBinary(out)
		}
		writeBinary(w, out)
		return
	}
	rows := make([][5]any, 0, len(found))
	for _, sp := range found {
		var block any
		if sp.BlockHash != (chainhash.Hash{}) {
			block = hex.EncodeToString(sp.BlockHash[:])
		}
		rows = append(rows, [5]any{sp.OutTxHash.String(), sp.OutIndex, sp.InTxHash.String(), sp.InIndex, block})
	}
	if double {
		inner, _ := json.Marshal(rows)
		writeJSON(w, string(inner))
		return
	}
	writeJSON(w, rows)
}

func (s *Server) outputSpends(w http.ResponseWriter, r *http.Request) {
	ops, ok := parseOutpoints(w, r, false)
	if ok {
		s.spendsFor(w, r, ops, false)
	}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	ops, ok := parseOutpoints(w, r, true)
	if !ok {
		return
	}
	s.mu.Lock()
	for _, op := range ops {
		s.watched[op] = true
	}
	s.mu.Unlock()
	s.spendsFor(w, r, ops, true)
}

func (s *Server) unregister(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "application/octet-stream" {
		reject(w, "unknown request body content type")
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) == 0 {
		reject(w, "no body")
		return
	}
	ops, err := indexer.ParseOutpoints(body)
	if err != nil {
		reject(w, "binary request body malformed")
		return
	}
	s.mu.Lock()
	if len(ops) == 1 && ops[0].IsZero() {
		s.watched = map[indexer.Outpoint]bool{}
	}
	for _, op := range ops {
		delete(s.watched, op)
	}
	s.mu.Unlock()
}

func queryInt(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	v, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	if err != nil {
		reject(w, fmt.Sprintf("`%s` is not a number", name))
		return 0, false
	}
	return v, true
}

func (s *Server) addFilters(w http.ResponseWriter, r *http.Request) {
	if accept(r, "application/json") != "application/json" {
		reject(w, "only json response body supported")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" && ct != "*/*" {
		reject(w, "only binary request body supported")
		return
	}
	account, ok := queryInt(w, r, "account_id")
	if !ok {
		return
	}
	created, ok := queryInt(w, r, "date_created")
	if !ok {
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) == 0 {
		reject(w, "no body")
		return
	}
	regs, err := indexer.ParseTipFilterRegistrations(body)
	if err != nil {
		reject(w, "binary request body malformed")
		return
	}
	for _, reg := range regs {
		if reg.DurationSecs < MinDuration || reg.DurationSecs > MaxDuration {
			reject(w, fmt.Sprintf("An entry has a duration of %d outside %d..%d", reg.DurationSecs, MinDuration, MaxDuration))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	have := s.filters[account]
	if have == nil {
		have = map[[32]byte]filter{}
		s.filters[account] = have
	}
	for _, reg := range regs {
		if _, dup := have[reg.PushDataHash]; dup {
			reject(w, "one or more hashes were already registered")
			return
		}
	}
	for _, reg := range regs {
		have[reg.PushDataHash] = filter{dateCreated: uint32(created), duration: reg.DurationSecs}
	}
	writeJSON(w, map[string]string{"dateCreated": time.Unix(created, 0).UTC().Format("2006-01-02T15:04:05")})
}

func (s *Server) deleteFilters(w http.ResponseWriter, r *http.Request) {
	if accept(r, "application/octet-stream") != "application/octet-stream" {
		reject(w, "only binary response body supported")
		return
	}
	if r.Header.Get("Content-Type") != "application/octet-stream" {
		reject(w, "only binary request body supported")
		return
	}
	account, ok := queryInt(w, r, "account_id")
	if !ok {
		return
	}
	body, _ := io.ReadAll(r.Body)
	hashes, err := indexer.ParsePushDataHashes(body)
	if err != nil || len(hashes) == 0 {
		reject(w, "binary request body malformed")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hashes {
		if _, ok := s.filters[account][h]; !ok {
			reject(w, "some pushdata hashes are not registered")
			return
		}
	}
	for _, h := range hashes {
		delete(s.filters[account], h)
	}
	w.WriteHeader(http.StatusOK)
}
