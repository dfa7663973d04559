-- The home page's figures (site_counts: games and games online listed,
-- players online where their game shows them, accounts, approved
-- characters) and each game's players online (game_counts), kept by the
-- statements that change them, so that no page counts a table: a trigger
-- per table and kind of change, once per statement, adds up the rows the
-- statement changed (its transition tables), so that a statement of
-- many rows costs one update of a count.  TRUNCATE counts the table anew.
-- migrations/0011_scale.sql made the tables and filled them in.

-- add delta to a figure (nothing to lock when it is 0)
CREATE OR REPLACE FUNCTION site_count(what text, delta bigint)
RETURNS void LANGUAGE sql AS $$
    UPDATE site_counts SET n = n + delta WHERE name = what AND delta <> 0
$$;

-- players online: deltas by game, for the games that exist (one that was
-- just deleted is counted out by the trigger on games)
CREATE OR REPLACE FUNCTION site_count_players(ids bigint[], deltas bigint[])
RETURNS void LANGUAGE sql AS $$
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
    SELECT site_count('players_online',
                      (SELECT coalesce(sum(n) FILTER (WHERE shown), 0)
                       FROM d)::bigint)
$$;

CREATE OR REPLACE FUNCTION site_counts_games() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d_games    bigint := 0;
    d_online   bigint := 0;
    d_players  bigint := 0;
    a          bigint;
    b          bigint;
    c          bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM game_counts;
        UPDATE site_counts SET n = 0
        WHERE name IN ('games', 'games_online', 'players_online');
        RETURN NULL;
    END IF;

    -- what the rows count for, before and after: their players online
    -- are the game's, as game_counts holds them now
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*) FILTER (WHERE g.display),
               count(*) FILTER (WHERE g.display AND g.online),
               coalesce(sum(k.players) FILTER (WHERE g.display
                                                 AND g.display_players), 0)
        INTO a, b, c
        FROM new_rows g LEFT JOIN game_counts k ON k.game_id = g.id;

        d_games := d_games + a;
        d_online := d_online + b;
        d_players := d_players + c;
    END IF;

    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT count(*) FILTER (WHERE g.display),
               count(*) FILTER (WHERE g.display AND g.online),
               coalesce(sum(k.players) FILTER (WHERE g.display
                                                 AND g.display_players), 0)
        INTO a, b, c
        FROM old_rows g LEFT JOIN game_counts k ON k.game_id = g.id;

        d_games := d_games - a;
        d_online := d_online - b;
        d_players := d_players - c;
    END IF;

    IF TG_OP = 'DELETE' THEN
        DELETE FROM game_counts k USING old_rows g WHERE k.game_id = g.id;
    END IF;

    PERFORM site_count('games', d_games);
    PERFORM site_count('games_online', d_online);
    PERFORM site_count('players_online', d_players);

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER games_counts_insert AFTER INSERT ON games
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_games();

CREATE OR REPLACE TRIGGER games_counts_update AFTER UPDATE ON games
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_counts_games();

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

    ELSIF TG_OP = 'INSERT' THEN
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
        PERFORM site_count('users', (SELECT count(*) FROM new_rows));
    ELSE
        PERFORM site_count('users', -(SELECT count(*) FROM old_rows));
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

    PERFORM site_count('characters', d);

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
