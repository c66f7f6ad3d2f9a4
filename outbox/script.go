package outbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/walletgate/walletgate"
)

// ScriptOptions configures a script handler.
type ScriptOptions struct {
	// Name is the handler's queue name.
	Name string
	// Script runs under sh -c with CRYPTOASSETS_EVENT_NAME and
	// CRYPTOASSETS_EVENT_DATA (the JSON payload) in its environment.
	Script string
	// Timeout kills a script that runs longer (default 30s).
	Timeout time.Duration
	// MaxOutput is how much of the script's output is kept for the error
	// of a failed run, or logged (default 1 KiB).
	MaxOutput int
	// LogOutput logs the output of successful runs too (cryptoassets'
	// log_output); failed runs always carry it in their error.
	LogOutput bool
	// Logger receives the output when LogOutput is set (default: discarded).
	Logger *slog.Logger
}

// Script runs a shell command per event (cryptoassets'
// ScriptEventHandler). A non-zero exit or a timeout is a failure to retry.
type Script struct{ o ScriptOptions }

// NewScript checks o and returns the handler.
func NewScript(o ScriptOptions) (*Script, error) {
	if o.Name == "" || strings.TrimSpace(o.Script) == "" {
		return nil, walletgate.Errorf(walletgate.EInvalid, "outbox: script handler %q needs a name and a script", o.Name)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = 1024
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Script{o: o}, nil
}

// Name implements Handler.
func (s *Script) Name() string { return s.o.Name }

// Deliver implements Handler.
func (s *Script) Deliver(ctx context.Context, ev walletgate.TxUpdate, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", s.o.Script)
	cmd.Env = append(os.Environ(), "CRYPTOASSETS_EVENT_NAME="+walletgate.EventTxUpdate, "CRYPTOASSETS_EVENT_DATA="+string(data))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A child that keeps the output pipe open must not hold us past the kill.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	o := out.Bytes()
	if len(o) > s.o.MaxOutput {
		o = o[len(o)-s.o.MaxOutput:]
	}
	if err != nil {
		return fmt.Errorf("outbox: script %q for %s: %w: %s", s.o.Name, ev.EventID, err, strings.TrimSpace(string(o)))
	}
	if s.o.LogOutput {
		s.o.Logger.Info("outbox: script output", "handler", s.o.Name, "event_id", ev.EventID, "output", strings.TrimSpace(string(o)))
	}
	return nil
}
