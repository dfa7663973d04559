
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_request.h"
#include "ngx_grapevine_stream.h"
#include "ngx_grapevine_api.h"


/*
 * GET channels/{channel}/events: a channel's chat as Server-Sent Events,
 * on core's streams (ngx_grapevine_stream.h).
 *
 *   id: 42
 *   event: message
 *   data: {"id":42,"channel":"gossip","game":...,"text":...}
 *
 *   event: hide
 *   data: {"id":42}
 *
 * The trigger api_chat_notify() (sql/api/api_chat_notify.sql) announces
 * every message stored, and every message hidden, on the channel
 * grapevine_chat.  Each worker's listening connection hears it: a hidden
 * message's id goes to every stream at once; the ids of new messages are
 * gathered (at most NGX_GRAPEVINE_API_NEWS_MAX) and read in one query,
 * one at a time, and each message goes to its channel's streams.
 *
 * A client resumes with Last-Event-ID (or ?last_event_id= on its first
 * connection, the newest message it shows): the stream is added first,
 * then the messages after that id are read and written, then it is live.
 * Whatever was published meanwhile is read again (a message published is
 * committed, so the next read has it), at most NGX_GRAPEVINE_API_CATCH_UP
 * times.  At most 100 messages are caught up on one connection: past
 * them the stream ends and the client, connecting again with the newest
 * id it has, gets the next ones.
 *
 * When the worker cannot hear every message (the listening connection is
 * lost, more ids than it can gather, a read that fails) it ends its
 * streams: the clients come back with Last-Event-ID and miss nothing.
 */


#define NGX_GRAPEVINE_API_CHAT_CHANNEL   "grapevine_chat"
#define NGX_GRAPEVINE_API_PRESENCE       "grapevine_presence"
#define NGX_GRAPEVINE_API_GAMES_MAX      256
#define NGX_GRAPEVINE_API_NEWS_MAX       1024
#define NGX_GRAPEVINE_API_CATCH_UP       5
#define NGX_GRAPEVINE_API_BACKLOG        100


typedef struct {
    ngx_grapevine_pg_query_t      q;         /* first: the handler casts */
    ngx_grapevine_stream_t        s;
    ngx_grapevine_api_ctx_t      *ctx;
    ngx_uint_t                    tries;
    const char                   *values[2];
    u_char                        after[NGX_INT64_LEN + 1];
} ngx_grapevine_api_stream_t;


typedef struct {
    ngx_uint_t                    listening;
    uint64_t                      ids[NGX_GRAPEVINE_API_NEWS_MAX];
    ngx_uint_t                    nids;
    ngx_uint_t                    busy;
    ngx_grapevine_pg_query_t      q;
    const char                   *values[1];
    u_char                       *array;     /* "{1,2,3}" */
    u_char                       *event;
    size_t                        event_size;
} ngx_grapevine_api_news_t;


static void ngx_grapevine_api_chat_notify(ngx_grapevine_listen_t *l,
    ngx_str_t *payload);
static void ngx_grapevine_api_chat_state(ngx_grapevine_listen_t *l,
    ngx_uint_t listening);
static void ngx_grapevine_api_news(void);
static void ngx_grapevine_api_news_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static u_char *ngx_grapevine_api_event(PGresult *res, int row,
    size_t *len);
static ngx_int_t ngx_grapevine_api_stream_head(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_api_catch_up(ngx_grapevine_api_stream_t *st);
static void ngx_grapevine_api_stream_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);


static ngx_int_t ngx_grapevine_api_event_id(ngx_str_t *s, uint64_t *n);


static ngx_grapevine_listen_t  ngx_grapevine_api_chat_listen = {
    NGX_GRAPEVINE_API_CHAT_CHANNEL,
    ngx_grapevine_api_chat_notify,
    ngx_grapevine_api_chat_state,
    NULL
};


static ngx_grapevine_api_news_t  ngx_grapevine_api_news_state;


/*
 * The network's stream (GET events): a game's presence changed (its
 * players, its being online), announced on grapevine_presence with the
 * game's id by api_presence_notify(); the ids are gathered, without
 * repeats, and read in one query; each game goes to every network stream
 * as an event "presence".
 */

typedef struct {
    uint64_t                      ids[NGX_GRAPEVINE_API_GAMES_MAX];
    ngx_uint_t                    nids;
    ngx_uint_t                    busy;
    ngx_grapevine_pg_query_t      q;
    const char                   *values[1];
    u_char                        array[NGX_GRAPEVINE_API_GAMES_MAX
                                        * (NGX_INT64_LEN + 1) + 3];
} ngx_grapevine_api_presence_t;


static void ngx_grapevine_api_spoke(ngx_str_t *channel);
static void ngx_grapevine_api_presence_notify(ngx_grapevine_listen_t *l,
    ngx_str_t *payload);
static void ngx_grapevine_api_presence_read(void);
static void ngx_grapevine_api_presence_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);


static ngx_grapevine_listen_t  ngx_grapevine_api_presence_listen = {
    NGX_GRAPEVINE_API_PRESENCE,
    ngx_grapevine_api_presence_notify,
    NULL,
    NULL
};


static ngx_grapevine_api_presence_t  ngx_grapevine_api_presence_state;

/* the network stream's topic: no channel's name (a channel's is lowered) */
static ngx_str_t  ngx_grapevine_api_network = ngx_string("*network");

#define NGX_GRAPEVINE_API_CHANNEL_MAX  64      /* a channel's name, bytes */


ngx_int_t
ngx_grapevine_api_stream_conf(ngx_conf_t *cf)
{
    ngx_memzero(&ngx_grapevine_api_news_state,
                sizeof(ngx_grapevine_api_news_t));
    ngx_memzero(&ngx_grapevine_api_presence_state,
                sizeof(ngx_grapevine_api_presence_t));

    if (ngx_grapevine_add_listen(cf, &ngx_grapevine_api_chat_listen)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_grapevine_add_listen(cf, &ngx_grapevine_api_presence_listen);
}


ngx_int_t
ngx_grapevine_api_stream_args(ngx_grapevine_api_ctx_t *ctx)
{
    uint64_t             n;
    ngx_int_t            rc;
    ngx_grapevine_arg_t  args[1];

    ngx_memzero(args, sizeof(args));
    args[0].name = "last_event_id";

    rc = ngx_grapevine_query_args(ctx->r, args, 1, &ctx->q.error);
    if (rc != NGX_OK) {
        return rc;
    }

    if (args[0].value.data) {
        if (ngx_grapevine_api_event_id(&args[0].value, &n) != NGX_OK) {
            ngx_str_set(&ctx->q.error, "last_event_id: must be a message "
                        "id (an integer from 0)");
            return NGX_DECLINED;
        }

        ctx->after = n;
        ctx->has_after = 1;
    }

    return NGX_OK;
}


/* the request: a stream added, then caught up */

ngx_int_t
ngx_grapevine_api_stream(ngx_grapevine_api_ctx_t *ctx)
{
    uint64_t                     n;
    ngx_int_t                    rc;
    ngx_str_t                    msg;
    const char                  *code;
    ngx_table_elt_t             *h;
    ngx_http_request_t          *r;
    ngx_grapevine_api_stream_t  *st;

    r = ctx->r;

    h = ngx_grapevine_req_header(r, "Last-Event-ID");

    if (h && h->value.len) {
        if (ngx_grapevine_api_event_id(&h->value, &n) != NGX_OK) {
            ngx_str_set(&msg, "Last-Event-ID: must be a message id "
                        "(an integer from 0)");
            return ngx_grapevine_api_error(r, NGX_HTTP_BAD_REQUEST,
                                           "invalid_parameter", &msg);
        }

        ctx->after = n;
        ctx->has_after = 1;
    }

    if (!ngx_grapevine_api_news_state.listening) {
        code = "database_unavailable";
        ngx_str_set(&msg, "live updates are unavailable, try again later");
        goto unavailable;
    }

    st = ngx_pcalloc(r->pool, sizeof(ngx_grapevine_api_stream_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->ctx = ctx;
    st->values[0] = ctx->values[0];

    st->q.stmt = &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_EVENTS];
    st->q.nparams = 2;
    st->q.values = st->values;
    st->q.handler = ngx_grapevine_api_stream_done;

    if (r->header_only) {
        if (ctx->route->nsegs == 1) {
            return ngx_grapevine_api_stream_head(r);
        }

        /* HEAD: the channel is read, no stream is opened */
        goto query;
    }

    rc = ngx_grapevine_stream_add(r, &st->s);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        code = "too_many_streams";
        ngx_str_set(&msg, "too many open streams, try again later "
                    "(grapevine_stream_max)");
        goto unavailable;
    }

    if (rc == NGX_ABORT) {
        ngx_str_set(&msg, "a stream is served over HTTP/1.x");
        return ngx_grapevine_api_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_parameter", &msg);
    }

    st->s.data = st;

    if (ctx->route->nsegs == 1) {
        /* the network's stream: nothing to read, nothing to resume */
        st->s.topic = ngx_grapevine_api_network;
        st->s.live = 1;

        if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK
            || ngx_grapevine_stream_start(&st->s) != NGX_OK)
        {
            return NGX_ERROR;
        }

        r->main->count++;
        return NGX_DONE;
    }

    /* the channel's name as SQL lowers it once the channel is read */

    st->s.topic.len = ctx->path[0].len;
    st->s.topic.data = ngx_pnalloc(r->pool, ctx->path[0].len);
    if (st->s.topic.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_strlow(st->s.topic.data, ctx->path[0].data, ctx->path[0].len);

    if (ctx->has_after) {
        st->s.last_id = ctx->after;
        *ngx_sprintf(st->after, "%uL", ctx->after) = '\0';
        st->values[1] = (const char *) st->after;

    } else {
        /* nothing to catch up: live at once */
        st->s.live = 1;
    }

query:

    rc = ngx_grapevine_http_query(r, &st->q);

    if (rc == NGX_DECLINED) {
        ctx->q.unavailable = 1;
        ctx->q.error = st->q.error;
        return ngx_grapevine_api_failed(ctx, NULL);
    }

    return rc;

unavailable:

    if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE, code,
                                    &msg);
}


/* the channel and the messages after the id: the stream starts, or not */

static void
ngx_grapevine_api_stream_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    int                          row, nrows;
    u_char                      *ev;
    size_t                       len;
    uint64_t                     id;
    ngx_str_t                    msg, topic;
    ngx_uint_t                   n;
    ngx_http_request_t          *r;
    ngx_grapevine_api_ctx_t     *ctx;
    ngx_grapevine_api_stream_t  *st;

    st = (ngx_grapevine_api_stream_t *) q;
    ctx = st->ctx;
    r = ctx->r;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (st->s.started) {
            ngx_grapevine_stream_end(&st->s);
            return;
        }

        ctx->q.unavailable = q->unavailable;
        ctx->q.timed_out = q->timed_out;
        ctx->q.error = q->error;

        ngx_grapevine_http_finalize(r, ngx_grapevine_api_failed(ctx, res));
        return;
    }

    nrows = PQntuples(res);

    if (!st->s.started) {

        if (nrows == 0) {
            ngx_str_set(&msg, "channel not found");
            ngx_grapevine_http_finalize(r,
                ngx_grapevine_api_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        &msg));
            return;
        }

        if (r->header_only) {
            ngx_grapevine_http_finalize(r, ngx_grapevine_api_stream_head(r));
            return;
        }

        topic.len = PQgetlength(res, 0, 0);
        topic.data = ngx_pnalloc(r->pool, topic.len);
        if (topic.data == NULL) {
            ngx_grapevine_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memcpy(topic.data, PQgetvalue(res, 0, 0), topic.len);
        st->s.topic = topic;

        if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK
            || ngx_grapevine_stream_start(&st->s) != NGX_OK)
        {
            ngx_grapevine_http_finalize(r, NGX_ERROR);
            return;
        }
    }

    n = 0;

    for (row = 0; row < nrows; row++) {
        if (PQgetisnull(res, row, 1)) {
            continue;
        }

        if (n == NGX_GRAPEVINE_API_BACKLOG) {
            /* more: the client connects again for them */
            ngx_grapevine_stream_end(&st->s);
            return;
        }

        n++;

        id = ngx_atoof((u_char *) PQgetvalue(res, row, 1),
                       PQgetlength(res, row, 1));

        if (id <= st->s.last_id) {
            continue;
        }

        ev = ngx_grapevine_api_event(res, row, &len);

        if (ev == NULL
            || ngx_grapevine_stream_write(&st->s, id, ev, len) != NGX_OK)
        {
            /* the stream is closed */
            return;
        }
    }

    if (st->s.live) {
        return;
    }

    if (st->s.missed && st->tries < NGX_GRAPEVINE_API_CATCH_UP) {
        if (ngx_grapevine_api_catch_up(st) == NGX_OK) {
            return;
        }

        ngx_grapevine_stream_end(&st->s);
        return;
    }

    st->s.live = 1;
}


/* HEAD: a stream's headers */

static ngx_int_t
ngx_grapevine_api_stream_head(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    return ngx_http_send_special(r, NGX_HTTP_LAST);
}


/* what was published while the stream caught up: read again */

static ngx_int_t
ngx_grapevine_api_catch_up(ngx_grapevine_api_stream_t *st)
{
    ngx_int_t  rc;

    st->tries++;
    st->s.missed = 0;

    *ngx_sprintf(st->after, "%uL", st->s.last_id) = '\0';

    ngx_str_null(&st->q.error);
    st->q.unavailable = 0;
    st->q.timed_out = 0;

    rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, &st->q);

    return (rc == NGX_OK || rc == NGX_AGAIN) ? NGX_OK : NGX_ERROR;
}


static void
ngx_grapevine_api_chat_state(ngx_grapevine_listen_t *l,
    ngx_uint_t listening)
{
    ngx_grapevine_api_news_t  *nw;

    nw = &ngx_grapevine_api_news_state;

    nw->listening = listening;

    if (!listening) {
        /* what is said now would not be heard: the clients resume later */
        nw->nids = 0;
        ngx_grapevine_stream_end_all();
    }
}


static void
ngx_grapevine_api_chat_notify(ngx_grapevine_listen_t *l, ngx_str_t *payload)
{
    u_char                    *p;
    ngx_str_t                  v;
    uint64_t                   id;
    ngx_grapevine_api_news_t  *nw;
    u_char                     buf[sizeof("event: hide\ndata: {\"id\":}\n\n")
                                   + NGX_INT64_LEN];

    nw = &ngx_grapevine_api_news_state;

    v = *payload;

    if (v.len && v.data[0] == 'h') {
        v.data++;
        v.len--;

        if (ngx_grapevine_parse_uint(&v, NGX_GRAPEVINE_API_ID_MAX, &id)
            != NGX_OK)
        {
            return;
        }

        p = ngx_sprintf(buf, "event: hide\ndata: {\"id\":%uL}\n\n", id);
        ngx_grapevine_stream_publish(NULL, 0, buf, p - buf);
        return;
    }

    if (ngx_grapevine_parse_uint(&v, NGX_GRAPEVINE_API_ID_MAX, &id)
        != NGX_OK)
    {
        return;
    }

    if (ngx_grapevine_stream_count() == 0) {
        return;
    }

    if (nw->nids == NGX_GRAPEVINE_API_NEWS_MAX) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "grapevine: more than %d new messages wait to be "
                      "read for the streams, they end and resume",
                      NGX_GRAPEVINE_API_NEWS_MAX);
        nw->nids = 0;
        ngx_grapevine_stream_end_all();
        return;
    }

    nw->ids[nw->nids++] = id;

    if (!nw->busy) {
        ngx_grapevine_api_news();
    }
}


/* the gathered ids, read in one query */

static void
ngx_grapevine_api_news(void)
{
    u_char                    *p;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_grapevine_api_news_t  *nw;

    nw = &ngx_grapevine_api_news_state;

    if (nw->array == NULL) {
        nw->array = ngx_alloc(NGX_GRAPEVINE_API_NEWS_MAX
                              * (NGX_INT64_LEN + 1) + 3, ngx_cycle->log);
        if (nw->array == NULL) {
            goto failed;
        }
    }

    p = nw->array;
    *p++ = '{';

    for (i = 0; i < nw->nids; i++) {
        p = ngx_sprintf(p, i ? ",%uL" : "%uL", nw->ids[i]);
    }

    *p++ = '}';
    *p = '\0';

    nw->nids = 0;

    ngx_memzero(&nw->q, sizeof(ngx_grapevine_pg_query_t));

    nw->values[0] = (const char *) nw->array;
    nw->q.stmt = &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_NEWS];
    nw->q.nparams = 1;
    nw->q.values = nw->values;
    nw->q.handler = ngx_grapevine_api_news_done;

    nw->busy = 1;

    rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, &nw->q);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        return;
    }

    nw->busy = 0;

failed:

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "grapevine: could not read new messages for the streams, "
                  "they end and resume");

    ngx_grapevine_stream_end_all();
}


static void
ngx_grapevine_api_news_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    int                        row, nrows;
    u_char                    *ev;
    size_t                     len;
    uint64_t                   id;
    ngx_str_t                  topic;
    ngx_grapevine_api_news_t  *nw;

    nw = &ngx_grapevine_api_news_state;

    nw->busy = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "grapevine: could not read new messages for the "
                      "streams, they end and resume: %V", &q->error);
        nw->nids = 0;
        ngx_grapevine_stream_end_all();
        return;
    }

    nrows = PQntuples(res);

    for (row = 0; row < nrows; row++) {
        topic.data = (u_char *) PQgetvalue(res, row, 0);
        topic.len = PQgetlength(res, row, 0);

        id = ngx_atoof((u_char *) PQgetvalue(res, row, 1),
                       PQgetlength(res, row, 1));

        ev = ngx_grapevine_api_event(res, row, &len);
        if (ev == NULL) {
            break;
        }

        ngx_grapevine_stream_publish(&topic, id, ev, len);

        /* and to the network's stream: which channel spoke (the chat index) */
        ngx_grapevine_api_spoke(&topic);
    }

    if (ngx_grapevine_stream_count() == 0) {
        /* nobody to tell: a stream opened later reads its own past */
        nw->nids = 0;
        return;
    }

    if (nw->nids) {
        ngx_grapevine_api_news();
    }
}


/*
 * The network's stream hears that a channel spoke: an event "chat" with
 * {"channel": its lowered name}.  A name of the protocol's characters
 * only (letters, digits, "-", "_"): nothing to escape.
 */

static void
ngx_grapevine_api_spoke(ngx_str_t *channel)
{
    u_char      *p, buf[sizeof("event: chat\ndata: {\"channel\":\"\"}\n\n")
                        + NGX_GRAPEVINE_API_CHANNEL_MAX];
    ngx_uint_t   i;

    if (channel->len == 0 || channel->len > NGX_GRAPEVINE_API_CHANNEL_MAX) {
        return;
    }

    for (i = 0; i < channel->len; i++) {
        if (!(isalnum(channel->data[i])
              || channel->data[i] == '-' || channel->data[i] == '_'))
        {
            return;
        }
    }

    p = ngx_cpymem(buf, "event: chat\ndata: {\"channel\":\"",
                   sizeof("event: chat\ndata: {\"channel\":\"") - 1);
    p = ngx_cpymem(p, channel->data, channel->len);
    p = ngx_cpymem(p, "\"}\n\n", sizeof("\"}\n\n") - 1);

    ngx_grapevine_stream_publish(&ngx_grapevine_api_network, 0, buf, p - buf);
}


/* a row (topic, id, data) as an event, in the worker's buffer */

static u_char *
ngx_grapevine_api_event(PGresult *res, int row, size_t *len)
{
    u_char                    *p;
    size_t                     size, n;
    ngx_grapevine_api_news_t  *nw;

    nw = &ngx_grapevine_api_news_state;

    n = PQgetlength(res, row, 2);
    size = sizeof("event: message\ndata: \n\n") + n;

    if (size > nw->event_size) {
        if (nw->event) {
            ngx_free(nw->event);
        }

        nw->event_size = ngx_max(size, 4096);
        nw->event = ngx_alloc(nw->event_size, ngx_cycle->log);

        if (nw->event == NULL) {
            nw->event_size = 0;
            return NULL;
        }
    }

    p = ngx_cpymem(nw->event, "event: message\ndata: ",
                   sizeof("event: message\ndata: ") - 1);
    p = ngx_cpymem(p, PQgetvalue(res, row, 2), n);
    *p++ = LF;
    *p++ = LF;

    *len = p - nw->event;

    return nw->event;
}


/* a message id, or 0: a client that has none yet */

static ngx_int_t
ngx_grapevine_api_event_id(ngx_str_t *s, uint64_t *n)
{
    if (s->len == 1 && s->data[0] == '0') {
        *n = 0;
        return NGX_OK;
    }

    return ngx_grapevine_parse_uint(s, NGX_GRAPEVINE_API_ID_MAX, n);
}


static void
ngx_grapevine_api_presence_notify(ngx_grapevine_listen_t *l,
    ngx_str_t *payload)
{
    uint64_t                       id;
    ngx_uint_t                     i;
    ngx_grapevine_api_presence_t  *ps;

    ps = &ngx_grapevine_api_presence_state;

    if (ngx_grapevine_parse_uint(payload, NGX_GRAPEVINE_API_ID_MAX, &id)
        != NGX_OK
        || ngx_grapevine_stream_count() == 0)
    {
        return;
    }

    for (i = 0; i < ps->nids; i++) {
        if (ps->ids[i] == id) {
            return;
        }
    }

    if (ps->nids == NGX_GRAPEVINE_API_GAMES_MAX) {
        /* a page that missed one reloads its part on the next */
        return;
    }

    ps->ids[ps->nids++] = id;

    if (!ps->busy) {
        ngx_grapevine_api_presence_read();
    }
}


static void
ngx_grapevine_api_presence_read(void)
{
    u_char                        *p;
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    ngx_grapevine_api_presence_t  *ps;

    ps = &ngx_grapevine_api_presence_state;

    p = ps->array;
    *p++ = '{';

    for (i = 0; i < ps->nids; i++) {
        p = ngx_sprintf(p, i ? ",%uL" : "%uL", ps->ids[i]);
    }

    *p++ = '}';
    *p = '\0';

    ps->nids = 0;

    ngx_memzero(&ps->q, sizeof(ngx_grapevine_pg_query_t));

    ps->values[0] = (const char *) ps->array;
    ps->q.stmt = &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_PRESENCE];
    ps->q.nparams = 1;
    ps->q.values = ps->values;
    ps->q.handler = ngx_grapevine_api_presence_done;

    ps->busy = 1;

    rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, &ps->q);

    if (rc != NGX_OK && rc != NGX_AGAIN) {
        ps->busy = 0;
    }
}


static void
ngx_grapevine_api_presence_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    int                            row, nrows;
    u_char                        *p;
    size_t                         n;
    ngx_grapevine_api_presence_t  *ps;
    u_char                         buf[512];

    ps = &ngx_grapevine_api_presence_state;

    ps->busy = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "grapevine: could not read the games' presence for "
                      "the streams: %V", &q->error);
        ps->nids = 0;
        return;
    }

    nrows = PQntuples(res);

    for (row = 0; row < nrows; row++) {
        n = PQgetlength(res, row, 0);

        if (n > sizeof(buf) - sizeof("event: presence\ndata: \n\n")) {
            continue;
        }

        p = ngx_cpymem(buf, "event: presence\ndata: ",
                       sizeof("event: presence\ndata: ") - 1);
        p = ngx_cpymem(p, PQgetvalue(res, row, 0), n);
        *p++ = LF;
        *p++ = LF;

        ngx_grapevine_stream_publish(&ngx_grapevine_api_network, 0, buf,
                                     p - buf);
    }

    if (ngx_grapevine_stream_count() == 0) {
        ps->nids = 0;
        return;
    }

    if (ps->nids) {
        ngx_grapevine_api_presence_read();
    }
}
