# Players online over time (issue 15): generated presence gives the
# expected points, peaks, gaps and hourly maxima; a slot is written once;
# the pruning keeps what it must, in batches; the hub link's owner records
# at the clock's slots while the link is live, and nothing while the hub
# is away (a gap, not a zero); the API's routes, their bad periods and
# their cache; the charts on the game page and the home page, and none
# for a game that hides its players.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Time::HiRes qw(sleep);

sub one { sql_rows($_[0])->[0][0] }

sub api {
    my ($path) = @_;
    my $r = http_get($path);
    $r->{json} = eval { json_decode($r->{body}) };
    return $r;
}

# ----------------------------------------- generated presence, in SQL

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, online, display)
VALUES (1, 'ExVenture', 'ExVenture', true, true),
       (2, 'Secret', 'Secret MUD', true, true),
       (3, 'Quiet', 'Quiet MUD', true, true);
UPDATE games SET display_players = false WHERE short_name = 'Secret';

-- the slots of the last 48 hours, 15 minutes apart, from "base" (now's
-- slot) back: players of ExVenture = (slot index mod 7), Secret 2, Quiet
-- 10 in slot 50 and none otherwise;
-- slots 10 to 13 and the current one are not recorded (the hub away)
CREATE TEMP TABLE plan AS
SELECT i, date_bin('15 minutes', now(), '2000-01-01+00')
          - i * interval '15 minutes' AS slot
FROM generate_series(1, 100) AS i WHERE i NOT BETWEEN 10 AND 13;

DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM plan ORDER BY slot LOOP
        DELETE FROM players_online;
        INSERT INTO players_online (game_id, name)
        SELECT g.id, 'p' || k FROM games g, generate_series(1, p.i % 7) k
        WHERE g.short_name = 'ExVenture'
        UNION ALL
        SELECT g.id, 's' || k FROM games g, generate_series(1, 2) k
        WHERE g.short_name = 'Secret'
        UNION ALL
        SELECT g.id, 'q' || k FROM games g, generate_series(1, 10) k
        WHERE g.short_name = 'Quiet' AND p.i = 50;
        PERFORM backbone_statistics_record(p.slot, 900);
    END LOOP;
END
$$;
SQL

my $ex = one("SELECT id FROM games WHERE short_name = 'ExVenture'");
my $quiet = one("SELECT id FROM games WHERE short_name = 'Quiet'");

is(one('SELECT count(*) FROM statistics WHERE game_id = 0'), 96,
   'a network row for each recorded slot');
is(one("SELECT count(*) FROM statistics WHERE game_id = $quiet"), 1,
   'no row for a game without players');
is(one('SELECT count(*) FROM statistics s JOIN plan p ON p.slot = s.slot '
       . "WHERE s.game_id = $ex AND s.players <> p.i % 7"), 0,
   "each of ExVenture's rows is its players of the slot");
is(one('SELECT string_agg(players::text, \',\' ORDER BY slot) '
       . 'FROM statistics WHERE game_id = 0 '
       . "AND slot >= date_bin('15 minutes', now(), '2000-01-01+00') "
       . "- interval '3 hours'"),
   '2,1,0,6,5,4,3,2,1',
   'the network total counts the games that show their players only');

# a slot is written once: the first write wins
my $slot1 = "date_bin('15 minutes', now(), '2000-01-01+00') "
            . "- interval '15 minutes'";
sql("INSERT INTO players_online (game_id, name) "
    . "SELECT $ex, 'late' || k FROM generate_series(1, 50) k");
is(one("SELECT backbone_statistics_record($slot1, 900)"), 0,
   'recording a slot again writes nothing');
is(one("SELECT players FROM statistics WHERE game_id = $ex "
       . "AND slot = $slot1"), 1, 'and the first value stays');
sql('DELETE FROM players_online');

# the hourly maxima
is(one('SELECT count(*) FROM statistics_hourly h WHERE h.players <> '
       . '(SELECT max(s.players) FROM statistics s WHERE s.game_id = '
       . "h.game_id AND date_trunc('hour', s.slot) = h.hour)"), 0,
   'each hourly row is the maximum of its slots');
is(one('SELECT count(*) FROM statistics_hourly WHERE game_id = 0'),
   one("SELECT count(DISTINCT date_trunc('hour', slot)) FROM statistics "
       . 'WHERE game_id = 0'),
   'an hourly network row for each hour with a recorded slot');

# the series
my $pts = sql_rows("SELECT extract(epoch FROM t)::bigint, players "
                   . "FROM statistics_series($ex, '48h') ORDER BY t");
is(scalar @$pts, 192, '48h: 192 points of 15 minutes');
my %by_i;
my $last = $pts->[-1][0];
for my $p (@$pts) {
    $by_i{ ($last - $p->[0]) / 900 } = $p->[1];
}
is($by_i{0}, undef, 'the current slot, not recorded yet, is a gap');
is_deeply([map { $by_i{$_} } 10 .. 13], [undef, undef, undef, undef],
          'the slots missed are gaps, not zeros');
is_deeply([map { $by_i{$_} } 1 .. 9], [1, 2, 3, 4, 5, 6, 0, 1, 2],
          'the recorded slots are their counts, 0 included');
is($by_i{150}, undef, 'before the first recorded slot: a gap');
is_deeply(sql_rows("SELECT count(*) FILTER (WHERE players = 0), "
                   . "count(*) FILTER (WHERE players IS NULL) "
                   . "FROM statistics_series($quiet, '48h')")->[0],
          [95, 96], 'a game without players: 0 where recorded, gaps elsewhere');

my $h = sql_rows("SELECT players FROM statistics_series($ex, '7d') "
                 . 'WHERE players IS NOT NULL ORDER BY t');
is(scalar @$h, one("SELECT count(DISTINCT date_trunc('hour', slot)) "
                   . 'FROM statistics WHERE game_id = 0'),
   '7d: an hourly point for each hour with a recorded slot');
is(one("SELECT count(*) FROM statistics_series($ex, '7d') p "
       . 'WHERE p.players IS DISTINCT FROM (SELECT CASE WHEN count(*) > 0 '
       . "THEN coalesce(max(s.players) FILTER (WHERE s.game_id = $ex), 0) "
       . 'END FROM statistics s WHERE s.game_id IN (0, ' . $ex . ') '
       . "AND date_trunc('hour', s.slot) = p.t)"), 0,
   "7d: each point is its hour's maximum, 0 or a gap");
is(one("SELECT count(*) FROM statistics_series(0, '30d')"), 180,
   '30d: 180 points of 4 hours');
is(one("SELECT count(*) FROM statistics_series(0, '1y')"), 365,
   '1y: 365 daily points');
is(one("SELECT max(players) FROM statistics_series($ex, '1y')"), 6,
   "1y: the day's maximum");

# the chart's data: peak, gaps as separate paths, summary
my $chart = json_decode(one("SELECT site_chart($ex, '48h')::text"));
is($chart->{peak}{players}, 6, 'the chart marks the peak');
is(scalar @{ $chart->{segments} }, 2,
   'two runs of points: the gap splits the line');
is($chart->{now}, 1, '"now" is the newest recorded point');
my @rec = grep { defined } values %by_i;
my $mean = 0;
$mean += $_ for @rec;
$mean = sprintf '%.1f', $mean / @rec;
is(sprintf('%.1f', $chart->{average}), $mean,
   'the average of the recorded points');
my @ys = map { /([\d.]+) ([\d.]+)/g } $chart->{segments}[0]{d};
ok(!grep({ $_ < 0 || $_ > 720 } @ys), 'the points lie inside the viewBox');

# ------------------------------------------------------------- pruning

sql(<<'SQL');
INSERT INTO statistics (game_id, slot, players, seconds)
SELECT 0, now() - interval '40 days' - k * interval '15 minutes', 1, 900
FROM generate_series(1, 25) k;
INSERT INTO statistics_hourly (game_id, hour, players)
SELECT 0, date_trunc('hour', now() - interval '40 days') - k * interval '1 hour', 1
FROM generate_series(1, 5) k
UNION ALL
SELECT 0, date_trunc('hour', now() - interval '3 years') - k * interval '1 hour', 1
FROM generate_series(1, 12) k;
SQL

my $detail_before = one("SELECT count(*) FROM statistics "
                        . "WHERE slot > now() - interval '30 days'");
my @rounds;
for (1 .. 10) {
    my $n = one("SELECT backbone_statistics_prune('30 days', '730 days', 10)");
    push @rounds, $n;
    last if $n < 10;
}
is_deeply(\@rounds, [10, 10, 5], 'pruning goes in batches of at most 10');
is(one("SELECT count(*) FROM statistics WHERE slot < now() - interval '30 days'"),
   0, 'the detail older than 30 days is gone');
is(one("SELECT count(*) FROM statistics WHERE slot > now() - interval '30 days'"),
   $detail_before, 'the detail of the last 30 days stays');
is(one("SELECT count(*) FROM statistics_hourly "
       . "WHERE hour < now() - interval '730 days'"), 0,
   'the hourly maxima older than two years are gone');
is(one("SELECT count(*) FROM statistics_hourly WHERE hour BETWEEN "
       . "now() - interval '41 days' AND now() - interval '39 days'"), 5,
   'the hourly maxima of 40 days ago stay');

# ------------------------------------------------------ API and pages

my $root = root();
start_nginx(config => <<"CONF");
location /api/ { grapevine_api; }
location / { grapevine_site; }
location /static/ { alias $root/conf/static/; }
CONF

my $r = api('/api/games/ExVenture/statistics');
is($r->{status}, 200, 'GET /api/games/ExVenture/statistics: 200');
is(scalar @{ $r->{json}{items} }, 192, 'its 48h of points');
is($r->{json}{period}, '48h', 'the period by default');
is_deeply([map { $_->{players} } @{ $r->{json}{items} }[-14 .. -1]],
          [map { $by_i{$_} } reverse 0 .. 13],
          'the points, as the series has them, gaps as null');
like($r->{json}{items}[0]{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/,
     'times in UTC, ISO 8601');
is_deeply($r->{json}{links},
          [{ rel => 'self', href => '/api/games/ExVenture/statistics' },
           { rel => 'game', href => '/api/games/ExVenture' }], 'links');

$r = api('/api/games/exventure/statistics?period=1y');
is(scalar @{ $r->{json}{items} }, 365, '?period=1y: 365 points');
is($r->{json}{links}[0]{href}, '/api/games/ExVenture/statistics?period=1y',
   'self names the period');

for my $bad ('?period=2d', '?period=', '?period=48h&period=7d') {
    $r = api("/api/games/ExVenture/statistics$bad");
    is($r->{status}, 400, "$bad: 400");
    like($r->{json}{error}{message} // '', qr/^period: /,
         '... naming the parameter');
}

$r = api('/api/games/Secret/statistics');
is($r->{status}, 200, 'a game that hides its players: 200');
is($r->{json}{items}, undef, '... and no points (null)');
is(api('/api/games/Nope/statistics')->{status}, 404, 'an unknown game: 404');

$r = api('/api/statistics?period=7d');
is($r->{status}, 200, 'GET /api/statistics?period=7d: 200');
is(scalar @{ $r->{json}{items} }, 168, 'the network: 168 hourly points');

# cached, and made anew by a new slot
$r = api('/api/statistics');
$r = api('/api/statistics');
is($r->{headers}{'x-grapevine-cache'}, 'HIT', 'the answer is cached');
my $before = $r->{json}{items}[-1]{players};
sql("INSERT INTO statistics (game_id, slot, players, seconds) VALUES "
    . "(0, date_bin('15 minutes', now(), '2000-01-01+00'), 77, 900)");
ok(wait_until(sub {
       my $x = api('/api/statistics');
       ($x->{json}{items}[-1]{players} // -1) == 77;
   }, 5, 0.1), 'a new slot is in the next answer');
is($before, undef, '(it was a gap before)');
sql("DELETE FROM statistics WHERE players = 77");

# the game page
$r = http_get('/games/ExVenture');
is($r->{status}, 200, 'the game page');
like($r->{body}, qr{<svg class="chart-svg" viewBox="0 0 720 240"},
     'an inline SVG chart, scaled by its viewBox');
my @paths = $r->{body} =~ /<path class="chart-line" d="([^"]+)"/g;
is(scalar @paths, 2, 'a path for each run of points (the gap between)');
like($r->{body}, qr{peak 6</text>}, 'the peak marked');
like($r->{body}, qr{Peak <strong>6</strong> at \d{4}-\d\d-\d\d \d\d:\d\d UTC},
     'the summary: peak and when');
like($r->{body}, qr{average <strong>\Q$mean\E</strong>}, 'the average');
like($r->{body}, qr{now <strong>1</strong>}, 'and now');
like($r->{body}, qr{aria-current="page">48 hours</a>}, 'the 48 hours tab');
my ($section) = $r->{body} =~ m{(<section class="stats".*?</section>)}s;
ok($section, 'the chart\'s section');
unlike($section // '<script', qr{<script}, 'no script in the chart');
is_deeply([$r->{body} =~ m{<script\b([^>]*)>}g],
          [' src="/static/live.js" defer'],
          'the page\'s one script is the layout\'s own live updates');

$r = http_get('/games/ExVenture?period=30d');
like($r->{body}, qr{aria-current="page">30 days</a>}, '?period=30d');
like($r->{body}, qr{<path class="chart-line"}, '... its chart');
$r = http_get('/games/ExVenture?period=1w');
is($r->{status}, 400, 'a bad period: 400');
like($r->{body}, qr{48h, 7d or 30d}, '... saying which are good');

$r = http_get('/games/Secret');
is($r->{status}, 200, 'a game that hides its players');
unlike($r->{body}, qr{<svg|chart}, '... shows no chart');

$r = http_get('/');
like($r->{body}, qr{<svg class="chart-svg"}, 'the home page: the network chart');
like($r->{body}, qr{Peak <strong>11</strong>},
     '... its peak, the network total');

# --------------------------------- recording by the hub link's owner

stop_nginx();
sql('TRUNCATE statistics, statistics_hourly');
# the hub's games take the rows of the same remote ids: all show players
sql('UPDATE games SET display_players = true');

my $seed = {
    games => [{ game => 'ExVenture', display_name => 'ExVenture' },
              { game => 'Other', display_name => 'Other' }],
};
start_hub(seed => $seed, heartbeat => 1, sync => 'push');
hub_api(POST => '/games/ExVenture/connect',
        { players => ['Ann', 'Bob', 'Cy'] });
hub_api(POST => '/games/Other/connect', { players => ['Dee'] });

# the directives, checked by nginx -t
for my $case (
    ['grapevine_statistics_interval 7m;',
     qr/"grapevine_statistics_interval" directive must be a time from 1s to 1h that divides an hour/],
    ['grapevine_statistics_interval 2h;',
     qr/"grapevine_statistics_interval" directive must be a time from 1s to 1h/],
    ['grapevine_statistics_keep 30m;',
     qr/"grapevine_statistics_keep" directive must be a time of at least 1h/],
    ["grapevine_statistics_keep 30d;\ngrapevine_statistics_keep_hourly 7d;",
     qr/"grapevine_statistics_keep_hourly" must be at least "grapevine_statistics_keep"/],
) {
    my ($rc, $out) = Grapevine::Test::nginx_test_conf(Grapevine::Test::nginx_conf(
        http_config => hub_http_config(extra => $case->[0])));
    ok($rc != 0 && $out =~ $case->[1],
       'nginx -t refuses ' . ($case->[0] =~ s/\n/ /r))
        or diag($out);
}
{
    my ($rc, $out) = Grapevine::Test::nginx_test_conf(Grapevine::Test::nginx_conf(
        http_config => 'grapevine_database "' . conninfo() . '";'
                       . "\ngrapevine_statistics_interval 5m;"));
    ok($rc != 0 && $out =~ /grapevine_statistics_\* directives are set but "grapevine_hub" is not/,
       'nginx -t: the statistics need the hub link') or diag($out);
}

start_nginx(http_config => hub_http_config(
                extra => 'grapevine_statistics_interval 2s;'),
            config => 'location /api/ { grapevine_api; }');

ok(wait_until(sub {
       one('SELECT count(*) FROM statistics WHERE game_id = 0') >= 2
   }, 20, 0.2), 'the owner records a slot every 2 s');
my $rows = sql_rows("SELECT extract(epoch FROM s.slot)::bigint, s.players, "
                    . 's.seconds FROM statistics s WHERE game_id = 0 '
                    . 'ORDER BY slot');
is(scalar(grep { $_->[0] % 2 } @$rows), 0, 'slots aligned to the clock');
is(scalar(grep { $_->[2] != 2 } @$rows), 0, 'their length recorded');
is($rows->[-1][1], 4, 'the network total counts the players online')
    or diag(json_encode($rows));
is(one("SELECT max(s.players) FROM statistics s JOIN games g "
       . "ON g.id = s.game_id WHERE g.short_name = 'ExVenture'"), 3,
   "a game's players online");

# the hub away: no slot recorded, a gap
stop_hub();
ok(wait_until(sub {
       (one('SELECT state FROM hub_status') // '') ne 'live'
   }, 15, 0.2), 'the link is down');
sleep 0.5;
my $down_from = one('SELECT extract(epoch FROM now())');
sleep 4.5;
my $down_to = one('SELECT extract(epoch FROM now())');
is(one("SELECT count(*) FROM statistics WHERE slot "
       . "BETWEEN to_timestamp($down_from) AND to_timestamp($down_to)"), 0,
   'no slot is recorded while the hub is away');

check_error_log(error_log_path(), 'no alert in the error log');

Grapevine::Test::cleanup();
done_testing();
