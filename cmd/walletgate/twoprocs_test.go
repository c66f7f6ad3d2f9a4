package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate/internal/testenv"
)

// TestTwoProcessesShareChannelNotices runs two walletgate processes on one
// PostgreSQL database: a message written through one reaches a /notify
// websocket connected to the other.
func TestTwoProcessesShareChannelNotices(t *testing.T) {
	db := testenv.PostgresDB(t)
	bin := buildBinary(t)
	a := startProc(t, bin, t.TempDir(), freePort(t), "DATABASE_URL="+db)
	b := startProc(t, bin, t.TempDir(), freePort(t), "DATABASE_URL="+db)

	master := registerAccount(t, a.base)
	create := []byte(`{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	code, body := do(t, "POST", a.base+"/api/v1/channel/manage", master, "application/json", create)
	if code != 200 {
		t.Fatalf("create channel on A: %d %s", code, body)
	}
	var ch struct {
		ID     string `json:"id"`
		Tokens []struct {
			Token string `json:"token"`
		} `json:"access_tokens"`
	}
	json.Unmarshal(body, &ch)
	token := ch.Tokens[0].Token

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := strings.Replace(b.base, "http://", "ws://", 1) + "/api/v1/channel/" + ch.ID + "/notify?token=" + url.QueryEscape(token)
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("websocket on B: %v", err)
	}
	defer conn.CloseNow()

	// The listener on B may attach a moment after the dial returns; write
	// until a notice arrives, then check it names a written sequence.
	written := map[int64]bool{}
	got := make(chan map[string]any, 1)
	go func() {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var m map[string]any
		json.Unmarshal(data, &m)
		got <- m
	}()
	for i := 0; ; i++ {
		code, body := do(t, "POST", a.base+"/api/v1/channel/"+ch.ID, token, "application/json", []byte(`{"n":1}`))
		if code != 200 {
			t.Fatalf("write on A: %d %s", code, body)
		}
		var r struct {
			Sequence int64 `json:"sequence"`
		}
		json.Unmarshal(body, &r)
		written[r.Sequence] = true
		select {
		case m := <-got:
			if m["channel_id"] != ch.ID || m["content_type"] != "application/json" {
				t.Fatalf("notice on B = %v", m)
			}
			if seq, _ := m["sequence"].(float64); !written[int64(seq)] {
				t.Fatalf("notice names sequence %v, written %v", m["sequence"], written)
			}
			return
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("no notice reached process B after %d writes on A\nA:\n%s\nB:\n%s", i+1, a.logs.String(), b.logs.String())
		}
	}
}
