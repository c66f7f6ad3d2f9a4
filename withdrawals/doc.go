// Package withdrawals pays the sends applications queue through the
// deposit API (POST /v1/<coin>/send, spec/cryptoassets.md §9.2) in
// batches: every period (broadcast_period), per coin, its Broadcaster
// collects the pending sends into one walletgate.Broadcast (one
// multi-output transaction, amounts summed per address), commits
// opened_at, asks the coin's wallet (a walletgate.Sender) to send it, and
// records the txid, the fee and the sends' new state.
//
// A broadcast is two-phase so that it is never paid twice: once opened it
// is never handed to the wallet again by this package, whatever happens.
// If the wallet call fails, or the process dies before the close commits,
// the broadcast stays open until an operator checks the chain and either
// resolves it with the txid found there (BroadcastStore.CloseBroadcast) or
// releases it (BroadcastStore.ReleaseBroadcast) so the next round sends it.
//
// Confirmations of a closed broadcast are polled by deposits.Tracker,
// which feeds them to BroadcastStore.ApplyBroadcastTx.
//
// "Broadcast" is cryptoassets' name for the batch transaction, kept in the
// types because the API and the database use it (see the root package's
// withdrawal.go). It has nothing to do with Bitweb's POST /broadcast
// (bitweb/), which relays a raw transaction built elsewhere.
package withdrawals
