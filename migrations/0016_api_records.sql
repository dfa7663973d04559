-- 0016: a game's whole record in the API kept ready (issue 13, "a miss
-- costs what a lookup costs").  Migration 0011 kept the parts of a game's
-- JSON that change with the game; the record still read, at every request,
-- the game's players online, its upcoming events and how many
-- achievements it shows: three sub-queries that cost the database twice
-- what reading the record does.  Now the whole record is kept:
--
-- * games.api_record: the game's JSON as /api/games/{x} answers it
--   (chr(1) for the location's prefix), written by the statement that
--   changes the game, its players online, its events or its achievements
--   (sql/api/api_game_record.sql, api_game_record_changed.sql);
-- * games.api_record_date, api_record_until: the days it holds for.  Which
--   events are upcoming depends on the day: the record lists those that
--   had not ended on api_record_date, the day it was written, which stay
--   the same until the first of them ends (api_record_until, the day
--   after; 'infinity' when it lists none).  On a day outside them the
--   query that reads the record makes it afresh, as the trigger would, so
--   an answer is never a day behind: it is only slower until the game's
--   next change writes the record again.
--
-- The rows stored already are filled in by api_render_all(), which
-- util/migrate runs with sql/ in this same transaction.
--
-- compatible: 10

-- nothing may change what a record holds between the refresh and the
-- triggers sql/ creates after this file
LOCK TABLE games, players_online, events, achievements IN SHARE MODE;

ALTER TABLE games ADD COLUMN api_record text;
ALTER TABLE games ADD COLUMN api_record_date date;
ALTER TABLE games ADD COLUMN api_record_until date;
