package peerchannels

import (
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/walletgate/walletgate"
)

// timeFormat is the reference's message timestamp: whole seconds, UTC, Z.
const timeFormat = "2006-01-02T15:04:05Z"

// messageJSON is a message as write and GET return it.
type messageJSON struct {
	Sequence    int64  `json:"sequence"`
	Received    string `json:"received"`
	ContentType string `json:"content_type"`
	Payload     string `json:"payload"` // standard base64 of the raw body, JSON or not
}

func toMessageJSON(m walletgate.Message) messageJSON {
	return messageJSON{
		Sequence: m.Sequence, Received: m.Received.UTC().Format(timeFormat),
		ContentType: m.ContentType, Payload: base64.StdEncoding.EncodeToString(m.Payload),
	}
}

// channelBearer is the preamble of every message endpoint: a Bearer header
// (else 400) and a channel token fit for need on {id} (else 401).
func (s *Service) channelBearer(w http.ResponseWriter, r *http.Request, need permission) (channelAuth, bool) {
	tok, ok := bearer(r)
	if !ok {
		writeError(w, http.StatusBadRequest, reasonNoBearer)
		return channelAuth{}, false
	}
	return s.authChannel(w, r, tok, need)
}

// writeMessage is POST /api/v1/channel/{id}.
func (s *Service) writeMessage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.channelBearer(w, r, permWrite)
	if !ok {
		return
	}
	ctype := "application/octet-stream"
	if h := r.Header.Get("Content-Type"); h != "" {
		mt, _, err := mime.ParseMediaType(h)
		if err != nil || (mt != "application/json" && mt != "application/octet-stream") {
			writeError(w, http.StatusBadRequest, "10020: content-type header must be either 'application/octet-stream' or 'application/json'")
			return
		}
		ctype = mt
	}
	if r.ContentLength <= 0 {
		writeError(w, http.StatusBadRequest, "Payload is empty")
		return
	}
	if maxLen := s.cfg.MaxMessageContentLength; r.ContentLength > maxLen {
		writeText(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Maximum request body size %d exceeded, actual body size %d", maxLen, r.ContentLength))
		return
	}
	payload := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, payload); err != nil {
		writeError(w, http.StatusBadRequest, "could not read the whole payload: "+err.Error())
		return
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	m, err := s.store.WriteMessage(r.Context(), walletgate.NewMessage{
		ChannelID: a.channel.ID, TokenID: a.token.ID, ContentType: ctype, Payload: payload, Received: now,
	})
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	// Committed: tell every process's listeners. A failed publish loses a
	// notice, not the message, so the writer still gets its 200.
	if err := s.notifier.PublishChannelNotice(r.Context(), walletgate.ChannelNotice{
		ChannelID: a.channel.ID, ChannelExternalID: a.channel.ExternalID, AccountID: a.channel.AccountID,
		FromOwnerToken: a.token.Flags&walletgate.TokenOwner != 0,
		Sequence:       m.Sequence, Received: m.Received, ContentType: m.ContentType,
	}); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "publish channel notice failed",
			slog.String("channel", a.channel.ExternalID), slog.Int64("sequence", m.Sequence), slog.Any("err", err))
	}
	writeJSON(w, http.StatusOK, toMessageJSON(m))
}

// getMessages is GET /api/v1/channel/{id}[?unread=true]: the caller's
// undeleted messages in sequence order; reading marks nothing.
func (s *Service) getMessages(w http.ResponseWriter, r *http.Request) {
	if acc, present := r.Header["Accept"]; present {
		if v := acc[0]; v != "application/json" && v != "*/*" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Unsupported 'accept' header mime type '%s'", v))
			return
		}
	}
	a, ok := s.channelBearer(w, r, permRead)
	if !ok {
		return
	}
	unread := r.URL.Query().Get("unread") == "true"
	msgs, err := s.store.Messages(r.Context(), a.channel.ID, a.token.ID, unread)
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	out := make([]messageJSON, 0, len(msgs))
	var maxSeq int64
	for _, m := range msgs {
		out = append(out, toMessageJSON(m))
		maxSeq = max(maxSeq, m.Sequence)
	}
	h := w.Header()
	etag := ""
	if a.channel.Sequenced && len(msgs) > 0 {
		etag = strconv.FormatInt(maxSeq, 10)
	}
	h["Etag"] = []string{etag}
	h.Set("Access-Control-Expose-Headers", "authorization,etag")
	h.Set("User-Agent", "ElectrumSV-server")
	writeJSON(w, http.StatusOK, out)
}

// headMessages is HEAD /api/v1/channel/{id}: the ETag of messages others
// wrote, and Channel-Flags telling the token's rights.
func (s *Service) headMessages(w http.ResponseWriter, r *http.Request) {
	a, ok := s.channelBearer(w, r, permRead)
	if !ok {
		return
	}
	var etag int64
	if a.channel.Sequenced {
		var err error
		if etag, err = s.store.UnreadETag(r.Context(), a.channel.ID, a.token.ID); err != nil {
			s.writeStoreError(w, r, err, "")
			return
		}
	}
	flags := "r"
	if a.token.CanWrite() {
		flags = "rw"
	}
	h := w.Header()
	h["Etag"] = []string{strconv.FormatInt(etag, 10)}
	h.Set("Channel-Flags", flags)
	h.Set("Channel-Access", flags) // the name the swagger documents
	h.Set("Access-Control-Expose-Headers", "authorization,etag,channel-flags")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// markMessage is POST /api/v1/channel/{id}/{sequence}[?older=true].
func (s *Service) markMessage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.channelBearer(w, r, permRead)
	if !ok {
		return
	}
	seq, err := parseID("sequence", r.PathValue("sequence"))
	if err != nil {
		writeError(w, http.StatusBadRequest, errText(err))
		return
	}
	read, ok := decodeBody(s, w, r, parseMark)
	if !ok {
		return
	}
	older := r.URL.Query().Get("older") == "true"
	if err := s.store.MarkRead(r.Context(), a.channel.ID, a.token.ID, seq, read, older); err != nil {
		s.writeStoreError(w, r, err, "10014: Sequence number not found.")
		return
	}
	writeOK(w)
}

// deleteMessage is DELETE /api/v1/channel/{id}/{sequence}: a soft delete
// of the caller's copy only, answered 200 as ElectrumSV requires.
func (s *Service) deleteMessage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.channelBearer(w, r, permAny)
	if !ok {
		return
	}
	seq, err := parseID("sequence", r.PathValue("sequence"))
	if err != nil {
		writeError(w, http.StatusBadRequest, errText(err))
		return
	}
	if err := s.store.DeleteMessage(r.Context(), a.channel.ID, a.token.ID, seq, s.cfg.Now().UTC()); err != nil {
		s.writeStoreError(w, r, err, "10014: Sequence number not found.")
		return
	}
	writeOK(w)
}
