
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * Unit tests of the Gossip protocol layer: every event of the reference
 * (reference/gossip-protocol.md §1.5 and §2.3, the exact JSON), both sync
 * shapes, records that are invalid while the others land (and what the
 * database's columns need), the records as the ingest gets them, every
 * frame-level error, the limits, UTF-8, numbers, duplicate keys,
 * timestamps, the builders (and their round trip through the parser) and
 * allocation failures.  Emits TAP.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_grapevine_protocol.h"
#include "tap.h"


#define is_ostr(s, expected, name)                                           \
    tap_is_str((s).data, (s).len, expected, name)

#define P_OK        NGX_GRAPEVINE_PROTO_OK
#define P_EINVALID  NGX_GRAPEVINE_PROTO_EINVALID
#define P_ABSENT    NGX_GRAPEVINE_PROTO_ABSENT
#define P_NULL      NGX_GRAPEVINE_PROTO_NULL
#define P_SET       NGX_GRAPEVINE_PROTO_SET


/*
 * The test arena: malloc()ed blocks on a list, freed at once; with
 * fail_at, the fail_at-th allocation and all later ones fail.
 */

typedef union t_block_u  t_block_t;

union t_block_u {
    t_block_t    *next;
    long double   align_ld;
    long long     align_ll;
    void         *align_p;
};


typedef struct {
    t_block_t    *blocks;
    size_t        allocs;
    size_t        fail_at;
} t_pool_t;


static void *
t_alloc(void *ctx, size_t size)
{
    t_pool_t   *pool = ctx;
    t_block_t  *b;

    pool->allocs++;

    if (pool->fail_at && pool->allocs >= pool->fail_at) {
        return NULL;
    }

    b = malloc(sizeof(t_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = pool->blocks;
    pool->blocks = b;

    return b + 1;
}


static void
t_pool_free(t_pool_t *pool)
{
    t_block_t  *b, *next;

    for (b = pool->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    pool->blocks = NULL;
    pool->allocs = 0;
    pool->fail_at = 0;
}


static t_pool_t                      pool;
static ngx_grapevine_arena_t         arena = { t_alloc, &pool };
static ngx_grapevine_proto_event_t   ev;
static ngx_grapevine_proto_error_t   err;


static int
parse_n(const char *p, size_t n, const ngx_grapevine_proto_limits_t *limits)
{
    return ngx_grapevine_proto_parse((const u_char *) p, n, limits, &arena,
                                     &ev, &err);
}


static int
parse_l(const char *json, const ngx_grapevine_proto_limits_t *limits)
{
    return parse_n(json, strlen(json), limits);
}


static int
parse(const char *json)
{
    return parse_n(json, strlen(json), NULL);
}


/* the return code and the message, with the message shown on failure */

static int
is_rc(int rc, int expected, const char *name)
{
    if (!tap_ok(rc == expected, "%s: %s", name,
                ngx_grapevine_proto_strerror(expected)))
    {
        tap_diag("       got: %d (%s)", rc, err.msg);
        tap_diag("  expected: %d", expected);
        return 0;
    }

    return 1;
}


static void
parses(const char *json, ngx_grapevine_proto_type_e type, const char *name)
{
    int  rc;

    rc = parse(json);

    if (!tap_ok(rc == P_OK && ev.type == type, "%s parses as %s", name,
                ngx_grapevine_proto_type_name(type)))
    {
        tap_diag("rc %d (%s), type %s", rc, err.msg,
                 ngx_grapevine_proto_type_name(ev.type));
    }
}


static void
rejects(const char *json, int code, const char *msg, const char *name)
{
    is_rc(parse(json), code, name);

    if (msg != NULL) {
        tap_is_cstr(err.msg, msg, name);
    }
}


/* the records of the sync event just parsed, as the ingest gets them */

static void
is_records(const char *expected, const char *name)
{
    int                        rc;
    ngx_grapevine_proto_str_t  out;

    out.len = 0;
    out.data = NULL;

    rc = ngx_grapevine_proto_records_json(&arena, &ev.u.sync, &out, &err);

    if (is_rc(rc, P_OK, name)) {
        tap_is_str(out.data, out.len, expected, name);
    }
}


static ngx_grapevine_proto_str_t
t_str(const char *s)
{
    ngx_grapevine_proto_str_t  str;

    str.len = s ? strlen(s) : 0;
    str.data = (u_char *) s;

    return str;
}


/* §1.5: authenticate, heartbeat, restart */

static void
test_authenticate(void)
{
    size_t       i;
    char         buf[256];

    static const char  *failures[] = {
        "invalid credentials",
        "missing supports",
        "must support channels",
        "includes unknown supports",
        "disconnected due to rate limit abuse"
    };

    parses("{\"event\": \"authenticate\", \"status\": \"success\", "
           "\"payload\": {\"unicode\": \"✔️\", \"version\": \"2.3.0\"}}",
           NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE, "authenticate success");
    tap_is_int(ev.status, NGX_GRAPEVINE_PROTO_STATUS_SUCCESS,
               "authenticate: status success");
    is_ostr(ev.status_text, "success", "authenticate: status text");
    is_ostr(ev.u.authenticate.unicode, "\xe2\x9c\x94\xef\xb8\x8f",
            "authenticate: unicode check mark, byte-exact");
    is_ostr(ev.u.authenticate.version, "2.3.0", "authenticate: version");
    tap_is_int(ev.ref.state, P_ABSENT, "authenticate reply has no ref");
    tap_is_int(ev.error.state, P_ABSENT, "authenticate: error absent");
    tap_is_int(ev.payload, P_SET, "authenticate: payload set");

    for (i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
        snprintf(buf, sizeof(buf), "{\"event\": \"authenticate\", "
                 "\"status\": \"failure\", \"error\": \"%s\"}", failures[i]);

        parse(buf);
        tap_ok(ev.type == NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE
               && ev.status == NGX_GRAPEVINE_PROTO_STATUS_FAILURE
               && ev.error.state == P_SET
               && strcmp((char *) ev.error.data, failures[i]) == 0
               && ev.payload == P_ABSENT,
               "authenticate failure \"%s\"", failures[i]);
    }

    /* the request, as a game would send it */
    parses("{\"event\": \"authenticate\", \"payload\": {"
           "\"client_id\": \"62a8988e-f505-4e9a-ad21-e04e89f1b32b\", "
           "\"client_secret\": \"3ab47e7e-010f-488a-b7d6-a474440efda5\", "
           "\"supports\": [\"channels\", \"players\", \"tells\", "
           "\"games\"], \"channels\": [\"gossip\", \"testing\"], "
           "\"version\": \"2.3.0\", \"user_agent\": \"MyMUD 1.4.2\", "
           "\"players\": [\"Alice\", \"Bob\"], \"debug\": false}}",
           NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE, "authenticate request");
    is_ostr(ev.u.authenticate.client_id,
            "62a8988e-f505-4e9a-ad21-e04e89f1b32b", "request: client_id");
    tap_ok(ev.u.authenticate.supports.nelts == 4
           && memcmp(ev.u.authenticate.supports.elts[3].data, "games", 6)
              == 0, "request: 4 supports, NUL-terminated");
    tap_ok(ev.u.authenticate.channels.nelts == 2
           && ev.u.authenticate.players.nelts == 2,
           "request: 2 channels, 2 players");
    is_ostr(ev.u.authenticate.user_agent, "MyMUD 1.4.2",
            "request: user_agent");
}


static void
test_heartbeat_restart(void)
{
    parses("{\"event\": \"heartbeat\"}", NGX_GRAPEVINE_PROTO_EV_HEARTBEAT,
           "server heartbeat");
    tap_ok(ev.payload == P_ABSENT && ev.status == 0
           && ev.u.heartbeat.players.state == P_ABSENT,
           "server heartbeat: no payload, no status, no players");

    parses("{\"event\": \"heartbeat\", \"payload\": "
           "{\"players\": [\"Alice\", \"Bob\"]}}",
           NGX_GRAPEVINE_PROTO_EV_HEARTBEAT, "client heartbeat");
    tap_ok(ev.u.heartbeat.players.state == P_SET
           && ev.u.heartbeat.players.nelts == 2,
           "client heartbeat: two players");
    is_ostr(ev.u.heartbeat.players.elts[1], "Bob", "client heartbeat: Bob");

    parses("{\"event\": \"heartbeat\", \"payload\": {\"players\": []}}",
           NGX_GRAPEVINE_PROTO_EV_HEARTBEAT, "heartbeat, empty list");
    tap_ok(ev.u.heartbeat.players.state == P_SET
           && ev.u.heartbeat.players.nelts == 0,
           "empty player list is SET with no elements");

    rejects("{\"event\": \"heartbeat\", \"payload\": {\"players\": "
            "[\"Alice\", 7]}}", P_EINVALID,
            "heartbeat: \"players\" is not an array of strings",
            "heartbeat, a number among the players");

    parses("{\"event\": \"restart\", \"ref\": "
           "\"f15ed228-ad43-4af4-9466-7d353fc9bf11\", \"payload\": "
           "{\"downtime\": 15}}", NGX_GRAPEVINE_PROTO_EV_RESTART, "restart");
    is_ostr(ev.ref, "f15ed228-ad43-4af4-9466-7d353fc9bf11", "restart: ref");
    tap_ok(ev.u.restart.downtime.state == P_SET
           && ev.u.restart.downtime.value == 15, "restart: downtime 15");

    rejects("{\"event\": \"restart\", \"payload\": {\"downtime\": 1.5}}",
            P_EINVALID, "restart: \"downtime\" is not an integer",
            "restart, fractional downtime");
    rejects("{\"event\": \"restart\", \"payload\": {\"downtime\": \"15\"}}",
            P_EINVALID, "restart: \"downtime\" is not an integer",
            "restart, downtime as a string");
}


/* §1.5: channels/... */

static void
test_channels(void)
{
    ngx_grapevine_proto_channel_msg_t  *ch = &ev.u.channel;

    parses("{\"event\": \"channels/subscribe\", \"ref\": "
           "\"a6f8006d-ddac-465e-a3df-fb440e83189b\", \"payload\": "
           "{\"channel\": \"gossip\"}}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SUBSCRIBE, "subscribe request");
    is_ostr(ch->channel, "gossip", "subscribe: channel");

    parses("{\"event\": \"channels/subscribe\", \"ref\": "
           "\"a6f8006d-ddac-465e-a3df-fb440e83189b\", \"status\": "
           "\"success\"}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SUBSCRIBE, "subscribe success");
    tap_ok(ev.status == NGX_GRAPEVINE_PROTO_STATUS_SUCCESS
           && ev.payload == P_ABSENT, "subscribe success: no payload");

    parses("{\"event\": \"channels/subscribe\", \"ref\": "
           "\"a6f8006d-ddac-465e-a3df-fb440e83189b\", \"status\": "
           "\"failure\", \"error\": "
           "\"Could not subscribe to \\\"bad channel\\\"\"}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SUBSCRIBE, "subscribe failure");
    is_ostr(ev.error, "Could not subscribe to \"bad channel\"",
            "subscribe failure: error unescaped");

    parses("{\"event\": \"channels/subscribe\", \"status\": \"failure\", "
           "\"error\": \"Could not subscribe to 'this is bad'\"}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SUBSCRIBE,
           "channel failure push after authenticate");
    tap_ok(ev.ref.state == P_ABSENT
           && ev.status == NGX_GRAPEVINE_PROTO_STATUS_FAILURE,
           "channel failure push: no ref, failure");

    parses("{\"event\": \"channels/unsubscribe\", \"ref\": "
           "\"e4d07334-4a4b-44ba-94dc-2b937160a466\", \"payload\": "
           "{\"channel\": \"gossip\"}}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_UNSUBSCRIBE,
           "unsubscribe request");
    parses("{\"event\": \"channels/unsubscribe\", \"ref\": "
           "\"e4d07334-4a4b-44ba-94dc-2b937160a466\", \"status\": "
           "\"success\"}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_UNSUBSCRIBE,
           "unsubscribe success");

    parses("{\"event\": \"channels/send\", \"ref\": "
           "\"28523394-6dcf-4c2a-ad1d-2d0ef8bb823b\",\n \"payload\": "
           "{\"channel\": \"gossip\", \"name\": \"Alice\", \"message\": "
           "\"Hello everyone!\"}}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND, "channels/send request");
    tap_ok(ch->name.len == 5 && ch->message.len == 15
           && ch->game.state == P_ABSENT, "send: name, message, no game");
    parses("{\"event\": \"channels/send\", \"ref\": "
           "\"28523394-6dcf-4c2a-ad1d-2d0ef8bb823b\", \"status\": "
           "\"success\"}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND, "channels/send success");

    parses("{\"event\": \"channels/broadcast\", \"ref\": "
           "\"89036074-446f-41ab-b87a-44ef1f962f2e\",\n \"payload\": "
           "{\"channel\": \"gossip\", \"message\": \"Hello everyone!\", "
           "\"game\": \"ExVenture\", \"name\": \"Player\"}}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST, "broadcast");
    is_ostr(ch->channel, "gossip", "broadcast: channel");
    is_ostr(ch->message, "Hello everyone!", "broadcast: message");
    is_ostr(ch->game, "ExVenture", "broadcast: game");
    is_ostr(ch->name, "Player", "broadcast: name");
    tap_ok(ch->name.data[ch->name.len] == '\0',
           "broadcast: strings are NUL-terminated");

    parses("{\"event\":\"channels/broadcast\",\"payload\":{"
           "\"channel\":\"gossip\",\"game\":\"Grapevine\",\"name\":\"system\","
           "\"message\":\"[SYSTEM] This channel has been paused for the "
           "next 30 minutes\"}}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST,
           "broadcast: GV-HEAD system notice");

    rejects("{\"event\": \"channels/broadcast\", \"payload\": "
            "{\"channel\": \"gossip\", \"game\": \"G\", \"name\": \"N\"}}",
            P_EINVALID, "channels/broadcast: \"message\" missing",
            "broadcast without message");
    rejects("{\"event\": \"channels/broadcast\", \"payload\": "
            "{\"channel\": 7, \"message\": \"m\", \"game\": \"G\", "
            "\"name\": \"N\"}}",
            P_EINVALID, "channels/broadcast: \"channel\" is not a string",
            "broadcast with a numeric channel");
    rejects("{\"event\": \"channels/broadcast\", \"payload\": "
            "{\"channel\": null, \"message\": \"m\", \"game\": \"G\", "
            "\"name\": \"N\"}}",
            P_EINVALID, "channels/broadcast: \"channel\" is null",
            "broadcast with a null channel");
    rejects("{\"event\": \"channels/broadcast\", \"ref\": \"x\"}",
            P_EINVALID, "channels/broadcast: \"payload\" missing",
            "broadcast without payload");
    rejects("{\"event\": \"channels/broadcast\", \"payload\": [1]}",
            P_EINVALID, "channels/broadcast: \"payload\" is not an object",
            "broadcast with an array payload");

    /* the envelope is still there with EINVALID */
    tap_ok(ev.type == NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST
           && ev.event.state == P_SET && ev.payload == P_SET,
           "EINVALID still fills the envelope");
}


/* §1.5: players/... */

static void
test_players(void)
{
    ngx_grapevine_proto_players_t  *pl = &ev.u.players;

    parses("{\"event\": \"players/sign-in\", \"ref\": "
           "\"0e11c053-65b3-477c-aae9-5cd8cf21dc8f\", \"status\": "
           "\"success\"}",
           NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN, "sign-in success reply");

    parses("{\"event\": \"players/sign-in\",  \"ref\": \"<server uuid>\", "
           "\"payload\": {\"game\": \"ExVenture\", \"name\": \"Player\"}}",
           NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN, "sign-in push");
    is_ostr(pl->game, "ExVenture", "sign-in: game");
    is_ostr(pl->name, "Player", "sign-in: name");

    parses("{\"event\": \"players/sign-out\", \"ref\": \"<server uuid>\", "
           "\"payload\": {\"game\": \"ExVenture\", \"name\": \"Player\"}}",
           NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_OUT, "sign-out push");
    is_ostr(pl->name, "Player", "sign-out: name");

    /* the request shape is not something the hub sends */
    rejects("{\"event\": \"players/sign-in\", \"ref\": "
            "\"0e11c053-65b3-477c-aae9-5cd8cf21dc8f\", \"payload\": "
            "{\"name\": \"Alice\"}}",
            P_EINVALID, "players/sign-in: \"game\" missing",
            "sign-in request shape (no game) as a push");
    rejects("{\"event\": \"players/sign-out\"}", P_EINVALID,
            "players/sign-out: \"payload\" missing", "bare sign-out");

    parses("{\"event\": \"players/status\", \"ref\": "
           "\"c8cbaef2-b6e9-4110-b712-a312aee9e7d4\"}",
           NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS, "players/status request");

    parses("{\"event\": \"players/status\", \"ref\": "
           "\"c8cbaef2-b6e9-4110-b712-a312aee9e7d4\", \"payload\": "
           "{\"game\": \"ExVenture\", \"players\": [\"admin\"]}}",
           NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS, "players/status reply");
    tap_ok(ev.status == NGX_GRAPEVINE_PROTO_STATUS_NONE,
           "players/status reply has no status");
    is_ostr(pl->game, "ExVenture", "players/status: game");
    tap_ok(pl->players.nelts == 1, "players/status: one player");
    is_ostr(pl->players.elts[0], "admin", "players/status: admin");

    parses("{\"event\": \"players/status\", \"ref\": \"…\", \"status\": "
           "\"failure\", \"error\": \"unknown game\"}",
           NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS, "players/status failure");
    is_ostr(ev.error, "unknown game", "players/status: unknown game");
    is_ostr(ev.ref, "\xe2\x80\xa6", "players/status: ref is an ellipsis");
}


/* §1.5: tells/... */

static void
test_tells(void)
{
    ngx_grapevine_proto_tell_t  *t = &ev.u.tell;

    parses("{\"event\": \"tells/send\", \"ref\": "
           "\"5c528fc3-cb9e-4867-98ea-6e235594241e\",\n \"payload\": "
           "{\"from_name\": \"Alice\", \"to_game\": \"ExVenture\", "
           "\"to_name\": \"eric\", \"sent_at\": \"2018-07-17T13:12:28Z\", "
           "\"message\": \"hi\"}}",
           NGX_GRAPEVINE_PROTO_EV_TELLS_SEND, "tells/send request");
    is_ostr(t->to_game, "ExVenture", "tells/send: to_game");
    is_ostr(t->sent_at, "2018-07-17T13:12:28.000000Z",
            "tells/send: sent_at normalised");

    parses("{\"event\": \"tells/send\", \"ref\": "
           "\"5c528fc3-cb9e-4867-98ea-6e235594241e\", \"status\": "
           "\"success\"}", NGX_GRAPEVINE_PROTO_EV_TELLS_SEND,
           "tells/send success");
    parses("{\"event\": \"tells/send\", \"ref\": "
           "\"5c528fc3-cb9e-4867-98ea-6e235594241e\", \"status\": "
           "\"failure\", \"error\": \"game offline\"}",
           NGX_GRAPEVINE_PROTO_EV_TELLS_SEND, "tells/send failure");
    is_ostr(ev.error, "game offline", "tells/send: game offline");

    parses("{\"event\": \"tells/receive\", \"ref\": "
           "\"d4a08749-acbe-45ab-bc0f-51609fd6b95b\",\n \"payload\": "
           "{\"from_game\": \"AMud\", \"from_name\": \"Player\", "
           "\"to_name\": \"eric\", \"sent_at\": \"2018-07-17T13:12:28Z\", "
           "\"message\": \"hi\"}}",
           NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE, "tells/receive");
    is_ostr(t->from_game, "AMud", "receive: from_game");
    is_ostr(t->from_name, "Player", "receive: from_name");
    is_ostr(t->to_name, "eric", "receive: to_name");
    is_ostr(t->sent_at, "2018-07-17T13:12:28.000000Z", "receive: sent_at");
    is_ostr(t->message, "hi", "receive: message");
    tap_is_int(t->to_game.state, P_ABSENT, "receive: to_game absent");

    parses("{\"event\": \"tells/receive\", \"payload\": "
           "{\"from_game\": \"Grapevine\", \"from_name\": \"system\", "
           "\"to_name\": \"eric\", "
           "\"sent_at\": \"2019-01-20T17:00:00.123456Z\", "
           "\"message\": \"hi\"}}",
           NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE,
           "tells/receive with microseconds");
    is_ostr(t->sent_at, "2019-01-20T17:00:00.123456Z",
            "receive: microseconds kept");

    rejects("{\"event\": \"tells/receive\", \"payload\": "
            "{\"from_game\": \"AMud\", \"from_name\": \"Player\", "
            "\"to_name\": \"eric\", \"sent_at\": \"yesterday\", "
            "\"message\": \"hi\"}}",
            P_EINVALID, "tells/receive: \"sent_at\" is not an ISO-8601 time",
            "tells/receive with a bad sent_at");
    rejects("{\"event\": \"tells/receive\", \"payload\": "
            "{\"from_game\": \"AMud\", \"from_name\": \"Player\", "
            "\"to_name\": \"eric\", \"sent_at\": \"2018-07-17T13:12:28Z\"}}",
            P_EINVALID, "tells/receive: \"message\" missing",
            "tells/receive without message");
}


/* §1.5: games/..., achievements/..., generic failures */

static void
test_games(void)
{
    ngx_grapevine_proto_game_t  *g = &ev.u.game;

    parses("{\"event\": \"games/status\", \"ref\": "
           "\"c8cbaef2-b6e9-4110-b712-a312aee9e7d4\"}",
           NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS, "games/status request");

    parses("{\"event\": \"games/status\", \"ref\": "
           "\"c8cbaef2-b6e9-4110-b712-a312aee9e7d4\", \"status\": "
           "\"success\",\n \"payload\": {\n"
           "   \"game\": \"ExVenture\", \"display_name\": "
           "\"An ExVenture game\",\n"
           "   \"description\": \"...\", \"homepage_url\": \"https://...\",\n"
           "   \"user_agent\": \"ExVenture 0.26.0\", \"user_agent_url\": "
           "\"https://github.com/...\",\n"
           "   \"connections\": [\n"
           "     {\"type\": \"telnet\", \"host\": \"example.com\", "
           "\"port\": 4000},\n"
           "     {\"type\": \"secure telnet\", \"host\": \"example.com\", "
           "\"port\": 4443},\n"
           "     {\"type\": \"web\", \"url\": \"https://example.com/play\"}\n"
           "   ],\n"
           "   \"supports\": [\"channels\", \"players\", \"tells\", "
           "\"games\"],\n"
           "   \"channels\": [\"gossip\"],\n"
           "   \"player_online_count\": 3\n"
           " }}", NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS, "games/status reply");
    is_ostr(g->short_name, "ExVenture", "games/status: game");
    is_ostr(g->display_name, "An ExVenture game",
            "games/status: display_name");
    is_ostr(g->user_agent_url, "https://github.com/...",
            "games/status: user_agent_url");
    tap_ok(g->connections.state == P_SET && g->connections.nelts == 3,
           "games/status: three connections");
    is_ostr(g->connections.elts[1].type, "secure telnet",
            "games/status: connection type");
    tap_ok(g->connections.elts[1].port.value == 4443
           && g->connections.elts[2].port.state == P_ABSENT,
           "games/status: ports");
    is_ostr(g->connections.elts[2].url, "https://example.com/play",
            "games/status: web url");
    tap_ok(g->supports.nelts == 4 && g->channels.nelts == 1,
           "games/status: supports and channels");
    tap_ok(g->player_online_count.value == 3, "games/status: 3 online");
    tap_ok(g->id.state == P_ABSENT && g->display.state == P_ABSENT,
           "games/status: no id, no display");

    parses("{\"event\": \"games/status\", \"ref\": \"…\", \"status\": "
           "\"failure\", \"error\": \"unknown game\"}",
           NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS, "games/status failure");

    parses("{\"event\": \"games/status\", \"ref\": \"r\", \"status\": "
           "\"failure\", \"payload\": {\"errors\": {\"game\": "
           "[\"not found\"]}}}", NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS,
           "a failure with a payload that lacks required fields");
    tap_ok(ev.payload == P_SET && g->short_name.state == P_ABSENT,
           "a failure reply says nothing about its payload");

    parses("{\"event\": \"games/connect\",    \"ref\": \"<server uuid>\", "
           "\"payload\": {\"game\": \"ExVenture\"}}",
           NGX_GRAPEVINE_PROTO_EV_GAMES_CONNECT, "games/connect");
    is_ostr(g->short_name, "ExVenture", "games/connect: game");
    parses("{\"event\": \"games/disconnect\", \"ref\": \"<server uuid>\", "
           "\"payload\": {\"game\": \"ExVenture\"}}",
           NGX_GRAPEVINE_PROTO_EV_GAMES_DISCONNECT, "games/disconnect");
    is_ostr(g->short_name, "ExVenture", "games/disconnect: game");
    rejects("{\"event\": \"games/connect\", \"payload\": {}}", P_EINVALID,
            "games/connect: \"game\" missing", "games/connect without game");

    parses("{\"event\": \"achievements/sync\", \"ref\": "
           "\"1dfae6f6-c0a8-4da5-a1e3-3ba656880d90\"}",
           NGX_GRAPEVINE_PROTO_EV_UNKNOWN, "achievements/sync");
    is_ostr(ev.event, "achievements/sync", "unknown event keeps its name");

    parses("{\"event\": \"achievements/update\", \"ref\": \"…\", "
           "\"status\": \"failure\", \"payload\": {\"errors\": "
           "{\"title\": [\"can't be blank\"]}}}",
           NGX_GRAPEVINE_PROTO_EV_UNKNOWN,
           "achievements/update failure, payload skipped");
    tap_is_int(ev.payload, P_SET, "skipped payload is still seen");

    parses("{\"status\":\"failure\",\"error\":\"unknown\"}",
           NGX_GRAPEVINE_PROTO_EV_FAILURE, "non-JSON failure");
    is_ostr(ev.error, "unknown", "failure: error");
    tap_is_int(ev.event.state, P_ABSENT, "failure: no event");
    parses("{\"status\":\"failure\",\"error\":\"unauthenticated\"}",
           NGX_GRAPEVINE_PROTO_EV_FAILURE, "unauthenticated failure");
    parses("{\"event\":null,\"status\":\"failure\",\"error\":\"x\"}",
           NGX_GRAPEVINE_PROTO_EV_FAILURE, "null event with a status");
    rejects("{\"ref\":\"x\"}", P_EINVALID, "\"event\" missing",
            "neither event nor status");
    rejects("{\"event\":null}", P_EINVALID, "\"event\" is null",
            "null event, no status");
    rejects("{\"event\":7,\"payload\":{}}", P_EINVALID,
            "\"event\" is not a string", "numeric event");
}


/* §2.3: the sync request and its reply */

static void
test_sync_request(void)
{
    parses("{\"event\": \"sync\", \"payload\": "
           "{\"since\": \"2018-11-24T12:00:00Z\"}}",
           NGX_GRAPEVINE_PROTO_EV_SYNC, "sync request");
    is_ostr(ev.u.sync_request.since, "2018-11-24T12:00:00.000000Z",
            "sync: since normalised");

    parses("{\"event\": \"sync\", \"payload\": {\"since\": null}}",
           NGX_GRAPEVINE_PROTO_EV_SYNC, "sync request since null");
    tap_ok(ev.u.sync_request.since.state == P_NULL
           && ev.u.sync_request.since.data == NULL, "sync: since is NULL");

    parses("{\"event\":\"sync\",\"ref\":\"r1\",\"status\":\"success\"}",
           NGX_GRAPEVINE_PROTO_EV_SYNC, "sync success reply");
    tap_is_int(ev.u.sync_request.since.state, P_ABSENT,
               "sync reply: since absent");
}


/* §2.3: sync/... in both shapes */

#define SYNC_GAMES_V2                                                         \
    "{\"event\": \"sync/games\", \"ref\": \"<uuid>\", \"payload\": [\n"       \
    "  {\"action\": \"update\", \"logged_at\": \"2019-01-18T19:20:11Z\", "    \
    "\"payload\": {\n"                                                        \
    "    \"id\": 12, \"game\": \"ExVenture\", \"display_name\": "             \
    "\"ExVenture Demo\", \"display\": true,\n"                                \
    "    \"description\": \"...\", \"homepage_url\": "                        \
    "\"https://exventure.org\",\n"                                            \
    "    \"user_agent\": \"ExVenture 0.27.0\", \"user_agent_url\": "          \
    "\"https://github.com/oestrich/ex_venture\",\n"                           \
    "    \"connections\": [\n"                                                \
    "      {\"id\": \"5f7c…-uuid\", \"type\": \"telnet\", "                  \
    "\"host\": "                                                             \
    "\"exventure.org\", \"port\": 5555},\n"                                   \
    "      {\"id\": \"a1b2…-uuid\", \"type\": \"web\", "                     \
    "\"url\": "                                                              \
    "\"https://exventure.org/play\"}],\n"                                     \
    "    \"redirect_uris\": "                                                 \
    "[\"https://example.com/auth/grapevine/callback\"],\n"                    \
    "    \"allow_character_registration\": true,\n"                           \
    "    \"client_id\": \"…uuid…\", "                                      \
    "\"client_secret\": \"…uuid…\",\n"                                     \
    "    \"mssp_last_seen_at\": \"2019-01-18T19:00:00Z\"}}]}"


static void
test_sync_v2(void)
{
    ngx_grapevine_proto_sync_t    *s = &ev.u.sync;
    ngx_grapevine_proto_game_t    *g;
    ngx_grapevine_proto_record_t  *r;

    parses(SYNC_GAMES_V2, NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES,
           "v2 sync/games (reference)");
    tap_ok(s->kind == NGX_GRAPEVINE_PROTO_REC_GAME
           && s->shape == NGX_GRAPEVINE_PROTO_SHAPE_V2
           && s->nrecords == 1 && s->ninvalid == 0,
           "v2 games: one valid game record");

    r = &s->records[0];
    g = &r->u.game;

    tap_is_int(r->action, NGX_GRAPEVINE_PROTO_ACTION_UPDATE,
               "v2 games: action update");
    is_ostr(r->logged_at, "2019-01-18T19:20:11.000000Z",
            "v2 games: logged_at");
    tap_ok(!r->invalid && r->error == NULL, "v2 games: no error");
    tap_ok(g->id.state == P_SET && g->id.value == 12, "v2 games: id 12");
    is_ostr(g->short_name, "ExVenture", "v2 games: game -> short_name");
    is_ostr(g->display_name, "ExVenture Demo", "v2 games: display_name");
    tap_ok(g->display.state == P_SET && g->display.value == 1,
           "v2 games: display true");
    is_ostr(g->homepage_url, "https://exventure.org", "v2 games: homepage");
    is_ostr(g->user_agent, "ExVenture 0.27.0", "v2 games: user_agent");
    tap_ok(g->allow_character_registration.value == 1,
           "v2 games: allow_character_registration");
    is_ostr(g->client_secret, "…uuid…", "v2 games: client_secret");
    is_ostr(g->mssp_last_seen_at, "2019-01-18T19:00:00.000000Z",
            "v2 games: mssp_last_seen_at");
    tap_ok(g->redirect_uris.nelts == 1, "v2 games: one redirect uri");
    is_ostr(g->redirect_uris.elts[0],
            "https://example.com/auth/grapevine/callback",
            "v2 games: redirect uri");
    tap_ok(g->connections.nelts == 2
           && g->connections.elts[0].port.value == 5555,
           "v2 games: two connections, port 5555");
    is_ostr(g->connections.elts[1].id, "a1b2…-uuid",
            "v2 games: connection id");
    is_records("[{\"id\":12,\"game\":\"ExVenture\","
               "\"display_name\":\"ExVenture Demo\",\"display\":true,"
               "\"description\":\"...\","
               "\"homepage_url\":\"https://exventure.org\","
               "\"user_agent\":\"ExVenture 0.27.0\","
               "\"user_agent_url\":"
               "\"https://github.com/oestrich/ex_venture\","
               "\"allow_character_registration\":true,"
               "\"client_id\":\"…uuid…\","
               "\"client_secret\":\"…uuid…\","
               "\"mssp_last_seen_at\":\"2019-01-18T19:00:00.000000Z\","
               "\"redirect_uris\":"
               "[\"https://example.com/auth/grapevine/callback\"],"
               "\"connections\":["
               "{\"id\":\"5f7c…-uuid\",\"type\":\"telnet\","
               "\"host\":\"exventure.org\",\"port\":5555},"
               "{\"id\":\"a1b2…-uuid\",\"type\":\"web\","
               "\"url\":\"https://exventure.org/play\"}],"
               "\"logged_at\":\"2019-01-18T19:20:11.000000Z\"}]",
               "v2 games: the records for the ingest, compact, in the "
               "schema's order");

    parses("{\"event\": \"sync/channels\", \"ref\": \"<uuid>\", "
           "\"payload\": [\n"
           "  {\"action\": \"create\", \"logged_at\": "
           "\"2018-11-25T01:00:00Z\",\n"
           "   \"payload\": {\"id\": 1, \"name\": \"gossip\", "
           "\"description\": null, \"hidden\": false,\n"
           "               \"inserted_at\": \"2018-06-28T12:45:55\", "
           "\"updated_at\": \"2018-07-06T01:19:48\"}}]}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS, "v2 sync/channels");
    r = &s->records[0];
    tap_ok(s->nrecords == 1
           && r->action == NGX_GRAPEVINE_PROTO_ACTION_CREATE
           && r->u.channel.id.value == 1, "v2 channels: create #1");
    is_ostr(r->u.channel.name, "gossip", "v2 channels: name");
    tap_ok(r->u.channel.description.state == P_NULL
           && r->u.channel.description.data == NULL,
           "v2 channels: description null, distinct from absent");
    tap_ok(r->u.channel.hidden.state == P_SET
           && r->u.channel.hidden.value == 0, "v2 channels: hidden false");

    parses("{\"event\":\"sync/events\",\"payload\":["
           "{\"action\":\"create\",\"logged_at\":\"2018-11-25T01:00:00Z\","
           "\"payload\":{\"id\":2,\"game_id\":12,\"title\":\"Double XP\","
           "\"description\":\"Fun\",\"start_date\":\"2018-12-01\","
           "\"end_date\":\"2018-12-03\"}},"
           "{\"action\":\"delete\",\"logged_at\":\"2018-11-26T01:00:00Z\","
           "\"payload\":{\"id\":2}}]}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_EVENTS, "v2 sync/events");
    tap_ok(s->nrecords == 2 && s->ninvalid == 0
           && s->records[0].u.event.game_id.value == 12,
           "v2 events: create and delete");
    is_ostr(s->records[0].u.event.start_date, "2018-12-01",
            "v2 events: start_date as sent");
    tap_ok(s->records[1].action == NGX_GRAPEVINE_PROTO_ACTION_DELETE
           && s->records[1].u.event.title.state == P_ABSENT,
           "v2 events: a delete needs only the id");

    parses("{\"event\":\"sync/achievements\",\"payload\":["
           "{\"action\":\"update\",\"logged_at\":\"2019-01-05T10:00:00Z\","
           "\"payload\":{\"id\":5,\"game_id\":12,"
           "\"key\":\"ea7fb436-a99e-4e78-ad10-46acc6fb6912\","
           "\"title\":\"Level Up!\","
           "\"description\":\"You leveled up to level 10!\",\"points\":10,"
           "\"display\":true,\"partial_progress\":false,"
           "\"total_progress\":null}}]}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_ACHIEVEMENTS, "v2 sync/achievements");
    r = &s->records[0];
    tap_ok(r->u.achievement.points.value == 10
           && r->u.achievement.partial_progress.state == P_SET
           && r->u.achievement.total_progress.state == P_NULL,
           "v2 achievements: points, partial, total_progress null");
    is_ostr(r->u.achievement.key, "ea7fb436-a99e-4e78-ad10-46acc6fb6912",
            "v2 achievements: key");

    parses("{\"event\":\"sync/channels\",\"payload\":[]}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS, "v2 empty list");
    tap_ok(s->shape == NGX_GRAPEVINE_PROTO_SHAPE_V2 && s->nrecords == 0,
           "v2 empty list: no records");
}


static void
test_sync_v1(void)
{
    ngx_grapevine_proto_sync_t    *s = &ev.u.sync;
    ngx_grapevine_proto_record_t  *r;

    parses("{\"event\": \"sync/channels\", \"payload\": {\"channels\": "
           "[{\"id\": 1, \"name\": \"gossip\", \"description\": \"...\", "
           "\"hidden\": false}]}}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS, "v1 sync/channels (blog)");
    r = &s->records[0];
    tap_ok(s->shape == NGX_GRAPEVINE_PROTO_SHAPE_V1 && s->nrecords == 1
           && r->action == NGX_GRAPEVINE_PROTO_ACTION_UPSERT
           && r->logged_at.state == P_ABSENT,
           "v1 channels: one UPSERT without logged_at");
    is_ostr(r->u.channel.description, "...", "v1 channels: description");

    parses("{\"event\":\"sync/games\",\"ref\":\"u\",\"payload\":{\"games\":["
           "{\"id\":1,\"game\":\"A\",\"display_name\":\"Game A\","
           "\"connections\":null},"
           "{\"id\":2,\"game\":\"B\",\"display_name\":\"Game B\","
           "\"connections\":[]}]}}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES, "v1 sync/games");
    tap_ok(s->nrecords == 2 && s->ninvalid == 0, "v1 games: two records");
    tap_ok(s->records[0].u.game.connections.state == P_NULL,
           "v1 games: connections null");
    is_records("[{\"id\":1,\"game\":\"A\",\"display_name\":\"Game A\"},"
               "{\"id\":2,\"game\":\"B\",\"display_name\":\"Game B\","
               "\"connections\":[]}]",
               "v1 games: the records: connections null left out, [] kept, "
               "no logged_at");
    tap_is_int(s->records[0].u.game.redirect_uris.state, P_ABSENT,
               "v1 games: redirect_uris absent");

    parses("{\"event\":\"sync/events\",\"payload\":{\"events\":["
           "{\"id\":3,\"title\":\"Raid\"}]}}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_EVENTS, "v1.5 sync/events");
    parses("{\"event\":\"sync/achievements\",\"payload\":{\"achievements\":"
           "[{\"id\":3,\"title\":\"T\"}],\"total\":1}}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_ACHIEVEMENTS, "v1 sync/achievements");

    rejects("{\"event\":\"sync/channels\",\"payload\":{\"games\":[]}}",
            P_EINVALID, "sync/channels: \"channels\" missing",
            "v1 payload with the wrong key");
    rejects("{\"event\":\"sync/channels\",\"payload\":{\"channels\":{}}}",
            P_EINVALID, "sync/channels: \"channels\" is not an array",
            "v1 list that is an object");
    rejects("{\"event\":\"sync/games\",\"payload\":\"x\"}", P_EINVALID,
            "sync/games: \"payload\" is not an object or an array",
            "sync payload that is a string");
    rejects("{\"event\":\"sync/games\"}", P_EINVALID,
            "sync/games: \"payload\" missing", "sync without payload");
    parses("{\"event\":\"sync/games\",\"status\":\"failure\","
           "\"error\":\"x\"}", NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES,
           "sync failure without payload");
}


/* invalid records are marked and skipped, the others land */

static void
test_sync_invalid(void)
{
    size_t                         i;
    ngx_grapevine_proto_sync_t    *s = &ev.u.sync;

    static const char  *errors[] = {
        NULL,
        "game #12: \"display_name\" missing",
        "game record 3: \"id\" is not an integer",
        "game record 4: not an object",
        "game #5: \"action\" missing",
        "game #6: \"action\" is not create, update or delete",
        "game record 7: \"payload\" missing",
        "game #8: \"logged_at\" is not an ISO-8601 time",
        NULL,
        "game record 10: \"id\" missing",
        "game #11: \"connections[2].port\" is not an integer",
        "game #13: \"connections[1].type\" missing",
        "game #14: \"display_name\" is null",
        "game #15: \"redirect_uris\" is not an array of strings",
        "game #16: \"connections[1]\" is not an object",
        "game record 16: \"id\" is not an integer",
        NULL
    };

    is_rc(parse("{\"event\":\"sync/games\",\"payload\":["
                "{\"action\":\"create\",\"payload\":"
                "{\"id\":1,\"game\":\"A\",\"display_name\":\"A\"}},"
                "{\"action\":\"create\",\"payload\":{\"id\":12,"
                "\"game\":\"B\"}},"
                "{\"action\":\"update\",\"payload\":{\"id\":\"3\","
                "\"game\":\"C\",\"display_name\":\"C\"}},"
                "[\"not\",\"a\",\"record\"],"
                "{\"payload\":{\"id\":5,\"game\":\"E\","
                "\"display_name\":\"E\"}},"
                "{\"action\":\"upsert\",\"payload\":"
                "{\"id\":6,\"game\":\"F\",\"display_name\":\"F\"}},"
                "{\"action\":\"update\","
                "\"logged_at\":\"2019-01-01T00:00:00Z\"},"
                "{\"action\":\"update\",\"logged_at\":\"2019-02-30T00:00:00Z\","
                "\"payload\":{\"id\":8,\"game\":\"H\",\"display_name\":\"H\"}},"
                "{\"action\":\"delete\",\"payload\":{\"id\":9}},"
                "{\"action\":\"delete\",\"payload\":{\"game\":\"J\"}},"
                "{\"action\":\"update\",\"payload\":{\"id\":11,\"game\":\"K\","
                "\"display_name\":\"K\",\"connections\":[{\"type\":\"web\"},"
                "{\"type\":\"telnet\",\"port\":\"23\"}]}},"
                "{\"action\":\"update\",\"payload\":{\"id\":13,\"game\":\"L\","
                "\"display_name\":\"L\",\"connections\":[{\"url\":\"u\"}]}},"
                "{\"action\":\"update\",\"payload\":{\"id\":14,\"game\":\"M\","
                "\"display_name\":null}},"
                "{\"action\":\"update\",\"payload\":{\"id\":15,\"game\":\"N\","
                "\"display_name\":\"N\",\"redirect_uris\":[\"a\",{}]}},"
                "{\"action\":\"update\",\"payload\":{\"id\":16,\"game\":\"O\","
                "\"display_name\":\"O\",\"connections\":[5]}},"
                "{\"action\":\"update\",\"payload\":{\"game\":\"P\","
                "\"display_name\":\"P\",\"id\":17.0}},"
                "{\"action\":\"update\",\"payload\":{\"id\":18,\"game\":\"Q\","
                "\"display_name\":\"Q\",\"unknown\":{\"deep\":[1,2,{}]}}}"
                "]}"), P_OK, "a batch of 17 versions, 14 of them bad");

    tap_ok(s->nrecords == 17, "all 17 records are returned");
    tap_is_int(s->ninvalid, 14, "14 are marked invalid");

    for (i = 0; i < 17 && i < s->nrecords; i++) {
        if (errors[i] == NULL) {
            tap_ok(!s->records[i].invalid && s->records[i].error == NULL,
                   "record %zu is valid", i + 1);

        } else {
            tap_ok(s->records[i].invalid, "record %zu is invalid", i + 1);
            tap_is_cstr(s->records[i].error, errors[i], errors[i]);
        }
    }

    tap_ok(s->records[8].action == NGX_GRAPEVINE_PROTO_ACTION_DELETE
           && s->records[8].u.game.id.value == 9,
           "the delete of game 9 lands");
    tap_ok(s->records[16].u.game.id.value == 18
           && s->records[16].index == 16,
           "the last record, after a skipped subtree, lands");
}


/*
 * What the database's columns need is checked here too, so that the
 * ingest stores a valid record as it comes: an event or an achievement
 * names its game, dates are dates, 32-bit columns get 32-bit numbers.
 */

static void
test_sync_columns(void)
{
    size_t                        i;
    ngx_grapevine_proto_sync_t   *s = &ev.u.sync;

    static const char  *errors[] = {
        NULL,
        "event #2: \"game_id\" missing",
        NULL,
        NULL,
        "event #5: \"end_date\" is not a date",
        "event #6: \"start_date\" is not a date",
        "event #7: \"start_date\" is not a date"
    };

    is_rc(parse("{\"event\":\"sync/events\",\"payload\":["
                "{\"action\":\"create\",\"logged_at\":"
                "\"2019-01-01T00:00:00Z\",\"payload\":{\"id\":1,"
                "\"game_id\":12,\"title\":\"A\","
                "\"start_date\":\"2019-02-28\","
                "\"end_date\":\"2020-02-29T23:59:59.5Z\"}},"
                "{\"action\":\"create\",\"payload\":{\"id\":2,"
                "\"title\":\"B\"}},"
                "{\"action\":\"delete\",\"logged_at\":"
                "\"2019-01-02T00:00:00Z\",\"payload\":{\"id\":3}},"
                "{\"action\":\"update\",\"payload\":{\"id\":4,"
                "\"game_id\":-7,\"title\":\"D\",\"start_date\":null}},"
                "{\"action\":\"update\",\"payload\":{\"id\":5,"
                "\"game_id\":1,\"title\":\"E\","
                "\"end_date\":\"2019-02-29\"}},"
                "{\"action\":\"update\",\"payload\":{\"id\":6,"
                "\"game_id\":1,\"title\":\"F\","
                "\"start_date\":\"2019-01-01 tomorrow\"}},"
                "{\"action\":\"update\",\"payload\":{\"id\":7,"
                "\"game_id\":1,\"title\":\"G\",\"start_date\":20190101}}"
                "]}"), P_OK, "events: 7 versions, 3 bad");

    for (i = 0; i < 7 && i < s->nrecords; i++) {
        if (errors[i] == NULL) {
            tap_ok(!s->records[i].invalid, "event %zu is valid", i + 1);

        } else {
            tap_is_cstr(s->records[i].error, errors[i], errors[i]);
        }
    }

    is_ostr(s->records[0].u.event.end_date, "2020-02-29",
            "a timestamp as a date: its day");

    is_records("[{\"id\":1,\"game_id\":12,\"title\":\"A\","
               "\"start_date\":\"2019-02-28\",\"end_date\":\"2020-02-29\","
               "\"logged_at\":\"2019-01-01T00:00:00.000000Z\"},"
               "{\"id\":3,\"logged_at\":\"2019-01-02T00:00:00.000000Z\","
               "\"deleted\":true},"
               "{\"id\":4,\"game_id\":-7,\"title\":\"D\"}]",
               "events: the valid ones for the ingest, a delete marked");

    is_rc(parse("{\"event\":\"sync/achievements\",\"payload\":"
                "{\"achievements\":["
                "{\"id\":1,\"game_id\":2,\"title\":\"A\","
                "\"points\":-2147483648,\"total_progress\":2147483647},"
                "{\"id\":2,\"game_id\":2,\"title\":\"B\","
                "\"points\":2147483648},"
                "{\"id\":3,\"game_id\":2,\"title\":\"C\","
                "\"total_progress\":-2147483649},"
                "{\"id\":4,\"title\":\"D\"}]}}"), P_OK,
          "achievements: 32-bit points and progress, a game");
    tap_ok(!s->records[0].invalid, "achievement: the limits of 32 bits");
    tap_is_cstr(s->records[1].error,
                "achievement #2: \"points\" is out of range",
                "achievement: points above 32 bits");
    tap_is_cstr(s->records[2].error,
                "achievement #3: \"total_progress\" is out of range",
                "achievement: total_progress below 32 bits");
    tap_is_cstr(s->records[3].error,
                "achievement #4: \"game_id\" missing",
                "achievement: without its game");

    is_rc(parse("{\"event\":\"sync/games\",\"payload\":{\"games\":["
                "{\"id\":1,\"game\":\"A\",\"display_name\":\"A\","
                "\"connections\":[{\"type\":\"telnet\",\"port\":65536}]},"
                "{\"id\":2,\"game\":\"B\",\"display_name\":\"B\","
                "\"connections\":[{\"type\":\"telnet\","
                "\"port\":4294967296}]}]}}"), P_OK, "games: ports");
    tap_ok(!s->records[0].invalid, "a port that fits the column");
    tap_is_cstr(s->records[1].error,
                "game #2: \"connections[1].port\" is out of range",
                "a port that does not");

    is_rc(parse("{\"event\":\"sync/games\",\"payload\":["
                "{\"action\":\"create\",\"payload\":{\"id\":1}}]}"),
          P_OK, "a batch of nothing valid");
    is_records("[]", "no valid record: an empty list");
}


static void
test_sync_limits(void)
{
    char                          *buf, *p;
    size_t                         i;
    ngx_grapevine_proto_limits_t   lim;

    buf = malloc(64 * 1024);
    if (buf == NULL) {
        tap_diag("out of memory");
        exit(2);
    }

    p = buf + sprintf(buf, "{\"event\":\"sync/channels\",\"payload\":{"
                      "\"channels\":[");

    for (i = 0; i < 100; i++) {
        p += sprintf(p, "%s{\"id\":%zu,\"name\":\"c%zu\"}", i ? "," : "",
                     i + 1, i + 1);
    }

    strcpy(p, "]}}");

    is_rc(parse(buf), P_OK, "100 records, the default limit");
    tap_ok(ev.u.sync.nrecords == 100
           && ev.u.sync.records[99].u.channel.id.value == 100,
           "100 records, all there in order");
    tap_ok(ev.u.sync.records[37].u.channel.name.len == 3
           && memcmp(ev.u.sync.records[37].u.channel.name.data, "c38", 4)
              == 0, "record 38 survived the array growing");

    sprintf(p, ",{\"id\":101,\"name\":\"c101\"}]}}");

    rejects(buf, NGX_GRAPEVINE_PROTO_ETOOMANY,
            "sync/channels has more than 100 records", "101 records");

    ngx_grapevine_proto_limits_init(&lim);
    lim.max_records = 3;

    is_rc(parse_l("{\"event\":\"sync/channels\",\"payload\":["
                  "{\"action\":\"create\",\"payload\":{\"id\":1,"
                  "\"name\":\"a\"}},1,2]}", &lim), P_OK,
          "3 v2 records with max_records 3");
    tap_ok(ev.u.sync.nrecords == 3 && ev.u.sync.ninvalid == 2,
           "3 v2 records: 1 valid, 2 not objects");
    is_rc(parse_l("{\"event\":\"sync/channels\",\"payload\":[1,2,3,4]}",
                  &lim),
          NGX_GRAPEVINE_PROTO_ETOOMANY, "4 records with max_records 3");

    free(buf);
}


/* frame-level errors */

static void
test_size_and_empty(void)
{
    char                          *big;
    size_t                         n;
    ngx_grapevine_proto_limits_t   lim;

    memset(&lim, 0, sizeof(lim));
    lim.max_frame_size = 21;

    is_rc(parse_l("{\"event\":\"heartbeat\"}", &lim), P_OK,
          "a frame of exactly max_frame_size");
    rejects("{\"event\":\"heartbeat\"} ", NGX_GRAPEVINE_PROTO_OK, NULL,
            "trailing whitespace is fine");
    is_rc(parse_l("{\"event\":\"heartbeat\"} ", &lim),
          NGX_GRAPEVINE_PROTO_ETOOBIG, "one byte over max_frame_size");
    tap_is_cstr(err.msg, "frame of 22 bytes is larger than 21",
                "size error message");

    /* the default: 1 MiB */
    n = NGX_GRAPEVINE_PROTO_MAX_FRAME_SIZE;
    big = malloc(n + 2);
    if (big == NULL) {
        tap_diag("out of memory");
        exit(2);
    }

    memset(big, 'x', n + 1);
    memcpy(big, "{\"event\":\"heartbeat\",\"pad\":\"", 28);
    memcpy(big + n - 2, "\"}", 2);

    is_rc(parse_n(big, n, NULL), P_OK, "a 1 MiB frame (default limit)");
    memcpy(big + n - 2, "x\"}", 3);
    is_rc(parse_n(big, n + 1, NULL), NGX_GRAPEVINE_PROTO_ETOOBIG,
          "1 MiB + 1 byte");
    free(big);

    rejects("", NGX_GRAPEVINE_PROTO_EEMPTY, "empty frame", "empty frame");
    rejects(" \r\n\t ", NGX_GRAPEVINE_PROTO_EEMPTY, "empty frame",
            "blank frame");
}


static void
nest(char *buf, size_t depth, int objects)
{
    char    *p;
    size_t   i;

    /* the top-level object is depth 1 */
    p = buf + sprintf(buf, "{\"event\":\"heartbeat\",\"x\":");

    for (i = 1; i < depth; i++) {
        p += sprintf(p, objects ? "{\"a\":" : "[");
    }

    *p++ = '1';

    for (i = 1; i < depth; i++) {
        *p++ = objects ? '}' : ']';
    }

    strcpy(p, "}");
}


static void
test_depth(void)
{
    char                          *buf, *p;
    size_t                         i;
    ngx_grapevine_proto_limits_t   lim;

    buf = malloc(1024 * 1024);
    if (buf == NULL) {
        tap_diag("out of memory");
        exit(2);
    }

    nest(buf, 32, 0);
    is_rc(parse(buf), P_OK, "arrays nested 32 deep (the limit)");
    nest(buf, 33, 0);
    rejects(buf, NGX_GRAPEVINE_PROTO_EDEPTH, "frame nested deeper than 32",
            "arrays nested 33 deep");
    nest(buf, 32, 1);
    is_rc(parse(buf), P_OK, "objects nested 32 deep");
    nest(buf, 33, 1);
    is_rc(parse(buf), NGX_GRAPEVINE_PROTO_EDEPTH, "objects nested 33 deep");

    /* 200000 brackets must not reach the stack or the heap */
    p = buf + sprintf(buf, "{\"a\":");
    for (i = 0; i < 200000; i++) {
        *p++ = '[';
    }
    *p = '\0';
    is_rc(parse(buf), NGX_GRAPEVINE_PROTO_EDEPTH, "200000 open brackets");

    memset(&lim, 0, sizeof(lim));
    lim.max_depth = 2;
    is_rc(parse_l("{\"event\":\"heartbeat\",\"payload\":{\"players\":[]}}",
                  &lim), NGX_GRAPEVINE_PROTO_EDEPTH,
          "max_depth 2: the payload's list is depth 3");
    tap_is_cstr(err.msg, "frame nested deeper than 2", "custom depth message");
    is_rc(parse_l("{\"event\":\"heartbeat\",\"payload\":{}}", &lim), P_OK,
          "max_depth 2: an empty payload is depth 2");

    free(buf);
}


static void
test_malformed(void)
{
    size_t  i;

    static const char  *bad[] = {
        "{",
        "{\"event\":}",
        "{\"event\" \"heartbeat\"}",
        "{'event':'heartbeat'}",
        "{\"event\":\"heartbeat\",}",
        "{\"a\":[1,]}",
        "{/* comment */ \"event\":\"heartbeat\"}",
        "{\"event\":\"heartbeat\"} // comment",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":+1}",
        "{\"a\":NaN}",
        "{\"a\":\"unterminated}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"\\x41\"}",
        "{\"a\":\"\\u12\"}",
        "{event:\"heartbeat\"}",
        "{\"a\":1 \"b\":2}"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        parse(bad[i]);
        tap_ok(err.code == NGX_GRAPEVINE_PROTO_EJSON
               || (i == 7 && err.code == NGX_GRAPEVINE_PROTO_ETRAILING),
               "malformed: %s", bad[i]);
    }

    rejects("{\"a\":\"", NGX_GRAPEVINE_PROTO_EJSON,
            "malformed JSON at byte 6: parse error: premature EOF",
            "premature EOF, with a message");
    is_rc(parse_n("{\"a\":\"x\0y\"}", 11, NULL), NGX_GRAPEVINE_PROTO_EJSON,
          "a raw NUL byte in a string");

    rejects("{\"event\":\"heartbeat\"} x", NGX_GRAPEVINE_PROTO_ETRAILING,
            "trailing garbage after the JSON object at byte 22",
            "trailing garbage");
    is_rc(parse("{\"event\":\"heartbeat\"}{}"), NGX_GRAPEVINE_PROTO_ETRAILING,
          "a second object");
    is_rc(parse("{\"event\":\"heartbeat\"}]"), NGX_GRAPEVINE_PROTO_ETRAILING,
          "a stray bracket");
    is_rc(parse_n("{\"event\":\"heartbeat\"}\0", 22, NULL),
          NGX_GRAPEVINE_PROTO_ETRAILING, "a NUL byte after the object");
    is_rc(parse("\n{\"event\":\"heartbeat\"}\r\n"), P_OK,
          "whitespace around the object");

    rejects("[]", NGX_GRAPEVINE_PROTO_ENOTOBJECT,
            "frame is not a JSON object", "top level array");
    is_rc(parse("[{\"event\":\"heartbeat\"}]"),
          NGX_GRAPEVINE_PROTO_ENOTOBJECT, "an event in an array");
    is_rc(parse("1"), NGX_GRAPEVINE_PROTO_ENOTOBJECT, "top level number");
    is_rc(parse("\"heartbeat\""), NGX_GRAPEVINE_PROTO_ENOTOBJECT,
          "top level string");
    is_rc(parse("null"), NGX_GRAPEVINE_PROTO_ENOTOBJECT, "top level null");
    is_rc(parse(" true "), NGX_GRAPEVINE_PROTO_ENOTOBJECT, "top level true");
}


static void
test_utf8(void)
{
    rejects("{\"event\":\"x\",\"m\":\"\xc3\x28\"}", NGX_GRAPEVINE_PROTO_EUTF8,
            "invalid UTF-8 at byte 18", "\\xc3\\x28 (bad continuation)");
    rejects("{\"event\":\"x\",\"m\":\"\xc0\xaf\"}", NGX_GRAPEVINE_PROTO_EUTF8,
            "invalid UTF-8 at byte 18", "\\xc0\\xaf (overlong /)");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\xe0\x80\xaf\"}"),
          NGX_GRAPEVINE_PROTO_EUTF8, "\\xe0\\x80\\xaf (3-byte overlong)");
    is_rc(parse("{\"event\":\"x\",\"m\":\"a\x80z\"}"),
          NGX_GRAPEVINE_PROTO_EUTF8, "a lone continuation byte");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\xe2\x82\"}"),
          NGX_GRAPEVINE_PROTO_EUTF8, "a truncated sequence");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\xed\xa0\x80\"}"),
          NGX_GRAPEVINE_PROTO_EUTF8, "a raw surrogate (CESU-8)");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\xf4\x90\x80\x80\"}"),
          NGX_GRAPEVINE_PROTO_EUTF8, "above U+10FFFF");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\xff\"}"), NGX_GRAPEVINE_PROTO_EUTF8,
          "\\xff");
    is_rc(parse("{\"event\":\"x\",\"\xc3\x28\":1}"), NGX_GRAPEVINE_PROTO_EUTF8,
          "invalid UTF-8 in an unknown key");
    is_rc(parse("{\"event\":\"x\",\"deep\":[[{\"a\":\"\xc0\xaf\"}]]}"),
          NGX_GRAPEVINE_PROTO_EUTF8, "invalid UTF-8 deep in a skipped value");
    is_rc(parse("{\"event\":\"heartbeat\"}\xc3\x28"),
          NGX_GRAPEVINE_PROTO_EUTF8, "invalid UTF-8 after the object");

    rejects("{\"event\":\"x\",\"m\":\"\\ud800\"}", NGX_GRAPEVINE_PROTO_EUTF8,
            "invalid UTF-8 in string: unpaired surrogate escape at byte 18",
            "escaped lone high surrogate");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\\udc00\"}"),
          NGX_GRAPEVINE_PROTO_EUTF8,
          "escaped lone low surrogate");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\\ud800\\u0041\"}"),
          NGX_GRAPEVINE_PROTO_EUTF8, "high surrogate then not a low one");
    is_rc(parse("{\"event\":\"x\",\"m\":\"\\\\ud800\"}"), P_OK,
          "an escaped backslash before ud800 is no escape");

    parses("{\"event\":\"channels/broadcast\",\"payload\":{\"channel\":\"c\","
           "\"game\":\"g\",\"name\":\"\\ud83d\\ude00\",\"message\":"
           "\"\xf0\x9f\x98\x80 \xc3\xa9\xe2\x82\xac\"}}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST,
           "surrogate pair and raw 2-, 3-, 4-byte characters");
    is_ostr(ev.u.channel.name, "\xf0\x9f\x98\x80",
            "a surrogate pair decodes to 4 bytes");
    is_ostr(ev.u.channel.message, "\xf0\x9f\x98\x80 \xc3\xa9\xe2\x82\xac",
            "raw multibyte characters are kept");

    rejects("{\"event\":\"x\",\"m\":\"a\\u0000b\"}", NGX_GRAPEVINE_PROTO_ENUL,
            "NUL character (\\u0000) in string", "an escaped NUL");
    is_rc(parse("{\"event\":\"x\",\"a\\u0000\":1}"), NGX_GRAPEVINE_PROTO_ENUL,
          "an escaped NUL in a key");
    is_rc(parse("{\"event\":\"x\",\"s\":{\"t\":[\"\\u0000\"]}}"),
          NGX_GRAPEVINE_PROTO_ENUL, "an escaped NUL in a skipped value");
}


static void
test_values(void)
{
    ngx_grapevine_proto_channel_msg_t  *ch = &ev.u.channel;

    parses("{\"event\":\"heartbeat\",\"big\":123456789012345678901234567890,"
           "\"e\":1e999999,\"n\":-1e-999999,\"f\":-0.5E+3}",
           NGX_GRAPEVINE_PROTO_EV_HEARTBEAT,
           "huge numbers in unknown keys are fine");

    parses("{\"event\":\"restart\",\"payload\":"
           "{\"downtime\":9223372036854775807}}",
           NGX_GRAPEVINE_PROTO_EV_RESTART, "INT64_MAX");
    tap_ok(ev.u.restart.downtime.value == INT64_MAX, "INT64_MAX kept");
    parses("{\"event\":\"restart\",\"payload\":"
           "{\"downtime\":-9223372036854775808}}",
           NGX_GRAPEVINE_PROTO_EV_RESTART, "INT64_MIN");
    tap_ok(ev.u.restart.downtime.value == INT64_MIN, "INT64_MIN kept");
    rejects("{\"event\":\"restart\",\"payload\":"
            "{\"downtime\":9223372036854775808}}", P_EINVALID,
            "restart: \"downtime\" is not an integer", "INT64_MAX + 1");
    is_rc(parse("{\"event\":\"restart\",\"payload\":"
                "{\"downtime\":-9223372036854775809}}"), P_EINVALID,
          "INT64_MIN - 1");
    is_rc(parse("{\"event\":\"restart\",\"payload\":"
                "{\"downtime\":99999999999999999999999999}}"), P_EINVALID,
          "a 26-digit integer");
    is_rc(parse("{\"event\":\"restart\",\"payload\":{\"downtime\":1e3}}"),
          P_EINVALID, "an exponent is not an integer");
    parses("{\"event\":\"restart\",\"payload\":{\"downtime\":-0}}",
           NGX_GRAPEVINE_PROTO_EV_RESTART, "-0");
    tap_ok(ev.u.restart.downtime.state == P_SET
           && ev.u.restart.downtime.value == 0, "-0 is 0");

    is_rc(parse("{\"event\":\"sync/channels\",\"payload\":{\"channels\":"
                "[{\"id\":123456789012345678901,\"name\":\"a\"}]}}"), P_OK,
          "a huge id in a record");
    tap_is_cstr(ev.u.sync.records[0].error,
                "channel record 1: \"id\" is not an integer",
                "a huge id makes the record invalid");

    parses("{\"event\":\"channels/send\",\"payload\":{\"channel\":\"\","
           "\"name\":\"n\",\"message\":"
           "\"q\\\"b\\\\s\\/t\\tn\\nu\\u00e9\"}}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND, "escapes");
    is_ostr(ch->message, "q\"b\\s/t\tn\nu\xc3\xa9", "escapes decoded");
    tap_ok(ch->channel.state == P_SET && ch->channel.len == 0
           && ch->channel.data != NULL && ch->channel.data[0] == '\0',
           "an empty string is SET, with data \"\"");

    parses("{\"event\":\"channels/send\",\"payload\":{\"channel\":null,"
           "\"name\":\"n\"}}", NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND,
           "absent, null and set");
    tap_ok(ch->channel.state == P_NULL && ch->message.state == P_ABSENT
           && ch->name.state == P_SET,
           "absent, null and set are distinguished");

    parses("{\"x\":{\"y\":[1,{\"z\":null}]},\"event\":\"channels/send\","
           "\"payload\":{\"channel\":\"c\",\"extra\":[{\"a\":1}],"
           "\"name\":\"n\"},\"trailer\":true}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND, "unknown keys everywhere");
    is_ostr(ch->name, "n", "unknown keys: the fields after them land");
}


/* duplicate keys: the first occurrence wins, also if it is unusable */

static void
test_duplicates(void)
{
    parses("{\"event\":\"heartbeat\",\"event\":\"restart\"}",
           NGX_GRAPEVINE_PROTO_EV_HEARTBEAT, "duplicate event");
    is_ostr(ev.event, "heartbeat", "duplicate event: the first wins");

    parses("{\"event\":\"restart\",\"payload\":{\"downtime\":1},"
           "\"payload\":{\"downtime\":2}}", NGX_GRAPEVINE_PROTO_EV_RESTART,
           "duplicate payload");
    tap_is_int(ev.u.restart.downtime.value, 1,
               "duplicate payload: the first wins");

    parses("{\"event\":\"restart\",\"payload\":{\"downtime\":1,"
           "\"downtime\":2}}", NGX_GRAPEVINE_PROTO_EV_RESTART,
           "duplicate field");
    tap_is_int(ev.u.restart.downtime.value, 1,
               "duplicate field: the first wins");

    rejects("{\"event\":\"restart\",\"payload\":{\"downtime\":\"x\","
            "\"downtime\":2}}", P_EINVALID,
            "restart: \"downtime\" is not an integer",
            "a bad first occurrence is not repaired by a second");

    is_rc(parse("{\"event\":\"sync/channels\",\"payload\":{\"channels\":"
                "[{\"id\":1,\"name\":\"a\",\"id\":2}],\"channels\":[]}}"),
          P_OK, "duplicate record field and list");
    tap_ok(ev.u.sync.nrecords == 1
           && ev.u.sync.records[0].u.channel.id.value == 1,
           "duplicate record field and list: the first wins");

    rejects("{\"event\":\"x\",\"event\":\"\xc0\xaf\"}",
            NGX_GRAPEVINE_PROTO_EUTF8, NULL,
            "an ignored duplicate is still checked");
}


/* "payload" before "event" takes a second pass */

static void
test_key_order(void)
{
    parses("{\"payload\":{\"channel\":\"gossip\",\"message\":\"m\","
           "\"game\":\"g\",\"name\":\"n\"},\"ref\":\"r\","
           "\"event\":\"channels/broadcast\"}",
           NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST, "payload first");
    is_ostr(ev.u.channel.channel, "gossip", "payload first: filled");
    is_ostr(ev.ref, "r", "payload first: the envelope is kept");

    parses("{\"payload\":[{\"action\":\"create\",\"payload\":{\"id\":7,"
           "\"name\":\"c\"}}],\"event\":\"sync/channels\"}",
           NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS, "v2 payload first");
    tap_ok(ev.u.sync.nrecords == 1
           && ev.u.sync.records[0].u.channel.id.value == 7,
           "v2 payload first: the record lands once");

    parses("{\"payload\":{\"downtime\":1},\"payload\":{\"downtime\":2},"
           "\"event\":\"restart\"}", NGX_GRAPEVINE_PROTO_EV_RESTART,
           "duplicate payload before event");
    tap_is_int(ev.u.restart.downtime.value, 1,
               "duplicate payload before event: the first wins");

    rejects("{\"payload\":{\"channel\":1},\"event\":\"channels/broadcast\"}",
            P_EINVALID, "channels/broadcast: \"channel\" is not a string",
            "payload first, with a type error");

    parses("{\"payload\":{\"x\":1},\"event\":\"no/such/event\"}",
           NGX_GRAPEVINE_PROTO_EV_UNKNOWN, "payload first, unknown event");
}


static void
test_time(void)
{
    size_t  i, n;
    u_char  buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];

    static const struct {
        const char  *in;
        unsigned     flags;
        const char  *out;       /* NULL: rejected */
    } t[] = {
        { "2018-07-17T13:12:28Z", NGX_GRAPEVINE_PROTO_TIME_SEC,
          "2018-07-17T13:12:28Z" },
        { "2018-07-17T13:12:28Z", NGX_GRAPEVINE_PROTO_TIME_USEC,
          "2018-07-17T13:12:28.000000Z" },
        { "2018-07-17T13:12:28Z", NGX_GRAPEVINE_PROTO_TIME_AUTO,
          "2018-07-17T13:12:28Z" },
        { "2019-01-20T17:00:00.123456Z", NGX_GRAPEVINE_PROTO_TIME_AUTO,
          "2019-01-20T17:00:00.123456Z" },
        { "2019-01-20T17:00:00.123456789Z", NGX_GRAPEVINE_PROTO_TIME_USEC,
          "2019-01-20T17:00:00.123456Z" },
        { "2019-01-20T17:00:00.5Z", NGX_GRAPEVINE_PROTO_TIME_USEC,
          "2019-01-20T17:00:00.500000Z" },
        { "2019-01-20T17:00:00,25Z", NGX_GRAPEVINE_PROTO_TIME_USEC,
          "2019-01-20T17:00:00.250000Z" },
        { "2019-01-20T17:00:00.999Z", NGX_GRAPEVINE_PROTO_TIME_SEC,
          "2019-01-20T17:00:00Z" },
        { "2019-01-20t17:00:00z", NGX_GRAPEVINE_PROTO_TIME_SEC,
          "2019-01-20T17:00:00Z" },
        { "2019-01-20 17:00:00Z", NGX_GRAPEVINE_PROTO_TIME_SEC,
          "2019-01-20T17:00:00Z" },
        { "2020-02-29T00:00:00Z", NGX_GRAPEVINE_PROTO_TIME_SEC,
          "2020-02-29T00:00:00Z" },
        { "2000-02-29T23:59:59Z", NGX_GRAPEVINE_PROTO_TIME_SEC,
          "2000-02-29T23:59:59Z" },
        { "2019-02-29T00:00:00Z", 0, NULL },
        { "1900-02-29T00:00:00Z", 0, NULL },
        { "2019-04-31T00:00:00Z", 0, NULL },
        { "2019-13-01T00:00:00Z", 0, NULL },
        { "2019-00-01T00:00:00Z", 0, NULL },
        { "0000-01-01T00:00:00Z", 0, NULL },
        { "2019-01-01T24:00:00Z", 0, NULL },
        { "2019-01-01T23:60:00Z", 0, NULL },
        { "2019-01-01T23:59:60Z", 0, NULL },
        { "2019-01-01T00:00:00", 0, NULL },
        { "2019-01-01T00:00:00+00:00", 0, NULL },
        { "2019-01-01T00:00:00.Z", 0, NULL },
        { "2019-01-01T00:00:00.1234567890Z", 0, NULL },
        { "2019-01-01T00:00:00ZZ", 0, NULL },
        { "2019-01-01", 0, NULL },
        { "2019-1-01T00:00:00Z", 0, NULL },
        { "2019-01-01X00:00:00Z", 0, NULL },
        { "", 0, NULL }
    };

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        n = ngx_grapevine_proto_time_normalize((const u_char *) t[i].in,
                                               strlen(t[i].in), buf,
                                               t[i].flags);
        if (t[i].out == NULL) {
            tap_ok(n == 0 && !ngx_grapevine_proto_time_valid(
                                 (const u_char *) t[i].in, strlen(t[i].in)),
                   "time \"%s\" is rejected", t[i].in);

        } else {
            tap_ok(n == strlen(t[i].out) && buf[n] == '\0'
                   && strcmp((char *) buf, t[i].out) == 0,
                   "time \"%s\" -> \"%s\"", t[i].in, t[i].out);
        }
    }
}


static void
is_frame(int rc, ngx_grapevine_proto_str_t *out, const char *expected,
    const char *name)
{
    if (!tap_ok(rc == P_OK, "%s builds", name)) {
        tap_diag("rc %d: %s", rc, err.msg);
    }

    tap_is_str(out->data, out->len, expected, name);
}


static void
test_build(void)
{
    int                                 rc;
    ngx_grapevine_proto_str_t           out, ref, since, game, channel;
    ngx_grapevine_proto_str_t           name, message, supports[4];
    ngx_grapevine_proto_str_t           channels[2], players[2];
    ngx_grapevine_proto_tell_request_t  tell;
    ngx_grapevine_proto_auth_request_t  auth;

    memset(&auth, 0, sizeof(auth));
    auth.client_id = t_str("62a8988e-f505-4e9a-ad21-e04e89f1b32b");
    auth.client_secret = t_str("3ab47e7e-010f-488a-b7d6-a474440efda5");
    supports[0] = t_str("channels");
    supports[1] = t_str("players");
    supports[2] = t_str("tells");
    supports[3] = t_str("games");
    auth.supports.elts = supports;
    auth.supports.nelts = 4;
    auth.supports.state = P_SET;
    channels[0] = t_str("gossip");
    channels[1] = t_str("testing");
    auth.channels.elts = channels;
    auth.channels.nelts = 2;
    auth.channels.state = P_SET;
    auth.user_agent = t_str("MyMUD 1.4.2");

    rc = ngx_grapevine_proto_build_authenticate(&arena, &auth, &out, &err);
    is_frame(rc, &out,
             "{\"event\":\"authenticate\",\"payload\":{"
             "\"client_id\":\"62a8988e-f505-4e9a-ad21-e04e89f1b32b\","
             "\"client_secret\":\"3ab47e7e-010f-488a-b7d6-a474440efda5\","
             "\"supports\":[\"channels\",\"players\",\"tells\",\"games\"],"
             "\"channels\":[\"gossip\",\"testing\"],\"version\":\"2.3.0\","
             "\"user_agent\":\"MyMUD 1.4.2\"}}", "authenticate");
    tap_ok(out.data[out.len] == '\0', "frames are NUL-terminated");

    parses((char *) out.data, NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE,
           "authenticate round trip");
    is_ostr(ev.u.authenticate.client_secret,
            "3ab47e7e-010f-488a-b7d6-a474440efda5",
            "round trip: client_secret");
    tap_ok(ev.u.authenticate.supports.nelts == 4
           && ev.u.authenticate.channels.nelts == 2
           && ev.u.authenticate.players.state == P_ABSENT,
           "round trip: supports, channels, no players");
    is_ostr(ev.u.authenticate.version, NGX_GRAPEVINE_PROTO_VERSION,
            "round trip: version 2.3.0");

    auth.channels.state = P_ABSENT;
    auth.user_agent = t_str(NULL);
    auth.supports.nelts = 1;
    players[0] = t_str("Alice");
    players[1] = t_str("");
    auth.players.elts = players;
    auth.players.nelts = 2;
    auth.players.state = P_SET;

    rc = ngx_grapevine_proto_build_authenticate(&arena, &auth, &out, NULL);
    is_frame(rc, &out,
             "{\"event\":\"authenticate\",\"payload\":{"
             "\"client_id\":\"62a8988e-f505-4e9a-ad21-e04e89f1b32b\","
             "\"client_secret\":\"3ab47e7e-010f-488a-b7d6-a474440efda5\","
             "\"supports\":[\"channels\"],\"version\":\"2.3.0\","
             "\"players\":[\"Alice\",\"\"]}}",
             "authenticate without channels and user_agent, with players");

    auth.supports.elts = &supports[1];
    out.len = 0;
    out.data = NULL;
    rc = ngx_grapevine_proto_build_authenticate(&arena, &auth, &out, &err);
    is_rc(rc, P_EINVALID, "supports without channels");
    tap_is_cstr(err.msg, "authenticate: \"supports\" must include "
                "\"channels\"", "supports without channels: message");
    tap_ok(out.data == NULL && out.len == 0, "out is untouched on error");

    auth.supports.elts = supports;
    auth.supports.nelts = 0;
    is_rc(ngx_grapevine_proto_build_authenticate(&arena, &auth, &out, &err),
          P_EINVALID, "no supports");
    auth.supports.nelts = 4;
    auth.client_id = t_str(NULL);
    is_rc(ngx_grapevine_proto_build_authenticate(&arena, &auth, &out, &err),
          P_EINVALID, "no client_id");
    tap_is_cstr(err.msg, "authenticate: \"client_id\" missing",
                "no client_id: message");
    auth.client_id = t_str("\xc3\x28");
    is_rc(ngx_grapevine_proto_build_authenticate(&arena, &auth, &out, &err),
          NGX_GRAPEVINE_PROTO_EUTF8, "client_id not UTF-8");
    auth.client_id = t_str("ok");
    channels[1] = t_str("\xc0\xaf");
    auth.channels.state = P_SET;
    is_rc(ngx_grapevine_proto_build_authenticate(&arena, &auth, &out, &err),
          NGX_GRAPEVINE_PROTO_EUTF8, "an overlong channel name");
    tap_is_cstr(err.msg, "authenticate: \"channels\" is not valid UTF-8",
                "an overlong channel name: message");

    /* heartbeat */
    players[1] = t_str("Bob");
    rc = ngx_grapevine_proto_build_heartbeat(&arena, players, 2, &out, &err);
    is_frame(rc, &out, "{\"event\":\"heartbeat\",\"payload\":{\"players\":"
             "[\"Alice\",\"Bob\"]}}", "heartbeat");
    parses((char *) out.data, NGX_GRAPEVINE_PROTO_EV_HEARTBEAT,
           "heartbeat round trip");
    is_ostr(ev.u.heartbeat.players.elts[0], "Alice", "heartbeat: Alice");
    rc = ngx_grapevine_proto_build_heartbeat(&arena, NULL, 0, &out, &err);
    is_frame(rc, &out, "{\"event\":\"heartbeat\",\"payload\":{\"players\":"
             "[]}}", "heartbeat, nobody online");
    players[1].len = 1;
    players[1].data = (u_char *) "\x80";
    is_rc(ngx_grapevine_proto_build_heartbeat(&arena, players, 2, &out,
                                              &err),
          NGX_GRAPEVINE_PROTO_EUTF8, "heartbeat, a lone continuation byte");
    players[1].len = 3;
    players[1].data = (u_char *) "a\0b";
    is_rc(ngx_grapevine_proto_build_heartbeat(&arena, players, 2, &out,
                                              &err),
          NGX_GRAPEVINE_PROTO_ENUL, "heartbeat, a NUL in a name");

    /* sync */
    ref = t_str("r1");
    since = t_str("2018-11-24T12:00:00Z");
    rc = ngx_grapevine_proto_build_sync(&arena, &ref, &since, &out, &err);
    is_frame(rc, &out, "{\"event\":\"sync\",\"ref\":\"r1\",\"payload\":"
             "{\"since\":\"2018-11-24T12:00:00Z\"}}", "sync since");
    parses((char *) out.data, NGX_GRAPEVINE_PROTO_EV_SYNC,
           "sync round trip");
    is_ostr(ev.u.sync_request.since, "2018-11-24T12:00:00.000000Z",
            "sync round trip: since");
    rc = ngx_grapevine_proto_build_sync(&arena, NULL, NULL, &out, &err);
    is_frame(rc, &out, "{\"event\":\"sync\",\"payload\":{\"since\":null}}",
             "sync everything");
    since = t_str("2018-11-24 12:00:00.5z");
    rc = ngx_grapevine_proto_build_sync(&arena, NULL, &since, &out, &err);
    is_frame(rc, &out, "{\"event\":\"sync\",\"payload\":"
             "{\"since\":\"2018-11-24T12:00:00.500000Z\"}}",
             "sync since, normalised");
    since = t_str("last tuesday");
    is_rc(ngx_grapevine_proto_build_sync(&arena, NULL, &since, &out, &err),
          P_EINVALID, "sync since garbage");
    tap_is_cstr(err.msg, "sync: \"since\" is not an ISO-8601 time",
                "sync since garbage: message");

    /* tells/send */
    memset(&tell, 0, sizeof(tell));
    tell.ref = t_str("5c528fc3-cb9e-4867-98ea-6e235594241e");
    tell.from_name = t_str("Alice");
    tell.to_game = t_str("ExVenture");
    tell.to_name = t_str("eric");
    tell.sent_at = t_str("2018-07-17T13:12:28Z");
    tell.message = t_str("hi");
    rc = ngx_grapevine_proto_build_tells_send(&arena, &tell, &out, &err);
    is_frame(rc, &out, "{\"event\":\"tells/send\",\"ref\":"
             "\"5c528fc3-cb9e-4867-98ea-6e235594241e\",\"payload\":"
             "{\"from_name\":\"Alice\",\"to_game\":\"ExVenture\","
             "\"to_name\":\"eric\",\"sent_at\":\"2018-07-17T13:12:28Z\","
             "\"message\":\"hi\"}}", "tells/send");

    tell.message = t_str("q\"b\\s/t\tn\n\xc3\xa9\x01 \xf0\x9f\x98\x80");
    rc = ngx_grapevine_proto_build_tells_send(&arena, &tell, &out, &err);
    tap_ok(rc == P_OK, "tells/send with escapes builds");
    parses((char *) out.data, NGX_GRAPEVINE_PROTO_EV_TELLS_SEND,
           "tells/send round trip");
    is_ostr(ev.u.tell.message,
            "q\"b\\s/t\tn\n\xc3\xa9\x01 \xf0\x9f\x98\x80",
            "tells/send round trip: message byte-exact");
    is_ostr(ev.ref, "5c528fc3-cb9e-4867-98ea-6e235594241e",
            "tells/send round trip: ref");

    tell.message = t_str("\xc3\x28");
    is_rc(ngx_grapevine_proto_build_tells_send(&arena, &tell, &out, &err),
          NGX_GRAPEVINE_PROTO_EUTF8, "tells/send, message \\xc3\\x28");
    tap_is_cstr(err.msg, "tells/send: \"message\" is not valid UTF-8",
                "tells/send, bad UTF-8: message");
    tell.message = t_str("hi");
    tell.sent_at = t_str("2018-07-17T13:12:28");
    is_rc(ngx_grapevine_proto_build_tells_send(&arena, &tell, &out, &err),
          P_EINVALID, "tells/send, sent_at without Z");
    tell.sent_at = t_str("2018-07-17T13:12:28Z");
    tell.to_name = t_str(NULL);
    is_rc(ngx_grapevine_proto_build_tells_send(&arena, &tell, &out, &err),
          P_EINVALID, "tells/send without to_name");
    tap_is_cstr(err.msg, "tells/send: \"to_name\" missing",
                "tells/send without to_name: message");
    is_rc(ngx_grapevine_proto_build_tells_send(&arena, NULL, &out, &err),
          P_EINVALID, "tells/send without a request");

    /* channels/... */
    ref = t_str("28523394-6dcf-4c2a-ad1d-2d0ef8bb823b");
    channel = t_str("gossip");
    name = t_str("Alice");
    message = t_str("Hello everyone!");
    rc = ngx_grapevine_proto_build_channels_send(&arena, &ref, &channel,
                                                 &name, &message, &out, &err);
    is_frame(rc, &out, "{\"event\":\"channels/send\",\"ref\":"
             "\"28523394-6dcf-4c2a-ad1d-2d0ef8bb823b\",\"payload\":"
             "{\"channel\":\"gossip\",\"name\":\"Alice\","
             "\"message\":\"Hello everyone!\"}}", "channels/send");
    parses((char *) out.data, NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND,
           "channels/send round trip");
    is_ostr(ev.u.channel.message, "Hello everyone!",
            "channels/send round trip: message");
    rc = ngx_grapevine_proto_build_channels_send(&arena, NULL, &channel,
                                                 &name, &message, &out, &err);
    is_frame(rc, &out, "{\"event\":\"channels/send\",\"payload\":"
             "{\"channel\":\"gossip\",\"name\":\"Alice\","
             "\"message\":\"Hello everyone!\"}}", "channels/send, no ref");
    is_rc(ngx_grapevine_proto_build_channels_send(&arena, &ref, &channel,
                                                  &name, NULL, &out, &err),
          P_EINVALID, "channels/send without message");

    ref = t_str("a6f8006d-ddac-465e-a3df-fb440e83189b");
    rc = ngx_grapevine_proto_build_channels_subscribe(&arena, &ref,
                                                      &channel, &out, &err);
    is_frame(rc, &out, "{\"event\":\"channels/subscribe\",\"ref\":"
             "\"a6f8006d-ddac-465e-a3df-fb440e83189b\",\"payload\":"
             "{\"channel\":\"gossip\"}}", "channels/subscribe");
    rc = ngx_grapevine_proto_build_channels_unsubscribe(&arena, NULL,
                                                        &channel, &out, &err);
    is_frame(rc, &out, "{\"event\":\"channels/unsubscribe\",\"payload\":"
             "{\"channel\":\"gossip\"}}", "channels/unsubscribe");

    /* players/status */
    ref = t_str("c8cbaef2-b6e9-4110-b712-a312aee9e7d4");
    rc = ngx_grapevine_proto_build_players_status(&arena, &ref, NULL, &out,
                                                  &err);
    is_frame(rc, &out, "{\"event\":\"players/status\",\"ref\":"
             "\"c8cbaef2-b6e9-4110-b712-a312aee9e7d4\"}",
             "players/status, all games");
    game = t_str("ExVenture");
    rc = ngx_grapevine_proto_build_players_status(&arena, &ref, &game, &out,
                                                  &err);
    is_frame(rc, &out, "{\"event\":\"players/status\",\"ref\":"
             "\"c8cbaef2-b6e9-4110-b712-a312aee9e7d4\",\"payload\":"
             "{\"game\":\"ExVenture\"}}", "players/status, one game");
    parses((char *) out.data, NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS,
           "players/status round trip");
    is_rc(ngx_grapevine_proto_build_players_status(&arena, NULL, &game,
                                                   &out, &err),
          P_EINVALID, "players/status without ref");
    tap_is_cstr(err.msg, "players/status: \"ref\" missing",
                "players/status without ref: message");
}


/* every allocation failure gives ENOMEM, never a crash or a leak */

static void
test_nomem(void)
{
    int                        rc, others;
    size_t                     k, fails;
    ngx_grapevine_proto_str_t  out, players[2];

    fails = 0;
    others = 0;

    for (k = 1; k < 10000; k++) {
        t_pool_free(&pool);
        pool.fail_at = k;

        rc = parse(SYNC_GAMES_V2);

        if (rc == P_OK) {
            break;
        }

        if (rc == NGX_GRAPEVINE_PROTO_ENOMEM) {
            fails++;

        } else {
            others++;
        }
    }

    tap_ok(fails > 20 && others == 0,
           "parse: the first %zu allocations each fail with ENOMEM", fails);
    tap_ok(ev.u.sync.nrecords == 1
           && ev.u.sync.records[0].u.game.connections.nelts == 2,
           "parse: then it succeeds, connections and all");

    pool.fail_at = pool.allocs + 1;
    rc = ngx_grapevine_proto_records_json(&arena, &ev.u.sync, &out, &err);
    is_rc(rc, NGX_GRAPEVINE_PROTO_ENOMEM, "the records without memory");

    pool.fail_at = 0;
    rc = ngx_grapevine_proto_records_json(&arena, &ev.u.sync, &out, &err);
    is_rc(rc, P_OK, "the records with memory again");

    players[0] = t_str("Alice");
    players[1] = t_str("Bob");

    t_pool_free(&pool);
    pool.fail_at = 1;
    rc = ngx_grapevine_proto_build_heartbeat(&arena, players, 2, &out, &err);
    is_rc(rc, NGX_GRAPEVINE_PROTO_ENOMEM, "a builder without memory");
    tap_is_cstr(err.msg, "out of memory", "a builder without memory: message");

    t_pool_free(&pool);
}


static void
test_names(void)
{
    int   i;
    char  buf[128];

    for (i = NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE;
         i <= NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE;
         i++)
    {
        snprintf(buf, sizeof(buf), "{\"event\":\"%s\",\"status\":"
                 "\"success\"}", ngx_grapevine_proto_type_name(i));
        parse(buf);
        tap_ok(err.code == P_OK && (int) ev.type == i,
               "type %d is named \"%s\" both ways", i,
               ngx_grapevine_proto_type_name(i));
    }

    tap_is_cstr(ngx_grapevine_proto_type_name(NGX_GRAPEVINE_PROTO_EV_UNKNOWN),
                "unknown", "type name: unknown");
    tap_is_cstr(ngx_grapevine_proto_type_name(NGX_GRAPEVINE_PROTO_EV_FAILURE),
                "failure", "type name: failure");
    parses("{\"event\":\"failure\"}", NGX_GRAPEVINE_PROTO_EV_UNKNOWN,
           "\"failure\" is no event name");
    tap_is_cstr(ngx_grapevine_proto_strerror(NGX_GRAPEVINE_PROTO_ETOOBIG),
                "frame too large", "strerror(ETOOBIG)");
    tap_is_cstr(ngx_grapevine_proto_strerror(99), "unknown error",
                "strerror(99)");
    tap_ok(ngx_grapevine_proto_frame_error(NGX_GRAPEVINE_PROTO_EDEPTH)
           && !ngx_grapevine_proto_frame_error(P_EINVALID)
           && !ngx_grapevine_proto_frame_error(P_OK),
           "frame_error() tells frame errors from EINVALID");

    tap_is_int(ngx_grapevine_proto_text_check((u_char *) "h\xc3\xa9", 3),
               P_OK, "text_check: valid");
    tap_is_int(ngx_grapevine_proto_text_check((u_char *) "\xc0\xaf", 2),
               NGX_GRAPEVINE_PROTO_EUTF8, "text_check: overlong");
    tap_is_int(ngx_grapevine_proto_text_check((u_char *) "a\0", 2),
               NGX_GRAPEVINE_PROTO_ENUL, "text_check: NUL");
    tap_is_int(ngx_grapevine_proto_text_check((u_char *) "", 0), P_OK,
               "text_check: empty");
}


/*
 * What the hub's names and chat may be (issue 11): a game's short name is
 * 1 to 15 letters and digits, as the original's games and applications,
 * and not "online" (a route of the API); a channel name at most 15
 * characters, a player's name at most 50 (the original's bounds for
 * channels and usernames), a message at most max_message bytes (2048 by
 * default); none of them empty or blank.  A broadcast or a presence event
 * that breaks a rule is EINVALID, a sync record that does is skipped.
 */

static char *
t_repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    char    *buf, *p;
    size_t   i, len;

    len = strlen(prefix) + n * strlen(unit) + strlen(suffix) + 1;

    buf = malloc(len);
    if (buf == NULL) {
        tap_diag("out of memory");
        exit(2);
    }

    p = buf + sprintf(buf, "%s", prefix);

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s", unit);
    }

    strcpy(p, suffix);

    return buf;
}


static void
broadcast_is(const char *channel, const char *game, const char *name,
    const char *message, const char *error, const char *test)
{
    char   *buf;
    size_t  len;

    len = strlen(channel) + strlen(game) + strlen(name) + strlen(message)
          + 128;

    buf = malloc(len);
    if (buf == NULL) {
        tap_diag("out of memory");
        exit(2);
    }

    sprintf(buf, "{\"event\":\"channels/broadcast\",\"payload\":{"
            "\"channel\":\"%s\",\"game\":\"%s\",\"name\":\"%s\","
            "\"message\":\"%s\"}}", channel, game, name, message);

    if (error == NULL) {
        parses(buf, NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST, test);

    } else {
        rejects(buf, P_EINVALID, error, test);
    }

    free(buf);
}


static void
test_chat_limits(void)
{
    char                          *s, *m;
    size_t                         i;
    ngx_grapevine_proto_sync_t    *sync = &ev.u.sync;
    ngx_grapevine_proto_limits_t   lim;

    static const char  *bad_short[] = {
        "a/b", "a?b#c", "..", "x%2Fy", "a b", "Caf\xc3\xa9", "a-b", "a_b",
        "a.b", "<b>"
    };

    static const char  *reserved[] = { "online", "Online", "ONLINE" };

    broadcast_is("gossip", "ExVenture", "Player", "Hello everyone!", NULL,
                 "a broadcast within every limit");

    /* empty and blank */

    broadcast_is("", "ExVenture", "Player", "hi",
                 "channels/broadcast: \"channel\" is empty",
                 "a broadcast on an empty channel");
    broadcast_is("gossip", "", "Player", "hi",
                 "channels/broadcast: \"game\" is empty",
                 "a broadcast from an empty game");
    broadcast_is("gossip", "ExVenture", "", "hi",
                 "channels/broadcast: \"name\" is empty",
                 "a broadcast from an empty name");
    broadcast_is("gossip", "ExVenture", "Player", "",
                 "channels/broadcast: \"message\" is empty",
                 "an empty message");
    broadcast_is("gossip", "ExVenture", "Player", " \\t\\r\\n ",
                 "channels/broadcast: \"message\" is empty",
                 "a blank message");
    broadcast_is("gossip", "ExVenture", "  ", "hi",
                 "channels/broadcast: \"name\" is empty", "a blank name");
    broadcast_is("gossip", "ExVenture", "Player", " . ", NULL,
                 "a message with something in it");

    /* the message: bytes */

    m = t_repeat("", "x", 2048, "");
    broadcast_is("gossip", "ExVenture", "Player", m, NULL,
                 "a message of 2048 bytes");
    free(m);

    m = t_repeat("", "x", 2049, "");
    broadcast_is("gossip", "ExVenture", "Player", m,
                 "channels/broadcast: \"message\" is longer than 2048 bytes",
                 "a message of 2049 bytes");
    free(m);

    m = t_repeat("", "\xc3\xa9", 1024, "");
    broadcast_is("gossip", "ExVenture", "Player", m, NULL,
                 "1024 two-byte characters: 2048 bytes");
    free(m);

    m = t_repeat("", "\xc3\xa9", 1025, "");
    broadcast_is("gossip", "ExVenture", "Player", m,
                 "channels/broadcast: \"message\" is longer than 2048 bytes",
                 "1025 two-byte characters: 2050 bytes");
    free(m);

    m = t_repeat("", "x", 1000 * 1000, "");
    broadcast_is("gossip", "ExVenture", "Player", m,
                 "channels/broadcast: \"message\" is longer than 2048 bytes",
                 "a message of a million bytes, in a frame of a megabyte");
    free(m);

    /* names: characters */

    s = t_repeat("", "n", 50, "");
    broadcast_is("gossip", "ExVenture", s, "hi", NULL, "a name of 50");
    free(s);

    s = t_repeat("", "\xe2\x82\xac", 50, "");
    broadcast_is("gossip", "ExVenture", s, "hi", NULL,
                 "a name of 50 three-byte characters");
    free(s);

    s = t_repeat("", "n", 51, "");
    broadcast_is("gossip", "ExVenture", s, "hi",
                 "channels/broadcast: \"name\" is longer than 50 characters",
                 "a name of 51");
    free(s);

    s = t_repeat("", "c", 15, "");
    broadcast_is(s, "ExVenture", "Player", "hi", NULL, "a channel of 15");
    free(s);

    s = t_repeat("", "c", 16, "");
    broadcast_is(s, "ExVenture", "Player", "hi",
                 "channels/broadcast: \"channel\" is longer than 15 "
                 "characters", "a channel of 16");
    free(s);

    /* short names */

    broadcast_is("gossip", "Abcdefghij12345", "Player", "hi", NULL,
                 "a short name of 15 letters and digits");
    broadcast_is("gossip", "Abcdefghij123456", "Player", "hi",
                 "channels/broadcast: \"game\" is not 1 to 15 letters and "
                 "digits", "a short name of 16");

    for (i = 0; i < sizeof(bad_short) / sizeof(bad_short[0]); i++) {
        broadcast_is("gossip", bad_short[i], "Player", "hi",
                     "channels/broadcast: \"game\" is not 1 to 15 letters "
                     "and digits", bad_short[i]);
    }

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        broadcast_is("gossip", reserved[i], "Player", "hi",
                     "channels/broadcast: \"game\" is a reserved name",
                     reserved[i]);
    }

    broadcast_is("gossip", "online2", "Player", "hi", NULL,
                 "\"online2\" is no reserved name");

    /* the same rules for the games of presence events */

    rejects("{\"event\":\"games/connect\",\"payload\":{\"game\":\"a/b\"}}",
            P_EINVALID, "games/connect: \"game\" is not 1 to 15 letters "
            "and digits", "games/connect of a bad short name");
    rejects("{\"event\":\"players/status\",\"ref\":\"r\",\"payload\":"
            "{\"game\":\"online\",\"players\":[\"a\"]}}", P_EINVALID,
            "players/status: \"game\" is a reserved name",
            "players/status of a reserved short name");
    rejects("{\"event\":\"players/sign-in\",\"payload\":{\"game\":\"G\","
            "\"name\":\"\"}}", P_EINVALID,
            "players/sign-in: \"name\" is empty",
            "players/sign-in of an empty name");
    s = t_repeat("{\"event\":\"players/sign-out\",\"payload\":{\"game\":"
                 "\"G\",\"name\":\"", "n", 51, "\"}}");
    rejects(s, P_EINVALID,
            "players/sign-out: \"name\" is longer than 50 characters",
            "players/sign-out of a long name");
    free(s);

    /* sync records: the bad ones are skipped, the others land */

    is_rc(parse("{\"event\":\"sync/games\",\"payload\":{\"games\":["
                "{\"id\":1,\"game\":\"a/b\",\"display_name\":\"A\"},"
                "{\"id\":2,\"game\":\"online\",\"display_name\":\"B\"},"
                "{\"id\":3,\"game\":\"Good\",\"display_name\":\"C\"},"
                "{\"id\":4,\"game\":\"\",\"display_name\":\"D\"},"
                "{\"game\":\"x%2Fy\",\"id\":5,\"display_name\":\"E\"},"
                "{\"id\":6,\"game\":\"..\",\"display_name\":\"F\"},"
                "{\"id\":7,\"game\":\"Abcdefghij123456\","
                "\"display_name\":\"G\"}]}}"), P_OK,
          "sync/games with six bad short names");
    tap_is_int(sync->ninvalid, 6, "six games are skipped");
    tap_is_cstr(sync->records[0].error,
                "game #1: \"game\" is not 1 to 15 letters and digits",
                "game #1 named");
    tap_is_cstr(sync->records[1].error,
                "game #2: \"game\" is a reserved name", "game #2 named");
    tap_ok(!sync->records[2].invalid, "game #3 lands");
    tap_is_cstr(sync->records[3].error, "game #4: \"game\" is empty",
                "game #4 named");
    tap_is_cstr(sync->records[4].error,
                "game #5: \"game\" is not 1 to 15 letters and digits",
                "game #5 named, its id after its name");
    tap_is_cstr(sync->records[5].error,
                "game #6: \"game\" is not 1 to 15 letters and digits",
                "game #6 named");
    tap_is_cstr(sync->records[6].error,
                "game #7: \"game\" is not 1 to 15 letters and digits",
                "game #7 named");
    is_records("[{\"id\":3,\"game\":\"Good\",\"display_name\":\"C\"}]",
               "only the good game reaches the ingest");

    is_rc(parse("{\"event\":\"sync/games\",\"payload\":["
                "{\"action\":\"delete\",\"payload\":{\"id\":9}}]}"), P_OK,
          "a delete needs no short name");
    tap_ok(!sync->records[0].invalid, "the delete lands");

    is_rc(parse("{\"event\":\"sync/channels\",\"payload\":{\"channels\":["
                "{\"id\":1,\"name\":\"\"},"
                "{\"id\":2,\"name\":\"abcdefghijklmnop\"},"
                "{\"id\":3,\"name\":\"abcdefghijklmno\"}]}}"), P_OK,
          "sync/channels with bad names");
    tap_is_cstr(sync->records[0].error, "channel #1: \"name\" is empty",
                "an empty channel name is skipped");
    tap_is_cstr(sync->records[1].error,
                "channel #2: \"name\" is longer than 15 characters",
                "a long channel name is skipped");
    tap_ok(!sync->records[2].invalid, "a channel name of 15 lands");

    /* an operator's limit (grapevine_hub_max_message) */

    ngx_grapevine_proto_limits_init(&lim);
    tap_is_int(lim.max_message, 2048, "max_message: 2048 by default");
    lim.max_message = 10;

    is_rc(parse_l("{\"event\":\"channels/broadcast\",\"payload\":{"
                  "\"channel\":\"c\",\"game\":\"G\",\"name\":\"n\","
                  "\"message\":\"0123456789\"}}", &lim), P_OK,
          "max_message 10: a message of 10 bytes");
    is_rc(parse_l("{\"event\":\"channels/broadcast\",\"payload\":{"
                  "\"channel\":\"c\",\"game\":\"G\",\"name\":\"n\","
                  "\"message\":\"\\u00e9123456789\"}}", &lim), P_EINVALID,
          "max_message 10: 10 characters, 11 bytes");
    tap_is_cstr(err.msg, "channels/broadcast: \"message\" is longer than "
                "10 bytes", "max_message 10: the message says so");
}


int
main(void)
{
    test_authenticate();
    test_heartbeat_restart();
    test_channels();
    test_players();
    test_tells();
    test_games();
    test_sync_request();
    test_sync_v2();
    test_sync_v1();
    test_sync_invalid();
    test_sync_columns();
    test_sync_limits();
    t_pool_free(&pool);
    test_size_and_empty();
    test_depth();
    test_malformed();
    test_utf8();
    test_values();
    test_duplicates();
    test_key_order();
    test_time();
    t_pool_free(&pool);
    test_build();
    test_nomem();
    test_names();
    test_chat_limits();

    t_pool_free(&pool);

    return tap_done_testing();
}
