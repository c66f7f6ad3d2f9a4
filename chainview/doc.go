// Package chainview is the cached view of one coin's chain behind every
// wallet-facing surface (Bitweb REST, Socket.IO, WebSockets). It holds no
// keys and sends nothing (it was called "wallet", which it is not): it
// answers balances, unspent outputs, histories and transactions of
// addresses from one walletgate.Backend and adds what the surfaces share: caches with named
// bounds, coalescing of identical backend requests, the /history algorithm,
// exact satoshi arithmetic on decimal text, and a small event seam.
//
// Freshness rules, in short:
//   - the tip is cached for Config.TipTTL and replaced by every block event;
//   - balances and unspent lists are cached only for watched script hashes
//     (see Service.Watch), and dropped by the script hash's change event, so a
//     watched address is never stale and costs no backend call when unchanged;
//   - history is cached per script hash: until its change event when watched,
//     for Config.HistoryTTL otherwise;
//   - verbose transactions are cached only once confirmed, and evicted when a
//     history shows them back in the mempool (reorg);
//   - a transaction's coinbase flag never changes, so it is cached for good;
//     failed lookups are not cached.
//
// Events: Service implements walletgate.EventSink. A backend publishes to it;
// the service updates its caches first and then calls the listeners attached
// with OnBlock and OnChange, so a listener that reads back through the
// service always sees the new state.
package chainview
