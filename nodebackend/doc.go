// Package nodebackend is the walletgate.Backend that talks to a node
// directly: Bitcoin Core or btcd over JSON-RPC (package rpc) with
// walletgate's own address index (package index) in place of ElectrumX.
//
// Reads of script hashes come from the index; transactions, raw hex and
// broadcasts go to the node. A goroutine owned by the Backend keeps the
// index following the node and turns its changes into events: EventBlock
// for every new tip (including reorgs) and EventScriptHash when the status
// of a subscribed script changes (mempool entry, confirmation, a -1 → 0
// height change, reorg).
//
// Until the index has finished its first sync, script-hash reads fail with
// EUnavailable naming the progress, so a half-built index is never served
// as truth.
package nodebackend
