package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/walletgate/walletgate"
)

// DefaultMinConf is the confirmations WalletSource counts in the hot
// balance: cryptoassets' get_backend_balance default.
const DefaultMinConf = 3

// NotifyTimes says when a coin last had a walletnotify;
// *deposits.Tracker implements it.
type NotifyTimes interface {
	LastWalletNotify(coin string) time.Time
}

// BroadcastTimes says when a coin last broadcast a send; the broadcaster
// implements it.
type BroadcastTimes interface {
	LastBroadcast(coin string) time.Time
}

// WalletSource is a Source made of the parts cmd/walletgate already has:
// the coin's wallet backend and the tracker's notify times.
type WalletSource struct {
	// Coin is the coin's name (required).
	Coin string
	// Wallet answers HotBalance (required).
	Wallet walletgate.WalletBackend
	// MinConf is the confirmations HotBalance counts (DefaultMinConf
	// when zero).
	MinConf int
	// Check reports whether the coin's workers run (e.g. the walletnotify
	// intake's goroutine). Nil means alive is "the wallet answers": a
	// Balance call.
	Check func(ctx context.Context) error
	// Notifies gives LastWalletNotify; nil means never.
	Notifies NotifyTimes
	// Broadcasts gives LastBroadcast; nil means never.
	Broadcasts BroadcastTimes
}

var _ Source = WalletSource{}

// Name implements Source.
func (w WalletSource) Name() string { return w.Coin }

// Alive implements Source: Check when set, else whether the wallet
// answers.
func (w WalletSource) Alive(ctx context.Context) error {
	if w.Check != nil {
		return w.Check(ctx)
	}
	if w.Wallet == nil {
		return walletgate.Errorf(walletgate.EUnavailable, "%s has no wallet backend", w.Coin)
	}
	if _, err := w.Wallet.Balance(ctx, w.minConf()); err != nil {
		return fmt.Errorf("%s wallet does not answer: %w", w.Coin, err)
	}
	return nil
}

// HotBalance implements Source.
func (w WalletSource) HotBalance(ctx context.Context) (int64, error) {
	if w.Wallet == nil {
		return 0, walletgate.Errorf(walletgate.EUnavailable, "%s has no wallet backend", w.Coin)
	}
	b, err := w.Wallet.Balance(ctx, w.minConf())
	if err != nil {
		return 0, fmt.Errorf("%s hot wallet balance (%d conf): %w", w.Coin, w.minConf(), err)
	}
	return b, nil
}

// LastWalletNotify implements Source.
func (w WalletSource) LastWalletNotify() time.Time {
	if w.Notifies == nil {
		return time.Time{}
	}
	return w.Notifies.LastWalletNotify(w.Coin)
}

// LastBroadcast implements Source.
func (w WalletSource) LastBroadcast() time.Time {
	if w.Broadcasts == nil {
		return time.Time{}
	}
	return w.Broadcasts.LastBroadcast(w.Coin)
}

func (w WalletSource) minConf() int {
	if w.MinConf == 0 {
		return DefaultMinConf
	}
	return w.MinConf
}

// callResult is one bounded call's outcome.
type callResult[T any] struct {
	v   T
	err error
}

// bounded runs f with a timeout and stops waiting when it passes, even if
// f ignores its context; f's goroutine then ends when f returns. A panic
// in f becomes an error instead of killing the process.
func bounded[T any](ctx context.Context, timeout time.Duration, what string, f func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan callResult[T], 1)
	go func() {
		var res callResult[T]
		defer func() {
			if p := recover(); p != nil {
				res.err = fmt.Errorf("panicked: %v", p)
			}
			ch <- res
		}()
		res.v, res.err = f(cctx)
	}()
	var res callResult[T]
	select {
	case res = <-ch:
	case <-cctx.Done():
		res.err = cctx.Err()
	}
	if res.err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return res.v, fmt.Errorf("%s: no answer within %s: %w", what, timeout, res.err)
	}
	if res.err != nil {
		return res.v, fmt.Errorf("%s: %w", what, res.err)
	}
	return res.v, nil
}
