package peerchannels

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/walletgate/walletgate"
)

// accountReply is the only shape ElectrumSV accepts: exactly these two keys.
type accountReply struct {
	PublicKeyHex string `json:"public_key_hex"`
	APIKey       string `json:"api_key"`
}

// register is POST /api/v1/account/register (and /account/key): a Bitcoin
// signed-message proof of the key buys a master token. Idempotent per
// public-key bytes.
func (s *Service) register(w http.ResponseWriter, r *http.Request) {
	kd, ok := decodeBody(s, w, r, parseRequiredKeyData)
	if !ok {
		return
	}
	if !kd.verify() {
		writeError(w, http.StatusUnauthorized, "Invalid signature")
		return
	}
	key, err := newSecret()
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	acct, err := s.store.CreateAccount(r.Context(), kd.PublicKey, key)
	if err != nil {
		s.writeStoreError(w, r, err, "")
		return
	}
	if acct.Disabled() {
		writeError(w, http.StatusUnauthorized, "Account is disabled")
		return
	}
	writeJSON(w, http.StatusOK, accountReply{PublicKeyHex: kd.PublicKeyHex, APIKey: acct.APIKey})
}

// getAccount is GET /api/v1/account: by master token, or, without an
// Authorization header, by the same signed key proof as registration.
func (s *Service) getAccount(w http.ResponseWriter, r *http.Request) {
	var acct walletgate.Account
	if _, present := r.Header["Authorization"]; present {
		tok, ok := bearer(r)
		if !ok {
			writeError(w, http.StatusBadRequest, "Invalid API key")
			return
		}
		if acct, ok = s.accountByKey(w, r, tok); !ok {
			return
		}
	} else {
		kd, ok := decodeBody(s, w, r, parseRequiredKeyData)
		if !ok {
			return
		}
		if !kd.verify() {
			writeError(w, http.StatusUnauthorized, "Invalid signature")
			return
		}
		var err error
		acct, err = s.store.AccountByPublicKey(r.Context(), kd.PublicKey)
		if err != nil {
			if isNotFound(err) {
				writeError(w, http.StatusUnauthorized, "Unauthorized")
			} else {
				s.writeStoreError(w, r, err, "")
			}
			return
		}
		if acct.Disabled() {
			writeError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
	}
	writeJSON(w, http.StatusOK, accountReply{PublicKeyHex: hex.EncodeToString(acct.PublicKey), APIKey: acct.APIKey})
}

// parseRequiredKeyData is parseKeyData for endpoints where a missing body
// has its own message, as in the reference server.
func parseRequiredKeyData(body []byte) (keyData, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return keyData{}, errors.New("Body required")
	}
	return parseKeyData(body)
}
