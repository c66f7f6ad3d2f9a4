package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/coder/websocket"

	"github.com/walletgate/walletgate/internal/regtest"
)

// pcClient is an ElectrumSV-style client of one front.
type pcClient struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// do sends a request with a bearer token (when token is set) and returns
// the status, headers and body.
func (c *pcClient) do(method, path, token, ctype string, body []byte, extra ...string) (int, http.Header, []byte) {
	c.t.Helper()
	hdr := extra
	if token != "" {
		hdr = append(hdr, "Authorization", "Bearer "+token)
	}
	if ctype != "" {
		hdr = append(hdr, "Content-Type", ctype)
	}
	code, h, b, err := httpDo(c.ctx, method, c.base+path, body, hdr...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, h, b
}

// must is do that requires status want and returns the body.
func (c *pcClient) must(want int, method, path, token, ctype string, body []byte) []byte {
	c.t.Helper()
	code, _, b := c.do(method, path, token, ctype, body)
	if code != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
	}
	return b
}

// bitcoinSignedMessageHash is the digest Bitcoin's signmessage signs,
// written here from the spec rather than taken from the server's code.
func bitcoinSignedMessageHash(msg []byte) []byte {
	var b bytes.Buffer
	const magic = "Bitcoin Signed Message:\n"
	wire.WriteVarInt(&b, 0, uint64(len(magic)))
	b.WriteString(magic)
	wire.WriteVarInt(&b, 0, uint64(len(msg)))
	b.Write(msg)
	first := sha256.Sum256(b.Bytes())
	second := sha256.Sum256(first[:])
	return second[:]
}

// register creates an account as ElectrumSV does and returns its master
// token: a signed "<server_url>api/v1/account/register <utcnow ISO>".
func (c *pcClient) register(priv *btcec.PrivateKey) string {
	c.t.Helper()
	msg := []byte(c.base + "/api/v1/account/register " + time.Now().UTC().Format("2006-01-02T15:04:05.000000"))
	sig := ecdsa.SignCompact(priv, bitcoinSignedMessageHash(msg), true)
	pub := hex.EncodeToString(priv.PubKey().SerializeCompressed())
	body, _ := json.Marshal(map[string]string{"public_key_hex": pub, "signature_hex": hex.EncodeToString(sig), "message_hex": hex.EncodeToString(msg)})
	resp := c.must(200, "POST", "/api/v1/account/register", "", "application/json", body)
	var r map[string]string
	if err := json.Unmarshal(resp, &r); err != nil || len(r) != 2 || r["public_key_hex"] != pub {
		c.t.Fatalf("register answered %s: ElectrumSV requires exactly {public_key_hex (echoed), api_key}", resp)
	}
	checkToken(c.t, "api_key", r["api_key"])
	return r["api_key"]
}

// checkToken fails t unless tok is base64url (padded) of 64 random bytes.
func checkToken(t *testing.T, what, tok string) {
	t.Helper()
	if b, err := base64.URLEncoding.DecodeString(tok); err != nil || len(b) != 64 || len(tok) != 88 {
		t.Fatalf("%s %q is not 88 characters of base64url of 64 bytes", what, tok)
	}
}

type pcChannel struct {
	ID           string `json:"id"`
	Href         string `json:"href"`
	PublicRead   bool   `json:"public_read"`
	PublicWrite  bool   `json:"public_write"`
	Sequenced    bool   `json:"sequenced"`
	Locked       bool   `json:"locked"`
	HeadSequence int64  `json:"head_sequence"`
	AccessTokens []struct {
		ID          int64  `json:"id"`
		Token       string `json:"token"`
		Description string `json:"description"`
		CanRead     bool   `json:"can_read"`
		CanWrite    bool   `json:"can_write"`
	} `json:"access_tokens"`
}

type pcMessage struct {
	Sequence    int64  `json:"sequence"`
	Received    string `json:"received"`
	ContentType string `json:"content_type"`
	Payload     []byte `json:"payload"`
}

// pcNotice is a channel-message notification: the /notify text frame and
// the account socket's kind-1 payload.
type pcNotice struct {
	Sequence    int64  `json:"sequence"`
	Received    string `json:"received"`
	ContentType string `json:"content_type"`
	ChannelID   string `json:"channel_id"`
}

// readFrame reads one websocket message within 20 s.
func readFrame(t *testing.T, ctx context.Context, c *websocket.Conn, what string) (websocket.MessageType, []byte) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	typ, data, err := c.Read(rctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return typ, data
}

func dialSocket(t *testing.T, ctx context.Context, url string, hdr http.Header) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// exactKeys fails t unless the JSON object raw has exactly keys.
func exactKeys(t *testing.T, what string, raw []byte, keys ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %q: %v", what, raw, err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("%s %s has keys %v, want exactly %v", what, raw, got, keys)
	}
}

// testPeerChannels runs ElectrumSV's peer-channel call sequence: register
// an account, open the account websocket (binary, as ElectrumSV does),
// create a channel and a token for the peer, listen on the channel's
// notify socket, let the peer write, read and mark messages, and tear down.
func (s *stack) testPeerChannels(t *testing.T, f front) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &pcClient{t: t, ctx: ctx, base: f.base}

	if body := c.must(200, "GET", "/", "", "", nil); string(body) != "ElectrumSV Reference Server" {
		t.Fatalf("GET / = %q", body)
	}
	var eps struct {
		BaseURL   string `json:"baseUrl"`
		Endpoints []struct {
			APIType string `json:"apiType"`
			BaseURL string `json:"baseUrl"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal(c.must(200, "GET", "/api/v1/endpoints", "", "", nil), &eps); err != nil {
		t.Fatal(err)
	}
	// Without HREF_* the public address is the one the request came to: the
	// front must pass the client's Host (with its port) through.
	if eps.BaseURL != f.base {
		t.Errorf("endpoints baseUrl %q, want the front's %q", eps.BaseURL, f.base)
	}
	types := map[string]string{}
	for _, e := range eps.Endpoints {
		types[e.APIType] = e.BaseURL
	}
	for typ, want := range map[string]string{"bsvapi.account": "/api/v1/account", "bsvapi.channel": "/api/v1/channel", "bsvapi.websocket": "/api/v1/web-socket", "bsvapi.headers": "/api/v1/headers"} {
		if types[typ] != want {
			t.Errorf("endpoints: %s = %q, want %q (%v)", typ, types[typ], want, types)
		}
	}

	priv, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	master := c.register(priv)
	if again := c.register(priv); again != master {
		t.Fatalf("registering the same key again gave a new api_key")
	}
	var acct map[string]string
	json.Unmarshal(c.must(200, "GET", "/api/v1/account", master, "", nil), &acct)
	if acct["api_key"] != master || acct["public_key_hex"] != hex.EncodeToString(priv.PubKey().SerializeCompressed()) {
		t.Fatalf("GET /api/v1/account = %v", acct)
	}
	if code, _, _ := c.do("GET", "/api/v1/account", "", "", nil, "Authorization", "Basic xyz"); code != 400 {
		t.Errorf("GET /api/v1/account with Basic auth = %d, want 400", code)
	}

	// The account socket in binary mode, as ElectrumSV opens it.
	acctSock := dialSocket(t, ctx, wsURL(f.base)+"/api/v1/web-socket?token="+master, http.Header{"Accept": {"application/octet-stream"}})

	// ElectrumSV's channel defaults.
	create := []byte(`{"public_read":false,"public_write":true,"sequenced":true,"retention":{"min_age_days":0,"max_age_days":0,"auto_prune":true}}`)
	var ch pcChannel
	if err := json.Unmarshal(c.must(200, "POST", "/api/v1/channel/manage", master, "application/json", create), &ch); err != nil {
		t.Fatal(err)
	}
	checkToken(t, "channel id", ch.ID)
	if want := f.base + "/api/v1/channel/" + ch.ID; ch.Href != want {
		t.Errorf("channel href %q, want %q (the front's address)", ch.Href, want)
	}
	if !ch.Sequenced || ch.Locked || ch.HeadSequence != 0 || len(ch.AccessTokens) != 1 {
		t.Fatalf("created channel %+v", ch)
	}
	owner := ch.AccessTokens[0]
	if owner.Description != "Owner" || !owner.CanRead || !owner.CanWrite {
		t.Fatalf("owner token %+v", owner)
	}
	checkToken(t, "owner token", owner.Token)
	// The server registers a socket just after its handshake answer, so it
	// is opened a few round trips before the first write (as ElectrumSV
	// opens its sockets long before messages come).
	notifySock := dialSocket(t, ctx, wsURL(f.base)+"/api/v1/channel/"+ch.ID+"/notify?token="+owner.Token, nil)
	var list []pcChannel
	if err := json.Unmarshal(c.must(200, "GET", "/api/v1/channel/manage/list", master, "", nil), &list); err != nil || len(list) != 1 || list[0].ID != ch.ID {
		t.Fatalf("manage/list = %+v %v, want the bare array with the channel", list, err)
	}
	var got pcChannel
	json.Unmarshal(c.must(200, "GET", "/api/v1/channel/manage/"+ch.ID, master, "", nil), &got)
	if got.ID != ch.ID {
		t.Fatalf("manage/{id} = %+v", got)
	}

	// A token for the peer who writes to us.
	var peer struct {
		ID          int64  `json:"id"`
		Token       string `json:"token"`
		Description string `json:"description"`
		CanRead     bool   `json:"can_read"`
		CanWrite    bool   `json:"can_write"`
	}
	json.Unmarshal(c.must(200, "POST", "/api/v1/channel/manage/"+ch.ID+"/api-token", master, "application/json",
		[]byte(`{"description":"peer","can_read":true,"can_write":true}`)), &peer)
	if peer.Description != "peer" || !peer.CanRead || !peer.CanWrite || peer.ID == owner.ID {
		t.Fatalf("created token %+v", peer)
	}
	checkToken(t, "peer token", peer.Token)
	var tokens []json.RawMessage
	if err := json.Unmarshal(c.must(200, "GET", "/api/v1/channel/manage/"+ch.ID+"/api-token", master, "", nil), &tokens); err != nil || len(tokens) != 2 {
		t.Fatalf("token list: %d tokens %v, want 2", len(tokens), err)
	}

	write := func(token string, payload []byte) pcMessage {
		t.Helper()
		var m pcMessage
		if err := json.Unmarshal(c.must(200, "POST", "/api/v1/channel/"+ch.ID, token, "application/json", payload), &m); err != nil {
			t.Fatal(err)
		}
		if m.ContentType != "application/json" || !bytes.Equal(m.Payload, payload) || !strings.HasSuffix(m.Received, "Z") {
			t.Fatalf("write answered %+v for %s", m, payload)
		}
		return m
	}
	notice := func(m pcMessage) pcNotice {
		return pcNotice{Sequence: m.Sequence, Received: m.Received, ContentType: m.ContentType, ChannelID: ch.ID}
	}
	expectNotify := func(m pcMessage) {
		t.Helper()
		typ, data := readFrame(t, ctx, notifySock, fmt.Sprintf("the notify frame for message %d", m.Sequence))
		var n pcNotice
		if typ != websocket.MessageText || json.Unmarshal(data, &n) != nil || n != notice(m) {
			t.Fatalf("notify socket got %v %s, want text %+v", typ, data, notice(m))
		}
		exactKeys(t, "notify frame", data, "sequence", "received", "content_type", "channel_id")
	}
	expectAccount := func(m pcMessage) {
		t.Helper()
		typ, data := readFrame(t, ctx, acctSock, fmt.Sprintf("the account frame for message %d", m.Sequence))
		if typ != websocket.MessageBinary || len(data) < 4 || binary.BigEndian.Uint32(data) != 1 {
			t.Fatalf("account socket got %v %q, want a binary kind-1 frame", typ, data)
		}
		var n pcNotice
		if json.Unmarshal(data[4:], &n) != nil || n != notice(m) {
			t.Fatalf("account frame %s, want %+v", data[4:], notice(m))
		}
		exactKeys(t, "account frame", data[4:], "sequence", "received", "content_type", "channel_id")
	}

	// The peer writes; both sockets hear of it.
	first := []byte(`{"kind":"invoice","amount":1234}`)
	m1 := write(peer.Token, first)
	if m1.Sequence != 1 {
		t.Fatalf("first message has sequence %d", m1.Sequence)
	}
	expectNotify(m1)
	expectAccount(m1)

	// We read it as ElectrumSV does: HEAD for the count, GET the unread.
	code, hdr, _ := c.do("HEAD", "/api/v1/channel/"+ch.ID, owner.Token, "", nil)
	if code != 200 || hdr.Get("ETag") != "1" || hdr.Get("Channel-Flags") != "rw" {
		t.Fatalf("HEAD = %d ETag %q Channel-Flags %q, want 200, 1, rw", code, hdr.Get("ETag"), hdr.Get("Channel-Flags"))
	}
	readUnread := func(token string) ([]pcMessage, http.Header) {
		t.Helper()
		code, hdr, body := c.do("GET", "/api/v1/channel/"+ch.ID+"?unread=true", token, "", nil, "Accept", "application/json")
		var ms []pcMessage
		if code != 200 || json.Unmarshal(body, &ms) != nil {
			t.Fatalf("GET unread = %d %s", code, body)
		}
		return ms, hdr
	}
	ms, hdr := readUnread(owner.Token)
	if len(ms) != 1 || ms[0].Sequence != 1 || !bytes.Equal(ms[0].Payload, first) || hdr.Get("ETag") != "1" {
		t.Fatalf("unread for the owner = %+v (ETag %q), want message 1", ms, hdr.Get("ETag"))
	}
	c.must(200, "POST", fmt.Sprintf("/api/v1/channel/%s/%d", ch.ID, m1.Sequence), owner.Token, "application/json", []byte(`{"read":true}`))
	if ms, _ := readUnread(owner.Token); len(ms) != 0 {
		t.Fatalf("unread after marking = %+v, want none", ms)
	}

	// We answer with the Owner token: the notify socket hears it, the
	// account socket does not (it is our own write).
	m2 := write(owner.Token, []byte(`{"kind":"ack"}`))
	if m2.Sequence != 2 {
		t.Fatalf("second message has sequence %d", m2.Sequence)
	}
	expectNotify(m2)
	// The channel is sequenced: the peer must read before writing again.
	if code, _, body := c.do("POST", "/api/v1/channel/"+ch.ID, peer.Token, "application/json", []byte(`{"kind":"early"}`)); code != 400 || !strings.Contains(string(body), "10002") {
		t.Fatalf("write with an unread message = %d %s, want 400 10002", code, body)
	}
	ms, _ = readUnread(peer.Token)
	if len(ms) != 1 || ms[0].Sequence != 2 {
		t.Fatalf("unread for the peer = %+v, want message 2", ms)
	}
	c.must(200, "POST", fmt.Sprintf("/api/v1/channel/%s/2?older=true", ch.ID), peer.Token, "application/json", []byte(`{"read":true}`))
	m3 := write(peer.Token, []byte(`{"kind":"receipt"}`))
	if m3.Sequence != 3 {
		t.Fatalf("third message has sequence %d", m3.Sequence)
	}
	expectNotify(m3)
	// Frames keep their order, so the next account frame being message 3
	// shows message 2 (the owner's) was not sent to the account socket.
	expectAccount(m3)

	// Tear down as ElectrumSV does.
	c.must(200, "DELETE", fmt.Sprintf("/api/v1/channel/%s/1", ch.ID), owner.Token, "", nil)
	c.must(204, "DELETE", fmt.Sprintf("/api/v1/channel/manage/%s/api-token/%d", ch.ID, peer.ID), master, "", nil)
	c.must(204, "DELETE", "/api/v1/channel/manage/"+ch.ID, master, "", nil)
	c.must(404, "GET", "/api/v1/channel/manage/"+ch.ID, master, "", nil)
}

// testHeadersTips checks the headers API in proxy mode over a fake HeaderSV
// that follows the btcd chain: the tips JSON, and the tips websocket's
// 84-byte frame (header ‖ uint32LE height) for a block mined on btcd, with
// the same tip as text on a JSON-mode account socket.
func (s *stack) testHeadersTips(t *testing.T, f front) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &pcClient{t: t, ctx: ctx, base: f.base}
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	master := c.register(priv)

	// A browser page served by the front opens the socket with its Origin;
	// the server admits same-origin pages only, so the front must keep Host.
	tipsSock := dialSocket(t, ctx, wsURL(f.base)+"/api/v1/headers/tips/websocket", http.Header{"Origin": {f.base}})
	acctSock := dialSocket(t, ctx, wsURL(f.base)+"/api/v1/web-socket?token="+master, nil)

	hashes, err := s.node.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.node.Height(ctx)
	s.followHeaders(ctx, t)
	_, raw := nodeHeader(ctx, t, s.node, h)

	typ, data := readFrame(t, ctx, tipsSock, "the tips frame")
	want := binary.LittleEndian.AppendUint32(bytes.Clone(raw), uint32(h))
	if typ != websocket.MessageBinary || !bytes.Equal(data, want) {
		t.Fatalf("tips frame %v %x, want binary %x (header at %d ‖ LE height)", typ, data, want, h)
	}

	typ, data = readFrame(t, ctx, acctSock, "the headers tip on the account socket")
	var tip struct {
		MessageType string `json:"message_type"`
		Result      []struct {
			State  string `json:"state"`
			Height int64  `json:"height"`
			Header struct {
				Hash string `json:"hash"`
			} `json:"header"`
		} `json:"result"`
	}
	if typ != websocket.MessageText || json.Unmarshal(data, &tip) != nil || tip.MessageType != "bsvapi.headers.tip" ||
		len(tip.Result) == 0 || tip.Result[0].Height != h || tip.Result[0].Header.Hash != hashes[0] {
		t.Fatalf("account socket got %v %s, want text bsvapi.headers.tip for %s at %d", typ, data, hashes[0], h)
	}

	var tips []struct {
		State  string `json:"state"`
		Height int64  `json:"height"`
	}
	if err := json.Unmarshal(c.must(200, "GET", "/api/v1/headers/tips?longest_chain=1", "", "", nil), &tips); err != nil ||
		len(tips) != 1 || tips[0].Height != h || tips[0].State != "LONGEST_CHAIN" {
		t.Fatalf("GET headers/tips = %+v %v, want the longest chain at %d", tips, err, h)
	}
}

// nodeHeader fetches the header at height from btcd: parsed and raw.
func nodeHeader(ctx context.Context, t *testing.T, node *regtest.Node, height int64) (wire.BlockHeader, []byte) {
	t.Helper()
	bh, raw, err := node.Header(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	return bh, raw
}
