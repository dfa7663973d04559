-- 0002: the Backbone: local copies of the Gossip network's records, who is
-- online, channel history, the outbox of frames for the hub.  The ingest
-- function the hub owner calls once per received event, and the outbox's
-- trigger, are in sql/backbone/.
--
-- Remote records are upserted by their remote id.  Versioned records keep
-- the logged_at of the version that wrote them, and an older version never
-- overwrites a newer one, so a replayed event changes nothing.

CREATE TABLE channels (
    id                bigserial PRIMARY KEY,
    remote_id         bigint NOT NULL UNIQUE,
    name              text NOT NULL,
    description       text,
    hidden            boolean NOT NULL DEFAULT false,
    remote_logged_at  timestamptz,
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX channels_name_key ON channels (lower(name));

CREATE TABLE games (
    id                            bigserial PRIMARY KEY,
    remote_id                     bigint NOT NULL UNIQUE,
    short_name                    text NOT NULL,
    name                          text NOT NULL,
    display                       boolean NOT NULL DEFAULT true,
    description                   text,
    homepage_url                  text,
    user_agent                    text,
    user_agent_url                text,
    allow_character_registration  boolean NOT NULL DEFAULT true,
    redirect_uris                 text[] NOT NULL DEFAULT '{}',
    mssp_last_seen_at             timestamptz,
    online                        boolean NOT NULL DEFAULT false,
    last_seen_at                  timestamptz,
    remote_logged_at              timestamptz,
    inserted_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX games_short_name_key ON games (lower(short_name));
CREATE INDEX games_online_idx ON games (online) WHERE display;

-- a game's connections, diffed by the remote connection key
CREATE TABLE game_connections (
    id          bigserial PRIMARY KEY,
    game_id     bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    remote_key  text NOT NULL,
    type        text NOT NULL,
    url         text,
    host        text,
    port        integer,
    UNIQUE (game_id, remote_key)
);

CREATE TABLE events (
    id                bigserial PRIMARY KEY,
    remote_id         bigint NOT NULL UNIQUE,
    game_id           bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    title             text NOT NULL,
    description       text,
    start_date        date,
    end_date          date,
    is_deleted        boolean NOT NULL DEFAULT false,
    remote_logged_at  timestamptz,
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX events_game_idx ON events (game_id, start_date)
    WHERE NOT is_deleted;

CREATE TABLE achievements (
    id                bigserial PRIMARY KEY,
    remote_id         bigint NOT NULL UNIQUE,
    game_id           bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    key               text,
    title             text NOT NULL,
    description       text,
    display           boolean NOT NULL DEFAULT true,
    points            integer NOT NULL DEFAULT 0,
    partial_progress  boolean NOT NULL DEFAULT false,
    total_progress    integer,
    is_deleted        boolean NOT NULL DEFAULT false,
    remote_logged_at  timestamptz,
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX achievements_game_idx ON achievements (game_id)
    WHERE NOT is_deleted;

-- who is online, as the games report it
CREATE TABLE players_online (
    game_id       bigint NOT NULL REFERENCES games ON DELETE CASCADE,
    name          text NOT NULL,
    signed_in_at  timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX players_online_key ON players_online (game_id, lower(name));

-- every channels/broadcast the hub relayed
CREATE TABLE channel_messages (
    id            bigserial PRIMARY KEY,
    channel_id    bigint REFERENCES channels ON DELETE SET NULL,
    channel_name  text NOT NULL,
    game_name     text NOT NULL,
    player_name   text NOT NULL,
    message       text NOT NULL,
    hub_ref       text UNIQUE,
    hidden        boolean NOT NULL DEFAULT false,
    inserted_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX channel_messages_channel_idx
    ON channel_messages (channel_id, id DESC);

-- frames for the hub: any process inserts, the hub owner sends in order
CREATE TABLE hub_outbox (
    id          bigserial PRIMARY KEY,
    frame       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);

CREATE INDEX hub_outbox_pending_idx ON hub_outbox (id) WHERE sent_at IS NULL;

-- what the hub owner reports (grapevine_status reads it from any worker)
CREATE TABLE hub_status (
    id             integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    state          text NOT NULL,
    owner_pid      integer,
    instance       text,
    last_frame_at  timestamptz,
    synced         jsonb NOT NULL DEFAULT '{}',
    reconnects     integer NOT NULL DEFAULT 0,
    last_error     text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
