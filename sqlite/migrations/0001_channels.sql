-- Peer channels (spec/peer-channels.md §9), adapted: times are integers
-- (token validity in unix microseconds, message receipt and tip-filter dates
-- in unix seconds), msg_box.head_seq caches MAX(message.seq) because messages
-- are never physically deleted, and message_status is keyed by
-- (token_id, message_id) instead of a surrogate id.

CREATE TABLE accounts (
    account_id                INTEGER PRIMARY KEY AUTOINCREMENT,
    flags                     INTEGER NOT NULL DEFAULT 0,
    public_key_bytes          BLOB    NOT NULL UNIQUE,
    api_key                   TEXT    NOT NULL UNIQUE,
    tip_filter_callback_url   TEXT,
    tip_filter_callback_token TEXT,
    tip_filter_update_count   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE msg_box (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (account_id),
    externalid  TEXT    NOT NULL UNIQUE,
    publicread  INTEGER NOT NULL,
    publicwrite INTEGER NOT NULL,
    locked      INTEGER NOT NULL,
    sequenced   INTEGER NOT NULL,
    minagedays  INTEGER,
    maxagedays  INTEGER,
    autoprune   INTEGER NOT NULL,
    head_seq    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX msg_box_account_idx ON msg_box (account_id, id);

CREATE TABLE msg_box_api_token (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (account_id),
    msg_box_id  INTEGER NOT NULL REFERENCES msg_box (id),
    token       TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    flags       INTEGER NOT NULL,
    validfrom   INTEGER NOT NULL,
    validto     INTEGER
);
CREATE INDEX msg_box_api_token_box_idx ON msg_box_api_token (msg_box_id, id);

CREATE TABLE message (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fromtoken   INTEGER NOT NULL REFERENCES msg_box_api_token (id),
    msg_box_id  INTEGER NOT NULL REFERENCES msg_box (id),
    seq         INTEGER NOT NULL,
    receivedts  INTEGER NOT NULL,
    contenttype TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    UNIQUE (msg_box_id, seq)
);
CREATE INDEX message_fromtoken_idx ON message (fromtoken);

CREATE TABLE message_status (
    token_id   INTEGER NOT NULL REFERENCES msg_box_api_token (id),
    message_id INTEGER NOT NULL REFERENCES message (id),
    isread     INTEGER NOT NULL,
    isdeleted  INTEGER NOT NULL,
    PRIMARY KEY (token_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_status_message_idx ON message_status (message_id);
-- The sequencing rule asks "does the writer hold an unread, undeleted
-- message?" on every write; this partial index answers it without a scan.
CREATE INDEX message_status_unread_idx ON message_status (token_id)
    WHERE isread = 0 AND isdeleted = 0;

CREATE TABLE indexer_filtering_registrations_pushdata (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (account_id),
    pushdata_hash    BLOB    NOT NULL,
    flags            INTEGER NOT NULL,
    date_created     INTEGER NOT NULL,
    duration_seconds INTEGER NOT NULL,
    date_expires     INTEGER NOT NULL,
    UNIQUE (account_id, pushdata_hash)
);
