
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
 * The answer cache (ngx_grapevine_cache.h), one zone for the instance.
 *
 * An answer is stored with a tag: the sum of the zone's counters of the
 * tables it was read from and of the counter every answer depends on,
 * read before its query was sent.  Counters only grow, so the tag stays
 * the same only while none of them has moved.  Every worker moves a
 * table's counter for every notification of it that it hears (a change
 * heard by two workers moves it twice: the tag moves all the same); a
 * notification of no registered table, and a worker that starts or stops
 * listening, move the counter every answer depends on.
 *
 * An answer is also stored with the stamp of the configuration whose
 * workers made it: a reload numbers the tables afresh, so the workers of
 * one configuration never use what those of another stored.
 *
 * A key whose query is under way has a marker in the zone (a node that is
 * filling, with its holder's pid and tag): a worker that misses the same
 * key under the same tag waits for the answer instead of asking too.
 */


#define NGX_GRAPEVINE_CACHE_ZONE_MIN  (128 * 1024)


/* a registered table, and the channel that announces its changes */

typedef struct {
    const char                    *name;
    ngx_grapevine_listen_t        *listen;
} ngx_grapevine_cache_table_t;


/* in the zone */

typedef struct {
    ngx_rbtree_t                   tree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    lru;       /* most recent first */
    ngx_uint_t                     entries;   /* under the mutex */
    size_t                         bytes;

    ngx_atomic_t                   conf;      /* the newest configuration */
    ngx_atomic_t                   gen;       /* every answer's counter */
    ngx_atomic_t                   table_gen[NGX_GRAPEVINE_CACHE_TABLES];

    ngx_atomic_t                   hits;
    ngx_atomic_t                   misses;
    ngx_atomic_t                   fills;
    ngx_atomic_t                   waits;
    ngx_atomic_t                   shared;
    ngx_atomic_t                   lock_timeouts;
    ngx_atomic_t                   evictions;
    ngx_atomic_t                   refused;
} ngx_grapevine_cache_sh_t;


/* an answer, or the marker of a query under way; its key, then its body */

typedef struct {
    ngx_str_node_t                 sn;        /* first */
    ngx_queue_t                    lru;
    ngx_atomic_uint_t              conf;
    uint64_t                       gen;
    ngx_grapevine_cache_tables_t   tables;    /* what it was read from */
    ngx_msec_t                     stored;
    ngx_msec_t                     expires;   /* a marker's holder gives
                                                 up by then */
    ngx_pid_t                      pid;       /* a marker's holder */
    size_t                         size;      /* of the body */
    unsigned                       filling:1;
} ngx_grapevine_cache_node_t;


/* the zone's data, one a configuration */

typedef struct {
    ngx_grapevine_cache_sh_t      *sh;
    ngx_slab_pool_t               *shpool;
    size_t                         size;
    size_t                         max_entry;
    ngx_atomic_uint_t              conf;      /* this configuration's */
} ngx_grapevine_cache_zone_t;


/* a key whose query is under way in this worker, and who waits for it */

struct ngx_grapevine_cache_lock_s {
    ngx_str_node_t                 sn;        /* first */
    uint64_t                       gen;       /* the holder's tag */
    ngx_grapevine_cache_tables_t   tables;
    ngx_grapevine_cache_wait_t    *holder;
    ngx_queue_t                    waiters;
    ngx_msec_t                     timeout;
    ngx_msec_t                     deadline;  /* remote: then ask */
    unsigned                       in_tree:1;
    unsigned                       remote:1;  /* another worker's query */
};


/* the worker's */

typedef struct {
    ngx_grapevine_cache_table_t   *tables;
    ngx_uint_t                     ntables;
    ngx_grapevine_cache_tables_t   registered;
    ngx_grapevine_cache_tables_t   live;      /* their channel listens */

    ngx_grapevine_cache_zone_t    *zone;
    ngx_grapevine_cache_sh_t      *sh;
    ngx_uint_t                     moved;     /* every answer's counter,
                                                 by this worker */

    ngx_rbtree_t                   locks;     /* lock_t, by key */
    ngx_rbtree_node_t              locks_sentinel;
    ngx_uint_t                     nlocks;
} ngx_grapevine_cache_t;


static ngx_int_t ngx_grapevine_cache_add_zone(ngx_conf_t *cf,
    ngx_grapevine_main_conf_t *gmcf);
static ngx_int_t ngx_grapevine_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_grapevine_cache_notify(ngx_grapevine_listen_t *l,
    ngx_str_t *payload);
static void ngx_grapevine_cache_state(ngx_grapevine_listen_t *l,
    ngx_uint_t listening);
static uint64_t ngx_grapevine_cache_tag(ngx_grapevine_cache_tables_t tables);
static ngx_grapevine_cache_node_t *ngx_grapevine_cache_lookup(ngx_str_t *key,
    uint32_t hash);
static ngx_uint_t ngx_grapevine_cache_valid(ngx_grapevine_cache_node_t *node,
    uint64_t gen, ngx_grapevine_cache_tables_t tables);
static ngx_uint_t ngx_grapevine_cache_filling(
    ngx_grapevine_cache_node_t *node, uint64_t gen,
    ngx_grapevine_cache_tables_t tables);
static ngx_grapevine_cache_node_t *ngx_grapevine_cache_alloc(size_t len);
static void ngx_grapevine_cache_remove(ngx_grapevine_cache_node_t *node);
static void ngx_grapevine_cache_mark(ngx_grapevine_cache_lock_t *lock,
    ngx_msec_t timeout);
static void ngx_grapevine_cache_unmark(ngx_grapevine_cache_lock_t *lock);
static void ngx_grapevine_cache_poll(ngx_event_t *ev);
static void ngx_grapevine_cache_deliver(ngx_grapevine_cache_wait_t *w,
    u_char *body, size_t size);
static void ngx_grapevine_cache_lock_free(ngx_grapevine_cache_lock_t *lock);
static void ngx_grapevine_cache_lock_timeout(ngx_event_t *ev);


static ngx_grapevine_cache_t  ngx_grapevine_cache;


/* the zone's member of /_status, "cache" */

static ngx_grapevine_status_reporter_t  ngx_grapevine_cache_reporter = {
    "cache", NULL, 0, ngx_grapevine_cache_status, NULL
};


/*
 * grapevine_cache_zone <size> [max_entry=<size>]: the zone's size, and the
 * largest answer it keeps.
 */

char *
ngx_grapevine_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_main_conf_t *gmcf = conf;

    ssize_t     size, max;
    ngx_str_t  *value, s;

    if (gmcf->cache_size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < NGX_GRAPEVINE_CACHE_ZONE_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "grapevine_cache_zone: \"%V\" is not a size of "
                           "at least %dk", &value[1],
                           NGX_GRAPEVINE_CACHE_ZONE_MIN / 1024);
        return NGX_CONF_ERROR;
    }

    gmcf->cache_size = size;

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[2].data, "max_entry=", 10) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "grapevine_cache_zone: unknown parameter \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    s.data = value[2].data + 10;
    s.len = value[2].len - 10;

    max = ngx_parse_size(&s);

    if (max == NGX_ERROR || max == 0 || max > size / 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "grapevine_cache_zone: max_entry \"%V\" must be "
                           "a size of more than 0 and at most half the "
                           "zone", &s);
        return NGX_CONF_ERROR;
    }

    gmcf->cache_max_entry = max;

    return NGX_CONF_OK;
}


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

    if (gmcf->cache_zone == NULL) {
        if (ngx_grapevine_cache_add_zone(cf, gmcf) != NGX_OK) {
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


/* the zone, with the first table: a cache with nothing to read needs none */

static ngx_int_t
ngx_grapevine_cache_add_zone(ngx_conf_t *cf, ngx_grapevine_main_conf_t *gmcf)
{
    ngx_str_t                    name;
    ngx_shm_zone_t              *shm_zone;
    ngx_grapevine_cache_zone_t  *zone;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_cache_zone_t));
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->size = gmcf->cache_size;
    zone->max_entry = gmcf->cache_max_entry;

    ngx_str_set(&name, "grapevine_cache");

    shm_zone = ngx_shared_memory_add(cf, &name, gmcf->cache_size,
                                     &ngx_http_grapevine_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "grapevine: the zone \"%V\" is already used",
                           &name);
        return NGX_ERROR;
    }

    shm_zone->init = ngx_grapevine_cache_init_zone;
    shm_zone->data = zone;

    gmcf->cache_zone = shm_zone;

    return ngx_grapevine_add_status(cf, &ngx_grapevine_cache_reporter);
}


/*
 * In the master, for each configuration: what a reload finds in the zone
 * stays (the answers of the old configuration are no longer used: its
 * stamp is not the new one, and a worker that starts to listen moves every
 * answer's counter anyway).
 */

static ngx_int_t
ngx_grapevine_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_grapevine_cache_zone_t  *ozone = data;

    size_t                       len;
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_cache_sh_t    *sh;
    ngx_grapevine_cache_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;

    } else {
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            zone->shpool = shpool;
            zone->sh = shpool->data;

        } else {
            sh = ngx_slab_alloc(shpool, sizeof(ngx_grapevine_cache_sh_t));
            if (sh == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(sh, sizeof(ngx_grapevine_cache_sh_t));

            ngx_rbtree_init(&sh->tree, &sh->sentinel,
                            ngx_str_rbtree_insert_value);
            ngx_queue_init(&sh->lru);

            shpool->data = sh;

            len = sizeof(" in grapevine cache zone \"\"")
                  + shm_zone->shm.name.len;

            shpool->log_ctx = ngx_slab_alloc(shpool, len);
            if (shpool->log_ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(shpool->log_ctx, " in grapevine cache zone \"%V\"%Z",
                        &shm_zone->shm.name);

            /* a full zone is the normal case: the oldest answers go */
            shpool->log_nomem = 0;

            zone->shpool = shpool;
            zone->sh = sh;
        }
    }

    zone->conf = ngx_atomic_fetch_add(&zone->sh->conf, 1) + 1;

    return NGX_OK;
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

    ngx_rbtree_init(&c->locks, &c->locks_sentinel,
                    ngx_str_rbtree_insert_value);

    gmcf = ngx_grapevine_cycle_conf(cycle);

    if (gmcf == NULL || gmcf->db == NULL || gmcf->cache_tables == NULL
        || gmcf->cache_zone == NULL)
    {
        return NGX_OK;
    }

    c->zone = gmcf->cache_zone->data;
    c->sh = c->zone->sh;

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
    /* the zone is the instance's: what this worker stored stays */

    ngx_grapevine_cache.live = 0;
}


/* the instance's figures: NGX_DECLINED when there is no cache */

ngx_int_t
ngx_grapevine_cache_figures(ngx_grapevine_cache_figures_t *f)
{
    ngx_grapevine_cache_t     *c;
    ngx_grapevine_cache_sh_t  *sh;

    c = &ngx_grapevine_cache;
    sh = c->sh;

    if (sh == NULL) {
        return NGX_DECLINED;
    }

    f->hits = sh->hits;
    f->misses = sh->misses;
    f->fills = sh->fills;
    f->waits = sh->waits;
    f->shared = sh->shared;
    f->lock_timeouts = sh->lock_timeouts;
    f->evictions = sh->evictions;
    f->refused = sh->refused;

    ngx_shmtx_lock(&c->zone->shpool->mutex);
    f->entries = sh->entries;
    f->bytes = sh->bytes;
    ngx_shmtx_unlock(&c->zone->shpool->mutex);

    f->size = c->zone->size;

    return NGX_OK;
}


/* /_status: the instance's figures, and this worker's state */

void
ngx_grapevine_cache_status(void *json, PGresult *res, void *data)
{
    ngx_grapevine_json_t           *j = json;
    ngx_grapevine_cache_t          *c;
    ngx_grapevine_cache_figures_t   f;

    c = &ngx_grapevine_cache;

    ngx_memzero(&f, sizeof(ngx_grapevine_cache_figures_t));
    (void) ngx_grapevine_cache_figures(&f);

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "listening");
    ngx_grapevine_json_bool(j,
                      ngx_grapevine_cache_ready(NGX_GRAPEVINE_CACHE_ALL));
    ngx_grapevine_json_key(j, "generation");
    ngx_grapevine_json_int(j, c->moved);
    ngx_grapevine_json_key(j, "locks");
    ngx_grapevine_json_int(j, c->nlocks);
    ngx_grapevine_json_key(j, "size");
    ngx_grapevine_json_int(j, f.size);
    ngx_grapevine_json_key(j, "entries");
    ngx_grapevine_json_int(j, f.entries);
    ngx_grapevine_json_key(j, "bytes");
    ngx_grapevine_json_int(j, f.bytes);
    ngx_grapevine_json_key(j, "hits");
    ngx_grapevine_json_int(j, f.hits);
    ngx_grapevine_json_key(j, "misses");
    ngx_grapevine_json_int(j, f.misses);
    ngx_grapevine_json_key(j, "fills");
    ngx_grapevine_json_int(j, f.fills);
    ngx_grapevine_json_key(j, "waits");
    ngx_grapevine_json_int(j, f.waits);
    ngx_grapevine_json_key(j, "shared");
    ngx_grapevine_json_int(j, f.shared);
    ngx_grapevine_json_key(j, "lock_timeouts");
    ngx_grapevine_json_int(j, f.lock_timeouts);
    ngx_grapevine_json_key(j, "evictions");
    ngx_grapevine_json_int(j, f.evictions);
    ngx_grapevine_json_key(j, "refused");
    ngx_grapevine_json_int(j, f.refused);
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
    uint64_t                   tag;
    ngx_uint_t                 i;
    ngx_grapevine_cache_t     *c;
    ngx_grapevine_cache_sh_t  *sh;

    c = &ngx_grapevine_cache;
    sh = c->sh;

    tag = sh->gen;

    for (i = 0; i < c->ntables; i++) {
        if (tables & ((ngx_grapevine_cache_tables_t) 1 << i)) {
            tag += sh->table_gen[i];
        }
    }

    return tag;
}


/*
 * A copy (in pool) of an answer still good for key, read from tables, or
 * NGX_DECLINED.  Ask after the listening connection's round trip: then
 * every change committed before the request has moved its counter.
 */

ngx_int_t
ngx_grapevine_cache_get(ngx_str_t *key, ngx_grapevine_cache_tables_t tables,
    ngx_pool_t *pool, ngx_str_t *body)
{
    u_char                      *p;
    uint32_t                     hash;
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_node_t  *node;

    c = &ngx_grapevine_cache;

    if (!ngx_grapevine_cache_ready(tables)) {
        return NGX_DECLINED;
    }

    hash = ngx_crc32_short(key->data, key->len);
    shpool = c->zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    node = ngx_grapevine_cache_lookup(key, hash);

    if (node == NULL || node->filling
        || !ngx_grapevine_cache_valid(node, ngx_grapevine_cache_tag(tables),
                                      tables))
    {
        if (node && !node->filling && node->conf == c->zone->conf) {
            ngx_grapevine_cache_remove(node);
        }

        ngx_shmtx_unlock(&shpool->mutex);

        (void) ngx_atomic_fetch_add(&c->sh->misses, 1);
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(pool, node->size ? node->size : 1);

    if (p == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(p, node->sn.str.data + node->sn.str.len, node->size);

    body->data = p;
    body->len = node->size;

    ngx_queue_remove(&node->lru);
    ngx_queue_insert_head(&c->sh->lru, &node->lru);

    ngx_shmtx_unlock(&shpool->mutex);

    (void) ngx_atomic_fetch_add(&c->sh->hits, 1);

    return NGX_OK;
}


/*
 * Stores an answer (the buffers of out, size bytes in all) read from
 * tables by a query sent when their tag was gen, unless something has
 * moved since.  Store before ngx_grapevine_cache_unlock(): the other
 * workers then find the answer where the marker was.
 */

void
ngx_grapevine_cache_put(ngx_str_t *key, uint64_t gen,
    ngx_grapevine_cache_tables_t tables, ngx_chain_t *out, size_t size)
{
    u_char                      *p;
    size_t                       len, n;
    uint32_t                     hash;
    ngx_chain_t                 *cl;
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_node_t  *node;

    c = &ngx_grapevine_cache;

    if (!ngx_grapevine_cache_ready(tables)
        || gen != ngx_grapevine_cache_tag(tables))
    {
        return;
    }

    n = 0;

    for (cl = out; cl; cl = cl->next) {
        n += cl->buf->last - cl->buf->pos;
    }

    if (n != size) {
        return;
    }

    if (size > c->zone->max_entry) {
        (void) ngx_atomic_fetch_add(&c->sh->refused, 1);
        return;
    }

    hash = ngx_crc32_short(key->data, key->len);
    len = sizeof(ngx_grapevine_cache_node_t) + key->len + size;
    shpool = c->zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    node = ngx_grapevine_cache_lookup(key, hash);
    if (node) {
        ngx_grapevine_cache_remove(node);
    }

    node = ngx_grapevine_cache_alloc(len);

    if (node == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        (void) ngx_atomic_fetch_add(&c->sh->refused, 1);
        return;
    }

    p = (u_char *) node + sizeof(ngx_grapevine_cache_node_t);

    node->sn.str.data = p;
    node->sn.str.len = key->len;
    node->sn.node.key = hash;
    p = ngx_cpymem(p, key->data, key->len);

    for (cl = out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    node->conf = c->zone->conf;
    node->gen = gen;
    node->tables = tables;
    node->stored = ngx_current_msec;
    node->expires = 0;
    node->pid = ngx_pid;
    node->size = size;
    node->filling = 0;

    ngx_rbtree_insert(&c->sh->tree, &node->sn.node);
    ngx_queue_insert_head(&c->sh->lru, &node->lru);

    c->sh->entries++;
    c->sh->bytes += len;

    ngx_shmtx_unlock(&shpool->mutex);

    (void) ngx_atomic_fetch_add(&c->sh->fills, 1);
}


/* under the mutex */

static ngx_grapevine_cache_node_t *
ngx_grapevine_cache_lookup(ngx_str_t *key, uint32_t hash)
{
    return (ngx_grapevine_cache_node_t *)
               ngx_str_rbtree_lookup(&ngx_grapevine_cache.sh->tree, key,
                                     hash);
}


/* an answer of this configuration, tag and tables, young enough */

static ngx_uint_t
ngx_grapevine_cache_valid(ngx_grapevine_cache_node_t *node, uint64_t gen,
    ngx_grapevine_cache_tables_t tables)
{
    return !node->filling
           && node->conf == ngx_grapevine_cache.zone->conf
           && node->gen == gen
           && node->tables == tables
           && ngx_current_msec - node->stored < NGX_GRAPEVINE_CACHE_TTL;
}


/*
 * Another worker's query for this tag, still under way: its holder has
 * not given up, and its process is alive (a worker killed during its
 * query leaves its marker behind).
 */

static ngx_uint_t
ngx_grapevine_cache_filling(ngx_grapevine_cache_node_t *node, uint64_t gen,
    ngx_grapevine_cache_tables_t tables)
{
    if (!node->filling
        || node->pid == ngx_pid
        || node->conf != ngx_grapevine_cache.zone->conf
        || node->gen != gen
        || node->tables != tables
        || (ngx_msec_int_t) (node->expires - ngx_current_msec) <= 0)
    {
        return 0;
    }

    if (kill(node->pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
        return 0;
    }

    return 1;
}


/* under the mutex: room for len bytes, the least recently used out first */

static ngx_grapevine_cache_node_t *
ngx_grapevine_cache_alloc(size_t len)
{
    ngx_queue_t                 *q;
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_cache_sh_t    *sh;
    ngx_grapevine_cache_node_t  *node, *old;

    sh = ngx_grapevine_cache.sh;
    shpool = ngx_grapevine_cache.zone->shpool;

    for ( ;; ) {
        node = ngx_slab_alloc_locked(shpool, len);

        if (node || ngx_queue_empty(&sh->lru)) {
            return node;
        }

        q = ngx_queue_last(&sh->lru);
        old = ngx_queue_data(q, ngx_grapevine_cache_node_t, lru);

        if (!old->filling) {
            (void) ngx_atomic_fetch_add(&sh->evictions, 1);
        }

        ngx_grapevine_cache_remove(old);
    }
}


static void
ngx_grapevine_cache_remove(ngx_grapevine_cache_node_t *node)
{
    ngx_grapevine_cache_sh_t  *sh;

    sh = ngx_grapevine_cache.sh;

    ngx_rbtree_delete(&sh->tree, &node->sn.node);
    ngx_queue_remove(&node->lru);

    sh->entries--;
    sh->bytes -= sizeof(ngx_grapevine_cache_node_t) + node->sn.str.len
                 + node->size;

    ngx_slab_free_locked(ngx_grapevine_cache.zone->shpool, node);
}


/*
 * Before a miss runs its query: NGX_OK, w holds the key (it runs the
 * query, then ngx_grapevine_cache_put() and ngx_grapevine_cache_unlock());
 * NGX_AGAIN, w waits for another's answer (w->handler is called, and w may
 * be made the holder then); NGX_DECLINED, no lock (out of memory): run the
 * query alone.  gen is the tag of tables read now, before the query is
 * sent (ngx_grapevine_cache_generation()).
 */

ngx_int_t
ngx_grapevine_cache_lock(ngx_str_t *key, ngx_grapevine_cache_tables_t tables,
    uint64_t gen, ngx_msec_t timeout, ngx_grapevine_cache_wait_t *w)
{
    uint32_t                     hash;
    ngx_str_node_t              *sn;
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_lock_t  *lock;
    ngx_grapevine_cache_node_t  *node;

    c = &ngx_grapevine_cache;

    w->lock = NULL;
    w->holder = 0;

    ngx_memzero(&w->timer, sizeof(ngx_event_t));
    w->timer.data = w;
    w->timer.log = ngx_cycle->log;

    hash = ngx_crc32_short(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&c->locks, key, hash);

    if (sn) {
        lock = (ngx_grapevine_cache_lock_t *) sn;

        if (lock->gen == gen && lock->tables == tables) {
            ngx_queue_insert_tail(&lock->waiters, &w->queue);
            w->lock = lock;

            w->timer.handler = ngx_grapevine_cache_lock_timeout;
            ngx_add_timer(&w->timer, timeout);

            (void) ngx_atomic_fetch_add(&c->sh->waits, 1);

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
    lock->remote = 0;
    lock->timeout = timeout;
    lock->deadline = ngx_current_msec + timeout;
    ngx_queue_init(&lock->waiters);

    ngx_rbtree_insert(&c->locks, &lock->sn.node);
    lock->in_tree = 1;
    c->nlocks++;

    w->lock = lock;
    w->holder = 1;

    /* another worker's query for the key and tag: wait for it */

    shpool = c->zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    node = ngx_grapevine_cache_lookup(key, hash);

    if (node
        && (ngx_grapevine_cache_filling(node, gen, tables)
            || ngx_grapevine_cache_valid(node, gen, tables)))
    {
        ngx_shmtx_unlock(&shpool->mutex);

        lock->remote = 1;

        w->timer.handler = ngx_grapevine_cache_poll;
        ngx_add_timer(&w->timer, NGX_GRAPEVINE_CACHE_POLL);

        (void) ngx_atomic_fetch_add(&c->sh->waits, 1);

        return NGX_AGAIN;
    }

    ngx_grapevine_cache_mark(lock, timeout);

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


/*
 * Under the mutex: the key's marker, for this worker's query (no room for
 * one: the others run their own queries, nothing worse).
 */

static void
ngx_grapevine_cache_mark(ngx_grapevine_cache_lock_t *lock, ngx_msec_t timeout)
{
    size_t                       len;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_node_t  *node;

    c = &ngx_grapevine_cache;

    node = ngx_grapevine_cache_lookup(&lock->sn.str, lock->sn.node.key);
    if (node) {
        ngx_grapevine_cache_remove(node);
    }

    len = sizeof(ngx_grapevine_cache_node_t) + lock->sn.str.len;

    node = ngx_grapevine_cache_alloc(len);
    if (node == NULL) {
        return;
    }

    node->sn.str.data = (u_char *) node + sizeof(ngx_grapevine_cache_node_t);
    node->sn.str.len = lock->sn.str.len;
    node->sn.node.key = lock->sn.node.key;
    ngx_memcpy(node->sn.str.data, lock->sn.str.data, lock->sn.str.len);

    node->conf = c->zone->conf;
    node->gen = lock->gen;
    node->tables = lock->tables;
    node->stored = ngx_current_msec;
    node->expires = ngx_current_msec + timeout;
    node->pid = ngx_pid;
    node->size = 0;
    node->filling = 1;

    ngx_rbtree_insert(&c->sh->tree, &node->sn.node);
    ngx_queue_insert_head(&c->sh->lru, &node->lru);

    c->sh->entries++;
    c->sh->bytes += len;
}


/* the marker of this worker's query, if it is still there */

static void
ngx_grapevine_cache_unmark(ngx_grapevine_cache_lock_t *lock)
{
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_cache_node_t  *node;

    shpool = ngx_grapevine_cache.zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    node = ngx_grapevine_cache_lookup(&lock->sn.str, lock->sn.node.key);

    if (node && node->filling && node->pid == ngx_pid
        && node->gen == lock->gen)
    {
        ngx_grapevine_cache_remove(node);
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


/*
 * A remote waiter (the holder in its worker of a key another worker
 * queries) looks: the answer is there (for it and the waiters behind it);
 * or the query is still under way; or it runs the query itself: the other
 * gave up (an error, a 404, its client went away), its worker is gone, or
 * this one waited long enough.
 */

static void
ngx_grapevine_cache_poll(ngx_event_t *ev)
{
    u_char                      *body;
    size_t                       size;
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_lock_t  *lock;
    ngx_grapevine_cache_node_t  *node;
    ngx_grapevine_cache_wait_t  *w;

    w = ev->data;
    lock = w->lock;

    if (lock == NULL || !lock->remote) {
        return;
    }

    c = &ngx_grapevine_cache;
    shpool = c->zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    node = ngx_grapevine_cache_lookup(&lock->sn.str, lock->sn.node.key);

    if (node && ngx_grapevine_cache_valid(node, lock->gen, lock->tables)) {
        size = node->size;

        body = ngx_alloc(size ? size : 1, ev->log);

        if (body) {
            ngx_memcpy(body, node->sn.str.data + node->sn.str.len, size);

            ngx_queue_remove(&node->lru);
            ngx_queue_insert_head(&c->sh->lru, &node->lru);

            ngx_shmtx_unlock(&shpool->mutex);

            ngx_grapevine_cache_deliver(w, body, size);

            ngx_free(body);
            return;
        }
    }

    if (node && ngx_grapevine_cache_filling(node, lock->gen, lock->tables)
        && (ngx_msec_int_t) (lock->deadline - ngx_current_msec) > 0)
    {
        ngx_shmtx_unlock(&shpool->mutex);

        ngx_add_timer(&w->timer, NGX_GRAPEVINE_CACHE_POLL);
        return;
    }

    if ((ngx_msec_int_t) (lock->deadline - ngx_current_msec) <= 0) {
        (void) ngx_atomic_fetch_add(&c->sh->lock_timeouts, 1);
    }

    lock->remote = 0;

    ngx_grapevine_cache_mark(lock, lock->timeout);

    ngx_shmtx_unlock(&shpool->mutex);

    w->handler(w, NULL, 0);
}


/* another worker's answer: to the remote waiter w and those behind it */

static void
ngx_grapevine_cache_deliver(ngx_grapevine_cache_wait_t *w, u_char *body,
    size_t size)
{
    ngx_buf_t                    b;
    ngx_chain_t                  cl;
    ngx_grapevine_cache_t       *c;
    ngx_grapevine_cache_lock_t  *lock;

    c = &ngx_grapevine_cache;

    ngx_memzero(&b, sizeof(ngx_buf_t));

    b.pos = body;
    b.last = body + size;
    cl.buf = &b;
    cl.next = NULL;

    lock = w->lock;

    /* the waiters first: unlock hands them the answer and frees the lock */

    w->holder = 0;
    w->lock = NULL;
    lock->holder = NULL;

    (void) ngx_atomic_fetch_add(&c->sh->shared, 1);

    if (ngx_queue_empty(&lock->waiters)) {
        ngx_grapevine_cache_lock_free(lock);

    } else {
        lock->holder = w;
        w->lock = lock;
        w->holder = 1;

        ngx_grapevine_cache_unlock(w, &cl, size);
    }

    w->handler(w, &cl, size);
}


/*
 * The holder's query is done: its answer (out, size bytes; stored first
 * with ngx_grapevine_cache_put()) goes to every waiter of this worker;
 * without one (an error, a 404), each waiter runs its own query.  The
 * marker goes: other workers' waiters find the answer, or ask themselves.
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

    if (!lock->remote) {
        ngx_grapevine_cache_unmark(lock);
    }

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    w->lock = NULL;
    w->holder = 0;
    lock->holder = NULL;
    lock->remote = 0;

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
            (void) ngx_atomic_fetch_add(&c->sh->shared, 1);
        }

        waiter->handler(waiter, out, size);
    }

    ngx_grapevine_cache_lock_free(lock);
}


/*
 * A holder or a waiter that goes away (its request is finalized).  A
 * holder's query is given up with it: the first waiter takes the key and
 * runs the query for the others (or, when the query is another worker's,
 * goes on waiting for it).
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

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }

    if (!w->holder) {
        ngx_queue_remove(&w->queue);
        return;
    }

    w->holder = 0;
    lock->holder = NULL;

    if (ngx_queue_empty(&lock->waiters)) {
        if (!lock->remote) {
            ngx_grapevine_cache_unmark(lock);
        }

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

    if (lock->remote) {
        next->timer.handler = ngx_grapevine_cache_poll;
        ngx_add_timer(&next->timer, NGX_GRAPEVINE_CACHE_POLL);
        return;
    }

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

    (void) ngx_atomic_fetch_add(&ngx_grapevine_cache.sh->lock_timeouts, 1);

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
            (void) ngx_atomic_fetch_add(&c->sh->table_gen[i], 1);
            return;
        }
    }

    /* an older trigger's, or a table this build does not know: all */

    (void) ngx_atomic_fetch_add(&c->sh->gen, 1);
    c->moved++;
}


/*
 * l's channel is listened to, or no longer.  Either way every answer
 * stored so far may have missed a change: when no worker listened, no
 * one heard it.
 */

static void
ngx_grapevine_cache_state(ngx_grapevine_listen_t *l, ngx_uint_t listening)
{
    ngx_uint_t                    i;
    ngx_grapevine_cache_t        *c;
    ngx_grapevine_cache_tables_t  bits;

    c = &ngx_grapevine_cache;

    if (c->sh == NULL) {
        return;
    }

    bits = 0;

    for (i = 0; i < c->ntables; i++) {
        if (c->tables[i].listen == l) {
            bits |= (ngx_grapevine_cache_tables_t) 1 << i;
        }
    }

    (void) ngx_atomic_fetch_add(&c->sh->gen, 1);
    c->moved++;

    if (listening) {
        c->live |= bits;

    } else {
        c->live &= ~bits;
    }
}
