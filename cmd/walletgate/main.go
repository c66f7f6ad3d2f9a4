// Command walletgate serves the wallet REST API, live push, peer channels
// and deposit tracking for many coins from one process. This package only
// parses the command line and wires the other packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/walletgate/walletgate/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a run-time failure: a backend unreachable, a bind error
	exitUsage   = 2 // bad flags or an invalid configuration
	// exitDeadTask: a critical background task (an intake, a tracker, an
	// event worker) died; cryptoassets' service exited 2 as well.
	exitDeadTask = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, g *globals, args []string) int
}

// globals are the flags every subcommand takes, and where it writes.
type globals struct {
	configPath string
	envFile    string
	stdout     io.Writer
	stderr     io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the server (the default command)", runServe},
		{"check", "load the config, connect to every backend, print each tip height", runCheck},
		{"address", "decode an address: type, scriptPubKey and Electrum scripthash as JSON", runAddress},
		{"version", "print the version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: walletgate [--config FILE] [--env-file FILE] [command] [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n  --config FILE    YAML config (default: $%s)\n  --env-file FILE  .env file (default: ./.env if present)\n\nRun 'walletgate COMMAND --help' for a command's flags.\n", config.VarConfig)
}

// run parses args and runs a subcommand; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("walletgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.configPath, "config", "", "YAML config file")
	fs.StringVar(&g.envFile, "env-file", "", ".env file")
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	name := "serve"
	if len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, g, rest)
		}
	}
	fmt.Fprintf(stderr, "walletgate: unknown command %q (commands: serve, check, address, version)\n", name)
	return exitUsage
}

// subFlags makes a flag set whose --help prints the command's usage.
func subFlags(g *globals, name, argsUsage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(g.stderr)
	fs.Usage = func() {
		fmt.Fprintf(g.stderr, "Usage: walletgate %s [flags] %s\n\n%s\n", name, argsUsage, summary)
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(g.stderr)
		if b.Len() > 0 {
			fmt.Fprintf(g.stderr, "\nFlags:\n%s", b.String())
		}
	}
	return fs
}

// parseSub parses a subcommand's flags; ok is false when the command should
// return code at once (help, or a usage error).
func parseSub(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// loadConfig loads the configuration, printing its problems one per line.
func loadConfig(g *globals) (*config.Config, int) {
	cfg, err := config.Load(config.LoadOptions{ConfigPath: g.configPath, DotenvPath: g.envFile})
	if err != nil {
		var probs config.Problems
		if errors.As(err, &probs) {
			for _, p := range probs {
				fmt.Fprintf(g.stderr, "walletgate: config: %s\n", p)
			}
		} else {
			fmt.Fprintf(g.stderr, "walletgate: config: %v\n", err)
		}
		return nil, exitUsage
	}
	return cfg, exitOK
}

// newLogger builds the process logger: text by default, JSON on request.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runVersion(ctx context.Context, g *globals, args []string) int {
	fs := subFlags(g, "version", "", "Print the version of walletgate.")
	if code, ok := parseSub(fs, args); !ok {
		return code
	}
	fmt.Fprintf(g.stdout, "walletgate %s\n", version)
	return exitOK
}
