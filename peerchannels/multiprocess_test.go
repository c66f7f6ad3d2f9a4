package peerchannels

import (
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/coder/websocket"
	"github.com/walletgate/walletgate/internal/testenv"
)

// Two services (as two processes would) share one PostgreSQL database,
// each with its own pool and LISTEN connection: a write through either
// reaches the sockets of the other, channel and account sockets alike.
func TestTwoServicesSharePostgres(t *testing.T) {
	url := testenv.PostgresDB(t)
	stA, stB := openPostgres(t, url), openPostgres(t, url)
	a := newEnvOn(t, stA, stA.Notifier())
	b := newEnvOn(t, stB, stB.Notifier())

	key, acctID := a.account()
	ch := a.channel(key, `{"public_read":true,"public_write":true,"sequenced":false,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	owner := ch.AccessTokens[0].Token
	peer := a.token(key, ch.ID, true, true).Token

	onB := b.mustDial("/api/v1/channel/" + ch.ID + "/notify?token=" + owner)
	acctOnB := b.mustDial("/api/v1/web-socket?token="+key, "Accept", "application/octet-stream")
	eventually(t, "account socket tracked on B", func() bool { return b.svc.AccountConnected(acctID) })
	onA := a.mustDial("/api/v1/channel/" + ch.ID + "/notify?token=" + peer)

	want(t, "write through A", a.write(peer, ch.ID, `{"via":"A"}`), 200, "")
	want(t, "write through B", b.write(peer, ch.ID, `{"via":"B"}`), 200, "")
	for name, c := range map[string]*websocket.Conn{"socket on B": onB, "socket on A": onA} {
		for want := int64(1); want <= 2; want++ {
			_, data := next(t, c)
			var n noticeJSON
			if json.Unmarshal(data, &n) != nil || n.Sequence != want || n.ChannelID != ch.ID {
				t.Fatalf("%s: notice %s, want sequence %d", name, data, want)
			}
		}
	}
	for want := int64(1); want <= 2; want++ {
		typ, data := next(t, acctOnB)
		var n noticeJSON
		if typ != websocket.MessageBinary || binary.BigEndian.Uint32(data) != KindChannelMessage ||
			json.Unmarshal(data[4:], &n) != nil || n.Sequence != want {
			t.Fatalf("account socket on B: frame %x, want kind 1 sequence %d", data, want)
		}
	}
}
