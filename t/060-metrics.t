# The instance's metrics (grapevine_metrics, issue 16): Prometheus's text
# format as promtool reads it; a private Prometheus (Debian's package, its
# own configuration and data under the test's servroot, a free port)
# scrapes the test nginx, and its HTTP API shows the counters moving as
# requests come, the database stops and the hub drops the link; a reload
# and a worker killed with -9 keep them; /_status shows them too; the
# shipped alert rules pass promtool's checks and tests.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use HTTP::Tiny;
use File::Path qw(make_path remove_tree);
use Test::TCP qw(empty_port);
use Time::HiRes qw(sleep);
use POSIX qw(WNOHANG);

my $root = root();
my $sr = servroot();
my $pgdir = "$sr-pg";

# ------------------------------------------------------ the alert rules

my $out = `promtool check rules $root/conf/grapevine-alerts.yml 2>&1`;
is($?, 0, 'promtool check rules accepts conf/grapevine-alerts.yml')
    or diag($out);
like($out, qr/SUCCESS: 4 rules found/, 'the four alerts are there');

$out = `promtool test rules $root/t/prometheus/grapevine-alerts.test.yml 2>&1`;
is($?, 0, 'promtool test rules: each alert fires when it should')
    or diag($out);

# ------------------------------------ a database of its own, to stop it

system("$root/util/pg", 'start', $pgdir) == 0 or die "cannot start a cluster";
my %env = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } `$root/util/pg env $pgdir`;

{
    local $ENV{PGHOST} = $env{PGHOST};
    local $ENV{PGPORT} = $env{PGPORT};
    local $ENV{PGDATABASE} = 'gvm';
    system("dropdb --if-exists gvm 2>/dev/null && createdb gvm "
           . "&& $root/util/migrate > /dev/null") == 0 or die "createdb";
}

sub pg { system("$root/util/pg", $_[0], $pgdir) == 0 or die "pg $_[0]" }

start_hub(seed => { games => [map { { game => "G$_",
                                      display_name => "Game $_" } } 1 .. 5] },
          heartbeat => 1, sync => 'push');

my $conn = "host=127.0.0.1 port=$env{PGPORT} dbname=gvm user=grapevine "
           . "sslmode=disable";
my $http = hub_http_config();
$http =~ s/grapevine_database "[^"]*";/grapevine_database "$conn" pool=2;/;

my $locations = <<'CONF';
location = /_status { grapevine_status; }
location = /metrics {
    allow 127.0.0.1;
    deny all;
    grapevine_metrics;
}
location /api/ { grapevine_api; }
location / { grapevine_site; }
CONF

start_nginx(http_config => $http, config => $locations);

# ---------------------------------------------------- the text format

sub scrape {
    my $res = http_get('/metrics');
    return $res;
}

# the value of one series, read from the text: name{labels} value
sub value_of {
    my ($text, $series) = @_;
    for (split /\n/, $text) {
        next if /^#/;
        my ($s, $v) = /^(\S+) (\S+)$/ or next;
        return $v if $s eq $series;
    }
    return undef;
}

ok(wait_until(sub {
    value_of(scrape()->{body}, 'grapevine_hub_link_up') // 0
}, 20, 0.2), 'the hub link is live (grapevine_hub_link_up 1)');

for (1 .. 5) { http_get('/api/games') }
http_get('/api/no-such-route');

my $res = scrape();
is($res->{status}, 200, 'grapevine_metrics answers 200');
like($res->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     "Prometheus's text format, version 0.0.4");
is($res->{headers}{'cache-control'}, 'no-store', 'not cached');

my $text = $res->{body};

open my $fh, '|-', "promtool check metrics > $sr/promtool.out 2>&1"
    or die "promtool: $!";
print $fh $text;
close $fh;
is($?, 0, 'promtool check metrics accepts the answer')
    or diag(`cat $sr/promtool.out`);

# HELP and TYPE once a family, before its series, which follow at once
my (%typed, @order, $bad);
for (split /\n/, $text) {
    if (/^# TYPE (\S+) (\S+)$/) {
        $bad .= "twice: $1\n" if $typed{$1}++;
        push @order, $1;
        next;
    }
    next if /^#/;
    my ($name) = /^([a-z_0-9]+)/;
    my $family = $name;
    $family =~ s/_(?:bucket|sum|count)$// unless $typed{$name};
    $bad .= "not under its TYPE: $name\n" if $order[-1] ne $family;
}
ok(!$bad, 'every family is typed once, its series together') or diag($bad);

for my $name (qw(grapevine_http_requests_total
                 grapevine_database_wait_seconds
                 grapevine_database_query_duration_seconds
                 grapevine_database_connections
                 grapevine_database_queue_rejections_total
                 grapevine_database_unavailable_total
                 grapevine_database_statements_prepared_total
                 grapevine_database_statements_failed_total
                 grapevine_database_statements_unprepared_total
                 grapevine_cache_hits_total grapevine_cache_misses_total
                 grapevine_cache_evictions_total grapevine_cache_bytes
                 grapevine_hub_link_up grapevine_hub_link_state
                 grapevine_hub_reconnects_total
                 grapevine_hub_frames_received_total
                 grapevine_hub_frames_sent_total
                 grapevine_hub_records_ingested_total
                 grapevine_hub_records_skipped_total
                 grapevine_hub_ingest_duration_seconds
                 grapevine_hub_outbox_backlog_frames
                 grapevine_hub_outbox_oldest_age_seconds
                 grapevine_password_hashes))
{
    ok($typed{$name}, "$name is there");
}

cmp_ok(value_of($text, 'grapevine_http_requests_total{part="api",status="2xx"}'),
       '>=', 5, 'the API\'s 200s are counted');
cmp_ok(value_of($text, 'grapevine_http_requests_total{part="api",status="4xx"}'),
       '>=', 1, 'its 404 too');
is(value_of($text, 'grapevine_database_connections{state="idle"}')
   + value_of($text, 'grapevine_database_connections{state="busy"}'),
   4, 'both workers\' pools are counted (2 x pool=2 connections up)');
cmp_ok(value_of($text, 'grapevine_database_statements_prepared_total'), '>=',
       4, 'statements prepared are counted');
cmp_ok(value_of($text, 'grapevine_hub_frames_received_total{event="heartbeat"}'),
       '>=', 1, 'heartbeats from the hub are counted');
cmp_ok(value_of($text, 'grapevine_hub_frames_sent_total{event="authenticate"}'),
       '>=', 1, 'the link\'s authenticate frame is counted');
cmp_ok(value_of($text, 'grapevine_hub_records_ingested_total'), '>=', 5,
       'the five games synced are counted');
is(value_of($text, 'grapevine_hub_link_state{state="live"}'), 1,
   'the link\'s state is live');
cmp_ok(value_of($text, 'grapevine_database_query_duration_seconds_count'),
       '>=', 1, 'the queries\' durations are observed');
is(value_of($text, 'grapevine_database_query_duration_seconds_bucket{le="+Inf"}'),
   value_of($text, 'grapevine_database_query_duration_seconds_count'),
   'the +Inf bucket holds every query');

# the cache: the same answer twice, a hit
http_get('/api/channels') for 1 .. 3;
cmp_ok(value_of(scrape()->{body}, 'grapevine_cache_hits_total'), '>=', 1,
       'a cache hit is counted');

# a method other than GET or HEAD
is(http_request(method => 'POST', path => '/metrics')->{status}, 405,
   'POST /metrics is 405');

# /_status shows the same instance-wide figures
my $status = json_decode(http_get('/_status')->{body});
my ($api2xx) = grep { $_->{part} eq 'api' && $_->{status} eq '2xx' }
               @{ $status->{instance}{grapevine_http_requests_total} // [] };
cmp_ok($api2xx->{value} // 0, '>=', 5,
       '/_status has "instance" with the requests of all workers');
ok(exists $status->{instance}{grapevine_database_wait_seconds}[0]{count},
   "a histogram's count in /_status");

# --------------------------------------------------- a private Prometheus

my $prom_port = empty_port();
my $port = server_port();
remove_tree("$sr/prometheus");
make_path("$sr/prometheus/data");
open my $pc, '>', "$sr/prometheus/prometheus.yml" or die $!;
print $pc <<"YML";
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $root/conf/grapevine-alerts.yml
scrape_configs:
  - job_name: grapevine
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$port']
YML
close $pc;

my $prom = fork // die "fork: $!";
if ($prom == 0) {
    open STDOUT, '>', "$sr/prometheus/prometheus.log";
    open STDERR, '>&', \*STDOUT;
    exec 'prometheus', "--config.file=$sr/prometheus/prometheus.yml",
         "--storage.tsdb.path=$sr/prometheus/data",
         "--web.listen-address=127.0.0.1:$prom_port",
         '--storage.tsdb.retention.time=1h';
    exit 127;
}

END { if ($prom) { kill 'TERM', $prom; waitpid($prom, 0) } }

my $ua = HTTP::Tiny->new(timeout => 10);

# one number from an instant query, or undef
sub promql {
    my ($q) = @_;
    my $r = $ua->get("http://127.0.0.1:$prom_port/api/v1/query?query="
                     . $ua->www_form_urlencode({ x => $q }) =~ s/^x=//r);
    return undef unless $r->{success};
    my $d = eval { json_decode($r->{content}) } or return undef;
    my $v = $d->{data}{result}[0]{value}[1];
    return $v;
}

ok(wait_until(sub { (promql('up{job="grapevine"}') // 0) == 1 }, 60, 0.5),
   'Prometheus scrapes the test nginx')
    or diag(`tail -20 $sr/prometheus/prometheus.log`,
            explain($ua->get("http://127.0.0.1:$prom_port/api/v1/query?"
                             . "query=up")));

my $q_api = 'sum(grapevine_http_requests_total{part="api",status="2xx"})';
my $before = promql($q_api) // 0;
http_get('/api/games') for 1 .. 20;
ok(wait_until(sub { (promql($q_api) // 0) >= $before + 20 }, 20, 0.5),
   'Prometheus sees the 20 requests sent');

is(promql('grapevine_hub_link_up'), 1, 'Prometheus sees the link up');

# the hub drops the link: a reconnect, and the link up again
my $q_rec = 'grapevine_hub_reconnects_total';
my $rec = promql($q_rec) // 0;
hub_api(POST => '/drop', {});
ok(wait_until(sub { (promql($q_rec) // 0) > $rec }, 30, 0.5),
   'the link the hub dropped is counted as a reconnect');
ok(wait_until(sub { (promql('grapevine_hub_link_up') // 0) == 1 }, 30, 0.5),
   'and the link is live again');

# the database stops: connections down, requests answered 503
my $q_503 = 'grapevine_database_unavailable_total';
my $n503 = promql($q_503) // 0;
pg('stop');
ok(wait_until(sub {
    http_get('/api/games?page=7');
    (promql('sum(grapevine_database_connections{state="down"})') // 0) == 4
}, 30, 0.5), 'with the database stopped, every connection is down');
http_get('/api/games?page=8') for 1 .. 5;
ok(wait_until(sub { (promql($q_503) // 0) >= $n503 + 5 }, 20, 0.5),
   'the 503 answers are counted');
ok(wait_until(sub { (promql('grapevine_hub_link_up') // 1) == 0 }, 30, 0.5),
   'the hub link goes down with the database');
pg('start');
ok(wait_until(sub {
    http_get('/api/games?page=9');
    (promql('sum(grapevine_database_connections{state=~"idle|busy"})') // 0)
        == 4
}, 60, 0.5), 'the pools are back with the database');
ok(wait_until(sub { (promql('grapevine_hub_link_up') // 0) == 1 }, 60, 0.5),
   'and so is the hub link');

# ------------------------------------------- reloads and kill -9 keep them

sub counter {
    return value_of(scrape()->{body},
                    'grapevine_http_requests_total{part="api",status="2xx"}')
           // 0;
}

sub workers {
    my $master = nginx_pid();
    my @w = grep { kill(0, $_) && `cat /proc/$_/cmdline 2>/dev/null`
                                =~ /worker process/ }
            map { /(\d+)/ ? $1 : () } `ps -o pid= --ppid $master`;
    return @w;
}

my $c0 = counter();
my @old = workers();
reload_nginx();
ok(wait_until(sub {
    my %o = map { $_ => 1 } @old;
    my @w = workers();
    @w == 2 && !grep { $o{$_} } @w
}, 20, 0.2), 'a reload: two new workers');
my $c1 = counter();
cmp_ok($c1, '>=', $c0, "the counter goes on across the reload ($c0, $c1)");
cmp_ok($c1, '>', 0, 'and is not zero');

allow_alert(qr/exited on signal 9/);
my @w = workers();
kill 'KILL', $w[0];
ok(wait_until(sub { my @n = workers(); @n == 2 && !grep { $_ == $w[0] } @n },
              20, 0.2), 'a worker killed with -9 is replaced');
http_get('/api/games');
my $c2 = counter();
cmp_ok($c2, '>', $c1, "the counter goes on after the kill ($c1, $c2)");

ok(wait_until(sub {
    (promql('resets(grapevine_http_requests_total{part="api",status="2xx"}[10m])')
     // 1) == 0
}, 10, 0.5), 'Prometheus saw no counter reset');

# ------------------------------------------------- the zone turned off

my $conf = Grapevine::Test::nginx_conf(http_config => "$http\ngrapevine_metrics_zone off;",
                      config => $locations);
my ($rc, $msg) = Grapevine::Test::nginx_test_conf($conf);
is($rc, 0, 'grapevine_metrics_zone off is accepted') or diag($msg);
start_nginx(conf_text => $conf);
is(http_get('/metrics')->{status}, 404,
   'with the zone off, grapevine_metrics answers 404');
is(http_get('/api/games')->{status}, 200, 'and the API works as before');

stop_nginx();
kill 'TERM', $prom;
waitpid($prom, 0);
$prom = 0;

system("$root/util/pg", 'remove', $pgdir);

Grapevine::Test::cleanup();
done_testing();
