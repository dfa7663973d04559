
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * libFuzzer target for the Gossip protocol layer.  Besides crashes,
 * leaks and undefined behaviour (ASan, UBSan) it checks invariants:
 *
 *   - the return code is known, the message is not empty on errors;
 *   - every string in an accepted event is strict UTF-8 without NUL and
 *     NUL-terminated; every SET timestamp is a fixed point of
 *     ngx_grapevine_proto_time_normalize();
 *   - a record is invalid exactly when it has an error, ninvalid counts
 *     them, no more than max_records records;
 *   - the records of a sync event, written for the ingest, parse again
 *     as a sync event whose records are the valid ones, valid again
 *     (but for deletes, which carry only their id), with their ids;
 *   - what is stored obeys the rules of names and chat: an accepted
 *     channels/broadcast has a channel of 1 to 15 characters, a short
 *     name of 1 to 15 letters and digits that is not "online", a name of
 *     1 to 50 characters and a message of 1 to max_message bytes, none
 *     blank; a valid game record's short name and a valid channel
 *     record's name likewise;
 *   - builders fed with parsed strings succeed and their frames parse
 *     back to the same strings (tells, channel messages, heartbeats);
 *   - the same input, with one of the parser's allocations failing, gives
 *     ENOMEM (or the same frame error, if only its message failed).
 *
 * An input that starts with a space and whose second byte is odd runs
 * with tight limits (depth 4, 2 records, 512 bytes, messages of 16 bytes);
 * the seeds start with
 * "{" and run with the defaults.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ngx_grapevine_protocol.h"


#define fuzz_assert(cond)                                                     \
    do { if (!(cond)) { __builtin_trap(); } } while (0)


typedef struct fuzz_block_s  fuzz_block_t;

struct fuzz_block_s {
    fuzz_block_t  *next;
    long double    align;
};


typedef struct {
    fuzz_block_t  *blocks;
    size_t         allocs;
    size_t         fail_at;      /* 0: never */
} fuzz_pool_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void *
fuzz_alloc(void *ctx, size_t size)
{
    fuzz_pool_t   *pool = ctx;
    fuzz_block_t  *b;

    if (++pool->allocs == pool->fail_at) {
        return NULL;
    }

    b = malloc(sizeof(fuzz_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = pool->blocks;
    pool->blocks = b;

    return b + 1;
}


static void
fuzz_free(fuzz_pool_t *pool)
{
    fuzz_block_t  *b, *next;

    for (b = pool->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    pool->blocks = NULL;
    pool->allocs = 0;
    pool->fail_at = 0;
}


static void
fuzz_text(const u_char *data, size_t len)
{
    fuzz_assert(data != NULL);
    fuzz_assert(data[len] == '\0');
    fuzz_assert(ngx_grapevine_proto_text_check(data, len)
                == NGX_GRAPEVINE_PROTO_OK);
}


static void
fuzz_opt(const ngx_grapevine_proto_opt_str_t *s)
{
    if (s->state == NGX_GRAPEVINE_PROTO_SET) {
        fuzz_text(s->data, s->len);

    } else {
        fuzz_assert(s->data == NULL && s->len == 0);
    }
}


static void
fuzz_time(const ngx_grapevine_proto_opt_str_t *s)
{
    size_t  n;
    u_char  buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];

    fuzz_opt(s);

    if (s->state != NGX_GRAPEVINE_PROTO_SET) {
        return;
    }

    fuzz_assert(s->len == NGX_GRAPEVINE_PROTO_TIME_LEN);

    n = ngx_grapevine_proto_time_normalize(s->data, s->len, buf,
                                           NGX_GRAPEVINE_PROTO_TIME_USEC);
    fuzz_assert(n == s->len && memcmp(buf, s->data, n) == 0);
}


static void
fuzz_strs(const ngx_grapevine_proto_str_array_t *a)
{
    size_t  i;

    fuzz_assert(a->state == NGX_GRAPEVINE_PROTO_SET || a->nelts == 0);

    for (i = 0; i < a->nelts; i++) {
        fuzz_text(a->elts[i].data, a->elts[i].len);
    }
}


static void
fuzz_same(const ngx_grapevine_proto_opt_str_t *a,
    const ngx_grapevine_proto_opt_str_t *b)
{
    fuzz_assert(a->state == b->state && a->len == b->len
                && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0));
}


static void
fuzz_game(const ngx_grapevine_proto_game_t *g)
{
    size_t  i;

    fuzz_opt(&g->short_name);
    fuzz_opt(&g->display_name);
    fuzz_opt(&g->description);
    fuzz_opt(&g->homepage_url);
    fuzz_opt(&g->user_agent);
    fuzz_opt(&g->user_agent_url);
    fuzz_opt(&g->client_id);
    fuzz_opt(&g->client_secret);
    fuzz_time(&g->mssp_last_seen_at);
    fuzz_strs(&g->redirect_uris);
    fuzz_strs(&g->supports);
    fuzz_strs(&g->channels);

    for (i = 0; i < g->connections.nelts; i++) {
        fuzz_opt(&g->connections.elts[i].id);
        fuzz_opt(&g->connections.elts[i].type);
        fuzz_opt(&g->connections.elts[i].url);
        fuzz_opt(&g->connections.elts[i].host);
    }
}


/*
 * The records for the ingest, wrapped as a v1 sync event of the same kind
 * ({"event": "sync/games", "payload": {"games": RECORDS}}), parse again:
 * one record per valid one, with its id, valid but for deletes ("logged_at"
 * and "deleted" are keys a record does not have: ignored).
 */

static void
fuzz_records(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_sync_t *s)
{
    int                                  rc;
    size_t                               i, j, n;
    u_char                              *buf, *p;
    const char                          *kind;
    ngx_grapevine_proto_str_t            out;
    ngx_grapevine_proto_event_t          ev;
    const ngx_grapevine_proto_record_t  *a, *b;

    static const char  *kinds[] = {
        "channels", "games", "events", "achievements"
    };

    rc = ngx_grapevine_proto_records_json(arena, s, &out, NULL);
    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);
    fuzz_text(out.data, out.len);

    kind = kinds[s->kind];
    n = out.len + 64;

    buf = arena->alloc(arena->ctx, n);
    fuzz_assert(buf != NULL);

    p = buf;
    p += snprintf((char *) p, n, "{\"event\":\"sync/%s\",\"payload\":"
                  "{\"%s\":", kind, kind);
    memcpy(p, out.data, out.len);
    p += out.len;
    *p++ = '}';
    *p++ = '}';

    rc = ngx_grapevine_proto_parse(buf, p - buf, NULL, arena, &ev, NULL);
    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);
    fuzz_assert(ev.type == NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS + s->kind);
    fuzz_assert(ev.u.sync.nrecords == s->nrecords - s->ninvalid);

    for (i = 0, j = 0; i < s->nrecords; i++) {
        a = &s->records[i];

        if (a->invalid) {
            continue;
        }

        b = &ev.u.sync.records[j++];

        fuzz_assert(b->u.channel.id.state == NGX_GRAPEVINE_PROTO_SET
                    && b->u.channel.id.value == a->u.channel.id.value);
        fuzz_assert(!b->invalid
                    || a->action == NGX_GRAPEVINE_PROTO_ACTION_DELETE);
    }
}


static void
fuzz_sync(ngx_grapevine_arena_t *arena, const ngx_grapevine_proto_sync_t *s,
    size_t max_records)
{
    size_t                               i, ninvalid;
    const ngx_grapevine_proto_record_t  *r;

    fuzz_assert(s->nrecords <= max_records);
    fuzz_assert(s->shape != NGX_GRAPEVINE_PROTO_SHAPE_NONE
                || s->nrecords == 0);

    ninvalid = 0;

    for (i = 0; i < s->nrecords; i++) {
        r = &s->records[i];

        fuzz_assert(r->index == i);
        fuzz_assert(!r->invalid == (r->error == NULL));
        fuzz_time(&r->logged_at);

        if (r->invalid) {
            ninvalid++;
            fuzz_assert(r->error[0] != '\0');
            continue;
        }

        fuzz_assert(r->action != NGX_GRAPEVINE_PROTO_ACTION_NONE);
        fuzz_assert(r->u.channel.id.state == NGX_GRAPEVINE_PROTO_SET);

        switch (s->kind) {

        case NGX_GRAPEVINE_PROTO_REC_CHANNEL:
            fuzz_opt(&r->u.channel.name);
            fuzz_opt(&r->u.channel.description);
            break;

        case NGX_GRAPEVINE_PROTO_REC_GAME:
            fuzz_game(&r->u.game);
            break;

        case NGX_GRAPEVINE_PROTO_REC_EVENT:
            fuzz_opt(&r->u.event.title);
            fuzz_opt(&r->u.event.start_date);
            fuzz_opt(&r->u.event.end_date);
            fuzz_assert(r->u.event.start_date.state
                        != NGX_GRAPEVINE_PROTO_SET
                        || r->u.event.start_date.len == 10);
            break;

        default:
            fuzz_opt(&r->u.achievement.key);
            fuzz_opt(&r->u.achievement.title);
            break;
        }
    }

    fuzz_assert(ninvalid == s->ninvalid);

    fuzz_records(arena, s);
}


/* tells/receive -> tells/send -> parse: the strings survive */

static void
fuzz_tell(ngx_grapevine_arena_t *arena, const ngx_grapevine_proto_tell_t *t)
{
    int                                 rc;
    ngx_grapevine_proto_str_t           out;
    ngx_grapevine_proto_event_t         ev;
    ngx_grapevine_proto_tell_request_t  req;

    fuzz_opt(&t->from_game);
    fuzz_opt(&t->from_name);
    fuzz_opt(&t->to_game);
    fuzz_opt(&t->to_name);
    fuzz_time(&t->sent_at);
    fuzz_opt(&t->message);

    if (t->from_name.state != NGX_GRAPEVINE_PROTO_SET
        || t->from_game.state != NGX_GRAPEVINE_PROTO_SET
        || t->to_name.state != NGX_GRAPEVINE_PROTO_SET
        || t->sent_at.state != NGX_GRAPEVINE_PROTO_SET
        || t->message.state != NGX_GRAPEVINE_PROTO_SET)
    {
        return;
    }

    req.ref.len = 0;
    req.ref.data = NULL;
    req.from_name.len = t->to_name.len;
    req.from_name.data = t->to_name.data;
    req.to_game.len = t->from_game.len;
    req.to_game.data = t->from_game.data;
    req.to_name.len = t->from_name.len;
    req.to_name.data = t->from_name.data;
    req.sent_at.len = t->sent_at.len;
    req.sent_at.data = t->sent_at.data;
    req.message.len = t->message.len;
    req.message.data = t->message.data;

    rc = ngx_grapevine_proto_build_tells_send(arena, &req, &out, NULL);
    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);

    rc = ngx_grapevine_proto_parse(out.data, out.len, NULL, arena, &ev,
                                   NULL);
    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);
    fuzz_assert(ev.type == NGX_GRAPEVINE_PROTO_EV_TELLS_SEND);
    fuzz_same(&ev.u.tell.message, &t->message);
    fuzz_same(&ev.u.tell.to_game, &t->from_game);
    fuzz_same(&ev.u.tell.sent_at, &t->sent_at);
}


/* channels/broadcast -> channels/send -> parse */

static void
fuzz_channel(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_event_t *in)
{
    int                                       rc;
    ngx_grapevine_proto_str_t                 out, ref, channel, name, msg;
    ngx_grapevine_proto_event_t               ev;
    const ngx_grapevine_proto_channel_msg_t  *c;

    c = &in->u.channel;

    fuzz_opt(&c->channel);
    fuzz_opt(&c->message);
    fuzz_opt(&c->game);
    fuzz_opt(&c->name);

    if (c->channel.state != NGX_GRAPEVINE_PROTO_SET
        || c->name.state != NGX_GRAPEVINE_PROTO_SET
        || c->message.state != NGX_GRAPEVINE_PROTO_SET)
    {
        return;
    }

    ref.len = in->ref.len;
    ref.data = in->ref.data;
    channel.len = c->channel.len;
    channel.data = c->channel.data;
    name.len = c->name.len;
    name.data = c->name.data;
    msg.len = c->message.len;
    msg.data = c->message.data;

    rc = ngx_grapevine_proto_build_channels_send(arena, &ref, &channel, &name,
                                                 &msg, &out, NULL);
    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);

    rc = ngx_grapevine_proto_parse(out.data, out.len, NULL, arena, &ev,
                                   NULL);
    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);
    fuzz_assert(ev.type == NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND);
    fuzz_same(&ev.u.channel.message, &c->message);
    fuzz_same(&ev.u.channel.channel, &c->channel);

    if (in->ref.state == NGX_GRAPEVINE_PROTO_SET) {
        fuzz_same(&ev.ref, &in->ref);
    }
}


/* a player list -> heartbeat -> parse */

static void
fuzz_players(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_array_t *players)
{
    int                          rc;
    size_t                       i;
    ngx_grapevine_proto_str_t    out;
    ngx_grapevine_proto_event_t  ev;

    fuzz_strs(players);

    rc = ngx_grapevine_proto_build_heartbeat(arena, players->elts,
                                             players->nelts, &out, NULL);
    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);

    rc = ngx_grapevine_proto_parse(out.data, out.len, NULL, arena, &ev,
                                   NULL);

    /* a long list of players can make a frame above 1 MiB */
    if (rc == NGX_GRAPEVINE_PROTO_ETOOBIG) {
        return;
    }

    fuzz_assert(rc == NGX_GRAPEVINE_PROTO_OK);
    fuzz_assert(ev.u.heartbeat.players.nelts == players->nelts);

    for (i = 0; i < players->nelts; i++) {
        fuzz_assert(ev.u.heartbeat.players.elts[i].len
                    == players->elts[i].len);
        fuzz_assert(players->elts[i].len == 0
                    || memcmp(ev.u.heartbeat.players.elts[i].data,
                              players->elts[i].data, players->elts[i].len)
                       == 0);
    }
}


static void
fuzz_event(ngx_grapevine_arena_t *arena, const ngx_grapevine_proto_event_t *ev,
    size_t max_records)
{
    fuzz_opt(&ev->event);
    fuzz_opt(&ev->ref);
    fuzz_opt(&ev->status_text);
    fuzz_opt(&ev->error);

    switch (ev->type) {

    case NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE:
        fuzz_opt(&ev->u.authenticate.unicode);
        fuzz_opt(&ev->u.authenticate.version);
        fuzz_strs(&ev->u.authenticate.supports);
        fuzz_strs(&ev->u.authenticate.channels);
        fuzz_strs(&ev->u.authenticate.players);
        break;

    case NGX_GRAPEVINE_PROTO_EV_HEARTBEAT:
        fuzz_players(arena, &ev->u.heartbeat.players);
        break;

    case NGX_GRAPEVINE_PROTO_EV_SYNC:
        fuzz_time(&ev->u.sync_request.since);
        break;

    case NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_EVENTS:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_ACHIEVEMENTS:
        fuzz_sync(arena, &ev->u.sync, max_records);
        break;

    case NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST:
    case NGX_GRAPEVINE_PROTO_EV_CHANNELS_SUBSCRIBE:
    case NGX_GRAPEVINE_PROTO_EV_CHANNELS_UNSUBSCRIBE:
    case NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND:
        fuzz_channel(arena, ev);
        break;

    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_OUT:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS:
        fuzz_opt(&ev->u.players.game);
        fuzz_opt(&ev->u.players.name);
        fuzz_players(arena, &ev->u.players.players);
        break;

    case NGX_GRAPEVINE_PROTO_EV_GAMES_CONNECT:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_DISCONNECT:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS:
        fuzz_game(&ev->u.game);
        break;

    case NGX_GRAPEVINE_PROTO_EV_TELLS_SEND:
    case NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE:
        fuzz_tell(arena, &ev->u.tell);
        break;

    default:
        break;
    }
}


/* the timestamp validator on the raw input, with each flag */

static void
fuzz_times(const uint8_t *data, size_t size)
{
    size_t    n, m;
    u_char    buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    u_char    again[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    unsigned  flags;

    for (flags = 0; flags <= NGX_GRAPEVINE_PROTO_TIME_AUTO; flags++) {
        n = ngx_grapevine_proto_time_normalize(data, size, buf, flags);

        if (n == 0) {
            fuzz_assert(!ngx_grapevine_proto_time_valid(data, size));
            continue;
        }

        fuzz_assert(n <= NGX_GRAPEVINE_PROTO_TIME_LEN && buf[n] == '\0');

        m = ngx_grapevine_proto_time_normalize(buf, n, again, flags);
        fuzz_assert(m == n && memcmp(buf, again, n) == 0);
    }
}


/*
 * The rules of names and chat, checked here on their own: text that is
 * not blank and has from 1 to max characters (bytes if "bytes"), or a
 * short name.
 */

static void
fuzz_text_rule(const ngx_grapevine_proto_opt_str_t *s, size_t max,
    int bytes)
{
    size_t  i, n, blank;

    fuzz_assert(s->state == NGX_GRAPEVINE_PROTO_SET);

    n = 0;
    blank = 1;

    for (i = 0; i < s->len; i++) {
        if (strchr(" \t\r\n", s->data[i]) == NULL) {
            blank = 0;
        }

        if (bytes || (s->data[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    fuzz_assert(!blank && n >= 1 && n <= max);
}


static void
fuzz_short_name(const ngx_grapevine_proto_opt_str_t *s)
{
    size_t  i;

    fuzz_assert(s->state == NGX_GRAPEVINE_PROTO_SET);
    fuzz_assert(s->len >= 1 && s->len <= NGX_GRAPEVINE_PROTO_MAX_SHORT_NAME);

    for (i = 0; i < s->len; i++) {
        fuzz_assert((s->data[i] >= '0' && s->data[i] <= '9')
                    || (s->data[i] >= 'a' && s->data[i] <= 'z')
                    || (s->data[i] >= 'A' && s->data[i] <= 'Z'));
    }

    fuzz_assert(!(s->len == 6
                  && strncasecmp((char *) s->data, "online", 6) == 0));
}


static void
fuzz_rules(const ngx_grapevine_proto_event_t *ev,
    const ngx_grapevine_proto_limits_t *limits)
{
    size_t                               i;
    const ngx_grapevine_proto_record_t  *r;

    switch (ev->type) {

    case NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST:
        if (ev->payload != NGX_GRAPEVINE_PROTO_SET
            || ev->status == NGX_GRAPEVINE_PROTO_STATUS_FAILURE)
        {
            break;
        }

        fuzz_text_rule(&ev->u.channel.channel,
                       NGX_GRAPEVINE_PROTO_MAX_CHANNEL, 0);
        fuzz_text_rule(&ev->u.channel.name, NGX_GRAPEVINE_PROTO_MAX_NAME, 0);
        fuzz_text_rule(&ev->u.channel.message, limits->max_message, 1);
        fuzz_short_name(&ev->u.channel.game);
        break;

    case NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES:
        for (i = 0; i < ev->u.sync.nrecords; i++) {
            r = &ev->u.sync.records[i];

            if (r->invalid) {
                continue;
            }

            if (ev->u.sync.kind == NGX_GRAPEVINE_PROTO_REC_GAME) {
                if (r->u.game.short_name.state == NGX_GRAPEVINE_PROTO_SET) {
                    fuzz_short_name(&r->u.game.short_name);
                }

            } else if (r->u.channel.name.state == NGX_GRAPEVINE_PROTO_SET) {
                fuzz_text_rule(&r->u.channel.name,
                               NGX_GRAPEVINE_PROTO_MAX_CHANNEL, 0);
            }
        }

        break;

    default:
        break;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                           rc, rc2;
    size_t                        i, allocs;
    uint32_t                      hash;
    fuzz_pool_t                   pool;
    ngx_grapevine_arena_t         arena;
    ngx_grapevine_proto_event_t   ev;
    ngx_grapevine_proto_error_t   err;
    ngx_grapevine_proto_limits_t  limits;

    ngx_grapevine_proto_limits_init(&limits);

    if (size > 1 && data[0] == ' ' && (data[1] & 1)) {
        limits.max_depth = 4;
        limits.max_records = 2;
        limits.max_frame_size = 512;
        limits.max_message = 16;
    }

    memset(&pool, 0, sizeof(fuzz_pool_t));
    arena.alloc = fuzz_alloc;
    arena.ctx = &pool;

    rc = ngx_grapevine_proto_parse(data, size, &limits, &arena, &ev, &err);
    allocs = pool.allocs;

    fuzz_assert(rc == err.code);
    fuzz_assert(rc >= NGX_GRAPEVINE_PROTO_OK
                && rc <= NGX_GRAPEVINE_PROTO_ENOMEM);
    fuzz_assert(rc != NGX_GRAPEVINE_PROTO_ENOMEM);
    fuzz_assert(err.msg != NULL
                && (rc == NGX_GRAPEVINE_PROTO_OK) == (err.msg[0] == '\0'));

    if (!ngx_grapevine_proto_frame_error(rc)) {
        fuzz_event(&arena, &ev, limits.max_records);
    }

    if (rc == NGX_GRAPEVINE_PROTO_OK) {
        fuzz_rules(&ev, &limits);
    }

    if (size <= 64) {
        fuzz_times(data, size);
    }

    fuzz_free(&pool);

    if (allocs == 0) {
        return 0;
    }

    /*
     * Again, with one of those allocations failing: ENOMEM, or the same
     * frame error when only its message could not be allocated.
     */

    hash = 2166136261u;

    for (i = 0; i < size; i++) {
        hash = (hash ^ data[i]) * 16777619u;
    }

    pool.fail_at = 1 + hash % allocs;

    rc2 = ngx_grapevine_proto_parse(data, size, &limits, &arena, &ev, &err);

    fuzz_assert(rc2 == NGX_GRAPEVINE_PROTO_ENOMEM
                || (rc2 == rc && ngx_grapevine_proto_frame_error(rc)));
    fuzz_assert(err.code == rc2 && err.msg != NULL && err.msg[0] != '\0');

    fuzz_free(&pool);

    return 0;
}
