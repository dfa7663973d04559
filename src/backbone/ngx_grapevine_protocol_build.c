
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * The builders: the frames the module sends to the hub (authenticate,
 * heartbeat, sync, tells/send, channels/send, subscribe, unsubscribe,
 * players/status), as compact JSON with yajl, their arguments checked
 * first.  See ngx_grapevine_protocol.h.
 */


#include <string.h>

#include <yajl/yajl_gen.h>

#include "ngx_grapevine_protocol_schema.h"


typedef struct {
    yajl_gen                             gen;
    ngx_grapevine_arena_t               *arena;
    const char                          *event;
    ngx_grapevine_proto_error_t         *err;
} ngx_grapevine_proto_gen_t;


#define ngx_grapevine_proto_present(s)  ((s) != NULL && (s)->data != NULL)



static void ngx_grapevine_proto_gen_init(ngx_grapevine_proto_gen_t *b,
    ngx_grapevine_arena_t *arena, const char *event,
    ngx_grapevine_proto_error_t *err);
static int ngx_grapevine_proto_gen_begin(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *ref, unsigned payload);
static int ngx_grapevine_proto_gen_end(ngx_grapevine_proto_gen_t *b,
    unsigned depth, ngx_grapevine_proto_str_t *out);
static int ngx_grapevine_proto_gen_done(ngx_grapevine_proto_gen_t *b,
    int rc);
static int ngx_grapevine_proto_build_channel(ngx_grapevine_arena_t *arena,
    const char *event, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel, ngx_grapevine_proto_str_t *out,
    ngx_grapevine_proto_error_t *err);
static int ngx_grapevine_proto_gen_check(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *s, unsigned required);
static int ngx_grapevine_proto_gen_checks(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *elts, size_t nelts);
static int ngx_grapevine_proto_gen_time(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *s, u_char *buf,
    ngx_grapevine_proto_str_t *norm);
static int ngx_grapevine_proto_gen_lit(ngx_grapevine_proto_gen_t *b,
    const char *lit);
static int ngx_grapevine_proto_gen_text(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *s);
static int ngx_grapevine_proto_gen_kv(ngx_grapevine_proto_gen_t *b,
    const char *key, const ngx_grapevine_proto_str_t *s);
static int ngx_grapevine_proto_gen_list(ngx_grapevine_proto_gen_t *b,
    const char *key, const ngx_grapevine_proto_str_t *elts, size_t nelts);
static int ngx_grapevine_proto_gen_status(ngx_grapevine_proto_gen_t *b,
    yajl_gen_status status);
static int ngx_grapevine_proto_gen_fail(ngx_grapevine_proto_gen_t *b,
    int rc, const char *name, const char *what);


/* builders */

int
ngx_grapevine_proto_build_authenticate(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_auth_request_t *req,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc, channels;
    size_t                     i;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "authenticate", err);

    if (req == NULL) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            NULL, "no request");
    }

    if (req->supports.state != NGX_GRAPEVINE_PROTO_SET
        || req->supports.nelts == 0)
    {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            "supports", "missing");
    }

    channels = 0;

    for (i = 0; i < req->supports.nelts; i++) {
        if (req->supports.elts[i].len == 8
            && req->supports.elts[i].data != NULL
            && memcmp(req->supports.elts[i].data, "channels", 8) == 0)
        {
            channels = 1;
        }
    }

    if (!channels) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            "supports",
                                            "must include \"channels\"");
    }

    if ((rc = ngx_grapevine_proto_gen_check(&b, "client_id", &req->client_id,
                                            1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "client_secret",
                                               &req->client_secret, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "user_agent",
                                               &req->user_agent, 0))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_checks(&b, "supports",
                                                req->supports.elts,
                                                req->supports.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (req->channels.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_checks(&b, "channels",
                                                req->channels.elts,
                                                req->channels.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (req->players.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_checks(&b, "players",
                                                req->players.elts,
                                                req->players.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, NULL, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "client_id", &req->client_id))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "client_secret",
                                            &req->client_secret))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_list(&b, "supports",
                                              req->supports.elts,
                                              req->supports.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (req->channels.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_list(&b, "channels",
                                              req->channels.elts,
                                              req->channels.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if ((rc = ngx_grapevine_proto_gen_lit(&b, "version"))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(&b, NGX_GRAPEVINE_PROTO_VERSION))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (ngx_grapevine_proto_present(&req->user_agent)
        && (rc = ngx_grapevine_proto_gen_kv(&b, "user_agent",
                                            &req->user_agent))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (req->players.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_list(&b, "players",
                                              req->players.elts,
                                              req->players.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_heartbeat(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *players, size_t nplayers,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "heartbeat", err);

    if (nplayers && players == NULL) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            "players", "missing");
    }

    rc = ngx_grapevine_proto_gen_checks(&b, "players", players, nplayers);
    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, NULL, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_list(&b, "players", players,
                                              nplayers))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_sync(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *since,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    u_char                     buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    ngx_grapevine_proto_str_t  norm;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "sync", err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_time(&b, "since", since, buf, &norm))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(&b, "since"))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (norm.data != NULL) {
        rc = ngx_grapevine_proto_gen_text(&b, &norm);

    } else {
        rc = ngx_grapevine_proto_gen_status(&b, yajl_gen_null(b.gen));
    }

    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_tells_send(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_tell_request_t *req,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    u_char                     buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    ngx_grapevine_proto_str_t  sent_at;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "tells/send", err);

    if (req == NULL) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            NULL, "no request");
    }

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", &req->ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "from_name",
                                               &req->from_name, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "to_game", &req->to_game,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "to_name", &req->to_name,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "sent_at", &req->sent_at,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_time(&b, "sent_at", &req->sent_at,
                                              buf, &sent_at))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "message", &req->message,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, &req->ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "from_name", &req->from_name))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "to_game", &req->to_game))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "to_name", &req->to_name))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "sent_at", &sent_at))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "message", &req->message))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_channels_send(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    const ngx_grapevine_proto_str_t *name,
    const ngx_grapevine_proto_str_t *message,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "channels/send", err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "channel", channel, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "name", name, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "message", message, 1))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "channel", channel))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "name", name))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "message", message))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_channels_subscribe(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    return ngx_grapevine_proto_build_channel(arena, "channels/subscribe", ref,
                                             channel, out, err);
}


int
ngx_grapevine_proto_build_channels_unsubscribe(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    return ngx_grapevine_proto_build_channel(arena, "channels/unsubscribe",
                                             ref, channel, out, err);
}


static int
ngx_grapevine_proto_build_channel(ngx_grapevine_arena_t *arena,
    const char *event, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel, ngx_grapevine_proto_str_t *out,
    ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, event, err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "channel", channel, 1))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "channel", channel))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_players_status(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *game,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    unsigned                   payload;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "players/status", err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "game", game, 0))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    payload = ngx_grapevine_proto_present(game);

    rc = ngx_grapevine_proto_gen_begin(&b, ref, payload);

    if (rc == NGX_GRAPEVINE_PROTO_OK && payload) {
        rc = ngx_grapevine_proto_gen_kv(&b, "game", game);
    }

    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, payload ? 2 : 1, out);
}


static void
ngx_grapevine_proto_gen_init(ngx_grapevine_proto_gen_t *b,
    ngx_grapevine_arena_t *arena, const char *event,
    ngx_grapevine_proto_error_t *err)
{
    b->gen = NULL;
    b->arena = arena;
    b->event = event;
    b->err = err;
}


/* {"event":E[,"ref":R][,"payload":{ */

static int
ngx_grapevine_proto_gen_begin(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *ref, unsigned payload)
{
    int  rc;

    b->gen = yajl_gen_alloc(NULL);
    if (b->gen == NULL) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_ENOMEM,
                                            NULL, "out of memory");
    }

    if (!yajl_gen_config(b->gen, yajl_gen_validate_utf8, 1)) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            NULL, "yajl_gen_config() failed");
    }

    if ((rc = ngx_grapevine_proto_gen_status(b, yajl_gen_map_open(b->gen)))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(b, "event"))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(b, b->event))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (ngx_grapevine_proto_present(ref)
        && (rc = ngx_grapevine_proto_gen_kv(b, "ref", ref))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (payload
        && ((rc = ngx_grapevine_proto_gen_lit(b, "payload"))
            != NGX_GRAPEVINE_PROTO_OK
            || (rc = ngx_grapevine_proto_gen_status(b,
                                                 yajl_gen_map_open(b->gen)))
               != NGX_GRAPEVINE_PROTO_OK))
    {
        return rc;
    }

    return NGX_GRAPEVINE_PROTO_OK;
}


/* closes depth objects and copies the frame into the arena */

static int
ngx_grapevine_proto_gen_end(ngx_grapevine_proto_gen_t *b, unsigned depth,
    ngx_grapevine_proto_str_t *out)
{
    int            rc;
    size_t         len;
    u_char        *data;
    const u_char  *buf;

    while (depth--) {
        rc = ngx_grapevine_proto_gen_status(b, yajl_gen_map_close(b->gen));
        if (rc != NGX_GRAPEVINE_PROTO_OK) {
            return ngx_grapevine_proto_gen_done(b, rc);
        }
    }

    rc = ngx_grapevine_proto_gen_status(b, yajl_gen_get_buf(b->gen, &buf,
                                                            &len));
    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return ngx_grapevine_proto_gen_done(b, rc);
    }

    data = ngx_grapevine_proto_strdup(b->arena, buf, len);
    if (data == NULL) {
        rc = ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_ENOMEM,
                                          NULL, "out of memory");
        return ngx_grapevine_proto_gen_done(b, rc);
    }

    out->len = len;
    out->data = data;

    ngx_grapevine_proto_set_error(b->err, NGX_GRAPEVINE_PROTO_OK, NULL);

    return ngx_grapevine_proto_gen_done(b, NGX_GRAPEVINE_PROTO_OK);
}


static int
ngx_grapevine_proto_gen_done(ngx_grapevine_proto_gen_t *b, int rc)
{
    if (b->gen != NULL) {
        yajl_gen_free(b->gen);
        b->gen = NULL;
    }

    return rc;
}


/* an argument: OK if present and valid or absent and optional */

static int
ngx_grapevine_proto_gen_check(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *s, unsigned required)
{
    if (!ngx_grapevine_proto_present(s)) {
        if (required) {
            return ngx_grapevine_proto_gen_fail(b,
                                                NGX_GRAPEVINE_PROTO_EINVALID,
                                                name, "missing");
        }

        return NGX_GRAPEVINE_PROTO_OK;
    }

    switch (ngx_grapevine_proto_text_check(s->data, s->len)) {

    case NGX_GRAPEVINE_PROTO_OK:
        return NGX_GRAPEVINE_PROTO_OK;

    case NGX_GRAPEVINE_PROTO_ENUL:
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_ENUL, name,
                                            "contains a NUL character");

    default:
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EUTF8, name,
                                            "is not valid UTF-8");
    }
}


/* a list of strings; an element with data NULL must be empty */

static int
ngx_grapevine_proto_gen_checks(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *elts, size_t nelts)
{
    int     rc;
    size_t  i;

    for (i = 0; i < nelts; i++) {
        if (elts[i].data == NULL) {
            if (elts[i].len) {
                return ngx_grapevine_proto_gen_fail(b,
                                                 NGX_GRAPEVINE_PROTO_EINVALID,
                                                 name, "has a NULL element");
            }

            continue;
        }

        rc = ngx_grapevine_proto_gen_check(b, name, &elts[i], 1);
        if (rc != NGX_GRAPEVINE_PROTO_OK) {
            return rc;
        }
    }

    return NGX_GRAPEVINE_PROTO_OK;
}


/* an optional timestamp, normalised into buf; norm->data NULL if absent */

static int
ngx_grapevine_proto_gen_time(ngx_grapevine_proto_gen_t *b, const char *name,
    const ngx_grapevine_proto_str_t *s, u_char *buf,
    ngx_grapevine_proto_str_t *norm)
{
    norm->len = 0;
    norm->data = NULL;

    if (!ngx_grapevine_proto_present(s)) {
        return NGX_GRAPEVINE_PROTO_OK;
    }

    norm->len = ngx_grapevine_proto_time_normalize(s->data, s->len, buf,
                                                NGX_GRAPEVINE_PROTO_TIME_AUTO);
    if (norm->len == 0) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            name, "is not an ISO-8601 time");
    }

    norm->data = buf;

    return NGX_GRAPEVINE_PROTO_OK;
}


static int
ngx_grapevine_proto_gen_lit(ngx_grapevine_proto_gen_t *b, const char *lit)
{
    return ngx_grapevine_proto_gen_status(b,
               yajl_gen_string(b->gen, (const u_char *) lit, strlen(lit)));
}


static int
ngx_grapevine_proto_gen_text(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *s)
{
    return ngx_grapevine_proto_gen_status(b,
               yajl_gen_string(b->gen,
                               s->data ? s->data : (const u_char *) "",
                               s->len));
}


static int
ngx_grapevine_proto_gen_kv(ngx_grapevine_proto_gen_t *b, const char *key,
    const ngx_grapevine_proto_str_t *s)
{
    int  rc;

    rc = ngx_grapevine_proto_gen_lit(b, key);
    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return rc;
    }

    return ngx_grapevine_proto_gen_text(b, s);
}


static int
ngx_grapevine_proto_gen_list(ngx_grapevine_proto_gen_t *b, const char *key,
    const ngx_grapevine_proto_str_t *elts, size_t nelts)
{
    int     rc;
    size_t  i;

    if ((rc = ngx_grapevine_proto_gen_lit(b, key)) != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_status(b,
                                                yajl_gen_array_open(b->gen)))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    for (i = 0; i < nelts; i++) {
        rc = ngx_grapevine_proto_gen_text(b, &elts[i]);
        if (rc != NGX_GRAPEVINE_PROTO_OK) {
            return rc;
        }
    }

    return ngx_grapevine_proto_gen_status(b, yajl_gen_array_close(b->gen));
}


static int
ngx_grapevine_proto_gen_status(ngx_grapevine_proto_gen_t *b,
    yajl_gen_status status)
{
    if (status == yajl_gen_status_ok) {
        return NGX_GRAPEVINE_PROTO_OK;
    }

    if (status == yajl_gen_invalid_string) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EUTF8,
                                            NULL, "invalid UTF-8");
    }

    /* cannot happen: the builders nest at most 3 deep */
    return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EINVALID, NULL,
                                        "cannot generate JSON");
}


/* '<event>: "<name>" <what>'; frees nothing (see gen_done) */

static int
ngx_grapevine_proto_gen_fail(ngx_grapevine_proto_gen_t *b, int rc,
    const char *name, const char *what)
{
    const char  *msg;

    if (name) {
        msg = ngx_grapevine_proto_printf(b->arena, "%s: \"%s\" %s", b->event,
                                         name, what);

    } else {
        msg = ngx_grapevine_proto_printf(b->arena, "%s: %s", b->event, what);
    }

    ngx_grapevine_proto_set_error(b->err, rc, msg);

    return rc;
}
