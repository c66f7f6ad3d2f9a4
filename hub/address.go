package hub

import (
	"errors"
	"strings"

	"github.com/walletgate/walletgate"
	"github.com/walletgate/walletgate/chain"
	"github.com/walletgate/walletgate/chainview"
)

// MsgBadAddress is the Bitweb API server's text for an address that fails
// its route check ^[a-zA-Z0-9]{25,90}$, two spaces on each side of the
// hyphen. Push transports show it verbatim, as the original did.
const MsgBadAddress = "Invalid address format  -  expected alphanumeric, 25-90 characters"

// AddressDecoder turns an address of one coin into its scriptPubKey. The
// text of its error is shown to clients verbatim (the Message of a
// *walletgate.Error when it is one), so it must be client-safe.
// bitweb.AddressDecoderFunc satisfies it too.
type AddressDecoder interface {
	DecodeScript(addr string) ([]byte, error)
}

// ChainDecoder decodes with the coin's chain parameters; its errors carry
// the original server's exact texts.
func ChainDecoder(p *chain.Params) AddressDecoder { return chainDecoder{p} }

type chainDecoder struct{ p *chain.Params }

// DecodeScript returns the address's scriptPubKey; the error text is the codec's.
func (d chainDecoder) DecodeScript(addr string) ([]byte, error) {
	a, err := d.p.Decode(addr)
	if err != nil {
		return nil, err
	}
	return a.Script, nil
}

// ParseAddress applies the original's two checks in order: the route
// pattern, then the codec. The error is a *walletgate.Error with code
// EInvalid whose Message is the text to show the client.
func ParseAddress(dec AddressDecoder, addr string) (chainview.Script, error) {
	if !validAddress(addr) {
		return chainview.Script{}, walletgate.Errorf(walletgate.EInvalid, "%s", MsgBadAddress)
	}
	spk, err := dec.DecodeScript(addr)
	if err != nil {
		msg := err.Error()
		var app *walletgate.Error
		if errors.As(err, &app) && app.Message != "" {
			msg = app.Message
		}
		return chainview.Script{}, walletgate.WrapError(walletgate.EInvalid, err, "%s", msg)
	}
	return chainview.NewScript(spk), nil
}

// validAddress is ^[a-zA-Z0-9]{25,90}\z.
func validAddress(s string) bool {
	if len(s) < 25 || len(s) > 90 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
}
