-- Peer channels (spec/peer-channels.md §9), adapted to PostgreSQL: booleans
-- are BOOLEAN, token validity is TIMESTAMPTZ (microseconds), message
-- receipt and tip-filter dates stay unix seconds as in the reference.
-- msg_box.head_seq is the channel's last sequence: a writer locks the
-- channel row and advances it, which keeps sequences gap-free across
-- processes (messages are never physically deleted, so it equals
-- MAX(message.seq)). message_status is keyed by (token_id, message_id).

CREATE TABLE accounts (
    account_id                BIGSERIAL PRIMARY KEY,
    flags                     BIGINT NOT NULL DEFAULT 0,
    public_key_bytes          BYTEA  NOT NULL UNIQUE,
    api_key                   TEXT   NOT NULL UNIQUE,
    tip_filter_callback_url   TEXT,
    tip_filter_callback_token TEXT,
    tip_filter_update_count   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE msg_box (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT  NOT NULL REFERENCES accounts (account_id),
    externalid  TEXT    NOT NULL UNIQUE,
    publicread  BOOLEAN NOT NULL,
    publicwrite BOOLEAN NOT NULL,
    locked      BOOLEAN NOT NULL,
    sequenced   BOOLEAN NOT NULL,
    minagedays  BIGINT,
    maxagedays  BIGINT,
    autoprune   BOOLEAN NOT NULL,
    head_seq    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX msg_box_account_idx ON msg_box (account_id, id);

CREATE TABLE msg_box_api_token (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT      NOT NULL REFERENCES accounts (account_id),
    msg_box_id  BIGINT      NOT NULL REFERENCES msg_box (id),
    token       TEXT        NOT NULL UNIQUE,
    description TEXT        NOT NULL DEFAULT '',
    flags       BIGINT      NOT NULL,
    validfrom   TIMESTAMPTZ NOT NULL,
    validto     TIMESTAMPTZ
);
CREATE INDEX msg_box_api_token_box_idx ON msg_box_api_token (msg_box_id, id);

CREATE TABLE message (
    id          BIGSERIAL PRIMARY KEY,
    fromtoken   BIGINT NOT NULL REFERENCES msg_box_api_token (id),
    msg_box_id  BIGINT NOT NULL REFERENCES msg_box (id),
    seq         BIGINT NOT NULL,
    receivedts  BIGINT NOT NULL,
    contenttype TEXT   NOT NULL,
    payload     BYTEA  NOT NULL,
    UNIQUE (msg_box_id, seq)
);
CREATE INDEX message_fromtoken_idx ON message (fromtoken);

CREATE TABLE message_status (
    token_id   BIGINT  NOT NULL REFERENCES msg_box_api_token (id),
    message_id BIGINT  NOT NULL REFERENCES message (id),
    isread     BOOLEAN NOT NULL,
    isdeleted  BOOLEAN NOT NULL,
    PRIMARY KEY (token_id, message_id)
);
CREATE INDEX message_status_message_idx ON message_status (message_id);
-- The sequencing rule asks "does the writer hold an unread, undeleted
-- message?" on every write; this partial index answers it without a scan.
CREATE INDEX message_status_unread_idx ON message_status (token_id)
    WHERE NOT isread AND NOT isdeleted;

CREATE TABLE indexer_filtering_registrations_pushdata (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts (account_id),
    pushdata_hash    BYTEA  NOT NULL,
    flags            BIGINT NOT NULL,
    date_created     BIGINT NOT NULL,
    duration_seconds BIGINT NOT NULL,
    date_expires     BIGINT NOT NULL,
    UNIQUE (account_id, pushdata_hash)
);
