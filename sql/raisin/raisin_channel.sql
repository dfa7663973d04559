-- a channel's full log, newest first, 50 a page; args: name, q, game,
-- player, before
CREATE OR REPLACE FUNCTION raisin_channel(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c         channels;
    q         text := raisin_param(args, 'q', 200);
    game      text := raisin_param(args, 'game', 100);
    player    text := raisin_param(args, 'player', 100);
    before_id bigint;
    per_page  constant integer := 50;
    msgs      jsonb;
    oldest    bigint;
    n         integer;
    filters   text;
    err       jsonb;
BEGIN
    err := coalesce(raisin_too_long(args, 'q', 200),
                    raisin_too_long(args, 'game', 100),
                    raisin_too_long(args, 'player', 100));

    IF err IS NOT NULL THEN
        RETURN err;
    END IF;

    SELECT * INTO c FROM channels
    WHERE lower(channels.name) = lower(args ->> 'name');

    IF NOT FOUND THEN
        RETURN raisin_fail(404, 'no_channel');
    END IF;

    IF args ->> 'before' IS NOT NULL AND args ->> 'before' <> '' THEN
        before_id := raisin_id(args ->> 'before');

        IF before_id IS NULL THEN
            RETURN raisin_fail(400, 'before_message');
        END IF;
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', m.id, 'at', raisin_iso(m.inserted_at),
                       'when', site_time(m.inserted_at),
                       'game', m.game_name, 'player', m.player_name,
                       'sender', m.player_name || '@' || m.game_name,
                       'text', m.message, 'hidden', m.hidden,
                       'muted', m.mute_id IS NOT NULL,
                       'account', m.account)
                       ORDER BY m.id DESC), '[]'),
           min(m.id), count(*)
    INTO msgs, oldest, n
    FROM (SELECT cm.*,
                 -- the account that registered the sender, if one did
                 (SELECT u.username
                  FROM characters ch
                  JOIN games g ON g.id = ch.game_id
                  JOIN users u ON u.id = ch.user_id
                  WHERE lower(ch.name) = lower(cm.player_name)
                    AND lower(g.short_name) = lower(cm.game_name)
                    AND ch.state = 'approved') AS account
          FROM channel_messages cm
          WHERE cm.channel_id = c.id
            AND (before_id IS NULL OR cm.id < before_id)
            AND (q IS NULL OR strpos(lower(cm.message), lower(q)) > 0)
            AND (game IS NULL OR lower(cm.game_name) = lower(game))
            AND (player IS NULL OR lower(cm.player_name) = lower(player))
          ORDER BY cm.id DESC LIMIT per_page) AS m;

    filters := CASE WHEN q IS NULL THEN ''
                    ELSE '&q=' || site_urlencode(q) END
               || CASE WHEN game IS NULL THEN ''
                       ELSE '&game=' || site_urlencode(game) END
               || CASE WHEN player IS NULL THEN ''
                       ELSE '&player=' || site_urlencode(player) END;

    RETURN jsonb_build_object(
        'path', '/raisin/channels/' || site_urlencode(c.name),
        'channel', jsonb_build_object('name', c.name,
                                      'description', c.description,
                                      'hidden', c.hidden),
        'search', jsonb_build_object('q', q, 'game', game, 'player', player,
                                     'any', coalesce(q, game, player)
                                            IS NOT NULL),
        'messages', msgs,
        'older', CASE WHEN n = per_page AND EXISTS (
                          SELECT 1 FROM channel_messages cm
                          WHERE cm.channel_id = c.id AND cm.id < oldest
                            AND (q IS NULL
                                 OR strpos(lower(cm.message), lower(q)) > 0)
                            AND (game IS NULL
                                 OR lower(cm.game_name) = lower(game))
                            AND (player IS NULL
                                 OR lower(cm.player_name) = lower(player)))
                      THEN '/raisin/channels/' || site_urlencode(c.name)
                           || '?before=' || oldest || filters END,
        'back', '/raisin/channels/' || site_urlencode(c.name)
                || CASE WHEN before_id IS NOT NULL OR filters <> ''
                        THEN '?' || ltrim(coalesce('before=' || before_id,
                                                   '') || filters, '&')
                        ELSE '' END);
END
$$;
