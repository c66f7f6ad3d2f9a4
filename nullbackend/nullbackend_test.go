package nullbackend_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/nullbackend"
)

func TestEmptyChain(t *testing.T) {
	ctx := context.Background()
	b := nullbackend.Empty()
	var sh walletgate.ScriptHash
	if bal, err := b.Balance(ctx, sh); err != nil || bal != (walletgate.Balance{}) {
		t.Errorf("balance %+v, %v", bal, err)
	}
	if h, err := b.History(ctx, sh); err != nil || len(h) != 0 {
		t.Errorf("history %v, %v", h, err)
	}
	if tip, err := b.Tip(ctx); err != nil || tip.Height != 0 {
		t.Errorf("tip %+v, %v", tip, err)
	}
	res, err := b.Transactions(ctx, []string{strings.Repeat("ab", 32), strings.Repeat("cd", 32)})
	var re *walletgate.RPCError
	if err != nil || len(res) != 2 || !errors.As(res[1].Err, &re) || !strings.Contains(re.Message, "No such mempool") {
		t.Errorf("transactions %+v, %v", res, err)
	}
	if _, err := b.Broadcast(ctx, "00"); walletgate.ErrorCode(err) != walletgate.ENotImplemented {
		t.Errorf("broadcast: %v", err)
	}
}

func TestUnavailableNamesTheReason(t *testing.T) {
	ctx := context.Background()
	b := nullbackend.Unavailable("coin btc tracks deposits only: backend.index is false")
	var sh walletgate.ScriptHash
	calls := map[string]error{}
	_, calls["tip"] = b.Tip(ctx)
	_, calls["balance"] = b.Balance(ctx, sh)
	_, calls["history"] = b.History(ctx, sh)
	_, calls["unspent"] = b.Unspent(ctx, sh)
	_, calls["transactions"] = b.Transactions(ctx, []string{"x"})
	_, calls["raw"] = b.RawTransaction(ctx, "x")
	_, calls["broadcast"] = b.Broadcast(ctx, "00")
	_, calls["subscribe"] = b.Subscribe(ctx, sh)
	for name, err := range calls {
		if walletgate.ErrorCode(err) != walletgate.EUnavailable || !strings.Contains(err.Error(), "backend.index is false") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
