package regtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/walletgate/walletgate"
)

func TestKeyAddressesAndScripts(t *testing.T) {
	tests := []struct {
		kind   KeyKind
		class  txscript.ScriptClass
		prefix string
	}{
		{P2PKH, txscript.PubKeyHashTy, ""}, // m or n
		{P2SHP2WPKH, txscript.ScriptHashTy, "2"},
		{P2WPKH, txscript.WitnessV0PubKeyHashTy, "bcrt1q"},
		{P2WSH, txscript.WitnessV0ScriptHashTy, "bcrt1q"},
		{P2TR, txscript.WitnessV1TaprootTy, "bcrt1p"},
	}
	if len(tests) != len(KeyKinds()) {
		t.Fatalf("table covers %d kinds, KeyKinds has %d", len(tests), len(KeyKinds()))
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			k := NewKey(t, tc.kind)
			if k.Kind() != tc.kind {
				t.Fatalf("Kind() = %v", k.Kind())
			}
			if !strings.HasPrefix(k.Address(), tc.prefix) {
				t.Fatalf("address %s lacks prefix %q", k.Address(), tc.prefix)
			}
			// btcd's decoder maps the address back to the same script.
			a, err := address.DecodeAddress(k.Address(), params())
			if err != nil {
				t.Fatalf("decode %s: %v", k.Address(), err)
			}
			script, err := txscript.PayToAddrScript(a)
			if err != nil || !bytes.Equal(script, k.Script()) {
				t.Fatalf("script of decoded address = %x (err %v), Key.Script() = %x", script, err, k.Script())
			}
			if c := txscript.GetScriptClass(k.Script()); c != tc.class {
				t.Fatalf("script class %v, want %v", c, tc.class)
			}
			if (tc.kind == P2WSH) != (k.WitnessScript() != nil) {
				t.Fatalf("WitnessScript() = %x for %s", k.WitnessScript(), tc.kind)
			}
			// Script() hands out copies: changing one must not change the key.
			s := k.Script()
			s[0] ^= 0xff
			if bytes.Equal(s, k.Script()) {
				t.Fatal("Script() returned the key's own slice")
			}
			if other := NewKey(t, tc.kind); other.Address() == k.Address() {
				t.Fatal("two keys share an address")
			}
		})
	}
	if _, err := GenerateKey(KeyKind(99)); err == nil || !strings.Contains(err.Error(), "unknown key kind") {
		t.Fatalf("GenerateKey(99): err = %v", err)
	}
	if s := KeyKind(99).String(); s != "KeyKind(99)" {
		t.Fatalf("String of an unknown kind = %q", s)
	}
}

// fakeInput is an output of a transaction that exists only in the test;
// buildTx signs and verifies offline, so no node is needed.
func fakeInput(t *testing.T, k *Key, value int64, vout uint32) Input {
	t.Helper()
	return Input{Outpoint: Outpoint{TxID: strings.Repeat("5a", 32), Vout: vout, Value: value, Script: k.Script()}, Key: k}
}

func TestBuildTx(t *testing.T) {
	dest := NewKey(t, P2WPKH)
	change := NewKey(t, P2TR)
	const rate, dust = 3, 546
	for _, kind := range KeyKinds() {
		t.Run(kind.String(), func(t *testing.T) {
			k := NewKey(t, kind)
			ins := []Input{fakeInput(t, k, 100_000, 0), fakeInput(t, k, 50_000, 1)}

			// Fixed payment with change.
			tx, fee, err := buildTx(plan{inputs: ins, outputs: []Output{{Script: dest.Script(), Value: 60_000}}, change: change.Script(), feeRate: rate, dust: dust})
			if err != nil {
				t.Fatal(err)
			}
			if len(tx.TxOut) != 2 || tx.TxOut[0].Value != 60_000 || !bytes.Equal(tx.TxOut[1].PkScript, change.Script()) {
				t.Fatalf("outputs %+v, want payment then change", tx.TxOut)
			}
			if tx.TxOut[1].Value+60_000+fee != 150_000 {
				t.Fatalf("change %d + fee %d do not balance", tx.TxOut[1].Value, fee)
			}
			if fee < rate*vsize(tx) {
				t.Fatalf("fee %d below %d sat/vB for %d vB", fee, rate, vsize(tx))
			}

			// Sweep: one Rest output, no change.
			tx, fee, err = buildTx(plan{inputs: ins, outputs: []Output{{Script: dest.Script(), Value: Rest}}, change: change.Script(), feeRate: rate, dust: dust})
			if err != nil {
				t.Fatal(err)
			}
			if len(tx.TxOut) != 1 || tx.TxOut[0].Value != 150_000-fee || fee < rate*vsize(tx) {
				t.Fatalf("sweep outputs %+v fee %d", tx.TxOut, fee)
			}

			// Change below the dust limit goes to the fee.
			tx, fee, err = buildTx(plan{inputs: ins, outputs: []Output{{Script: dest.Script(), Value: 150_000 - 700}}, change: change.Script(), feeRate: 1, dust: dust})
			if err != nil {
				t.Fatal(err)
			}
			if len(tx.TxOut) != 1 || fee != 700 {
				t.Fatalf("dust change: outputs %+v fee %d, want one output and fee 700", tx.TxOut, fee)
			}
		})
	}
	k := NewKey(t, P2WPKH)
	in := []Input{fakeInput(t, k, 10_000, 0)}
	if _, _, err := buildTx(plan{inputs: in, outputs: []Output{{Script: dest.Script(), Value: 9_999}}, change: k.Script(), feeRate: 1, dust: dust}); !errors.Is(err, errInsufficient) {
		t.Fatalf("overspend: err = %v, want errInsufficient", err)
	}
	if _, _, err := buildTx(plan{inputs: in, outputs: []Output{{Script: dest.Script(), Value: 1000}}, feeRate: 0, dust: dust}); err == nil {
		t.Fatal("fee rate 0 accepted")
	}
	// A zero-value data carrier output is allowed.
	data, _ := txscript.NullDataScript([]byte("walletgate"))
	tx, _, err := buildTx(plan{inputs: in, outputs: []Output{{Script: data, Value: 0}, {Script: dest.Script(), Value: Rest}}, feeRate: 1, dust: dust})
	if err != nil || tx.TxOut[0].Value != 0 {
		t.Fatalf("OP_RETURN output: %v", err)
	}
}

func TestDecodeReply(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		result  string
		code    int // RPC error code expected, 0 for none
		errPart string
	}{
		{"result", 200, `{"result":5,"error":null,"id":1}`, "5", 0, ""},
		{"null result", 200, `{"result":null,"error":null,"id":1}`, "null", 0, ""},
		{"missing result", 200, `{"id":1}`, "null", 0, ""},
		{"rpc error", 200, `{"result":null,"error":{"code":-5,"message":"No information"},"id":1}`, "", -5, "No information"},
		{"rpc error with 500", 500, `{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}`, "", -32601, ""},
		{"empty body", 200, ``, "", 0, "empty reply"},
		{"not json", 200, `<html>`, "", 0, "malformed reply"},
		{"unauthorized", 401, ``, "", 0, "401"},
		{"500 without error", 500, `{"result":1}`, "", 0, "HTTP 500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := decodeReply(tc.status, []byte(tc.body))
			var rpcErr *walletgate.RPCError
			switch {
			case tc.code != 0:
				if !errors.As(err, &rpcErr) || rpcErr.Code != tc.code || !strings.Contains(rpcErr.Message, tc.errPart) {
					t.Fatalf("err = %v, want RPC code %d", err, tc.code)
				}
			case tc.errPart != "":
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v, want %q", err, tc.errPart)
				}
			default:
				if err != nil || string(res) != tc.result {
					t.Fatalf("result %s err %v, want %s", res, err, tc.result)
				}
			}
		})
	}
}

func FuzzDecodeReply(f *testing.F) {
	f.Add(200, []byte(`{"result":[1,2],"error":null,"id":1}`))
	f.Add(200, []byte(`{"error":{"code":-1,"message":"x"}}`))
	f.Add(500, []byte(`{"result":`))
	f.Add(401, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		res, err := decodeReply(status, body)
		if err != nil {
			return
		}
		if status != http.StatusOK || !json.Valid(res) {
			t.Fatalf("accepted status %d body %q as result %q", status, body, res)
		}
	})
}
