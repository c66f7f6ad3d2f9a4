package chainview

import "time"

// Config holds every bound of the service. Zero fields take the defaults
// below (see DefaultConfig), so Config{} is a valid configuration.
type Config struct {
	// TipTTL is how long a fetched tip height is served without asking the
	// backend again. Block events replace it at once. Default 5 s.
	TipTTL time.Duration
	// HistoryTTL is how long the history of a script hash that is NOT
	// watched is served from cache. Nothing tells the service when such a
	// history changes, so this is kept short. Default 2 s.
	HistoryTTL time.Duration
	// HistoryCacheSize bounds the number of cached histories. Default 50,000.
	HistoryCacheSize int
	// TxCacheSize bounds the number of cached confirmed verbose
	// transactions used by History. Default 50,000.
	TxCacheSize int
	// CoinbaseCacheSize bounds the txid → coinbase-flag cache. Default 100,000.
	CoinbaseCacheSize int
	// MaxWatched bounds the number of distinct watched script hashes, and
	// with it the balance and unspent caches kept for them. Default 100,000.
	MaxWatched int
	// EnrichConcurrency bounds the coinbase lookups one unspent list runs
	// at a time. Default 20.
	EnrichConcurrency int
	// HistoryMaxLimit is the largest number of entries History returns.
	// Default 50.
	HistoryMaxLimit int
	// FetchTimeout bounds one coalesced backend request, which runs
	// detached from the caller that started it. Default 15 s.
	FetchTimeout time.Duration
}

// DefaultConfig returns the defaults every zero field of Config takes.
func DefaultConfig() Config {
	return Config{
		TipTTL:            5 * time.Second,
		HistoryTTL:        2 * time.Second,
		HistoryCacheSize:  50_000,
		TxCacheSize:       50_000,
		CoinbaseCacheSize: 100_000,
		MaxWatched:        100_000,
		EnrichConcurrency: 20,
		HistoryMaxLimit:   50,
		FetchTimeout:      15 * time.Second,
	}
}

// withDefaults fills zero (or negative) fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TipTTL <= 0 {
		c.TipTTL = d.TipTTL
	}
	if c.HistoryTTL <= 0 {
		c.HistoryTTL = d.HistoryTTL
	}
	if c.HistoryCacheSize <= 0 {
		c.HistoryCacheSize = d.HistoryCacheSize
	}
	if c.TxCacheSize <= 0 {
		c.TxCacheSize = d.TxCacheSize
	}
	if c.CoinbaseCacheSize <= 0 {
		c.CoinbaseCacheSize = d.CoinbaseCacheSize
	}
	if c.MaxWatched <= 0 {
		c.MaxWatched = d.MaxWatched
	}
	if c.EnrichConcurrency <= 0 {
		c.EnrichConcurrency = d.EnrichConcurrency
	}
	if c.HistoryMaxLimit <= 0 {
		c.HistoryMaxLimit = d.HistoryMaxLimit
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = d.FetchTimeout
	}
	return c
}
