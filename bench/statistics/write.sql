-- What keeping the charts' points costs the hub link's owner at each slot
-- (bench/README.md, "6. Statistics"): :games games, every one of them with
-- players in every slot (the worst case: each slot moves on every game's
-- three kept rows), recorded by backbone_statistics_record() slot after
-- slot.  The first slot keeps every window anew (as the first slot after
-- the migration does); the kept points are then filled (as a month of
-- history would have them: a kept row's size is what costs), and each of
-- :slots more slots is timed with them kept, then as many without (the
-- baseline, below).  Prints one line: the first slot's milliseconds, the
-- median of a slot's with the points kept, the median without, and the
-- rows kept: first|kept|alone|rows.
--
--   psql -v games=10000 -v slots=8 -At -f write.sql

INSERT INTO games (remote_id, short_name, name, online, display)
SELECT 5000000 + k, 'W' || k, 'Write ' || k, true, true
FROM generate_series(1, :games) AS k;

INSERT INTO players_online (game_id, name)
SELECT g.id, 'p' || j
FROM games g, generate_series(1, 3) AS j
WHERE g.remote_id > 5000000;

VACUUM ANALYZE games;
VACUUM ANALYZE players_online;

CREATE TEMP TABLE times (slot integer, what text, ms numeric);

-- slots from tomorrow on (this database has no other statistics)
DO $$
DECLARE
    base  timestamptz := date_bin('15 minutes', now(), '2000-01-01+00')
                         + interval '1 day';
    t     timestamptz;
BEGIN
    t := clock_timestamp();
    PERFORM backbone_statistics_record(base, 900);
    INSERT INTO times VALUES (0, 'first',
        extract(epoch FROM clock_timestamp() - t) * 1000);
END
$$;

UPDATE statistics_kept SET points = array_fill(7, ARRAY[cardinality(points)]);
VACUUM ANALYZE statistics_kept;

SELECT count(*) AS kept FROM statistics_kept \gset

-- each slot its own transaction, as the owner's are: :slots slots with
-- the points kept, then (the baseline) :slots slots without (each
-- period's network row marked "not kept", as backbone_statistics_prune()
-- marks a period the retention does not cover: the record then only
-- looks the marks up)
SELECT format($f$
DO $$
DECLARE
    s  timestamptz := date_bin('15 minutes', now(), '2000-01-01+00')
                      + interval '1 day' + %s * interval '15 minutes';
    t  timestamptz := clock_timestamp();
BEGIN
    PERFORM backbone_statistics_record(s, 900);
    INSERT INTO times VALUES (%s, 'kept',
        extract(epoch FROM clock_timestamp() - t) * 1000);
END
$$;
$f$, i, i)
FROM generate_series(1, :slots) AS i \gexec

DELETE FROM statistics_kept WHERE game_id <> 0;
UPDATE statistics_kept SET last_step = NULL, points = NULL;

SELECT format($f$
DO $$
DECLARE
    s  timestamptz := date_bin('15 minutes', now(), '2000-01-01+00')
                      + interval '1 day' + %s * interval '15 minutes';
    t  timestamptz := clock_timestamp();
BEGIN
    PERFORM backbone_statistics_record(s, 900);
    INSERT INTO times VALUES (%s, 'alone',
        extract(epoch FROM clock_timestamp() - t) * 1000);
END
$$;
$f$, i, i)
FROM generate_series(:slots + 1, 2 * :slots) AS i \gexec

SELECT round((SELECT ms FROM times WHERE what = 'first'), 1),
       round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)
              FROM times WHERE what = 'kept')::numeric, 1),
       round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)
              FROM times WHERE what = 'alone')::numeric, 1),
       :kept;
