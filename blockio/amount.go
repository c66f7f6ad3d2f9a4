package blockio

import (
	"math"

	"github.com/walletgate/walletgate"
)

// AmountFormat is how block.io writes amounts of whole coins: decimal
// strings with an optional sign, a bare fraction allowed (".5"), at most 8
// non-zero decimal places (trailing zeros beyond them are exact), bounded
// well inside int64 (92 billion coins) so sums of many amounts cannot
// overflow either. walletgate.FormatSats writes the same form.
var AmountFormat = walletgate.AmountFormat{Plus: true, BareFraction: true, Max: math.MaxInt64 / 100}

// ParseAmount parses a decimal amount of whole coins, as block.io sends it
// ("0.00100000", "-1.5", "12"), into satoshis exactly. Exponents, spaces
// and empty parts are errors (*walletgate.AmountError).
func ParseAmount(s string) (int64, error) {
	return walletgate.ParseCoins(s, AmountFormat)
}
