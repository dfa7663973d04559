-- Players online over a period, as points a fixed step apart (the
-- statistics of migrations/0014_statistics.sql): for a game (its id), or
-- the network (0).  period: '48h' (the full detail, a point per slot of
-- 15 minutes, or per slot when they are longer), '7d' (hourly), '30d'
-- (every 4 hours), '1y' (daily); the last point is the step that holds
-- now, all aligned to UTC.  A point is the step's maximum; players is
-- NULL where nothing was recorded in the step (the hub link or the
-- database was away: a gap), 0 where the network was recorded and the
-- game had nobody.  At most 365 points.  Readers check the period; an
-- unknown one is an error (statistics_period()).  Computed from the rows
-- each time: the charts read statistics_points(), which has the same
-- points kept ready.
CREATE OR REPLACE FUNCTION statistics_series(game bigint, period text)
RETURNS TABLE (t timestamptz, players integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    origin  constant timestamptz := '2000-01-01 00:00:00+00';
    span    interval;
    step    interval;
    first   timestamptz;
    last    timestamptz;
BEGIN
    SELECT * INTO span, step FROM statistics_period(period);

    last := date_bin(step, now(), origin);
    first := last - span + step;

    -- one range of the primary key for the game and one for the network,
    -- read once: a step was recorded when the network has a row in it
    IF period = '48h' THEN
        RETURN QUERY
        SELECT b.t, CASE WHEN r.recorded THEN coalesce(r.players, 0) END
        FROM generate_series(first, last, step) AS b(t)
        LEFT JOIN (SELECT date_bin(step, s.slot, origin) AS t,
                          bool_or(s.game_id = 0) AS recorded,
                          max(s.players) FILTER (WHERE s.game_id = game)
                              AS players
                   FROM statistics s
                   WHERE s.game_id IN (0, game) AND s.slot >= first
                     AND s.slot < last + step
                   GROUP BY 1) r ON r.t = b.t
        ORDER BY b.t;
    ELSE
        RETURN QUERY
        SELECT b.t, CASE WHEN r.recorded THEN coalesce(r.players, 0) END
        FROM generate_series(first, last, step) AS b(t)
        LEFT JOIN (SELECT date_bin(step, h.hour, origin) AS t,
                          bool_or(h.game_id = 0) AS recorded,
                          max(h.players) FILTER (WHERE h.game_id = game)
                              AS players
                   FROM statistics_hourly h
                   WHERE h.game_id IN (0, game) AND h.hour >= first
                     AND h.hour < last + step
                   GROUP BY 1) r ON r.t = b.t
        ORDER BY b.t;
    END IF;
END
$$;
