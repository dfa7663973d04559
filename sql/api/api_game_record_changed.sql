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

-- the same four triggers on each of the three tables, kept in step in a
-- session that replicates too (api_game_fragment.sql)
DO $$
DECLARE
    t  text;
BEGIN
    FOREACH t IN ARRAY ARRAY['players_online', 'events', 'achievements']
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I AFTER INSERT ON %2$I '
                       'REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT '
                       'EXECUTE FUNCTION api_game_record_changed()',
                       t || '_api_record_insert', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I AFTER UPDATE ON %2$I '
                       'REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION api_game_record_changed()',
                       t || '_api_record_update', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I AFTER DELETE ON %2$I '
                       'REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT '
                       'EXECUTE FUNCTION api_game_record_changed()',
                       t || '_api_record_delete', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I AFTER TRUNCATE ON %2$I '
                       'FOR EACH STATEMENT '
                       'EXECUTE FUNCTION api_game_record_changed()',
                       t || '_api_record_truncate', t);

        EXECUTE format('ALTER TABLE %1$I ENABLE ALWAYS TRIGGER %2$I, '
                       'ENABLE ALWAYS TRIGGER %3$I, '
                       'ENABLE ALWAYS TRIGGER %4$I, '
                       'ENABLE ALWAYS TRIGGER %5$I',
                       t, t || '_api_record_insert',
                       t || '_api_record_update', t || '_api_record_delete',
                       t || '_api_record_truncate');
    END LOOP;
END
$$;
