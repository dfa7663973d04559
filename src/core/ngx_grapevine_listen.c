
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_listen.h"


/*
 * The worker's listening connection (ngx_grapevine_listen.h).
 *
 * A pool of one connection, apart from the worker's query pool: a LISTEN
 * holds its connection for as long as it listens, and the round trip must
 * run on the connection that hears the notifications.  Its
 * application_name is the pool's with " listen" after it, so that
 * pg_stat_activity tells it apart.
 *
 * When it connects, it sends one LISTEN per registration, one after the
 * other (a LISTEN is a statement of its own), and tells each registrant
 * once its channel is listened to; it is ready when every channel is.
 * When it is lost, every registrant that was told it listens is told it
 * no longer does; the pool connects again with its backoff.
 */


#define NGX_GRAPEVINE_LISTEN_APP      " listen"
#define NGX_GRAPEVINE_LISTEN_CHANNEL  63        /* NAMEDATALEN - 1 */


typedef struct {
    ngx_grapevine_pg_pool_t     *pool;       /* NULL: nothing to listen to */
    ngx_grapevine_listen_t     **regs;
    ngx_uint_t                   nregs;
    const char                 **sql;        /* "LISTEN channel", each */
    u_char                      *listening;  /* one a registration */
    ngx_uint_t                   next;       /* the LISTEN under way */
    ngx_uint_t                   ready;      /* every channel listens */

    ngx_grapevine_pg_query_t     listen;
    ngx_grapevine_pg_query_t     barrier;
    ngx_uint_t                   barrier_busy;
    ngx_uint_t                   starting;
    ngx_uint_t                   start_failed;
    ngx_queue_t                  waiting;    /* for the next round trip */
    ngx_queue_t                  current;    /* covered by the one sent */
} ngx_grapevine_listen_worker_t;


static ngx_grapevine_db_conf_t *ngx_grapevine_listen_db(ngx_cycle_t *cycle,
    ngx_grapevine_db_conf_t *db);
static void ngx_grapevine_listen_connected(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_listen_listened(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_listen_broken(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_listen_notify(ngx_grapevine_pg_pool_t *pool,
    PGnotify *n);
static ngx_int_t ngx_grapevine_listen_start(void);
static void ngx_grapevine_listen_crossed(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_listen_release(ngx_queue_t *list, ngx_uint_t ok);


static ngx_grapevine_listen_worker_t  ngx_grapevine_listen_worker;


/*
 * A channel a module listens to.  The same channel may be registered by
 * several modules: each registration is told on its own.
 */

ngx_int_t
ngx_grapevine_add_listen(ngx_conf_t *cf, ngx_grapevine_listen_t *l)
{
    size_t                      len;
    ngx_uint_t                  i;
    const char                 *p;
    ngx_grapevine_listen_t    **reg;
    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_grapevine_conf(cf);

    len = ngx_strlen(l->channel);

    for (p = l->channel; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'
              || (p > l->channel && *p >= '0' && *p <= '9')))
        {
            break;
        }
    }

    if (len == 0 || len > NGX_GRAPEVINE_LISTEN_CHANNEL || *p != '\0'
        || l->notify == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "grapevine: cannot listen on \"%s\": a channel "
                           "is a lowercase identifier of at most %d bytes "
                           "with a callback", l->channel,
                           NGX_GRAPEVINE_LISTEN_CHANNEL);
        return NGX_ERROR;
    }

    if (gmcf->listens == NULL) {
        gmcf->listens = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_grapevine_listen_t *));
        if (gmcf->listens == NULL) {
            return NGX_ERROR;
        }
    }

    reg = gmcf->listens->elts;

    for (i = 0; i < gmcf->listens->nelts; i++) {
        if (reg[i] == l) {
            return NGX_OK;
        }
    }

    reg = ngx_array_push(gmcf->listens);
    if (reg == NULL) {
        return NGX_ERROR;
    }

    *reg = l;

    return NGX_OK;
}


/*
 * In a worker, from core's init_process: makes the connection when a
 * channel was registered, its callbacks set before it starts (it may
 * connect inside ngx_grapevine_pg_pool_start()).
 */

ngx_int_t
ngx_grapevine_listen_init(ngx_cycle_t *cycle)
{
    u_char                         *p;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_grapevine_pg_pool_t        *pool;
    ngx_grapevine_db_conf_t        *ldb;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    ngx_memzero(lw, sizeof(ngx_grapevine_listen_worker_t));

    ngx_queue_init(&lw->waiting);
    ngx_queue_init(&lw->current);

    gmcf = ngx_grapevine_cycle_conf(cycle);

    if (gmcf == NULL || gmcf->db == NULL || gmcf->listens == NULL
        || gmcf->listens->nelts == 0)
    {
        return NGX_OK;
    }

    lw->regs = gmcf->listens->elts;
    lw->nregs = gmcf->listens->nelts;

    lw->listening = ngx_pcalloc(cycle->pool, lw->nregs);
    lw->sql = ngx_palloc(cycle->pool, lw->nregs * sizeof(char *));

    if (lw->listening == NULL || lw->sql == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < lw->nregs; i++) {
        len = ngx_strlen(lw->regs[i]->channel);

        p = ngx_pnalloc(cycle->pool, sizeof("LISTEN ") + len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, "LISTEN ", sizeof("LISTEN ") - 1);
        ngx_memcpy(p + sizeof("LISTEN ") - 1, lw->regs[i]->channel, len + 1);

        lw->sql[i] = (const char *) p;
    }

    ldb = ngx_grapevine_listen_db(cycle, gmcf->db);
    if (ldb == NULL) {
        return NGX_ERROR;
    }

    pool = ngx_grapevine_pg_pool_create(cycle, ldb, 1, NULL);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    pool->on_connect = ngx_grapevine_listen_connected;
    pool->on_broken = ngx_grapevine_listen_broken;
    pool->on_notify = ngx_grapevine_listen_notify;
    pool->what = " (listening connection)";

    lw->pool = pool;

    ngx_grapevine_pg_pool_start(pool);

    return NGX_OK;
}


/* the database's settings, with " listen" after the application_name */

static ngx_grapevine_db_conf_t *
ngx_grapevine_listen_db(ngx_cycle_t *cycle, ngx_grapevine_db_conf_t *db)
{
    u_char                   *p;
    size_t                    len;
    ngx_uint_t                i, n;
    const char              **values;
    ngx_grapevine_db_conf_t  *ldb;

    ldb = ngx_palloc(cycle->pool, sizeof(ngx_grapevine_db_conf_t));
    if (ldb == NULL) {
        return NULL;
    }

    *ldb = *db;

    for (n = 0; db->keywords[n]; n++) {
        /* void */
    }

    values = ngx_palloc(cycle->pool, (n + 1) * sizeof(char *));
    if (values == NULL) {
        return NULL;
    }

    for (i = 0; i <= n; i++) {
        values[i] = db->values[i];

        if (i < n && ngx_strcmp(db->keywords[i], "application_name") == 0) {
            len = ngx_strlen(db->values[i]);

            p = ngx_pnalloc(cycle->pool,
                            len + sizeof(NGX_GRAPEVINE_LISTEN_APP));
            if (p == NULL) {
                return NULL;
            }

            ngx_memcpy(p, db->values[i], len);
            ngx_memcpy(p + len, NGX_GRAPEVINE_LISTEN_APP,
                       sizeof(NGX_GRAPEVINE_LISTEN_APP));

            values[i] = (const char *) p;
        }
    }

    ldb->values = values;

    return ldb;
}


void
ngx_grapevine_listen_exit(ngx_cycle_t *cycle)
{
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    if (lw->pool == NULL) {
        return;
    }

    lw->ready = 0;

    /* nothing waits at exit: a round trip under way holds the worker */
    ngx_queue_init(&lw->current);
    ngx_queue_init(&lw->waiting);

    ngx_grapevine_pg_pool_destroy(lw->pool);
    lw->pool = NULL;
}


/*
 * Queues w for the next round trip: NGX_AGAIN, and w->handler is called
 * when it is back (or lost: ok is 0); NGX_DECLINED when the connection
 * does not listen now (w->handler is not called).
 */

ngx_int_t
ngx_grapevine_listen_wait(ngx_grapevine_listen_wait_t *w)
{
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    if (lw->pool == NULL || !lw->ready) {
        return NGX_DECLINED;
    }

    ngx_queue_insert_tail(&lw->waiting, &w->queue);
    w->queued = 1;

    if (lw->barrier_busy) {
        return NGX_AGAIN;
    }

    if (ngx_grapevine_listen_start() != NGX_OK) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
        return NGX_DECLINED;
    }

    return NGX_AGAIN;
}


/* a waiter that goes away (its request is finalized) */

void
ngx_grapevine_listen_cancel(ngx_grapevine_listen_wait_t *w)
{
    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
    }
}


static void
ngx_grapevine_listen_connected(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_pg_query_t       *q;
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    lw->next = 0;

    q = &lw->listen;
    ngx_grapevine_pg_cancel(q);
    ngx_memzero(q, sizeof(ngx_grapevine_pg_query_t));

    q->sql = lw->sql[0];
    q->handler = ngx_grapevine_listen_listened;
    q->pool = pc->pool;

    (void) ngx_grapevine_pg_send(pc, q);
}


/* a LISTEN is done: tell its registrant, send the next one */

static void
ngx_grapevine_listen_listened(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_uint_t                      i, n;
    ngx_grapevine_listen_t         *l;
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    if (res == NULL) {
        /* the connection is lost: it starts again when it is back */
        return;
    }

    i = lw->next;
    l = lw->regs[i];

    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, q->pool->log, 0,
                       "grapevine listen: listening on \"%s\"", l->channel);

        lw->listening[i] = 1;

        if (l->state) {
            l->state(l, 1);
        }

    } else {
        ngx_log_error(NGX_LOG_ERR, q->pool->log, 0,
                      "grapevine: could not listen on the channel \"%s\", "
                      "what needs it stays off until the listening "
                      "connection is made anew: %V", l->channel, &q->error);
    }

    if (i + 1 < lw->nregs) {
        lw->next = i + 1;

        ngx_memzero(q, sizeof(ngx_grapevine_pg_query_t));
        q->sql = lw->sql[i + 1];
        q->handler = ngx_grapevine_listen_listened;

        /* the connection is idle again: the LISTEN is sent at once */
        (void) ngx_grapevine_pg_query(lw->pool, q);
        return;
    }

    for (n = 0; n < lw->nregs && lw->listening[n]; n++) {
        /* void */
    }

    lw->ready = (n == lw->nregs);
}


static void
ngx_grapevine_listen_broken(ngx_grapevine_pg_conn_t *pc)
{
    ngx_uint_t                      i;
    ngx_grapevine_listen_t         *l;
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, pc->pool->log, 0,
                   "grapevine listen: connection lost");

    lw->ready = 0;

    for (i = 0; i < lw->nregs; i++) {
        if (!lw->listening[i]) {
            continue;
        }

        lw->listening[i] = 0;
        l = lw->regs[i];

        if (l->state) {
            l->state(l, 0);
        }
    }
}


static void
ngx_grapevine_listen_notify(ngx_grapevine_pg_pool_t *pool, PGnotify *n)
{
    ngx_str_t                       payload;
    ngx_uint_t                      i;
    ngx_grapevine_listen_t         *l;
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    payload.data = (u_char *) (n->extra ? n->extra : "");
    payload.len = ngx_strlen(payload.data);

    for (i = 0; i < lw->nregs; i++) {
        l = lw->regs[i];

        if (ngx_strcmp(l->channel, n->relname) == 0) {
            l->notify(l, &payload);
        }
    }
}


/* sends the round trip for the waiters queued so far */

static ngx_int_t
ngx_grapevine_listen_start(void)
{
    ngx_int_t                       rc;
    ngx_grapevine_pg_query_t       *q;
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    q = &lw->barrier;
    ngx_memzero(q, sizeof(ngx_grapevine_pg_query_t));

    q->sql = "";
    q->handler = ngx_grapevine_listen_crossed;

    /* a connection that breaks while sending answers at once: see below */

    lw->starting = 1;
    lw->start_failed = 0;

    rc = ngx_grapevine_pg_query(lw->pool, q);

    lw->starting = 0;

    if ((rc != NGX_OK && rc != NGX_AGAIN) || lw->start_failed) {
        return NGX_ERROR;
    }

    lw->barrier_busy = 1;

    if (!ngx_queue_empty(&lw->waiting)) {
        ngx_queue_add(&lw->current, &lw->waiting);
        ngx_queue_init(&lw->waiting);
    }

    return NGX_OK;
}


static void
ngx_grapevine_listen_crossed(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_uint_t                      ok;
    ngx_grapevine_listen_worker_t  *lw;

    lw = &ngx_grapevine_listen_worker;

    if (lw->starting) {
        lw->start_failed = 1;
        return;
    }

    lw->barrier_busy = 0;

    ok = (res != NULL && PQresultStatus(res) == PGRES_EMPTY_QUERY
          && lw->ready);

    ngx_grapevine_listen_release(&lw->current, ok);

    if (!ngx_queue_empty(&lw->waiting)) {
        if (!lw->ready || ngx_grapevine_listen_start() != NGX_OK) {
            ngx_grapevine_listen_release(&lw->waiting, 0);
        }
    }
}


static void
ngx_grapevine_listen_release(ngx_queue_t *list, ngx_uint_t ok)
{
    ngx_queue_t                  *q;
    ngx_grapevine_listen_wait_t  *w;

    while (!ngx_queue_empty(list)) {
        q = ngx_queue_head(list);
        w = ngx_queue_data(q, ngx_grapevine_listen_wait_t, queue);

        ngx_queue_remove(q);
        w->queued = 0;

        w->handler(w, ok);
    }
}
