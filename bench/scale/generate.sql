-- A network's data for the scale benchmark (bench/README.md, "3. Scale"),
-- written with generate_series on a freshly migrated database: every row
-- is a function of its number, so two runs give the same rows (but for
-- the times, which follow now()).  psql variables, all required:
--
--   games, users, characters, channels, messages   how many
--   busy        characters of the busy game (its page, its API list)
--   collector   characters of the player who has many
--   quiet       messages of the quiet channel, one every messages/quiet
--   huge        messages of 1 MB in the busy channel, among the newest
--
-- The large network: games=10000 users=20000 characters=100000
-- channels=100 messages=2000000 busy=4093 collector=300 quiet=20 huge=3
-- (util/bench).  The demo network, for the baseline: the demo hub's
-- dozen games and five channels (t/lib/gossip-hub-demo.json) with a few
-- players and a little chat.
--
-- Keys the benchmark requests: games BusyMUD (the busy one), QuietMUD,
-- Game00500; users collector, player00500; channels gossip (busy) and
-- quiet; the word "xylophone" in three messages of gossip; the admin
-- "benchadmin", signed in with the session token 64 times "ab".
\set ON_ERROR_STOP on
SET client_min_messages = warning;

SELECT setseed(0.42);

CREATE TEMPORARY TABLE bench_words (n integer PRIMARY KEY, w text);
INSERT INTO bench_words
SELECT row_number() OVER (), w
FROM unnest(string_to_array(
    'amber ancient arrow ash autumn badger banner bard beacon bramble '
    'bright candle castle cavern cedar cinder citadel cloak cobalt comet '
    'copper crimson crown crystal dagger dawn deep dragon dusk eagle ember '
    'falcon fable feather fern fire forest frost gale garnet ghost giant '
    'glade golden granite griffin grove harbor hawk hearth hollow iron '
    'ivory jade keep lantern legend lion lotus marble meadow mist moon '
    'moss mountain night oak onyx orchid owl pearl pine plume quartz '
    'quest raven realm river rune sage shadow silver sky spire star stone '
    'storm sun sword thorn thunder tide tower twilight valley velvet '
    'willow wind winter wolf wyrm', ' ')) AS w;

-- a thousand sentences, for descriptions and chat
CREATE TEMPORARY TABLE bench_lines (n integer PRIMARY KEY, line text);
INSERT INTO bench_lines
SELECT i, (SELECT string_agg(w.w, ' ' ORDER BY k)
           FROM generate_series(1, 4 + i % 21) AS k
           JOIN bench_words w ON w.n = 1 + (i * 31 + k * 17 + k * k) % 100)
FROM generate_series(1, 1000) AS i;

-- ------------------------------------------------------------- games

INSERT INTO games (id, remote_id, short_name, name, description,
                   homepage_url, user_agent, user_agent_url, online,
                   last_seen_at, display, display_players,
                   allow_character_registration)
SELECT i, i,
       CASE i WHEN 1 THEN 'BusyMUD' WHEN 2 THEN 'QuietMUD'
              ELSE 'Game' || lpad(i::text, 5, '0') END,
       CASE i WHEN 1 THEN 'Busy MUD' WHEN 2 THEN 'Quiet MUD'
              ELSE initcap(a.w) || ' ' || initcap(b.w) || ' ' || i END,
       l.line || '. ' || l2.line || '.',
       'https://mud' || i || '.example.org/',
       initcap(b.w) || 'MUD ' || (i % 7) || '.' || (i % 13),
       CASE WHEN i % 4 = 0 THEN 'https://code.example.org/' || b.w END,
       i <= 2 OR (i * 7919) % 100 < 31,
       now() - (i % 1000) * interval '1 hour',
       i <= 2 OR i % 50 <> 0,
       i % 10 <> 3,
       i % 9 <> 4
FROM generate_series(1, :games) AS i
JOIN bench_words a ON a.n = 1 + (i * 37) % 100
JOIN bench_words b ON b.n = 1 + (i * 53 + i / 100) % 100
JOIN bench_lines l ON l.n = 1 + (i * 7) % 1000
JOIN bench_lines l2 ON l2.n = 1 + (i * 11 + 3) % 1000;

SELECT setval('games_id_seq', :games);

INSERT INTO game_connections (game_id, remote_key, type, host, port)
SELECT id, 'telnet', 'telnet', 'mud' || id || '.example.org',
       4000 + id::int % 1000
FROM games;

INSERT INTO game_connections (game_id, remote_key, type, url)
SELECT id, 'web', 'web', 'https://mud' || id || '.example.org/play'
FROM games WHERE id % 2 = 0;

INSERT INTO game_connections (game_id, remote_key, type, host, port)
SELECT id, 'secure', 'secure telnet', 'mud' || id || '.example.org', 4443
FROM games WHERE id % 5 = 0;

-- players online: up to 7 in an online game, 40 in the busy one
INSERT INTO players_online (game_id, name)
SELECT g.id, initcap(w.w) || g.id || '_' || k
FROM games g
CROSS JOIN LATERAL generate_series(1, CASE WHEN g.id = 1 THEN 40
                                           ELSE g.id::int % 8 END) AS k
JOIN bench_words w ON w.n = 1 + (g.id * 3 + k * 29) % 100
WHERE g.online;

-- events: two for a fifth of the games, around today
INSERT INTO events (remote_id, game_id, title, description, start_date,
                    end_date)
SELECT g.id * 10 + k, g.id, initcap(l.line), l2.line,
       current_date + ((g.id * 3 + k * 5) % 40 - 10)::int,
       current_date + ((g.id * 3 + k * 5) % 40 - 10 + k * 2)::int
FROM games g
CROSS JOIN generate_series(1, 2) AS k
JOIN bench_lines l ON l.n = 1 + (g.id * 13 + k) % 1000
JOIN bench_lines l2 ON l2.n = 1 + (g.id * 17 + k) % 1000
WHERE g.id % 5 = 0 OR g.id = 1;

-- achievements: five for a quarter of the games
INSERT INTO achievements (remote_id, game_id, key, title, description,
                          points, display)
SELECT g.id * 10 + k, g.id, 'a' || k, initcap(w.w) || ' ' || k, l.line,
       k * 10, k <> 5
FROM games g
CROSS JOIN generate_series(1, 5) AS k
JOIN bench_words w ON w.n = 1 + (g.id + k * 7) % 100
JOIN bench_lines l ON l.n = 1 + (g.id * 19 + k) % 1000
WHERE g.id % 4 = 0 OR g.id = 1;

-- ------------------------------------------------------------- users

INSERT INTO users (id, username, email, password_hash, role, suspended_at,
                   inserted_at)
SELECT i,
       CASE i WHEN 1 THEN 'benchadmin' WHEN 2 THEN 'benchmod'
              WHEN 3 THEN 'collector'
              ELSE 'player' || lpad(i::text, 5, '0') END,
       'user' || i || '@example.org',
       -- no password signs in: the benchmark uses a session
       '$argon2id$v=19$m=65536,t=2,p=1$none$none',
       CASE i WHEN 1 THEN 'admin' WHEN 2 THEN 'moderator' ELSE 'user' END,
       CASE WHEN i > 3 AND i % 100 = 50 THEN now() - interval '3 days' END,
       now() - ((:users - i) * interval '1 hour')
FROM generate_series(1, :users) AS i;

SELECT setval('users_id_seq', :users);

INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
VALUES (sha256(decode(repeat('ab', 32), 'hex')), 1,
        repeat('cd', 16), now() + interval '30 days');

-- ------------------------------------------------------------- characters
--
-- 1 .. busy: the busy game's, all approved; then the collector's, one a
-- game; then the rest, in any game but the busy one, one in twenty
-- pending and one in twenty denied.

INSERT INTO characters (id, user_id, game_id, name, state, inserted_at)
SELECT k,
       CASE WHEN k <= :busy THEN 4 + (k * 7) % (:users - 3)
            WHEN k <= :busy + :collector THEN 3
            ELSE 4 + (k * 40503) % (:users - 3) END,
       CASE WHEN k <= :busy THEN 1
            WHEN k <= :busy + :collector THEN 2 + (k - :busy)
            ELSE 2 + (k * 2654435) % (:games - 1) END,
       initcap(w.w) || k,
       CASE WHEN k <= :busy + :collector THEN 'approved'
            WHEN k % 20 = 0 THEN 'pending'
            WHEN k % 20 = 1 THEN 'denied'
            ELSE 'approved' END,
       now() - ((:characters - k) * interval '5 minutes')
FROM generate_series(1, :characters::bigint) AS k
JOIN bench_words w ON w.n = 1 + (k * 13) % 100;

SELECT setval('characters_id_seq', :characters);

-- ------------------------------------------------------------- channels
--
-- gossip holds half of the messages, channels 2 .. 10 most of the rest;
-- the last but one is hidden; the last, quiet, has a message now and
-- then since the start (a page of it spans the whole table).

INSERT INTO channels (id, remote_id, name, description, hidden)
SELECT i, i,
       CASE WHEN i = 1 THEN 'gossip'
            WHEN i = :channels THEN 'quiet'
            WHEN i = :channels - 1 THEN 'staff'
            ELSE w.w || '-' || i END,
       CASE WHEN i = :channels THEN 'Hardly anyone talks here'
            ELSE initcap(l.line) END,
       i = :channels - 1
FROM generate_series(1, :channels) AS i
JOIN bench_words w ON w.n = 1 + (i * 41) % 100
JOIN bench_lines l ON l.n = 1 + (i * 23) % 1000;

SELECT setval('channels_id_seq', :channels);

-- senders are characters (Raisin names the account that registered one)
INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message, hidden, inserted_at)
SELECT m.i, c.id, c.name, g.short_name, ch.name, l.line,
       m.i % 97 = 0,
       now() - interval '60 days'
       + (m.i::float8 / :messages) * interval '60 days'
FROM (SELECT i,
             CASE WHEN i % (:messages / :quiet) = 0 THEN :channels
                  WHEN (i * 7919) % 1000 < 500 THEN 1
                  WHEN (i * 7919) % 1000 < 950
                      THEN 2 + (i * 7919) % 1000 % LEAST(9, :channels - 3)
                  ELSE 2 + (i * 7919) % 1000 % (:channels - 2) END AS c,
             1 + (i * 48271) % :characters AS k
      FROM generate_series(1, :messages::bigint) AS i) AS m
JOIN channels c ON c.id = m.c
JOIN characters ch ON ch.id = m.k
JOIN games g ON g.id = ch.game_id
JOIN bench_lines l ON l.n = 1 + (m.i * 7) % 1000;

-- the rare word, three times in gossip
UPDATE channel_messages SET message = message || ' xylophone'
WHERE id IN (SELECT id FROM channel_messages
             WHERE channel_id = 1 AND id % 100003 = 7 ORDER BY id LIMIT 3);

-- messages of 1 MB among gossip's newest (stored before a limit existed)
INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message, inserted_at)
SELECT :messages + k, 1, 'gossip', 'BusyMUD', 'Spammer',
       repeat('spam ', 209715), now() - k * interval '1 minute'
FROM generate_series(1, :huge) AS k;

SELECT setval('channel_messages_id_seq', :messages + :huge + 100);

-- ------------------------------------------------------------- Raisin

INSERT INTO raisin_mutes (player, game, until, lifted_at, reason,
                          created_by, created_by_name, inserted_at)
SELECT 'Muted' || k, 'Game' || lpad((k * 3)::text, 5, '0'),
       now() + k * interval '1 day',
       CASE WHEN k % 4 = 0 THEN now() - interval '1 hour' END,
       'flooding', 2, 'benchmod', now() - k * interval '1 day'
FROM generate_series(1, 40) AS k;

INSERT INTO raisin_audit (at, actor_id, actor, action, target, reason,
                          details)
SELECT now() - k * interval '1 hour', 2, 'benchmod',
       CASE k % 3 WHEN 0 THEN 'message.hide' WHEN 1 THEN 'sender.mute'
                  ELSE 'user.suspend' END,
       CASE k % 3 WHEN 0 THEN 'message ' || k * 97
                  WHEN 1 THEN 'sender Muted' || k || '@Game00003'
                  ELSE 'user player' || lpad((k * 100 + 50)::text, 5, '0')
       END,
       'spam ' || k,
       CASE k % 3 WHEN 0 THEN jsonb_build_object(
                      'player', 'Spammer', 'game', 'BusyMUD',
                      'channel', 'gossip', 'message', 'spam')
                  WHEN 1 THEN jsonb_build_object(
                      'until', now() + interval '1 day')
                  ELSE jsonb_build_object('sessions_ended', 1) END
FROM generate_series(1, 500) AS k;

VACUUM ANALYZE;
