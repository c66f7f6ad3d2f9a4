// Package bitweb serves the Bitweb wallet API server's REST contract
// (spec/bitweb-api.md §2–§3) over a chainview.Service: GET /info, /balance,
// /unspent, /history, /tx, /rawtx, /fee and POST /broadcast, with the same
// envelope, status codes, error texts and byte-for-byte JSON (keys sorted at
// every level, compact, non-ASCII escaped, Python float repr, trailing
// newline) as the Flask original.
//
// Deliberate differences from the original, all safe for its clients:
//   - a backend that cannot be reached or does not answer in time gives 503
//     (the original said 500), within Config.RequestTimeout;
//   - /history clamps limit to 1..50 (the original let 0 and negative values
//     bypass the cap) and matches outputs on scriptPubKey, not address text;
//   - a failed transaction batch in /history is a 503, not a list of
//     "unknown" entries;
//   - a chunked /broadcast body over the limit is refused like one with a
//     large Content-Length;
//   - /tx value_sat is rounded half-even from the exact decimal text, where
//     the original rounded the float product value*1e8 (they differ only on
//     sub-satoshi ties such as 0.000000015, which no real output has);
//   - the `amount` and `limit` parameters accept ASCII digits only (Python
//     also took other Unicode decimal digits).
//
// Config.FixedFeeSatoshis of 0 means "the default" (10,000): a zero fee
// would make the Bitweb wallet build transactions nodes refuse.
//
// The handler routes on the request path it receives, so it can be mounted
// at "/" or under a prefix with http.StripPrefix.
package bitweb
