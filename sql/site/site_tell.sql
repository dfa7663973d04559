-- A tell to the system player (reference §4.2).  Registers a pending
-- character for the user whose registration key the message holds, and
-- replaces the key at once; queues the replies for the hub in hub_outbox
-- (the hub owner sends them) and returns their texts.
CREATE OR REPLACE FUNCTION site_tell(from_game text, from_name text,
                                     message text, hub_name text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    msg      text := btrim(coalesce(message, ''));
    replies  text[];
    g        games;
    key      uuid;
    uid      bigint;
    cid      bigint;
BEGIN
    hub_name := coalesce(nullif(hub_name, ''), 'Grapevine');

    IF lower(msg) NOT LIKE 'register%' THEN
        replies := ARRAY['Hello! This is ' || hub_name || '. Please checkout '
                         'https://grapevine.haus/ for information on how to '
                         'register a character.'];
    ELSE
        SELECT * INTO g FROM games
        WHERE lower(short_name) = lower(from_game);

        IF NOT FOUND OR NOT g.online OR coalesce(from_name, '') = ''
           OR length(from_name) > 100
        THEN
            replies := ARRAY['An unknown error occurred. Please try again'];

        ELSIF NOT g.allow_character_registration THEN
            replies := ARRAY['Your game does not allow registering '
                             'characters on ' || hub_name || '. Sorry :('];

        ELSE
            -- the key follows the word "register" (in any case)
            BEGIN
                key := btrim(substr(msg, 9))::uuid;
            EXCEPTION WHEN invalid_text_representation THEN
                key := NULL;
            END;

            UPDATE users SET registration_key = gen_random_uuid(),
                             updated_at = now()
            WHERE registration_key = key AND suspended_at IS NULL
            RETURNING id INTO uid;

            IF uid IS NULL THEN
                replies := ARRAY['Unknown registration key.'];
            ELSE
                INSERT INTO characters (user_id, game_id, name)
                VALUES (uid, g.id, from_name)
                ON CONFLICT (game_id, lower(name)) DO NOTHING
                RETURNING id INTO cid;

                IF cid IS NULL THEN
                    replies := ARRAY['This character is already registered.',
                                     'Please check your ' || hub_name
                                     || ' profile.'];
                ELSE
                    replies := ARRAY['User registration initiated. Check '
                                     'your profile to complete '
                                     'registration!'];
                END IF;
            END IF;
        END IF;
    END IF;

    INSERT INTO hub_outbox (frame)
    SELECT jsonb_build_object(
               'event', 'tells/send',
               'ref', gen_random_uuid(),
               'payload', jsonb_build_object(
                   'from_name', 'system',
                   'to_game', from_game,
                   'to_name', from_name,
                   'sent_at', to_char(now() AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   'message', r.text))
    FROM unnest(replies) WITH ORDINALITY AS r(text, n)
    ORDER BY r.n;

    RETURN QUERY SELECT unnest(replies);
END
$$;
