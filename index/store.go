package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/walletgate/walletgate"
)

// Buckets and their layouts. Heights and positions are 4-byte big-endian
// so that a cursor walks a script's rows in chain order. sh is the raw
// SHA-256 of a scriptPubKey (the Electrum script hash before reversal).
var (
	bMeta  = []byte("meta")  // "tip" -> height(8) hash(32); "version" -> 1
	bHdr   = []byte("hdr")   // height(4) -> 80-byte header
	bBlkTx = []byte("btx")   // height(4) -> txid(32) * n, in block order
	bTxPos = []byte("txp")   // txid(32) -> height(4) pos(4)
	bHist  = []byte("hist")  // sh(32) height(4) pos(4) -> txid(32)
	bUtxo  = []byte("utxo")  // sh(32) height(4) pos(4) vout(4) -> value(8) txid(32)
	bOut   = []byte("out")   // txid(32) vout(4) -> sh(32) height(4) pos(4) value(8): unspent set
	bSpent = []byte("spent") // txid(32) vout(4) -> spender txid(32) vin(4) height(4)
	bBal   = []byte("bal")   // sh(32) -> confirmed balance int64
	bUndo  = []byte("undo")  // height(4) -> undo log (see undoLog)

	allBuckets = [][]byte{bMeta, bHdr, bBlkTx, bTxPos, bHist, bUtxo, bOut, bSpent, bBal, bUndo}
	keyTip     = []byte("tip")
	keyVersion = []byte("version")
)

// schemaVersion changes when a layout above changes; an index of another
// version is refused rather than misread.
const schemaVersion = 1

// SH is a raw script hash: SHA-256 of the scriptPubKey, not reversed.
type SH [32]byte

// HashScript returns the SH of a scriptPubKey.
func HashScript(pkScript []byte) SH { return sha256.Sum256(pkScript) }

// ParseScriptHash reads an Electrum script hash (64 hex digits,
// byte-reversed).
func ParseScriptHash(sh walletgate.ScriptHash) (SH, error) {
	var out SH
	if err := walletgate.CheckHash(string(sh)); err != nil {
		var he *walletgate.HashError
		if errors.As(err, &he) && he.Pos >= 0 {
			return out, walletgate.WrapError(walletgate.EInvalid, err, "%q is not a valid script hash: not hex", clipStr(string(sh), 80))
		}
		return out, walletgate.WrapError(walletgate.EInvalid, err, "%q is not a valid script hash: want 64 hex digits", clipStr(string(sh), 80))
	}
	b, _ := hex.DecodeString(string(sh)) // cannot fail after CheckHash
	for i := range 32 {
		out[i] = b[31-i]
	}
	return out, nil
}

// ScriptHash returns sh as an Electrum script hash (reversed hex).
func (sh SH) ScriptHash() walletgate.ScriptHash {
	var r [32]byte
	for i := range 32 {
		r[i] = sh[31-i]
	}
	return walletgate.ScriptHash(hex.EncodeToString(r[:]))
}

func clipStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// unspendable reports outputs ElectrumX never indexes (OP_RETURN data).
func unspendable(pkScript []byte) bool { return len(pkScript) > 0 && pkScript[0] == 0x6a }

func u32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func heightKey(h int64) []byte { return u32(make([]byte, 0, 4), uint32(h)) }

func outpointKey(op wire.OutPoint) []byte {
	k := make([]byte, 0, 36)
	k = append(k, op.Hash[:]...)
	return u32(k, op.Index)
}

func histKey(sh SH, h int64, pos int) []byte {
	k := make([]byte, 0, 40)
	k = append(k, sh[:]...)
	return u32(u32(k, uint32(h)), uint32(pos))
}

func utxoKey(sh SH, h int64, pos int, vout uint32) []byte {
	return u32(histKey(sh, h, pos), vout)
}

// outVal is a row of the unspent set.
type outVal struct {
	sh     SH
	height int64
	pos    int
	value  int64
}

func (o outVal) encode() []byte {
	b := make([]byte, 0, 48)
	b = append(b, o.sh[:]...)
	b = u32(u32(b, uint32(o.height)), uint32(o.pos))
	return binary.BigEndian.AppendUint64(b, uint64(o.value))
}

func decodeOut(b []byte) (outVal, error) {
	if len(b) != 48 {
		return outVal{}, fmt.Errorf("index: corrupt unspent-set row of %d bytes", len(b))
	}
	var o outVal
	copy(o.sh[:], b)
	o.height = int64(binary.BigEndian.Uint32(b[32:]))
	o.pos = int(binary.BigEndian.Uint32(b[36:]))
	o.value = int64(binary.BigEndian.Uint64(b[40:]))
	return o, nil
}

func i64(v int64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)) }

// tipRecord is the tip marker: committed in the same transaction as the
// block it names, so the store is always at a block boundary.
type tipRecord struct {
	height int64
	hash   chainhash.Hash
}

func (t tipRecord) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 40), uint64(t.height))
	return append(b, t.hash[:]...)
}

func readTip(tx *bolt.Tx) (tipRecord, bool, error) {
	v := tx.Bucket(bMeta).Get(keyTip)
	if v == nil {
		return tipRecord{}, false, nil
	}
	if len(v) != 40 {
		return tipRecord{}, false, fmt.Errorf("index: corrupt tip marker of %d bytes", len(v))
	}
	var t tipRecord
	t.height = int64(binary.BigEndian.Uint64(v))
	copy(t.hash[:], v[8:])
	return t, true, nil
}

// initBuckets creates the buckets and checks the schema version.
func initBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("index: create bucket %s: %w", name, err)
		}
	}
	m := tx.Bucket(bMeta)
	v := m.Get(keyVersion)
	switch {
	case v == nil:
		return m.Put(keyVersion, []byte{schemaVersion})
	case !bytes.Equal(v, []byte{schemaVersion}):
		return fmt.Errorf("index: store has schema version %v, this build reads %d: delete the index directory to rebuild", v, schemaVersion)
	}
	return nil
}

// errNoUndo means a reorg reaches below the blocks that keep undo data.
var errNoUndo = errors.New("no undo data for the block")
