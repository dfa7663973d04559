-- The API benchmark's players, run when the users and characters tables
-- exist (migrations/0003_accounts.sql): 1,000 users, each with two approved
-- characters and one pending, in games of fixtures.sql.  Written against the
-- reference's columns (users: username, email, password_hash; characters:
-- user_id, game_id, name, state); adapt it if 0003 differs, util/bench says
-- so when it fails.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

INSERT INTO users (username, email, password_hash)
SELECT 'bench' || lpad(i::text, 4, '0'),
       'bench' || i || '@example.org',
       -- a bcrypt hash of "benchmark" (never checked by the benchmark)
       '$2b$12$3YJk7YkQn1bHq2S9CwYx2u6bq3o3nF9jzVhZ7m0rQkq2l9tX8pC1e'
FROM generate_series(1, 1000) AS i;

INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, initcap(u.username) || k, s
FROM users u
CROSS JOIN LATERAL (VALUES (1, 'approved'), (2, 'approved'),
                           (3, 'pending')) AS v(k, s)
JOIN games g
  ON g.remote_id = ((substr(u.username, 6)::int * 7 + v.k * 13) % 1000) + 1
WHERE u.username LIKE 'bench%';

ANALYZE users;
ANALYZE characters;
