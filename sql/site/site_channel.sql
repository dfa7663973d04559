-- a channel's history, 100 messages a page; args: channel, before
CREATE OR REPLACE FUNCTION site_channel(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c         channels;
    before_id bigint;
    per_page  constant integer := 100;
    msgs      jsonb;
    oldest    bigint;
    n         integer;
BEGIN
    SELECT * INTO c FROM channels
    WHERE lower(channels.name) = lower(args ->> 'channel') AND NOT hidden;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    IF coalesce(args ->> 'before', '') ~ '^[0-9]{1,18}$' THEN
        before_id := (args ->> 'before')::bigint;
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', m.id, 'at', site_time(m.inserted_at),
                       'game', m.game_name, 'name', m.player_name,
                       'text', m.message) ORDER BY m.id), '[]'),
           min(m.id), count(*)
    INTO msgs, oldest, n
    FROM (SELECT * FROM channel_messages
          WHERE channel_id = c.id AND NOT hidden
            AND (before_id IS NULL OR id < before_id)
          ORDER BY id DESC LIMIT per_page) AS m;

    RETURN jsonb_build_object(
        'channel', jsonb_build_object('name', c.name,
                                      'description', c.description),
        'messages', msgs,
        'older', CASE WHEN n = per_page AND EXISTS (
                          SELECT 1 FROM channel_messages
                          WHERE channel_id = c.id AND NOT hidden
                            AND id < oldest)
                      THEN '/chat/' || site_urlencode(c.name)
                           || '?before=' || oldest END,
        'newer', CASE WHEN before_id IS NOT NULL
                      THEN '/chat/' || site_urlencode(c.name) END);
END
$$;
