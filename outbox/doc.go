// Package outbox delivers txupdate events (spec/cryptoassets.md §8) from
// the persistent outbox to the configured event handlers. It is only the
// delivery side: the stores fill the outbox, one queue per registered
// handler, in the same transaction as the deposit or broadcast update that
// made the event (DepositStore.ApplyTx, BroadcastStore.ApplyBroadcastTx);
// the outbox's domain types (walletgate.OutboxItem, OutboxEvent) live in
// the root package's outbox.go.
//
// Here, one Worker per handler claims that handler's due events from the
// store (ClaimOutbox), hands each to the Handler and acknowledges it
// (AckOutbox), or holds it back with exponential backoff (RetryOutbox) when
// the handler fails. The handlers are the config's events section: HTTP
// (the cryptoassets form POST, or a signed JSON body), a shell script,
// Redis PUBLISH, an in-process function, or account sockets.
//
// Unlike cryptoassets, which called each handler once after commit and
// dropped the event on failure, delivery is at least once, in order per
// address; receivers drop repeats by event_id.
//
// The package is named for what it drains, the outbox (as the README and
// the deposits.outbox config section, which tunes these workers, call
// it), rather than "events", a word that also names the config's handler
// section, the txupdate event itself and walletgate.Event (a backend's
// chain events).
package outbox
