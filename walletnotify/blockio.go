package walletnotify

import (
	"encoding/json"
	"fmt"
)

// envelope is block.io's notification wrapper, on webhooks and on the
// websocket alike.
type envelope struct {
	NotificationID  string          `json:"notification_id"`
	DeliveryAttempt int             `json:"delivery_attempt"`
	Type            string          `json:"type"`
	Status          string          `json:"status"`
	Data            json.RawMessage `json:"data"`
}

// ParseBlockIO parses one block.io notification body. ok is false for
// messages that carry nothing to deliver: a "ping", or a status message
// (no type). "new-blocks" gives the block hash (data.block_hash); every
// other type gives data.txid, and a txid-bearing message without one is an
// error. The rest of data (amounts, addresses) is never used: the
// transaction is re-fetched from the backend.
func ParseBlockIO(body []byte) (env envelope, n Note, ok bool, err error) {
	if err := json.Unmarshal(body, &env); err != nil {
		return env, Note{}, false, invalid("block.io notification is not a JSON object: %v", err)
	}
	switch env.Type {
	case "", "ping":
		return env, Note{}, false, nil
	}
	var d struct {
		TxID      string `json:"txid"`
		BlockHash string `json:"block_hash"`
	}
	if len(env.Data) == 0 {
		return env, Note{}, true, invalid("block.io %q notification without data", clipStr(env.Type, 40))
	}
	if err := json.Unmarshal(env.Data, &d); err != nil {
		return env, Note{}, true, invalid("block.io %q notification: data is not an object: %v", clipStr(env.Type, 40), err)
	}
	if env.Type == "new-blocks" {
		h, err := ParseHash("data.block_hash", d.BlockHash)
		return env, Note{Kind: KindBlock, Hash: h}, true, wrapType(env.Type, err)
	}
	h, err := ParseHash("data.txid", d.TxID)
	return env, Note{Kind: KindTx, Hash: h}, true, wrapType(env.Type, err)
}

func wrapType(typ string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("block.io %q notification: %w", clipStr(typ, 40), err)
}
