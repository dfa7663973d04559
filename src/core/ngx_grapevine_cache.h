
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_CACHE_H_INCLUDED_
#define _NGX_GRAPEVINE_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"


/*
 * The answer cache: one zone of shared memory for the instance
 * (grapevine_cache_zone) keeps answers (a key, a body, the tables it was
 * read from) for as long as nothing they were read from has changed, and
 * never serves one older than the database.  Every worker reads and fills
 * the same answers: an answer is made once for the instance.
 *
 * A module registers, while the configuration is read, the tables its
 * answers are read from and the channel on which their changes are
 * announced (ngx_grapevine_add_cache_tables()): every write to such a
 * table must send NOTIFY on that channel with the table's name (a
 * statement-level trigger).  The cache listens on those channels with each
 * worker's listening connection (ngx_grapevine_listen.h).  Each table has
 * a change counter in the zone that every worker moves for every
 * notification it hears; an answer is stored with the sum of its tables'
 * counters read before its query was sent, and is good only while that
 * sum has not moved.  A notification that names no registered table, and
 * a worker that starts to listen (the instance may have heard nothing for
 * a while), move a counter every answer depends on; while a worker's
 * channel is not listened to, that worker uses no cache.
 *
 * A change reaches each worker a moment after its commit: before it asks
 * the cache, a request waits for its worker's listening connection's round
 * trip (ngx_grapevine_listen_wait()), after which that worker has moved
 * the counters of every change committed before the request.  Queries may
 * also read the clock, which no trigger sees: an answer is used for one
 * second at most.
 *
 * The zone holds what fits, the least recently used answer going first
 * when a new one needs room; an answer larger than max_entry is not kept.
 * The zone's mutex (the slab pool's, which nginx frees if its holder dies)
 * is held only while memory is searched or copied, never across I/O.
 */


#define NGX_GRAPEVINE_CACHE_SIZE      (32 * 1024 * 1024)
#define NGX_GRAPEVINE_CACHE_MAX_ENTRY (512 * 1024)
#define NGX_GRAPEVINE_CACHE_TTL       1000          /* ms */
#define NGX_GRAPEVINE_CACHE_POLL      5             /* ms, another worker's
                                                       query */

#define NGX_GRAPEVINE_CACHE_TABLES    64


/* the tables an answer was read from: a bit per registered table */
typedef uint64_t  ngx_grapevine_cache_tables_t;


/*
 * The lock (as proxy_cache_lock): concurrent misses for one key in the
 * instance share one query.  The first to miss holds the lock and runs its
 * query; the others wait for its answer, each at most the timeout its
 * caller gives.  In the worker of the holder they are given the answer
 * when it comes; a request of another worker (the first of its worker to
 * miss, the others wait for it) looks at the zone every few milliseconds
 * until the answer is there, the holder has given up, or the holder's
 * process is gone.
 *
 * A request may join only while the tag of the key's tables is the one
 * read before the holder's query was sent: then nothing it reads has
 * changed since that query's snapshot could have missed it, and the answer
 * is as fresh as one of its own (a request arriving after a change gets a
 * query of its own, and holds the key from then on).
 *
 * handler(w, out, size) is called once: with the holder's answer (out, a
 * chain of size bytes, to copy at once), or with out NULL when the waiter
 * must run its own query: it waited past its timeout, or the holder's
 * query ended without an answer to share.  When a holder goes away before
 * its query is done, the first waiter is made the holder (w->holder) and
 * runs the query for the others.
 */

typedef struct ngx_grapevine_cache_lock_s  ngx_grapevine_cache_lock_t;
typedef struct ngx_grapevine_cache_wait_s  ngx_grapevine_cache_wait_t;

typedef void (*ngx_grapevine_cache_wait_pt)(ngx_grapevine_cache_wait_t *w,
    ngx_chain_t *out, size_t size);

struct ngx_grapevine_cache_wait_s {
    ngx_grapevine_cache_wait_pt    handler;
    void                          *data;

    /* private */
    ngx_grapevine_cache_lock_t    *lock;     /* NULL: neither holds nor
                                                waits */
    ngx_queue_t                    queue;
    ngx_event_t                    timer;    /* a waiter's timeout, a
                                                remote waiter's poll */
    unsigned                       holder:1;
};

#define NGX_GRAPEVINE_CACHE_ALL       ((ngx_grapevine_cache_tables_t) -1)


/* registration, while the configuration is read */

ngx_int_t ngx_grapevine_add_cache_tables(ngx_conf_t *cf, const char *channel,
    const char **names);
ngx_grapevine_cache_tables_t ngx_grapevine_cache_tables(ngx_conf_t *cf,
    const char *sql);
char *ngx_grapevine_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the instance's figures (for metrics), and /_status's writer of them */

typedef struct {
    ngx_uint_t                     hits;
    ngx_uint_t                     misses;
    ngx_uint_t                     fills;     /* answers stored */
    ngx_uint_t                     waits;     /* misses that waited for
                                                 another's query */
    ngx_uint_t                     shared;    /* ... and got its answer */
    ngx_uint_t                     lock_timeouts;
    ngx_uint_t                     evictions; /* to make room */
    ngx_uint_t                     refused;   /* larger than max_entry, or
                                                 no room at all */
    ngx_uint_t                     entries;
    size_t                         bytes;     /* of answers and keys */
    size_t                         size;      /* of the zone */
} ngx_grapevine_cache_figures_t;

ngx_int_t ngx_grapevine_cache_figures(ngx_grapevine_cache_figures_t *f);
void ngx_grapevine_cache_status(void *json, PGresult *res, void *data);

/*
 * Its metrics (ngx_grapevine_cache_metrics.c): the zone's own figures,
 * read when the metrics are collected.
 */

ngx_int_t ngx_grapevine_cache_metrics_register(ngx_conf_t *cf);

/* core's process hooks */

ngx_int_t ngx_grapevine_cache_init(ngx_cycle_t *cycle);
void ngx_grapevine_cache_exit(ngx_cycle_t *cycle);

/* in a worker */

ngx_uint_t ngx_grapevine_cache_ready(ngx_grapevine_cache_tables_t tables);
ngx_int_t ngx_grapevine_cache_generation(ngx_grapevine_cache_tables_t tables,
    uint64_t *gen);
ngx_int_t ngx_grapevine_cache_get(ngx_str_t *key,
    ngx_grapevine_cache_tables_t tables, ngx_pool_t *pool, ngx_str_t *body);
void ngx_grapevine_cache_put(ngx_str_t *key, uint64_t gen,
    ngx_grapevine_cache_tables_t tables, ngx_chain_t *out, size_t size);

ngx_int_t ngx_grapevine_cache_lock(ngx_str_t *key,
    ngx_grapevine_cache_tables_t tables, uint64_t gen, ngx_msec_t timeout,
    ngx_grapevine_cache_wait_t *w);
void ngx_grapevine_cache_unlock(ngx_grapevine_cache_wait_t *w,
    ngx_chain_t *out, size_t size);
void ngx_grapevine_cache_lock_cancel(ngx_grapevine_cache_wait_t *w);


#endif /* _NGX_GRAPEVINE_CACHE_H_INCLUDED_ */
