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
    PERFORM api_game_connections_write(ARRAY(SELECT id FROM games));

    UPDATE games g
    SET api_item = r.api_item, api_head = r.api_head,
        api_agent_url = r.api_agent_url, api_path = r.api_path
    FROM (SELECT (api_game_render(x)).* FROM games x) r
    WHERE r.id = g.id
      AND (g.api_item, g.api_head, g.api_agent_url, g.api_path)
          IS DISTINCT FROM
          (r.api_item, r.api_head, r.api_agent_url, r.api_path);

    UPDATE events e SET api_json = r.api_json
    FROM (SELECT (api_event_render(x)).* FROM events x) r
    WHERE r.id = e.id AND e.api_json IS DISTINCT FROM r.api_json;

    -- the records that differ (one written on another day too)
    UPDATE games g
    SET api_record = r.api_record, api_record_date = r.api_record_date,
        api_record_until = r.api_record_until
    FROM (SELECT (api_game_record_render(x)).* FROM games x) r
    WHERE r.id = g.id
      AND (g.api_record, g.api_record_date, g.api_record_until)
          IS DISTINCT FROM
          (r.api_record, r.api_record_date, r.api_record_until);
END
$$;

DO $$ BEGIN PERFORM api_render_all(); END $$;
