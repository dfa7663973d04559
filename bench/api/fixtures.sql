-- The API benchmark's games: 1,000 displayed games (a third online), each
-- with a telnet connection and every other one with a web client too.
-- Run on a freshly migrated database.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

INSERT INTO games (remote_id, short_name, name, description, homepage_url,
                   user_agent, online, last_seen_at)
SELECT i, 'Bench' || lpad(i::text, 5, '0'), 'Bench Game ' || i,
       'A text game of swords, spells and taverns, number ' || i
       || '. Explore the realm, join a guild, talk to other players.',
       'https://mud' || i || '.example.org/', 'BenchMUD 1.0',
       i % 3 = 0, CASE WHEN i % 3 = 0 THEN now() END
FROM generate_series(1, 1000) AS i;

INSERT INTO game_connections (game_id, remote_key, type, host, port)
SELECT id, 'telnet-' || remote_id, 'telnet', 'mud' || remote_id
       || '.example.org', 4000 + remote_id::int
FROM games;

INSERT INTO game_connections (game_id, remote_key, type, url)
SELECT id, 'web-' || remote_id, 'web',
       'https://mud' || remote_id || '.example.org/play'
FROM games WHERE remote_id % 2 = 0;

-- as autovacuum leaves a network: each game was written again by its
-- connections' triggers (its kept JSON), whose old versions a read would
-- otherwise step over, where the lookup baseline (K) reads a table
-- written once
VACUUM ANALYZE games;
VACUUM ANALYZE game_connections;
