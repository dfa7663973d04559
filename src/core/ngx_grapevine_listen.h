
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_LISTEN_H_INCLUDED_
#define _NGX_GRAPEVINE_LISTEN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"


/*
 * The worker's listening connection: one PostgreSQL connection of its own
 * in each worker, made only when some module registered a channel, that
 * LISTENs on every registered channel.
 *
 * A module registers a channel while the configuration is read
 * (ngx_grapevine_add_listen()): core calls its notify with the payload of
 * every notification on that channel, and its state with 1 once the
 * channel is listened to and with 0 when the connection is lost (nothing
 * is heard until the connection is back and state is called with 1
 * again: what was learnt before may have missed a change).
 *
 * The round trip (ngx_grapevine_listen_wait()): a notification reaches
 * the worker a moment after the commit that sent it.  A waiter is called
 * once an empty query, sent on the listening connection after it began to
 * wait, has come back; PostgreSQL delivers every notification of a
 * transaction committed before that query before its answer, so by then
 * every change committed before the wait has been notified.  Waiters that
 * arrive while a round trip is under way share the next one.
 */


typedef struct ngx_grapevine_listen_s       ngx_grapevine_listen_t;
typedef struct ngx_grapevine_listen_wait_s  ngx_grapevine_listen_wait_t;

typedef void (*ngx_grapevine_listen_notify_pt)(ngx_grapevine_listen_t *l,
    ngx_str_t *payload);
typedef void (*ngx_grapevine_listen_state_pt)(ngx_grapevine_listen_t *l,
    ngx_uint_t listening);
typedef void (*ngx_grapevine_listen_wait_pt)(ngx_grapevine_listen_wait_t *w,
    ngx_uint_t ok);


/* a registration: lives as long as the configuration */

struct ngx_grapevine_listen_s {
    const char                      *channel;  /* [a-z_][a-z0-9_]*, < 64 */
    ngx_grapevine_listen_notify_pt   notify;
    ngx_grapevine_listen_state_pt    state;    /* NULL: not told */
    void                            *data;
};


/* a waiter for the round trip, owned by the caller */

struct ngx_grapevine_listen_wait_s {
    ngx_queue_t                      queue;
    ngx_grapevine_listen_wait_pt     handler;  /* ok: the round trip is
                                                  back, still listening */
    void                            *data;
    ngx_uint_t                       queued;
};


/* registration, while the configuration is read */

ngx_int_t ngx_grapevine_add_listen(ngx_conf_t *cf,
    ngx_grapevine_listen_t *l);

/* core's process hooks */

ngx_int_t ngx_grapevine_listen_init(ngx_cycle_t *cycle);
void ngx_grapevine_listen_exit(ngx_cycle_t *cycle);

/* in a worker */

ngx_int_t ngx_grapevine_listen_wait(ngx_grapevine_listen_wait_t *w);
void ngx_grapevine_listen_cancel(ngx_grapevine_listen_wait_t *w);


#endif /* _NGX_GRAPEVINE_LISTEN_H_INCLUDED_ */
