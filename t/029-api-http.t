# The JSON API as HTTP: one URL per answer (a trailing slash is an unknown
# route), preconditions as RFC 9110 has them (If-None-Match before
# If-Modified-Since, If-Unmodified-Since ignored without Last-Modified, a
# failed If-Match a JSON 412), nosniff on every answer, only http(s) links
# from the hub, and a client that half-closes after its request
# (grapevine_api_ignore_client_abort).
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SHUT_WR);
use Time::HiRes qw(sleep time);

api_fixture(\&sql);

# a block without a config section runs in "location /api/ { grapevine_api; }"
default_api_location();

# the blocks, the checks before them and the error-log checks of the
# two nginx they start
plan tests => blocks_plan() + 12;

# ------------------------------------------------ If-None-Match wins

start_nginx(config => 'location /api/ { grapevine_api; }');

my $res = http_get('/api/games/ExVenture');
my $etag = $res->{headers}{etag} // '';

$res = http_get('/api/games/ExVenture',
                headers => "If-None-Match: $etag\n"
                           . 'If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT');
is($res->{status}, 304, 'If-None-Match that matches and If-Modified-Since: '
                        . '304 (RFC 9110 13.2.2)');
is($res->{headers}{etag}, $etag, '... with the ETag');

$res = http_get('/api/games/ExVenture',
                headers => "If-None-Match: \"0123456789abcdef\"\n"
                           . 'If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT');
is($res->{status}, 200, 'If-None-Match that does not match, '
                        . 'If-Modified-Since in the future: 200');

$res = http_get('/api/games/ExVenture', headers => "If-Match: $etag");
is($res->{status}, 200, 'If-Match with the ETag: 200');

$res = http_get('/api/games/ExVenture',
                headers => "If-Match: $etag\n"
                           . 'If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT');
is($res->{status}, 200, 'If-Match that matches wins over If-Unmodified-Since');

# --------------------------------------- a client that half-closes

# A request for a game while the games table is locked: its query waits.
# The client sends its request, shuts its side down while the query waits
# (SHUT_WR: it reads on), and the lock goes a moment later.
my $half = 0;

sub half_closed {
    my $locker = dbh()->clone({ AutoCommit => 0 });
    $locker->do('LOCK TABLE games IN ACCESS EXCLUSIVE MODE');

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . server_port(),
                                  Timeout => 5) or die "connect: $!";
    # a URL of its own: no answer in the cache
    $half++;
    print $s "GET /api/games/ExVenture?half=$half HTTP/1.1\r\n"
             . "Host: localhost\r\n"
             . "Connection: close\r\n\r\n";
    sleep 0.3;
    shutdown($s, SHUT_WR);

    sleep 0.7;
    $locker->commit;
    $locker->disconnect;

    my $raw = '';
    my $sel = IO::Select->new($s);
    my $t0 = time;
    while (time - $t0 < 5 && $sel->can_read(5 - (time - $t0))) {
        my $n = sysread($s, my $buf, 65536);
        last if !$n;
        $raw .= $buf;
    }
    close $s;

    return Grapevine::Test::parse_response($raw, 'GET');
}

my $offset = -s error_log_path();

$res = half_closed();
is($res->{status}, 0, 'by default (off), a half-closed client gets nothing');
ok(wait_until(sub { error_log_since($offset)
                    =~ /client prematurely closed connection/ }, 5, 0.1),
   '... nginx took it as gone, as it does for proxy_pass');

start_nginx(config => "location /api/ {\n"
                      . "    grapevine_api;\n"
                      . "    grapevine_api_ignore_client_abort on;\n"
                      . "}");

$res = half_closed();
is($res->{status}, 200, 'grapevine_api_ignore_client_abort on: it gets its '
                        . 'answer');
like($res->{body}, qr/^\{"short_name":"ExVenture"/, '... the game');

$res = http_get('/api/games/ExVenture', abort_after => 0.3);
is(http_get('/api/games/ExVenture')->{status}, 200,
   '... and a client that closes is no harm');

stop_nginx();

run_tests();

__DATA__

=== TEST 1: %{path}: a trailing slash is an unknown route
--- cases
path
/api/games/
/api/games/online/
/api/games/ExVenture/
/api/games/ExVenture/characters/
/api/characters/ExVenture/Alice/
/api/users/eric/
/api/channels/
/api/channels/gossip/messages/
/api/openapi.json/
/api/games/?page=2
--- request
GET %{path}
--- error_code: 404
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Access-Control-Allow-Origin: *
X-Content-Type-Options: nosniff
!ETag
--- response_json
{"error": {"code": "not_found", "message": "no such API route"}}

=== TEST 2: doubled slashes are merged (merge_slashes), as for any file
--- request
GET /api//games//MidMUD
--- response_like
^\{"short_name":"MidMUD"

=== TEST 3: If-Unmodified-Since is ignored: there is no Last-Modified
--- request
GET /api/games/ExVenture
--- more_headers
If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT
--- response_headers
!Last-Modified
--- response_like
^\{"short_name":"ExVenture"

=== TEST 4: ... with HEAD too
--- request
HEAD /api/channels
--- more_headers
If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT
--- response_headers
Content-Type: application/json
--- response_body chomp

=== TEST 5: %{method}: If-None-Match * with If-Modified-Since: 304
--- cases
method
GET
HEAD
--- request
%{method} /api/games/ExVenture
--- more_headers
If-None-Match: *
If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT
--- error_code: 304
--- response_headers
Cache-Control: public, max-age=10
Access-Control-Allow-Origin: *
X-Content-Type-Options: nosniff
--- response_body chomp

=== TEST 6: If-Match that does not match: a JSON 412, with CORS
--- request
GET /api/games/ExVenture
--- more_headers
If-Match: "0123456789abcdef"
--- error_code: 412
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Access-Control-Allow-Origin: *
X-Content-Type-Options: nosniff
!ETag
--- response_json
{"error": {"code": "precondition_failed",
           "message": "If-Match: the answer's ETag is not one of those given"}}

=== TEST 7: If-Match * is any answer
--- request
GET /api/games/ExVenture
--- more_headers
If-Match: *
--- response_like
^\{"short_name":"ExVenture"

=== TEST 8: %{what}: X-Content-Type-Options: nosniff
--- cases
what           | method  | path                 | code
an answer      | GET     | /api/games           | 200
HEAD           | HEAD    | /api/channels        | 200
a preflight    | OPTIONS | /api/games           | 204
the document   | GET     | /api/openapi.json    | 200
a bad value    | GET     | /api/games?page=0    | 400
an unknown one | GET     | /api/games/Nope      | 404
a 405          | DELETE  | /api/games           | 405
--- request
%{method} %{path}
--- error_code: %{code}
--- response_headers
X-Content-Type-Options: nosniff

=== TEST 9: only http(s) links from the hub: others are null, as on the site
--- sql_setup
UPDATE games SET homepage_url = 'javascript:alert(1)',
                 user_agent_url = 'data:text/html,<script>x</script>'
WHERE short_name = 'ExVenture';
UPDATE game_connections SET url = 'javascript:alert(2)' WHERE type = 'web';
--- request
GET /api/games/ExVenture
--- response_like
^\{"short_name":"ExVenture",.*"homepage_url":null,"user_agent":"ExVenture 0.28","user_agent_url":null,.*"connections":\[\{"type":"telnet","host":"exventure.org","port":5555\},\{"type":"web","url":null\}\]

=== TEST 10: ... in the lists too
--- request
GET /api/games/online
--- response_like
^\{"collection":\[\{"game":\{"short_name":"ExVenture","name":"ExVenture","homepage_url":null,

=== TEST 11: ... and the list of games
--- request
GET /api/games?name=ExVenture
--- response_like
^\{"items":\[\{"short_name":"ExVenture",.*"homepage_url":null,.*"connections":\[\{"type":"telnet","host":"exventure.org","port":5555\},\{"type":"web","url":null\}\]

=== TEST 12: a URL with a space or a quote is no link either; http and HTTPS are
--- sql_setup
UPDATE games SET homepage_url = 'https://exventure.org/a b',
                 user_agent_url = 'HTTPS://github.com/oestrich/ex_venture'
WHERE short_name = 'ExVenture';
UPDATE game_connections SET url = 'http://exventure.org/play' WHERE type = 'web';
--- request
GET /api/games/ExVenture
--- response_like
"homepage_url":null,"user_agent":"ExVenture 0.28","user_agent_url":"HTTPS://github.com/oestrich/ex_venture",.*\{"type":"web","url":"http://exventure.org/play"\}

=== TEST 13: grapevine_api_ignore_client_abort takes on or off
--- config
location /api/ {
    grapevine_api;
    grapevine_api_ignore_client_abort maybe;
}
--- must_die
--- error_log
invalid value "maybe" in "grapevine_api_ignore_client_abort" directive, it must be "on" or "off"

=== TEST 14: %{what}: nginx -t fails, naming it
--- cases
what                                | http                                          | message
a lock timeout of 0                 | grapevine_api_cache_lock_timeout 0;          | "grapevine_api_cache_lock_timeout" directive must be more than 0 ("grapevine_api_cache_lock off;" turns the lock off)
a lock timeout that is no time      | grapevine_api_cache_lock_timeout soon;       | "grapevine_api_cache_lock_timeout" directive invalid value
a lock neither on nor off           | grapevine_api_cache_lock maybe;              | invalid value "maybe" in "grapevine_api_cache_lock" directive, it must be "on" or "off"
a log level nginx has not           | grapevine_unavailable_log_level loud;        | invalid value "loud"
a log level below info              | grapevine_unavailable_log_level debug;       | invalid value "debug"
a cache zone too small              | grapevine_cache_zone 64k;                    | grapevine_cache_zone: "64k" is not a size of at least 128k
a cache zone that is no size        | grapevine_cache_zone big;                    | grapevine_cache_zone: "big" is not a size of at least 128k
a max_entry over half the zone      | grapevine_cache_zone 1m max_entry=600k;      | grapevine_cache_zone: max_entry "600k" must be a size of more than 0 and at most half the zone
a cache zone parameter unknown      | grapevine_cache_zone 1m keys=1k;             | grapevine_cache_zone: unknown parameter "keys=1k"
a cache zone given twice            | grapevine_cache_zone 1m; grapevine_cache_zone 2m; | "grapevine_cache_zone" directive is duplicate
--- http_config
grapevine_database "$TEST_NGINX_DB_CONNINFO";
%{http}
--- must_die
--- error_log
%{message}

=== TEST 15: grapevine_unavailable_log_level warn: each 503 a warning
--- http_config
grapevine_database "host=127.0.0.1 port=$TEST_NGINX_DEAD_PORT dbname=x user=grapevine sslmode=disable";
grapevine_unavailable_log_level warn;
--- request
GET /api/games
--- error_code: 503
--- response_json
{"error": {"code": "database_unavailable",
           "message": "the database is unavailable, try again later"}}
--- error_log
[warn]
grapevine: answering 503: Connection refused
