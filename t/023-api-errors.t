# The JSON API's errors and HTTP behaviour: unknown routes, methods, bad
# parameters, hostile input, HEAD, ETag and 304, CORS, configuration.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;

api_fixture(\&sql);

# a block without a config section runs in "location /api/ { grapevine_api; }"
default_api_location();

# the blocks, the 107 checks before them and the error-log checks of the
# two nginx those start
plan tests => blocks_plan() + 109;

my $api = 'location /api/ { grapevine_api; }';

sub error_of {
    my ($res) = @_;
    my $j = eval { json_decode($res->{body}) } // {};
    return ($j->{error}{code} // '') . ': ' . ($j->{error}{message} // '');
}

# ---------------------------------------------------------- long paths

start_nginx(config => $api);

my $long = 'x' x 10240;
my $res = http_get("/api/games/$long");
is($res->{status}, 414, '10 KB path: nginx refuses it with its buffers');
is(http_get('/api/games/MidMUD')->{status}, 200, 'and answers the next one');

start_nginx(config => "large_client_header_buffers 4 32k;\n$api");

$res = http_get("/api/games/$long");
is($res->{status}, 400, '10 KB path with big buffers: 400');
is(error_of($res), 'invalid_parameter: game: longer than 100 characters',
   'the message names the parameter');

$res = http_get("/api/$long/games");
is($res->{status}, 404, '10 KB unknown route: 404');

$res = http_get("/api/games?name=$long");
is(error_of($res), 'invalid_parameter: name: longer than 100 characters',
   '10 KB name: 400 naming it');

$res = http_get('/api/games?name=' . ('%C3%A9' x 100));
is($res->{status}, 200, 'a name of 100 characters (200 bytes) is fine');

$res = http_get('/api/games?name=' . ('%C3%A9' x 101));
is($res->{status}, 400, 'a name of 101 characters is not');

# ------------------------------------------------------ encodings, UTF-8

my %invalid = (
    "raw bytes \\xff\\xfe"        => "/api/games/\xff\xfe",
    'overlong %C0%AF'             => '/api/games/%C0%AF',
    'surrogate %ED%A0%80'         => '/api/games/%ED%A0%80',
    'five bytes %F8%88%80%80%80'  => '/api/games/%F8%88%80%80%80',
    'truncated %E2%82'            => '/api/users/%E2%82',
    'beyond U+10FFFF %F4%90%80%80' => '/api/users/%F4%90%80%80',
);

for my $what (sort keys %invalid) {
    $res = http_get($invalid{$what});
    is($res->{status}, 400, "invalid UTF-8 in the path ($what): 400");
    like(error_of($res), qr/^invalid_parameter: (game|username): is not valid UTF-8$/,
         "invalid UTF-8 in the path ($what): the message names it");
}

$res = http_get('/api/games/%F0%9F%98%80');
is($res->{status}, 404, 'a valid 4-byte character is a name like any other');

$res = http_get('/api/x%FF/games');
is($res->{status}, 400, 'invalid UTF-8 in an unknown route: 400');
is(error_of($res), 'invalid_parameter: path: is not valid UTF-8',
   'naming the path');

$res = http_get('/api/games/a%00b');
is($res->{status}, 400, '%00 in the path: 400 (nginx refuses it first)');

my %bad_query = (
    '%00'  => 'name: contains a NUL byte',
    '%0A'  => 'name: contains a control character',
    '%G1'  => 'name: invalid percent-encoding',
    'ab%4' => 'name: invalid percent-encoding',
    '%FF'  => 'name: is not valid UTF-8',
);

for my $v (sort keys %bad_query) {
    $res = http_get("/api/games?name=$v");
    is($res->{status}, 400, "name=$v: 400");
    is(error_of($res), "invalid_parameter: $bad_query{$v}",
       "name=$v: the message says why");
}

$res = http_get('/api/games?name=mid+mud');
is(json_decode($res->{body})->{items}[0]{short_name}, 'MidMUD',
   'a "+" in the query is a space');

# ---------------------------------------------------------- injection

my @games = @{ sql_rows('SELECT count(*) FROM games') };
my @users = @{ sql_rows('SELECT count(*) FROM users') };

sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s }

for my $evil ("'; DROP TABLE games; --", "' OR '1'='1", "\\", "%'--",
              "Robert'); DROP TABLE users;--", '$1', "ExVenture' --")
{
    my $e = enc($evil);
    is(http_get("/api/games/$e")->{status}, 404, "game \"$evil\": 404");
    is(http_get("/api/users/$e")->{status}, 404, "user \"$evil\": 404");
    is(http_get("/api/characters/$e/$e")->{status}, 404,
       "character \"$evil\": 404");
    is(http_get("/api/channels/$e/messages")->{status}, 404,
       "channel \"$evil\": 404");
    $res = http_get("/api/games?name=$e");
    is_deeply([$res->{status}, json_decode($res->{body})->{items}], [200, []],
              "name=\"$evil\": no games");
}

is_deeply(sql_rows('SELECT count(*) FROM games'), \@games,
          'injection: the games are all there');
is_deeply(sql_rows('SELECT count(*) FROM users'), \@users,
          'injection: the users are all there');
unlike(error_log_since(0), qr/\[error\]/, 'injection: no query failed');

# ------------------------------------------------- ETag, 304, HEAD, CORS

$res = http_get('/api/games/ExVenture');
my $etag = $res->{headers}{etag} // '';
like($etag, qr/^"[0-9a-f]{16}"$/, 'a strong ETag: 64 bits in hex, quoted');
is(http_get('/api/games/ExVenture')->{headers}{etag}, $etag,
   'the same body has the same ETag');
isnt(http_get('/api/games/MidMUD')->{headers}{etag}, $etag,
     'another body has another');

for my $inm ($etag, qq{"0123456789abcdef", $etag}, '*', "W/$etag") {
    $res = http_get('/api/games/ExVenture', headers => "If-None-Match: $inm");
    is($res->{status}, 304, "If-None-Match: $inm -> 304");
    is($res->{body}, '', "If-None-Match: $inm -> no body");
    is($res->{headers}{etag}, $etag, "If-None-Match: $inm -> the ETag");
    is($res->{headers}{'cache-control'}, 'public, max-age=10',
       "If-None-Match: $inm -> Cache-Control");
    is($res->{headers}{'access-control-allow-origin'}, '*',
       "If-None-Match: $inm -> CORS");
}

$res = http_get('/api/games/ExVenture',
                headers => 'If-None-Match: "0123456789abcdef"');
is($res->{status}, 200, 'another ETag -> 200');
like($res->{body}, qr/^\{"short_name":"ExVenture"/, 'with the body');
my $length = length $res->{body};

$res = http_request(method => 'HEAD', path => '/api/games/ExVenture');
is($res->{status}, 200, 'HEAD: 200');
is($res->{body}, '', 'HEAD: no body');
is($res->{headers}{'content-length'}, $length, 'HEAD: the GET body length');
is($res->{headers}{etag}, $etag, 'HEAD: the same ETag');
is($res->{headers}{'content-type'}, 'application/json', 'HEAD: JSON');

$res = http_request(method => 'HEAD', path => '/api/games/ExVenture',
                    headers => "If-None-Match: $etag");
is($res->{status}, 304, 'HEAD with If-None-Match: 304');

$res = http_request(method => 'HEAD', path => '/api/games/nope');
is_deeply([$res->{status}, $res->{body}], [404, ''], 'HEAD of a 404: no body');

sql("UPDATE games SET description = 'changed' WHERE short_name = 'ExVenture'");

$res = http_get('/api/games/ExVenture', headers => "If-None-Match: $etag");
is($res->{status}, 200, 'changed data: the old ETag gets 200');
isnt($res->{headers}{etag}, $etag, 'changed data: a new ETag');

stop_nginx();

run_tests();

__DATA__

=== TEST 1: %{what}: 404
--- cases
what                     | method | path
unknown route            | GET    | /api/nothing
the prefix alone         | GET    | /api/
too many segments        | GET    | /api/games/ExVenture/characters/Alice/more
a route missing a part   | GET    | /api/characters/ExVenture
an unknown sub-resource  | GET    | /api/channels/gossip
POST to an unknown route | POST   | /api/nothing
--- request
%{method} %{path}
--- error_code: 404
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Access-Control-Allow-Origin: *
!ETag
--- response_json
{"error": {"code": "not_found", "message": "no such API route"}}

=== TEST 2: doubled slashes are fine, a trailing slash is no route
--- cases
path                  | code | body
/api//games//MidMUD   | 200  | ^\{"short_name":"MidMUD"
/api//games//MidMUD/  | 404  | ^\{"error":\{"code":"not_found","message":"no such API route"\}\}
--- request
GET %{path}
--- error_code: %{code}
--- response_like
%{body}

=== TEST 3: %{method}: 405 with Allow
--- cases
method | path                     | body
POST   | /api/games               | x=1
DELETE | /api/games/ExVenture     |
PUT    | /api/users/eric          | {}
--- request
%{method} %{path}
%{body}
--- error_code: 405
--- response_headers
Allow: GET, HEAD, OPTIONS
Access-Control-Allow-Origin: *
Cache-Control: no-store
--- response_json
{"error": {"code": "method_not_allowed",
           "message": "the API answers GET, HEAD and OPTIONS only"}}

=== TEST 4: a CORS preflight
--- request
OPTIONS /api/games
--- more_headers
Origin: https://example.org
Access-Control-Request-Method: GET
Access-Control-Request-Headers: If-None-Match
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: *
Access-Control-Allow-Methods: GET, HEAD, OPTIONS
Access-Control-Allow-Headers: Accept, Content-Type, If-None-Match
Access-Control-Max-Age: 86400
Allow: GET, HEAD, OPTIONS
--- response_body chomp

=== TEST 5: GET has CORS and the headers browsers may read
--- request
GET /api/channels
--- more_headers
Origin: https://example.org
--- response_headers
Access-Control-Allow-Origin: *
Access-Control-Expose-Headers: ETag, Retry-After

=== TEST 6: %{path}: 400 naming the parameter
--- cases
path                                                     | message
/api/games?page=0                                        | page: must be an integer from 1 to 10000
/api/games?page=10001                                    | page: must be an integer from 1 to 10000
/api/games?page=-1                                       | page: must be an integer from 1 to 10000
/api/games?page=1.5                                      | page: must be an integer from 1 to 10000
/api/games?page=02                                       | page: must be an integer from 1 to 10000
/api/games?page=                                         | page: must be an integer from 1 to 10000
/api/games?page=99999999999999999999999                  | page: must be an integer from 1 to 10000
/api/games?page=1&page=2                                 | page: given more than once
/api/games?online=maybe                                  | online: must be yes, no or all
/api/channels/gossip/messages?limit=0                    | limit: must be an integer from 1 to 100
/api/channels/gossip/messages?limit=101                  | limit: must be an integer from 1 to 100
/api/channels/gossip/messages?before=0                   | before: must be a message id (a positive integer)
/api/channels/gossip/messages?before=9223372036854775808 | before: must be a message id (a positive integer)
/api/channels/gossip/messages?before=1%20OR%201=1        | before: must be a message id (a positive integer)
--- request
GET %{path}
--- error_code: 400
--- response_headers
Cache-Control: no-store
Access-Control-Allow-Origin: *
--- response_json
{"error": {"code": "invalid_parameter", "message": "%{message}"}}

=== TEST 7: page 10000 is allowed (and empty)
--- request
GET /api/games?page=10000
--- response_json
{"items": [], "links": [{"rel": "self", "href": "/api/games?page=10000"},
                        {"rel": "prev", "href": "/api/games?page=9999"}]}

=== TEST 8: limit 100
--- request
GET /api/channels/gossip/messages?limit=100
--- response_like
^\{"channel":

=== TEST 9: a name of 101 characters in the path
--- request
GET /api/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
--- error_code: 400
--- response_json
{"error": {"code": "invalid_parameter",
           "message": "username: longer than 100 characters"}}

=== TEST 10: a character name of 101 characters
--- request
GET /api/characters/ExVenture/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
--- error_code: 400
--- response_json
{"error": {"code": "invalid_parameter",
           "message": "name: longer than 100 characters"}}

=== TEST 11: invalid UTF-8 in a channel name
--- request
GET /api/channels/%C3%28/messages
--- error_code: 400
--- response_json
{"error": {"code": "invalid_parameter",
           "message": "channel: is not valid UTF-8"}}

=== TEST 12: a URI rewritten to the API (nginx's decoded URI is used)
--- config
location /old/ { rewrite ^/old/(.*)$ /api/$1 last; }
location /api/ { grapevine_api; }
--- request
GET /old/games/ExVenture/characters
--- response_like
^\{"game":\{"short_name":"ExVenture","name":"ExVenture"\},"items":\[\{"name":"Alice",.*"href":"/api/games/ExVenture/characters"\},

=== TEST 13: a query that fails: 500 with a JSON error, logged
--- sql_setup
ALTER TABLE channels RENAME TO channels_gone;
--- request
GET /api/channels
--- error_code: 500
--- response_json
{"error": {"code": "internal_error", "message": "the query failed"}}
--- error_log
grapevine: API query failed: ERROR:  relation "channels" does not exist

=== TEST 14: ... and the next query is served
--- sql_setup
ALTER TABLE channels_gone RENAME TO channels;
--- request
GET /api/channels/gossip/messages?limit=1
--- response_like
"id":5,

=== TEST 15: grapevine_api needs a prefix location, not a regex
--- config
location ~ ^/api/ { grapevine_api; }
--- must_die
--- error_log
"grapevine_api" needs a prefix location

=== TEST 16: nor an exact one
--- config
location = /api/games { grapevine_api; }
--- must_die
--- error_log
"grapevine_api" needs a prefix location

=== TEST 17: grapevine_api needs the database
--- http_config
--- must_die
--- error_log
"grapevine_api" in
needs the database
