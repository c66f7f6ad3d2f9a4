// Package walletnotify is the deposit intake of walletgate: it receives
// "something happened to this transaction" hints from nodes and hosted
// wallets and hands each txid (or block hash) to a walletgate.TxNotifier,
// which re-fetches the transaction from the coin's backend and commits the
// update. It replaces cryptoassets.core's walletnotify handlers (spec §4).
//
// Five intakes exist; each is a value with Run(ctx) error that the caller
// owns: Run serves until ctx ends and returns nil then. A failure on one
// txid is logged and the intake reads the next one; it never stops because
// of one bad input (the original's pipe and Redis threads did).
//
//   - HTTP (bitcoind: walletnotify=curl --data "txid=%s" http://127.0.0.1:28882):
//     POST form (urlencoded or multipart) field txid, or blockhash for
//     blocknotify. 200 with an empty body once the notifier committed, 400
//     for a missing or malformed hash, 500 when the notifier failed, 405 for
//     other methods, 413 over HTTPConfig.MaxBodyBytes.
//   - Named pipe (walletnotify=echo %s >> FIFO): one txid per line.
//   - Redis pub/sub (walletnotify=redis-cli publish CHANNEL %s): one txid
//     per message; resubscribes with backoff after the connection drops.
//   - block.io webhook: block.io POSTs JSON envelopes to a secret URL;
//     the intake keeps exactly one "account" notification registered.
//   - block.io websocket: subscribes to "account" notifications on
//     n.block.io and reconnects with backoff when the socket closes.
//
// Coins. Every intake has a default coin (its config's Coin). The HTTP
// intake can serve several coins on one listener: a "coin" form field, or a
// first path segment naming one of HTTPConfig.Coins (POST /btc, POST
// /ltc/anything), selects the coin; otherwise the default coin is used.
// Other intakes serve one coin each: run one per coin.
//
// Blocks. A block hash arrives as the blockhash form field on HTTP
// (blocknotify=curl --data "blockhash=%s" ...), as a line or message
// "block:<hash>" on the pipe and Redis (blocknotify=echo block:%s >> FIFO),
// and as a block.io "new-blocks" envelope (data.block_hash) on the webhook
// and websocket. Each becomes TxNotifier.BlockNotify.
//
// Hashes are 64 hex digits; they are lower-cased before they reach the
// notifier so one transaction never shows up under two spellings.
package walletnotify
