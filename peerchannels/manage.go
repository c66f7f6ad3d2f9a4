package peerchannels

import (
	"net/http"

	"github.com/walletgate/walletgate"
)

// channelJSON is the channel object of get, list and create.
type channelJSON struct {
	ID           string        `json:"id"`
	Href         string        `json:"href"`
	PublicRead   bool          `json:"public_read"`
	PublicWrite  bool          `json:"public_write"`
	Sequenced    bool          `json:"sequenced"`
	Locked       bool          `json:"locked"`
	HeadSequence int64         `json:"head_sequence"`
	Retention    retentionJSON `json:"retention"`
	AccessTokens []tokenJSON   `json:"access_tokens"`
}

type retentionJSON struct {
	MinAgeDays *int64 `json:"min_age_days"`
	MaxAgeDays *int64 `json:"max_age_days"`
	AutoPrune  bool   `json:"auto_prune"`
}

// tokenJSON is an access token as the reference server shows it.
type tokenJSON struct {
	ID          int64  `json:"id"`
	Token       string `json:"token"`
	Description string `json:"description"`
	CanRead     bool   `json:"can_read"`
	CanWrite    bool   `json:"can_write"`
}

func toTokenJSON(t walletgate.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Token: t.Value, Description: t.Description, CanRead: t.CanRead(), CanWrite: t.CanWrite()}
}

// toChannelJSON includes revoked tokens, as the reference's unfiltered
// query does.
func (s *Service) toChannelJSON(r *http.Request, ch walletgate.Channel) channelJSON {
	toks := make([]tokenJSON, 0, len(ch.Tokens))
	for _, t := range ch.Tokens {
		toks = append(toks, toTokenJSON(t))
	}
	return channelJSON{
		ID: ch.ExternalID, Href: s.cfg.href(r, ch.ExternalID),
		PublicRead: ch.PublicRead, PublicWrite: ch.PublicWrite, Sequenced: ch.Sequenced, Locked: ch.Locked,
		HeadSequence: ch.HeadSequence,
		Retention: retentionJSON{
			MinAgeDays: ch.Retention.MinAgeDays, MaxAgeDays: ch.Retention.MaxAgeDays, AutoPrune: ch.Retention.AutoPrune,
		},
		AccessTokens: toks,
	}
}

// createChannel is POST /api/v1/channel/manage: the channel and its rw
// "Owner" token, answered 200 (not 201) with the channel object.
func (s *Service) createChannel(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	req, ok := decodeBody(s, w, r, parseCreateChannel)
	if !ok {
		return
	}
	id, err := newSecret()
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	tok, err := newSecret()
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	ch, err := s.store.CreateChannel(r.Context(), walletgate.Channel{
		ExternalID: id, AccountID: acct.ID,
		PublicRead: req.PublicRead, PublicWrite: req.PublicWrite, Sequenced: req.Sequenced,
		Retention: req.Retention,
	}, walletgate.Token{
		AccountID: acct.ID, Value: tok, Description: "Owner",
		Flags:     walletgate.TokenRead | walletgate.TokenWrite | walletgate.TokenOwner,
		ValidFrom: s.cfg.Now().UTC(),
	})
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, s.toChannelJSON(r, ch))
}

// listChannels is GET /api/v1/channel/manage/list: a bare JSON array.
func (s *Service) listChannels(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	chs, err := s.store.ListChannels(r.Context(), acct.ID)
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	out := make([]channelJSON, 0, len(chs))
	for _, ch := range chs {
		out = append(out, s.toChannelJSON(r, ch))
	}
	writeJSON(w, http.StatusOK, out)
}

// getChannel is GET /api/v1/channel/manage/{id}.
func (s *Service) getChannel(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	ch, ok := s.ownedChannel(w, r, acct)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.toChannelJSON(r, ch))
}

// amendChannel is POST /api/v1/channel/manage/{id}; it echoes the three
// amended fields.
func (s *Service) amendChannel(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	req, ok := decodeBody(s, w, r, parseAmendChannel)
	if !ok {
		return
	}
	ch, ok := s.ownedChannel(w, r, acct)
	if !ok {
		return
	}
	if err := s.store.AmendChannel(r.Context(), ch.ID, req.PublicRead, req.PublicWrite, req.Locked); err != nil {
		s.writeStoreError(w, r, err, "Peer channel not found")
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// deleteChannel is DELETE /api/v1/channel/manage/{id}: 204 whether or not
// the channel existed (ElectrumSV checks for 204); another account's
// channel is left alone.
func (s *Service) deleteChannel(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	ch, err := s.store.ChannelByExternalID(r.Context(), r.PathValue("id"))
	switch {
	case isNotFound(err):
	case err != nil:
		s.writeStoreError(w, r, err, "")
		return
	case ch.AccountID == acct.ID:
		s.channels.forget(ch.ExternalID)
		if err := s.store.DeleteChannel(r.Context(), ch.ID); err != nil && !isNotFound(err) {
			s.writeStoreError(w, r, err, "")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// createToken is POST /api/v1/channel/manage/{id}/api-token. The store
// backfills unread state rows so the new token sees the whole history.
func (s *Service) createToken(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r, s.cfg.MaxRequestBodyBytes)
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	ch, ok := s.ownedChannel(w, r, acct)
	if !ok {
		return
	}
	req, err := parseCreateToken(body, s.cfg.MaxTokenDescription)
	if err != nil {
		writeError(w, http.StatusBadRequest, errText(err))
		return
	}
	value, err := newSecret()
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	var flags uint32
	if req.CanRead {
		flags |= walletgate.TokenRead
	}
	if req.CanWrite {
		flags |= walletgate.TokenWrite
	}
	t, err := s.store.CreateToken(r.Context(), walletgate.Token{
		ChannelID: ch.ID, AccountID: acct.ID, Value: value, Description: req.Description,
		Flags: flags, ValidFrom: s.cfg.Now().UTC(),
	})
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, toTokenJSON(t))
}

// listTokens is GET /api/v1/channel/manage/{id}/api-token[?token=]: the
// active tokens in id order, 404 when there are none.
func (s *Service) listTokens(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	ch, ok := s.ownedChannel(w, r, acct)
	if !ok {
		return
	}
	toks, err := s.store.ActiveTokens(r.Context(), ch.ID, s.cfg.Now())
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	q := r.URL.Query()
	filter, filtered := q["token"]
	out := make([]tokenJSON, 0, len(toks))
	for _, t := range toks {
		if filtered && !secretEqual(t.Value, filter[0]) {
			continue
		}
		out = append(out, toTokenJSON(t))
	}
	if len(out) == 0 {
		writeError(w, http.StatusNotFound, "No access tokens found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// channelToken loads {tokenid} of the caller's channel {id}; a token of
// another channel, or revoked, counts as missing. found is false with no
// reply written when the token or channel is missing; ok is false when an
// error reply has been written.
func (s *Service) channelToken(w http.ResponseWriter, r *http.Request, acct walletgate.Account) (t walletgate.Token, found, ok bool) {
	tid, err := parseID("token id", r.PathValue("tokenid"))
	if err != nil {
		writeError(w, http.StatusBadRequest, errText(err))
		return t, false, false
	}
	ch, err := s.store.ChannelByExternalID(r.Context(), r.PathValue("id"))
	if isNotFound(err) {
		return t, false, true
	} else if err != nil {
		s.writeStoreError(w, r, err, "")
		return t, false, false
	}
	t, err = s.store.TokenByID(r.Context(), tid)
	if isNotFound(err) {
		return t, false, true
	} else if err != nil {
		s.writeStoreError(w, r, err, "")
		return t, false, false
	}
	if ch.AccountID != acct.ID || t.ChannelID != ch.ID || !t.ActiveAt(s.cfg.Now()) {
		return t, false, true
	}
	return t, true, true
}

// getToken is GET /api/v1/channel/manage/{id}/api-token/{tokenid}.
func (s *Service) getToken(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	t, found, ok := s.channelToken(w, r, acct)
	if !ok {
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "Access token not found")
		return
	}
	writeJSON(w, http.StatusOK, toTokenJSON(t))
}

// revokeToken is DELETE /api/v1/channel/manage/{id}/api-token/{tokenid}:
// 204 always; the token stops working after the current second.
func (s *Service) revokeToken(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.Authenticate(w, r)
	if !ok {
		return
	}
	t, found, ok := s.channelToken(w, r, acct)
	if !ok {
		return
	}
	if found {
		if err := s.store.RevokeToken(r.Context(), t.ID, s.cfg.Now().UTC()); err != nil && !isNotFound(err) {
			s.writeStoreError(w, r, err, "")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
