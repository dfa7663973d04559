# The JSON API and its database: stopped -> fast 503, started -> 200 again
# without restarting nginx; clients that go away mid-query leave no
# connection behind.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use POSIX ();
use Time::HiRes qw(sleep time);

my $root = root();
my $pgdir = servroot() . '-pg';

# a cluster left by an interrupted run goes first
system("$root/util/pg remove $pgdir > /dev/null 2>&1") if -d $pgdir;
system("$root/util/pg", 'start', $pgdir) == 0 or die "cannot start a cluster";
my %env = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } `$root/util/pg env $pgdir`;

{
    local $ENV{PGHOST} = $env{PGHOST};
    local $ENV{PGPORT} = $env{PGPORT};
    local $ENV{PGDATABASE} = 'gv';
    system("createdb gv && $root/util/migrate > /dev/null") == 0
        or die "createdb";
}

my $dbi = DBI->connect("dbi:Pg:dbname=gv;host=$env{PGHOST};port=$env{PGPORT}",
                       'grapevine', '', { RaiseError => 1, PrintError => 0,
                                          AutoCommit => 1 });
api_fixture(sub { $dbi->do(@_) });
$dbi->disconnect;

my $POOL = 2;

start_nginx(
    http_config => "grapevine_database \"host=127.0.0.1 port=$env{PGPORT} "
                   . "dbname=gv user=grapevine sslmode=disable\" "
                   . "pool=$POOL timeout=30s;",
    config => "location /api/ { grapevine_api; }\n"
              . "location / { grapevine_site; }\n"
              . 'location = /_status { grapevine_status; }');

sub pool_of {
    my $res = http_get('/_status');
    my $j = eval { json_decode($res->{body}) } // {};
    return $j->{database}{pool} // {};
}

my $res = http_get('/api/games/ExVenture');
is($res->{status}, 200, 'up: 200');

# ------------------------------------------------------ database away

my $outage = -s error_log_path();

system("$root/util/pg", 'stop', $pgdir);

# what libpq says names the server: the clients get a plain message
my $where = qr/\Q$env{PGPORT}\E|127\.0\.0\.1|refused|server|socket/i;

for my $path ('/api/games', '/api/games/ExVenture', '/api/channels') {
    $res = http_get($path);
    is($res->{status}, 503, "down: $path 503");
    cmp_ok($res->{time}, '<', 2, "down: $path answered at once");
    is($res->{headers}{'retry-after'}, '5', "down: $path Retry-After");
    is($res->{headers}{'cache-control'}, 'no-store', "down: $path not cached");
    is($res->{headers}{'access-control-allow-origin'}, '*',
       "down: $path CORS");
    is($res->{headers}{'x-content-type-options'}, 'nosniff',
       "down: $path nosniff");
    my $j = eval { json_decode($res->{body}) } // {};
    is_deeply($j, { error => { code => 'database_unavailable',
                               message => 'the database is unavailable, '
                                          . 'try again later' } },
              "down: $path says database_unavailable, plainly");
    unlike($res->{body}, $where, "down: $path names no server, port or "
                                 . "socket");
}

for my $path ('/games', '/') {
    $res = http_get($path);
    is($res->{status}, 503, "down: the site's $path 503");
    unlike($res->{body}, $where, "down: the site's $path names no server, "
                                 . "port or socket");
}

$res = http_get('/api/openapi.json');
is($res->{status}, 200, 'down: openapi.json needs no database');

# a flood of requests while it is away: each is counted, none is a warning
my $refused = 0;
for my $i (1 .. 150) {
    $refused++ if http_get($i % 5 ? "/api/games?flood=$i" : '/games')
                      ->{status} == 503;
}
is($refused, 150, 'down: 150 more requests, 150 answers 503');

# /_status counts them, per worker (its own 503 is not one of them)
my %answered;
ok(wait_until(sub {
       my $st = eval { json_decode(http_get('/_status')->{body}) } // {};
       $answered{ $st->{pid} } = $st->{database}{answered_503}
           if defined $st->{pid};
       keys %answered == 2;
   }, 10, 0.01), 'down: /_status of both workers seen');
my $sum = 0;
$sum += $_ // 0 for values %answered;
is($sum, 150 + 5, 'down: /_status: database.answered_503 of both workers: every '
                  . 'answer 503 of the outage');

system("$root/util/pg", 'start', $pgdir) == 0 or die "cannot restart";

ok(wait_until(sub { http_get('/api/games/ExVenture')->{status} == 200 },
              10, 0.2), 'back: 200 again without restarting nginx');

# each of the two workers has two pools (its queries, its listening
# connection): the loss and the return of each are logged once, at most
# 8 lines for the outage, whatever the requests did meanwhile
ok(wait_until(sub { (() = error_log_since($outage) =~ /database is back/g)
                    == 4 }, 15, 0.2),
   'back: each pool of each worker logs that the database is back, once');

my $log = error_log_since($outage);
my @lost = $log =~ /^.*\[(?:warn|error)\].*(?:connection lost|could not connect).*$/mg;
is(scalar @lost, 4, 'the loss: one line per pool of each worker')
    or diag(join "\n", @lost);
like($lost[0] // '', $where, '... where the server is named, with libpq\'s '
                             . 'message');
is(scalar(() = $log =~ /^.*\[(?:warn|error)\].*answering 503.*$/mg), 0,
   'no answer 503 is a warning (grapevine_unavailable_log_level info)');
cmp_ok(scalar(() = $log =~ /^.*\[info\].*answering 503.*$/mg), '>=',
       150 + 5, 'each is at info');
like($log, qr/database is back after [\d.]+ s, \d+ requests answered 503 /,
     'the return says how long it was away and how many were answered 503');


my @codes = map { http_get('/api/games?page=2')->{status} } 1 .. 30;
is_deeply([grep { $_ != 200 } @codes], [], 'back: 30 requests all 200');

# the API's 8 statements (and the site's), prepared again on every new
# connection
ok(wait_until(sub {
    my $p = pool_of();
    return ($p->{connected} // 0) == $POOL && ($p->{statements} // 0) > 8
           && ($p->{prepared} // 0) == $POOL * $p->{statements}
           && @{$p->{unprepared} // [1]} == 0;
}, 10, 0.2), 'back: the new connections prepared the statements again');

# --------------------------------------------- clients that go away

my $watch = DBI->connect(
    "dbi:Pg:dbname=gv;host=$env{PGHOST};port=$env{PGPORT}", 'grapevine', '',
    { RaiseError => 1, PrintError => 0, AutoCommit => 1,
      AutoInactiveDestroy => 1 });

sub api_backends {
    return $watch->selectall_arrayref(
        "SELECT state, coalesce(wait_event_type, '') FROM pg_stat_activity "
        . "WHERE application_name = 'ngx_grapevine' AND datname = 'gv'");
}

# after the outage, connections come back as their backoff (up to 5 s) ends
ok(wait_until(sub {
       my $b = api_backends();
       @$b == 2 * $POOL && !grep { $_->[0] ne 'idle' } @$b;
   }, 15, 0.1), 'every pool connection of both workers is back');

# a lock makes every query on games wait: a slow query, for tests only
my $locker = DBI->connect(
    "dbi:Pg:dbname=gv;host=$env{PGHOST};port=$env{PGPORT}", 'grapevine', '',
    { RaiseError => 1, PrintError => 0, AutoCommit => 0,
      AutoInactiveDestroy => 1 });
$locker->do('LOCK TABLE games IN ACCESS EXCLUSIVE MODE');

my $offset = -s error_log_path();

# more requests than both workers have connections: some queue, all go
my $aborted = 2 * $POOL + 2;
my @kids;

for my $i (1 .. $aborted) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        http_get("/api/games/ExVenture?i=$i", abort_after => 0.6);
        POSIX::_exit(0);    # no END blocks: they would stop nginx
    }
    push @kids, $pid;
}

waitpid($_, 0) for @kids;

my $waiting = grep { $_->[0] eq 'active' && $_->[1] eq 'Lock' }
              @{ api_backends() };
# the kernel picks the workers; one of the two gets at least three of the
# six requests: its whole pool is stuck and the others wait in its queue
cmp_ok($waiting, '>=', $POOL,
       'a whole pool is busy with queries stuck on the lock');

ok(wait_until(sub { error_log_since($offset)
                    =~ /client prematurely closed connection/ }, 5, 0.1),
   'nginx saw the clients go away while their queries ran');

$locker->commit;    # the queries finish now, with nobody to answer
$locker->disconnect;

ok(wait_until(sub {
       my $b = api_backends();
       @$b == 2 * $POOL && !grep { $_->[0] ne 'idle' } @$b;
   }, 10, 0.1), 'then every pool connection is idle in the database');

my %seen;
ok(wait_until(sub {
       my $p = pool_of();
       $seen{"$p->{idle}/$p->{connected}/$p->{waiting}"} = 1;
       ($p->{idle} // -1) == $POOL && $p->{connected} == $POOL
           && $p->{waiting} == 0;
   }, 5, 0.05), 'grapevine_status: all connections idle, none waiting')
    or diag(join ' ', keys %seen);

my $t0 = time;
@codes = map { http_get('/api/games/ExVenture')->{status} } 1 .. 20;
is_deeply([grep { $_ != 200 } @codes], [], 'after: 20 requests all 200');
cmp_ok(time - $t0, '<', 5, 'after: quickly (no connection was lost)');

my @statuses = map { pool_of() } 1 .. 10;
is_deeply([grep { $_->{idle} != $POOL } @statuses], [],
          'after: both workers report every connection idle');

$watch->disconnect;

stop_nginx();
system("$root/util/pg", 'remove', $pgdir);

Grapevine::Test::cleanup();
done_testing();
