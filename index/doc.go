// Package index is walletgate's own address index over a bitcoind-family
// node (Bitcoin Core or btcd): enough to answer every Electrum script-hash
// query — balance, history, mempool, listunspent, status (§7.3–§7.4 of the
// Bitweb spec) — plus merkle branches, transaction positions and
// output-spend lookups, without ElectrumX.
//
// # Data
//
// One embedded bbolt file holds, per block applied: headers, each block's
// txids, txid → (height, position), script → history rows keyed by
// (height, position) so a cursor yields Electrum order, script → unspent
// outputs in chain order, the unspent set (outpoint → script, value),
// outpoint → spending input, script → confirmed balance, and an undo log.
// The undo log is generic: every key a block writes is logged with its
// previous value, so taking a block back restores exactly what it changed,
// whatever bucket a future change adds. Undo logs are kept for the last
// Options.MaxReorgDepth blocks only.
//
// The mempool is kept in memory, rebuilt from getrawmempool at start and
// after each change, as an immutable snapshot swapped in whole: readers
// never lock, and they skip mempool entries the store has meanwhile
// confirmed, so a transaction is never counted twice.
//
// # Crash safety
//
// Each store transaction applies whole blocks together with the tip
// marker, and bbolt commits with fsync, so after SIGKILL the store is at a
// block boundary and the next Sync resumes from there.
//
// # Following the node
//
// Sync compares the stored tip with the node's chain, takes back blocks
// the node dropped (a reorg of up to MaxReorgDepth), applies new blocks —
// during catch-up FetchWindow blocks at a time, fetched with getblock hash
// 0 by FetchParallel requests while the previous window is applied — and
// refreshes the mempool. Run polls every PollInterval, and at once on
// Notify (Core's -blocknotify, walletnotify) or on a btcd websocket
// notification (Options.WebsocketURL).
//
// # Why bbolt
//
// The index's write pattern is read-modify-write on random keys: each
// output looks up and updates a balance and the unspent set, each input
// reads the output it spends. A scratch benchmark of that pattern (one
// commit of 12,000 random-key Get+Put pairs per "block", fsync on commit,
// 40 blocks, 2-core machine) measured:
//
//	bbolt v1.5.0                 29,600 rows/s  (405 ms per commit)
//	pebble v1.1.5 (indexed batch) 6,300 rows/s (1,905 ms per commit)
//
// pebble's indexed batch pays for reads through the batch and the LSM
// levels; bbolt reads from its mmap. bbolt also needs no background
// compaction goroutines and adds one small module to go.mod, where pebble
// brings about twenty (including an old golang.org/x/exp). bbolt's cost
// is write amplification on random keys (whole pages rewritten per
// commit), which the windowed commits of catch-up amortise.
// BenchmarkApplyBlock measures the real apply path.
//
// # Measured (2-core machine shared with other work)
//
// BenchmarkInitialSync, regtest chain of 2,003 blocks with 100,000
// transactions (1,000 per block) plus coinbases, btcd serving the blocks:
// 12.4 s, 161 blocks/s, 8,200 txs/s, 365 MiB peak heap (FetchWindow 32 of
// 1,000-tx blocks in one commit), 231 MiB store. The map freelist without
// freelist sync took this from 40.7 s.
//
// BenchmarkLookupHotAddress, one script with 10,000 transactions (3,096
// unspent): Balance p50 0.4 µs / p99 1.5 µs; History p50 2.0 ms / p99
// 10 ms; Unspent p50 0.5 ms / p99 4.5 ms; Status p50 2.4 ms / p99 14 ms.
package index
