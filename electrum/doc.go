// Package electrum implements walletgate.Backend on an ElectrumX server
// (Electrum protocol 1.4–1.6 over TCP or TLS, newline-framed JSON-RPC).
//
// Shape:
//   - a pool of Config.PoolSize connections for requests. Each connection
//     pipelines up to Config.MaxInFlight lines and matches replies by id, so
//     out-of-order replies are fine; notifications on pool connections are
//     ignored;
//   - one subscriber connection for blockchain.headers.subscribe and one
//     blockchain.scripthash.subscribe per distinct script hash, whose
//     notifications become walletgate.Events.
//
// The ElectrumX ≥1.18 flush rule (§7.1 of the Bitweb spec) holds a small
// reply up to 1 s unless 1024 bytes are buffered. The pool is built for it:
// callers queue on one channel; a connection with a free slot takes every
// call waiting at that moment and writes them as one JSON-RPC batch, so under
// load the replies fill 1024 bytes on their own. When they would not, and the
// server would hold them (it sent within the last second, or replies are
// still owed on that connection), the batch gets a filler item,
// blockchain.block.headers(0, 8) (over 1300 bytes of reply, cost 0.16 in
// ElectrumX's accounting; on chains shorter than 8 blocks, enough
// blockchain.block.header(0) items instead), so the batch reply releases the
// buffer at once; Config.NoFlushFiller turns this off. At low load the idle connection that waited longest takes the next
// call; it is usually quiet for over a second and needs no filler.
//
// Failures: a call whose connection dies before the reply is sent once more
// on a live connection (broadcast too: rebroadcasting is harmless, and an
// "already in mempool/chain" answer to that second attempt counts as
// success). -101 and -102 are retried after a jittered backoff on another
// connection, at most Config.MaxRetries times. Server errors come back as
// *walletgate.RPCError with code and message verbatim; transport failures as
// walletgate.Error with EUnavailable, or ETimeout at the call's deadline
// (Config.Timeout caps every call on a live connection). Broken connections
// are replaced in the background with exponential backoff and jitter (cut
// short when another connection of the client gets through); idle ones send
// server.ping after Config.PingInterval of send-idleness, and one whose
// oldest request waited Config.StallTimeout is replaced.
//
// A dead server fails fast: while no connection is up and the last attempt
// to make one failed (refused, DNS, TLS, negotiation), a call or Subscribe
// fails at once with EUnavailable whose message names host:port and that
// error, instead of waiting out Config.Timeout. Calls wait only while a
// connection is expected shortly: before the first attempt ended, during the
// one redial that follows a dropped connection, and once another connection
// of the client got through.
//
// Cached answers above this package are only as good as the subscriber
// connection: Client.SubscriptionEpoch tells the wallet cache when it dropped
// (see wallet.SubscriptionGuard).
package electrum
