
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_json.h"
#include "ngx_grapevine_api.h"


/*
 * A per-worker cache of the JSON API's 200 answers, kept exact by the
 * database.
 *
 * Every table the API reads has a statement-level trigger that calls
 * pg_notify('grapevine_api') (migrations/0005_api.sql).  Each worker keeps
 * one connection of its own that LISTENs on that channel; every
 * notification, and every loss of that connection, moves the worker's
 * generation on.  An answer is stored with the generation read before its
 * query was sent, and is good only while the generation has not moved.
 *
 * A notification reaches the worker a little after the commit that sent
 * it, so a request is never answered from the cache at once: it waits
 * for a round trip on the listening connection (an empty query) sent
 * after it arrived.  PostgreSQL delivers the notifications of every
 * transaction committed before that query before its answer, so when the
 * round trip is back, the generation accounts for every change committed
 * before the request arrived, and an answer still good is as fresh as a
 * query would be.  Requests that arrive while a round trip is under way
 * share the next one.  Without the listening connection there is no
 * cache: every request runs its query.
 *
 * The notification names its table, and each answer depends only on the
 * tables its query names (found in its SQL text when the configuration
 * is loaded): each table has a generation of its own, and an answer is
 * stored with the sum of its tables' generations and the worker's (which
 * a lost connection or a notification of no known table moves).  Chat
 * therefore leaves the game list cached, presence the channels.
 *
 * The API's queries also read the clock (upcoming events), which no
 * trigger sees: an entry is used for at most one second.
 */


#define NGX_GRAPEVINE_API_CACHE_ENTRIES  1024
#define NGX_GRAPEVINE_API_CACHE_BYTES    (32 * 1024 * 1024)
#define NGX_GRAPEVINE_API_CACHE_BODY     (512 * 1024)
#define NGX_GRAPEVINE_API_CACHE_TTL      1000

#define NGX_GRAPEVINE_API_LISTEN_SQL     "LISTEN grapevine_api"


/* the tables whose triggers notify (migrations/0005_api.sql) */

static const char  *ngx_grapevine_api_cache_names[] = {
    "games", "game_connections", "players_online", "events", "achievements",
    "users", "characters", "channels", "channel_messages", NULL
};

#define NGX_GRAPEVINE_API_CACHE_TABLES                                        \
    (sizeof(ngx_grapevine_api_cache_names) / sizeof(char *) - 1)


typedef struct {
    ngx_str_node_t             sn;        /* first */
    ngx_queue_t                lru;
    uint64_t                   gen;
    ngx_uint_t                 tables;    /* what its query read */
    ngx_msec_t                 stored;
    size_t                     size;
    u_char                    *body;
} ngx_grapevine_api_entry_t;


typedef struct {
    ngx_grapevine_pg_pool_t   *pool;      /* the listening connection */
    ngx_uint_t                 listening;
    uint64_t                   gen;
    uint64_t                   table_gen[NGX_GRAPEVINE_API_CACHE_TABLES];

    ngx_grapevine_pg_query_t   listen;
    ngx_grapevine_pg_query_t   barrier;
    ngx_uint_t                 barrier_busy;
    ngx_uint_t                 starting;
    ngx_uint_t                 start_failed;
    ngx_queue_t                next;      /* wait for the next barrier */
    ngx_queue_t                current;   /* covered by the one under way */

    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                lru;       /* most recent first */
    ngx_uint_t                 entries;
    size_t                     bytes;

    ngx_uint_t                 hits;
    ngx_uint_t                 misses;
} ngx_grapevine_api_cache_t;


static void ngx_grapevine_api_cache_connected(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_api_cache_listened(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_api_cache_broken(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_api_cache_notify(ngx_grapevine_pg_pool_t *pool,
    PGnotify *n);
static ngx_int_t ngx_grapevine_api_cache_start(void);
static void ngx_grapevine_api_cache_crossed(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_api_cache_release(ngx_queue_t *list,
    ngx_uint_t ok);
static void ngx_grapevine_api_cache_remove(ngx_grapevine_api_entry_t *e);
static void ngx_grapevine_api_cache_flush(void);
static void ngx_grapevine_api_cache_status(void *json, PGresult *res,
    void *data);
static uint64_t ngx_grapevine_api_cache_tag(ngx_uint_t tables);


static ngx_grapevine_api_cache_t  ngx_grapevine_api_cache;


/* the cache's member of /_status: this worker's figures */

ngx_grapevine_status_reporter_t  ngx_grapevine_api_cache_reporter = {
    "api_cache", NULL, 0, ngx_grapevine_api_cache_status, NULL
};


ngx_int_t
ngx_grapevine_api_cache_init(ngx_cycle_t *cycle, ngx_grapevine_db_conf_t *db)
{
    u_char                     *p;
    size_t                      len;
    ngx_uint_t                  i, n;
    const char                **values;
    ngx_grapevine_pg_pool_t    *pool;
    ngx_grapevine_db_conf_t    *ldb;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    ngx_memzero(c, sizeof(ngx_grapevine_api_cache_t));

    ngx_queue_init(&c->next);
    ngx_queue_init(&c->current);
    ngx_queue_init(&c->lru);
    ngx_rbtree_init(&c->tree, &c->sentinel, ngx_str_rbtree_insert_value);

    /*
     * The listening connection tells itself apart in pg_stat_activity:
     * its application_name is the pool's with " api-cache" after it.
     */

    ldb = ngx_palloc(cycle->pool, sizeof(ngx_grapevine_db_conf_t));
    if (ldb == NULL) {
        return NGX_ERROR;
    }

    *ldb = *db;

    for (n = 0; db->keywords[n]; n++) {
        /* void */
    }

    values = ngx_palloc(cycle->pool, (n + 1) * sizeof(char *));
    if (values == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i <= n; i++) {
        values[i] = db->values[i];

        if (i < n && ngx_strcmp(db->keywords[i], "application_name") == 0) {
            len = ngx_strlen(db->values[i]);

            p = ngx_pnalloc(cycle->pool, len + sizeof(" api-cache"));
            if (p == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(p, db->values[i], len);
            ngx_memcpy(p + len, " api-cache", sizeof(" api-cache"));

            values[i] = (const char *) p;
        }
    }

    ldb->values = values;

    pool = ngx_grapevine_pg_pool_create(cycle, ldb, 1, NULL);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    pool->on_connect = ngx_grapevine_api_cache_connected;
    pool->on_broken = ngx_grapevine_api_cache_broken;
    pool->on_notify = ngx_grapevine_api_cache_notify;

    c->pool = pool;

    ngx_grapevine_pg_pool_start(pool);

    return NGX_OK;
}


/* this worker's figures, for /_status */

static void
ngx_grapevine_api_cache_status(void *json, PGresult *res, void *data)
{
    ngx_grapevine_json_t       *j = json;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "listening");
    ngx_grapevine_json_bool(j, c->listening);
    ngx_grapevine_json_key(j, "generation");
    ngx_grapevine_json_int(j, (int64_t) c->gen);
    ngx_grapevine_json_key(j, "entries");
    ngx_grapevine_json_int(j, c->entries);
    ngx_grapevine_json_key(j, "bytes");
    ngx_grapevine_json_int(j, c->bytes);
    ngx_grapevine_json_key(j, "hits");
    ngx_grapevine_json_int(j, c->hits);
    ngx_grapevine_json_key(j, "misses");
    ngx_grapevine_json_int(j, c->misses);
    ngx_grapevine_json_map_end(j);
}


void
ngx_grapevine_api_cache_exit(void)
{
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    if (c->pool == NULL) {
        return;
    }

    c->listening = 0;

    /* nothing waits at exit: a round trip under way holds the worker */
    ngx_queue_init(&c->current);
    ngx_queue_init(&c->next);

    ngx_grapevine_pg_pool_destroy(c->pool);
    c->pool = NULL;

    ngx_grapevine_api_cache_flush();
}


/*
 * Queues w for the next round trip on the listening connection:
 * NGX_AGAIN, and w->handler is called when it is back; NGX_DECLINED when
 * there is no cache now (run the query).
 */

ngx_int_t
ngx_grapevine_api_cache_wait(ngx_grapevine_api_wait_t *w)
{
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    if (c->pool == NULL || !c->listening) {
        return NGX_DECLINED;
    }

    ngx_queue_insert_tail(&c->next, &w->queue);
    w->queued = 1;

    if (c->barrier_busy) {
        return NGX_AGAIN;
    }

    if (ngx_grapevine_api_cache_start() != NGX_OK) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
        return NGX_DECLINED;
    }

    return NGX_AGAIN;
}


void
ngx_grapevine_api_cache_unwait(ngx_grapevine_api_wait_t *w)
{
    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
    }
}


/* the generation to tag an answer with, read before its query is sent */

ngx_int_t
ngx_grapevine_api_cache_generation(uint64_t *gen, ngx_uint_t tables)
{
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    if (c->pool == NULL || !c->listening) {
        return NGX_DECLINED;
    }

    *gen = ngx_grapevine_api_cache_tag(tables);

    return NGX_OK;
}


/*
 * The tables a query reads (a bit each, in the order of the names above):
 * those its SQL names as a word.  None found: all of them.
 */

ngx_uint_t
ngx_grapevine_api_cache_tables(const char *sql)
{
    size_t       len;
    ngx_uint_t   i, tables;
    const char  *p;

    tables = 0;

    for (i = 0; ngx_grapevine_api_cache_names[i]; i++) {
        len = ngx_strlen(ngx_grapevine_api_cache_names[i]);

        for (p = ngx_strstr(sql, ngx_grapevine_api_cache_names[i]);
             p;
             p = ngx_strstr(p + len, ngx_grapevine_api_cache_names[i]))
        {
            if ((p == sql || !(isalnum((u_char) p[-1]) || p[-1] == '_'))
                && !(isalnum((u_char) p[len]) || p[len] == '_'))
            {
                tables |= (ngx_uint_t) 1 << i;
                break;
            }
        }
    }

    return tables ? tables
                  : ((ngx_uint_t) 1 << NGX_GRAPEVINE_API_CACHE_TABLES) - 1;
}


/* what an answer that read these tables is stored with */

static uint64_t
ngx_grapevine_api_cache_tag(ngx_uint_t tables)
{
    uint64_t                    tag;
    ngx_uint_t                  i;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    tag = c->gen;

    for (i = 0; i < NGX_GRAPEVINE_API_CACHE_TABLES; i++) {
        if (tables & ((ngx_uint_t) 1 << i)) {
            tag += c->table_gen[i];
        }
    }

    return tag;
}


/* an answer still good for key, or NGX_DECLINED */

ngx_int_t
ngx_grapevine_api_cache_get(ngx_str_t *key, ngx_str_t *body)
{
    uint32_t                    hash;
    ngx_str_node_t             *sn;
    ngx_grapevine_api_entry_t  *e;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    if (c->pool == NULL || !c->listening) {
        return NGX_DECLINED;
    }

    hash = ngx_crc32_short(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&c->tree, key, hash);

    if (sn == NULL) {
        c->misses++;
        return NGX_DECLINED;
    }

    e = (ngx_grapevine_api_entry_t *) sn;

    if (e->gen != ngx_grapevine_api_cache_tag(e->tables)
        || ngx_current_msec - e->stored >= NGX_GRAPEVINE_API_CACHE_TTL)
    {
        ngx_grapevine_api_cache_remove(e);
        c->misses++;
        return NGX_DECLINED;
    }

    ngx_queue_remove(&e->lru);
    ngx_queue_insert_head(&c->lru, &e->lru);

    body->data = e->body;
    body->len = e->size;

    c->hits++;

    return NGX_OK;
}


/* stores an answer made by a query of tables sent at generation gen */

void
ngx_grapevine_api_cache_put(ngx_str_t *key, uint64_t gen, ngx_uint_t tables,
    ngx_chain_t *out, size_t size)
{
    u_char                     *p;
    size_t                      len;
    uint32_t                    hash;
    ngx_queue_t                *q;
    ngx_chain_t                *cl;
    ngx_str_node_t             *sn;
    ngx_grapevine_api_entry_t  *e;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    if (c->pool == NULL || !c->listening
        || gen != ngx_grapevine_api_cache_tag(tables)
        || size > NGX_GRAPEVINE_API_CACHE_BODY)
    {
        return;
    }

    hash = ngx_crc32_short(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&c->tree, key, hash);
    if (sn) {
        ngx_grapevine_api_cache_remove((ngx_grapevine_api_entry_t *) sn);
    }

    len = sizeof(ngx_grapevine_api_entry_t) + key->len + size;

    while (c->entries
           && (c->entries >= NGX_GRAPEVINE_API_CACHE_ENTRIES
               || c->bytes + len > NGX_GRAPEVINE_API_CACHE_BYTES))
    {
        q = ngx_queue_last(&c->lru);
        ngx_grapevine_api_cache_remove(
            ngx_queue_data(q, ngx_grapevine_api_entry_t, lru));
    }

    e = ngx_alloc(len, ngx_cycle->log);
    if (e == NULL) {
        return;
    }

    p = (u_char *) e + sizeof(ngx_grapevine_api_entry_t);

    e->sn.str.data = p;
    e->sn.str.len = key->len;
    p = ngx_cpymem(p, key->data, key->len);

    e->body = p;
    e->size = size;

    for (cl = out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    if ((size_t) (p - e->body) != size) {
        ngx_free(e);
        return;
    }

    e->gen = gen;
    e->tables = tables;
    e->stored = ngx_current_msec;
    e->sn.node.key = hash;

    ngx_rbtree_insert(&c->tree, &e->sn.node);
    ngx_queue_insert_head(&c->lru, &e->lru);

    c->entries++;
    c->bytes += len;
}


static void
ngx_grapevine_api_cache_connected(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_pg_query_t   *q;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    q = &c->listen;
    ngx_memzero(q, sizeof(ngx_grapevine_pg_query_t));

    q->sql = NGX_GRAPEVINE_API_LISTEN_SQL;
    q->handler = ngx_grapevine_api_cache_listened;
    q->pool = pc->pool;

    (void) ngx_grapevine_pg_send(pc, q);
}


static void
ngx_grapevine_api_cache_listened(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, q->pool->log, 0,
                      "grapevine: the API cache could not listen for "
                      "changes, it stays off: %V", &q->error);
        return;
    }

    /* what was stored before may have missed a change */
    c->gen++;
    c->listening = 1;
}


static void
ngx_grapevine_api_cache_broken(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    c->listening = 0;
    c->gen++;

    ngx_grapevine_api_cache_flush();
}


static void
ngx_grapevine_api_cache_notify(ngx_grapevine_pg_pool_t *pool, PGnotify *n)
{
    ngx_uint_t                  i;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    for (i = 0; ngx_grapevine_api_cache_names[i]; i++) {
        if (n->extra
            && ngx_strcmp(n->extra, ngx_grapevine_api_cache_names[i]) == 0)
        {
            c->table_gen[i]++;
            return;
        }
    }

    /* an older trigger's, or a table this code does not know: everything */

    c->gen++;
}


/* sends the round trip for the requests waiting for the next one */

static ngx_int_t
ngx_grapevine_api_cache_start(void)
{
    ngx_int_t                   rc;
    ngx_grapevine_pg_query_t   *q;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    q = &c->barrier;
    ngx_memzero(q, sizeof(ngx_grapevine_pg_query_t));

    q->sql = "";
    q->handler = ngx_grapevine_api_cache_crossed;

    /* a connection that breaks while sending answers at once: see below */

    c->starting = 1;
    c->start_failed = 0;

    rc = ngx_grapevine_pg_query(c->pool, q);

    c->starting = 0;

    if ((rc != NGX_OK && rc != NGX_AGAIN) || c->start_failed) {
        return NGX_ERROR;
    }

    c->barrier_busy = 1;

    /* the requests queued so far are covered by this one */

    if (!ngx_queue_empty(&c->next)) {
        ngx_queue_add(&c->current, &c->next);
        ngx_queue_init(&c->next);
    }

    return NGX_OK;
}


static void
ngx_grapevine_api_cache_crossed(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_uint_t                  ok;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    if (c->starting) {
        c->start_failed = 1;
        return;
    }

    c->barrier_busy = 0;

    ok = (res != NULL && PQresultStatus(res) == PGRES_EMPTY_QUERY
          && c->listening);

    ngx_grapevine_api_cache_release(&c->current, ok);

    if (!ngx_queue_empty(&c->next)) {
        if (!c->listening || ngx_grapevine_api_cache_start() != NGX_OK) {
            ngx_grapevine_api_cache_release(&c->next, 0);
        }
    }
}


static void
ngx_grapevine_api_cache_release(ngx_queue_t *list, ngx_uint_t ok)
{
    ngx_queue_t               *q;
    ngx_grapevine_api_wait_t  *w;

    while (!ngx_queue_empty(list)) {
        q = ngx_queue_head(list);
        w = ngx_queue_data(q, ngx_grapevine_api_wait_t, queue);

        ngx_queue_remove(q);
        w->queued = 0;

        w->handler(w, ok);
    }
}


static void
ngx_grapevine_api_cache_remove(ngx_grapevine_api_entry_t *e)
{
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    ngx_rbtree_delete(&c->tree, &e->sn.node);
    ngx_queue_remove(&e->lru);

    c->entries--;
    c->bytes -= sizeof(ngx_grapevine_api_entry_t) + e->sn.str.len + e->size;

    ngx_free(e);
}


static void
ngx_grapevine_api_cache_flush(void)
{
    ngx_queue_t                *q;
    ngx_grapevine_api_cache_t  *c;

    c = &ngx_grapevine_api_cache;

    while (!ngx_queue_empty(&c->lru)) {
        q = ngx_queue_head(&c->lru);
        ngx_grapevine_api_cache_remove(
            ngx_queue_data(q, ngx_grapevine_api_entry_t, lru));
    }
}
