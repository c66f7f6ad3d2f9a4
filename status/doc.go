// Package status is cryptoassets.core's optional status server
// (spec/cryptoassets.md §10, §12 item 20): a small read-only HTML site for
// operators, by default on 127.0.0.1:18881.
//
// GET / shows, per coin, whether the coin is alive, its hot-wallet balance
// (or the error that stopped us reading it), and when it last had a
// walletnotify and a broadcast. Every backend call there has its own
// timeout and the coins are asked concurrently, so one slow backend shows
// as an error instead of holding up the page.
//
// /accounts, /addresses, /transactions, /wallets and /network_transactions
// list what the deposit store holds, one coin at a time (?coin=), paged in
// id order (?cursor=). /error answers 500 on purpose so that alerting can
// be tested. Anything else is 404; methods other than GET and HEAD are 405.
//
// The server knows coins only through the Source interface and the store
// only through Store (which every walletgate.DepositStore satisfies), so
// cmd/walletgate wires it without this package importing backends.
// WalletSource adapts a walletgate.WalletBackend plus the deposit tracker's
// notify times to a Source.
package status
