-- The API's kept JSON (migrations/0011_api_fragments.sql) written again
-- wherever it is not what the functions of sql/api/ write now: the rows
-- stored before the triggers existed (the migration that added the
-- columns), and every row after a change to how a record is written.
-- util/migrate applies sql/ after a migration and whenever sql/ changes,
-- so this file calls it there, in the same transaction; only the rows
-- that differ are written.
CREATE OR REPLACE FUNCTION api_render_all() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE games g
    SET api_head = r.api_head, api_agent_url = r.api_agent_url,
        api_path = r.api_path
    FROM (SELECT (api_game_render(x)).* FROM games x) r
    WHERE r.id = g.id
      AND (g.api_head, g.api_agent_url, g.api_path)
          IS DISTINCT FROM (r.api_head, r.api_agent_url, r.api_path);

    UPDATE events e SET api_json = r.api_json
    FROM (SELECT (api_event_render(x)).* FROM events x) r
    WHERE r.id = e.id AND e.api_json IS DISTINCT FROM r.api_json;

    DELETE FROM api_game_connections a
    WHERE NOT EXISTS (SELECT 1 FROM game_connections c
                      WHERE c.game_id = a.game_id);

    INSERT INTO api_game_connections AS a (game_id, json)
    SELECT g.game_id, api_game_connections_json(g.game_id)
    FROM (SELECT DISTINCT game_id FROM game_connections) g
    ON CONFLICT (game_id) DO UPDATE SET json = excluded.json
    WHERE a.json IS DISTINCT FROM excluded.json;
END
$$;

DO $$ BEGIN PERFORM api_render_all(); END $$;
