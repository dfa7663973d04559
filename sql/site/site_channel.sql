-- a channel's history, 100 messages a page, each shown up to 2,048
-- characters (truncated: it was longer; the hub link stores no message
-- over 2,048 bytes, but one stored before may be), so that a page holds
-- at most 100 x 8 KB of text whatever is stored; args: channel, before.
--
-- The messages are read as a range of one channel, (channel_id, id)
-- between (c, 0) and (c, before), in that order: only the index
-- channel_messages_public_idx has it, so no plan, generic or not, can
-- walk the primary key backwards over other channels' messages instead
-- (as "channel_id = c ORDER BY id" let PostgreSQL choose to do).
--
-- A signed-in player gets the send form (POST /chat/{channel}): "hub"
-- (site_hub()) says whether the hub link is up and, when it is not, how
-- many frames wait in the outbox, so that the page can say that what is
-- sent now goes out when the hub is back.  No table's change announces it:
-- a signed-in visitor's page from the cache reads it again.
CREATE OR REPLACE FUNCTION site_channel(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c         channels;
    before_id bigint := 9223372036854775807;
    per_page  constant integer := 100;
    msgs      jsonb;
    oldest    bigint;
    max_shown bigint;
    n         integer;
    path      text;
BEGIN
    SELECT * INTO c FROM channels
    WHERE lower(channels.name) = lower(args ->> 'channel') AND NOT hidden;

    IF NOT FOUND THEN
        RETURN site_status(404);
    END IF;

    IF coalesce(args ->> 'before', '') ~ '^[0-9]{1,18}$' THEN
        before_id := (args ->> 'before')::bigint;
    END IF;

    SELECT max(m.id) FILTER (WHERE m.n <= per_page),
           coalesce(jsonb_agg(jsonb_build_object(
                       'id', m.id, 'at', site_time(m.inserted_at),
                       'game', m.game_name, 'name', m.player_name,
                       'text', left(m.message, 2048),
                       'truncated', length(left(m.message, 2049)) > 2048)
                       ORDER BY m.id) FILTER (WHERE m.n <= per_page), '[]'),
           min(m.id) FILTER (WHERE m.n <= per_page), count(*)
    INTO max_shown, msgs, oldest, n
    FROM (SELECT p.*, row_number() OVER (ORDER BY p.id DESC) AS n
          FROM (SELECT * FROM channel_messages cm
                WHERE cm.channel_id >= c.id AND cm.channel_id <= c.id
                  AND NOT cm.hidden AND cm.id < before_id
                ORDER BY cm.channel_id DESC, cm.id DESC
                LIMIT per_page + 1) AS p) AS m;

    path := site_path('/chat/', c.name);

    -- the latest page goes on live (conf/static/live.js): the channel's
    -- stream under the API, from the newest message shown
    RETURN jsonb_build_object(
        'channel', jsonb_build_object('name', c.name,
                                      'description', c.description,
                                      'path', path),
        'live', CASE WHEN before_id = 9223372036854775807 THEN
                    jsonb_build_object(
                        'stream', site_path('/api/channels/', c.name)
                                  || '/events',
                        'last_id', coalesce(max_shown, 0)::text) END,
        'messages', msgs,
        'older', CASE WHEN n > per_page THEN path || '?before=' || oldest END,
        'newer', CASE WHEN before_id < 9223372036854775807 THEN path END,
        'hub', site_hub());
END
$$;
