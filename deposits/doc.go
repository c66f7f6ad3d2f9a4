// Package deposits tracks incoming payments to watched addresses
// (spec/cryptoassets.md §7, §9): it turns walletnotify/blocknotify hints
// into re-fetched wallet transactions, applies them to the DepositStore
// (which credits once and queues txupdate events in the same commit, by
// the rule of walletgate.PlanDeposit), polls open transactions until they
// are final, and rescans the wallet's receive history at startup.
//
// One Tracker serves every coin of a process. Each Coin given to New
// carries its own wallet and its own confirmation rules (credit at
// CreditAt, track until MaxConfirmations), as the config sets them per
// coin; the poll period, fetch timeout and event callback are the
// tracker's, in Options. The tracker also polls the confirmations of the
// service's own withdrawals (broadcasts, sent by package withdrawals)
// until they are final, by the same per-coin MaxConfirmations.
package deposits
