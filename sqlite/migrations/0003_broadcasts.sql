-- Outgoing sends and their broadcasts (spec/cryptoassets.md §9.2). Times
-- are unix microseconds. A send debits deposit_accounts when queued; the
-- broadcaster collects pending sends into a broadcast, commits opened_at
-- before asking the wallet to send and txid/closed_at after, so an open
-- broadcast (opened, not closed) is never sent twice automatically. A
-- closed broadcast's txid is tracked in network_txs (type 'broadcast').

CREATE TABLE broadcasts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    coin       TEXT    NOT NULL,
    txid       TEXT    NOT NULL DEFAULT '',
    fee        INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0),
    ntx_id     INTEGER REFERENCES network_txs (id),
    created_at INTEGER NOT NULL,
    opened_at  INTEGER,
    closed_at  INTEGER,
    CHECK (closed_at IS NULL OR (opened_at IS NOT NULL AND txid <> '' AND ntx_id IS NOT NULL))
);
CREATE INDEX broadcasts_coin_idx ON broadcasts (coin, id);
CREATE UNIQUE INDEX broadcasts_ntx_idx ON broadcasts (ntx_id);

CREATE TABLE outgoing_txs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    coin          TEXT    NOT NULL,
    type          TEXT    NOT NULL CHECK (type IN ('send', 'network_fee')),
    account       TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    external_id   TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'broadcasted')),
    broadcast_id  INTEGER REFERENCES broadcasts (id),
    confirmations INTEGER NOT NULL DEFAULT -1,
    created_at    INTEGER NOT NULL,
    processed_at  INTEGER,
    updated_at    INTEGER NOT NULL
);
-- Idempotency: one send per (coin, external id); one fee per broadcast.
CREATE UNIQUE INDEX outgoing_txs_external_idx ON outgoing_txs (coin, external_id) WHERE type = 'send';
CREATE UNIQUE INDEX outgoing_txs_fee_idx ON outgoing_txs (broadcast_id) WHERE type = 'network_fee';
CREATE INDEX outgoing_txs_uncollected_idx ON outgoing_txs (coin, id) WHERE type = 'send' AND broadcast_id IS NULL;
CREATE INDEX outgoing_txs_broadcast_idx ON outgoing_txs (broadcast_id, id);
