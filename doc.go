// Package walletgate holds the domain of walletgate: the coins it serves, the
// shapes of balances, unspent outputs, history and events, the application
// error type, and the interfaces (backends, stores, the event hub) that the
// packages beside it implement. It imports no database, network or HTTP code,
// so every other package can depend on it without pulling those in.
package walletgate
