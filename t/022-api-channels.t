# The JSON API's channels and their history: hidden channels and hidden
# messages never appear; history is newest first, paged by message id.
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
    "inserted_at": "2026-02-01T12:05:00Z"},
   {"id": 3, "game": "ExVenture", "name": "bob", "text": "third \"quoted\"",
    "inserted_at": "2026-02-01T12:03:00Z"},
   {"id": 2, "game": "MidMUD", "name": "Zed", "text": "second",
    "inserted_at": "2026-02-01T12:02:00Z"},
   {"id": 1, "game": "ExVenture", "name": "Alice", "text": "first",
    "inserted_at": "2026-02-01T12:01:00Z"}],
 "links": [{"rel": "self", "href": "/api/channels/gossip/messages"}]}

=== TEST 3: a page of two: a next link to the older ones
--- request
GET /api/channels/GOSSIP/messages?limit=2
--- response_json
{"channel": {"name": "gossip", "description": "General chat"},
 "items": [
   {"id": 5, "game": "MidMUD", "name": "Zed", "text": "fifth",
    "inserted_at": "2026-02-01T12:05:00Z"},
   {"id": 3, "game": "ExVenture", "name": "bob", "text": "third \"quoted\"",
    "inserted_at": "2026-02-01T12:03:00Z"}],
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
    "inserted_at": "2026-02-01T12:02:00Z"},
   {"id": 1, "game": "ExVenture", "name": "Alice", "text": "first",
    "inserted_at": "2026-02-01T12:01:00Z"}],
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
            "inserted_at": "2026-02-01T12:03:00Z"}],
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
