// Command killsync runs an index against a node so that a test can kill
// it with SIGKILL mid-sync or at the tip and check the store afterwards.
// It logs JSON lines to stdout: catch-up progress after every committed
// window (FetchWindow 1: every block) and every change at the tip.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/walletgate/walletgate/index"
	"github.com/walletgate/walletgate/rpc"
)

func main() {
	url := flag.String("url", "", "node JSON-RPC URL with credentials")
	path := flag.String("path", "", "index store file")
	follow := flag.Bool("follow", false, "keep following the tip (Run) instead of one Sync")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	node, err := rpc.New(rpc.Config{URL: *url})
	if err != nil {
		log.Error("rpc", "err", err)
		os.Exit(2)
	}
	x, err := index.Open(node, index.Options{
		Path: *path, FetchWindow: 1, FetchParallel: 2, ProgressEvery: time.Nanosecond,
		PollInterval: 50 * time.Millisecond, Logger: log,
		OnChange: func(ch index.Change) { log.Info("change", "height", ch.Tip.Height) },
	})
	if err != nil {
		log.Error("open", "err", err)
		os.Exit(2)
	}
	defer x.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *follow {
		_ = x.Run(ctx)
		return
	}
	if err := x.Sync(ctx); err != nil {
		log.Error("sync", "err", err)
		os.Exit(1)
	}
}
