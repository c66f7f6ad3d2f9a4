// Package rpc is a JSON-RPC client for bitcoind-family nodes: Bitcoin
// Core and its forks, and btcd.
//
// The two servers disagree in small ways that break naive clients, so the
// client papers over them in one place:
//
//   - btcd answers a request without "jsonrpc" with HTTP 200 and an empty
//     body, so every request says "jsonrpc":"1.0"; an empty 200 body is
//     reported as ErrMalformed rather than as a JSON syntax error.
//   - getblock and getrawtransaction take integer verbosity (Core accepts
//     integers too, btcd only integers); getblock at verbosity 2 lists
//     transactions under "rawtx" on btcd and "tx" on Core (VerboseBlock
//     accepts both).
//   - btcd has no estimatesmartfee and no getnetworkinfo: EstimateFee and
//     NetworkInfo fall back to estimatefee and getinfo on "method not
//     found", and remember the answer.
//   - btcd closes every connection (Connection: close) and admits only a
//     few HTTP clients at once (10 by default), so calls are bounded by
//     Config.MaxConcurrent.
//
// Errors keep three kinds apart: the node's own error objects are
// *walletgate.RPCError with code and message verbatim; transport failures
// are *walletgate.Error with EUnauthorized (HTTP 401, wrapping
// ErrUnauthorized), ETimeout (ErrTimeout), EUnavailable (ErrRefused for a
// refused connection, otherwise the transport error) or EBackend (a reply
// that is not JSON-RPC, ErrMalformed).
package rpc
