-- A signed-in player's message to a channel (POST /chat/{channel}): stored
-- at once in the channel's history as username@<site name>, and queued in
-- hub_outbox as channels/send (name = the username, as legacy Grapevine's
-- web chat sent it), in one transaction; the outbox's owner sends it in
-- order once the hub is there.  A chat message is one line: control
-- characters (line breaks, tabs) become spaces and the text is trimmed;
-- its <...> tags are taken out as the hub takes them out of what it
-- relays, so that the history holds what the network reads.
--
-- Refused, with nothing stored, queued or counted: a channel that is
-- hidden or unknown (404), a suspended account (403, "chat_suspended"), a
-- sender muted by Raisin (403, "chat_muted"), text that is empty or only
-- white space or longer than max_length characters (422, the form again),
-- and more than the account's throttle allows (429, "chat_throttled").
-- The throttle is limit_req's leaky bucket, kept per account in
-- chat_senders (so it holds across workers and instances): "rate" is in
-- thousandths of a message a second, "burst" the messages over the rate
-- let through at once.
--
-- args: channel, text, max_length, rate, burst, site_name.
CREATE OR REPLACE FUNCTION site_chat_send(me jsonb, args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    uid      bigint := (me ->> 'id')::bigint;
    c        channels;
    u        users;
    txt      text;
    mute     raisin_mutes;
    s        chat_senders;
    excess   double precision := 0;
    rate     double precision := (args ->> 'rate')::double precision / 1000;
    burst    integer := (args ->> 'burst')::integer;
    site     text := args ->> 'site_name';
    ref      uuid := gen_random_uuid();
    msg      channel_messages;
    errors   jsonb := '{}';
BEGIN
    SELECT * INTO c FROM channels
    WHERE lower(channels.name) = lower(args ->> 'channel') AND NOT hidden;

    IF NOT FOUND THEN
        RETURN site_status(404, '{"error": "chat_no_channel"}');
    END IF;

    -- one message of an account at a time: the throttle's row is its lock

    SELECT * INTO u FROM users WHERE id = uid FOR UPDATE;

    IF NOT FOUND OR u.suspended_at IS NOT NULL THEN
        RETURN site_status(403, '{"error": "chat_suspended"}');
    END IF;

    SELECT * INTO mute FROM raisin_mutes m
    WHERE lower(m.player) = lower(u.username) AND lower(m.game) = lower(site)
      AND m.lifted_at IS NULL AND m.until > clock_timestamp()
    ORDER BY m.until DESC
    LIMIT 1;

    IF FOUND THEN
        RETURN site_status(403, jsonb_build_object(
                   'error', 'chat_muted', 'until', site_time(mute.until)));
    END IF;

    txt := regexp_replace(coalesce(args ->> 'text', ''), '<[^>]*>', '', 'g');
    txt := regexp_replace(txt, '[[:cntrl:]]+', ' ', 'g');
    txt := regexp_replace(txt, '^[[:space:]]+|[[:space:]]+$', '', 'g');

    IF txt = '' THEN
        errors := '{"text": ["chat_empty"]}';
    ELSIF length(txt) > (args ->> 'max_length')::integer THEN
        errors := '{"text": ["chat_too_long"]}';
    END IF;

    IF errors <> '{}' THEN
        RETURN site_channel(me, args) || jsonb_build_object(
                   'status', 422, 'errors', errors,
                   'form', jsonb_build_object('text',
                                              left(args ->> 'text', 4096)));
    END IF;

    SELECT * INTO s FROM chat_senders WHERE user_id = uid;

    IF FOUND THEN
        excess := greatest(s.excess - rate * extract(epoch FROM
                                              clock_timestamp() - s.at), 0);
        excess := excess + 1;

        IF excess > burst THEN
            RETURN site_status(429, jsonb_build_object(
                       'error', 'chat_throttled',
                       'retry_after',
                       greatest(ceil((excess - burst) / rate), 1)::integer));
        END IF;
    END IF;

    INSERT INTO chat_senders AS cs (user_id, excess, at)
    VALUES (uid, excess, clock_timestamp())
    ON CONFLICT (user_id) DO UPDATE SET excess = excluded.excess,
                                        at = excluded.at;

    INSERT INTO channel_messages (channel_id, channel_name, game_name,
                                  player_name, message, hub_ref, user_id)
    VALUES (c.id, c.name, site, u.username, txt, ref::text, uid)
    RETURNING * INTO msg;

    INSERT INTO hub_outbox (frame)
    VALUES (jsonb_build_object(
                'event', 'channels/send',
                'ref', ref,
                'payload', jsonb_build_object('channel', c.name,
                                              'name', u.username,
                                              'message', txt)));

    RETURN site_redirect(site_path('/chat/', c.name), jsonb_build_object(
        'done', jsonb_build_object(
            'message', jsonb_build_object(
                'id', msg.id, 'channel', c.name, 'game', site,
                'name', u.username, 'text', txt,
                'at', site_time(msg.inserted_at)),
            'hub_connected', site_hub_connected())));
END
$$;
