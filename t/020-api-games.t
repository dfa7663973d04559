# The JSON API's games: the list (filters, pages, links), one game, the
# games online (25 a page); hidden games never appear; a game's players
# are listed up to 100.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;

api_fixture(\&sql);

# a block without a config section runs in "location /api/ { grapevine_api; }"
default_api_location();

# the blocks, the 19 checks before them and the error-log check of the
# nginx those start
plan tests => blocks_plan() + 20;

start_nginx(config => 'location /api/ { grapevine_api; }');

sub api {
    my ($path) = @_;
    my $res = http_get($path);
    $res->{json} = eval { json_decode($res->{body}) } // {};
    return $res;
}

sub names { [map { $_->{short_name} } @{ $_[0]{json}{items} // [] }] }
sub links { +{ map { $_->{rel} => $_->{href} } @{ $_[0]{json}{links} } } }

my @fillers = map { sprintf 'Filler%02d', $_ } 1 .. 30;

# pages of 25, by name; hidden games are left out
my $res = api('/api/games');
is($res->{status}, 200, 'list: 200');
is_deeply(names($res), ['ExVenture', @fillers[0 .. 23]],
          'list: page 1 is the first 25 shown games by name');
is_deeply(links($res), { self => '/api/games', next => '/api/games?page=2' },
          'list: page 1 links to self and next, not prev');
is_deeply([sort keys %{ $res->{json}{items}[1] }],
          [qw(connections description homepage_url links name online
              short_name user_agent)], 'list: the keys of an item');

$res = api('/api/games?page=2');
is_deeply(names($res), [@fillers[24 .. 29], 'MidMUD', 'Shy'],
          'list: page 2 holds the rest, Hidden is not there');
is_deeply(links($res), { self => '/api/games?page=2', prev => '/api/games' },
          'list: the last page links to prev, not next');

$res = api('/api/games?page=3');
is($res->{status}, 200, 'list: a page past the end is 200');
is_deeply(names($res), [], 'list: and empty');
is_deeply(links($res), { self => '/api/games?page=3',
                         prev => '/api/games?page=2' }, 'list: with prev');

$res = api('/api/games?online=yes');
is_deeply(names($res), ['ExVenture', 'Shy'], 'online=yes: online shown games');

$res = api('/api/games?online=no&page=2');
is_deeply(names($res), [@fillers[25 .. 29], 'MidMUD'],
          'online=no: offline games, page 2');
is_deeply(links($res), { self => '/api/games?online=no&page=2',
                         prev => '/api/games?online=no' },
          'online=no: links keep the filter');

$res = api('/api/games?online=all&name=FILLER%200');
is_deeply(names($res), [@fillers[0 .. 8]],
          'name: a case-insensitive part of the name');
is_deeply(links($res), { self => '/api/games?name=FILLER%200' },
          'name: links keep it, encoded');

$res = api('/api/games?name=midmud');
is_deeply(names($res), ['MidMUD'], 'name: matches the short name too');

$res = api('/api/games?name=hidden');
is_deeply(names($res), [], 'name: a hidden game is not found');

$res = api('/api/games?name=%25');
is_deeply(names($res), [], 'name: % is a character, not a wildcard');

$res = api('/api/games?name=');
is(scalar @{ names($res) }, 25, 'name: empty means no filter');

$res = api('/api/games?page=1&unknown=x&_=123');
is($res->{status}, 200, 'unknown parameters are ignored');

stop_nginx();

run_tests();

__DATA__

=== TEST 1: one game: every field, players, upcoming events, achievements
--- request
GET /api/games/ExVenture
--- response_headers
Content-Type: application/json
Cache-Control: public, max-age=10
Access-Control-Allow-Origin: *
--- response_json
{"short_name": "ExVenture", "name": "ExVenture",
 "description": "A MUD in \"Elixir\" \u00e9t\u00e9",
 "homepage_url": "https://exventure.org/", "user_agent": "ExVenture 0.28",
 "user_agent_url": "https://github.com/oestrich/ex_venture",
 "online": true, "last_seen_at": "2026-01-02T03:04:05Z",
 "connections": [{"type": "telnet", "host": "exventure.org", "port": 5555},
                 {"type": "web", "url": "https://exventure.org/play"}],
 "players": ["Alice", "bob"],
 "events": [{"title": "Running", "description": null,
             "start_date": "~ ^\\d{4}-\\d\\d-\\d\\d$",
             "end_date": "~ ^\\d{4}-\\d\\d-\\d\\d$"},
            {"title": "Double XP", "description": "twice the XP",
             "start_date": "~ ^\\d{4}-\\d\\d-\\d\\d$",
             "end_date": "~ ^\\d{4}-\\d\\d-\\d\\d$"}],
 "achievements_count": 3,
 "links": [{"rel": "self", "href": "/api/games/ExVenture"},
           {"rel": "characters", "href": "/api/games/ExVenture/characters"}]}
--- no_error_log
[error]

=== TEST 2: the short name matches in any case
--- request
GET /api/games/eXvEnTuRe
--- response_like
^\{"short_name":"ExVenture","name":"ExVenture",

=== TEST 3: a game that hides its players: players is null
--- request
GET /api/games/shy
--- response_json
{"short_name": "Shy", "name": "Shy Game",
 "description": "players not shown", "homepage_url": null,
 "user_agent": null, "user_agent_url": null, "online": true,
 "last_seen_at": null, "connections": [], "players": null, "events": [],
 "achievements_count": 0,
 "links": [{"rel": "self", "href": "/api/games/Shy"},
           {"rel": "characters", "href": "/api/games/Shy/characters"}]}

=== TEST 4: %{what} is not found
--- cases
what            | game
a hidden game   | Hidden
an unknown game | NoSuchGame
--- request
GET /api/games/%{game}
--- error_code: 404
--- response_headers
Cache-Control: no-store
Access-Control-Allow-Origin: *
--- response_json
{"error": {"code": "not_found", "message": "game not found"}}

=== TEST 5: the games online, with their players (unless hidden)
--- request
GET /api/games/online
--- response_json
{"collection": [
  {"game": {"short_name": "ExVenture", "name": "ExVenture",
            "homepage_url": "https://exventure.org/",
            "links": [{"rel": "self", "href": "/api/games/ExVenture"}]},
   "players": ["Alice", "bob"]},
  {"game": {"short_name": "Shy", "name": "Shy Game", "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Shy"}]},
   "players": []}],
 "links": [{"rel": "self", "href": "/api/games/online"}]}

=== TEST 6: a game page reflects a change at once (no stale copy)
--- sql_setup
UPDATE games SET online = false WHERE short_name = 'Shy';
--- request
GET /api/games/online
--- response_json
{"collection": [
  {"game": {"short_name": "ExVenture", "name": "ExVenture",
            "homepage_url": "https://exventure.org/",
            "links": [{"rel": "self", "href": "/api/games/ExVenture"}]},
   "players": ["Alice", "bob"]}],
 "links": [{"rel": "self", "href": "/api/games/online"}]}

=== TEST 7: no games online: an empty collection
--- sql_setup
UPDATE games SET online = false;
--- request
GET /api/games/online
--- response_json
{"collection": [], "links": [{"rel": "self", "href": "/api/games/online"}]}

=== TEST 8: another prefix: links follow the location
--- config
location /v1/ { grapevine_api; }
--- request
GET /v1/games/MidMUD
--- response_json
{"short_name": "MidMUD", "name": "Mid MUD", "description": null,
 "homepage_url": null, "user_agent": null, "user_agent_url": null,
 "online": false, "last_seen_at": null, "connections": [],
 "players": [], "events": [], "achievements_count": 0,
 "links": [{"rel": "self", "href": "/v1/games/MidMUD"},
           {"rel": "characters", "href": "/v1/games/MidMUD/characters"}]}

=== TEST 9: a prefix without the final slash
--- config
location /v2 { grapevine_api; }
--- request
GET /v2/games?name=mid
--- response_like
^\{"items":\[\{"short_name":"MidMUD",.*"links":\[\{"rel":"self","href":"/v2/games\?name=mid"\}\]\}$

=== TEST 10: ... which does not take a longer first segment
--- config
location /v2 { grapevine_api; }
--- request
GET /v2x/games
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "no such API route"}}

=== TEST 11: the games online come 25 a page
--- sql_setup
UPDATE games SET online = true WHERE display;
--- request
GET /api/games/online?page=2
--- response_json
{"collection": [
  {"game": {"short_name": "Filler25", "name": "Filler 25",
            "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Filler25"}]},
   "players": []},
  {"game": {"short_name": "Filler26", "name": "Filler 26",
            "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Filler26"}]},
   "players": []},
  {"game": {"short_name": "Filler27", "name": "Filler 27",
            "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Filler27"}]},
   "players": []},
  {"game": {"short_name": "Filler28", "name": "Filler 28",
            "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Filler28"}]},
   "players": []},
  {"game": {"short_name": "Filler29", "name": "Filler 29",
            "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Filler29"}]},
   "players": []},
  {"game": {"short_name": "Filler30", "name": "Filler 30",
            "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Filler30"}]},
   "players": []},
  {"game": {"short_name": "MidMUD", "name": "Mid MUD",
            "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/MidMUD"}]},
   "players": []},
  {"game": {"short_name": "Shy", "name": "Shy Game", "homepage_url": null,
            "links": [{"rel": "self", "href": "/api/games/Shy"}]},
   "players": []}],
 "links": [{"rel": "self", "href": "/api/games/online?page=2"},
           {"rel": "prev", "href": "/api/games/online"}]}

=== TEST 12: the first page of the games online links to the next
--- request
GET /api/games/online
--- response_like
"links":\[\{"rel":"self","href":"/api/games/online"\},\{"rel":"next","href":"/api/games/online\?page=2"\}\]\}$

=== TEST 13: a page of games online after the last is empty, links back
--- request
GET /api/games/online?page=3
--- response_json
{"collection": [],
 "links": [{"rel": "self", "href": "/api/games/online?page=3"},
           {"rel": "prev", "href": "/api/games/online?page=2"}]}

=== TEST 14: %{path}: a game's players, the first 100 by name
--- cases
path
/api/games/ExVenture
/api/games/online
--- sql_setup
INSERT INTO players_online (game_id, name)
SELECT id, 'P' || lpad(k::text, 3, '0') FROM games,
       generate_series(1, 150) AS k
WHERE short_name = 'ExVenture'
ON CONFLICT DO NOTHING;
--- request
GET %{path}
--- response_like
"players":\["Alice","bob",(?:"P\d{3}",){97}"P098"\]
