package main

import (
	"context"
	"fmt"
	"time"
)

func runCheck(ctx context.Context, g *globals, args []string) int {
	fs := subFlags(g, "check", "", "Load the config, connect to every coin's backend and print its tip height or the error.\nExits non-zero if the config is invalid or any backend fails.")
	timeout := fs.Duration("timeout", 20*time.Second, "how long to wait for each backend")
	if code, ok := parseSub(fs, args); !ok {
		return code
	}
	cfg, code := loadConfig(g)
	if cfg == nil {
		return code
	}
	log := newLogger(g.stderr, cfg.Server.LogFormat, "warn")
	failed := 0
	for _, c := range cfg.Coins {
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		height, err := checkBackend(cctx, c, log)
		cancel()
		desc := fmt.Sprintf("%s (%s, %s)", c.Name, c.Network, describeBackend(c.Backend))
		if err != nil {
			failed++
			fmt.Fprintf(g.stdout, "%s: FAILED: %v\n", desc, err)
			continue
		}
		fmt.Fprintf(g.stdout, "%s: tip %d\n", desc, height)
	}
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}
