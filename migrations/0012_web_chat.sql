-- 0012: web chat (issue 14).  A signed-in player's message is stored at
-- once in its channel's history, as the hub's are (channel_messages), with
-- the account that said it, and queued in hub_outbox as channels/send in
-- the same transaction (sql/site/site_chat_send.sql).
--
-- chat_senders: the throttle of each account that chatted
-- (grapevine_chat_rate), a leaky bucket as limit_req's: "excess" is how
-- many messages over the rate the account has in hand at "at".  One row an
-- account, gone with it.
--
-- compatible: 10

ALTER TABLE channel_messages
    ADD COLUMN user_id bigint REFERENCES users ON DELETE SET NULL;

CREATE INDEX channel_messages_user_idx ON channel_messages (user_id)
    WHERE user_id IS NOT NULL;

CREATE TABLE chat_senders (
    user_id  bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    excess   double precision NOT NULL,
    at       timestamptz NOT NULL
);
