package indexer

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Record sizes of the indexer's binary layouts.
const (
	OutpointSize              = 36  // >32sI
	OutputSpendSize           = 104 // >32sI32sI32s (the spec's "100" miscounts it)
	TipFilterRegistrationSize = 36  // >32sI
	TipFilterEntrySize        = 40  // >32sII
	PushDataHashSize          = 32
	RestorationMatchSize      = 105 // >B32s32sI32sI
)

// Outpoint names a transaction output. TxHash is in internal byte order.
type Outpoint struct {
	TxHash chainhash.Hash
	Index  uint32
}

// AppendBinary appends the 36-byte form of o.
func (o Outpoint) AppendBinary(b []byte) []byte {
	b = append(b, o.TxHash[:]...)
	return binary.BigEndian.AppendUint32(b, o.Index)
}

// IsZero reports whether o is the all-zero outpoint ("clear all" when it is
// the only one sent to notifications:unregister).
func (o Outpoint) IsZero() bool { return o == Outpoint{} }

// ParseOutpoints decodes a body of N×36-byte outpoints.
func ParseOutpoints(b []byte) ([]Outpoint, error) {
	if len(b)%OutpointSize != 0 {
		return nil, fmt.Errorf("outpoints: %d bytes is not a multiple of %d", len(b), OutpointSize)
	}
	out := make([]Outpoint, 0, len(b)/OutpointSize)
	for ; len(b) > 0; b = b[OutpointSize:] {
		var o Outpoint
		copy(o.TxHash[:], b[:32])
		o.Index = binary.BigEndian.Uint32(b[32:36])
		out = append(out, o)
	}
	return out, nil
}

// OutputSpend reports that an output was spent: by which input, and in which
// block (zero BlockHash while the spend is in the mempool).
type OutputSpend struct {
	OutTxHash chainhash.Hash
	OutIndex  uint32
	InTxHash  chainhash.Hash
	InIndex   uint32
	BlockHash chainhash.Hash
}

// Outpoint is the spent output.
func (s OutputSpend) Outpoint() Outpoint { return Outpoint{s.OutTxHash, s.OutIndex} }

// AppendBinary appends the 104-byte form of s.
func (s OutputSpend) AppendBinary(b []byte) []byte {
	b = append(b, s.OutTxHash[:]...)
	b = binary.BigEndian.AppendUint32(b, s.OutIndex)
	b = append(b, s.InTxHash[:]...)
	b = binary.BigEndian.AppendUint32(b, s.InIndex)
	return append(b, s.BlockHash[:]...)
}

// ParseOutputSpends decodes N×104-byte output-spend records.
func ParseOutputSpends(b []byte) ([]OutputSpend, error) {
	if len(b)%OutputSpendSize != 0 {
		return nil, fmt.Errorf("output spends: %d bytes is not a multiple of %d", len(b), OutputSpendSize)
	}
	out := make([]OutputSpend, 0, len(b)/OutputSpendSize)
	for ; len(b) > 0; b = b[OutputSpendSize:] {
		var s OutputSpend
		copy(s.OutTxHash[:], b[0:32])
		s.OutIndex = binary.BigEndian.Uint32(b[32:36])
		copy(s.InTxHash[:], b[36:68])
		s.InIndex = binary.BigEndian.Uint32(b[68:72])
		copy(s.BlockHash[:], b[72:104])
		out = append(out, s)
	}
	return out, nil
}

// TipFilterRegistration asks the indexer to watch a pushdata hash.
type TipFilterRegistration struct {
	PushDataHash [32]byte
	DurationSecs uint32
}

// AppendBinary appends the 36-byte form of r.
func (r TipFilterRegistration) AppendBinary(b []byte) []byte {
	b = append(b, r.PushDataHash[:]...)
	return binary.BigEndian.AppendUint32(b, r.DurationSecs)
}

// ParseTipFilterRegistrations decodes N×36-byte registrations.
func ParseTipFilterRegistrations(b []byte) ([]TipFilterRegistration, error) {
	if len(b)%TipFilterRegistrationSize != 0 {
		return nil, fmt.Errorf("tip filter registrations: %d bytes is not a multiple of %d", len(b), TipFilterRegistrationSize)
	}
	out := make([]TipFilterRegistration, 0, len(b)/TipFilterRegistrationSize)
	for ; len(b) > 0; b = b[TipFilterRegistrationSize:] {
		var r TipFilterRegistration
		copy(r.PushDataHash[:], b[:32])
		r.DurationSecs = binary.BigEndian.Uint32(b[32:36])
		out = append(out, r)
	}
	return out, nil
}

// TipFilterEntry is one registration in the GET listing.
type TipFilterEntry struct {
	PushDataHash [32]byte
	DateCreated  uint32 // unix seconds
	DurationSecs uint32
}

// AppendBinary appends the 40-byte form of e.
func (e TipFilterEntry) AppendBinary(b []byte) []byte {
	b = append(b, e.PushDataHash[:]...)
	b = binary.BigEndian.AppendUint32(b, e.DateCreated)
	return binary.BigEndian.AppendUint32(b, e.DurationSecs)
}

// ParseTipFilterEntries decodes N×40-byte listing entries.
func ParseTipFilterEntries(b []byte) ([]TipFilterEntry, error) {
	if len(b)%TipFilterEntrySize != 0 {
		return nil, fmt.Errorf("tip filter entries: %d bytes is not a multiple of %d", len(b), TipFilterEntrySize)
	}
	out := make([]TipFilterEntry, 0, len(b)/TipFilterEntrySize)
	for ; len(b) > 0; b = b[TipFilterEntrySize:] {
		var e TipFilterEntry
		copy(e.PushDataHash[:], b[:32])
		e.DateCreated = binary.BigEndian.Uint32(b[32:36])
		e.DurationSecs = binary.BigEndian.Uint32(b[36:40])
		out = append(out, e)
	}
	return out, nil
}

// ParsePushDataHashes decodes N×32-byte hashes (the filter:delete body).
func ParsePushDataHashes(b []byte) ([][32]byte, error) {
	if len(b)%PushDataHashSize != 0 {
		return nil, fmt.Errorf("pushdata hashes: %d bytes is not a multiple of %d", len(b), PushDataHashSize)
	}
	out := make([][32]byte, 0, len(b)/PushDataHashSize)
	for ; len(b) > 0; b = b[PushDataHashSize:] {
		out = append(out, [32]byte(b[:32]))
	}
	return out, nil
}

// Restoration match flags.
const (
	RestorationOutputMatch uint8 = 1 // the pushdata is in an output script
	RestorationInputMatch  uint8 = 2 // the pushdata is in an input script
)

// RestorationMatch is one restoration search result.
type RestorationMatch struct {
	Flags           uint8
	PushDataHash    [32]byte
	LockingTxHash   chainhash.Hash
	LockingIndex    uint32
	UnlockingTxHash chainhash.Hash // zero when unspent
	UnlockingIndex  uint32         // 0xFFFFFFFF when unspent
}

// AppendBinary appends the 105-byte form of m.
func (m RestorationMatch) AppendBinary(b []byte) []byte {
	b = append(b, m.Flags)
	b = append(b, m.PushDataHash[:]...)
	b = append(b, m.LockingTxHash[:]...)
	b = binary.BigEndian.AppendUint32(b, m.LockingIndex)
	b = append(b, m.UnlockingTxHash[:]...)
	return binary.BigEndian.AppendUint32(b, m.UnlockingIndex)
}

// ParseRestorationMatches decodes a binary restoration answer: 105-byte
// records followed by a single 0x00 terminator.
func ParseRestorationMatches(b []byte) ([]RestorationMatch, error) {
	var out []RestorationMatch
	for {
		switch {
		case len(b) == 0:
			return nil, fmt.Errorf("restoration matches: missing 0x00 terminator after %d records", len(out))
		case len(b) == 1 && b[0] == 0:
			return out, nil
		case len(b) < RestorationMatchSize:
			return nil, fmt.Errorf("restoration matches: %d trailing bytes after %d records", len(b), len(out))
		}
		var m RestorationMatch
		m.Flags = b[0]
		if m.Flags == 0 {
			return nil, fmt.Errorf("restoration matches: record %d has no flags", len(out))
		}
		copy(m.PushDataHash[:], b[1:33])
		copy(m.LockingTxHash[:], b[33:65])
		m.LockingIndex = binary.BigEndian.Uint32(b[65:69])
		copy(m.UnlockingTxHash[:], b[69:101])
		m.UnlockingIndex = binary.BigEndian.Uint32(b[101:105])
		out = append(out, m)
		b = b[RestorationMatchSize:]
	}
}

// TSC proof flags.
const (
	TSCFullTx           byte = 0x01
	TSCTargetHeader     byte = 0x02
	TSCTargetMerkleRoot byte = 0x04
	tscTargetMask            = TSCTargetHeader | TSCTargetMerkleRoot
	tscComposite        byte = 0x08
)

// TSCNode is one merkle branch node: a hash, or "duplicate the other side".
type TSCNode struct {
	Duplicate bool
	Hash      chainhash.Hash
}

// TSCProof is a merkle proof in the TSC binary layout: flags, varint index,
// txid or (varint length + tx), target (block hash, merkle root or 80-byte
// header), varint node count, nodes.
type TSCProof struct {
	Flags  byte
	Index  uint64
	TxOrID []byte // 32-byte txid (internal order) or the full transaction
	Target []byte // 32 bytes, or 80 with TSCTargetHeader
	Nodes  []TSCNode
}

// MaxTSCNodes bounds the branch length a decoder accepts (a block of 2^64
// transactions needs 64).
const MaxTSCNodes = 64

// MarshalBinary encodes p in the TSC layout.
func (p TSCProof) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte(p.Flags)
	if err := wire.WriteVarInt(&b, 0, p.Index); err != nil {
		return nil, err
	}
	if p.Flags&TSCFullTx != 0 {
		if err := wire.WriteVarInt(&b, 0, uint64(len(p.TxOrID))); err != nil {
			return nil, err
		}
	} else if len(p.TxOrID) != 32 {
		return nil, fmt.Errorf("tsc proof: txid is %d bytes, want 32", len(p.TxOrID))
	}
	b.Write(p.TxOrID)
	if want := p.targetSize(); len(p.Target) != want {
		return nil, fmt.Errorf("tsc proof: target is %d bytes, want %d", len(p.Target), want)
	}
	b.Write(p.Target)
	if err := wire.WriteVarInt(&b, 0, uint64(len(p.Nodes))); err != nil {
		return nil, err
	}
	for _, n := range p.Nodes {
		if n.Duplicate {
			b.WriteByte(1)
			continue
		}
		b.WriteByte(0)
		b.Write(n.Hash[:])
	}
	return b.Bytes(), nil
}

func (p TSCProof) targetSize() int {
	if p.Flags&tscTargetMask == TSCTargetHeader {
		return 80
	}
	return 32
}

// ParseTSCProof decodes a binary TSC merkle proof. maxTxSize bounds the
// embedded transaction.
func ParseTSCProof(data []byte, maxTxSize uint64) (TSCProof, error) {
	var p TSCProof
	r := bytes.NewReader(data)
	flags, err := r.ReadByte()
	if err != nil {
		return p, fmt.Errorf("tsc proof: flags: %w", err)
	}
	if flags&tscComposite != 0 || flags&^(TSCFullTx|tscTargetMask) != 0 || flags&tscTargetMask == tscTargetMask {
		return p, fmt.Errorf("tsc proof: unsupported flags %#x", flags)
	}
	p.Flags = flags
	if p.Index, err = wire.ReadVarInt(r, 0); err != nil {
		return p, fmt.Errorf("tsc proof: index: %w", err)
	}
	n := uint64(32)
	if flags&TSCFullTx != 0 {
		if n, err = wire.ReadVarInt(r, 0); err != nil {
			return p, fmt.Errorf("tsc proof: tx length: %w", err)
		}
		if n > maxTxSize || n > uint64(r.Len()) {
			return p, fmt.Errorf("tsc proof: tx length %d exceeds the %d bytes available (limit %d)", n, r.Len(), maxTxSize)
		}
	}
	if p.TxOrID, err = readN(r, int(n)); err != nil {
		return p, fmt.Errorf("tsc proof: tx or id: %w", err)
	}
	if p.Target, err = readN(r, p.targetSize()); err != nil {
		return p, fmt.Errorf("tsc proof: target: %w", err)
	}
	count, err := wire.ReadVarInt(r, 0)
	if err != nil {
		return p, fmt.Errorf("tsc proof: node count: %w", err)
	}
	if count > MaxTSCNodes {
		return p, fmt.Errorf("tsc proof: %d nodes exceeds %d", count, MaxTSCNodes)
	}
	p.Nodes = make([]TSCNode, 0, count)
	for i := range count {
		kind, err := r.ReadByte()
		if err != nil {
			return p, fmt.Errorf("tsc proof: node %d: %w", i, err)
		}
		switch kind {
		case 0:
			h, err := readN(r, 32)
			if err != nil {
				return p, fmt.Errorf("tsc proof: node %d: %w", i, err)
			}
			p.Nodes = append(p.Nodes, TSCNode{Hash: chainhash.Hash(h)})
		case 1:
			p.Nodes = append(p.Nodes, TSCNode{Duplicate: true})
		default:
			return p, fmt.Errorf("tsc proof: node %d has unknown type %d", i, kind)
		}
	}
	if r.Len() != 0 {
		return p, fmt.Errorf("tsc proof: %d trailing bytes", r.Len())
	}
	return p, nil
}

func readN(r *bytes.Reader, n int) ([]byte, error) {
	if n > r.Len() {
		return nil, fmt.Errorf("want %d bytes, have %d", n, r.Len())
	}
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b, nil
}

// MerkleRoot computes the root the proof leads to from the txid it proves.
func (p TSCProof) MerkleRoot() (chainhash.Hash, error) {
	var cur chainhash.Hash
	if p.Flags&TSCFullTx != 0 {
		cur = chainhash.DoubleHashH(p.TxOrID)
	} else {
		copy(cur[:], p.TxOrID)
	}
	idx := p.Index
	for _, n := range p.Nodes {
		other := n.Hash
		if n.Duplicate {
			other = cur
		}
		var buf [64]byte
		if idx&1 == 0 {
			copy(buf[:32], cur[:])
			copy(buf[32:], other[:])
		} else {
			if n.Duplicate {
				return cur, fmt.Errorf("tsc proof: duplicate node on the right-hand side at index %d", idx)
			}
			copy(buf[:32], other[:])
			copy(buf[32:], cur[:])
		}
		cur = chainhash.DoubleHashH(buf[:])
		idx >>= 1
	}
	return cur, nil
}
