
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_PG_H_INCLUDED_
#define _NGX_GRAPEVINE_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <libpq-fe.h>

#include "ngx_grapevine.h"


/*
 * A per-worker pool of non-blocking libpq connections driven by nginx's
 * event loop.  A query is a caller-owned structure: the pool runs it on an
 * idle connection, or queues it until one is free, and calls q->handler
 * exactly once, from an event of the pool, with the result or an error.
 * ngx_grapevine_pg_cancel() detaches a query whose owner goes away (the
 * connection then drains the result and returns to the pool).
 *
 * A pool is made, its callbacks (on_connect, on_broken, on_notify) set,
 * then started: a connection can come up inside ngx_grapevine_pg_pool_start()
 * and calls on_connect there.
 *
 * Named statements are registered at configuration time
 * (ngx_grapevine_prepare()).  Each connection of a pool made with them
 * prepares them all, one PQsendPrepare at a time through the same events
 * as queries, before it takes its first query; a query naming one of them
 * (q->stmt) then runs as PQsendQueryPrepared.  A statement that could not
 * be prepared on a connection (a schema that is behind) runs there as a
 * plain PQsendQueryParams of its text, and is tried again when the
 * connection is made anew.
 */


#define NGX_GRAPEVINE_PG_STMTS_MAX  64     /* bits of a connection's mask */


typedef struct ngx_grapevine_pg_query_s  ngx_grapevine_pg_query_t;

typedef void (*ngx_grapevine_pg_handler_pt)(ngx_grapevine_pg_query_t *q,
    PGresult *res);


typedef enum {
    NGX_GRAPEVINE_PG_CLOSED = 0,
    NGX_GRAPEVINE_PG_CONNECTING,
    NGX_GRAPEVINE_PG_IDLE,
    NGX_GRAPEVINE_PG_BUSY,
    NGX_GRAPEVINE_PG_BACKOFF
} ngx_grapevine_pg_state_e;


typedef struct ngx_grapevine_pg_conn_s  ngx_grapevine_pg_conn_t;


struct ngx_grapevine_pg_stmt_s {
    const char                   *name;       /* the server-side name */
    const char                   *sql;
};


struct ngx_grapevine_pg_query_s {
    const char                   *sql;        /* unless stmt is set */
    ngx_grapevine_pg_stmt_t      *stmt;       /* a registered statement */
    int                           nparams;
    const char *const            *values;     /* NULL for SQL NULL */
    const int                    *lengths;    /* NULL: NUL-terminated */

    ngx_grapevine_pg_handler_pt   handler;
    void                         *data;

    /* set before the handler is called */
    ngx_str_t                     error;      /* empty on success */
    ngx_uint_t                    unavailable;  /* database unreachable */
    ngx_uint_t                    timed_out;

    /* private */
    ngx_queue_t                   queue;
    ngx_event_t                   wait;
    ngx_grapevine_pg_conn_t      *conn;
    ngx_grapevine_pg_pool_t      *pool;
    ngx_uint_t                    queued;
    ngx_msec_t                    start;      /* asked, then sent */
    unsigned                      sent:1;
};


struct ngx_grapevine_pg_conn_s {
    PGconn                       *pg;
    ngx_connection_t             *c;
    ngx_grapevine_pg_pool_t      *pool;
    ngx_grapevine_pg_state_e      state;
    ngx_grapevine_pg_query_t     *query;
    PGresult                     *result;     /* kept until the end */
    ngx_uint_t                    failed;     /* a result was an error */

    ngx_event_t                   retry;
    ngx_msec_t                    backoff;
    ino_t                         ino;        /* socket identity */
    ngx_queue_t                   queue;      /* in pool->idle */
    ngx_uint_t                    checking;   /* schema check running */

    uint64_t                      prepared;   /* pool->stmts, by bit */
    ngx_uint_t                    next_stmt;  /* the next to prepare */
    unsigned                      preparing:1;
};


struct ngx_grapevine_pg_pool_s {
    ngx_grapevine_db_conf_t      *conf;
    ngx_log_t                    *log;
    ngx_grapevine_pg_conn_t      *conns;
    ngx_uint_t                    nconns;
    ngx_queue_t                   idle;
    ngx_queue_t                   waiting;
    ngx_uint_t                    nwaiting;

    ngx_grapevine_pg_stmt_t     **stmts;      /* prepared on connect */
    ngx_uint_t                    nstmts;
    uint64_t                      stmts_failed;  /* last attempt failed */
    uint64_t                      stmts_logged;  /* failure logged once */
    ngx_uint_t                    queue_size;  /* most waiting queries */

    ngx_uint_t                    connected;  /* connections up */
    ngx_uint_t                    connecting;
    ngx_str_t                     last_error;
    u_char                        error_buf[256];
    time_t                        last_error_time;
    ngx_msec_t                    last_kick;

    /*
     * The database lost (a connection broke, or could not be made, while
     * none was lost): logged once, as is its return; what happens in
     * between is at the debug level.  Requests answered 503 meanwhile
     * are counted (ngx_grapevine_http_unavailable_log()).
     */
    const char                   *what;       /* in messages, after
                                                 "database": "" or " (…)" */
    ngx_uint_t                    down;
    ngx_msec_t                    down_since;
    ngx_uint_t                    refused;    /* 503s since it was lost */
    ngx_uint_t                    refused_total;  /* since the start */

    void                        (*on_connect)(ngx_grapevine_pg_conn_t *pc);
    void                        (*on_broken)(ngx_grapevine_pg_conn_t *pc);
    void                        (*on_notify)(ngx_grapevine_pg_pool_t *pool,
                                             PGnotify *n);
    void                         *data;
    ngx_uint_t                    exiting;
    ngx_uint_t                    metrics;    /* the requests' pool */
};


ngx_grapevine_pg_pool_t *ngx_grapevine_pg_pool_create(ngx_cycle_t *cycle,
    ngx_grapevine_db_conf_t *conf, ngx_uint_t size, ngx_array_t *stmts);
void ngx_grapevine_pg_pool_start(ngx_grapevine_pg_pool_t *pool);
void ngx_grapevine_pg_pool_destroy(ngx_grapevine_pg_pool_t *pool);

ngx_int_t ngx_grapevine_pg_query(ngx_grapevine_pg_pool_t *pool,
    ngx_grapevine_pg_query_t *q);
ngx_int_t ngx_grapevine_pg_send(ngx_grapevine_pg_conn_t *pc,
    ngx_grapevine_pg_query_t *q);
void ngx_grapevine_pg_cancel(ngx_grapevine_pg_query_t *q);

ngx_int_t ngx_grapevine_pg_sqlstate(PGresult *res, const char *state);
ngx_int_t ngx_grapevine_pg_metrics_register(ngx_conf_t *cf);
void ngx_grapevine_pg_unavailable_count(void);
ngx_uint_t ngx_grapevine_pg_prepared(ngx_grapevine_pg_pool_t *pool);


#endif /* _NGX_GRAPEVINE_PG_H_INCLUDED_ */
