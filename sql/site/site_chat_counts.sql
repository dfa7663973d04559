-- Each channel's messages, hidden messages and newest message shown (by
-- id: channel_counts, for /chat and Raisin's home), and the messages
-- shown, a minute at a time over the last two days (chat_minutes, the
-- home page's "chat today"), kept by the statements that change
-- channel_messages, as site_counts.sql keeps the home page's other
-- figures: once per statement, from its transition tables.  A message
-- without a channel counts for one when it gets it
-- (channels_adopt_messages updates it); one whose channel is deleted
-- leaves that channel's counts with them.

-- deltas by channel, for the channels that exist; then each one's newest
-- message shown, found along channel_messages_public_idx (one index
-- lookup a channel the statement changed)
CREATE OR REPLACE FUNCTION site_chat_count(ids bigint[], messages bigint[],
                                           hidden bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO channel_counts AS c (channel_id, messages, hidden)
    SELECT d.id, d.messages, d.hidden
    FROM unnest(ids, messages, hidden) AS d (id, messages, hidden)
    JOIN channels ch ON ch.id = d.id
    WHERE d.messages <> 0 OR d.hidden <> 0
    ORDER BY d.id
    ON CONFLICT (channel_id)
    DO UPDATE SET messages = c.messages + excluded.messages,
                  hidden = c.hidden + excluded.hidden;

    UPDATE channel_counts k
    SET (last_id, last_at) = (SELECT m.id, m.inserted_at
                              FROM channel_messages m
                              WHERE m.channel_id >= k.channel_id
                                AND m.channel_id <= k.channel_id
                                AND NOT m.hidden
                              ORDER BY m.channel_id DESC, m.id DESC
                              LIMIT 1)
    WHERE k.channel_id = ANY (ids);
END
$$;

-- deltas by minute; minutes older than two days go
CREATE OR REPLACE FUNCTION site_chat_minutes(minutes timestamptz[],
                                             deltas bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_minutes AS c (minute, messages)
    SELECT d.minute, d.n
    FROM unnest(minutes, deltas) AS d (minute, n)
    WHERE d.n <> 0 AND d.minute > now() - interval '2 days'
    ORDER BY d.minute
    ON CONFLICT (minute)
    DO UPDATE SET messages = c.messages + excluded.messages;

    DELETE FROM chat_minutes WHERE minute <= now() - interval '2 days';
END
$$;

CREATE OR REPLACE FUNCTION site_chat_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    fresh  boolean;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE channel_counts
        SET messages = 0, hidden = 0, last_id = NULL, last_at = NULL;
        DELETE FROM chat_minutes;
        RETURN NULL;
    END IF;

    -- an update or a delete of no row (a channel's insert looks for
    -- messages to adopt: channels_adopt_messages) costs one query
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;
        END IF;
    END IF;

    IF TG_OP = 'INSERT' THEN
        -- the hub link's case, a message at a time: two statements
        INSERT INTO channel_counts AS c (channel_id, messages, hidden,
                                         last_id, last_at)
        SELECT d.channel_id, d.m, d.h, d.last_id, d.last_at
        FROM (SELECT channel_id, count(*) AS m,
                     count(*) FILTER (WHERE hidden) AS h,
                     max(id) FILTER (WHERE NOT hidden) AS last_id,
                     (array_agg(inserted_at ORDER BY id DESC)
                      FILTER (WHERE NOT hidden))[1] AS last_at
              FROM new_rows WHERE channel_id IS NOT NULL
              GROUP BY channel_id) AS d
        JOIN channels ch ON ch.id = d.channel_id
        ORDER BY d.channel_id
        ON CONFLICT (channel_id)
        DO UPDATE SET messages = c.messages + excluded.messages,
                      hidden = c.hidden + excluded.hidden,
                      last_id = greatest(c.last_id, excluded.last_id),
                      last_at = CASE WHEN excluded.last_id
                                          > coalesce(c.last_id, 0)
                                     THEN excluded.last_at
                                     ELSE c.last_at END;

        WITH up AS (
            INSERT INTO chat_minutes AS c (minute, messages)
            SELECT date_trunc('minute', inserted_at), count(*)
            FROM new_rows
            WHERE NOT hidden AND inserted_at > now() - interval '2 days'
            GROUP BY 1 ORDER BY 1
            ON CONFLICT (minute)
            DO UPDATE SET messages = c.messages + excluded.messages
            RETURNING xmax = 0 AS is_new
        )
        SELECT coalesce(bool_or(up.is_new), false) INTO fresh FROM up;

        -- once a minute, the minutes older than two days go
        IF fresh THEN
            DELETE FROM chat_minutes
            WHERE minute <= now() - interval '2 days';
        END IF;

    ELSIF TG_OP = 'DELETE' THEN
        PERFORM site_chat_count(array_agg(channel_id), array_agg(-m),
                                array_agg(-h))
        FROM (SELECT channel_id, count(*) AS m,
                     count(*) FILTER (WHERE hidden) AS h
              FROM old_rows WHERE channel_id IS NOT NULL
              GROUP BY channel_id) AS d;

        PERFORM site_chat_minutes(array_agg(minute), array_agg(-n))
        FROM (SELECT date_trunc('minute', inserted_at) AS minute,
                     count(*) AS n
              FROM old_rows
              WHERE NOT hidden AND inserted_at > now() - interval '2 days'
              GROUP BY 1) AS d;

    ELSE
        -- the rows after the statement count (+1), those before not (-1)
        PERFORM site_chat_count(array_agg(channel_id), array_agg(m),
                                array_agg(h))
        FROM (SELECT channel_id, sum(s)::bigint AS m,
                     coalesce(sum(s) FILTER (WHERE hidden), 0)::bigint AS h
              FROM (SELECT channel_id, hidden, 1 AS s FROM new_rows
                    UNION ALL
                    SELECT channel_id, hidden, -1 FROM old_rows) AS r
              WHERE channel_id IS NOT NULL
              GROUP BY channel_id) AS d;

        PERFORM site_chat_minutes(array_agg(minute), array_agg(n))
        FROM (SELECT date_trunc('minute', inserted_at) AS minute,
                     sum(s)::bigint AS n
              FROM (SELECT inserted_at, 1 AS s FROM new_rows
                    WHERE NOT hidden
                    UNION ALL
                    SELECT inserted_at, -1 FROM old_rows
                    WHERE NOT hidden) AS r
              WHERE inserted_at > now() - interval '2 days'
              GROUP BY 1) AS d;
    END IF;

    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER channel_messages_counts_insert
    AFTER INSERT ON channel_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_chat_counts();

CREATE OR REPLACE TRIGGER channel_messages_counts_update
    AFTER UPDATE ON channel_messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_chat_counts();

CREATE OR REPLACE TRIGGER channel_messages_counts_delete
    AFTER DELETE ON channel_messages REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_chat_counts();

CREATE OR REPLACE TRIGGER channel_messages_counts_truncate
    AFTER TRUNCATE ON channel_messages
    FOR EACH STATEMENT EXECUTE FUNCTION site_chat_counts();
