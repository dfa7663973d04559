-- The records kept whole (api_game_record.sql) whose days have passed,
-- written again: a record lists the events not ended on the day it was
-- written, and holds until the first of them ends (api_record_until).
-- On a later day the query that reads it makes it afresh, which is exact
-- but costs what the record cost before it was kept; a game that does not
-- change (one offline for months) would pay it at every read.  So each
-- slot of the statistics, which the owner of the hub link records every
-- grapevine_statistics_interval (15 minutes by default) while the link is
-- live, writes those records again: the network's clock, read by a
-- trigger, so that the Backbone does not know the API.  The records found
-- are written to api_record_until NULL, for the game's trigger to write
-- them again; a record never written (rows restored with the triggers off)
-- is left to api_render_all().
CREATE OR REPLACE FUNCTION api_game_record_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE games SET api_record_until = NULL
    WHERE api_record_until IS NOT NULL
      AND NOT (current_date >= api_record_date
               AND current_date < api_record_until);

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER statistics_api_record_refresh
    AFTER INSERT ON statistics
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_refresh();

-- in a session that replicates too (api_game_fragment.sql)
ALTER TABLE statistics ENABLE ALWAYS TRIGGER statistics_api_record_refresh;
