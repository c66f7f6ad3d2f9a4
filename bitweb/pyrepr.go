package bitweb

import (
	"strconv"

	"github.com/walletgate/walletgate/chain"
)

// electrumErrorText is how the original shows a JSON-RPC error from
// ElectrumX: "ElectrumX error: " and the Python repr of the error dict
// {'code': C, 'message': M}.
func electrumErrorText(code int, message string) string {
	return "ElectrumX error: {'code': " + strconv.Itoa(code) + ", 'message': " + chain.PyRepr(message) + "}"
}
