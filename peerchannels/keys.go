package peerchannels

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/walletgate/walletgate"
)

// secretBytes is the entropy of master tokens, channel ids and access
// tokens; base64url with padding makes them 88 characters, as the
// reference server's tests assert.
const secretBytes = 64

// newSecret returns a fresh random identifier or bearer token.
func newSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("read %d random bytes: %w", secretBytes, err)
	}
	return base64.URLEncoding.EncodeToString(b[:]), nil
}

// secretEqual compares two secrets in constant time.
func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// signedMessageMagic prefixes every Bitcoin signed message.
const signedMessageMagic = "Bitcoin Signed Message:\n"

// SignedMessageHash is the digest a Bitcoin signed message signs:
// SHA256d(varstr(magic) ‖ varstr(msg)).
func SignedMessageHash(msg []byte) []byte {
	var buf bytes.Buffer
	_ = wire.WriteVarString(&buf, 0, signedMessageMagic)
	_ = wire.WriteVarBytes(&buf, 0, msg)
	return chainhash.DoubleHashB(buf.Bytes())
}

// keyData is the account key proof of /account/register and /account.
type keyData struct {
	PublicKeyHex string // as sent, echoed by register
	PublicKey    []byte
	Signature    []byte
	Message      []byte
}

// parseKeyData reads {"public_key_hex","signature_hex","message_hex"}.
func parseKeyData(body []byte) (keyData, error) {
	obj, err := parseObject(body)
	if err != nil {
		return keyData{}, err
	}
	var kd keyData
	var sigHex, msgHex string
	if kd.PublicKeyHex, err = obj.str("public_key_hex"); err != nil {
		return keyData{}, err
	}
	if sigHex, err = obj.str("signature_hex"); err != nil {
		return keyData{}, err
	}
	if msgHex, err = obj.str("message_hex"); err != nil {
		return keyData{}, err
	}
	if kd.PublicKey, err = hex.DecodeString(kd.PublicKeyHex); err != nil {
		return keyData{}, walletgate.Errorf(walletgate.EInvalid, "Invalid key data type: public_key_hex is not hex")
	}
	if _, err := btcec.ParsePubKey(kd.PublicKey); err != nil {
		return keyData{}, walletgate.Errorf(walletgate.EInvalid, "Invalid key data type: public_key_hex is not a secp256k1 public key")
	}
	if kd.Signature, err = hex.DecodeString(sigHex); err != nil || len(kd.Signature) != 65 {
		return keyData{}, walletgate.Errorf(walletgate.EInvalid, "Invalid key data type: signature_hex must be 65 bytes of hex")
	}
	if kd.Message, err = hex.DecodeString(msgHex); err != nil {
		return keyData{}, walletgate.Errorf(walletgate.EInvalid, "Invalid key data type: message_hex is not hex")
	}
	return kd, nil
}

// verify checks the compact signature (header byte 27..34 ‖ r ‖ s) over the
// signed-message digest. The recovered key must equal the given one; either
// encoding of the given key is accepted, as bitcoinx's verify_message does.
func (kd keyData) verify() bool {
	recovered, _, err := ecdsa.RecoverCompact(kd.Signature, SignedMessageHash(kd.Message))
	if err != nil {
		return false
	}
	given, err := btcec.ParsePubKey(kd.PublicKey)
	if err != nil {
		return false
	}
	return recovered.IsEqual(given)
}
