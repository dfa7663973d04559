
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_json.h"
#include "ngx_grapevine_listen.h"
#include "ngx_grapevine_cache.h"


/*
 * The answer cache (ngx_grapevine_cache.h), one a worker.
 *
 * An answer is stored with a tag: the worker's generation plus the
 * generations of the tables it was read from, read before its query was
 * sent.  Generations only grow, so the tag stays the same only while none
 * of them has moved.  A table's notification moves its generation; a
 * notification of no registered table, a channel that starts listening
 * (what was stored before may have missed a change) and one that is lost
 * move the worker's.
 */


/* a registered table, and the channel that announces its changes */

typedef struct {
    const char                    *name;
    ngx_grapevine_listen_t        *listen;
} ngx_grapevine_cache_table_t;


typedef struct {
    ngx_str_node_t                 sn;        /* first */
    ngx_queue_t                    lru;
    uint64_t                       gen;
    ngx_grapevine_cache_tables_t   tables;    /* what it was read from */
    ngx_msec_t                     stored;
    size_t                         size;
    u_char                        *body;
} ngx_grapevine_cache_entry_t;


/* a key whose query is under way, and who waits for its answer */

struct ngx_grapevine_cache_lock_s {
    ngx_str_node_t                 sn;        /* first */
    uint64_t                       gen;       /* the holder's tag */
    ngx_grapevine_cache_tables_t   tables;
    ngx_grapevine_cache_wait_t    *holder;
    ngx_queue_t                    waiters;
    unsigned                       in_tree:1;
};


typedef struct {
    ngx_grapevine_cache_table_t   *tables;
    ngx_uint_t                     ntables;
    ngx_grapevine_cache_tables_t   registered;
    ngx_grapevine_cache_tables_t   live;      /* their channel listens */

    uint64_t                       gen;
    uint64_t                       table_gen[NGX_GRAPEVINE_CACHE_TABLES];

    ngx_rbtree_t                   tree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    lru;       /* most recent first */
    ngx_uint_t                     entries;
    size_t                         bytes;

    ngx_uint_t                     hits;
    ngx_uint_t                     misses;

    ngx_rbtree_t                   locks;     /* lock_t, by key */
    ngx_rbtree_node_t              locks_sentinel;
    ngx_uint_t                     nlocks;
    ngx_uint_t                     shared;    /* answers a waiter got */
    ngx_uint_t                     lock_timeouts;
} ngx_grapevine_cache_t;


static void ngx_grapevine_cache_notify(ngx_grapevine_listen_t *l,
    ngx_str_t *payload);
static void ngx_grapevine_cache_state(ngx_grapevine_listen_t *l,
    ngx_uint_t listening);
static uint64_t ngx_grapevine_cache_tag(ngx_grapevine_cache_tables_t tables);
static void ngx_grapevine_cache_remove(ngx_grapevine_cache_entry_t *e);
static void ngx_grapevine_cache_flush(void);
static void ngx_grapevine_cache_lock_free(ngx_grapevine_cache_lock_t *lock);
static void ngx_grapevine_cache_lock_timeout(ngx_event_t *ev);


static ngx_grapevine_cache_t  ngx_grapevine_cache;


/*
 * Tables (names: NULL-terminated) whose every change is announced by a
 * NOTIFY on channel with the table's name as its payload.  A table
 * registered again (by another module) must name the same channel.
 */

ngx_int_t
ngx_grapevine_add_cache_tables(ngx_conf_t *cf, const char *channel,
    const char **names)
{
    ngx_uint_t                    i;
    ngx_grapevine_listen_t       *l;
    ngx_grapevine_main_conf_t    *gmcf;
    ngx_grapevine_cache_table_t  *t;

    gmcf = ngx_grapevine_conf(cf);

    if (gmcf->cache_tables == NULL) {
        gmcf->cache_tables = ngx_array_create(cf->pool, 16,
                                         sizeof(ngx_grapevine_cache_table_t));
        if (gmcf->cache_tables == NULL
            || ngx_grapevine_cache_metrics_register(cf) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the cache's registration for this channel, if it has one */

    l = NULL;
    t = gmcf->cache_tables->elts;

    for (i = 0; i < gmcf->cache_tables->nelts; i++) {
        if (ngx_strcmp(t[i].listen->channel, channel) == 0) {
            l = t[i].listen;
            break;
        }
    }

    if (l == NULL) {
        l = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_listen_t));
        if (l == NULL) {
            return NGX_ERROR;
        }

        l->channel = channel;
        l->notify = ngx_grapevine_cache_notify;
        l->state = ngx_grapevine_cache_state;

        if (ngx_grapevine_add_listen(cf, l) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    for ( /* void */ ; *names; names++) {

        t = gmcf->cache_tables->elts;

        for (i = 0; i < gmcf->cache_tables->nelts; i++) {
            if (ngx_strcmp(t[i].name, *names) == 0) {
                break;
            }
        }

        if (i < gmcf->cache_tables->nelts) {
            if (t[i].listen != l) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "grapevine: the cache's table \"%s\" is "
                                   "announced on \"%s\", not on \"%s\"",
                                   *names, t[i].listen->channel, channel);
                return NGX_ERROR;
            }

            continue;
        }

        if (gmcf->cache_tables->nelts == NGX_GRAPEVINE_CACHE_TABLES) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "grapevine: the cache takes at most %d "
                               "tables", NGX_GRAPEVINE_CACHE_TABLES);
            return NGX_ERROR;
        }

        t = ngx_array_push(gmcf->cache_tables);
        if (t == NULL) {
            return NGX_ERROR;
        }

        t->name = *names;
        t->listen = l;
    }

    return NGX_OK;
}


/*
 * The tables registered so far that a query reads: those its SQL names as
 * a word.  A query must name every table it reads, never through a
 * function or a view, or the cache would not see their changes.  None
 * found: every table.
 */

ngx_grapevine_cache_tables_t
ngx_grapevine_cache_tables(ngx_conf_t *cf, const char *sql)
{
    size_t                         len;
    ngx_uint_t                     i;
    const char                    *p, *name;
    ngx_grapevine_main_conf_t     *gmcf;
    ngx_grapevine_cache_table_t   *t;
    ngx_grapevine_cache_tables_t   tables;

    gmcf = ngx_grapevine_conf(cf);

    if (gmcf->cache_tables == NULL) {
        return NGX_GRAPEVINE_CACHE_ALL;
    }

    tables = 0;
    t = gmcf->cache_tables->elts;

    for (i = 0; i < gmcf->cache_tables->nelts; i++) {
        name = t[i].name;
        len = ngx_strlen(name);

        for (p = ngx_strstr(sql, name); p; p = ngx_strstr(p + len, name)) {
            if ((p == sql || !(isalnum((u_char) p[-1]) || p[-1] == '_'))
                && !(isalnum((u_char) p[len]) || p[len] == '_'))
            {
                tables |= (ngx_grapevine_cache_tables_t) 1 << i;
                break;
            }
        }
    }

    return tables ? tables : NGX_GRAPEVINE_CACHE_ALL;
}


/* in a worker, from core's init_process, before the listening connection */

ngx_int_t
ngx_grapevine_cache_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_grapevine_cache_t      *c;
    ngx_grapevine_main_conf_t  *gmcf;

    c = &ngx_grapevine_cache;

    ngx_memzero(c, sizeof(ngx_grapevine_cache_t));

    ngx_queue_init(&c->lru);
    ngx_rbtree_init(&c->tree, &c->sentinel, ngx_str_rbtree_insert_value);
    ngx_rbtree_init(&c->locks, &c->locks_sentinel,
                    ngx_str_rbtree_insert_value);

    gmcf = ngx_grapevine_cycle_conf(cycle);

    if (gmcf == NULL || gmcf->db == NULL || gmcf->cache_tables == NULL) {
        return NGX_OK;
    }

    c->tables = gmcf->cache_tables->elts;
    c->ntables = gmcf->cache_tables->nelts;

    for (i = 0; i < c->ntables; i++) {
        c->registered |= (ngx_grapevine_cache_tables_t) 1 << i;
    }

    return NGX_OK;
}


void
ngx_grapevine_cache_exit(ngx_cycle_t *cycle)
{
    if (ngx_grapevine_cache.registered == 0) {
        return;
    }

    ngx_grapevine_cache.live = 0;

    ngx_grapevine_cache_flush();
}


/* what this worker's cache holds, for its metrics */

void
ngx_grapevine_cache_usage(ngx_uint_t *entries, size_t *bytes)
{
    *entries = ngx_grapevine_cache.entries;
    *bytes = ngx_grapevine_cache.bytes;
}


/* this worker's figures, for /_status */

void
ngx_grapevine_cache_status(void *json, PGresult *res, void *data)
{
    ngx_grapevine_json_t   *j = json;
    ngx_grapevine_cache_t  *c;

    c = &ngx_grapevine_cache;

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "listening");
    ngx_grapevine_json_bool(j,
                      ngx_grapevine_cache_ready(NGX_GRAPEVINE_CACHE_ALL));
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
    ngx_grapevine_json_key(j, "locks");
    ngx_grapevine_json_int(j, c->nlocks);
    ngx_grapevine_json_key(j, "shared");
    ngx_grapevine_json_int(j, c->shared);
    ngx_grapevine_json_key(j, "lock_timeouts");
    ngx_grapevine_json_int(j, c->lock_timeouts);
    ngx_grapevine_json_map_end(j);
}


/* whether answers read from these tables can be cached now */

ngx_uint_t
ngx_grapevine_cache_ready(ngx_grapevine_cache_tables_t tables)
{
    ngx_grapevine_cache_t  *c;

    c = &ngx_grapevine_cache;

    return c->registered != 0
           && (tables & c->registered & ~c->live) == 0;
}


/* the tag of an answer read from tables, read before its query is sent */

ngx_int_t
ngx_grapevine_cache_generation(ngx_grapevine_cache_tables_t tables,
    uint64_t *gen)
{
    if (!ngx_grapevine_cache_ready(tables)) {
        return NGX_DECLINED;
    }

    *gen = ngx_grapevine_cache_tag(tables);

    return NGX_OK;
}


static uint64_t
ngx_grapevine_cache_tag(ngx_grapevine_cache_tables_t tables)
{
    uint64_t                tag;
    ngx_uint_t              i;
    ngx_grapevine_cache_t  *c;

    c = &ngx_grapevine_cache;

    tag = c->gen;

    for (i = 0; i < c->ntables; i++) {
        if (tables & ((ngx_grapevine_cache_tables_t) 1 << i)) {
            tag += c->table_gen[i];
        }
    }

    return tag;
}


/*
 * An answer still good for key, or NGX_DECLINED.  Ask after the listening
 * connection's round trip: then every change committed before the request
 * has been heard.
 */

ngx_int_t
ngx_grapevine_cache_get(ngx_str_t *key, ngx_str_t *body)
{
    uint32_t                      hash;
    ngx_str_node_t               *sn;
    ngx_grapevine_cache_t        *c;
    ngx_grapevine_cache_entry_t  *e;

    c = &ngx_grapevine_cache;

    if (c->registered == 0) {
        return NGX_DECLINED;
    }

    hash = ngx_crc32_short(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&c->tree, key, hash);

    if (sn == NULL) {
        c->misses++;
        ngx_grapevine_cache_counted(NGX_GRAPEVINE_CACHE_MISS);
        return NGX_DECLINED;
    }

    e = (ngx_grapevine_cache_entry_t *) sn;

    if (!ngx_grapevine_cache_ready(e->tables)
        || e->gen != ngx_grapevine_cache_tag(e->tables)
        || ngx_current_msec - e->stored >= NGX_GRAPEVINE_CACHE_TTL)
    {
        ngx_grapevine_cache_remove(e);
        c->misses++;
        ngx_grapevine_cache_counted(NGX_GRAPEVINE_CACHE_MISS);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&e->lru);
    ngx_queue_insert_head(&c->lru, &e->lru);

    body->data = e->body;
    body->len = e->size;

    c->hits++;
    ngx_grapevine_cache_counted(NGX_GRAPEVINE_CACHE_HIT);

    return NGX_OK;
}


/*
 * Stores an answer (the buffers of out, size bytes in all) read from
 * tables by a query sent when their tag was gen, unless something has
 * moved since.
 */

void
ngx_grapevine_cache_put(ngx_str_t *key, uint64_t gen,
    ngx_grapevine_cache_tables_t tables, ngx_chain_t *out, size_t size)
{
    u_char                       *p;
    size_t                        len;
    uint32_t                      hash;
    ngx_queue_t                  *q;
    ngx_chain_t                  *cl;
    ngx_str_node_t               *sn;
    ngx_grapevine_cache_t        *c;
    ngx_grapevine_cache_entry_t  *e;

    c = &ngx_grapevine_cache;

    if (!ngx_grapevine_cache_ready(tables)
        || gen != ngx_grapevine_cache_tag(tables)
        || size > NGX_GRAPEVINE_CACHE_BODY)
    {
        return;
    }

    hash = ngx_crc32_short(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&c->tree, key, hash);
    if (sn) {
        ngx_grapevine_cache_remove((ngx_grapevine_cache_entry_t *) sn);
    }

    len = sizeof(ngx_grapevine_cache_entry_t) + key->len + size;

    while (c->entries
           && (c->entries >= NGX_GRAPEVINE_CACHE_ENTRIES
               || c->bytes + len > NGX_GRAPEVINE_CACHE_BYTES))
    {
        q = ngx_queue_last(&c->lru);
        ngx_grapevine_cache_remove(
            ngx_queue_data(q, ngx_grapevine_cache_entry_t, lru));
        ngx_grapevine_cache_counted(NGX_GRAPEVINE_CACHE_EVICTION);
    }

    e = ngx_alloc(len, ngx_cycle->log);
    if (e == NULL) {
        return;
    }

    p = (u_char *) e + sizeof(ngx_grapevine_cache_entry_t);

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


/*
 * Before a miss runs its query: NGX_OK, w holds the key (it runs the
 * query, then ngx_grapevine_cache_unlock()); NGX_AGAIN, w waits for the
 * holder's answer (w->handler is called); NGX_DECLINED, no lock (out of
 * memory): run the query alone.  gen is the tag of tables read now,
 * before the query is sent (ngx_grapevine_cache_generation()).
 */

ngx_int_t
ngx_grapevine_cache_lock(ngx_str_t *key, ngx_grapevine_cache_tables_t tables,
    uint64_t gen, ngx_msec_t timeout, ngx_grapevine_cache_wait_t *w)
{
    uint32_t                     hash;
    ngx_str_node_t              *sn;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_lock_t  *lock;

    c = &ngx_grapevine_cache;

    w->lock = NULL;
    w->holder = 0;

    hash = ngx_crc32_short(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&c->locks, key, hash);

    if (sn) {
        lock = (ngx_grapevine_cache_lock_t *) sn;

        if (lock->gen == gen && lock->tables == tables) {
            ngx_queue_insert_tail(&lock->waiters, &w->queue);
            w->lock = lock;

            ngx_memzero(&w->timer, sizeof(ngx_event_t));
            w->timer.handler = ngx_grapevine_cache_lock_timeout;
            w->timer.data = w;
            w->timer.log = ngx_cycle->log;
            ngx_add_timer(&w->timer, timeout);

            return NGX_AGAIN;
        }

        /*
         * a query sent before a change: it stays with its holder and its
         * waiters, and the key goes to this one's
         */

        ngx_rbtree_delete(&c->locks, &lock->sn.node);
        lock->in_tree = 0;
    }

    lock = ngx_alloc(sizeof(ngx_grapevine_cache_lock_t) + key->len,
                     ngx_cycle->log);
    if (lock == NULL) {
        return NGX_DECLINED;
    }

    lock->sn.str.data = (u_char *) lock + sizeof(ngx_grapevine_cache_lock_t);
    lock->sn.str.len = key->len;
    ngx_memcpy(lock->sn.str.data, key->data, key->len);
    lock->sn.node.key = hash;

    lock->gen = gen;
    lock->tables = tables;
    lock->holder = w;
    ngx_queue_init(&lock->waiters);

    ngx_rbtree_insert(&c->locks, &lock->sn.node);
    lock->in_tree = 1;
    c->nlocks++;

    w->lock = lock;
    w->holder = 1;

    return NGX_OK;
}


/*
 * The holder's query is done: its answer (out, size bytes) goes to every
 * waiter; without one (an error, a 404), each waiter runs its own query.
 */

void
ngx_grapevine_cache_unlock(ngx_grapevine_cache_wait_t *w, ngx_chain_t *out,
    size_t size)
{
    ngx_queue_t                 *q;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_lock_t  *lock;
    ngx_grapevine_cache_wait_t  *waiter;

    c = &ngx_grapevine_cache;

    lock = w->lock;

    if (lock == NULL || !w->holder) {
        return;
    }

    w->lock = NULL;
    w->holder = 0;
    lock->holder = NULL;

    /* the key is free before a waiter runs: it may take it again */

    if (lock->in_tree) {
        ngx_rbtree_delete(&c->locks, &lock->sn.node);
        lock->in_tree = 0;
    }

    while (!ngx_queue_empty(&lock->waiters)) {
        q = ngx_queue_head(&lock->waiters);
        waiter = ngx_queue_data(q, ngx_grapevine_cache_wait_t, queue);

        ngx_queue_remove(q);
        waiter->lock = NULL;

        if (waiter->timer.timer_set) {
            ngx_del_timer(&waiter->timer);
        }

        if (out) {
            c->shared++;
        }

        waiter->handler(waiter, out, size);
    }

    ngx_grapevine_cache_lock_free(lock);
}


/*
 * A holder or a waiter that goes away (its request is finalized).  A
 * holder's query is given up with it: the first waiter takes the key and
 * runs the query for the others.
 */

void
ngx_grapevine_cache_lock_cancel(ngx_grapevine_cache_wait_t *w)
{
    ngx_queue_t                 *q;
    ngx_grapevine_cache_lock_t  *lock;
    ngx_grapevine_cache_wait_t  *next;

    lock = w->lock;

    if (lock == NULL) {
        return;
    }

    w->lock = NULL;

    if (!w->holder) {
        ngx_queue_remove(&w->queue);

        if (w->timer.timer_set) {
            ngx_del_timer(&w->timer);
        }

        return;
    }

    w->holder = 0;
    lock->holder = NULL;

    if (ngx_queue_empty(&lock->waiters)) {
        ngx_grapevine_cache_lock_free(lock);
        return;
    }

    q = ngx_queue_head(&lock->waiters);
    next = ngx_queue_data(q, ngx_grapevine_cache_wait_t, queue);

    ngx_queue_remove(q);

    if (next->timer.timer_set) {
        ngx_del_timer(&next->timer);
    }

    lock->holder = next;
    next->holder = 1;

    next->handler(next, NULL, 0);
}


static void
ngx_grapevine_cache_lock_free(ngx_grapevine_cache_lock_t *lock)
{
    ngx_grapevine_cache_t  *c;

    c = &ngx_grapevine_cache;

    if (lock->in_tree) {
        ngx_rbtree_delete(&c->locks, &lock->sn.node);
    }

    c->nlocks--;

    ngx_free(lock);
}


/* a waiter that waited too long runs its own query */

static void
ngx_grapevine_cache_lock_timeout(ngx_event_t *ev)
{
    ngx_grapevine_cache_wait_t  *w;

    w = ev->data;

    if (w->lock == NULL) {
        return;
    }

    ngx_queue_remove(&w->queue);
    w->lock = NULL;

    ngx_grapevine_cache.lock_timeouts++;

    w->handler(w, NULL, 0);
}


/* a change to the table named by payload, announced on l's channel */

static void
ngx_grapevine_cache_notify(ngx_grapevine_listen_t *l, ngx_str_t *payload)
{
    ngx_uint_t              i;
    ngx_grapevine_cache_t  *c;

    c = &ngx_grapevine_cache;

    for (i = 0; i < c->ntables; i++) {
        if (c->tables[i].listen == l
            && ngx_strlen(c->tables[i].name) == payload->len
            && ngx_strncmp(c->tables[i].name, payload->data, payload->len)
               == 0)
        {
            c->table_gen[i]++;
            return;
        }
    }

    /* an older trigger's, or a table this build does not know: all */

    c->gen++;
}


/* l's channel is listened to, or no longer */

static void
ngx_grapevine_cache_state(ngx_grapevine_listen_t *l, ngx_uint_t listening)
{
    ngx_uint_t                    i;
    ngx_grapevine_cache_t        *c;
    ngx_grapevine_cache_tables_t  bits;

    c = &ngx_grapevine_cache;

    bits = 0;

    for (i = 0; i < c->ntables; i++) {
        if (c->tables[i].listen == l) {
            bits |= (ngx_grapevine_cache_tables_t) 1 << i;
        }
    }

    /* what was stored before may have missed a change */

    c->gen++;

    if (listening) {
        c->live |= bits;
        return;
    }

    c->live &= ~bits;

    ngx_grapevine_cache_flush();
}


static void
ngx_grapevine_cache_remove(ngx_grapevine_cache_entry_t *e)
{
    ngx_grapevine_cache_t  *c;

    c = &ngx_grapevine_cache;

    ngx_rbtree_delete(&c->tree, &e->sn.node);
    ngx_queue_remove(&e->lru);

    c->entries--;
    c->bytes -= sizeof(ngx_grapevine_cache_entry_t) + e->sn.str.len + e->size;

    ngx_free(e);
}


static void
ngx_grapevine_cache_flush(void)
{
    ngx_queue_t            *q;
    ngx_grapevine_cache_t  *c;

    c = &ngx_grapevine_cache;

    while (!ngx_queue_empty(&c->lru)) {
        q = ngx_queue_head(&c->lru);
        ngx_grapevine_cache_remove(
            ngx_queue_data(q, ngx_grapevine_cache_entry_t, lru));
    }
}
