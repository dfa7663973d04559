-- a channel's full log, newest first, 50 a page, each message shown up to
-- 2,048 characters (truncated: it was longer); args: name, q, game,
-- player, before.
--
-- The page is one query planned for its filters and their values
-- (EXECUTE), so that PostgreSQL estimates from them which index serves:
--
-- * without a filter, the channel's log along its ids, read as a range
--   of one channel in the order of channel_messages_channel_idx (as in
--   site_channel.sql: no plan can walk other channels' messages instead);
-- * a sender or a game: its index (channel_messages_player_idx, _game_idx);
-- * a text q, anywhere in the message as the pages show it (its first
--   2,048 characters), without regard to case: the trigram index of the
--   channel's messages (channel_messages_text_idx) when it is rare, the
--   channel's ids when it is common.  The channel is an equality there:
--   a range would make the index read every entry of a busy channel.  A
--   q of one or two characters, which no trigram can find, is looked for
--   in the 10,000 messages before `before` (the older link goes on from
--   there), so that no search reads a whole channel.
CREATE OR REPLACE FUNCTION raisin_channel(me jsonb, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c         channels;
    q         text := raisin_param(args, 'q', 200);
    game      text := raisin_param(args, 'game', 100);
    player    text := raisin_param(args, 'player', 100);
    before_id bigint := 9223372036854775807;
    per_page  constant integer := 50;
    msgs      jsonb;
    oldest    bigint;
    n         integer;
    filters   text;
    path      text;
    err       jsonb;
    floor_id  bigint;
    scan      constant integer := 10000;
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

    IF q IS NOT NULL AND length(q) < 3 THEN
        SELECT id INTO floor_id FROM channel_messages
        WHERE channel_id = c.id AND id < before_id
        ORDER BY id DESC OFFSET scan - 1 LIMIT 1;
    END IF;

    EXECUTE
        'SELECT coalesce(jsonb_agg(jsonb_build_object(
                    ''id'', m.id, ''at'', raisin_iso(m.inserted_at),
                    ''when'', site_time(m.inserted_at),
                    ''game'', m.game_name, ''player'', m.player_name,
                    ''sender'', m.player_name || ''@'' || m.game_name,
                    ''text'', left(m.message, 2048),
                    ''truncated'', length(left(m.message, 2049)) > 2048,
                    ''hidden'', m.hidden,
                    ''muted'', m.mute_id IS NOT NULL,
                    ''account'', (
                        -- the account that registered the sender, if any
                        SELECT u.username
                        FROM characters ch
                        JOIN games g ON g.id = ch.game_id
                        JOIN users u ON u.id = ch.user_id
                        WHERE lower(ch.name) = lower(m.player_name)
                          AND lower(g.short_name) = lower(m.game_name)
                          AND ch.state = ''approved''))
                    ORDER BY m.id DESC)
                    FILTER (WHERE m.n <= $6), ''[]''),
                min(m.id) FILTER (WHERE m.n <= $6), count(*)
         FROM (SELECT p.*, row_number() OVER (ORDER BY p.id DESC) AS n
               FROM (SELECT * FROM channel_messages cm
                     WHERE cm.id < $2 AND cm.id >= $7'
        || CASE WHEN coalesce(q, game, player) IS NULL
                THEN ' AND cm.channel_id >= $1 AND cm.channel_id <= $1'
                     || ' ORDER BY cm.channel_id, cm.id DESC'
                ELSE ' AND cm.channel_id = $1'
                     || CASE WHEN player IS NULL THEN ''
                             ELSE ' AND lower(cm.player_name) = lower($5)'
                        END
                     || CASE WHEN game IS NULL THEN ''
                             ELSE ' AND lower(cm.game_name) = lower($4)' END
                     || CASE WHEN q IS NULL THEN ''
                             ELSE ' AND lower(left(cm.message, 2048))'
                                  || ' LIKE $3' END
                     || ' ORDER BY cm.id DESC' END
        || ' LIMIT $6 + 1) AS p) AS m'
    INTO msgs, oldest, n
    USING c.id, before_id, site_like(lower(q)), game, player, per_page,
          coalesce(floor_id, 0);

    filters := CASE WHEN q IS NULL THEN ''
                    ELSE '&q=' || site_urlencode(q) END
               || CASE WHEN game IS NULL THEN ''
                       ELSE '&game=' || site_urlencode(game) END
               || CASE WHEN player IS NULL THEN ''
                       ELSE '&player=' || site_urlencode(player) END;

    path := site_path('/raisin/channels/', c.name);

    RETURN jsonb_build_object(
        'path', path,
        'channel', jsonb_build_object('name', c.name,
                                      'description', c.description,
                                      'hidden', c.hidden),
        'search', jsonb_build_object('q', q, 'game', game, 'player', player,
                                     'any', coalesce(q, game, player)
                                            IS NOT NULL),
        'messages', msgs,
        'older', CASE WHEN n > per_page
                      THEN path || '?before=' || oldest || filters
                      WHEN floor_id IS NOT NULL
                      THEN path || '?before=' || floor_id || filters END,
        'back', path
                || CASE WHEN before_id < 9223372036854775807
                             OR filters <> ''
                        THEN '?' || ltrim(CASE WHEN before_id
                                                    < 9223372036854775807
                                               THEN 'before=' || before_id
                                               ELSE '' END
                                          || filters, '&')
                        ELSE '' END);
END
$$;
