-- A year of players online for the statistics benchmark (bench/README.md,
-- "4. Statistics"), as the hub link's owner would have recorded it at the
-- default interval (15 minutes) and retention (full detail 30 days, hourly
-- maxima kept past that): for every game of the network and :padding more
-- game ids (their rows fill the tables as a larger network's would), a
-- slot every 15 minutes over the last 30 days and an hourly maximum over
-- the last 365 days, a day's rhythm with noise; a gap of a few hours a
-- week (the hub away).
--
--   psql -v padding=188 -f history.sql

CREATE TEMP TABLE ids AS
SELECT id FROM games
UNION ALL
SELECT 1000000 + k FROM generate_series(1, :padding) AS k
UNION ALL
SELECT 0;

INSERT INTO statistics (game_id, slot, players, seconds)
SELECT i.id, s.slot,
       greatest(0, round(20 + 15 * sin(extract(epoch FROM s.slot) / 13751)
                         + random() * 6))::integer,
       CASE WHEN i.id = 0 THEN 900 END
FROM ids i,
     generate_series(date_bin('15 minutes', now(), '2000-01-01+00')
                     - interval '30 days',
                     date_bin('15 minutes', now(), '2000-01-01+00')
                     - interval '15 minutes',
                     interval '15 minutes') AS s(slot)
WHERE extract(dow FROM s.slot) <> 3 OR extract(hour FROM s.slot) >= 4;

INSERT INTO statistics_hourly (game_id, hour, players)
SELECT i.id, h.hour,
       greatest(0, round(24 + 15 * sin(extract(epoch FROM h.hour) / 13751)
                         + random() * 6))::integer
FROM ids i,
     generate_series(date_trunc('hour', now()) - interval '365 days',
                     date_trunc('hour', now()) - interval '1 hour',
                     interval '1 hour') AS h(hour)
WHERE extract(dow FROM h.hour) <> 3 OR extract(hour FROM h.hour) >= 4;

-- the charts' points, as the owner keeps them at each slot
-- (backbone_statistics_keep(); rows written another way ask for the whole
-- windows anew)
SELECT backbone_statistics_keep(now(), true) AS kept \gset

-- as autovacuum would have done over the year (the tables' settings make
-- it run every 5,000 rows inserted)
VACUUM ANALYZE statistics;
VACUUM ANALYZE statistics_hourly;

SELECT (SELECT count(*) FROM statistics) AS detail_rows,
       (SELECT count(*) FROM statistics_hourly) AS hourly_rows;
