-- The home page's figures (site_counts: games and games online listed,
-- players online where their game shows them, accounts, approved
-- characters) and each game's players online (game_counts), kept by the
-- statements that change them, so that no page counts a table: a trigger
-- per table and kind of change, once per statement, adds up the rows the
-- statement changed (its transition tables), so that a statement of
-- many rows costs one update of a count.  TRUNCATE counts the table anew.
-- migrations/0010_scale.sql made the tables and filled them in.

-- add deltas to figures, in one statement; nothing is written (or
-- locked) for a delta of 0.  The helpers and triggers are PL/pgSQL, whose
-- plans are kept from one call to the next (a LANGUAGE sql function's
-- are made anew each time): the hub link fires them on every event.
CREATE OR REPLACE FUNCTION site_count(names text[], deltas bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE site_counts c SET n = c.n + d.delta
    FROM unnest(names, deltas) AS d (name, delta)
    WHERE c.name = d.name AND d.delta <> 0;
END
$$;

-- players online: deltas by game, for the games that exist (one that was
-- just deleted is counted out by the trigger on games); one statement
CREATE OR REPLACE FUNCTION site_count_players(ids bigint[], deltas bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH d AS (
        SELECT g.id, d.n, g.display AND g.display_players AS shown
        FROM unnest(ids, deltas) AS d (id, n)
        JOIN games g ON g.id = d.id
        WHERE d.n <> 0
    ), counted AS (
        INSERT INTO game_counts AS c (game_id, players)
        SELECT id, n FROM d ORDER BY id
        ON CONFLICT (game_id)
        DO UPDATE SET players = c.players + excluded.players
    )
    UPDATE site_counts c SET n = c.n + t.n
    FROM (SELECT sum(d.n) AS n FROM d WHERE d.shown) AS t
    WHERE c.name = 'players_online' AND t.n <> 0;
END
$$;

-- games inserted or deleted, a statement at a time: what the rows count
-- for (their players online are the game's, as game_counts holds them)
-- is added or taken away; a deleted game's game_counts row goes too
CREATE OR REPLACE FUNCTION site_counts_games() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d_games    bigint;
    d_online   bigint;
    d_players  bigint;
    sign       integer := 1;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM game_counts;
        UPDATE site_counts SET n = 0
        WHERE name IN ('games', 'games_online', 'players_online');
        RETURN NULL;
    END IF;

    IF TG_OP = 'INSERT' THEN
        SELECT count(*) FILTER (WHERE g.display),
               count(*) FILTER (WHERE g.display AND g.online),
               coalesce(sum(k.players) FILTER (WHERE g.display
                                                 AND g.display_players), 0)
        INTO d_games, d_online, d_players
        FROM new_rows g LEFT JOIN game_counts k ON k.game_id = g.id;

    ELSE
        SELECT count(*) FILTER (WHERE g.display),
               count(*) FILTER (WHERE g.display AND g.online),
               coalesce(sum(k.players) FILTER (WHERE g.display
                                                 AND g.display_players), 0)
        INTO d_games, d_online, d_players
        FROM old_rows g LEFT JOIN game_counts k ON k.game_id = g.id;

        DELETE FROM game_counts k USING old_rows g WHERE k.game_id = g.id;
        sign := -1;
    END IF;

    IF d_games <> 0 OR d_online <> 0 OR d_players <> 0 THEN
        PERFORM site_count('{games, games_online, players_online}',
                           ARRAY[sign * d_games, sign * d_online,
                                 sign * d_players]);
    END IF;

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER games_counts_insert AFTER INSERT ON games
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_games();

-- an update, a row at a time, and only of a row whose counted flags
-- change: the hub link updates games at every sign-in (last_seen_at) and
-- every sync (an upsert), which the trigger's WHEN lets pass without a
-- call
CREATE OR REPLACE FUNCTION site_counts_game() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    players  bigint;
BEGIN
    SELECT coalesce(max(k.players), 0) INTO players
    FROM game_counts k WHERE k.game_id = NEW.id;

    PERFORM site_count('{games, games_online, players_online}',
        ARRAY[NEW.display::int - OLD.display::int,
              (NEW.display AND NEW.online)::int
              - (OLD.display AND OLD.online)::int,
              players * ((NEW.display AND NEW.display_players)::int
                         - (OLD.display AND OLD.display_players)::int)]);

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER games_counts_update AFTER UPDATE ON games
    FOR EACH ROW
    WHEN ((OLD.display, OLD.online, OLD.display_players)
          IS DISTINCT FROM (NEW.display, NEW.online, NEW.display_players))
    EXECUTE FUNCTION site_counts_game();

CREATE OR REPLACE TRIGGER games_counts_delete AFTER DELETE ON games
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_games();

CREATE OR REPLACE TRIGGER games_counts_truncate AFTER TRUNCATE ON games
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_games();

CREATE OR REPLACE FUNCTION site_counts_players() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM game_counts;
        UPDATE site_counts SET n = 0 WHERE name = 'players_online';
        RETURN NULL;
    END IF;

    IF TG_OP = 'INSERT' THEN
        PERFORM site_count_players(array_agg(game_id), array_agg(n))
        FROM (SELECT game_id, count(*) AS n FROM new_rows
              GROUP BY game_id) AS d;

    ELSIF TG_OP = 'DELETE' THEN
        PERFORM site_count_players(array_agg(game_id), array_agg(-n))
        FROM (SELECT game_id, count(*) AS n FROM old_rows
              GROUP BY game_id) AS d;

    ELSE
        PERFORM site_count_players(array_agg(game_id), array_agg(n))
        FROM (SELECT game_id, sum(n)::bigint AS n
              FROM (SELECT game_id, 1 AS n FROM new_rows
                    UNION ALL
                    SELECT game_id, -1 FROM old_rows) AS r
              GROUP BY game_id) AS d;
    END IF;

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER players_online_counts_insert
    AFTER INSERT ON players_online REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_players();

CREATE OR REPLACE TRIGGER players_online_counts_update
    AFTER UPDATE ON players_online
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_players();

CREATE OR REPLACE TRIGGER players_online_counts_delete
    AFTER DELETE ON players_online REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_players();

CREATE OR REPLACE TRIGGER players_online_counts_truncate
    AFTER TRUNCATE ON players_online
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_players();

CREATE OR REPLACE FUNCTION site_counts_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE site_counts SET n = 0 WHERE name = 'users';
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM site_count('{users}', ARRAY[(SELECT count(*) FROM new_rows)]);
    ELSE
        PERFORM site_count('{users}',
                           ARRAY[-(SELECT count(*) FROM old_rows)]);
    END IF;

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER users_counts_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_users();

CREATE OR REPLACE TRIGGER users_counts_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_users();

CREATE OR REPLACE TRIGGER users_counts_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_users();

CREATE OR REPLACE FUNCTION site_counts_characters() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d  bigint := 0;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE site_counts SET n = 0 WHERE name = 'characters';
        RETURN NULL;
    END IF;

    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        d := d + (SELECT count(*) FROM new_rows WHERE state = 'approved');
    END IF;

    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        d := d - (SELECT count(*) FROM old_rows WHERE state = 'approved');
    END IF;

    IF d <> 0 THEN
        PERFORM site_count('{characters}', ARRAY[d]);
    END IF;

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER characters_counts_insert AFTER INSERT ON characters
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_characters();

CREATE OR REPLACE TRIGGER characters_counts_update AFTER UPDATE ON characters
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_characters();

CREATE OR REPLACE TRIGGER characters_counts_delete AFTER DELETE ON characters
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_characters();

CREATE OR REPLACE TRIGGER characters_counts_truncate
    AFTER TRUNCATE ON characters
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_characters();
