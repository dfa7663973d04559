# The charts of players online in a real browser (t/e2e/statistics.mjs):
# a game with 48 hours of generated presence (a peak, a gap of two hours)
# shows an inline SVG chart with two paths, its peak, axes in UTC and a
# summary; its 7 days tab; on a phone it fits the screen; a game that
# hides its players shows none; the home page shows the network's.
# Screenshots of the chart go to t/screenshots/.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::Browser;

my $root = root();

browser_ready();

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, description, online, display)
VALUES (1, 'ExVenture', 'ExVenture', 'A MUD written in Elixir.', true, true),
       (2, 'Secret', 'Secret MUD', 'Hides its players.', true, true);
UPDATE games SET display_players = false WHERE short_name = 'Secret';

-- 48 hours of slots: a day's rhythm, a peak of 42 a day ago, and two
-- hours (8 slots) missed 10 hours ago
DO $$
DECLARE
    i     integer;
    slot  timestamptz;
    n     integer;
BEGIN
    FOR i IN 1 .. 191 LOOP
        CONTINUE WHEN i BETWEEN 40 AND 47;
        slot := date_bin('15 minutes', now(), '2000-01-01+00')
                - i * interval '15 minutes';
        n := CASE WHEN i = 96 THEN 42
                  ELSE round(18 + 12 * sin(i * pi() / 48)) END;
        DELETE FROM players_online;
        INSERT INTO players_online (game_id, name)
        SELECT g.id, 'p' || k FROM games g, generate_series(1, n) k
        WHERE g.short_name = 'ExVenture'
        UNION ALL
        SELECT g.id, 's' || k FROM games g, generate_series(1, 3) k
        WHERE g.short_name = 'Secret';
        PERFORM backbone_statistics_record(slot, 900);
    END LOOP;
END
$$;
SQL

start_nginx(config => <<"CONF");
location / { grapevine_site; }
location /static/ { alias $root/conf/static/; types { text/css css; } }
CONF

my $shots = "$root/t/screenshots";
my $site = 'http://127.0.0.1:' . server_port();

run_browser('statistics.mjs', [$site, 42, $shots], timeout => 90,
            steps => 9, screenshots => ["$shots/chart-desktop.png",
                                        "$shots/chart-phone.png"]);

Grapevine::Test::cleanup();
done_testing();
