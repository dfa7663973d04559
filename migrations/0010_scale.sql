-- 0010: a large network's data (issue 11, "Scale").  Pages read what they
-- show from indexes and from counts kept by the statements that change
-- them, never by counting or sorting a whole table:
--
-- * the counts: site_counts (the home page's figures), game_counts (the
--   players online in each game), channel_counts (each channel's messages,
--   hidden messages and newest message shown), chat_minutes (the messages
--   shown, a minute at a time, over the last two days); the triggers that
--   keep them are in sql/site/site_counts.sql and site_chat_counts.sql,
--   and they are filled in here from the rows already stored;
-- * indexes on the order of every paged list (games, a game's
--   characters), on a channel's public history by id, on the senders
--   Raisin filters by, and trigram indexes (pg_trgm, with btree_gin for
--   the channel) for the searches by a part of a name or a message.
--
-- pg_trgm and btree_gin ship with PostgreSQL and are trusted extensions:
-- the role that runs util/migrate needs CREATE on the database (or a
-- superuser creates them first).

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- nothing may change the counted tables between the counts below and the
-- triggers sql/ creates after this file, in the same transaction
LOCK TABLE games, players_online, users, characters, channels,
           channel_messages IN SHARE MODE;

-- ------------------------------------------------------------ counts

CREATE TABLE site_counts (
    name  text PRIMARY KEY,
    n     bigint NOT NULL
);

INSERT INTO site_counts (name, n)
VALUES ('games', (SELECT count(*) FROM games WHERE display)),
       ('games_online', (SELECT count(*) FROM games
                         WHERE display AND online)),
       ('players_online', (SELECT count(*) FROM players_online p
                           JOIN games g ON g.id = p.game_id
                           WHERE g.display AND g.display_players)),
       ('users', (SELECT count(*) FROM users)),
       ('characters', (SELECT count(*) FROM characters
                       WHERE state = 'approved'));

-- a game's players online; no foreign key: when a game is deleted, its
-- row is still there for the trigger on games to count it out, and then
-- removed by it
CREATE TABLE game_counts (
    game_id  bigint PRIMARY KEY,
    players  integer NOT NULL
);

CREATE INDEX game_counts_players_idx ON game_counts (players DESC, game_id)
    WHERE players > 0;

INSERT INTO game_counts (game_id, players)
SELECT game_id, count(*) FROM players_online GROUP BY game_id;

CREATE TABLE channel_counts (
    channel_id  bigint PRIMARY KEY REFERENCES channels ON DELETE CASCADE,
    messages    bigint NOT NULL,          -- all of them
    hidden      bigint NOT NULL,          -- of which hidden
    last_id     bigint,                   -- the newest shown
    last_at     timestamptz               -- and when it was said
);

INSERT INTO channel_counts (channel_id, messages, hidden, last_id, last_at)
SELECT channel_id, count(*), count(*) FILTER (WHERE hidden),
       max(id) FILTER (WHERE NOT hidden),
       (array_agg(inserted_at ORDER BY id DESC)
        FILTER (WHERE NOT hidden))[1]
FROM channel_messages WHERE channel_id IS NOT NULL GROUP BY channel_id;

-- the messages not hidden, by the minute they were stored (the home
-- page's "chat today"); only the last two days are kept
CREATE TABLE chat_minutes (
    minute    timestamptz PRIMARY KEY,
    messages  integer NOT NULL
);

INSERT INTO chat_minutes (minute, messages)
SELECT date_trunc('minute', inserted_at), count(*)
FROM channel_messages
WHERE NOT hidden AND inserted_at > now() - interval '2 days'
GROUP BY 1;

-- ------------------------------------------------------------ indexes

-- the games list: online first, then by name (the site), or by name (the
-- API, filtered or not by online); name is included so that counting a
-- deep page's offset reads the index alone.  games_list_idx serves what
-- games_online_idx did (the online ones), so the hub link's writes keep
-- one index fewer up to date.
DROP INDEX IF EXISTS games_online_idx;
DROP INDEX IF EXISTS games_name_idx;
CREATE INDEX games_list_idx ON games (online DESC, lower(name), id)
    INCLUDE (name) WHERE display;
CREATE INDEX games_name_idx ON games (lower(name), id)
    INCLUDE (name) WHERE display;

-- a part of a game's name or short name: one trigram index of both (a
-- match across the line between them is filtered out by the query)
CREATE INDEX games_names_trgm_idx ON games
    USING gin ((lower(name) || E'\n' || lower(short_name)) gin_trgm_ops)
    WHERE display;

-- a game's approved characters by name, with what a page's offset needs
CREATE INDEX characters_list_idx ON characters (game_id, lower(name))
    INCLUDE (name, user_id) WHERE state = 'approved';

-- the few suspended accounts, left out of every public list
CREATE INDEX users_suspended_idx ON users (id)
    WHERE suspended_at IS NOT NULL;

-- Raisin: the newest accounts; a part of a username or email address
CREATE INDEX users_inserted_idx ON users (inserted_at DESC, id DESC);
CREATE INDEX users_username_trgm_idx ON users
    USING gin (lower(username) gin_trgm_ops);
CREATE INDEX users_email_trgm_idx ON users
    USING gin (lower(email) gin_trgm_ops);

-- Raisin: the active mutes, the nearest end first
CREATE INDEX raisin_mutes_active_idx ON raisin_mutes (until, id)
    WHERE lifted_at IS NULL;

-- Raisin: an account's audit rows name it in the target or the details
CREATE INDEX raisin_audit_username_idx
    ON raisin_audit ((details ->> 'username'), id DESC);

-- a channel's public history by id (the site, the API)
CREATE INDEX channel_messages_public_idx ON channel_messages (channel_id, id)
    WHERE NOT hidden;

-- Raisin: a channel's log by sender, by game, and by a part of the text
-- as the pages show it (its first 2,048 characters: a stored message of
-- 1 MB is neither lowered nor indexed whole)
CREATE INDEX channel_messages_player_idx
    ON channel_messages (channel_id, lower(player_name), id);
CREATE INDEX channel_messages_game_idx
    ON channel_messages (channel_id, lower(game_name), id);
CREATE INDEX channel_messages_text_idx ON channel_messages
    USING gin (channel_id, lower(left(message, 2048)) gin_trgm_ops);
