
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <poll.h>

#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_metrics.h"


#define NGX_GRAPEVINE_PG_BACKOFF_MIN   100
#define NGX_GRAPEVINE_PG_BACKOFF_MAX   5000
#define NGX_GRAPEVINE_PG_KICK_EVERY    100


static void ngx_grapevine_pg_connect(ngx_grapevine_pg_conn_t *pc);
static ngx_int_t ngx_grapevine_pg_attach(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_detach(ngx_grapevine_pg_conn_t *pc,
    ngx_uint_t closed);
static void ngx_grapevine_pg_want_write(ngx_grapevine_pg_conn_t *pc,
    ngx_uint_t on);
static ngx_int_t ngx_grapevine_pg_ready(ngx_grapevine_pg_conn_t *pc,
    short what);
static void ngx_grapevine_pg_connect_step(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_connected(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_event(ngx_event_t *ev);
static void ngx_grapevine_pg_process(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_idle_input(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_done(ngx_grapevine_pg_conn_t *pc);
static ngx_int_t ngx_grapevine_pg_prepare_next(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_prepare_done(ngx_grapevine_pg_conn_t *pc,
    PGresult *res);
static ngx_int_t ngx_grapevine_pg_stmt_index(ngx_grapevine_pg_pool_t *pool,
    ngx_grapevine_pg_stmt_t *stmt);
static void ngx_grapevine_pg_broken(ngx_grapevine_pg_conn_t *pc,
    const char *reason);
static void ngx_grapevine_pg_lost(ngx_grapevine_pg_pool_t *pool,
    ngx_uint_t connecting);
static void ngx_grapevine_pg_back(ngx_grapevine_pg_pool_t *pool);
static void ngx_grapevine_pg_close(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_schedule(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_retry(ngx_event_t *ev);
static void ngx_grapevine_pg_set_idle(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_dispatch(ngx_grapevine_pg_pool_t *pool);
static void ngx_grapevine_pg_fail_waiting(ngx_grapevine_pg_pool_t *pool);
static void ngx_grapevine_pg_finish_query(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_pg_wait_timeout(ngx_event_t *ev);
static void ngx_grapevine_pg_set_error(ngx_grapevine_pg_pool_t *pool,
    const char *msg);
static void ngx_grapevine_pg_notice(void *arg, const char *message);
static void ngx_grapevine_pg_drain_notifies(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_pg_collect(ngx_grapevine_metric_t *m);


/*
 * The metrics of the workers' pools (the requests' queries: not the hub
 * link's connection nor the listening one).  Durations are read from
 * nginx's clock, to the millisecond.
 */

static const char *const  ngx_grapevine_pg_states[] = {
    "idle", "busy", "connecting", "down", NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_wait = {
    "database_wait_seconds",
    "Time queries waited for a free database connection.",
    NGX_GRAPEVINE_METRIC_HISTOGRAM, NULL, NULL, NULL, NULL,
    ngx_grapevine_metric_buckets, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_duration = {
    "database_query_duration_seconds",
    "Time from sending a query to its result.",
    NGX_GRAPEVINE_METRIC_HISTOGRAM, NULL, NULL, NULL, NULL,
    ngx_grapevine_metric_buckets, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_errors = {
    "database_query_errors_total",
    "Queries that ended without a result (an error, a timeout, the "
    "connection lost).",
    NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_rejections = {
    "database_queue_rejections_total",
    "Queries refused because the queue of a worker's pool was full.",
    NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_unavailable = {
    "database_unavailable_total",
    "Requests answered 503 because the database was away or overloaded.",
    NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_prepared_total = {
    "database_statements_prepared_total",
    "Statements prepared on a pool's connections.",
    NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_prepare_failures = {
    "database_statements_failed_total",
    "Statements that could not be prepared (then sent unprepared).",
    NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_unprepared = {
    "database_statements_unprepared_total",
    "Queries of a named statement sent unprepared.",
    NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, 0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_connections = {
    "database_connections",
    "Connections of the workers' pools, by state.",
    NGX_GRAPEVINE_METRIC_WORKER_GAUGE, NULL, NULL, "state",
    ngx_grapevine_pg_states, NULL, ngx_grapevine_pg_collect, NULL,
    0, 0, 0, NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_pg_waiting = {
    "database_waiting_queries",
    "Queries waiting for a free connection now.",
    NGX_GRAPEVINE_METRIC_WORKER_GAUGE, NULL, NULL, NULL, NULL,
    NULL, ngx_grapevine_pg_collect, NULL, 0, 0, 0, NULL
};


static ngx_grapevine_metric_t  *ngx_grapevine_pg_metrics[] = {
    &ngx_grapevine_pg_wait,
    &ngx_grapevine_pg_duration,
    &ngx_grapevine_pg_errors,
    &ngx_grapevine_pg_rejections,
    &ngx_grapevine_pg_unavailable,
    &ngx_grapevine_pg_prepared_total,
    &ngx_grapevine_pg_prepare_failures,
    &ngx_grapevine_pg_unprepared,
    &ngx_grapevine_pg_connections,
    &ngx_grapevine_pg_waiting,
    NULL
};


ngx_int_t
ngx_grapevine_pg_metrics_register(ngx_conf_t *cf)
{
    ngx_grapevine_metric_t  **m;

    for (m = ngx_grapevine_pg_metrics; *m; m++) {
        if (ngx_grapevine_metric_register(cf, *m) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a request answered 503 because of the database */

void
ngx_grapevine_pg_unavailable_count(void)
{
    ngx_grapevine_metric_inc(&ngx_grapevine_pg_unavailable, 0);
}


/* this worker's pool: its connections by state, its queue */

static void
ngx_grapevine_pg_collect(ngx_grapevine_metric_t *m)
{
    ngx_uint_t                i, n[4];
    ngx_grapevine_pg_pool_t  *pool;

    pool = ngx_grapevine_worker.pool;

    if (pool == NULL) {
        return;
    }

    if (m == &ngx_grapevine_pg_waiting) {
        ngx_grapevine_metric_set(m, 0, pool->nwaiting);
        return;
    }

    n[0] = n[1] = n[2] = n[3] = 0;

    for (i = 0; i < pool->nconns; i++) {
        switch (pool->conns[i].state) {

        case NGX_GRAPEVINE_PG_IDLE:
            n[0]++;
            break;

        case NGX_GRAPEVINE_PG_BUSY:
            n[1]++;
            break;

        case NGX_GRAPEVINE_PG_CONNECTING:
            n[2]++;
            break;

        default:
            n[3]++;
            break;
        }
    }

    for (i = 0; i < 4; i++) {
        ngx_grapevine_metric_set(m, i, n[i]);
    }
}


ngx_grapevine_pg_pool_t *
ngx_grapevine_pg_pool_create(ngx_cycle_t *cycle,
    ngx_grapevine_db_conf_t *conf, ngx_uint_t size, ngx_array_t *stmts)
{
    ngx_uint_t                i;
    ngx_grapevine_pg_conn_t  *pc;
    ngx_grapevine_pg_pool_t  *pool;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_grapevine_pg_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->conns = ngx_pcalloc(cycle->pool,
                              size * sizeof(ngx_grapevine_pg_conn_t));
    if (pool->conns == NULL) {
        return NULL;
    }

    pool->conf = conf;
    pool->log = cycle->log;
    pool->what = "";
    pool->nconns = size;
    pool->queue_size = conf->queue_size;
    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->waiting);

    if (stmts && stmts->nelts) {
        if (stmts->nelts > NGX_GRAPEVINE_PG_STMTS_MAX) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "grapevine: more than %d prepared statements",
                          NGX_GRAPEVINE_PG_STMTS_MAX);
            return NULL;
        }

        pool->stmts = stmts->elts;
        pool->nstmts = stmts->nelts;
    }

    for (i = 0; i < size; i++) {
        pc = &pool->conns[i];
        pc->pool = pool;
        ngx_grapevine_timer_init(&pc->retry, ngx_grapevine_pg_retry,
                                 pc, cycle->log);
    }

    return pool;
}


/*
 * Connects the pool's connections.  A connection may come up inside this
 * call (libpq can finish at once on a local socket): the pool's callbacks
 * must be set before it.
 */

void
ngx_grapevine_pg_pool_start(ngx_grapevine_pg_pool_t *pool)
{
    ngx_uint_t  i;

    for (i = 0; i < pool->nconns; i++) {
        if (pool->conns[i].state == NGX_GRAPEVINE_PG_CLOSED) {
            ngx_grapevine_pg_connect(&pool->conns[i]);
        }
    }
}


void
ngx_grapevine_pg_pool_destroy(ngx_grapevine_pg_pool_t *pool)
{
    ngx_uint_t                i;
    ngx_queue_t              *qu;
    ngx_grapevine_pg_conn_t  *pc;
    ngx_grapevine_pg_query_t *q;

    pool->exiting = 1;

    while (!ngx_queue_empty(&pool->waiting)) {
        qu = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qu, ngx_grapevine_pg_query_t, queue);
        ngx_grapevine_pg_cancel(q);
    }

    for (i = 0; i < pool->nconns; i++) {
        pc = &pool->conns[i];

        if (pc->retry.timer_set) {
            ngx_del_timer(&pc->retry);
        }

        pc->query = NULL;
        ngx_grapevine_pg_close(pc);
    }
}


ngx_int_t
ngx_grapevine_pg_query(ngx_grapevine_pg_pool_t *pool,
    ngx_grapevine_pg_query_t *q)
{
    ngx_uint_t                i;
    ngx_msec_t                timeout;
    ngx_queue_t              *qu;
    ngx_grapevine_pg_conn_t  *pc;

    q->pool = pool;
    q->conn = NULL;
    q->queued = 0;
    q->start = ngx_current_msec;
    q->sent = 0;
    ngx_str_null(&q->error);
    q->unavailable = 0;
    q->timed_out = 0;

    if (pool->exiting) {
        ngx_str_set(&q->error, "worker is shutting down");
        q->unavailable = 1;
        return NGX_DECLINED;
    }

    if (!ngx_queue_empty(&pool->idle)) {
        qu = ngx_queue_head(&pool->idle);
        pc = ngx_queue_data(qu, ngx_grapevine_pg_conn_t, queue);

        if (ngx_grapevine_pg_send(pc, q) == NGX_OK) {
            return NGX_OK;
        }

        /* the handler has not run: report the failure to the caller */
        return NGX_DECLINED;
    }

    if (pool->connected == 0 && pool->connecting == 0) {

        /*
         * Every connection is waiting out its backoff.  Try one at once,
         * at most ten times a second, so that a database that came back is
         * noticed by the next request; otherwise fail fast.
         */

        if (ngx_current_msec - pool->last_kick >= NGX_GRAPEVINE_PG_KICK_EVERY
            || pool->last_kick == 0)
        {
            for (i = 0; i < pool->nconns; i++) {
                pc = &pool->conns[i];

                if (pc->state == NGX_GRAPEVINE_PG_BACKOFF) {
                    pool->last_kick = ngx_current_msec;

                    if (pc->retry.timer_set) {
                        ngx_del_timer(&pc->retry);
                    }

                    ngx_grapevine_pg_connect(pc);
                    break;
                }
            }
        }

        if (pool->connecting == 0 && ngx_queue_empty(&pool->idle)) {
            q->error = pool->last_error;
            q->unavailable = 1;
            return NGX_DECLINED;
        }

        if (!ngx_queue_empty(&pool->idle)) {
            return ngx_grapevine_pg_query(pool, q);
        }
    }

    if (pool->nwaiting >= pool->queue_size) {
        if (pool->metrics) {
            ngx_grapevine_metric_inc(&ngx_grapevine_pg_rejections, 0);
        }

        ngx_str_set(&q->error, "too many queries waiting for a database "
                    "connection");
        return NGX_BUSY;
    }

    timeout = pool->connected ? pool->conf->query_timeout
                              : pool->conf->connect_timeout;

    ngx_memzero(&q->wait, sizeof(ngx_event_t));
    q->wait.handler = ngx_grapevine_pg_wait_timeout;
    q->wait.data = q;
    q->wait.log = pool->log;
    ngx_add_timer(&q->wait, timeout);

    ngx_queue_insert_tail(&pool->waiting, &q->queue);
    pool->nwaiting++;
    q->queued = 1;

    return NGX_AGAIN;
}


ngx_int_t
ngx_grapevine_pg_send(ngx_grapevine_pg_conn_t *pc,
    ngx_grapevine_pg_query_t *q)
{
    int                       rc, sent;
    ngx_int_t                 i;
    ngx_connection_t         *c;
    ngx_grapevine_pg_pool_t  *pool;

    pool = pc->pool;
    c = pc->c;

    ngx_queue_remove(&pc->queue);
    pc->state = NGX_GRAPEVINE_PG_BUSY;
    pc->failed = 0;

    i = q->stmt ? ngx_grapevine_pg_stmt_index(pool, q->stmt) : -1;

    if (pool->metrics) {
        if (q->start && !q->sent) {
            ngx_grapevine_metric_observe(&ngx_grapevine_pg_wait,
                                         ngx_current_msec - q->start);
        }

        if (q->stmt && !(i >= 0 && (pc->prepared & ((uint64_t) 1 << i)))) {
            ngx_grapevine_metric_inc(&ngx_grapevine_pg_unprepared, 0);
        }
    }

    q->start = ngx_current_msec;
    q->sent = 1;

    if (i >= 0 && (pc->prepared & ((uint64_t) 1 << i))) {
        sent = PQsendQueryPrepared(pc->pg, q->stmt->name, q->nparams,
                                   q->values, q->lengths, NULL, 0);

    } else {
        sent = PQsendQueryParams(pc->pg, q->stmt ? q->stmt->sql : q->sql,
                                 q->nparams, NULL, q->values, q->lengths,
                                 NULL, 0);
    }

    if (!sent) {
        ngx_grapevine_pg_set_error(pool, PQerrorMessage(pc->pg));
        q->error = pool->last_error;

        if (PQstatus(pc->pg) == CONNECTION_BAD) {
            q->unavailable = 1;
            ngx_grapevine_pg_broken(pc, NULL);

        } else {
            ngx_grapevine_pg_set_idle(pc);
        }

        return NGX_ERROR;
    }

    pc->query = q;
    q->conn = pc;

    rc = PQflush(pc->pg);

    if (rc == -1) {
        ngx_grapevine_pg_broken(pc, "could not send the query");
        return NGX_OK;
    }

    ngx_grapevine_pg_want_write(pc, rc == 1);

    c->read->cancelable = 0;
    ngx_add_timer(c->read, pool->conf->query_timeout + 1000);

    return NGX_OK;
}


void
ngx_grapevine_pg_cancel(ngx_grapevine_pg_query_t *q)
{
    if (q->queued) {
        ngx_queue_remove(&q->queue);
        q->pool->nwaiting--;
        q->queued = 0;

        if (q->wait.timer_set) {
            ngx_del_timer(&q->wait);
        }
    }

    if (q->conn) {
        /* the connection drains the result and drops it */
        q->conn->query = NULL;
        q->conn = NULL;
    }
}


/* how many statements are prepared on the connections now */

ngx_uint_t
ngx_grapevine_pg_prepared(ngx_grapevine_pg_pool_t *pool)
{
    uint64_t    m;
    ngx_uint_t  i, n;

    n = 0;

    for (i = 0; i < pool->nconns; i++) {
        for (m = pool->conns[i].prepared; m; m &= m - 1) {
            n++;
        }
    }

    return n;
}


ngx_int_t
ngx_grapevine_pg_sqlstate(PGresult *res, const char *state)
{
    char  *s;

    if (res == NULL) {
        return 0;
    }

    s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return s != NULL && ngx_strcmp(s, state) == 0;
}


static void
ngx_grapevine_pg_connect(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_pg_pool_t  *pool;

    pool = pc->pool;

    if (pool->exiting) {
        return;
    }

    pc->pg = PQconnectStartParams(pool->conf->keywords, pool->conf->values,
                                  0);

    if (pc->pg == NULL) {
        ngx_grapevine_pg_set_error(pool, "out of memory");
        ngx_grapevine_pg_schedule(pc);
        return;
    }

    if (PQstatus(pc->pg) == CONNECTION_BAD
        || PQsetnonblocking(pc->pg, 1) != 0)
    {
        ngx_grapevine_pg_set_error(pool, PQerrorMessage(pc->pg));
        PQfinish(pc->pg);
        pc->pg = NULL;
        ngx_grapevine_pg_schedule(pc);
        return;
    }

    PQsetNoticeProcessor(pc->pg, ngx_grapevine_pg_notice, pool);

    if (ngx_grapevine_pg_attach(pc) != NGX_OK) {
        PQfinish(pc->pg);
        pc->pg = NULL;
        ngx_grapevine_pg_schedule(pc);
        return;
    }

    pc->state = NGX_GRAPEVINE_PG_CONNECTING;
    pool->connecting++;

    pc->c->read->cancelable = 1;
    ngx_add_timer(pc->c->read, pool->conf->connect_timeout);

    ngx_grapevine_pg_connect_step(pc);
}


static ngx_int_t
ngx_grapevine_pg_attach(ngx_grapevine_pg_conn_t *pc)
{
    int                       fd;
    struct stat               st;
    ngx_connection_t         *c;
    ngx_grapevine_pg_pool_t  *pool;

    pool = pc->pool;

    fd = PQsocket(pc->pg);
    if (fd == -1) {
        ngx_grapevine_pg_set_error(pool, "libpq has no socket");
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, pool->log);
    if (c == NULL) {
        ngx_grapevine_pg_set_error(pool, "no free nginx connection");
        return NGX_ERROR;
    }

    c->data = pc;
    c->log = pool->log;
    c->read->log = pool->log;
    c->write->log = pool->log;
    c->read->handler = ngx_grapevine_pg_event;
    c->write->handler = ngx_grapevine_pg_event;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        ngx_grapevine_pg_set_error(pool, "could not watch the socket");
        return NGX_ERROR;
    }

    pc->c = c;
    pc->ino = (fstat(fd, &st) == 0) ? st.st_ino : 0;

    return NGX_OK;
}


static void
ngx_grapevine_pg_detach(ngx_grapevine_pg_conn_t *pc, ngx_uint_t closed)
{
    ngx_uint_t         flags;
    ngx_connection_t  *c;

    c = pc->c;
    if (c == NULL) {
        return;
    }

    flags = closed ? NGX_CLOSE_EVENT : 0;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
    pc->c = NULL;
}


static void
ngx_grapevine_pg_want_write(ngx_grapevine_pg_conn_t *pc, ngx_uint_t on)
{
    ngx_event_t  *wev;

    wev = pc->c->write;

    if (on && !wev->active) {
        (void) ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);

    } else if (!on && wev->active) {
        (void) ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }
}


static ngx_int_t
ngx_grapevine_pg_ready(ngx_grapevine_pg_conn_t *pc, short what)
{
    struct pollfd  pfd;

    pfd.fd = PQsocket(pc->pg);
    pfd.events = what;
    pfd.revents = 0;

    return poll(&pfd, 1, 0) == 1;
}


static void
ngx_grapevine_pg_connect_step(ngx_grapevine_pg_conn_t *pc)
{
    int                        fd;
    short                      what;
    ngx_uint_t                 i;
    struct stat                st;
    ngx_msec_t                 left;
    PostgresPollingStatusType  rc;

    for (i = 0; i < 16; i++) {

        rc = PQconnectPoll(pc->pg);

        fd = PQsocket(pc->pg);

        if (fd != -1
            && (fd != pc->c->fd
                || fstat(fd, &st) != 0 || st.st_ino != pc->ino))
        {
            /*
             * libpq opened a new socket (another address, or an SSL or
             * GSS fallback); the old one is closed already
             */

            left = 0;
            if (pc->c->read->timer_set) {
                left = pc->c->read->timer.key - ngx_current_msec;
            }

            ngx_grapevine_pg_detach(pc, 1);

            if (ngx_grapevine_pg_attach(pc) != NGX_OK) {
                ngx_grapevine_pg_broken(pc, NULL);
                return;
            }

            pc->c->read->cancelable = 1;
            ngx_add_timer(pc->c->read, left ? left : 1);
        }

        switch (rc) {

        case PGRES_POLLING_OK:
            ngx_grapevine_pg_connected(pc);
            return;

        case PGRES_POLLING_FAILED:
            ngx_grapevine_pg_set_error(pc->pool, PQerrorMessage(pc->pg));
            ngx_grapevine_pg_broken(pc, NULL);
            return;

        case PGRES_POLLING_WRITING:
            what = POLLOUT;
            break;

        default: /* PGRES_POLLING_READING */
            what = POLLIN;
            break;
        }

        ngx_grapevine_pg_want_write(pc, what == POLLOUT);

        if (!ngx_grapevine_pg_ready(pc, what)) {
            return;
        }
    }
}


static void
ngx_grapevine_pg_connected(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_pg_pool_t  *pool;

    pool = pc->pool;

    if (pc->c->read->timer_set) {
        ngx_del_timer(pc->c->read);
    }

    ngx_grapevine_pg_want_write(pc, 0);

    pool->connecting--;
    pool->connected++;
    pc->backoff = 0;

    if (pool->down) {
        ngx_grapevine_pg_back(pool);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                   "grapevine pg: connected fd:%d", pc->c->fd);

    pc->state = NGX_GRAPEVINE_PG_IDLE;
    ngx_queue_insert_tail(&pool->idle, &pc->queue);

    if (pool->on_connect) {
        pool->on_connect(pc);   /* may run a query on pc first */
    }

    /* prepare the statements before the connection takes a query */

    if (pc->state == NGX_GRAPEVINE_PG_IDLE
        && pc->next_stmt < pool->nstmts)
    {
        ngx_queue_remove(&pc->queue);
        pc->state = NGX_GRAPEVINE_PG_BUSY;

        if (ngx_grapevine_pg_prepare_next(pc) == NGX_OK) {
            ngx_grapevine_pg_set_idle(pc);
        }
    }

    ngx_grapevine_pg_dispatch(pool);
}


static void
ngx_grapevine_pg_event(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_grapevine_pg_conn_t  *pc;

    c = ev->data;
    pc = c->data;

    if (ev->timedout) {
        ev->timedout = 0;

        if (pc->state == NGX_GRAPEVINE_PG_CONNECTING) {
            ngx_grapevine_pg_set_error(pc->pool,
                                       "timed out connecting to the database");
            ngx_grapevine_pg_broken(pc, NULL);
            return;
        }

        if (pc->state == NGX_GRAPEVINE_PG_BUSY) {
            if (pc->query) {
                pc->query->timed_out = 1;
            }

            ngx_grapevine_pg_broken(pc, "the query timed out");
            return;
        }
    }

    switch (pc->state) {

    case NGX_GRAPEVINE_PG_CONNECTING:
        ngx_grapevine_pg_connect_step(pc);
        return;

    case NGX_GRAPEVINE_PG_BUSY:
        ngx_grapevine_pg_process(pc);
        return;

    case NGX_GRAPEVINE_PG_IDLE:
        ngx_grapevine_pg_idle_input(pc);
        return;

    default:
        return;
    }
}


static void
ngx_grapevine_pg_process(ngx_grapevine_pg_conn_t *pc)
{
    int                rc;
    PGresult          *res;
    ExecStatusType     status;

    rc = PQflush(pc->pg);
    if (rc == -1) {
        ngx_grapevine_pg_broken(pc, "could not send the query");
        return;
    }

    ngx_grapevine_pg_want_write(pc, rc == 1);

    if (!PQconsumeInput(pc->pg)) {
        ngx_grapevine_pg_broken(pc, NULL);
        return;
    }

    ngx_grapevine_pg_drain_notifies(pc);

    while (!PQisBusy(pc->pg)) {

        res = PQgetResult(pc->pg);

        if (res == NULL) {
            ngx_grapevine_pg_done(pc);
            return;
        }

        status = PQresultStatus(res);

        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            if (pc->failed) {
                PQclear(res);
                continue;
            }

            pc->failed = 1;

        } else if (pc->failed) {
            PQclear(res);
            continue;
        }

        if (pc->result) {
            PQclear(pc->result);
        }

        pc->result = res;
    }
}


static void
ngx_grapevine_pg_idle_input(ngx_grapevine_pg_conn_t *pc)
{
    PGresult  *res;

    if (!PQconsumeInput(pc->pg)) {
        ngx_grapevine_pg_broken(pc, NULL);
        return;
    }

    ngx_grapevine_pg_drain_notifies(pc);

    if (!PQisBusy(pc->pg)) {
        res = PQgetResult(pc->pg);

        if (res != NULL) {
            PQclear(res);
            ngx_grapevine_pg_broken(pc, "unexpected data from the database");
        }
    }
}


static void
ngx_grapevine_pg_done(ngx_grapevine_pg_conn_t *pc)
{
    ngx_int_t                  i, rc;
    PGresult                  *res;
    ngx_uint_t                 failed;
    ngx_grapevine_pg_pool_t   *pool;
    ngx_grapevine_pg_query_t  *q;

    pool = pc->pool;

    if (pc->c->read->timer_set) {
        ngx_del_timer(pc->c->read);
    }

    ngx_grapevine_pg_want_write(pc, 0);

    q = pc->query;
    res = pc->result;
    failed = pc->failed;

    pc->query = NULL;
    pc->result = NULL;

    if (pc->preparing) {
        pc->preparing = 0;
        ngx_grapevine_pg_prepare_done(pc, res);

        if (res) {
            PQclear(res);
        }

        if (ngx_grapevine_pg_prepare_next(pc) == NGX_OK) {
            ngx_grapevine_pg_set_idle(pc);
            ngx_grapevine_pg_dispatch(pool);
        }

        return;
    }

    /*
     * A prepared statement the server no longer knows, or whose result
     * changed shape (a migration while running): run it unprepared on
     * this connection from now on.
     */

    if (q && q->stmt && failed
        && (ngx_grapevine_pg_sqlstate(res, "26000")
            || ngx_grapevine_pg_sqlstate(res, "0A000")))
    {
        i = ngx_grapevine_pg_stmt_index(pool, q->stmt);

        if (i >= 0) {
            pc->prepared &= ~((uint64_t) 1 << i);
        }
    }

    /* the schema check of a new connection comes before its statements */

    rc = NGX_OK;

    if (pc->next_stmt < pool->nstmts) {
        rc = ngx_grapevine_pg_prepare_next(pc);
    }

    if (rc == NGX_OK) {
        ngx_grapevine_pg_set_idle(pc);
    }

    if (q) {
        q->conn = NULL;

        if (failed && res) {
            q->error.data = (u_char *) PQresultErrorMessage(res);
            q->error.len = ngx_strlen(q->error.data);

            while (q->error.len
                   && (q->error.data[q->error.len - 1] == '\n'
                       || q->error.data[q->error.len - 1] == ' '))
            {
                q->error.len--;
            }

            if (q->error.len == 0) {
                ngx_str_set(&q->error, "query failed");
            }
        }

        ngx_grapevine_pg_finish_query(q, res);
    }

    if (res) {
        PQclear(res);
    }

    ngx_grapevine_pg_dispatch(pool);
}


/*
 * Sends the next statement's PQsendPrepare on a connection that is BUSY
 * and holds no query.  NGX_AGAIN: one is under way; NGX_OK: nothing is
 * left to prepare (the caller makes the connection idle); NGX_ERROR: the
 * connection broke (and is closed).
 */

static ngx_int_t
ngx_grapevine_pg_prepare_next(ngx_grapevine_pg_conn_t *pc)
{
    int                       rc;
    ngx_grapevine_pg_pool_t  *pool;
    ngx_grapevine_pg_stmt_t  *stmt;

    pool = pc->pool;

    while (pc->next_stmt < pool->nstmts) {

        stmt = pool->stmts[pc->next_stmt++];

        pc->failed = 0;

        if (!PQsendPrepare(pc->pg, stmt->name, stmt->sql, 0, NULL)) {

            if (PQstatus(pc->pg) == CONNECTION_BAD) {
                ngx_grapevine_pg_broken(pc, NULL);
                return NGX_ERROR;
            }

            pc->failed = 1;
            ngx_grapevine_pg_prepare_done(pc, NULL);
            continue;
        }

        pc->preparing = 1;

        rc = PQflush(pc->pg);

        if (rc == -1) {
            ngx_grapevine_pg_broken(pc, "could not send a statement");
            return NGX_ERROR;
        }

        ngx_grapevine_pg_want_write(pc, rc == 1);

        pc->c->read->cancelable = 1;
        ngx_add_timer(pc->c->read, pool->conf->query_timeout + 1000);

        return NGX_AGAIN;
    }

    return NGX_OK;
}


/* the outcome of the PQsendPrepare of statement pc->next_stmt - 1 */

static void
ngx_grapevine_pg_prepare_done(ngx_grapevine_pg_conn_t *pc, PGresult *res)
{
    char                     *msg;
    size_t                    len;
    uint64_t                  bit;
    ngx_grapevine_pg_pool_t  *pool;
    ngx_grapevine_pg_stmt_t  *stmt;

    pool = pc->pool;
    stmt = pool->stmts[pc->next_stmt - 1];
    bit = (uint64_t) 1 << (pc->next_stmt - 1);

    if (!pc->failed && res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        if (pool->metrics) {
            ngx_grapevine_metric_inc(&ngx_grapevine_pg_prepared_total, 0);
        }

        pc->prepared |= bit;
        pool->stmts_failed &= ~bit;
        pool->stmts_logged &= ~bit;
        return;
    }

    pool->stmts_failed |= bit;

    if (pool->metrics) {
        ngx_grapevine_metric_inc(&ngx_grapevine_pg_prepare_failures, 0);
    }

    if (pool->stmts_logged & bit) {
        return;
    }

    pool->stmts_logged |= bit;

    msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (msg == NULL) {
        msg = PQerrorMessage(pc->pg);
    }

    /* the first line */

    for (len = 0; msg[len] && msg[len] != '\n'; len++) {
        /* void */
    }

    ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                  "grapevine: could not prepare the statement \"%s\" "
                  "(it is sent unprepared until the connection is made "
                  "anew; is the database schema behind?): %*s",
                  stmt->name, len, msg);
}


static ngx_int_t
ngx_grapevine_pg_stmt_index(ngx_grapevine_pg_pool_t *pool,
    ngx_grapevine_pg_stmt_t *stmt)
{
    ngx_uint_t  i;

    for (i = 0; i < pool->nstmts; i++) {
        if (pool->stmts[i] == stmt) {
            return i;
        }
    }

    return -1;
}


/*
 * The connection is unusable: fail its query, close it, and schedule a
 * reconnect.  "reason" overrides the libpq message when given.
 */

static void
ngx_grapevine_pg_broken(ngx_grapevine_pg_conn_t *pc, const char *reason)
{
    ngx_grapevine_pg_pool_t   *pool;
    ngx_grapevine_pg_query_t  *q;

    pool = pc->pool;

    if (reason) {
        ngx_grapevine_pg_set_error(pool, reason);

    } else if (pc->pg && pc->state != NGX_GRAPEVINE_PG_CONNECTING) {
        ngx_grapevine_pg_set_error(pool, PQerrorMessage(pc->pg));
    }

    ngx_grapevine_pg_lost(pool, pc->state == NGX_GRAPEVINE_PG_CONNECTING);

    q = pc->query;
    pc->query = NULL;

    ngx_grapevine_pg_close(pc);
    ngx_grapevine_pg_schedule(pc);

    if (pool->on_broken) {
        pool->on_broken(pc);
    }

    if (q) {
        q->conn = NULL;
        q->error = pool->last_error;
        q->unavailable = 1;
        ngx_grapevine_pg_finish_query(q, NULL);
    }

    if (pool->connected == 0 && pool->connecting == 0) {
        ngx_grapevine_pg_fail_waiting(pool);
    }
}


/*
 * A connection broke, or could not be made.  The first while none is
 * lost is the state change, an error; the others of the same outage (the
 * pool's other connections, the attempts of its backoff) are at the debug
 * level, so that a restart of the database is two lines per pool, not one
 * per connection, attempt or request.
 */

static void
ngx_grapevine_pg_lost(ngx_grapevine_pg_pool_t *pool, ngx_uint_t connecting)
{
    if (pool->down) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                       "grapevine pg%s: %s: %V", pool->what,
                       connecting ? "could not connect" : "connection lost",
                       &pool->last_error);
        return;
    }

    pool->down = 1;
    pool->down_since = ngx_current_msec;
    pool->refused = 0;

    if (connecting) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "grapevine: could not connect to the database%s: %V",
                      pool->what, &pool->last_error);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                  "grapevine: database connection lost%s: %V",
                  pool->what, &pool->last_error);
}


/* a connection is made again after a loss: the end of the outage */

static void
ngx_grapevine_pg_back(ngx_grapevine_pg_pool_t *pool)
{
    ngx_msec_t  ms;

    pool->down = 0;

    ms = ngx_current_msec - pool->down_since;

    if (pool->what[0]) {
        ngx_log_error(NGX_LOG_WARN, pool->log, 0,
                      "grapevine: the database is back after %M.%03M s%s",
                      ms / 1000, ms % 1000, pool->what);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, pool->log, 0,
                  "grapevine: the database is back after %M.%03M s, "
                  "%ui requests answered 503 meanwhile",
                  ms / 1000, ms % 1000, pool->refused);
}


static void
ngx_grapevine_pg_close(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_pg_pool_t  *pool;

    pool = pc->pool;

    switch (pc->state) {

    case NGX_GRAPEVINE_PG_CONNECTING:
        pool->connecting--;
        break;

    case NGX_GRAPEVINE_PG_IDLE:
        ngx_queue_remove(&pc->queue);
        pool->connected--;
        break;

    case NGX_GRAPEVINE_PG_BUSY:
        pool->connected--;
        break;

    default:
        break;
    }

    if (pc->result) {
        PQclear(pc->result);
        pc->result = NULL;
    }

    /*
     * libpq closes its socket itself when it sees the connection fail:
     * then there is nothing left to delete from epoll
     */

    if (pc->c) {
        ngx_grapevine_pg_detach(pc, pc->pg == NULL
                                    || PQsocket(pc->pg) != pc->c->fd);
    }

    if (pc->pg) {
        PQfinish(pc->pg);
        pc->pg = NULL;
    }

    /* a new connection prepares everything again */
    pc->prepared = 0;
    pc->next_stmt = 0;
    pc->preparing = 0;

    pc->state = NGX_GRAPEVINE_PG_CLOSED;
}


static void
ngx_grapevine_pg_schedule(ngx_grapevine_pg_conn_t *pc)
{
    if (pc->pool->exiting || ngx_exiting || ngx_quit) {
        pc->state = NGX_GRAPEVINE_PG_CLOSED;
        return;
    }

    pc->state = NGX_GRAPEVINE_PG_BACKOFF;

    if (pc->backoff == 0) {
        pc->backoff = NGX_GRAPEVINE_PG_BACKOFF_MIN;

    } else {
        pc->backoff *= 2;

        if (pc->backoff > NGX_GRAPEVINE_PG_BACKOFF_MAX) {
            pc->backoff = NGX_GRAPEVINE_PG_BACKOFF_MAX;
        }
    }

    /* jitter: 75% to 125% of the step */
    ngx_add_timer(&pc->retry,
                  pc->backoff * 3 / 4 + (ngx_random() % (pc->backoff / 2)));
}


static void
ngx_grapevine_pg_retry(ngx_event_t *ev)
{
    ngx_grapevine_pg_conn_t  *pc;

    pc = ev->data;

    if (pc->state == NGX_GRAPEVINE_PG_BACKOFF) {
        ngx_grapevine_pg_connect(pc);
    }
}


static void
ngx_grapevine_pg_set_idle(ngx_grapevine_pg_conn_t *pc)
{
    pc->state = NGX_GRAPEVINE_PG_IDLE;
    pc->c->read->cancelable = 1;
    ngx_queue_insert_tail(&pc->pool->idle, &pc->queue);
}


static void
ngx_grapevine_pg_dispatch(ngx_grapevine_pg_pool_t *pool)
{
    ngx_queue_t               *qu;
    ngx_grapevine_pg_conn_t   *pc;
    ngx_grapevine_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)
           && !ngx_queue_empty(&pool->idle))
    {
        qu = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qu, ngx_grapevine_pg_query_t, queue);

        ngx_grapevine_pg_cancel(q);

        qu = ngx_queue_head(&pool->idle);
        pc = ngx_queue_data(qu, ngx_grapevine_pg_conn_t, queue);

        if (ngx_grapevine_pg_send(pc, q) != NGX_OK) {
            ngx_grapevine_pg_finish_query(q, NULL);
        }
    }
}


static void
ngx_grapevine_pg_fail_waiting(ngx_grapevine_pg_pool_t *pool)
{
    ngx_queue_t               *qu;
    ngx_grapevine_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {
        qu = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qu, ngx_grapevine_pg_query_t, queue);

        ngx_grapevine_pg_cancel(q);

        q->error = pool->last_error;
        q->unavailable = 1;

        ngx_grapevine_pg_finish_query(q, NULL);
    }
}


static void
ngx_grapevine_pg_finish_query(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    if (res == NULL && q->error.len == 0) {
        ngx_str_set(&q->error, "query failed");
    }

    if (q->sent && q->pool && q->pool->metrics) {
        ngx_grapevine_metric_observe(&ngx_grapevine_pg_duration,
                                     ngx_current_msec - q->start);

        if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK
                            && PQresultStatus(res) != PGRES_COMMAND_OK))
        {
            ngx_grapevine_metric_inc(&ngx_grapevine_pg_errors, 0);
        }
    }

    q->handler(q, res);
}


static void
ngx_grapevine_pg_wait_timeout(ngx_event_t *ev)
{
    ngx_grapevine_pg_query_t  *q;

    q = ev->data;

    ngx_grapevine_pg_cancel(q);

    if (q->pool->connected == 0 && q->pool->last_error.len) {
        q->error = q->pool->last_error;

    } else {
        ngx_str_set(&q->error,
                    "no database connection became free in time");
    }

    q->unavailable = 1;
    q->timed_out = 1;

    ngx_grapevine_pg_finish_query(q, NULL);
}


static void
ngx_grapevine_pg_set_error(ngx_grapevine_pg_pool_t *pool, const char *msg)
{
    size_t  len;

    len = ngx_strlen(msg);

    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }

    if (len > sizeof(pool->error_buf)) {
        len = sizeof(pool->error_buf);
    }

    ngx_memmove(pool->error_buf, msg, len);

    pool->last_error.data = pool->error_buf;
    pool->last_error.len = len;
    pool->last_error_time = ngx_time();
}


static void
ngx_grapevine_pg_notice(void *arg, const char *message)
{
    size_t                    len;
    ngx_grapevine_pg_pool_t  *pool;

    pool = arg;

    len = ngx_strlen(message);

    while (len && message[len - 1] == '\n') {
        len--;
    }

    ngx_log_error(NGX_LOG_NOTICE, pool->log, 0, "postgres: %*s",
                  len, message);
}


static void
ngx_grapevine_pg_drain_notifies(ngx_grapevine_pg_conn_t *pc)
{
    PGnotify  *n;

    while ((n = PQnotifies(pc->pg)) != NULL) {
        if (pc->pool->on_notify) {
            pc->pool->on_notify(pc->pool, n);
        }

        PQfreemem(n);
    }
}
