-- Raisin's home: every channel, hidden ones too, 100 a page by name, with
-- its messages and hidden messages (as channel_counts keeps them); the
-- active mutes, 50 at most, the nearest end first (and how many more:
-- all of them are on /raisin/mutes); the latest audit rows; args: page.
-- PL/pgSQL, so that its plan is kept from one call to the next.
CREATE OR REPLACE FUNCTION raisin_index(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (WITH page AS (
        SELECT site_page(args) AS n
    ), chans AS (
        SELECT c.*, row_number() OVER (ORDER BY lower(c.name)) AS n
        FROM (SELECT * FROM channels ORDER BY lower(name)
              OFFSET ((SELECT n FROM page) - 1) * 100 LIMIT 101) c
    ), pager AS (
        SELECT site_pager('/raisin/', (SELECT n FROM page),
                          (SELECT count(*) FROM chans) > 100) AS p
    ), mutes AS (
        SELECT x.m, row_number() OVER (ORDER BY (x.m).until, (x.m).id) AS n
        FROM (SELECT m FROM raisin_mutes m
              WHERE m.lifted_at IS NULL AND m.until > now()
              ORDER BY m.until, m.id LIMIT 51) x
    )
    SELECT jsonb_build_object(
        'channels', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', c.name, 'description', c.description,
                       'hidden', c.hidden,
                       'path', site_path('/raisin/channels/', c.name),
                       'messages', coalesce(k.messages, 0),
                       'hidden_messages', coalesce(k.hidden, 0))
                       ORDER BY c.n)
            FROM chans c LEFT JOIN channel_counts k ON k.channel_id = c.id
            WHERE c.n <= 100), '[]'),
        'channels_prev', (SELECT p ->> 'prev' FROM pager),
        'channels_next', (SELECT p ->> 'next' FROM pager),
        'mutes', coalesce((
            SELECT jsonb_agg(raisin_mute_entry(x.m) ORDER BY x.n)
            FROM mutes x WHERE x.n <= 50), '[]'),
        'mutes_more', CASE WHEN (SELECT count(*) FROM mutes) > 50
                           THEN (SELECT count(*) FROM raisin_mutes
                                 WHERE lifted_at IS NULL AND until > now())
                                - 50 END,
        'audit', coalesce((
            SELECT jsonb_agg(raisin_entry(a) ORDER BY a.id DESC)
            FROM (SELECT * FROM raisin_audit ORDER BY id DESC LIMIT 10) a),
            '[]')));
END
$$;
