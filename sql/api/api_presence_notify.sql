-- A game's presence changed: a player signed in or out, or the game came
-- online or went away.  Announced on the channel grapevine_presence with
-- the game's id (PostgreSQL folds equal notifications of a transaction:
-- one a game however many players a sync changes); each nginx worker
-- reads the games announced and tells its network streams
-- (src/api/ngx_grapevine_api_stream.c).
CREATE OR REPLACE FUNCTION api_presence_notify()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'games' THEN
        PERFORM pg_notify('grapevine_presence', NEW.id::text);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('grapevine_presence', OLD.game_id::text);
    ELSE
        PERFORM pg_notify('grapevine_presence', NEW.game_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER players_online_presence_notify
    AFTER INSERT OR UPDATE OR DELETE ON players_online
    FOR EACH ROW EXECUTE FUNCTION api_presence_notify();

CREATE OR REPLACE TRIGGER games_presence_notify
    AFTER UPDATE OF online ON games
    FOR EACH ROW WHEN (OLD.online IS DISTINCT FROM NEW.online)
    EXECUTE FUNCTION api_presence_notify();
