package Grapevine::ApiFixture;

# The data the JSON API tests (t/02*-api-*.t) read: games shown and hidden,
# online and not, players, events, achievements, users (one suspended) and
# their characters in every state, channels (one hidden) and messages (one
# hidden).  api_fixture($sql) runs it on the file's database.
# default_api_location() runs every block without a config section in the
# API's usual location, "location /api/ { grapevine_api; }".

use strict;
use warnings;

use Exporter 'import';
our @EXPORT = qw(api_fixture api_fixture_sql default_api_location);

sub api_fixture_sql {
    my $fillers = join ",\n", map {
        sprintf "(%d, 'Filler%02d', 'Filler %02d', false)", 100 + $_, $_, $_
    } 1 .. 30;

    return <<"SQL";
INSERT INTO games (remote_id, short_name, name, description, homepage_url,
                   user_agent, user_agent_url, online, last_seen_at, display,
                   display_players)
VALUES (1, 'ExVenture', 'ExVenture', 'A MUD in "Elixir" \x{e9}t\x{e9}',
        'https://exventure.org/', 'ExVenture 0.28',
        'https://github.com/oestrich/ex_venture', true,
        '2026-01-02 03:04:05+00', true, true),
       (2, 'MidMUD', 'Mid MUD', NULL, NULL, NULL, NULL, false, NULL, true,
        true),
       (3, 'Hidden', 'Hidden Game', 'not shown', NULL, NULL, NULL, true, NULL,
        false, true),
       (4, 'Shy', 'Shy Game', 'players not shown', NULL, NULL, NULL, true,
        NULL, true, false);

INSERT INTO games (remote_id, short_name, name, online) VALUES
$fillers;

INSERT INTO game_connections (game_id, remote_key, type, host, port, url)
SELECT id, k, t, h, p, u FROM games,
       (VALUES ('k1', 'telnet', 'exventure.org', 5555, NULL),
               ('k2', 'web', NULL, NULL, 'https://exventure.org/play'))
       AS c (k, t, h, p, u)
WHERE short_name = 'ExVenture';

INSERT INTO players_online (game_id, name)
SELECT g.id, p FROM games g, (VALUES ('ExVenture', 'bob'),
                                     ('ExVenture', 'Alice'),
                                     ('Shy', 'Sneaky'),
                                     ('Hidden', 'Ghost')) AS v (s, p)
WHERE g.short_name = v.s;

INSERT INTO events (remote_id, game_id, title, description, start_date,
                    end_date, is_deleted)
SELECT r, (SELECT id FROM games WHERE short_name = 'ExVenture'), t, d,
       current_date + s, current_date + e, x
FROM (VALUES (1, 'Over', NULL, -5, -1, false),
             (2, 'Double XP', 'twice the XP', 1, 3, false),
             (3, 'Cancelled', NULL, 2, 4, true),
             (4, 'Running', NULL, -1, 1, false)) AS v (r, t, d, s, e, x);

INSERT INTO achievements (remote_id, game_id, title, display, is_deleted)
SELECT r, (SELECT id FROM games WHERE short_name = 'ExVenture'), 'A' || r, d, x
FROM (VALUES (1, true, false), (2, true, false), (3, true, false),
             (4, false, false), (5, true, true)) AS v (r, d, x);

INSERT INTO users (id, username, email, password_hash, suspended_at)
VALUES (1, 'eric', 'eric\@example.org', 'x', NULL),
       (2, 'Mallory', 'mallory\@example.org', 'x', now()),
       (3, 'newbie', 'newbie\@example.org', 'x', NULL),
       (4, 'ghostly', 'ghostly\@example.org', 'x', NULL);

INSERT INTO characters (user_id, game_id, name, state, inserted_at)
SELECT u, (SELECT id FROM games WHERE short_name = g), n, s,
       '2026-01-05 10:00:00+00'
FROM (VALUES (1, 'ExVenture', 'Alice', 'approved'),
             (1, 'ExVenture', 'Carol', 'approved'),
             (1, 'MidMUD', 'Zed', 'approved'),
             (1, 'Shy', 'Sneaky', 'approved'),
             (1, 'ExVenture', 'Pending', 'pending'),
             (1, 'MidMUD', 'Nope', 'denied'),
             (2, 'ExVenture', 'Evil', 'approved'),
             (4, 'Hidden', 'Ghost', 'approved')) AS v (u, g, n, s);

INSERT INTO channels (remote_id, name, description, hidden)
VALUES (1, 'gossip', 'General chat', false),
       (2, 'testing', NULL, false),
       (3, 'secret', 'moderators', true),
       (4, 'quiet', 'nobody talks', false);

INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message, hidden, inserted_at)
SELECT i, (SELECT id FROM channels WHERE name = c), c, g, p, m, h,
       '2026-02-01 12:00:00+00'::timestamptz + i * interval '1 minute'
FROM (VALUES (1, 'gossip', 'ExVenture', 'Alice', 'first', false),
             (2, 'gossip', 'MidMUD', 'Zed', 'second', false),
             (3, 'gossip', 'ExVenture', 'bob', 'third "quoted"', false),
             (4, 'gossip', 'ExVenture', 'Spammer', 'spam', true),
             (5, 'gossip', 'MidMUD', 'Zed', 'fifth', false),
             (6, 'secret', 'ExVenture', 'Mod', 'hush', false),
             (7, 'testing', 'ExVenture', 'Alice', 'test', false))
     AS v (i, c, g, p, m, h);
SQL
}

sub api_fixture {
    my ($sql) = @_;
    $sql->(api_fixture_sql());
}

sub default_api_location {
    Grapevine::Test::add_block_preprocessor(sub {
        my ($block) = @_;
        $block->set_value(config => 'location /api/ { grapevine_api; }')
            unless exists $block->{config};
    });
}

1;
