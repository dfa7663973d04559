-- 0011: the JSON API's records kept ready (issue 13, "a miss costs what a
-- lookup costs").  A game's JSON, its connections' and each event's are
-- written by the statement that changes the row, so an answer that is not
-- cached is an index lookup and a concatenation, not a render:
--
-- * games.api_item: the game as the games list writes it, whole;
-- * games.api_head: the game's first members as the API writes them,
--   {"short_name":…,"name":…,"description":…,"homepage_url":…,
--   "user_agent":… (no closing brace), which the record starts with;
--   games.api_agent_url: ,"user_agent_url":… (the record's next member);
--   games.api_path: games/<short name, percent-encoded>, for the links;
--   games.api_connections: the game's connections as JSON objects joined
--   by commas, in order;
-- * events.api_json: an event as the record's "events" list writes it.
--
-- The triggers that keep them, and the functions that write the JSON, are
-- in sql/api/ (api_json.sql, api_game_fragment.sql,
-- api_game_connections.sql, api_event_fragment.sql).  The rows stored
-- already are filled in by api_render_all() (api_render_all.sql), which
-- util/migrate runs with sql/ in this same transaction (and whenever sql/
-- changes, so that a change to how a record is written reaches every row
-- kept): a migration does not copy the functions.
--
-- What changes with presence or the clock is not kept in the record: its
-- "online" and "last_seen_at" (written at every sign-in), its players
-- online and which events are still upcoming are read with it.  The
-- list's item holds "online", which changes when a game comes or goes.
--
-- compatible: 10

-- nothing may change the games, their connections or events between the
-- refresh and the triggers sql/ creates after this file
LOCK TABLE games, game_connections, events IN SHARE MODE;

ALTER TABLE games ADD COLUMN api_item text;
ALTER TABLE games ADD COLUMN api_head text;
ALTER TABLE games ADD COLUMN api_agent_url text;
ALTER TABLE games ADD COLUMN api_path text;
ALTER TABLE games ADD COLUMN api_connections text NOT NULL DEFAULT '';

ALTER TABLE events ADD COLUMN api_json text;

-- room in each page of games for a row's next version: the hub link's
-- sync writes a game, then its connections, whose trigger writes the
-- game's JSON again; with room, that second version is a HOT update (no
-- index entry written, the trigram index's least of all).  Pages written
-- from now on.
ALTER TABLE games SET (fillfactor = 70);
