# The pool and a database that goes away and comes back: fast 503s while it
# is down, 200 again once it is back, without restarting nginx.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;

my $root = root();
my $pgdir = servroot() . '-pg';

system("$root/util/pg", 'start', $pgdir) == 0 or die "cannot start a cluster";
my %env = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } `$root/util/pg env $pgdir`;

{
    local $ENV{PGHOST} = $env{PGHOST};
    local $ENV{PGPORT} = $env{PGPORT};
    local $ENV{PGDATABASE} = 'gv';
    system("createdb gv && $root/util/migrate") == 0 or die "createdb";
}

start_nginx(
    http_config => "grapevine_database \"host=127.0.0.1 port=$env{PGPORT} "
                   . "dbname=gv user=grapevine sslmode=disable\" pool=2;",
    config => 'location = /_status { grapevine_status; }');

my $res = http_get('/_status');
is($res->{status}, 200, 'up: 200');

system("$root/util/pg", 'stop', $pgdir);

for my $i (1 .. 3) {
    $res = http_get('/_status');
    is($res->{status}, 503, "down: 503 ($i)");
    cmp_ok($res->{time}, '<', 2, "down: answered at once ($i)");
    like($res->{body}, qr/"reachable":false/, "down: says so ($i)");
    is($res->{headers}{'retry-after'}, '5', "down: Retry-After ($i)");
}

system("$root/util/pg", 'start', $pgdir) == 0 or die "cannot restart";

my $ok = wait_until(sub { http_get('/_status')->{status} == 200 }, 10, 0.2);
ok($ok, 'back: 200 again without restarting nginx');

# every worker recovers, and stays up under a burst of requests
my @codes = map { http_get('/_status')->{status} } 1 .. 40;
is_deeply([grep { $_ != 200 } @codes], [], 'back: 40 requests all 200');

like(error_log_since(0), qr/database connection lost|could not connect/,
     'the outage is in the error log');

stop_nginx();
system("$root/util/pg", 'remove', $pgdir);

Grapevine::Test::cleanup();
done_testing();
