-- A game's JSON kept ready for the API (migrations/0011_api_fragments.sql):
-- written into the row by the statement that inserts or changes it,
-- whoever writes (the hub link's sync, an operator), its connections'
-- too (api_game_connections.sql writes api_connections).  A row trigger
-- before the write, so the JSON costs no second write of the row; an
-- update that changes none of what is kept (the hub link's sign-ins set
-- last_seen_at, and online only when the game was not online) does not
-- call it.  A kept value written directly is written again from the row.
CREATE OR REPLACE FUNCTION api_game_render(g games) RETURNS games
LANGUAGE plpgsql STABLE AS $$
BEGIN
    g.api_head := '{"short_name":' || api_str(g.short_name)
                  || ',"name":' || api_str(g.name)
                  || ',"description":' || api_str(g.description)
                  || ',"homepage_url":' || api_url(g.homepage_url)
                  || ',"user_agent":' || api_str(g.user_agent);
    g.api_agent_url := ',"user_agent_url":' || api_url(g.user_agent_url);
    g.api_path := 'games/' || api_seg(g.short_name);
    g.api_item := g.api_head || ',"online":'
                  || CASE WHEN g.online THEN 'true' ELSE 'false' END
                  || ',"connections":[' || g.api_connections
                  || '],"links":[{"rel":"self","href":"' || chr(1)
                  || g.api_path || '"}]}';

    RETURN g;
END
$$;

CREATE OR REPLACE FUNCTION api_game_fragment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RETURN api_game_render(NEW);
END
$$;

CREATE OR REPLACE TRIGGER games_api_fragment_insert BEFORE INSERT ON games
    FOR EACH ROW EXECUTE FUNCTION api_game_fragment();

CREATE OR REPLACE TRIGGER games_api_fragment_update BEFORE UPDATE ON games
    FOR EACH ROW
    WHEN ((OLD.short_name, OLD.name, OLD.description, OLD.homepage_url,
           OLD.user_agent, OLD.user_agent_url, OLD.online,
           OLD.api_connections, OLD.api_item, OLD.api_head,
           OLD.api_agent_url, OLD.api_path)
          IS DISTINCT FROM
          (NEW.short_name, NEW.name, NEW.description, NEW.homepage_url,
           NEW.user_agent, NEW.user_agent_url, NEW.online,
           NEW.api_connections, NEW.api_item, NEW.api_head,
           NEW.api_agent_url, NEW.api_path))
    EXECUTE FUNCTION api_game_fragment();

-- kept in step in a session that replicates (session_replication_role =
-- replica) too, where ordinary triggers do not fire: the JSON is the row's
ALTER TABLE games ENABLE ALWAYS TRIGGER games_api_fragment_insert;
ALTER TABLE games ENABLE ALWAYS TRIGGER games_api_fragment_update;
