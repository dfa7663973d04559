
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
 * The answer cache: each worker keeps answers (a key, a body, the tables
 * it was read from) for as long as nothing they were read from has
 * changed, and never serves one older than the database.
 *
 * A module registers, while the configuration is read, the tables its
 * answers are read from and the channel on which their changes are
 * announced (ngx_grapevine_add_cache_tables()): every write to such a
 * table must send NOTIFY on that channel with the table's name (a
 * statement-level trigger).  The cache listens on those channels with the
 * worker's listening connection (ngx_grapevine_listen.h).  Each table has
 * a generation that its notifications move; an answer is stored with the
 * generations of its tables read before its query was sent, and is good
 * only while none of them has moved.  A notification that names no
 * registered table, and the loss of the listening connection, make every
 * answer useless; while a channel is not listened to, there is no cache.
 *
 * A change reaches the worker a moment after its commit: before it asks
 * the cache, a request waits for the listening connection's round trip
 * (ngx_grapevine_listen_wait()).  Queries may also read the clock, which
 * no trigger sees: an answer is used for one second at most.
 *
 * Each worker keeps at most 1,024 answers and 32 MB, the least recently
 * used going first; an answer over 512 KB is not kept.  The locks (below)
 * are one a key being queried: at most one a request under way.
 */


#define NGX_GRAPEVINE_CACHE_ENTRIES   1024
#define NGX_GRAPEVINE_CACHE_BYTES     (32 * 1024 * 1024)
#define NGX_GRAPEVINE_CACHE_BODY      (512 * 1024)
#define NGX_GRAPEVINE_CACHE_TTL       1000          /* ms */

#define NGX_GRAPEVINE_CACHE_TABLES    64


/* the tables an answer was read from: a bit per registered table */
typedef uint64_t  ngx_grapevine_cache_tables_t;


/*
 * The lock (as proxy_cache_lock): concurrent misses for one key share one
 * query.  The first to miss holds the lock and runs its query; the others
 * wait for its answer, each at most the timeout its caller gives.
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
    ngx_event_t                    timer;
    unsigned                       holder:1;
};

#define NGX_GRAPEVINE_CACHE_ALL       ((ngx_grapevine_cache_tables_t) -1)


/* registration, while the configuration is read */

ngx_int_t ngx_grapevine_add_cache_tables(ngx_conf_t *cf, const char *channel,
    const char **names);
ngx_grapevine_cache_tables_t ngx_grapevine_cache_tables(ngx_conf_t *cf,
    const char *sql);

/* a writer of /_status (ngx_grapevine_status_reporter_t): the figures */

void ngx_grapevine_cache_status(void *json, PGresult *res, void *data);

/*
 * Its metrics (ngx_grapevine_cache_metrics.c): what the cache counts, and
 * what it holds now, for the collector.
 */

typedef enum {
    NGX_GRAPEVINE_CACHE_HIT = 0,
    NGX_GRAPEVINE_CACHE_MISS,
    NGX_GRAPEVINE_CACHE_EVICTION
} ngx_grapevine_cache_event_e;

ngx_int_t ngx_grapevine_cache_metrics_register(ngx_conf_t *cf);
void ngx_grapevine_cache_counted(ngx_grapevine_cache_event_e event);
void ngx_grapevine_cache_usage(ngx_uint_t *entries, size_t *bytes);

/* core's process hooks */

ngx_int_t ngx_grapevine_cache_init(ngx_cycle_t *cycle);
void ngx_grapevine_cache_exit(ngx_cycle_t *cycle);

/* in a worker */

ngx_uint_t ngx_grapevine_cache_ready(ngx_grapevine_cache_tables_t tables);
ngx_int_t ngx_grapevine_cache_generation(ngx_grapevine_cache_tables_t tables,
    uint64_t *gen);
ngx_int_t ngx_grapevine_cache_get(ngx_str_t *key, ngx_str_t *body);
void ngx_grapevine_cache_put(ngx_str_t *key, uint64_t gen,
    ngx_grapevine_cache_tables_t tables, ngx_chain_t *out, size_t size);

ngx_int_t ngx_grapevine_cache_lock(ngx_str_t *key,
    ngx_grapevine_cache_tables_t tables, uint64_t gen, ngx_msec_t timeout,
    ngx_grapevine_cache_wait_t *w);
void ngx_grapevine_cache_unlock(ngx_grapevine_cache_wait_t *w,
    ngx_chain_t *out, size_t size);
void ngx_grapevine_cache_lock_cancel(ngx_grapevine_cache_wait_t *w);


#endif /* _NGX_GRAPEVINE_CACHE_H_INCLUDED_ */
