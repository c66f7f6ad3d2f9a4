// Package blockio is a client of the block.io v2 hosted-wallet API and a
// walletgate.WalletBackend on top of it (cryptoassets spec §5).
//
// Every call is a POST to BaseURL/<method>/?api_key=KEY with form
// parameters; the reply is {"status":"success"|"fail","data":{...}}. A
// "fail" reply becomes a *walletgate.Error with code EBackend carrying
// data.error_message; transport failures are EUnavailable, timeouts
// ETimeout (every call is bounded by Config.Timeout; the original had no
// timeouts). Amounts arrive as decimal strings of whole coins and are
// parsed exactly into satoshis (ParseAmount, walletgate.ParseCoins); no
// float64 is involved.
//
// Per-transaction data. The original asked chain.so, which is retired.
// Transaction instead pages through block.io's own get_transactions
// (type=received, then type=sent) until it finds the txid, at most
// Config.MaxScanPages pages of each. A notified or still-unconfirmed
// transaction is new, so it sits on the first page (newest first); the
// bound only matters for very old txids, which come back as ENotFound.
// This keeps the data to what block.io says about our own account: receive
// details name only our addresses (block.io lists no change or third-party
// outputs), and OnlyReceive is set as the spec requires.
//
// One Client serves one network (btc, btctest, ltc, ...) with its own API
// key, as block.io issues keys per network. The PIN is kept in Config for
// withdrawals, which this package does not implement yet.
//
// Package blockiotest is a local server speaking the same shapes, for
// tests (block.io cannot be reached from CI).
package blockio
