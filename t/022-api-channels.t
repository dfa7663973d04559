# The JSON API's channels and their history: hidden channels and hidden
# messages never appear; history is newest first, paged by message id; a
# message longer than 2,048 characters is cut there, and says so; the
# channels come 25 a page.
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

=== TEST 1: the visible channels, by name
--- request
GET /api/channels
--- response_headers
Content-Type: application/json
Cache-Control: public, max-age=10
--- response_json
{"items": [
   {"name": "gossip", "description": "General chat",
    "links": [{"rel": "messages", "href": "/api/channels/gossip/messages"}]},
   {"name": "quiet", "description": "nobody talks",
    "links": [{"rel": "messages", "href": "/api/channels/quiet/messages"}]},
   {"name": "testing", "description": null,
    "links": [{"rel": "messages",
               "href": "/api/channels/testing/messages"}]}],
 "links": [{"rel": "self", "href": "/api/channels"}]}
--- no_error_log
[error]

=== TEST 2: history, newest first, without hidden messages
--- request
GET /api/channels/gossip/messages
--- response_json
{"channel": {"name": "gossip", "description": "General chat"},
 "items": [
   {"id": 5, "game": "MidMUD", "name": "Zed", "text": "fifth",
    "truncated": false, "inserted_at": "2026-02-01T12:05:00Z"},
   {"id": 3, "game": "ExVenture", "name": "bob", "text": "third \"quoted\"",
    "truncated": false, "inserted_at": "2026-02-01T12:03:00Z"},
   {"id": 2, "game": "MidMUD", "name": "Zed", "text": "second",
    "truncated": false, "inserted_at": "2026-02-01T12:02:00Z"},
   {"id": 1, "game": "ExVenture", "name": "Alice", "text": "first",
    "truncated": false, "inserted_at": "2026-02-01T12:01:00Z"}],
 "links": [{"rel": "self", "href": "/api/channels/gossip/messages"}]}

=== TEST 3: a page of two: a next link to the older ones
--- request
GET /api/channels/GOSSIP/messages?limit=2
--- response_json
{"channel": {"name": "gossip", "description": "General chat"},
 "items": [
   {"id": 5, "game": "MidMUD", "name": "Zed", "text": "fifth",
    "truncated": false, "inserted_at": "2026-02-01T12:05:00Z"},
   {"id": 3, "game": "ExVenture", "name": "bob", "text": "third \"quoted\"",
    "truncated": false, "inserted_at": "2026-02-01T12:03:00Z"}],
 "links": [{"rel": "self", "href": "/api/channels/gossip/messages?limit=2"},
           {"rel": "next",
            "href": "/api/channels/gossip/messages?before=3&limit=2"}]}

=== TEST 4: following next: the last page has no next link
--- request
GET /api/channels/gossip/messages?before=3&limit=2
--- response_json
{"channel": {"name": "gossip", "description": "General chat"},
 "items": [
   {"id": 2, "game": "MidMUD", "name": "Zed", "text": "second",
    "truncated": false, "inserted_at": "2026-02-01T12:02:00Z"},
   {"id": 1, "game": "ExVenture", "name": "Alice", "text": "first",
    "truncated": false, "inserted_at": "2026-02-01T12:01:00Z"}],
 "links": [{"rel": "self",
            "href": "/api/channels/gossip/messages?before=3&limit=2"}]}

=== TEST 5: before the first message: an empty page
--- request
GET /api/channels/gossip/messages?before=1
--- response_json
{"channel": {"name": "gossip", "description": "General chat"},
 "items": [],
 "links": [{"rel": "self",
            "href": "/api/channels/gossip/messages?before=1"}]}

=== TEST 6: a hidden message does not count towards the page
--- request
GET /api/channels/gossip/messages?before=5&limit=1
--- response_json
{"channel": {"name": "gossip", "description": "General chat"},
 "items": [{"id": 3, "game": "ExVenture", "name": "bob",
            "text": "third \"quoted\"",
            "truncated": false, "inserted_at": "2026-02-01T12:03:00Z"}],
 "links": [{"rel": "self",
            "href": "/api/channels/gossip/messages?before=5&limit=1"},
           {"rel": "next",
            "href": "/api/channels/gossip/messages?before=3&limit=1"}]}

=== TEST 7: a channel without messages
--- request
GET /api/channels/quiet/messages
--- response_json
{"channel": {"name": "quiet", "description": "nobody talks"}, "items": [],
 "links": [{"rel": "self", "href": "/api/channels/quiet/messages"}]}

=== TEST 8: %{what} is not found
--- cases
what               | channel
a hidden channel   | secret
an unknown channel | nope
--- request
GET /api/channels/%{channel}/messages
--- error_code: 404
--- response_headers
Cache-Control: no-store
Access-Control-Allow-Origin: *
--- response_json
{"error": {"code": "not_found", "message": "channel not found"}}

=== TEST 9: a channel hidden later disappears from the list
--- sql_setup
UPDATE channels SET hidden = true WHERE name = 'quiet';
--- request
GET /api/channels
--- response_json
{"items": [
   {"name": "gossip", "description": "General chat",
    "links": [{"rel": "messages", "href": "/api/channels/gossip/messages"}]},
   {"name": "testing", "description": null,
    "links": [{"rel": "messages",
               "href": "/api/channels/testing/messages"}]}],
 "links": [{"rel": "self", "href": "/api/channels"}]}

=== TEST 10: a message hidden later disappears from the history
--- sql_setup
UPDATE channel_messages SET hidden = true WHERE id = 7;
--- request
GET /api/channels/testing/messages
--- response_json
{"channel": {"name": "testing", "description": null}, "items": [],
 "links": [{"rel": "self", "href": "/api/channels/testing/messages"}]}

=== TEST 11: the largest message id is a valid "before"
--- request
GET /api/channels/gossip/messages?before=9223372036854775807&limit=1
--- response_like
^\{"channel":\{"name":"gossip","description":"General chat"\},"items":\[\{"id":5,

=== TEST 12: a message longer than 2,048 characters is cut, and says so
--- sql_setup
INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message, inserted_at)
SELECT 100, id, 'testing', 'ExVenture', 'Spammer',
       repeat(chr(233), 2048) || 'and more', '2026-02-01 13:00:00+00'
FROM channels WHERE name = 'testing';
INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message, inserted_at)
SELECT 101, id, 'testing', 'ExVenture', 'Alice', repeat(chr(252), 2048),
       '2026-02-01 13:01:00+00'
FROM channels WHERE name = 'testing';
--- request
GET /api/channels/testing/messages
--- response_json
{"channel": {"name": "testing", "description": null},
 "items": [
   {"id": 101, "game": "ExVenture", "name": "Alice",
    "text": "~ ^\\x{fc}{2048}$",
    "truncated": false, "inserted_at": "2026-02-01T13:01:00Z"},
   {"id": 100, "game": "ExVenture", "name": "Spammer",
    "text": "~ ^\\x{e9}{2048}$", "truncated": true,
    "inserted_at": "2026-02-01T13:00:00Z"}],
 "links": [{"rel": "self", "href": "/api/channels/testing/messages"}]}

=== TEST 13: a page of 100 messages of 100 KB each is bounded
--- sql_setup
INSERT INTO channels (remote_id, name) VALUES (50, 'flood');
INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message)
SELECT 1000 + k, c.id, 'flood', 'ExVenture', 'Spammer', repeat('y', 102400)
FROM channels c, generate_series(1, 100) AS k WHERE c.name = 'flood';
--- request
GET /api/channels/flood/messages?limit=100
--- response_like
^\{"channel":\{"name":"flood","description":null\},"items":\[(?:\{"id":\d+,"game":"ExVenture","name":"Spammer","text":"y{2048}","truncated":true,"inserted_at":"[^"]+"\},?){100}\],

=== TEST 14: the channels come 25 a page, by name
--- sql_setup
INSERT INTO channels (remote_id, name)
SELECT 100 + k, 'more' || lpad(k::text, 2, '0')
FROM generate_series(1, 30) AS k;
--- request
GET /api/channels?page=2
--- response_json
{"items": [
   {"name": "more24", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/more24/messages"}]},
   {"name": "more25", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/more25/messages"}]},
   {"name": "more26", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/more26/messages"}]},
   {"name": "more27", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/more27/messages"}]},
   {"name": "more28", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/more28/messages"}]},
   {"name": "more29", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/more29/messages"}]},
   {"name": "more30", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/more30/messages"}]},
   {"name": "testing", "description": null,
    "links": [{"rel": "messages", "href": "/api/channels/testing/messages"}]}],
 "links": [{"rel": "self", "href": "/api/channels?page=2"},
           {"rel": "prev", "href": "/api/channels"}]}

=== TEST 15: the first page of channels links to the next
--- request
GET /api/channels
--- response_like
"links":\[\{"rel":"self","href":"/api/channels"\},\{"rel":"next","href":"/api/channels\?page=2"\}\]\}$
