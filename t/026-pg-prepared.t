# Prepared statements in the pool: every route's statement is prepared on
# every connection before it takes a query; one that cannot be prepared
# (the schema is behind: its function is missing) is logged once and sent
# unprepared, and the pool goes on serving everything else.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;

api_fixture(\&sql);

my $POOL = 2;
# the API's 15 statements (its 10 routes, the games list's in three
# kinds, the channel stream's catching up and the streams' reads of the
# messages and the games announced); the site's session, the hub link's
# state (site_hub(), for the channel page of the signed-in), its 10
# routes with a statement (web chat's send is the 10th) and the 8 steps
# of its accounts' forms
my $NSTMTS = 15 + 1 + 1 + 10 + 8;

my %conf = (
    http_config => 'grapevine_database "' . conninfo() . "\" pool=$POOL;",
    config => "location /api/ { grapevine_api; }\n"
              . "location = /_status { grapevine_status; }\n"
              . "location / { grapevine_site; }");

sub pool_of {
    my $res = http_get('/_status');
    my $j = eval { json_decode($res->{body}) } // {};
    return $j->{database}{pool} // {};
}

# the pool of the worker that answers, once all its connections are ready
sub all_ready {
    return wait_until(sub {
        my $p = pool_of();
        return ($p->{connected} // 0) == $POOL
               && ($p->{prepared} // 0) == $POOL * $NSTMTS;
    }, 10, 0.1);
}

# ----------------------------------------------------- all prepared

start_nginx(%conf);

ok(all_ready(), "each of the $POOL connections prepared the $NSTMTS "
                . 'statements');

my $p = pool_of();
is($p->{statements}, $NSTMTS, 'the status counts the statements');
is_deeply($p->{unprepared}, [], 'and none failed');

my $res = http_get('/api/games/ExVenture');
is($res->{status}, 200, 'a prepared route answers');
is(json_decode($res->{body})->{short_name}, 'ExVenture',
   'with the right game');

$res = http_get('/api/games?name=%27%3B%20DROP%20TABLE%20games%3B--');
is($res->{status}, 200, 'a parameter is still a parameter');
is(sql_rows('SELECT count(*) > 0 FROM games')->[0][0], 1,
   'and the games are all there');

$res = http_get('/games/ExVenture');
is($res->{status}, 200, 'the site answers through its statement');

my $log = Grapevine::Test::error_log_since(0);
unlike($log, qr/could not prepare/, 'nothing failed to prepare');

# ------------------------------------------- the schema is behind

sql('ALTER FUNCTION site_games(jsonb, jsonb) '
    . 'RENAME TO site_games_renamed');

stop_nginx();
my $offset = Grapevine::Test::error_log_size();
start_nginx(%conf);

ok(wait_until(sub {
    my $p = pool_of();
    return ($p->{connected} // 0) == $POOL
           && ($p->{prepared} // 0) == $POOL * ($NSTMTS - 1);
}, 10, 0.1), 'the other statements are prepared on every connection');

is_deeply(pool_of()->{unprepared}, ['grapevine_site_games'],
          'the status names the one that failed');

my @codes = map { http_get("/api/games?page=$_")->{status} } 1 .. 3, 1 .. 3;
is_deeply(\@codes, [(200) x 6], 'the API is served as before');

$res = http_get('/api/users/eric');
is($res->{status}, 200, 'on every route');

$res = http_get('/games');
is($res->{status}, 500, 'a page fails as its query does: 500, not a hang');
cmp_ok($res->{time}, '<', 2, 'at once');

$log = Grapevine::Test::error_log_since($offset);
my @lines = $log =~ /(could not prepare the statement "grapevine_site_games"[^\n]*)/g;
ok(@lines >= 1 && @lines <= 2,
   'the failure is logged once per worker (' . scalar(@lines) . ' lines)')
    or diag($log);
like($lines[0] // '', qr/site_games\(.*\) does not exist/,
     'naming the missing function');

# ------------------------------ migrated while running: no restart

sql('ALTER FUNCTION site_games_renamed(jsonb, jsonb) '
    . 'RENAME TO site_games');

@codes = map { http_get('/games')->{status} } 1 .. 4;
is_deeply(\@codes, [(200) x 4],
          'the unprepared statement works once the function is back');

stop_nginx();

done_testing();
Grapevine::Test::cleanup();
