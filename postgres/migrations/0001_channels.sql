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

-- walletgate_write_message is the whole message write in one round trip
-- (and one implicit transaction), so the channel row lock is held for the
-- statement and its commit only, not across client round trips. It locks
-- the channel, applies the reference server's rules in its order, advances
-- head_seq and stores the message with a state row for every token active
-- at p_active_cutoff (the writer's own row read). o_outcome is 'ok' or the
-- rule that refused the write: 'no_channel', 'no_token', 'locked',
-- 'sequencing'.
CREATE FUNCTION walletgate_write_message(
    p_channel BIGINT, p_token BIGINT, p_received BIGINT, p_active_cutoff TIMESTAMPTZ,
    p_content_type TEXT, p_payload BYTEA)
RETURNS TABLE (o_outcome TEXT, o_seq BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_locked    BOOLEAN;
    v_sequenced BOOLEAN;
    v_head      BIGINT;
    v_box       BIGINT;
    v_msg       BIGINT;
BEGIN
    SELECT b.locked, b.sequenced, b.head_seq INTO v_locked, v_sequenced, v_head
        FROM msg_box b WHERE b.id = p_channel FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_channel'::TEXT, 0::BIGINT;
        RETURN;
    END IF;
    SELECT t.msg_box_id INTO v_box FROM msg_box_api_token t WHERE t.id = p_token;
    IF v_box IS DISTINCT FROM p_channel THEN
        RETURN QUERY SELECT 'no_token'::TEXT, 0::BIGINT;
        RETURN;
    END IF;
    IF v_locked THEN
        RETURN QUERY SELECT 'locked'::TEXT, 0::BIGINT;
        RETURN;
    END IF;
    IF v_sequenced AND EXISTS (SELECT 1 FROM message_status s
            WHERE s.token_id = p_token AND NOT s.isread AND NOT s.isdeleted) THEN
        RETURN QUERY SELECT 'sequencing'::TEXT, 0::BIGINT;
        RETURN;
    END IF;
    v_head := v_head + 1;
    UPDATE msg_box SET head_seq = v_head WHERE id = p_channel;
    INSERT INTO message (fromtoken, msg_box_id, seq, receivedts, contenttype, payload)
        VALUES (p_token, p_channel, v_head, p_received, p_content_type, p_payload)
        RETURNING id INTO v_msg;
    INSERT INTO message_status (token_id, message_id, isread, isdeleted)
        SELECT t.id, v_msg, t.id = p_token, false FROM msg_box_api_token t
        WHERE t.msg_box_id = p_channel AND (t.validto IS NULL OR t.validto >= p_active_cutoff OR t.id = p_token);
    RETURN QUERY SELECT 'ok'::TEXT, v_head;
END
$$;
