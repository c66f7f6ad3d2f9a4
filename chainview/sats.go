package chainview

import (
	"errors"
	"math"
	"strings"

	"github.com/walletgate/walletgate"
)

// valueFormat is how ElectrumX (the daemon's verbose transaction) writes a
// vout value: a JSON number of whole coins, "0.5", "50.00000000" or
// "1e-05". The exponent bound only keeps hostile text from making the
// parser walk a huge power of ten.
var valueFormat = walletgate.AmountFormat{JSON: true, MaxExponent: 1000, Max: math.MaxInt64}

// valueSats converts the text of a vout value to satoshis exactly, with
// digits below one satoshi rounded by r: walletgate.RoundHalfEven for the
// /tx value_sat, walletgate.RoundDown for /history. Exponent text is
// rounded half-even under RoundDown too, as the original rounds v*1e8 for
// it. It fails on text that is not a JSON number or does not fit int64.
func valueSats(text string, r walletgate.Rounding) (int64, error) {
	f := valueFormat
	f.Rounding = r
	if r == walletgate.RoundDown && strings.ContainsAny(text, "eE") {
		f.Rounding = walletgate.RoundHalfEven
	}
	v, err := walletgate.ParseCoins(text, f)
	var e *walletgate.AmountError
	if errors.As(err, &e) {
		switch e.Reason {
		case walletgate.AmountExponent:
			return 0, e.Reword("amount %q: bad exponent", text)
		case walletgate.AmountRange:
			return 0, e.Reword("amount %q: out of range", text)
		default:
			return 0, e.Reword("amount %q: not a decimal number", text)
		}
	}
	return v, err
}
