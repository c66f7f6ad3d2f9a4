package headers

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/walletgate/walletgate"
)

// Tip states reported by HeaderSV.
const (
	StateLongestChain = "LONGEST_CHAIN"
	StateStale        = "STALE"
	StateOrphan       = "ORPHAN"
)

// HeaderSize is the length of a serialised block header.
const HeaderSize = 80

// TipFrameSize is the length of a binary tip: header ‖ uint32 LE height.
const TipFrameSize = HeaderSize + 4

// Header is a block header in HeaderSV v2's JSON form. Hashes are display
// (byte-reversed) hex; work is a decimal integer that may exceed 64 bits.
type Header struct {
	Hash              string      `json:"hash"`
	Version           int64       `json:"version"`
	PrevBlockHash     string      `json:"prevBlockHash"`
	MerkleRoot        string      `json:"merkleRoot"`
	CreationTimestamp int64       `json:"creationTimestamp"`
	DifficultyTarget  int64       `json:"difficultyTarget"`
	Nonce             int64       `json:"nonce"`
	TransactionCount  int64       `json:"transactionCount"`
	Work              json.Number `json:"work"`
}

// Tip is one chain tip in HeaderSV v2's /api/v1/chain/tips answer.
type Tip struct {
	Header        Header      `json:"header"`
	State         string      `json:"state"`
	ChainWork     json.Number `json:"chainWork"`
	Height        int64       `json:"height"`
	Confirmations int64       `json:"confirmations"`
}

// Source provides block headers. Implementations return *walletgate.Error
// values: ENotFound for an unknown hash, EInvalid for a request the source
// refuses, EUnavailable or ETimeout when it cannot be reached, and EBackend
// (optionally wrapping a *StatusError) for anything else.
type Source interface {
	// HeaderByHash returns the header with the given hash.
	HeaderByHash(ctx context.Context, hash chainhash.Hash) (Header, error)
	// HeadersByHeight returns up to count consecutive headers of the best
	// chain starting at height (fewer at the chain's end).
	HeadersByHeight(ctx context.Context, height, count uint32) ([]Header, error)
	// Tips returns every known chain tip, the LONGEST_CHAIN one included.
	Tips(ctx context.Context) ([]Tip, error)
}

// StatusError records an upstream HTTP status that the handlers pass on.
type StatusError struct {
	Status int
}

// Error implements error.
func (e *StatusError) Error() string { return fmt.Sprintf("upstream status %d", e.Status) }

// upstreamStatus returns the HTTP status carried by err, if any.
func upstreamStatus(err error) (int, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status, true
	}
	return 0, false
}

// BlockHeader converts h to btcd's wire form. Version, timestamp, bits and
// nonce must fit their 32-bit fields (HeaderSV prints the version signed).
func (h Header) BlockHeader() (wire.BlockHeader, error) {
	var bh wire.BlockHeader
	if h.Version < math.MinInt32 || h.Version > math.MaxUint32 {
		return bh, fmt.Errorf("header %s: version %d out of range", h.Hash, h.Version)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"creationTimestamp", h.CreationTimestamp}, {"difficultyTarget", h.DifficultyTarget}, {"nonce", h.Nonce}} {
		if f.v < 0 || f.v > math.MaxUint32 {
			return bh, fmt.Errorf("header %s: %s %d out of range", h.Hash, f.name, f.v)
		}
	}
	prev, err := chainhash.NewHashFromStr(h.PrevBlockHash)
	if err != nil || len(h.PrevBlockHash) != 2*chainhash.HashSize {
		return bh, fmt.Errorf("header %s: bad prevBlockHash %q", h.Hash, h.PrevBlockHash)
	}
	root, err := chainhash.NewHashFromStr(h.MerkleRoot)
	if err != nil || len(h.MerkleRoot) != 2*chainhash.HashSize {
		return bh, fmt.Errorf("header %s: bad merkleRoot %q", h.Hash, h.MerkleRoot)
	}
	bh.Version = int32(uint32(h.Version))
	bh.PrevBlock = *prev
	bh.MerkleRoot = *root
	bh.Timestamp = time.Unix(h.CreationTimestamp, 0)
	bh.Bits = uint32(h.DifficultyTarget)
	bh.Nonce = uint32(h.Nonce)
	return bh, nil
}

// Raw rebuilds the 80-byte serialised header from h's fields. The display
// hex of the hashes is byte-reversed into internal order. When h.Hash is set
// the result must hash to it, so a garbled field never reaches a client.
func (h Header) Raw() ([HeaderSize]byte, error) {
	var out [HeaderSize]byte
	bh, err := h.BlockHeader()
	if err != nil {
		return out, err
	}
	if h.Hash != "" {
		want, err := chainhash.NewHashFromStr(h.Hash)
		if err != nil || len(h.Hash) != 2*chainhash.HashSize {
			return out, fmt.Errorf("header: bad hash %q", h.Hash)
		}
		if got := bh.BlockHash(); got != *want {
			return out, fmt.Errorf("header %s: fields hash to %s", h.Hash, got)
		}
	}
	var buf bytes.Buffer
	buf.Grow(HeaderSize)
	if err := bh.Serialize(&buf); err != nil {
		return out, fmt.Errorf("header %s: serialise: %w", h.Hash, err)
	}
	copy(out[:], buf.Bytes())
	return out, nil
}

// HeaderFromWire builds the JSON form of bh. Work and transaction count are
// not part of the 80 bytes, so the caller supplies them.
func HeaderFromWire(bh wire.BlockHeader, txCount int64, work string) Header {
	return Header{
		Hash:              bh.BlockHash().String(),
		Version:           int64(bh.Version),
		PrevBlockHash:     bh.PrevBlock.String(),
		MerkleRoot:        bh.MerkleRoot.String(),
		CreationTimestamp: bh.Timestamp.Unix(),
		DifficultyTarget:  int64(bh.Bits),
		Nonce:             int64(bh.Nonce),
		TransactionCount:  txCount,
		Work:              json.Number(work),
	}
}

// TipFrame builds the 84-byte binary tip: raw header ‖ uint32 LE height.
func TipFrame(t Tip) ([]byte, error) {
	raw, err := t.Header.Raw()
	if err != nil {
		return nil, err
	}
	if t.Height < 0 || t.Height > math.MaxUint32 {
		return nil, fmt.Errorf("tip %s: height %d out of range", t.Header.Hash, t.Height)
	}
	frame := make([]byte, TipFrameSize)
	copy(frame, raw[:])
	binary.LittleEndian.PutUint32(frame[HeaderSize:], uint32(t.Height))
	return frame, nil
}

// ParseTipFrame splits an 84-byte binary tip into its header and height.
func ParseTipFrame(b []byte) (wire.BlockHeader, uint32, error) {
	var bh wire.BlockHeader
	if len(b) != TipFrameSize {
		return bh, 0, fmt.Errorf("tip frame: %d bytes, want %d", len(b), TipFrameSize)
	}
	if err := bh.Deserialize(bytes.NewReader(b[:HeaderSize])); err != nil {
		return bh, 0, fmt.Errorf("tip frame: header: %w", err)
	}
	return bh, binary.LittleEndian.Uint32(b[HeaderSize:]), nil
}

// LongestChain returns the LONGEST_CHAIN tip of tips.
func LongestChain(tips []Tip) (Tip, bool) {
	for _, t := range tips {
		if t.State == StateLongestChain {
			return t, true
		}
	}
	return Tip{}, false
}

// errUnavailable wraps a transport failure as the 503 case.
func errUnavailable(err error, what string) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return walletgate.WrapError(walletgate.ETimeout, err, "%s timed out", what)
	}
	return walletgate.WrapError(walletgate.EUnavailable, err, "%s unavailable", what)
}
