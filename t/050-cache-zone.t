# The answer cache as one zone of shared memory for the instance (two
# workers here): an answer is made once for the instance and served by
# both workers; a change committed before a request is seen by it whichever
# worker filled the answer and whichever answers; concurrent misses on both
# workers run one query; a worker killed with -9 while its query is under
# way leaves the zone usable and the others take the query over; a full
# zone evicts the least recently used answers and keeps answering; an
# answer over max_entry is served but not kept; the zone and its figures
# survive a reload.
#
# Every request here is a connection of its own, so the kernel spreads
# them over both workers; each answer names its worker ($pid).
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

allow_alert(qr/worker process \d+ exited on signal 9/);

api_fixture(\&sql);

my $locations = "location /api/ { grapevine_api; "
                . "add_header X-Worker \$pid always; }\n"
                . "location = /_status { grapevine_status; }";

start_nginx(config => $locations);

sub listeners {
    sql_rows("SELECT count(*) FROM pg_stat_activity "
             . "WHERE application_name = 'ngx_grapevine listen' "
             . "AND datname = current_database()")->[0][0];
}

# (cache header or 'none', worker pid, decoded body, response)
sub get {
    my ($path) = @_;
    my $res = http_get($path);
    return ($res->{headers}{'x-grapevine-cache'} // 'none',
            $res->{headers}{'x-worker'} // 0,
            eval { json_decode($res->{body}) } // {}, $res);
}

sub status {
    my $res = http_get('/_status');
    return (eval { json_decode($res->{body}) } // {})->{api_cache} // {};
}

ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'each worker has its listening connection');

# ------------------------------------------- one fill for the instance

# within an answer's second, requests over both workers: one miss
my ($misses, %pids, @seen);
for my $try (1 .. 10) {
    my $path = "/api/games/ExVenture?once=$try";
    ($misses, %pids, @seen) = (0);
    my $t0 = time;
    for (1 .. 16) {
        my ($cache, $pid) = get($path);
        $misses++ if $cache eq 'MISS';
        $pids{$pid}++;
        push @seen, "$pid:$cache";
    }
    last if time - $t0 < 0.8 && keys %pids == 2;
}
is(scalar keys %pids, 2, 'the requests landed on both workers')
    or diag("@seen");
is($misses, 1, 'one miss for the instance; both workers answer from it')
    or diag("@seen");

my $st = status();
cmp_ok($st->{fills} // 0, '>', 0, '/_status: fills');
cmp_ok($st->{hits} // 0, '>=', 15, '/_status: hits of the instance');
cmp_ok($st->{entries} // 0, '>', 0, '/_status: entries');
cmp_ok($st->{bytes} // 0, '>', 0, '/_status: bytes');
is($st->{size}, 32 * 1024 * 1024, '/_status: the zone\'s size, 32m');
ok(defined $st->{$_}, "/_status: $_")
    for qw(misses waits shared evictions refused lock_timeouts);

# ----------------- a committed change is seen on both workers, at once

my (@stale, %by);
for my $i (1 .. 60) {
    sql("UPDATE games SET description = 'z$i' "
        . "WHERE short_name = 'ExVenture'");
    for my $k (1 .. 4) {
        my ($cache, $pid, $g) = get('/api/games/ExVenture');
        $by{$pid}{$cache}++;
        push @stale, "$i.$k on $pid ($cache): " . ($g->{description} // '')
            unless ($g->{description} // '') eq "z$i";
    }
}
is_deeply(\@stale, [], '60 updates, each seen by the next four requests')
    or diag(join "\n", @stale[0 .. ($#stale < 9 ? $#stale : 9)]);
is(scalar keys %by, 2, '... answered by both workers');
ok((grep { ($_->{HIT} // 0) > 0 } values %by) == 2,
   '... each answering from the zone too')
    or diag(json_encode(\%by));

# chat: a message inserted, the channel's page read on both workers
@stale = ();
for my $i (1 .. 20) {
    sql("INSERT INTO channel_messages (id, channel_id, channel_name, "
        . "game_name, player_name, message) SELECT 5000 + $i, id, name, "
        . "'ExVenture', 'Alice', 'zone $i' FROM channels "
        . "WHERE name = 'gossip'");
    for my $k (1 .. 3) {
        my (undef, $pid, $m) = get('/api/channels/gossip/messages');
        my $text = $m->{items}[0]{text} // '';
        push @stale, "$i.$k on $pid: $text" unless $text eq "zone $i";
    }
}
is_deeply(\@stale, [], '20 messages, each seen at once by either worker');

# --------------------- a stampede over both workers: one query in all

sub lock_waiters {
    sql_rows("SELECT count(*) FROM pg_stat_activity "
             . "WHERE application_name = 'ngx_grapevine' "
             . "AND datname = current_database() "
             . "AND wait_event_type = 'Lock'")->[0][0];
}

# keep-alive connections, $n on each worker: { pid => [sockets] }
sub conns_on_both {
    my ($n) = @_;
    my %on;
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => server_port(),
                                      Proto => 'tcp') or die "connect: $!";
        print $s "GET /api/channels HTTP/1.1\r\nHost: localhost\r\n\r\n";
        my ($head, $line) = ('', '');
        while (defined($line = <$s>)) {
            $head .= $line;
            last if $line eq "\r\n";
        }
        my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
        my ($pid) = $head =~ /^X-Worker:\s*(\d+)/mi;
        my $body;
        read($s, $body, $len // 0);
        push @{ $on{$pid // 0} }, $s if @{ $on{$pid // 0} // [] } < $n;
        last if keys %on == 2 && !grep { @$_ < $n } values %on;
    }
    return %on;
}

sub send_get {
    my ($path, $s) = @_;
    $s //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => server_port(), Proto => 'tcp')
        or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\n\r\n";
    return $s;
}

sub read_answer {
    my ($s) = @_;
    local $/;
    my $raw = <$s> // '';
    close $s;
    return Grapevine::Test::parse_response($raw, 'GET');
}

my $locker = dbh()->clone({ AutoCommit => 0 });
$locker->do('LOCK TABLE games IN ACCESS EXCLUSIVE MODE');
my %on = conns_on_both(8);
my @socks = map { send_get('/api/games/ExVenture?stampede=1', $_) }
            map { @$_ } values %on;
sleep 1;
my $queries = lock_waiters();
$locker->commit;
my @answers = map { read_answer($_) } @socks;
is($queries, 1, '16 concurrent misses over both workers: one query');
is_deeply([map { $_->{status} } grep { $_->{status} != 200 } @answers], [],
          '... 16 answers 200');
is(scalar(keys %{{ map { $_->{body} => 1 } @answers }}), 1,
   '... all the same');
is(scalar(keys %{{ map { ($_->{headers}{'x-worker'} // 0) => 1 }
                   @answers }}), 2, '... from both workers');
my %how;
$how{ $_->{headers}{'x-grapevine-cache'} // 'none' }++ for @answers;
is($how{MISS} // 0, 1, '... made once (MISS), the others shared (HIT)')
    or diag(json_encode(\%how));
cmp_ok(status()->{waits} // 0, '>', 0, '/_status: waits');

# ---------------------- kill -9 of the worker whose query is under way

# the worker that holds a client's connection: the socket whose peer is
# the client's port, among the workers' descriptors
sub worker_of {
    my ($sock) = @_;
    my $port = $sock->sockport;
    my $inode;
    open my $fh, '<', '/proc/net/tcp' or die $!;
    while (<$fh>) {
        my @f = split ' ';
        next unless ($f[1] // '') =~ /:([0-9A-F]{4})$/;
        next unless hex($1) == server_port();
        next unless ($f[2] // '') =~ /:([0-9A-F]{4})$/ && hex($1) == $port;
        $inode = $f[9];
    }
    return unless $inode;
    my $master = nginx_pid();
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $s, '<', $stat or next;
        my ($pid, $ppid) = (<$s> // '') =~ /^(\d+) \(.*?\) \S (\d+)/;
        next unless $ppid && $ppid == $master;
        for my $fd (glob "/proc/$pid/fd/*") {
            my $l = readlink($fd) // '';
            return $pid if $l eq "socket:[$inode]";
        }
    }
    return;
}

my ($victim, @others, $first);
for my $try (1 .. 5) {
    $locker = dbh()->clone({ AutoCommit => 0 });
    $locker->do('LOCK TABLE games IN ACCESS EXCLUSIVE MODE');
    my $path = "/api/games/ExVenture?killed=$try";
    $first = send_get($path);
    wait_until(sub { lock_waiters() == 1 }, 3, 0.02);
    $victim = worker_of($first);
    my %on = conns_on_both(4);
    @others = map { send_get($path, $_) } map { @$_ } values %on;
    sleep 0.5;
    last if $victim;
    $locker->rollback;
    read_answer($_) for $first, @others;
}
ok($victim, 'the worker running the query is found');
my $others_waiting = lock_waiters();
kill 'KILL', $victim if $victim;
ok(wait_until(sub { !Grapevine::Test::alive($victim) }, 5, 0.02),
   'the worker is killed with -9 during its query');
sleep 0.5;
$locker->commit;
$locker->disconnect;
close $first;
my @after = map { read_answer($_) } @others;
my @ok = grep { $_->{status} == 200 } @after;
my @alive = grep { ($_->{headers}{'x-worker'} // 0) != $victim } @ok;
is($others_waiting, 1, 'while the query ran, the other requests waited');
cmp_ok(scalar @alive, '>', 0,
       'requests on the surviving worker were answered 200 after the kill')
    or diag(json_encode([map { $_->{status} } @after]));
is(scalar(grep { (json_decode($_->{body})->{short_name} // '')
                 ne 'ExVenture' } @ok), 0, '... with the game');
ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'the new worker listens');
sql("UPDATE games SET description = 'after the kill' "
    . "WHERE short_name = 'ExVenture'");
my @desc = map { (get('/api/games/ExVenture'))[2]{description} // '' } 1 .. 6;
is_deeply(\@desc, [('after the kill') x 6],
          'after the kill, the zone answers what the database holds');
ok(wait_until(sub { (get('/api/games/ExVenture'))[0] eq 'HIT' }, 5, 0.05),
   '... and from the zone again');

# ----------------------------------------------- the zone survives a reload

my $before = status();
my $pid = nginx_pid();
my @old = grep { $_ != $pid } map { /(\d+)/ ? $1 : () }
          `pgrep -P $pid`;
reload_nginx();
ok(wait_until(sub { !grep { Grapevine::Test::alive($_) } @old }, 15, 0.1),
   'reload: the old workers are gone');
ok(wait_until(sub { listeners() == 2 }, 10, 0.1), 'reload: new workers listen');
my $after = status();
cmp_ok($after->{fills} // 0, '>=', $before->{fills} // 1,
       'reload: the zone\'s figures go on (fills)');
cmp_ok($after->{hits} // 0, '>=', $before->{hits} // 1,
       'reload: ... (hits)');
sql("UPDATE games SET description = 'after the reload' "
    . "WHERE short_name = 'ExVenture'");
@desc = map { (get('/api/games/ExVenture'))[2]{description} // '' } 1 .. 6;
is_deeply(\@desc, [('after the reload') x 6],
          'reload: what the database holds');
ok(wait_until(sub { (get('/api/games/ExVenture'))[0] eq 'HIT' }, 5, 0.05),
   'reload: answers from the zone again');

# ---------------------------------- a full zone evicts and keeps answering

start_nginx(http_config => 'grapevine_database "' . conninfo() . '";'
                           . "\ngrapevine_cache_zone 128k max_entry=4k;",
            config => $locations);
ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'a small zone: the listening connections are there');

my (@bad, $big);
for my $i (1 .. 300) {
    my ($cache, undef, $g, $res) = get("/api/games/ExVenture?n=$i");
    push @bad, "$i: $res->{status}" unless $res->{status} == 200
                                         && $g->{short_name} eq 'ExVenture';
}
is_deeply(\@bad, [], '300 answers through a zone of 128k: all 200');
$st = status();
cmp_ok($st->{evictions} // 0, '>', 0, "the zone evicted ($st->{evictions})");
cmp_ok($st->{bytes} // 0, '<', 128 * 1024, '... and holds less than its size');
ok(wait_until(sub { (get('/api/games/ExVenture?n=300'))[0] eq 'HIT' },
              5, 0.05), 'the newest answer is still there');

my ($c1, undef, $games, $res) = get('/api/games?limit=100');
cmp_ok(length $res->{body}, '>', 4096, 'an answer over max_entry');
is($res->{status}, 200, '... is answered 200');
my @hows = map { (get('/api/games?limit=100'))[0] } 1 .. 4;
is_deeply(\@hows, [('MISS') x 4], '... and never kept');
cmp_ok(status()->{refused} // 0, '>', 0, '/_status: refused');

stop_nginx();
Grapevine::Test::cleanup();
done_testing();
