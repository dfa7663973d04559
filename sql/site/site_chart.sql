-- A chart of players online over a period (statistics_points(): kept
-- ready, or computed; a game's id, or 0 for the network; period '48h',
-- '7d' or '30d'), drawn by the template as an inline SVG of 720 x 240
-- (its viewBox; it scales to the page's width): the points already
-- scaled, a path for each run of recorded points (a gap is a gap between
-- two paths, never a line to zero), the peak, the axes' ticks (times in
-- UTC) and the summary the text says (peak, average of the points, now:
-- the newest point when it is the current step's or the one before).  At
-- most 365 points.  A few set-based statements (a loop over the points in
-- PL/pgSQL costs more than the page it is on).
CREATE OR REPLACE FUNCTION site_chart(game bigint, period text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    w        constant numeric := 720;      -- the viewBox
    h        constant numeric := 240;
    x0       constant numeric := 44;       -- the plot inside it
    x1       constant numeric := 708;
    y0       constant numeric := 16;
    y1       constant numeric := 208;
    step     interval;
    vals     integer[];
    n        integer;
    first    timestamptz;
    last     timestamptz;
    peak     integer;
    peak_i   integer;
    mean     numeric;
    now_v    integer;
    tick     numeric;
    top      numeric;
    segs     jsonb;
    xticks   jsonb;
    yticks   jsonb;
    tstep    interval;
    ix0      constant integer := 44;    -- the same, as integers
    ix1      constant integer := 708;
    iy0      constant integer := 16;
    iy1      constant integer := 208;
    itop     bigint;
BEGIN
    SELECT p.first, p.step, p.points INTO first, step, vals
    FROM statistics_points(game, period) p;

    n := cardinality(vals);
    last := first + (n - 1) * step;

    SELECT max(v), round(avg(v), 1) INTO peak, mean
    FROM unnest(vals) AS v;

    peak_i := array_position(vals, peak);

    -- the newest point, when it is of now or of the step before
    now_v := coalesce(vals[n], vals[n - 1]);

    -- the y axis: 4 steps of a round number (1, 1.5, 2, 2.5, 3, 4, 5, 6,
    -- 8 x 10^k, whole) over the peak, at least 1 a step
    SELECT min(c) INTO tick
    FROM (SELECT m * 10 ^ k AS c
          FROM unnest(ARRAY[1, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) AS m,
               generate_series(0, 8) AS k) AS c
    WHERE c * 4 >= coalesce(peak, 0) AND c = trunc(c);
    top := tick * 4;
    itop := top::bigint;

    -- the runs of recorded points (gaps and islands: along the recorded
    -- points, i - their rank is the same within a run), each a path (the
    -- line, and the area under it); a lone point is a dot (a line of no
    -- length, round caps)
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'd', r.d || CASE WHEN r.k = 1 THEN ' h0' ELSE '' END,
               'area', CASE WHEN r.k > 1
                            THEN r.d || ' L' || r.xmax || ' ' || y1
                                 || ' L' || r.xmin || ' ' || y1 || ' Z'
                       END) ORDER BY r.run), '[]')
    INTO segs
    FROM (SELECT p.run, count(*) AS k,
                 min(p.x) AS xmin, max(p.x) AS xmax,
                 'M' || string_agg(p.x || ' ' || p.y, ' L'
                                   ORDER BY p.i) AS d
          FROM (SELECT u.i, u.i - row_number() OVER (ORDER BY u.i) AS run,
                       -- whole units of the viewBox (a unit is about a
                       -- pixel at the page's width, and half one on a
                       -- phone): integers, as numeric or tenths cost
                       -- more here than the rest of the page
                       ix0 + ((ix1 - ix0) * (u.i::integer - 1)
                              + (n - 1) / 2) / greatest(n - 1, 1) AS x,
                       iy1 - ((iy1 - iy0) * u.v::bigint + itop / 2) / itop
                           AS y
                FROM unnest(vals) WITH ORDINALITY AS u(v, i)
                WHERE u.v IS NOT NULL) p
          GROUP BY p.run) r;

    tstep := CASE period WHEN '48h' THEN interval '12 hours'
                         WHEN '7d' THEN interval '1 day'
                         ELSE interval '5 days' END;

    SELECT jsonb_agg(jsonb_build_object(
               'x', round(x0 + (x1 - x0)
                          * extract(epoch FROM k - first)
                          / greatest(extract(epoch FROM last - first), 1),
                          1),
               'label', CASE WHEN period = '48h'
                                  AND extract(hour FROM k AT TIME ZONE 'UTC')
                                      <> 0
                             THEN to_char(k AT TIME ZONE 'UTC', 'HH24:MI')
                             ELSE to_char(k AT TIME ZONE 'UTC', 'Mon FMDD')
                        END) ORDER BY k)
    INTO xticks
    FROM generate_series(date_bin(tstep, first, '2000-01-01 00:00:00+00')
                         + tstep, last, tstep) AS k;

    SELECT jsonb_agg(jsonb_build_object(
               'y', round(y1 - (y1 - y0) * j / 4, 1), 'label', tick * j,
               'base', j = 0) ORDER BY j)
    INTO yticks
    FROM generate_series(0, 4) AS j;

    RETURN jsonb_build_object(
        'period', period,
        'chart_id', CASE WHEN game = 0 THEN 'network-chart'
                         ELSE 'game-chart' END,
        'view_box', '0 0 ' || w || ' ' || h,
        'x0', x0, 'x1', x1, 'y0', y0, 'y1', y1,
        'segments', segs,
        'x_ticks', coalesce(xticks, '[]'),
        'y_ticks', yticks,
        'recorded', peak IS NOT NULL,
        'peak', CASE WHEN peak IS NOT NULL THEN jsonb_build_object(
            'players', peak,
            'time', site_time(first + (peak_i - 1) * step),
            'x', round(x0 + (x1 - x0) * (peak_i - 1) / greatest(n - 1, 1), 1),
            'y', round(y1 - (y1 - y0) * peak / top, 1),
            'label_y', round(y1 - (y1 - y0) * peak / top, 1) - 8,
            'anchor', CASE WHEN (peak_i - 1) * 5 > (n - 1) * 4 THEN 'end'
                           WHEN (peak_i - 1) * 5 < n - 1 THEN 'start'
                           ELSE 'middle' END) END,
        'average', mean,
        'now', now_v,
        'from', site_time(first),
        'to', site_time(last));
END
$$;
