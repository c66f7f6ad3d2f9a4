package walletgate_test

import (
	"testing"
	"time"

	"github.com/walletgate/walletgate"
)

// TestNewOutboxEvents: the outbox keeps the exact payload MarshalTxUpdate
// makes, keyed by event id, coin and address.
func TestNewOutboxEvents(t *testing.T) {
	u := walletgate.TxUpdate{EventID: "btc:t:a:3", Coin: "btc", TransactionType: walletgate.TxTypeDeposit, TransactionID: 7, NetworkTxID: 2,
		Account: "alice", TxID: "t", Address: "a", Amount: 21000, Credited: true, Confirmations: 3}
	out, err := walletgate.NewOutboxEvents([]walletgate.TxUpdate{u})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := walletgate.MarshalTxUpdate(u)
	if len(out) != 1 || out[0].EventID != u.EventID || out[0].Coin != "btc" || out[0].Address != "a" || string(out[0].Payload) != string(b) {
		t.Fatalf("outbox events %+v, want one carrying %s", out, b)
	}
	for _, c := range []struct {
		err  error
		code string
	}{
		{walletgate.ValidateHandlerName(" "), walletgate.EInvalid},
		{walletgate.ValidateHandlerName("app"), ""},
		{walletgate.ValidateClaim("app", 0, time.Minute), walletgate.EInvalid},
		{walletgate.ValidateClaim("app", 1, 0), walletgate.EInvalid},
		{walletgate.ValidateClaim("app", 1, time.Minute), ""},
	} {
		if walletgate.ErrorCode(c.err) != c.code && !(c.code == "" && c.err == nil) {
			t.Errorf("%v, want code %q", c.err, c.code)
		}
	}
}
