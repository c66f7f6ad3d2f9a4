package rpc

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/walletgate/walletgate"
)

// TestTLSWithCustomCA: an https node whose certificate only a given CA
// file vouches for is reachable with Config.CAFile and refused without.
func TestTLSWithCustomCA(t *testing.T) {
	f := &fakeNode{user: "u", pass: "p"}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	url := "https://u:p@" + srv.Listener.Addr().String() + "/"
	c := newClient(t, Config{URL: url, CAFile: ca})
	if n, err := c.BlockCount(context.Background()); err != nil || n != 7 {
		t.Fatalf("with CA file: %d, %v", n, err)
	}
	plain := newClient(t, Config{URL: url})
	if _, err := plain.BlockCount(context.Background()); walletgate.ErrorCode(err) != walletgate.EUnavailable {
		t.Fatalf("without CA file: %v; want EUnavailable (unknown authority)", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not pem"), 0o600)
	if _, err := New(Config{URL: url, CAFile: bad}); walletgate.ErrorCode(err) != walletgate.EInvalid {
		t.Fatalf("CA file without PEM: %v; want EInvalid", err)
	}
}
