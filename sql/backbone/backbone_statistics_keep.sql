-- The charts' points kept ready (statistics_kept, migrations/0015_*.sql),
-- by the owner of the hub link when it records a slot
-- (backbone_statistics_record() calls it, in the same transaction): for
-- each kept period, the step that holds the slot is read again from the
-- rows for every game that has a row in it (the network's included), and
-- each of their kept rows is moved on to that step (its older points
-- shifted, the steps between them NULL: nothing of the game was recorded
-- there) with the step's maximum as its newest point.  A game without a
-- kept row gets its whole window from the rows (it just appeared, or it
-- comes back after a month); a game whose window holds none of its rows
-- any more loses its row.  So a slot costs a few statements over the
-- rows of that slot, whatever the history; the other games' rows are not
-- touched (a chart reads the steps after a game's last_step as NULL).
--
-- The whole period is computed again from the rows when it has no
-- network row yet (the first slot after the migration, or after the
-- retention was long enough again), when the step of 48 hours changed
-- (grapevine_statistics_interval did), or when `rebuild` asks (after
-- rows were written another way).  A period the retention does not cover
-- (backbone_statistics_prune() marks it) is left to the rows.  Returns
-- the rows kept.
CREATE OR REPLACE FUNCTION backbone_statistics_keep(at_slot timestamptz,
                                                    rebuild boolean
                                                        DEFAULT false)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    origin  constant timestamptz := '2000-01-01 00:00:00+00';
    per     text;
    sp      interval;           -- the period's span
    st      interval;           -- its step
    secs    numeric;
    hourly  boolean;            -- read from statistics_hourly
    s       timestamptz;        -- the step that holds at_slot
    n       integer;            -- the points of a window
    net     statistics_kept;
    newest  timestamptz;        -- the newest step kept
    ids     bigint[];
    vals    integer[];
    cnt     integer;
    total   integer := 0;
BEGIN
    FOREACH per IN ARRAY ARRAY['48h', '7d', '30d'] LOOP
        SELECT * INTO sp, st FROM statistics_period(per);
        secs := extract(epoch FROM st);
        n := (extract(epoch FROM sp) / secs)::integer;
        hourly := per <> '48h';
        s := date_bin(st, at_slot, origin);

        SELECT * INTO net FROM statistics_kept
        WHERE game_id = 0 AND period = per FOR UPDATE;

        IF FOUND AND net.last_step IS NULL THEN
            CONTINUE;
        END IF;

        IF rebuild OR NOT FOUND OR net.step <> st THEN
            DELETE FROM statistics_kept WHERE period = per;

            IF hourly THEN
                ids := ARRAY(SELECT DISTINCT h.game_id FROM statistics_hourly h
                             WHERE h.hour >= s - sp + st AND h.hour < s + st);
            ELSE
                ids := ARRAY(SELECT DISTINCT d.game_id FROM statistics d
                             WHERE d.slot >= s - sp + st AND d.slot < s + st);
            END IF;

            INSERT INTO statistics_kept (game_id, period, step, last_step,
                                         points)
            SELECT i.id, per, st, s,
                   statistics_window(i.id, hourly, st, s - sp + st, s)
            FROM (SELECT DISTINCT id FROM unnest(ids || 0::bigint) AS id) i;

            GET DIAGNOSTICS cnt = ROW_COUNT;
            total := total + cnt;
            CONTINUE;
        END IF;

        IF s <= net.last_step - sp THEN
            CONTINUE;                   -- older than the window
        END IF;

        newest := greatest(s, net.last_step);

        -- the step's maxima, from the rows
        IF hourly THEN
            SELECT array_agg(m.game_id), array_agg(m.v) INTO ids, vals
            FROM (SELECT h.game_id, max(h.players) AS v
                  FROM statistics_hourly h
                  WHERE h.hour >= s AND h.hour < s + st
                  GROUP BY h.game_id) m;
        ELSE
            SELECT array_agg(m.game_id), array_agg(m.v) INTO ids, vals
            FROM (SELECT d.game_id, max(d.players) AS v
                  FROM statistics d
                  WHERE d.slot >= s AND d.slot < s + st
                  GROUP BY d.game_id) m;
        END IF;

        IF NOT 0 = ANY (coalesce(ids, '{}')) THEN
            CONTINUE;                   -- not recorded: a gap stays a gap
        END IF;

        -- the newest step's point (the slot's, nearly always) in plain
        -- SQL, moved on by `shift` steps: a call a row costs more than the
        -- row's update
        UPDATE statistics_kept AS k
        SET last_step = newest,
            points = CASE WHEN s < newest
                          THEN statistics_shift(k.points, f.shift,
                                   n - (extract(epoch FROM newest - s)
                                        / secs)::integer, f.v)
                          WHEN f.shift = 0
                          THEN k.points[1 : n - 1] || f.v
                          ELSE k.points[f.shift + 1 : n]
                               || array_fill(NULL::integer,
                                             ARRAY[f.shift - 1])
                               || f.v END
        FROM (SELECT u.id, u.v, least((extract(epoch FROM newest - o.last_step)
                                       / secs)::integer, n) AS shift
              FROM unnest(ids, vals) AS u(id, v)
              JOIN statistics_kept o ON o.game_id = u.id AND o.period = per)
             AS f
        WHERE k.game_id = f.id AND k.period = per;

        GET DIAGNOSTICS cnt = ROW_COUNT;
        total := total + cnt;

        IF cnt < cardinality(ids) THEN
            INSERT INTO statistics_kept (game_id, period, step, last_step,
                                         points)
            SELECT f.id, per, st, newest,
                   statistics_window(f.id, hourly, st, newest - sp + st,
                                     newest)
            FROM unnest(ids) AS f(id)
            WHERE NOT EXISTS (SELECT 1 FROM statistics_kept k
                              WHERE k.game_id = f.id AND k.period = per);

            GET DIAGNOSTICS cnt = ROW_COUNT;
            total := total + cnt;
        END IF;

        DELETE FROM statistics_kept
        WHERE period = per AND game_id <> 0
          AND last_step <= newest - sp;
    END LOOP;

    RETURN total;
END
$$;

-- A game's (or the network's) own points over a window of steps, from the
-- rows: each step's maximum, NULL where it has no row (for
-- backbone_statistics_keep(); a chart then makes 0 of a NULL where the
-- network was recorded).  hourly: from statistics_hourly, else from the
-- full detail.
CREATE OR REPLACE FUNCTION statistics_window(game bigint, hourly boolean,
                                             st interval, first timestamptz,
                                             last timestamptz)
RETURNS integer[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    origin  constant timestamptz := '2000-01-01 00:00:00+00';
    p       integer[];
BEGIN
    IF hourly THEN
        SELECT array_agg(m.v ORDER BY b.t) INTO p
        FROM generate_series(first, last, st) AS b(t)
        LEFT JOIN (SELECT date_bin(st, h.hour, origin) AS t,
                          max(h.players) AS v
                   FROM statistics_hourly h
                   WHERE h.game_id = game AND h.hour >= first
                     AND h.hour < last + st
                   GROUP BY 1) m ON m.t = b.t;
    ELSE
        SELECT array_agg(m.v ORDER BY b.t) INTO p
        FROM generate_series(first, last, st) AS b(t)
        LEFT JOIN (SELECT date_bin(st, d.slot, origin) AS t,
                          max(d.players) AS v
                   FROM statistics d
                   WHERE d.game_id = game AND d.slot >= first
                     AND d.slot < last + st
                   GROUP BY 1) m ON m.t = b.t;
    END IF;

    RETURN p;
END
$$;

-- Kept points moved on by `shift` steps (the oldest dropped, NULLs after
-- the newest), then the point `at` (1: the oldest) set to v.
CREATE OR REPLACE FUNCTION statistics_shift(points integer[], shift integer,
                                            at integer, v integer)
RETURNS integer[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n  integer := cardinality(points);
    p  integer[];
BEGIN
    IF shift >= n THEN
        p := array_fill(NULL::integer, ARRAY[n]);
    ELSIF shift > 0 THEN
        p := points[shift + 1 : n] || array_fill(NULL::integer, ARRAY[shift]);
    ELSE
        p := points;
    END IF;

    p[at] := v;

    RETURN p;
END
$$;
