# The JSON API's characters and profiles: only approved characters of users
# in good standing, in games that are shown; names in any case.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;

api_fixture(\&sql);

run_tests();

__DATA__

=== TEST 1: a game's characters: approved ones, by name, online or not
--- config
location /api/ { grapevine_api; }
--- request
GET /api/games/ExVenture/characters
--- response_headers
Content-Type: application/json
Access-Control-Allow-Origin: *
--- response_json
{"game": {"short_name": "ExVenture", "name": "ExVenture"},
 "items": [
   {"name": "Alice", "username": "eric",
    "registered_at": "2026-01-05T10:00:00Z", "online": true,
    "links": [{"rel": "self", "href": "/api/characters/ExVenture/Alice"},
              {"rel": "user", "href": "/api/users/eric"}]},
   {"name": "Carol", "username": "eric",
    "registered_at": "2026-01-05T10:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/ExVenture/Carol"},
              {"rel": "user", "href": "/api/users/eric"}]}],
 "links": [{"rel": "self", "href": "/api/games/ExVenture/characters"},
           {"rel": "game", "href": "/api/games/ExVenture"}]}
--- no_error_log
[error]

=== TEST 2: a game that hides its players: online is null
--- config
location /api/ { grapevine_api; }
--- request
GET /api/games/shy/characters
--- response_json
{"game": {"short_name": "Shy", "name": "Shy Game"},
 "items": [
   {"name": "Sneaky", "username": "eric",
    "registered_at": "2026-01-05T10:00:00Z", "online": null,
    "links": [{"rel": "self", "href": "/api/characters/Shy/Sneaky"},
              {"rel": "user", "href": "/api/users/eric"}]}],
 "links": [{"rel": "self", "href": "/api/games/Shy/characters"},
           {"rel": "game", "href": "/api/games/Shy"}]}

=== TEST 3: a game without characters
--- config
location /api/ { grapevine_api; }
--- request
GET /api/games/Filler01/characters
--- response_json
{"game": {"short_name": "Filler01", "name": "Filler 01"}, "items": [],
 "links": [{"rel": "self", "href": "/api/games/Filler01/characters"},
           {"rel": "game", "href": "/api/games/Filler01"}]}

=== TEST 4: a hidden game's characters are not found
--- config
location /api/ { grapevine_api; }
--- request
GET /api/games/Hidden/characters
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "game not found"}}

=== TEST 5: one character, game and name in any case
--- config
location /api/ { grapevine_api; }
--- request
GET /api/characters/exventure/ALICE
--- response_json
{"name": "Alice", "game": {"short_name": "ExVenture", "name": "ExVenture"},
 "username": "eric", "registered_at": "2026-01-05T10:00:00Z",
 "online": true,
 "links": [{"rel": "self", "href": "/api/characters/ExVenture/Alice"},
           {"rel": "game", "href": "/api/games/ExVenture"},
           {"rel": "user", "href": "/api/users/eric"}]}

=== TEST 6: a character not online
--- config
location /api/ { grapevine_api; }
--- request
GET /api/characters/MidMUD/zed
--- response_json
{"name": "Zed", "game": {"short_name": "MidMUD", "name": "Mid MUD"},
 "username": "eric", "registered_at": "2026-01-05T10:00:00Z",
 "online": false,
 "links": [{"rel": "self", "href": "/api/characters/MidMUD/Zed"},
           {"rel": "game", "href": "/api/games/MidMUD"},
           {"rel": "user", "href": "/api/users/eric"}]}

=== TEST 7: a pending character is not found
--- config
location /api/ { grapevine_api; }
--- request
GET /api/characters/ExVenture/Pending
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "character not found"}}

=== TEST 8: a denied character is not found
--- config
location /api/ { grapevine_api; }
--- request
GET /api/characters/MidMUD/Nope
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "character not found"}}

=== TEST 9: a suspended user's character is not found
--- config
location /api/ { grapevine_api; }
--- request
GET /api/characters/ExVenture/Evil
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "character not found"}}

=== TEST 10: a character in a hidden game is not found
--- config
location /api/ { grapevine_api; }
--- request
GET /api/characters/Hidden/Ghost
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "character not found"}}

=== TEST 11: a character of another game is not found
--- config
location /api/ { grapevine_api; }
--- request
GET /api/characters/MidMUD/Alice
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "character not found"}}

=== TEST 12: a profile: approved characters by game, username in any case
--- config
location /api/ { grapevine_api; }
--- request
GET /api/users/ERIC
--- response_json
{"username": "eric",
 "games": [
   {"short_name": "ExVenture", "name": "ExVenture",
    "characters": [
      {"name": "Alice", "registered_at": "2026-01-05T10:00:00Z",
       "online": true},
      {"name": "Carol", "registered_at": "2026-01-05T10:00:00Z",
       "online": false}]},
   {"short_name": "MidMUD", "name": "Mid MUD",
    "characters": [
      {"name": "Zed", "registered_at": "2026-01-05T10:00:00Z",
       "online": false}]},
   {"short_name": "Shy", "name": "Shy Game",
    "characters": [
      {"name": "Sneaky", "registered_at": "2026-01-05T10:00:00Z",
       "online": null}]}],
 "links": [{"rel": "self", "href": "/api/users/eric"}]}

=== TEST 13: a user without characters
--- config
location /api/ { grapevine_api; }
--- request
GET /api/users/newbie
--- response_json
{"username": "newbie", "games": [],
 "links": [{"rel": "self", "href": "/api/users/newbie"}]}

=== TEST 14: characters in hidden games are left out of a profile
--- config
location /api/ { grapevine_api; }
--- request
GET /api/users/ghostly
--- response_json
{"username": "ghostly", "games": [],
 "links": [{"rel": "self", "href": "/api/users/ghostly"}]}

=== TEST 15: a suspended user has no public profile
--- config
location /api/ { grapevine_api; }
--- request
GET /api/users/Mallory
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "user not found"}}

=== TEST 16: an unknown user
--- config
location /api/ { grapevine_api; }
--- request
GET /api/users/nobody
--- error_code: 404
--- response_json
{"error": {"code": "not_found", "message": "user not found"}}

=== TEST 17: names are percent-decoded, and encoded in links
--- config
location /api/ { grapevine_api; }
--- sql_setup
INSERT INTO characters (user_id, game_id, name, state, inserted_at)
SELECT 3, id, 'Sir Zo' || chr(235) || '/2', 'approved',
       '2026-01-06 00:00:00+00'
FROM games WHERE short_name = 'MidMUD';
--- request
GET /api/characters/midmud/sir%20zo%C3%AB%2F2
--- response_json
{"name": "Sir Zo\u00eb/2", "game": {"short_name": "MidMUD", "name": "Mid MUD"},
 "username": "newbie", "registered_at": "2026-01-06T00:00:00Z",
 "online": false,
 "links": [{"rel": "self",
            "href": "/api/characters/MidMUD/Sir%20Zo%C3%AB%2F2"},
           {"rel": "game", "href": "/api/games/MidMUD"},
           {"rel": "user", "href": "/api/users/newbie"}]}

=== TEST 18: ... and the profile shows it
--- config
location /api/ { grapevine_api; }
--- request
GET /api/users/newbie
--- response_json
{"username": "newbie",
 "games": [{"short_name": "MidMUD", "name": "Mid MUD",
            "characters": [{"name": "Sir Zo\u00eb/2",
                            "registered_at": "2026-01-06T00:00:00Z",
                            "online": false}]}],
 "links": [{"rel": "self", "href": "/api/users/newbie"}]}
