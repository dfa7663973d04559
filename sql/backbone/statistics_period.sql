-- A period of the statistics (migrations/0014_statistics.sql): its span
-- and the step of its points, each point the maximum over its step, the
-- steps aligned to UTC.  '48h': a point a slot of the full detail, 15
-- minutes (the slot's length, when the newest recorded slot is longer);
-- '7d': hourly; '30d': every 4 hours; '1y': daily, from the hourly maxima.
-- An unknown period is an error (readers check it first).  The one place
-- that says it, for statistics_series(), statistics_points() and
-- backbone_statistics_keep().
CREATE OR REPLACE FUNCTION statistics_period(period text, OUT span interval,
                                             OUT step interval)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE period
    WHEN '48h' THEN
        span := interval '48 hours';
        SELECT make_interval(secs => s.seconds) INTO step
        FROM statistics s WHERE s.game_id = 0
        ORDER BY s.slot DESC LIMIT 1;
        step := greatest(coalesce(step, interval '15 minutes'),
                         interval '15 minutes');
    WHEN '7d' THEN
        span := interval '7 days';
        step := interval '1 hour';
    WHEN '30d' THEN
        span := interval '30 days';
        step := interval '4 hours';
    WHEN '1y' THEN
        span := interval '365 days';
        step := interval '1 day';
    ELSE
        RAISE EXCEPTION 'statistics_series: unknown period "%"', period;
    END CASE;
END
$$;
