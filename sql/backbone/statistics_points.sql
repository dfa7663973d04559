-- Players online over a period, as statistics_series() has them (the same
-- points, the same steps), read from the points kept ready
-- (statistics_kept, backbone_statistics_keep()) when they are current: the
-- network's kept row ends with the step that holds now, at the step the
-- period has now.  A game's point is then its kept maximum in a step where
-- the network has one, 0 where the network has one and the game not, NULL
-- (a gap) where the network has none.  Otherwise (the step began a moment
-- ago and its slot is not recorded yet, the hub link has been down since
-- the step began, no slot recorded since the migration, the period is
-- not kept, '1y'), the points are computed from the rows by
-- statistics_series(): slower, never different.  first: the oldest
-- point's step; points: oldest first.
CREATE OR REPLACE FUNCTION statistics_points(game bigint, period text,
                                             OUT first timestamptz,
                                             OUT step interval,
                                             OUT points integer[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    origin  constant timestamptz := '2000-01-01 00:00:00+00';
    per     constant text := period;
    span    interval;
    last    timestamptz;
    net     integer[];
    own     integer[];
    own_at  timestamptz;
    shift   integer;
BEGIN
    SELECT * INTO span, step FROM statistics_period(per);

    last := date_bin(step, now(), origin);
    first := last - span + step;

    SELECT k.points INTO net FROM statistics_kept k
    WHERE k.game_id = 0 AND k.period = per AND k.last_step = last
      AND k.step = statistics_points.step;

    IF net IS NULL THEN
        SELECT array_agg(s.players ORDER BY s.t) INTO points
        FROM statistics_series(game, per) s;
        RETURN;
    END IF;

    IF game = 0 THEN
        points := net;
        RETURN;
    END IF;

    SELECT k.points, k.last_step INTO own, own_at FROM statistics_kept k
    WHERE k.game_id = game AND k.period = per;

    -- the game's points are those of the window that ends at own_at; past
    -- the end of the array, NULL
    shift := coalesce(extract(epoch FROM last - own_at)
                      / extract(epoch FROM step), 0)::integer;

    SELECT array_agg(CASE WHEN u.v IS NOT NULL
                          THEN coalesce(own[u.i + shift], 0) END
                     ORDER BY u.i)
    INTO points
    FROM unnest(net) WITH ORDINALITY AS u(v, i);
END
$$;
