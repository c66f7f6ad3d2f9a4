package index

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsNews are btcd's websocket notifications that mean "poll now".
var wsNews = map[string]bool{
	"blockconnected": true, "blockdisconnected": true, "filteredblockconnected": true,
	"filteredblockdisconnected": true, "txaccepted": true, "txacceptedverbose": true,
	"relevanttxaccepted": true,
}

// wsTimeout bounds dialing, subscribing and each keepalive ping.
const wsTimeout = 10 * time.Second

// runWebsocket keeps a btcd notification websocket open until ctx ends,
// turning every block or transaction notification into Notify. Polling
// stays on, so a dropped socket only costs latency; it reconnects with
// backoff up to PollInterval*8.
func (x *Index) runWebsocket(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := x.websocketOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		x.log.Warn("index: btcd websocket closed; reconnecting", "url", x.opts.WebsocketURL, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, x.opts.PollInterval*8)
	}
}

func (x *Index) websocketOnce(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, wsTimeout)
	defer cancel()
	hdr := http.Header{}
	auth := base64.StdEncoding.EncodeToString([]byte(x.opts.WebsocketUser + ":" + x.opts.WebsocketPass))
	hdr.Set("Authorization", "Basic "+auth)
	c, resp, err := websocket.Dial(dctx, x.opts.WebsocketURL, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial %s: HTTP %d: %w", x.opts.WebsocketURL, resp.StatusCode, err)
		}
		return fmt.Errorf("dial %s: %w", x.opts.WebsocketURL, err)
	}
	defer c.CloseNow()
	c.SetReadLimit(32 << 20) // txacceptedverbose can carry a large transaction
	for i, m := range []string{
		`{"jsonrpc":"1.0","id":1,"method":"notifyblocks","params":[]}`,
		`{"jsonrpc":"1.0","id":2,"method":"notifynewtransactions","params":[false]}`,
	} {
		if err := c.Write(dctx, websocket.MessageText, []byte(m)); err != nil {
			return fmt.Errorf("subscribe %d on %s: %w", i, x.opts.WebsocketURL, err)
		}
	}
	// Something new may have happened while we were not listening.
	x.Notify()
	pingCtx, stopPing := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopPing()
	wg.Go(func() { // owned by this call: stopped by stopPing before it returns
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-pingCtx.Done():
				return
			case <-t.C:
				pctx, cancel := context.WithTimeout(pingCtx, wsTimeout)
				err := c.Ping(pctx)
				cancel()
				if err != nil {
					c.CloseNow()
					return
				}
			}
		}
	})
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return err
		}
		var n struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(msg, &n) == nil && wsNews[n.Method] {
			x.Notify()
		}
	}
}
