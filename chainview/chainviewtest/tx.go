package chainviewtest

import (
	"fmt"
	"strings"
)

// Out is one output of a VerboseTx.
type Out struct {
	Value   string // coins, as the daemon writes it: "0.50000000"
	Script  string // scriptPubKey hex
	Address string // "" for outputs without one (OP_RETURN, P2PK)
	Type    string // "" means "witness_v0_keyhash"
}

// In is one input of a VerboseTx: the output it spends.
type In struct {
	Txid string
	Vout uint32
}

// VerboseTx describes a transaction; JSON renders it in the shape of a
// Bitcoin Core ≥28 getrawtransaction verbose answer, keys in the daemon's
// (unsorted) order.
type VerboseTx struct {
	Txid      string
	Coinbase  bool // one coinbase input instead of Ins
	Ins       []In
	Outs      []Out
	Blockhash string // "" for a mempool transaction
	Blocktime int64
	Confs     int64
}

// JSON renders the transaction.
func (v VerboseTx) JSON() string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"txid":%q,"hash":%q,"version":2,"size":222,"vsize":141,"weight":561,"locktime":0,"vin":[`, v.Txid, v.Txid)
	if v.Coinbase {
		b.WriteString(`{"coinbase":"0101","sequence":4294967295}`)
	}
	for i, in := range v.Ins {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"txid":%q,"vout":%d,"scriptSig":{"asm":"","hex":""},"txinwitness":["30","02"],"sequence":4294967293}`, in.Txid, in.Vout)
	}
	b.WriteString(`],"vout":[`)
	for i, o := range v.Outs {
		if i > 0 {
			b.WriteString(",")
		}
		typ := o.Type
		if typ == "" {
			typ = "witness_v0_keyhash"
		}
		addr := ""
		if o.Address != "" {
			addr = fmt.Sprintf(`"address":%q,`, o.Address)
		}
		fmt.Fprintf(&b, `{"value":%s,"n":%d,"scriptPubKey":{"asm":"","desc":"addr()","hex":%q,%s"type":%q}}`, o.Value, i, o.Script, addr, typ)
	}
	fmt.Fprintf(&b, `],"hex":"0200"`)
	if v.Blockhash != "" {
		fmt.Fprintf(&b, `,"blockhash":%q,"confirmations":%d,"time":%d,"blocktime":%d`, v.Blockhash, v.Confs, v.Blocktime, v.Blocktime)
	}
	b.WriteString("}")
	return b.String()
}
