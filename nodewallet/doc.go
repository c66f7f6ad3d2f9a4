// Package nodewallet is the deposit backend over a bitcoind-style wallet
// RPC (cryptoassets spec §3): modern Bitcoin Core with labels instead of
// the accounts API, or btcsuite's btcwallet on top of btcd. It implements
// walletgate.WalletBackend over the project's rpc client.
//
// The two wallets differ, and the backend hides it (Config.Kind, detected
// once with "version" when left empty):
//
//   - btcwallet has accounts, not labels, and its first account is
//     "default" (getnewaddress "" fails): addresses go to Config.Account;
//     Core labels each address with the caller's label.
//   - getnewaddress makes bech32 on Core and P2PKH on btcwallet unless
//     Config.AddressType says otherwise.
//   - btcwallet refuses JSON-RPC batches, so gettransaction calls of a page
//     are batched on Core only.
//   - listtransactions "*" count skip: Core counts entries for both and
//     lists oldest first; btcwallet skips whole transactions, lists newest
//     first and counts each transaction twice against count. The
//     ReceivedPage cursor is the skip offset in the node's own unit.
//   - gettransaction fees: Core reports them negative, btcwallet positive.
//     WalletTxDetail.Fee is always the absolute fee, set on send details
//     only; a send detail without its own fee takes the top-level one.
//
// Send (not part of WalletBackend) pays several recipients in one
// sendmany and reports the transaction's top-level fee; it never retries.
//
// Amounts are parsed from the reply's text into satoshis exactly (never
// through float64); btcwallet writes float64 text such as "1e-07", which is
// still exact for whole satoshis. A value with sub-satoshi digits is
// refused as a broken reply.
//
// Errors: the node's own errors stay *walletgate.RPCError (code and message
// verbatim) inside a *walletgate.Error whose code says what it means: -5
// (unknown txid) is ENotFound, parameter errors EInvalid, warm-up and a
// missing wallet EUnavailable, the rest EBackend. Transport failures come
// from the rpc client as EUnauthorized, ETimeout or EUnavailable.
package nodewallet
