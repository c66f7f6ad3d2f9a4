// Package chain knows the coins walletgate serves and how their addresses
// map to scripts.
//
// The registry (Lookup, Coins) holds the parameters of Bitweb (mainnet,
// testnet, regtest), Bitcoin (mainnet, testnet, testnet4, signet, regtest),
// Litecoin (mainnet, testnet), Dogecoin (mainnet, testnet; no segwit) and
// Bitcoin SV (mainnet, testnet, regtest; no segwit). Every call builds fresh
// values, so there is no shared state to protect; per-coin config overrides
// go through Params.WithOverrides.
//
// The codec turns an address into its scriptPubKey (Params.Decode), a script
// back into its canonical address (Params.Encode) and a script into the
// Electrum scripthash (ScriptHash). Base58Check, Bech32 and Bech32m come from
// btcd's address/v2 module; this package adds the coin rules and the exact
// error texts of the Bitweb API server, which its clients see verbatim. The
// texts quote the input with PyRepr, a copy of Python's repr() for str.
//
// # Differences from the Bitweb API server
//
// walletgate keeps the original's messages and accepts what it accepted,
// except where the original broke BIP173/BIP350 (QUIRKS.md holds the same
// list for the README):
//
//   - Mixed-case bech32 (e.g. "Web1q…") is refused with KindMixedCase; the
//     original lowercased first and accepted it. All-upper-case bech32 is
//     accepted, as BIP173 allows, when Params.AcceptUpperBech32 is set (the
//     default for every coin; config key accept_upper_bech32).
//   - The HRP prefix test stays case-insensitive, so "WEB1…" is read as
//     bech32 as before.
//   - The extra base58 version bytes 0x42 (P2PKH) and 0x80 (P2SH) are
//     accepted only through Params.LegacyVersions: on by default for Bitweb
//     mainnet alone, replaceable with the config key legacy_versions. Encode
//     always writes the coin's own byte.
//   - Witness programs must be 2 to 40 bytes for every version (BIP173); v0
//     must still be 20 or 32 bytes and v1 32 bytes, with the original texts.
//     A v1 program over 40 bytes now reports the 2..40 rule.
//   - A malformed v2..v16 address (bech32 instead of bech32m, bad padding, bad
//     length) reports that fault; a well-formed one still gets "Unsupported
//     witness version N".
//   - Addresses longer than MaxAddressLen (90, the BIP173 limit) are refused
//     before decoding; the original relied on the nginx route regex.
//   - Base58 input is not stripped of trailing whitespace (the Python base58
//     library did); whitespace is reported as an invalid character. Non-ASCII
//     input is reported as an invalid character instead of a codec error.
package chain
