package walletgate_test

import (
	"testing"

	"github.com/walletgate/walletgate"
)

func TestRewatch(t *testing.T) {
	existing := walletgate.Watch{ID: 3, Coin: "btc", Address: "a1", Account: "alice", ExternalID: "first"}
	got, err := walletgate.Watch{Coin: "btc", Address: "a1", Account: "alice", ExternalID: "second"}.Rewatch(existing)
	if err != nil || got != existing {
		t.Fatalf("same account: %+v, %v; want the existing watch", got, err)
	}
	_, err = walletgate.Watch{Coin: "btc", Address: "a1", Account: "bob"}.Rewatch(existing)
	if walletgate.ErrorCode(err) != walletgate.EConflict || walletgate.ErrorMessage(err) != `address a1 (btc) is already watched for account "alice"` {
		t.Fatalf("other account: %v, want EConflict naming alice", err)
	}
}
