# The API's per-worker cache: answers are reused, and a change committed
# before a request is always seen by it (every table the API reads
# notifies the workers, and a request waits for a round trip on the
# listening connection before it may be answered from the cache); without
# the listening connection there is no cache.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

api_fixture(\&sql);

start_nginx(config => "location /api/ { grapevine_api; }\n"
                      . "location = /_status { grapevine_status; }");

sub get_json {
    my ($path) = @_;
    my $res = http_get($path);
    return ($res, eval { json_decode($res->{body}) } // {});
}

sub listeners {
    sql_rows("SELECT count(*) FROM pg_stat_activity "
             . "WHERE application_name = 'ngx_grapevine listen' "
             . "AND datname = current_database()")->[0][0];
}

ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'each worker has its listening connection');

# ------------------------------------------------------------ reuse

my ($res, $j);
my %cache;
ok(wait_until(sub {
       ($res) = get_json('/api/games/ExVenture');
       $cache{ $res->{headers}{'x-grapevine-cache'} // 'none' }++;
       ($res->{headers}{'x-grapevine-cache'} // '') eq 'HIT';
   }, 10, 0.05), 'a repeated request is answered from the cache')
    or diag(join ' ', %cache);

my ($miss) = get_json('/api/games/ExVenture?x=1');
is($miss->{headers}{'x-grapevine-cache'} // $miss->{status}, 'MISS',
   'another URL is another answer: a miss');
my ($again) = get_json('/api/games/ExVenture');
is($again->{body}, $res->{body}, 'a hit is the same body');
is($again->{headers}{etag}, $res->{headers}{etag}, 'with the same ETag');

$res = http_get('/api/games/ExVenture',
                headers => "If-None-Match: $again->{headers}{etag}");
is($res->{status}, 304, 'If-None-Match still gets 304');

$res = http_request(method => 'HEAD', path => '/api/games/ExVenture');
is($res->{status}, 200, 'HEAD');
is($res->{body}, '', 'HEAD has no body');
is($res->{headers}{'content-length'}, length $again->{body},
   'HEAD has the length of the body');

my (undef, $p1) = get_json('/api/games?page=1');
my (undef, $p2) = get_json('/api/games?page=2');
isnt(json_encode($p1->{items}), json_encode($p2->{items}),
     'the query string is part of the key');

# each worker reports its cache in /_status (the worker answering the
# status may not be the one that answered the hit, so ask until it is)
my $st;
ok(wait_until(sub {
       get_json('/api/games/ExVenture') for 1 .. 2;
       (undef, $st) = get_json('/_status');
       ($st->{api_cache}{hits} // 0) > 0;
   }, 10, 0.05), '/_status: the worker\'s cache counts its hits')
    or diag(json_encode($st));
is(ref $st->{api_cache}, 'HASH', '/_status: api_cache');
ok($st->{api_cache}{listening}, '/_status: ... listening');
cmp_ok($st->{api_cache}{entries}, '>', 0, '/_status: ... entries');
cmp_ok($st->{api_cache}{bytes}, '>', 0, '/_status: ... bytes');
cmp_ok($st->{api_cache}{misses}, '>', 0, '/_status: ... misses');
ok(defined $st->{api_cache}{generation}, '/_status: ... its generation');

# ---------------------- a committed change is seen by the next request

my @stale;
for my $i (1 .. 100) {
    sql("UPDATE games SET description = 'v$i' WHERE short_name = 'ExVenture'");
    for my $k (1 .. 2) {
        my (undef, $g) = get_json('/api/games/ExVenture');
        push @stale, "$i.$k: " . ($g->{description} // 'none')
            unless ($g->{description} // '') eq "v$i";
    }
}
is_deeply(\@stale, [], '100 updates, each seen by the next two requests');

# every table the API reads, through the routes that read it
my @checks = (
    [ "INSERT INTO players_online (game_id, name) SELECT id, 'Newcomer' "
      . "FROM games WHERE short_name = 'ExVenture'",
      '/api/games/online',
      sub { grep { $_ eq 'Newcomer' }
            map { @{ $_->{players} } } @{ $_[0]{collection} } } ],
    [ "UPDATE game_connections SET port = 6666 WHERE type = 'telnet'",
      '/api/games/ExVenture',
      sub { grep { ($_->{port} // 0) == 6666 } @{ $_[0]{connections} } } ],
    [ "INSERT INTO events (remote_id, game_id, title, start_date) "
      . "SELECT 99, id, 'Fresh event', current_date + 1 FROM games "
      . "WHERE short_name = 'ExVenture'",
      '/api/games/ExVenture',
      sub { grep { $_->{title} eq 'Fresh event' } @{ $_[0]{events} } } ],
    [ "UPDATE achievements SET display = false",
      '/api/games/ExVenture',
      sub { $_[0]{achievements_count} == 0 } ],
    [ "UPDATE characters SET state = 'approved' WHERE name = 'Pending'",
      '/api/users/eric',
      sub { grep { $_->{name} eq 'Pending' }
            map { @{ $_->{characters} } } @{ $_[0]{games} } } ],
    [ "UPDATE channels SET description = 'Renamed chat' "
      . "WHERE name = 'gossip'",
      '/api/channels',
      sub { grep { ($_->{description} // '') eq 'Renamed chat' }
            @{ $_[0]{items} } } ],
    [ "INSERT INTO channel_messages (id, channel_id, channel_name, "
      . "game_name, player_name, message) SELECT 1000, id, name, "
      . "'ExVenture', 'Alice', 'brand new' FROM channels "
      . "WHERE name = 'gossip'",
      '/api/channels/gossip/messages',
      sub { $_[0]{items}[0]{text} eq 'brand new' } ],
);

for my $c (@checks) {
    my ($change, $path, $test) = @$c;
    get_json($path) for 1 .. 3;         # cached in both workers, likely
    sql($change);
    my (undef, $d) = get_json($path);
    ok($test->($d), "$path: sees \"$change\" at once")
        or diag(json_encode($d));
}

# an answer waits only for the tables its query reads: chat leaves the
# game list cached, presence the channel's history.  One keep-alive
# connection keeps the requests on one worker; an entry lives a second at
# most, so a slow machine may need another try.
sub keepalive_cache {
    my ($sock, $path) = @_;
    print $sock "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my ($head, $line) = ('', '');
    while (defined($line = <$sock>)) {
        $head .= $line;
        last if $line eq "\r\n";
    }
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    my $body = '';
    read($sock, $body, $len // 0);
    my ($cache) = $head =~ /^X-Grapevine-Cache:\s*(\w+)/mi;
    return $cache // 'none';
}

sub after_change {
    my ($path, $change) = @_;
    my @seen;
    for my $try (1 .. 5) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => server_port(),
                                         Proto => 'tcp')
            or die "connect: $!";
        keepalive_cache($sock, $path);
        my $warm = keepalive_cache($sock, $path);
        sql(ref $change ? $change->() : $change);
        my $after = keepalive_cache($sock, $path);
        close $sock;
        push @seen, "$warm>$after";
        return @seen if $warm eq 'HIT' && $after eq 'HIT';
    }
    return @seen;
}

my $chat = 1000;
sub chat {
    $chat++;
    return "INSERT INTO channel_messages (id, channel_id, channel_name, "
           . "game_name, player_name, message) SELECT $chat, id, name, "
           . "'ExVenture', 'Alice', 'chat $chat' FROM channels "
           . "WHERE name = 'gossip'";
}

my @seen = after_change('/api/games?page=1', \&chat);
is($seen[-1], 'HIT>HIT', 'a chat message leaves the game list cached')
    or diag("@seen");
@seen = after_change('/api/channels/gossip/messages',
                     "UPDATE players_online SET name = name");
is($seen[-1], 'HIT>HIT', 'presence leaves a channel\'s history cached')
    or diag("@seen");
(undef, $j) = get_json('/api/channels/gossip/messages');
is($j->{items}[0]{text}, "chat $chat", '... which holds the new message');
@seen = after_change('/api/games?page=1',
                     "UPDATE games SET name = name || '!' "
                     . "WHERE short_name = 'ExVenture'");
is(scalar(grep { /^HIT>HIT$/ } @seen), 0,
   'a change to games drops the game list, every time') or diag("@seen");
(undef, $j) = get_json('/api/games?page=1');
ok((grep { $_->{name} =~ /^ExVenture!+$/ } @{ $j->{items} }),
   '... which shows it at once');
@seen = after_change('/api/channels/gossip/messages', \&chat);
is(scalar(grep { /^HIT>HIT$/ } @seen), 0,
   'a chat message drops the channel\'s history, every time')
    or diag("@seen");

sql("UPDATE users SET suspended_at = now() WHERE username = 'eric'");
($res) = get_json('/api/users/eric');
is($res->{status}, 404, 'a user suspended a moment ago is gone at once');

# ----------------------------- without the listening connection, no cache

sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    . "WHERE application_name = 'ngx_grapevine listen'");
sql("UPDATE games SET description = 'after the listener' "
    . "WHERE short_name = 'ExVenture'");

my @fresh = map { (get_json('/api/games/ExVenture'))[1]{description} // '' }
            1 .. 6;
is_deeply(\@fresh, [('after the listener') x 6],
          'with the listener gone, every answer is fresh');

ok(wait_until(sub { listeners() == 2 }, 15, 0.2),
   'the listening connections come back');

ok(wait_until(sub {
       ($res) = get_json('/api/games/ExVenture');
       ($res->{headers}{'x-grapevine-cache'} // '') eq 'HIT';
   }, 10, 0.05), 'and the cache with them');
is(json_decode($res->{body})->{description}, 'after the listener',
   'with what the database holds');

# ------------------------------ a stampede: concurrent misses, one query

# Requests for one URL that miss together share one query per worker
# (grapevine_api_cache_lock).  The games table is locked, so the first
# query waits; the queries under way are the backends of the API's pools
# waiting for that lock.
sub lock_waiters {
    sql_rows("SELECT count(*) FROM pg_stat_activity "
             . "WHERE application_name = 'ngx_grapevine' "
             . "AND datname = current_database() "
             . "AND wait_event_type = 'Lock'")->[0][0];
}

sub send_get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
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

# Sends $n requests for $path while games is locked, counts the queries
# waiting at $at seconds (after $before->() when given), then unlocks and
# reads the answers.
my $stampede = 0;
sub stampede {
    my (%a) = @_;
    my $path = "/api/games/ExVenture?stampede=" . ++$stampede;

    my $locker = dbh()->clone({ AutoCommit => 0 });
    $locker->do('LOCK TABLE games IN ACCESS EXCLUSIVE MODE');

    my $first = $a{first} ? send_get($path) : undef;
    sleep 0.3 if $first;
    my @socks = map { send_get($path) } 1 .. $a{n};
    sleep($a{at} // 1);
    $a{before}->($first) if $a{before};
    my $queries = lock_waiters();
    sleep($a{hold} // 0);
    $locker->commit;
    $locker->disconnect;

    my @res = map { read_answer($_) } @socks;
    return ($queries, @res);
}

ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'stampede: the listening connections are there');

my ($queries, @answers) = stampede(n => 16);
cmp_ok($queries, '<=', 2, "16 concurrent misses for one URL: $queries "
                          . 'queries, one a worker at most');
is_deeply([grep { $_->{status} != 200 } @answers], [],
          '... and 16 answers 200');
is(scalar(keys %{{ map { $_->{body} => 1 } @answers }}), 1,
   '... all the same');
my %how;
$how{ $_->{headers}{'x-grapevine-cache'} // 'none' }++ for @answers;
cmp_ok($how{MISS} // 0, '<=', 2, '... made once a worker (MISS)')
    or diag(json_encode(\%how));
is(($how{MISS} // 0) + ($how{HIT} // 0), 16, '... the others share it (HIT)')
    or diag(json_encode(\%how));

# the first request's client goes away: another waiting one runs the query
($queries, @answers) = stampede(n => 8, first => 1, at => 0.5,
                                before => sub { close $_[0] }, hold => 0.5);
is_deeply([map { $_->{status} } grep { $_->{status} != 200 } @answers], [],
          'the first client goes away: the 8 waiting get 200');
cmp_ok(lock_waiters(), '==', 0, '... and no query is left waiting');

start_nginx(http_config => 'grapevine_database "' . conninfo() . '";'
                           . "\ngrapevine_api_cache_lock_timeout 1s;",
            config => "location /api/ { grapevine_api; }");
ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'lock timeout: the listening connections are there');

# the lock held 2.5 s: past the timeout, each waiter runs its own query
($queries, @answers) = stampede(n => 6, at => 2);
cmp_ok($queries, '>', 2, "grapevine_api_cache_lock_timeout 1s: past it, "
                         . "waiters run their own queries ($queries)");
is_deeply([grep { $_->{status} != 200 } @answers], [],
          '... and all get 200');

start_nginx(http_config => 'grapevine_database "' . conninfo() . '";'
                           . "\ngrapevine_api_cache_lock off;",
            config => "location /api/ { grapevine_api; }");
ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'lock off: the listening connections are there');
($queries, @answers) = stampede(n => 8);
cmp_ok($queries, '>', 2, "grapevine_api_cache_lock off: each miss runs its "
                         . "query ($queries)");

# ------------------------------------------- grapevine_api_cache off

start_nginx(http_config => 'grapevine_database "' . conninfo() . '";'
                           . "\ngrapevine_api_cache off;",
            config => "location /api/ { grapevine_api; }");

ok(wait_until(sub { listeners() == 0 }, 5, 0.1),
   'off: no listening connection');

my @headers = map { http_get('/api/games/ExVenture')->{headers}
                        {'x-grapevine-cache'} // 'none' } 1 .. 6;
is_deeply(\@headers, [('none') x 6], 'off: every answer is made afresh');

start_nginx(http_config => 'grapevine_database "' . conninfo() . '";'
                           . "\ngrapevine_api_cache off;",
            config => "location /api/ { grapevine_api; }\n"
                      . "location = /_status { grapevine_status; }");
(undef, $st) = get_json('/_status');
ok(!exists $st->{api_cache}, 'off: /_status has no api_cache');

stop_nginx();
Grapevine::Test::cleanup();
done_testing();
