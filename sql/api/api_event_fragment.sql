-- An event's JSON kept ready for the game's record in the API
-- (migrations/0011_api_fragments.sql), written into the row by the
-- statement that inserts or changes it, as a game's is
-- (api_game_fragment.sql).  Which events are upcoming depends on the day,
-- so the record picks them when it is read.
CREATE OR REPLACE FUNCTION api_event_render(e events) RETURNS events
LANGUAGE plpgsql STABLE AS $$
BEGIN
    e.api_json := '{"title":' || api_str(e.title)
                  || ',"description":' || api_str(e.description)
                  || ',"start_date":'
                  || api_str(to_char(e.start_date, 'YYYY-MM-DD'))
                  || ',"end_date":'
                  || api_str(to_char(e.end_date, 'YYYY-MM-DD')) || '}';

    RETURN e;
END
$$;

CREATE OR REPLACE FUNCTION api_event_fragment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RETURN api_event_render(NEW);
END
$$;

CREATE OR REPLACE TRIGGER events_api_fragment_insert BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION api_event_fragment();

CREATE OR REPLACE TRIGGER events_api_fragment_update BEFORE UPDATE ON events
    FOR EACH ROW
    WHEN ((OLD.title, OLD.description, OLD.start_date, OLD.end_date,
           OLD.api_json)
          IS DISTINCT FROM
          (NEW.title, NEW.description, NEW.start_date, NEW.end_date,
           NEW.api_json))
    EXECUTE FUNCTION api_event_fragment();

-- kept in step in a session that replicates too (api_game_fragment.sql)
ALTER TABLE events ENABLE ALWAYS TRIGGER events_api_fragment_insert;
ALTER TABLE events ENABLE ALWAYS TRIGGER events_api_fragment_update;
