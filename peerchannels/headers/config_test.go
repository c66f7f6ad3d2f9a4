package headers_test

import (
	"strings"
	"testing"

	"github.com/walletgate/walletgate/peerchannels/headers"
)

func TestNewConfig(t *testing.T) {
	if _, err := headers.New(headers.Config{}); err == nil || !strings.Contains(err.Error(), "Source is required") {
		t.Fatalf("New without a source: %v", err)
	}
	for _, u := range []string{"ftp://h", "http://", "::"} {
		if _, err := headers.NewHeaderSV(headers.HeaderSVConfig{URL: u}); err == nil {
			t.Fatalf("HeaderSV URL %q accepted", u)
		}
	}
	if _, err := headers.NewHeaderSV(headers.HeaderSVConfig{}); err != nil {
		t.Fatalf("default HeaderSV URL: %v", err)
	}
}
