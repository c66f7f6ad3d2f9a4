// Package e2e tests the built walletgate binary the way it is deployed: the
// real executable (built once per test run with go build), started as a
// process on loopback, driven over the network by real clients — the
// official socket.io-client under Node, coder/websocket, net/http, and the
// curl, sh and redis-cli commands a node's walletnotify runs — against real
// parts: a btcd regtest node (internal/regtest), btcwallet, Redis, and a
// fake HeaderSV where the real one cannot run.
//
// Every client-facing scenario runs twice, on two fronts:
//
//	direct  the client talks to walletgate's listener
//	nginx   the client talks to Debian's nginx, started by the test with
//	        the repository's own site config (contrib/nginx/walletgate.conf)
//	        in which only the listen line and the upstream server line are
//	        substituted, so the tested config is the shipped one
//
// It exists because package tests mount handlers directly, while the binary
// wraps them (metrics, timeouts, routing): a websocket that worked in every
// package test once answered 500 from the binary.
//
// Services and tools follow internal/testenv: a test that needs a missing
// one (node with WALLETGATE_TEST_NODE, Redis with WALLETGATE_TEST_REDIS,
// nginx, curl, redis-cli) skips with a message, or fails when
// WALLETGATE_REQUIRE_ALL=1. Run it with
//
//	scripts/install-node-deps && scripts/install-nginx
//	WALLETGATE_TEST_NODE=node WALLETGATE_TEST_REDIS=redis://127.0.0.1:6379/0 go test ./internal/e2e/
//
// WALLETGATE_E2E_BINARY=path tests that executable instead of building one.
package e2e
