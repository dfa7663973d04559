-- 0006: Raisin, the moderators' tool: mutes, the audit log, and one
-- function per page or action, raisin_request(kind, session token, args),
-- called by the C side of the `raisin` location as site_request() is by
-- the site's.
--
-- Every action checks the session's role and CSRF token and the reason,
-- then writes its effect and its audit row in the same transaction (the
-- function's), so an effect never exists without its row.  The audit log
-- is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE.  The
-- functions and triggers are in sql/raisin/.

CREATE TABLE raisin_audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint,                 -- users.id; NULL: the command line
    actor      text NOT NULL,          -- the username at the time
    action     text NOT NULL,
    target     text NOT NULL,
    reason     text NOT NULL CHECK (reason <> ''),
    details    jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX raisin_audit_action_idx ON raisin_audit (action, id DESC);
CREATE INDEX raisin_audit_actor_idx ON raisin_audit (lower(actor), id DESC);
CREATE INDEX raisin_audit_target_idx ON raisin_audit (target, id DESC);

-- a sender muted until a time: new messages are stored hidden
CREATE TABLE raisin_mutes (
    id               bigserial PRIMARY KEY,
    player           text NOT NULL
                     CHECK (player <> '' AND length(player) <= 100),
    game             text NOT NULL
                     CHECK (game <> '' AND length(game) <= 100),
    until            timestamptz NOT NULL,
    lifted_at        timestamptz,
    reason           text NOT NULL,
    created_by       bigint,
    created_by_name  text NOT NULL,
    inserted_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX raisin_mutes_sender_idx
    ON raisin_mutes (lower(player), lower(game), until DESC)
    WHERE lifted_at IS NULL;

ALTER TABLE channel_messages
    ADD COLUMN mute_id bigint REFERENCES raisin_mutes;

CREATE INDEX channel_messages_mute_idx ON channel_messages (mute_id)
    WHERE mute_id IS NOT NULL;
