// Package testenv tells tests which outside services they may use. A test
// that needs PostgreSQL, Redis or Node asks here; when the service is not
// configured the test is skipped with a message, unless WALLETGATE_REQUIRE_ALL
// is set (as CI sets it), in which case the skip becomes a failure so that CI
// can never pass by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Variables read by this package. .ci/run sets all of them.
const (
	// VarRequireAll turns every "service unavailable" skip into a failure.
	VarRequireAll = "WALLETGATE_REQUIRE_ALL"
	// VarPostgres is a PostgreSQL URL with rights to create databases,
	// e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
	VarPostgres = "WALLETGATE_TEST_POSTGRES"
	// VarRedis is a Redis URL, e.g. redis://127.0.0.1:6379/0.
	VarRedis = "WALLETGATE_TEST_REDIS"
	// VarNode enables tests that run Node.js scripts (the official
	// socket.io-client); its value is the node binary, or "1" for "node".
	VarNode = "WALLETGATE_TEST_NODE"
)

// RequireAll reports whether skips for missing services must fail instead.
func RequireAll() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(VarRequireAll)))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// Unavailable skips t with why, or fails it when RequireAll is set.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("required service unavailable (%s is set): %s", VarRequireAll, why)
	}
	t.Skipf("skipped: service unavailable: %s", why)
}

// PostgresURL returns the configured PostgreSQL admin URL or skips t.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(VarPostgres)
	if u == "" {
		Unavailable(t, VarPostgres+" is not set")
	}
	return u
}

// PostgresDB creates a fresh, empty database for t on the configured server
// and drops it when t ends, so tests never see each other's rows. It returns
// the URL of the new database.
func PostgresDB(t testing.TB) string {
	t.Helper()
	admin := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		Unavailable(t, fmt.Sprintf("connect to %s: %v", admin, err))
	}
	defer conn.Close(ctx)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random database name: %v", err)
	}
	name := "wgtest_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop test database %s: connect: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", VarPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns the configured Redis URL or skips t.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(VarRedis)
	if u == "" {
		Unavailable(t, VarRedis+" is not set")
	}
	return u
}

// NodeBinary returns the node executable to run socket.io-client scripts
// with, or skips t when Node tests are not enabled or node is missing.
func NodeBinary(t testing.TB) string {
	t.Helper()
	v := os.Getenv(VarNode)
	if v == "" {
		Unavailable(t, VarNode+" is not set (run scripts/install-node-deps first)")
	}
	bin := v
	if v == "1" || strings.EqualFold(v, "true") {
		bin = "node"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		Unavailable(t, fmt.Sprintf("node binary %q not found: %v", bin, err))
	}
	return p
}
