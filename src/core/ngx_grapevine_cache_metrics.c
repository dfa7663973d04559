
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
 * The answer cache's metrics, apart from the cache itself: the cache calls
 * ngx_grapevine_cache_counted() when it hits, misses or evicts, and the
 * collector reads its size (ngx_grapevine_cache_usage()) in each worker.
 * A cache that replaces this one keeps the three calls and the two
 * figures; where it keeps them (a worker's memory, a shared zone) is its
 * own business: a shared cache gives its figures from one worker only
 * (its collector sets worker 0's row, the others 0).
 */


static void ngx_grapevine_cache_collect(ngx_grapevine_metric_t *m);


static ngx_grapevine_metric_t  ngx_grapevine_cache_events[] = {

    { "cache_hits_total",
      "Answers taken from the answer cache.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "cache_misses_total",
      "Answers the answer cache did not hold, or held no longer fresh.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "cache_evictions_total",
      "Answers dropped from the answer cache to make room.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "cache_bytes",
      "Memory held by the answer cache.",
      NGX_GRAPEVINE_METRIC_WORKER_GAUGE, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL },

    { "cache_entries",
      "Answers held by the answer cache.",
      NGX_GRAPEVINE_METRIC_WORKER_GAUGE, NULL, NULL, NULL, NULL,
      NULL, ngx_grapevine_cache_collect, NULL, 0, 0, 0, NULL }
};


/* in core's postconfiguration: only when a module registered tables */

ngx_int_t
ngx_grapevine_cache_metrics_register(ngx_conf_t *cf)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_grapevine_cache_events)
                    / sizeof(ngx_grapevine_metric_t); i++)
    {
        if (ngx_grapevine_metric_register(cf, &ngx_grapevine_cache_events[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_grapevine_cache_counted(ngx_grapevine_cache_event_e event)
{
    ngx_grapevine_metric_inc(&ngx_grapevine_cache_events[event], 0);
}


static void
ngx_grapevine_cache_collect(ngx_grapevine_metric_t *m)
{
    size_t      bytes;
    ngx_uint_t  entries;

    ngx_grapevine_cache_usage(&entries, &bytes);

    ngx_grapevine_metric_set(m, 0, m == &ngx_grapevine_cache_events[3]
                                   ? bytes : entries);
}
