-- A game's record kept ready (api_game_record.sql) written again when its
-- players online, events or achievements change: each statement that
-- changes them writes the api_record of the games it touched to NULL,
-- once per statement (the hub link's sync writes ten events in one), and
-- the game's trigger writes it again from the rows.  Found by key
-- (= ANY), as api_game_connections_write() finds its games.
CREATE OR REPLACE FUNCTION api_game_record_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE games SET api_record = NULL
        WHERE id = ANY (ARRAY(SELECT DISTINCT game_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE games SET api_record = NULL
        WHERE id = ANY (ARRAY(SELECT game_id FROM new_rows
                              UNION SELECT game_id FROM old_rows));
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE games SET api_record = NULL
        WHERE id = ANY (ARRAY(SELECT DISTINCT game_id FROM old_rows));
    ELSE
        UPDATE games SET api_record = NULL;
    END IF;

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER players_online_api_record_insert
    AFTER INSERT ON players_online
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER players_online_api_record_update
    AFTER UPDATE ON players_online
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER players_online_api_record_delete
    AFTER DELETE ON players_online
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER players_online_api_record_truncate
    AFTER TRUNCATE ON players_online
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER events_api_record_insert
    AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER events_api_record_update
    AFTER UPDATE ON events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER events_api_record_delete
    AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER events_api_record_truncate
    AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER achievements_api_record_insert
    AFTER INSERT ON achievements
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER achievements_api_record_update
    AFTER UPDATE ON achievements
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER achievements_api_record_delete
    AFTER DELETE ON achievements
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

CREATE OR REPLACE TRIGGER achievements_api_record_truncate
    AFTER TRUNCATE ON achievements
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_record_changed();

-- kept in step in a session that replicates too (api_game_fragment.sql)
ALTER TABLE players_online
    ENABLE ALWAYS TRIGGER players_online_api_record_insert;
ALTER TABLE players_online
    ENABLE ALWAYS TRIGGER players_online_api_record_update;
ALTER TABLE players_online
    ENABLE ALWAYS TRIGGER players_online_api_record_delete;
ALTER TABLE players_online
    ENABLE ALWAYS TRIGGER players_online_api_record_truncate;
ALTER TABLE events ENABLE ALWAYS TRIGGER events_api_record_insert;
ALTER TABLE events ENABLE ALWAYS TRIGGER events_api_record_update;
ALTER TABLE events ENABLE ALWAYS TRIGGER events_api_record_delete;
ALTER TABLE events ENABLE ALWAYS TRIGGER events_api_record_truncate;
ALTER TABLE achievements ENABLE ALWAYS TRIGGER achievements_api_record_insert;
ALTER TABLE achievements ENABLE ALWAYS TRIGGER achievements_api_record_update;
ALTER TABLE achievements ENABLE ALWAYS TRIGGER achievements_api_record_delete;
ALTER TABLE achievements
    ENABLE ALWAYS TRIGGER achievements_api_record_truncate;
