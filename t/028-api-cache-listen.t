# Core's listening connection and answer cache, as the API uses them: one
# listening connection a worker however many locations use the API; a
# notification on the API's channel moves only the table it names, and
# one naming no table the cache knows drops every answer; the loss of the
# listening connection drops every answer, even one that a write without
# a notification made stale; and such a write shows once the answers
# held have aged out (one second).
#
# Every request of a check goes through one keep-alive connection, so
# that one worker answers them all, /_status included.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

api_fixture(\&sql);

start_nginx(config => "location /api/ { grapevine_api; }\n"
                      . "location /v2/ { grapevine_api; }\n"
                      . "location = /_status { grapevine_status; }");

sub listeners {
    sql_rows("SELECT count(*) FROM pg_stat_activity "
             . "WHERE application_name = 'ngx_grapevine listen' "
             . "AND datname = current_database()")->[0][0];
}

sub connect_ka {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => server_port(),
                                     Proto => 'tcp');
    return $sock || die "connect: $!";
}

# GET on a keep-alive connection: (X-Grapevine-Cache or 'none', the JSON)
sub ka_get {
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
    return ($cache // 'none', eval { json_decode($body) } // {});
}

sub generation {
    my ($sock) = @_;
    my (undef, $st) = ka_get($sock, '/_status');
    return $st->{api_cache}{generation};
}

my $games = '/api/games/ExVenture';
my $chat = '/api/channels/gossip/messages';

ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'each worker has its listening connection');
sleep 0.5;
is(listeners(), 2, 'two API locations: still one a worker');

# ----------------------------------- a notification moves only its table

# warm the chat, then the game; after the NOTIFY ask for the game, then
# the chat: the chat still a hit shows the game was asked for within its
# age limit too
my @seen;
for my $try (1 .. 5) {
    my $sock = connect_ka();
    ka_get($sock, $chat) for 1 .. 2;
    ka_get($sock, $games) for 1 .. 2;
    my ($warm) = ka_get($sock, $games);
    my $before = generation($sock);
    sql("NOTIFY grapevine_api, 'games'");
    my ($game) = ka_get($sock, $games);
    my ($other) = ka_get($sock, $chat);
    my $after = generation($sock);
    close $sock;
    push @seen, "$warm>$game/$other gen $before>$after";
    last if $warm eq 'HIT' && $other eq 'HIT';
}
like($seen[-1], qr{^HIT>MISS/HIT gen (\d+)>\1$},
     'NOTIFY grapevine_api \'games\': the game is read again, the chat '
     . 'is not, the worker\'s generation stays') or diag("@seen");

@seen = ();
for my $try (1 .. 5) {
    my $sock = connect_ka();
    ka_get($sock, $chat) for 1 .. 2;
    ka_get($sock, $games) for 1 .. 2;
    my ($warm) = ka_get($sock, $chat);
    my $before = generation($sock);
    sql("NOTIFY grapevine_api, 'no_such_table'");
    my ($game) = ka_get($sock, $games);
    my ($other) = ka_get($sock, $chat);
    my $after = generation($sock);
    close $sock;
    push @seen, "$warm>$game/$other gen " . ($after - $before);
    last if $warm eq 'HIT';
}
is($seen[-1], 'HIT>MISS/MISS gen 1',
   'a notification of a table the cache does not know drops every answer')
    or diag("@seen");

# ------------ a write without a notification: seen within the age limit

my $sock = connect_ka();
ok(wait_until(sub { (ka_get($sock, $games))[0] eq 'HIT' }, 10, 0.05),
   'the game is cached');
my $t0 = time;
sql("BEGIN; SET LOCAL session_replication_role = replica; "
    . "UPDATE games SET description = 'silent' "
    . "WHERE short_name = 'ExVenture'; COMMIT");
ok(wait_until(sub { ((ka_get($sock, $games))[1]{description} // '')
                    eq 'silent' }, 3, 0.05),
   'a write that notifies nobody shows once the answer has aged out');
cmp_ok(time - $t0, '<', 2, '... within the age limit of a second');
close $sock;

# --------------- the loss of the listening connection drops every answer

# The silent write makes the cached game stale, and the cache cannot know
# it; the listening connection is then killed.  It comes back within a
# tenth of a second or so: until an answer's second is up, only the loss
# can tell the worker that its answers may be stale.
my (@stale, $back);
for my $try (1 .. 10) {
    my $word = "lost$try";
    $sock = connect_ka();
    my $warm;
    wait_until(sub { ($warm) = ka_get($sock, $games); $warm eq 'HIT' },
               3, 0.02);
    my $stored = time;
    sql("BEGIN; SET LOCAL session_replication_role = replica; "
        . "UPDATE games SET description = '$word' "
        . "WHERE short_name = 'ExVenture'; COMMIT");
    sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        . "WHERE application_name = 'ngx_grapevine listen' "
        . "AND datname = current_database()");
    while (time - $stored < 0.9) {
        my ($cache, $g) = ka_get($sock, $games);
        my $d = $g->{description} // 'none';
        push @stale, "$try: $cache $d" if $d ne $word;
        $back = $try if $cache ne 'none';
        sleep 0.02;
    }
    close $sock;
    ok(wait_until(sub { listeners() == 2 }, 15, 0.1),
       "try $try: the listening connections come back");
    last if $back;
}
is_deeply(\@stale, [],
          'no answer from before the loss of the listening connection');
ok($back, 'the cache came back within an answer\'s second, so that the '
          . 'check above could fail') or diag('too slow here');

stop_nginx();
Grapevine::Test::cleanup();
done_testing();
