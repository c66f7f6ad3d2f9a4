package chainview

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/walletgate/walletgate"
)

// verboseTx is the part of a daemon's verbose transaction that History and
// the coinbase flag need, parsed once and cached in that compact form.
type verboseTx struct {
	coinbase  bool   // vin[0] has a "coinbase" key
	confirmed bool   // has blockhash, blocktime or confirmations > 0
	timestamp *int64 // blocktime, else time, else nil
	ins       []txIn // non-coinbase inputs
	outs      []txOut
}

type txIn struct {
	prev string
	vout uint32
}

type txOut struct {
	script    string // scriptPubKey hex, lowercase
	sats      int64  // value by the /history rule (Truncate)
	addressed bool   // has scriptPubKey.address or addresses[0]
}

type rawVerbose struct {
	Blockhash     string      `json:"blockhash"`
	Blocktime     json.Number `json:"blocktime"`
	Time          json.Number `json:"time"`
	Confirmations json.Number `json:"confirmations"`
	Vin           []struct {
		Coinbase json.RawMessage `json:"coinbase"`
		Txid     string          `json:"txid"`
		Vout     uint32          `json:"vout"`
	} `json:"vin"`
	Vout []struct {
		Value        json.Number `json:"value"`
		ScriptPubKey struct {
			Hex       string   `json:"hex"`
			Address   string   `json:"address"`
			Addresses []string `json:"addresses"`
		} `json:"scriptPubKey"`
	} `json:"vout"`
}

// parseVerbose reads the fields History needs from a verbose transaction.
func parseVerbose(raw []byte) (*verboseTx, error) {
	var r rawVerbose
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("parse verbose transaction: %w", err)
	}
	tx := &verboseTx{}
	if r.Blockhash != "" || r.Blocktime != "" {
		tx.confirmed = true
	} else if c, err := strconv.ParseInt(string(r.Confirmations), 10, 64); err == nil && c > 0 {
		tx.confirmed = true
	}
	for _, t := range []json.Number{r.Blocktime, r.Time} {
		if t == "" {
			continue
		}
		v, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse verbose transaction: time %q: %w", t, err)
		}
		tx.timestamp = &v
		break
	}
	for i, in := range r.Vin {
		if len(in.Coinbase) > 0 {
			if i == 0 {
				tx.coinbase = true
			}
			continue
		}
		tx.ins = append(tx.ins, txIn{prev: strings.ToLower(in.Txid), vout: in.Vout})
	}
	tx.outs = make([]txOut, len(r.Vout))
	for i, o := range r.Vout {
		sats, err := valueSats(string(o.Value), walletgate.RoundDown)
		if err != nil {
			return nil, fmt.Errorf("parse verbose transaction: vout %d: %w", i, err)
		}
		spk := o.ScriptPubKey
		tx.outs[i] = txOut{
			script:    strings.ToLower(spk.Hex),
			sats:      sats,
			addressed: spk.Address != "" || (len(spk.Addresses) > 0 && spk.Addresses[0] != ""),
		}
	}
	return tx, nil
}

// fetchVerbose returns the parsed verbose transactions of txids, from cache
// where possible and with ONE backend batch for the rest. A txid the
// backend refused or sent unparsable is absent from the map (the /history
// "null"); a failed batch is an error. Confirmed results are cached.
func (s *Service) fetchVerbose(ctx context.Context, txids []string) (map[string]*verboseTx, error) {
	got := make(map[string]*verboseTx, len(txids))
	var miss []string
	seen := make(map[string]bool, len(txids))
	for _, id := range txids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if tx, ok := s.txs.get(id); ok {
			got[id] = tx
			continue
		}
		miss = append(miss, id)
	}
	if len(miss) == 0 {
		return got, nil
	}
	res, err := s.backend.Transactions(ctx, miss)
	if err != nil {
		return nil, backendErr(fmt.Sprintf("get %d transactions", len(miss)), err)
	}
	if len(res) != len(miss) {
		return nil, walletgate.Errorf(walletgate.EBackend, "backend answered %d of %d transactions", len(res), len(miss))
	}
	for i, r := range res {
		if r.Err != nil || len(r.Verbose) == 0 {
			continue
		}
		tx, err := parseVerbose(r.Verbose)
		if err != nil {
			continue
		}
		got[miss[i]] = tx
		s.remember(miss[i], tx)
	}
	return got, nil
}

// remember caches what a verbose transaction tells for good.
func (s *Service) remember(txid string, tx *verboseTx) {
	s.coinbase.add(txid, tx.coinbase)
	if tx.confirmed {
		s.txs.add(txid, tx)
	}
}

// Tx returns the daemon's verbose transaction txid as a generic JSON tree
// (objects are map[string]any, numbers json.Number with their original
// text) with value_sat added to every vout: round-half-even(value × 1e8),
// computed exactly from the decimal text (the original multiplied floats,
// which differs only on sub-satoshi ties). It is never cached: its
// confirmations change with every block.
func (s *Service) Tx(ctx context.Context, txid string) (map[string]any, error) {
	res, err := s.backend.Transactions(ctx, []string{txid})
	if err != nil {
		return nil, backendErr("get transaction "+txid, err)
	}
	if len(res) != 1 {
		return nil, walletgate.Errorf(walletgate.EBackend, "backend answered %d results for transaction %s", len(res), txid)
	}
	if res[0].Err != nil {
		return nil, backendErr("get transaction "+txid, res[0].Err)
	}
	dec := json.NewDecoder(bytes.NewReader(res[0].Verbose))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil || tree == nil {
		return nil, walletgate.WrapError(walletgate.EBackend, err, "backend sent a malformed transaction %s", txid)
	}
	vout, _ := tree["vout"].([]any)
	for i, o := range vout {
		out, ok := o.(map[string]any)
		if !ok {
			return nil, walletgate.Errorf(walletgate.EBackend, "backend sent transaction %s with a malformed vout %d", txid, i)
		}
		v, _ := out["value"].(json.Number)
		sats, err := valueSats(string(v), walletgate.RoundHalfEven)
		if err != nil {
			return nil, walletgate.WrapError(walletgate.EBackend, err, "backend sent transaction %s with a bad value in vout %d", txid, i)
		}
		out["value_sat"] = json.Number(strconv.FormatInt(sats, 10))
	}
	if p, err := parseVerbose(res[0].Verbose); err == nil {
		s.coinbase.add(strings.ToLower(txid), p.coinbase)
	}
	return tree, nil
}

// RawTx returns a transaction's serialization as hex.
func (s *Service) RawTx(ctx context.Context, txid string) (string, error) {
	raw, err := s.backend.RawTransaction(ctx, txid)
	if err != nil {
		return "", backendErr("get raw transaction "+txid, err)
	}
	return raw, nil
}

// Broadcast submits a raw transaction (hex) and returns its txid.
func (s *Service) Broadcast(ctx context.Context, rawHex string) (string, error) {
	txid, err := s.backend.Broadcast(ctx, rawHex)
	if err != nil {
		return "", backendErr("broadcast transaction", err)
	}
	return txid, nil
}
