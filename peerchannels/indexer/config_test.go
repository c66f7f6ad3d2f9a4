package indexer_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletgate/walletgate/peerchannels/indexer"
	"github.com/walletgate/walletgate/sqlite"
)

func TestNewConfig(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	socks := &sockets{connected: map[int64]bool{}}
	tests := []struct {
		name    string
		cfg     indexer.Config
		wantErr string
	}{
		{"no store", indexer.Config{Sockets: socks}, "Store and Config.Sockets are required"},
		{"no sockets", indexer.Config{Store: store}, "Store and Config.Sockets are required"},
		{"bad scheme", indexer.Config{Store: store, Sockets: socks, URL: "ftp://x"}, "want http(s)://host"},
		{"no host", indexer.Config{Store: store, Sockets: socks, URL: "http://"}, "want http(s)://host"},
		{"defaults", indexer.Config{Store: store, Sockets: socks}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := indexer.New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil || h.Connected() {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}
