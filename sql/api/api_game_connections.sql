-- A game's connections' JSON kept ready for the API, in the game's row
-- (games.api_connections, migrations/0011_api_fragments.sql): each
-- statement that changes game_connections writes the list of the games
-- it touched again, once per statement (the hub link's sync writes an
-- event's connections in one), in the order the API lists them (by id);
-- the game's trigger (api_game_fragment.sql) then writes its list item
-- again.  A game whose list is unchanged is not written.
-- one connection (inlined where it is called)
CREATE OR REPLACE FUNCTION api_connection_json(c game_connections)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"type":' || api_str(c.type)
           || CASE WHEN c.url IS NULL THEN ''
                   ELSE ',"url":' || api_url(c.url) END
           || CASE WHEN c.host IS NULL THEN ''
                   ELSE ',"host":' || api_str(c.host) END
           || CASE WHEN c.port IS NULL THEN ''
                   ELSE ',"port":' || c.port END
           || '}'
$$;

-- the games given: their lists written again, each made once (OFFSET 0
-- keeps the subquery apart, or each would be made twice).  Found by key
-- (= ANY), a plan that stays an index scan whatever the statistics said
-- when it was made (a join to the list alone was planned, on a first
-- sync, as a scan of every game for each event)
CREATE OR REPLACE FUNCTION api_game_connections_write(ids bigint[])
RETURNS void LANGUAGE sql AS $$
    UPDATE games g SET api_connections = j.json
    FROM (SELECT x.id,
                 coalesce((SELECT string_agg(api_connection_json(c), ','
                                             ORDER BY c.id)
                           FROM game_connections c
                           WHERE c.game_id = x.id), '') AS json
          FROM unnest(ids) AS x(id) OFFSET 0) j
    WHERE g.id = ANY (ids) AND g.id = j.id
      AND g.api_connections IS DISTINCT FROM j.json;
$$;

CREATE OR REPLACE FUNCTION api_game_connections_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM api_game_connections_write(
            ARRAY(SELECT DISTINCT game_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM api_game_connections_write(
            ARRAY(SELECT game_id FROM new_rows
                  UNION SELECT game_id FROM old_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM api_game_connections_write(
            ARRAY(SELECT DISTINCT game_id FROM old_rows));
    ELSE
        UPDATE games SET api_connections = ''
        WHERE api_connections <> '';
    END IF;

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER game_connections_api_insert
    AFTER INSERT ON game_connections
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_connections_changed();

CREATE OR REPLACE TRIGGER game_connections_api_update
    AFTER UPDATE ON game_connections
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_connections_changed();

CREATE OR REPLACE TRIGGER game_connections_api_delete
    AFTER DELETE ON game_connections
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_connections_changed();

CREATE OR REPLACE TRIGGER game_connections_api_truncate
    AFTER TRUNCATE ON game_connections
    FOR EACH STATEMENT EXECUTE FUNCTION api_game_connections_changed();

-- kept in step in a session that replicates too (api_game_fragment.sql)
ALTER TABLE game_connections ENABLE ALWAYS TRIGGER game_connections_api_insert;
ALTER TABLE game_connections ENABLE ALWAYS TRIGGER game_connections_api_update;
ALTER TABLE game_connections ENABLE ALWAYS TRIGGER game_connections_api_delete;
ALTER TABLE game_connections
    ENABLE ALWAYS TRIGGER game_connections_api_truncate;
