// Package paritytest holds cross-backend tests: the same chain served
// through the ElectrumX path and through walletgate's own node index must
// give byte-identical REST bodies. It has no production code.
package paritytest
