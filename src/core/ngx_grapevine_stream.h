
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_STREAM_H_INCLUDED_
#define _NGX_GRAPEVINE_STREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"


/*
 * Server-Sent Events answered by nginx itself: the open streams of a
 * worker, whatever part opened them.
 *
 * A part adds a stream to a request (ngx_grapevine_stream_add(): past
 * grapevine_stream_max streams in the worker, or in a worker that exits,
 * it is refused and the part answers 503), catches it up (say, from
 * Last-Event-ID) and starts it (ngx_grapevine_stream_start(): the 200 and
 * its headers).  Until it is live, what is published is not written to
 * it: "missed" says that something was, so that the part reads again.
 *
 * ngx_grapevine_stream_publish() writes one event to every live stream of
 * a topic: formatted once, written straight to each socket; what a client
 * does not take at once is kept in a buffer of its own of at most
 * grapevine_stream_buffer bytes, and a client that needs more is dropped.
 * An event with an id is written only to the streams that have not had it
 * (ids grow).  A comment every grapevine_stream_heartbeat keeps proxies
 * from closing quiet streams.
 *
 * Streams are idle connections to nginx: a worker that exits (reload,
 * quit) closes them at once, and the clients connect again to the new
 * workers, with Last-Event-ID.
 */


typedef struct ngx_grapevine_stream_s  ngx_grapevine_stream_t;

struct ngx_grapevine_stream_s {
    ngx_queue_t             queue;       /* the worker's streams */
    ngx_http_request_t     *r;
    ngx_str_t               topic;       /* lowercase */
    uint64_t                last_id;     /* the newest event id written */

    u_char                 *pending;     /* not yet taken by the client */
    size_t                  pending_len;

    void                   *data;        /* the part's */

    unsigned                started:1;   /* the headers are out */
    unsigned                live:1;
    unsigned                missed:1;    /* published while not live */
};


/*
 * A request that is a stream: NGX_DECLINED when the worker has no room,
 * NGX_ABORT when it is not HTTP/1.x (or a subrequest).
 */
ngx_int_t ngx_grapevine_stream_add(ngx_http_request_t *r,
    ngx_grapevine_stream_t *s);

/* the 200 and its headers: NGX_ERROR closes the request */
ngx_int_t ngx_grapevine_stream_start(ngx_grapevine_stream_t *s);

/* one event ("id: ...\nevent: ...\ndata: ...\n\n") to one stream */
ngx_int_t ngx_grapevine_stream_write(ngx_grapevine_stream_t *s,
    uint64_t id, u_char *data, size_t len);

/* to every live stream of the topic (NULL: every stream) */
void ngx_grapevine_stream_publish(ngx_str_t *topic, uint64_t id,
    u_char *data, size_t len);

/* ends a stream, or every stream (the clients resume with Last-Event-ID) */
void ngx_grapevine_stream_end(ngx_grapevine_stream_t *s);
void ngx_grapevine_stream_end_all(void);

ngx_uint_t ngx_grapevine_stream_count(void);

/* the open streams' gauge, registered by a part that answers streams */
ngx_int_t ngx_grapevine_stream_metrics(ngx_conf_t *cf);


#endif /* _NGX_GRAPEVINE_STREAM_H_INCLUDED_ */
