-- Deposit tracking and the txupdate outbox (spec/cryptoassets.md §7-§9).
-- Times are unix microseconds. One set of tables serves every coin (the
-- coin is a column, not a table prefix). The outbox holds one row per
-- (handler, event); a delivered row is deleted, so the per-address order
-- check only ever scans undelivered rows.

CREATE TABLE deposit_watches (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    coin        TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    account     TEXT    NOT NULL,
    external_id TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    UNIQUE (coin, address)
);
CREATE INDEX deposit_watches_account_idx ON deposit_watches (coin, account, id);

CREATE TABLE deposit_accounts (
    coin    TEXT    NOT NULL,
    account TEXT    NOT NULL,
    balance BIGINT  NOT NULL,
    PRIMARY KEY (coin, account)
);

CREATE TABLE network_txs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    coin          TEXT    NOT NULL,
    type          TEXT    NOT NULL CHECK (type IN ('deposit', 'broadcast')),
    txid          TEXT    NOT NULL,
    confirmations BIGINT  NOT NULL DEFAULT -1,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (coin, type, txid)
);
CREATE INDEX network_txs_open_idx ON network_txs (coin, confirmations);

CREATE TABLE deposits (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ntx_id        BIGINT  NOT NULL REFERENCES network_txs (id),
    coin          TEXT    NOT NULL,
    txid          TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    amount        BIGINT  NOT NULL,
    confirmations BIGINT  NOT NULL,
    credited_at   BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (ntx_id, address)
);
CREATE INDEX deposits_account_idx ON deposits (coin, account, id);
CREATE INDEX deposits_address_idx ON deposits (coin, address, id);

CREATE TABLE outbox_handlers (
    name       TEXT    PRIMARY KEY,
    created_at BIGINT  NOT NULL
);

CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handler      TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    coin         TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    attempts     BIGINT  NOT NULL DEFAULT 0,
    next_attempt BIGINT  NOT NULL,
    lease_until  BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    UNIQUE (handler, event_id)
);
CREATE INDEX outbox_order_idx ON outbox (handler, coin, address, id);
CREATE INDEX outbox_due_idx ON outbox (handler, next_attempt, id);
