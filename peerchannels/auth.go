package peerchannels

import (
	"context"
	"net/http"
	"strings"

	"github.com/walletgate/walletgate"
)

// bearerPrefix is matched case-sensitively, as aiohttp's handlers do.
const bearerPrefix = "Bearer "

// bearer returns the token of an "Authorization: Bearer <token>" header,
// untrimmed; ok is false when the header is missing or another scheme.
func bearer(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, bearerPrefix) {
		return "", false
	}
	return h[len(bearerPrefix):], true
}

// reasonNoBearer is the reference reason for a missing or non-Bearer header.
const reasonNoBearer = "No 'Bearer' authentication."

// Authenticate resolves the master bearer token of r to its account. On
// failure it has already answered: 400 without a Bearer header, 401 for an
// unknown or disabled account. Exported so the headers and indexer proxies
// registered on the same Router authenticate alike.
func (s *Service) Authenticate(w http.ResponseWriter, r *http.Request) (walletgate.Account, bool) {
	tok, ok := bearer(r)
	if !ok {
		writeError(w, http.StatusBadRequest, reasonNoBearer)
		return walletgate.Account{}, false
	}
	return s.accountByKey(w, r, tok)
}

func (s *Service) accountByKey(w http.ResponseWriter, r *http.Request, key string) (walletgate.Account, bool) {
	acct, err := s.store.AccountByAPIKey(r.Context(), key)
	if err != nil {
		if isNotFound(err) {
			writeError(w, http.StatusUnauthorized, "Unauthorized")
		} else {
			s.writeStoreError(w, r, err, "")
		}
		return walletgate.Account{}, false
	}
	// The store found it by value; compare again in constant time so a
	// store that matched loosely (collation, prefix) cannot let it through.
	if !secretEqual(acct.APIKey, key) || acct.Disabled() {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return walletgate.Account{}, false
	}
	return acct, true
}

// permission is what an operation needs from a channel token.
type permission int

const (
	permAny permission = iota
	permRead
	permWrite
)

// channelAuth is a request's authenticated channel token and its channel.
type channelAuth struct {
	token   walletgate.Token
	channel channelRef
}

// authChannel checks a channel token against {id} in the order of the
// reference server: the token exists and is not revoked, it carries the
// permission, and it belongs to the channel. Every failure is 401; a master
// token is just an unknown channel token here. On failure it has answered.
func (s *Service) authChannel(w http.ResponseWriter, r *http.Request, tok string, need permission) (channelAuth, bool) {
	ctx := r.Context()
	t, err := s.store.TokenByValue(ctx, tok)
	if err != nil {
		if isNotFound(err) {
			writeError(w, http.StatusUnauthorized, "Unauthorized")
		} else {
			s.writeStoreError(w, r, err, "")
		}
		return channelAuth{}, false
	}
	if !secretEqual(t.Value, tok) {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return channelAuth{}, false
	}
	if !t.ActiveAt(s.cfg.Now()) {
		writeError(w, http.StatusUnauthorized, "10005: Peer channel token expired.")
		return channelAuth{}, false
	}
	if (need == permRead && !t.CanRead()) || (need == permWrite && !t.CanWrite()) {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return channelAuth{}, false
	}
	ch, err := s.channelRef(ctx, r.PathValue("id"))
	if err != nil {
		if isNotFound(err) {
			writeError(w, http.StatusUnauthorized, "Unauthorized")
		} else {
			s.writeStoreError(w, r, err, "")
		}
		return channelAuth{}, false
	}
	if ch.ID != t.ChannelID {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return channelAuth{}, false
	}
	return channelAuth{token: t, channel: ch}, true
}

// channelRef resolves an external channel id, from the cache when it can.
func (s *Service) channelRef(ctx context.Context, externalID string) (channelRef, error) {
	if ref, ok := s.channels.get(externalID); ok {
		return ref, nil
	}
	ch, err := s.store.ChannelByExternalID(ctx, externalID)
	if err != nil {
		return channelRef{}, err
	}
	ref := channelRef{ID: ch.ID, ExternalID: ch.ExternalID, AccountID: ch.AccountID, Sequenced: ch.Sequenced}
	s.channels.put(ref)
	return ref, nil
}

// ownedChannel loads {id} for the account; a channel of another account is
// reported as missing. On failure it has answered 404 (or 5xx).
func (s *Service) ownedChannel(w http.ResponseWriter, r *http.Request, acct walletgate.Account) (walletgate.Channel, bool) {
	ch, err := s.store.ChannelByExternalID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeStoreError(w, r, err, "Peer channel not found")
		return walletgate.Channel{}, false
	}
	if ch.AccountID != acct.ID {
		writeError(w, http.StatusNotFound, "Peer channel not found")
		return walletgate.Channel{}, false
	}
	return ch, true
}
