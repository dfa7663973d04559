
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_cache.h"
#include "ngx_grapevine_metrics.h"


/*
 * The answer cache's metrics, apart from the cache itself.  The cache is
 * the instance's zone and counts in it (ngx_grapevine_cache_figures()):
 * the collector copies those figures into the metrics, so they are the
 * instance's whichever worker collects them, never a sum over workers.
 * The cache zone, like the metrics zone, outlives a reload and a worker
 * killed with -9, so its counters only grow while the zone lives.
 */


static void ngx_grapevine_cache_collect(ngx_grapevine_metric_t *m);


enum {
    NGX_GRAPEVINE_CACHE_M_HITS = 0,
    NGX_GRAPEVINE_CACHE_M_MISSES,
    NGX_GRAPEVINE_CACHE_M_FILLS,
    NGX_GRAPEVINE_CACHE_M_WAITS,
    NGX_GRAPEVINE_CACHE_M_EVICTIONS,
    NGX_GRAPEVINE_CACHE_M_BYTES,
    NGX_GRAPEVINE_CACHE_M_ENTRIES,
    NGX_GRAPEVINE_CACHE_M_SIZE
};


static ngx_grapevine_metric_t  ngx_grapevine_cache_metrics[] = {

    { "cache_hits_total",
      "Answers taken from the answer cache.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_misses_total",
      "Answers the answer cache did not hold, or held no longer fresh.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_fills_total",
      "Answers stored in the answer cache.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_waits_total",
      "Requests that waited for another request's query of the same key.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_evictions_total",
      "Answers dropped from the answer cache to make room.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_bytes",
      "Memory held by the answers and keys in the answer cache.",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_entries",
      "Answers held by the answer cache.",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_size_bytes",
      "The size of the answer cache's zone (grapevine_cache_zone).",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL }
};


/* when a module registers the cache's first tables */

ngx_int_t
ngx_grapevine_cache_metrics_register(ngx_conf_t *cf)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_grapevine_cache_metrics)
                    / sizeof(ngx_grapevine_metric_t); i++)
    {
        if (ngx_grapevine_metric_register(cf, &ngx_grapevine_cache_metrics[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Called for each of the metrics above, in their order: the first reads
 * the zone's figures (its mutex taken once), the others use that copy.
 */

static void
ngx_grapevine_cache_collect(ngx_grapevine_metric_t *m)
{
    ngx_atomic_uint_t                      v;
    static ngx_uint_t                      valid;
    static ngx_grapevine_cache_figures_t   f;

    if (m == &ngx_grapevine_cache_metrics[NGX_GRAPEVINE_CACHE_M_HITS]) {
        valid = (ngx_grapevine_cache_figures(&f) == NGX_OK);
    }

    if (!valid) {
        return;
    }

    switch (m - ngx_grapevine_cache_metrics) {

    case NGX_GRAPEVINE_CACHE_M_HITS:
        v = f.hits;
        break;

    case NGX_GRAPEVINE_CACHE_M_MISSES:
        v = f.misses;
        break;

    case NGX_GRAPEVINE_CACHE_M_FILLS:
        v = f.fills;
        break;

    case NGX_GRAPEVINE_CACHE_M_WAITS:
        v = f.waits;
        break;

    case NGX_GRAPEVINE_CACHE_M_EVICTIONS:
        v = f.evictions;
        break;

    case NGX_GRAPEVINE_CACHE_M_BYTES:
        v = f.bytes;
        break;

    case NGX_GRAPEVINE_CACHE_M_ENTRIES:
        v = f.entries;
        break;

    default: /* NGX_GRAPEVINE_CACHE_M_SIZE */
        v = f.size;
        break;
    }

    ngx_grapevine_metric_set(m, 0, v);
}
