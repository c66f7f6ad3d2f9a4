// Package headersvtest runs a fake HeaderSV v2 server for tests. The real
// HeaderSV is a Java service that cannot run here, so this models its chain
// API closely: Accept-driven binary or JSON headers, 204 for an unknown hash,
// byHeight with a 2000 count limit (400 above), and /chain/tips listing the
// LONGEST_CHAIN tip and any STALE forks. Its headers are real Bitcoin
// headers: either copied from a real regtest node with Append, or mined
// in-process on top of the regtest genesis block with Mine.
//
// SetDown makes the server drop every connection without answering, as a
// crashed or restarting HeaderSV does, so callers see a transport error.
package headersvtest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate/peerchannels/headers"
)

// MaxCount is HeaderSV's byHeight count limit.
const MaxCount = 2000

type entry struct {
	hdr       wire.BlockHeader
	height    int
	txCount   int64
	chainWork *big.Int
}

// Server is a running fake HeaderSV.
type Server struct {
	// URL is the base URL to use as HEADER_SV_URL.
	URL string
	ts  *httptest.Server

	mu      sync.Mutex
	chain   []entry // best chain, index = height
	byHash  map[chainhash.Hash]entry
	stale   []entry // tips of stale forks
	down    bool
	status  int  // when non-zero, every request gets this status
	corrupt bool // JSON headers carry a wrong nonce
	hits    map[string]int
}

// New starts a fake HeaderSV holding only the regtest genesis block and
// stops it when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{byHash: map[chainhash.Hash]entry{}, hits: map[string]int{}}
	g := chaincfg.RegressionNetParams.GenesisBlock.Header
	e := entry{hdr: g, height: 0, txCount: 1, chainWork: blockchain.CalcWork(g.Bits)}
	s.chain = append(s.chain, e)
	s.byHash[g.BlockHash()] = e
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/chain/header/byHeight", s.byHeight)
	mux.HandleFunc("GET /api/v1/chain/header/{hash}", s.header)
	mux.HandleFunc("GET /api/v1/chain/tips", s.tips)
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down, status := s.down, s.status
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		if down {
			hang(w)
			return
		}
		if status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	s.URL = s.ts.URL
	t.Cleanup(s.ts.Close)
	return s
}

// hang drops the connection without a response, like a dead upstream.
func hang(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("headersvtest: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// Close stops the server; later requests fail with "connection refused".
func (s *Server) Close() { s.ts.Close() }

// SetDown makes every request fail at the transport level (true) or work
// again (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// SetStatus makes every request answer status with a short text body, as
// HeaderSV does on an internal error (0 restores normal answers).
func (s *Server) SetStatus(status int) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

// SetCorrupt makes JSON headers carry a nonce off by one (a buggy or
// tampered upstream); binary headers stay correct.
func (s *Server) SetCorrupt(corrupt bool) {
	s.mu.Lock()
	s.corrupt = corrupt
	s.mu.Unlock()
}

// Hits reports how many requests reached path.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// Append extends the best chain with real headers (for example from a
// regtest node's getblockheader). Each must build on the current tip.
func (s *Server) Append(hdrs ...wire.BlockHeader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hdrs {
		if err := s.appendLocked(h); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) appendLocked(h wire.BlockHeader) error {
	tip := s.chain[len(s.chain)-1]
	if h.PrevBlock != tip.hdr.BlockHash() {
		return fmt.Errorf("headersvtest: header %s does not build on tip %s", h.BlockHash(), tip.hdr.BlockHash())
	}
	e := entry{hdr: h, height: tip.height + 1, txCount: 1,
		chainWork: new(big.Int).Add(tip.chainWork, blockchain.CalcWork(h.Bits))}
	s.chain = append(s.chain, e)
	s.byHash[h.BlockHash()] = e
	return nil
}

// Mine builds n regtest headers on the tip, solving the (trivial) regtest
// proof of work in process, appends them and returns them.
func (s *Server) Mine(n int) []wire.BlockHeader {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]wire.BlockHeader, 0, n)
	for range n {
		h := mineOn(s.chain[len(s.chain)-1].hdr)
		_ = s.appendLocked(h) // h builds on the tip by construction
		out = append(out, h)
	}
	return out
}

// Fork mines one header on top of the best-chain block at height-1 and
// records it as a STALE tip at height.
func (s *Server) Fork(height int) wire.BlockHeader {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := s.chain[height-1]
	h := mineOn(parent.hdr) // a fresh random merkle root makes it differ from its sibling
	e := entry{hdr: h, height: height, txCount: 1,
		chainWork: new(big.Int).Add(parent.chainWork, blockchain.CalcWork(h.Bits))}
	s.byHash[h.BlockHash()] = e
	s.stale = append(s.stale, e)
	return h
}

func mineOn(prev wire.BlockHeader) wire.BlockHeader {
	var root chainhash.Hash
	_, _ = rand.Read(root[:])
	h := wire.BlockHeader{
		Version:    0x20000000,
		PrevBlock:  prev.BlockHash(),
		MerkleRoot: root,
		Timestamp:  prev.Timestamp.Add(time.Second),
		Bits:       chaincfg.RegressionNetParams.PowLimitBits,
	}
	return solve(h)
}

func solve(h wire.BlockHeader) wire.BlockHeader {
	target := blockchain.CompactToBig(h.Bits)
	for h.Nonce = 0; ; h.Nonce++ {
		hash := h.BlockHash()
		if blockchain.HashToBig(&hash).Cmp(target) <= 0 {
			return h
		}
	}
}

// Height is the best chain's height.
func (s *Server) Height() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chain) - 1
}

// HeaderAt returns the best-chain header at height.
func (s *Server) HeaderAt(height int) wire.BlockHeader {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chain[height].hdr
}

// HashAt returns the hash of the best-chain block at height.
func (s *Server) HashAt(height int) chainhash.Hash {
	h := s.HeaderAt(height)
	return h.BlockHash()
}

func (e entry) json(corrupt bool) headers.Header {
	h := headers.HeaderFromWire(e.hdr, e.txCount, blockchain.CalcWork(e.hdr.Bits).String())
	if corrupt {
		h.Nonce++
	}
	return h
}

func wantsBinary(r *http.Request) bool {
	return r.Header.Get("Accept") == "application/octet-stream"
}

func raw(h wire.BlockHeader) []byte {
	var b bytes.Buffer
	_ = h.Serialize(&b)
	return b.Bytes()
}

func (s *Server) header(w http.ResponseWriter, r *http.Request) {
	hash, err := chainhash.NewHashFromStr(r.PathValue("hash"))
	if err != nil || len(r.PathValue("hash")) != 64 {
		http.Error(w, "invalid hash", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	e, ok := s.byHash[*hash]
	corrupt := s.corrupt
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if wantsBinary(r) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(raw(e.hdr))
		return
	}
	writeJSON(w, e.json(corrupt))
}

func (s *Server) byHeight(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	height, err := strconv.Atoi(q.Get("height"))
	if err != nil || height < 0 {
		http.Error(w, "Required Integer parameter 'height' is not present or invalid", http.StatusBadRequest)
		return
	}
	count := 1
	if c := q.Get("count"); c != "" {
		count, err = strconv.Atoi(c)
		if err != nil || count < 1 {
			http.Error(w, "invalid count", http.StatusBadRequest)
			return
		}
	}
	if count > MaxCount {
		http.Error(w, fmt.Sprintf("count must not exceed %d", MaxCount), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	corrupt := s.corrupt
	var es []entry
	for i := height; i < len(s.chain) && i < height+count; i++ {
		es = append(es, s.chain[i])
	}
	s.mu.Unlock()
	if wantsBinary(r) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for _, e := range es {
			_, _ = w.Write(raw(e.hdr))
		}
		return
	}
	out := make([]headers.Header, 0, len(es))
	for _, e := range es {
		out = append(out, e.json(corrupt))
	}
	writeJSON(w, out)
}

func (s *Server) tips(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tip := s.chain[len(s.chain)-1]
	out := []headers.Tip{{Header: tip.json(s.corrupt), State: headers.StateLongestChain,
		ChainWork: json.Number(tip.chainWork.String()), Height: int64(tip.height), Confirmations: 1}}
	for _, e := range s.stale {
		out = append(out, headers.Tip{Header: e.json(s.corrupt), State: headers.StateStale,
			ChainWork: json.Number(e.chainWork.String()), Height: int64(e.height), Confirmations: 1})
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
