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
              . 'location = /_status { grapevine_status; }');

sub pool_of {
    my $res = http_get('/_status');
    my $j = eval { json_decode($res->{body}) } // {};
    return $j->{database}{pool} // {};
}

my $res = http_get('/api/games/ExVenture');
is($res->{status}, 200, 'up: 200');

# ------------------------------------------------------ database away

system("$root/util/pg", 'stop', $pgdir);

for my $path ('/api/games', '/api/games/ExVenture', '/api/channels') {
    $res = http_get($path);
    is($res->{status}, 503, "down: $path 503");
    cmp_ok($res->{time}, '<', 2, "down: $path answered at once");
    is($res->{headers}{'retry-after'}, '5', "down: $path Retry-After");
    is($res->{headers}{'cache-control'}, 'no-store', "down: $path not cached");
    is($res->{headers}{'access-control-allow-origin'}, '*',
       "down: $path CORS");
    my $j = eval { json_decode($res->{body}) } // {};
    is($j->{error}{code}, 'database_unavailable',
       "down: $path says database_unavailable");
}

$res = http_get('/api/openapi.json');
is($res->{status}, 200, 'down: openapi.json needs no database');

system("$root/util/pg", 'start', $pgdir) == 0 or die "cannot restart";

ok(wait_until(sub { http_get('/api/games/ExVenture')->{status} == 200 },
              10, 0.2), 'back: 200 again without restarting nginx');

my @codes = map { http_get('/api/games?page=2')->{status} } 1 .. 30;
is_deeply([grep { $_ != 200 } @codes], [], 'back: 30 requests all 200');

# the API's 8 statements, prepared again on every new connection
ok(wait_until(sub {
    my $p = pool_of();
    return ($p->{connected} // 0) == $POOL
           && ($p->{prepared} // 0) == $POOL * 8
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
