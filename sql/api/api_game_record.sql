-- A game's whole record in the API kept ready (migrations/0016_api_records.sql):
-- written into the row, before the write, by the statement that changes
-- what the record shows of the game itself (the parts migration 0011
-- keeps, "online", "last_seen_at", whether it shows its players), and by
-- the statements that change its players online, events or achievements,
-- which write the game's api_record to NULL (api_game_record_changed.sql)
-- for this trigger to write it again.  A kept value written directly is
-- written again from the row.  The trigger is named after
-- games_api_fragment_*, so it runs after it and reads its parts.
--
-- The record lists the game's first 100 players online (null when it
-- hides them), its next 10 events (those not ended on the day it is
-- written, each as events.api_json keeps it) and how many achievements it
-- shows; api_record_date and api_record_until are the days these events
-- hold for (the first listed to end, the day after).  chr(1) stands for
-- the location's prefix.
CREATE OR REPLACE FUNCTION api_game_record_render(g games) RETURNS games
LANGUAGE plpgsql STABLE AS $$
DECLARE
    today    date := current_date;
    players  text;
    events   text;
    until    date;
    shown    bigint;
BEGIN
    IF g.display_players THEN
        SELECT '[' || coalesce(string_agg(api_str(p.name), ','
                                          ORDER BY lower(p.name)), '')
               || ']'
        INTO players
        FROM (SELECT name FROM players_online WHERE game_id = g.id
              ORDER BY lower(name) LIMIT 100) p;
    ELSE
        players := 'null';
    END IF;

    SELECT coalesce(string_agg(e.api_json, ',' ORDER BY e.start_date, e.id),
                    ''),
           min(e.last_day) + 1
    INTO events, until
    FROM (SELECT id, start_date, api_json,
                 coalesce(end_date, start_date) AS last_day
          FROM events
          WHERE game_id = g.id AND NOT is_deleted
            AND coalesce(end_date, start_date) >= today
          ORDER BY start_date, id LIMIT 10) e;

    SELECT count(*) INTO shown
    FROM achievements a
    WHERE a.game_id = g.id AND a.display AND NOT a.is_deleted;

    g.api_record := g.api_head || g.api_agent_url
                    || ',"online":'
                    || CASE WHEN g.online THEN 'true' ELSE 'false' END
                    || ',"last_seen_at":' || api_time(g.last_seen_at)
                    || ',"connections":[' || g.api_connections
                    || '],"players":' || players
                    || ',"events":[' || events
                    || '],"achievements_count":' || shown
                    || ',"links":[{"rel":"self","href":"' || chr(1)
                    || g.api_path
                    || '"},{"rel":"characters","href":"' || chr(1)
                    || g.api_path || '/characters"}]}';
    g.api_record_date := today;
    g.api_record_until := coalesce(until, 'infinity');

    RETURN g;
END
$$;

CREATE OR REPLACE FUNCTION api_game_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RETURN api_game_record_render(NEW);
END
$$;

CREATE OR REPLACE TRIGGER games_api_record_insert BEFORE INSERT ON games
    FOR EACH ROW EXECUTE FUNCTION api_game_record();

CREATE OR REPLACE TRIGGER games_api_record_update BEFORE UPDATE ON games
    FOR EACH ROW
    WHEN ((OLD.api_head, OLD.api_agent_url, OLD.api_path,
           OLD.api_connections, OLD.online, OLD.last_seen_at,
           OLD.display_players, OLD.api_record, OLD.api_record_date,
           OLD.api_record_until)
          IS DISTINCT FROM
          (NEW.api_head, NEW.api_agent_url, NEW.api_path,
           NEW.api_connections, NEW.online, NEW.last_seen_at,
           NEW.display_players, NEW.api_record, NEW.api_record_date,
           NEW.api_record_until))
    EXECUTE FUNCTION api_game_record();

-- kept in step in a session that replicates too (api_game_fragment.sql)
ALTER TABLE games ENABLE ALWAYS TRIGGER games_api_record_insert;
ALTER TABLE games ENABLE ALWAYS TRIGGER games_api_record_update;
