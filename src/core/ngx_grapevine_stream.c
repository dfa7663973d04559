
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_stream.h"
#include "ngx_grapevine_metrics.h"


/*
 * The worker's streams (ngx_grapevine_stream.h).
 *
 * The headers go through nginx's filters; the events after them are
 * written to the socket by this file, in HTTP/1.1 chunks when the headers
 * chose chunked (nginx's chunked filter would take buffers from the
 * request's pool for every event, a pool that lives as long as the
 * stream).  An event is framed once for all the streams it goes to, in
 * the worker's frame buffer; a stream that cannot take all of it keeps
 * the rest in a buffer of grapevine_stream_buffer bytes, allocated then
 * and freed once the client has taken it.  An idle stream holds its
 * request and nothing else.
 *
 * A stream's connection is marked idle: when the worker exits
 * (ngx_close_idle_connections()) nginx closes it, the request's cleanup
 * takes the stream out.
 */


#define NGX_GRAPEVINE_STREAM_CHUNK  (sizeof("ffffffffffffffff\r\n") - 1)
#define NGX_GRAPEVINE_STREAM_START  "retry: 1000\n\n"
#define NGX_GRAPEVINE_STREAM_BEAT   ":\n\n"


typedef struct {
    ngx_queue_t             streams;
    ngx_uint_t              n;
    ngx_event_t             heartbeat;
    u_char                 *frame;
    size_t                  frame_size;
    ngx_uint_t              init;
} ngx_grapevine_stream_worker_t;


static void ngx_grapevine_stream_cleanup(void *data);
static void ngx_grapevine_stream_writable(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_stream_flush(ngx_grapevine_stream_t *s);
static ngx_int_t ngx_grapevine_stream_frame(uint64_t id, u_char *data,
    size_t len, ngx_str_t *chunk);
static ngx_int_t ngx_grapevine_stream_send(ngx_grapevine_stream_t *s,
    ngx_str_t *chunk);
static void ngx_grapevine_stream_beat(ngx_event_t *ev);
static void ngx_grapevine_stream_collect(ngx_grapevine_metric_t *m);


static ngx_grapevine_stream_worker_t  ngx_grapevine_stream_worker;

static ngx_grapevine_metric_t  ngx_grapevine_stream_open = {
    "streams_open",
    "Server-Sent Events streams open now.",
    NGX_GRAPEVINE_METRIC_WORKER_GAUGE, NULL, NULL, NULL, NULL,
    NULL, ngx_grapevine_stream_collect, NULL, 0, 0, 0, NULL
};


static void
ngx_grapevine_stream_worker_init(void)
{
    ngx_grapevine_stream_worker_t  *sw;

    sw = &ngx_grapevine_stream_worker;

    if (sw->init) {
        return;
    }

    ngx_queue_init(&sw->streams);
    ngx_grapevine_timer_init(&sw->heartbeat, ngx_grapevine_stream_beat, sw,
                             ngx_cycle->log);
    sw->init = 1;
}


ngx_int_t
ngx_grapevine_stream_add(ngx_http_request_t *r, ngx_grapevine_stream_t *s)
{
    ngx_http_cleanup_t             *cln;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_stream_worker_t  *sw;

    sw = &ngx_grapevine_stream_worker;

    ngx_grapevine_stream_worker_init();

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    if (ngx_exiting || ngx_terminate || sw->n >= gmcf->stream_max) {
        return NGX_DECLINED;
    }

    /* events are written to the connection: HTTP/1.x */

    if (r != r->main || r->http_version > NGX_HTTP_VERSION_11) {
        return NGX_ABORT;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    s->r = r;

    cln->handler = ngx_grapevine_stream_cleanup;
    cln->data = s;

    ngx_queue_insert_tail(&sw->streams, &s->queue);
    sw->n++;

    if (!sw->heartbeat.timer_set) {
        ngx_add_timer(&sw->heartbeat, gmcf->stream_heartbeat);
    }

    return NGX_OK;
}


static void
ngx_grapevine_stream_cleanup(void *data)
{
    ngx_grapevine_stream_t *s = data;

    ngx_queue_remove(&s->queue);
    ngx_grapevine_stream_worker.n--;

    if (s->pending) {
        ngx_free(s->pending);
        s->pending = NULL;
    }
}


/* the part has set its headers (Cache-Control: no-store, say) */

ngx_int_t
ngx_grapevine_stream_start(ngx_grapevine_stream_t *s)
{
    ngx_int_t            rc;
    ngx_str_t            chunk;
    ngx_table_elt_t     *h;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = s->r;
    c = r->connection;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Accel-Buffering");
    ngx_str_set(&h->value, "no");

    r->keepalive = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_special(r, NGX_HTTP_FLUSH);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    s->started = (rc == NGX_OK && !c->buffered && r->out == NULL);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_grapevine_stream_writable;

    /* nginx closes idle connections when the worker exits */
    c->idle = 1;

    if (ngx_grapevine_stream_frame(0, (u_char *) NGX_GRAPEVINE_STREAM_START,
                                   sizeof(NGX_GRAPEVINE_STREAM_START) - 1,
                                   &chunk)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_grapevine_stream_send(s, &chunk) != NGX_OK) {
        return NGX_ERROR;
    }

    /* what was published before the headers went */

    if (s->started && s->pending) {
        return ngx_grapevine_stream_flush(s);
    }

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_stream_write(ngx_grapevine_stream_t *s, uint64_t id,
    u_char *data, size_t len)
{
    ngx_str_t  chunk;

    if (ngx_grapevine_stream_frame(id, data, len, &chunk) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_grapevine_stream_send(s, &chunk) != NGX_OK) {
        return NGX_ERROR;
    }

    if (id > s->last_id) {
        s->last_id = id;
    }

    return NGX_OK;
}


void
ngx_grapevine_stream_publish(ngx_str_t *topic, uint64_t id, u_char *data,
    size_t len)
{
    ngx_str_t                       chunk;
    ngx_queue_t                    *q, *next;
    ngx_grapevine_stream_t         *s;
    ngx_grapevine_stream_worker_t  *sw;

    sw = &ngx_grapevine_stream_worker;

    if (!sw->init || sw->n == 0) {
        return;
    }

    if (ngx_grapevine_stream_frame(id, data, len, &chunk) != NGX_OK) {
        return;
    }

    for (q = ngx_queue_head(&sw->streams);
         q != ngx_queue_sentinel(&sw->streams);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_grapevine_stream_t, queue);

        if (topic && (s->topic.len != topic->len
                      || ngx_memcmp(s->topic.data, topic->data, topic->len)
                         != 0))
        {
            continue;
        }

        if (!s->live) {
            s->missed = 1;
            continue;
        }

        if (id && id <= s->last_id) {
            continue;
        }

        /* a stream that fails is closed, and out of the list */

        if (ngx_grapevine_stream_send(s, &chunk) == NGX_OK && id) {
            s->last_id = id;
        }
    }
}


void
ngx_grapevine_stream_end(ngx_grapevine_stream_t *s)
{
    ngx_connection_t  *c;

    c = s->r->connection;

    /* the last chunk when it can go at once: the client connects again */

    if (s->started && s->pending == NULL && s->r->chunked) {
        (void) c->send(c, (u_char *) "0\r\n\r\n", 5);
    }

    ngx_http_finalize_request(s->r, NGX_HTTP_CLOSE);
    ngx_http_run_posted_requests(c);
}


void
ngx_grapevine_stream_end_all(void)
{
    ngx_queue_t                    *q;
    ngx_grapevine_stream_t         *s;
    ngx_grapevine_stream_worker_t  *sw;

    sw = &ngx_grapevine_stream_worker;

    if (!sw->init) {
        return;
    }

    while (!ngx_queue_empty(&sw->streams)) {
        q = ngx_queue_head(&sw->streams);
        s = ngx_queue_data(q, ngx_grapevine_stream_t, queue);

        ngx_grapevine_stream_end(s);
    }
}


ngx_uint_t
ngx_grapevine_stream_count(void)
{
    return ngx_grapevine_stream_worker.n;
}


/*
 * An event in the worker's frame buffer: the chunk's size line, the event,
 * its CRLF.  A stream that is not chunked takes the event alone.
 */

static ngx_int_t
ngx_grapevine_stream_frame(uint64_t id, u_char *data, size_t len,
    ngx_str_t *chunk)
{
    u_char                         *p, *body;
    size_t                          size, n;
    ngx_grapevine_stream_worker_t  *sw;

    sw = &ngx_grapevine_stream_worker;

    size = NGX_GRAPEVINE_STREAM_CHUNK + sizeof("id: \n") - 1 + NGX_INT64_LEN
           + len + 2;

    if (size > sw->frame_size) {
        if (sw->frame) {
            ngx_free(sw->frame);
        }

        sw->frame_size = ngx_max(size, 4096);
        sw->frame = ngx_alloc(sw->frame_size, ngx_cycle->log);

        if (sw->frame == NULL) {
            sw->frame_size = 0;
            return NGX_ERROR;
        }
    }

    /* the body first, after room for the size line */

    body = sw->frame + NGX_GRAPEVINE_STREAM_CHUNK;
    p = body;

    if (id) {
        p = ngx_sprintf(p, "id: %uL\n", id);
    }

    p = ngx_cpymem(p, data, len);
    n = p - body;

    *p++ = CR;
    *p++ = LF;

    /* the size line, right before the body */

    size = ngx_sprintf(sw->frame, "%xz" CRLF, n) - sw->frame;
    chunk->data = body - size;
    ngx_memmove(chunk->data, sw->frame, size);
    chunk->len = p - chunk->data;

    return NGX_OK;
}


/* the frame to one stream: its chunk, or its body when not chunked */

static ngx_int_t
ngx_grapevine_stream_send(ngx_grapevine_stream_t *s, ngx_str_t *chunk)
{
    u_char                     *p;
    size_t                      len;
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_grapevine_main_conf_t  *gmcf;

    r = s->r;
    c = r->connection;

    p = chunk->data;
    len = chunk->len;

    if (!r->chunked) {
        p = ngx_strlchr(p, p + len, LF) + 1;
        len -= (p - chunk->data) + 2;
    }

    n = 0;

    if (s->started && s->pending == NULL && c->write->ready) {
        n = c->send(c, p, len);

        if (n == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN) {
            n = 0;
        }

        if ((size_t) n == len) {
            return NGX_OK;
        }
    }

    /* what the client did not take: kept, up to grapevine_stream_buffer */

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    if (s->pending_len + len - n > gmcf->stream_buffer) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "grapevine: a stream's client does not keep up, "
                      "dropped past %uz bytes (grapevine_stream_buffer)",
                      gmcf->stream_buffer);
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
        return NGX_ERROR;
    }

    if (s->pending == NULL) {
        s->pending = ngx_alloc(gmcf->stream_buffer, c->log);
        if (s->pending == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
            return NGX_ERROR;
        }
    }

    ngx_memcpy(s->pending + s->pending_len, p + n, len - n);
    s->pending_len += len - n;

    if (s->started && ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_grapevine_stream_writable(ngx_http_request_t *r)
{
    ngx_http_cleanup_t      *cln;
    ngx_grapevine_stream_t  *s;

    /* the stream is its request's cleanup: the request's ctx is the part's */

    for (cln = r->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_grapevine_stream_cleanup) {
            break;
        }
    }

    if (cln == NULL) {
        return;
    }

    s = cln->data;

    if (ngx_grapevine_stream_flush(s) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
    }
}


/* the headers, then what was kept */

static ngx_int_t
ngx_grapevine_stream_flush(ngx_grapevine_stream_t *s)
{
    ssize_t              n;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = s->r;
    c = r->connection;

    if (!s->started) {
        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (c->buffered || r->out) {
            return NGX_OK;
        }

        s->started = 1;
    }

    while (s->pending) {
        n = c->send(c, s->pending, s->pending_len);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN) {
            break;
        }

        if ((size_t) n < s->pending_len) {
            ngx_memmove(s->pending, s->pending + n, s->pending_len - n);
            s->pending_len -= n;
            continue;
        }

        ngx_free(s->pending);
        s->pending = NULL;
        s->pending_len = 0;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a comment to every live stream, and again while there are streams */

static void
ngx_grapevine_stream_beat(ngx_event_t *ev)
{
    ngx_str_t                       chunk;
    ngx_queue_t                    *q, *next;
    ngx_grapevine_stream_t         *s;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_stream_worker_t  *sw;

    sw = ev->data;

    if (ngx_exiting || sw->n == 0) {
        return;
    }

    if (ngx_grapevine_stream_frame(0, (u_char *) NGX_GRAPEVINE_STREAM_BEAT,
                                   sizeof(NGX_GRAPEVINE_STREAM_BEAT) - 1,
                                   &chunk)
        == NGX_OK)
    {
        for (q = ngx_queue_head(&sw->streams);
             q != ngx_queue_sentinel(&sw->streams);
             q = next)
        {
            next = ngx_queue_next(q);
            s = ngx_queue_data(q, ngx_grapevine_stream_t, queue);

            if (s->live) {
                (void) ngx_grapevine_stream_send(s, &chunk);
            }
        }
    }

    gmcf = ngx_grapevine_cycle_conf(ngx_cycle);

    if (sw->n && gmcf) {
        ngx_add_timer(&sw->heartbeat, gmcf->stream_heartbeat);
    }
}


ngx_int_t
ngx_grapevine_stream_metrics(ngx_conf_t *cf)
{
    return ngx_grapevine_metric_register(cf, &ngx_grapevine_stream_open);
}


static void
ngx_grapevine_stream_collect(ngx_grapevine_metric_t *m)
{
    ngx_grapevine_metric_set(m, 0, ngx_grapevine_stream_count());
}
