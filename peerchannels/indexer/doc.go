// Package indexer serves the ElectrumSV reference server's indexer APIs
// (transactions, merkle proofs, output spends, restoration, tip filters and
// the per-account indexer settings) by mirroring them to an indexer such as
// ElectrumSV's simple-indexer at INDEXER_URL.
//
// The Handler keeps a websocket open to {INDEXER_URL}/ws. While it is down
// every mirrored route answers 503 "10026: This functionality is temporarily
// unavailable", and Run retries the connection every ReconnectInterval. The
// indexer pushes 104-byte output-spend records (">32sI32sI32s"; the spec
// says 100, which miscounts the struct) on that socket; each is sent
// as a kind-2 message to every account websocket that registered the outpoint
// through POST /api/v1/output-spend/notifications.
//
// Tip-filter registrations are kept in walletgate.ChannelStore and changed
// all-or-nothing around the indexer call: rows are added unfinalised, then
// finalised on the indexer's 200 or removed otherwise; deletions are flagged
// DELETING first and cleared again if the indexer refuses.
//
// InternalHandler serves the internal listener the indexer calls back on:
// tip-filter matches are forwarded to each account's callback URL, and
// failed deliveries wait in a bounded in-memory queue (Config.MaxPendingCallbacks)
// for retry every CallbackRetryInterval. That queue does not survive a
// restart; the reference server's optional outbound_data table is not kept.
//
// Wiring, with svc the peer-channels service (it satisfies AccountSockets):
//
//	idx, err := indexer.New(indexer.Config{URL: indexerURL, Store: store, Sockets: svc})
//	idx.Register(svc.Router().Handle)            // only when EXPOSE_INDEXER_APIS is set
//	svc.OnAccountSocketClosed(idx.AccountSocketClosed)
//	go idx.Run(ctx)                              // indexer websocket + callback retries
//	internal := &http.Server{Handler: idx.InternalHandler(), ...}
//
// Binary layouts (big-endian, hashes in internal byte order) live in
// binary.go with their decoders, each fuzzed.
package indexer
