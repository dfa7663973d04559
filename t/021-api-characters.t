# The JSON API's characters and profiles: only approved characters of users
# in good standing, in games that are shown; names in any case.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;

api_fixture(\&sql);

# a block without a config section runs in "location /api/ { grapevine_api; }"
default_api_location();

run_tests();

__DATA__

=== TEST 1: a game's characters: approved ones, by name, online or not
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
--- request
GET /api/games/Filler01/characters
--- response_json
{"game": {"short_name": "Filler01", "name": "Filler 01"}, "items": [],
 "links": [{"rel": "self", "href": "/api/games/Filler01/characters"},
           {"rel": "game", "href": "/api/games/Filler01"}]}

=== TEST 4: %{what}
--- cases
what                                               | path                                 | message
a hidden game's characters are not found           | /api/games/Hidden/characters         | game not found
a page of a hidden game's characters is not found  | /api/games/Hidden/characters?page=1  | game not found
a pending character is not found                   | /api/characters/ExVenture/Pending    | character not found
a denied character is not found                    | /api/characters/MidMUD/Nope          | character not found
a suspended user's character is not found          | /api/characters/ExVenture/Evil       | character not found
a character in a hidden game is not found          | /api/characters/Hidden/Ghost         | character not found
a character of another game is not found           | /api/characters/MidMUD/Alice         | character not found
a suspended user has no public profile             | /api/users/Mallory                   | user not found
an unknown user                                    | /api/users/nobody                    | user not found
a page of an unknown user is still not found       | /api/users/nobody?page=2             | user not found
--- request
GET %{path}
--- error_code: 404
--- response_headers
Cache-Control: no-store
Access-Control-Allow-Origin: *
--- response_json
{"error": {"code": "not_found", "message": "%{message}"}}

=== TEST 5: one character, game and name in any case
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
--- request
GET /api/characters/MidMUD/zed
--- response_json
{"name": "Zed", "game": {"short_name": "MidMUD", "name": "Mid MUD"},
 "username": "eric", "registered_at": "2026-01-05T10:00:00Z",
 "online": false,
 "links": [{"rel": "self", "href": "/api/characters/MidMUD/Zed"},
           {"rel": "game", "href": "/api/games/MidMUD"},
           {"rel": "user", "href": "/api/users/eric"}]}

=== TEST 7: a profile: approved characters by game, username in any case
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

=== TEST 8: a user without characters
--- request
GET /api/users/newbie
--- response_json
{"username": "newbie", "games": [],
 "links": [{"rel": "self", "href": "/api/users/newbie"}]}

=== TEST 9: characters in hidden games are left out of a profile
--- request
GET /api/users/ghostly
--- response_json
{"username": "ghostly", "games": [],
 "links": [{"rel": "self", "href": "/api/users/ghostly"}]}

=== TEST 10: names are percent-decoded, and encoded in links
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

=== TEST 11: ... and the profile shows it
--- request
GET /api/users/newbie
--- response_json
{"username": "newbie",
 "games": [{"short_name": "MidMUD", "name": "Mid MUD",
            "characters": [{"name": "Sir Zo\u00eb/2",
                            "registered_at": "2026-01-06T00:00:00Z",
                            "online": false}]}],
 "links": [{"rel": "self", "href": "/api/users/newbie"}]}

=== TEST 12: a profile is paged: 25 characters a page, by game then name
--- sql_setup
INSERT INTO users (id, username, email, password_hash)
VALUES (5, 'many', 'many@example.org', 'x');
INSERT INTO characters (user_id, game_id, name, state, inserted_at)
SELECT 5, (SELECT id FROM games
           WHERE short_name = CASE WHEN i <= 27 THEN 'Filler02'
                                   ELSE 'Filler03' END),
       'Char' || lpad(i::text, 2, '0'), 'approved', '2026-01-07 00:00:00+00'
FROM generate_series(1, 30) AS i;
INSERT INTO characters (user_id, game_id, name, state, inserted_at)
SELECT 5, id, 'Waiting', 'pending', '2026-01-07 00:00:00+00'
FROM games WHERE short_name = 'Filler02';
--- request
GET /api/users/many
--- response_json
{"username": "many",
 "games": [
   {"short_name": "Filler02", "name": "Filler 02",
    "characters": [
      {"name": "Char01", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char02", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char03", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char04", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char05", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char06", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char07", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char08", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char09", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char10", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char11", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char12", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char13", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char14", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char15", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char16", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char17", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char18", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char19", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char20", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char21", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char22", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char23", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char24", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char25", "registered_at": "2026-01-07T00:00:00Z", "online": false}]}],
 "links": [{"rel": "self", "href": "/api/users/many"},
           {"rel": "next", "href": "/api/users/many?page=2"}]}
--- no_error_log
[error]

=== TEST 13: the last page of a profile: a game goes on from the page before
--- request
GET /api/users/MANY?page=2
--- response_json
{"username": "many",
 "games": [
   {"short_name": "Filler02", "name": "Filler 02",
    "characters": [
      {"name": "Char26", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char27", "registered_at": "2026-01-07T00:00:00Z", "online": false}]},
   {"short_name": "Filler03", "name": "Filler 03",
    "characters": [
      {"name": "Char28", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char29", "registered_at": "2026-01-07T00:00:00Z", "online": false},
      {"name": "Char30", "registered_at": "2026-01-07T00:00:00Z", "online": false}]}],
 "links": [{"rel": "self", "href": "/api/users/many?page=2"},
           {"rel": "prev", "href": "/api/users/many"}]}

=== TEST 14: a page after the last one is empty, and links back
--- request
GET /api/users/many?page=3
--- response_json
{"username": "many", "games": [],
 "links": [{"rel": "self", "href": "/api/users/many?page=3"},
           {"rel": "prev", "href": "/api/users/many?page=2"}]}

=== TEST 15: a game's characters are paged: 25 a page, by name
--- request
GET /api/games/filler02/characters
--- response_json
{"game": {"short_name": "Filler02", "name": "Filler 02"},
 "items": [
   {"name": "Char01", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char01"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char02", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char02"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char03", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char03"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char04", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char04"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char05", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char05"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char06", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char06"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char07", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char07"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char08", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char08"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char09", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char09"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char10", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char10"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char11", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char11"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char12", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char12"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char13", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char13"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char14", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char14"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char15", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char15"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char16", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char16"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char17", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char17"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char18", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char18"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char19", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char19"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char20", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char20"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char21", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char21"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char22", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char22"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char23", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char23"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char24", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char24"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char25", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char25"}, {"rel": "user", "href": "/api/users/many"}]}],
 "links": [{"rel": "self", "href": "/api/games/Filler02/characters"},
           {"rel": "next", "href": "/api/games/Filler02/characters?page=2"},
           {"rel": "game", "href": "/api/games/Filler02"}]}
--- no_error_log
[error]

=== TEST 16: the last page of a game's characters
--- request
GET /api/games/Filler02/characters?page=2
--- response_json
{"game": {"short_name": "Filler02", "name": "Filler 02"},
 "items": [
   {"name": "Char26", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char26"}, {"rel": "user", "href": "/api/users/many"}]},
   {"name": "Char27", "username": "many", "registered_at": "2026-01-07T00:00:00Z", "online": false,
    "links": [{"rel": "self", "href": "/api/characters/Filler02/Char27"}, {"rel": "user", "href": "/api/users/many"}]}],
 "links": [{"rel": "self", "href": "/api/games/Filler02/characters?page=2"},
           {"rel": "prev", "href": "/api/games/Filler02/characters"},
           {"rel": "game", "href": "/api/games/Filler02"}]}

=== TEST 17: page 10000 is allowed (and empty)
--- request
GET /api/games/Filler02/characters?page=10000
--- response_json
{"game": {"short_name": "Filler02", "name": "Filler 02"}, "items": [],
 "links": [{"rel": "self", "href": "/api/games/Filler02/characters?page=10000"},
           {"rel": "prev", "href": "/api/games/Filler02/characters?page=9999"},
           {"rel": "game", "href": "/api/games/Filler02"}]}

=== TEST 18: %{route} with page=%{page}: 400 naming the parameter
--- cases
route                          | page
/api/games/Filler02/characters | 0
/api/games/Filler02/characters | 10001
/api/games/Filler02/characters | -1
/api/games/Filler02/characters | 1.5
/api/games/Filler02/characters | abc
/api/games/Filler02/characters |
/api/games/Filler02/characters | 99999999999999999999999
/api/users/many                | 0
/api/users/many                | 10001
/api/users/many                | -1
/api/users/many                | 1.5
/api/users/many                | abc
/api/users/many                |
/api/users/many                | 99999999999999999999999
--- request
GET %{route}?page=%{page}
--- error_code: 400
--- response_headers
Cache-Control: no-store
--- response_json
{"error": {"code": "invalid_parameter", "message": "page: must be an integer from 1 to 10000"}}

=== TEST 19: %{route} with page=1&page=2: 400 naming the parameter
--- cases
route
/api/games/Filler02/characters
/api/users/many
--- request
GET %{route}?page=1&page=2
--- error_code: 400
--- response_headers
Cache-Control: no-store
--- response_json
{"error": {"code": "invalid_parameter", "message": "page: given more than once"}}
