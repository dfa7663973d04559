
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_METRICS_H_INCLUDED_
#define _NGX_GRAPEVINE_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"


/*
 * The instance's figures: counters, gauges and histograms in a shared
 * memory zone of core ("grapevine_metrics"), so that any worker answers
 * for all of them (grapevine_metrics, in Prometheus's text format, and
 * the "instance" member of /_status).  Each part registers its own
 * metrics while the configuration is read (its postconfiguration, or the
 * directive that uses them); core includes no header of theirs.
 *
 * Counters and histograms are updated with atomic additions, without a
 * lock, as stub_status's.  A gauge is either the instance's (set by the
 * one process that knows it, such as the hub link's owner), or each
 * worker's own (NGX_GRAPEVINE_METRIC_WORKER_GAUGE: a worker sets its own
 * row, and the rows are summed): those are set by a collector, called in
 * every worker once a second and, in the worker that answers, before an
 * answer.
 *
 * The zone is reused by a reload when its size and its layout (the
 * metrics registered) are unchanged, so counters go on across reloads
 * and across a worker killed with -9.  Its size depends on the metrics
 * registered alone, never on traffic.
 *
 * A metric is a static structure of its part: core sets its slots in each
 * worker (NULL before, and when the zone is off), so updating one that
 * this configuration did not register does nothing.
 */


#define NGX_GRAPEVINE_METRICS_WORKERS  64     /* rows of worker gauges */


typedef struct ngx_grapevine_metric_s  ngx_grapevine_metric_t;

typedef void (*ngx_grapevine_metric_collect_pt)(ngx_grapevine_metric_t *m);


typedef enum {
    NGX_GRAPEVINE_METRIC_COUNTER = 0,
    NGX_GRAPEVINE_METRIC_GAUGE,
    NGX_GRAPEVINE_METRIC_WORKER_GAUGE,
    NGX_GRAPEVINE_METRIC_HISTOGRAM
} ngx_grapevine_metric_type_e;


struct ngx_grapevine_metric_s {
    const char                       *name;     /* after "grapevine_" */
    const char                       *help;
    ngx_grapevine_metric_type_e       type;
    const char                       *clabel;   /* a constant label: */
    const char                       *cvalue;   /* part="api" */
    const char                       *label;    /* the varying label */
    const char *const                *values;   /* its values, NULL-ended */
    const ngx_msec_t                 *buckets;  /* histogram: bounds in ms,
                                                   ascending, 0-ended */
    ngx_grapevine_metric_collect_pt   collect;  /* worker gauges */
    void                             *data;

    /* set by core */
    ngx_uint_t                        nvalues;  /* series; buckets + 1 */
    ngx_uint_t                        nslots;
    ngx_uint_t                        offset;   /* in the zone */
    ngx_atomic_t                     *slots;    /* in a worker: its own */
};


/* histogram slots: a count per bucket (the last is +Inf), then sum, count */

#define ngx_grapevine_metric_sum(m)    ((m)->nvalues)
#define ngx_grapevine_metric_count(m)  ((m)->nvalues + 1)


/* registration, while the configuration is read */

ngx_int_t ngx_grapevine_metric_register(ngx_conf_t *cf,
    ngx_grapevine_metric_t *m);
ngx_uint_t ngx_grapevine_metrics_on(ngx_conf_t *cf);

/* a part counts its requests: registers m, adds a log phase handler */

ngx_int_t ngx_grapevine_metrics_requests(ngx_conf_t *cf,
    ngx_grapevine_metric_t *m, ngx_http_handler_pt log_handler);
void ngx_grapevine_metric_request(ngx_grapevine_metric_t *m,
    ngx_http_request_t *r);

extern const char *const  ngx_grapevine_metric_status_classes[];
extern const ngx_msec_t   ngx_grapevine_metric_buckets[];

/* core's hooks */

ngx_int_t ngx_grapevine_metrics_init(ngx_cycle_t *cycle);
void ngx_grapevine_metrics_exit(ngx_cycle_t *cycle);
void ngx_grapevine_metrics_collect(ngx_cycle_t *cycle);
void ngx_grapevine_metrics_json(void *json, ngx_cycle_t *cycle);
char *ngx_grapevine_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


/* in a worker */

static ngx_inline void
ngx_grapevine_metric_add(ngx_grapevine_metric_t *m, ngx_uint_t i,
    ngx_atomic_int_t n)
{
    if (m->slots && i < m->nvalues) {
        (void) ngx_atomic_fetch_add(&m->slots[i], n);
    }
}


#define ngx_grapevine_metric_inc(m, i)  ngx_grapevine_metric_add(m, i, 1)


/* a gauge: the instance's, or this worker's own */

static ngx_inline void
ngx_grapevine_metric_set(ngx_grapevine_metric_t *m, ngx_uint_t i,
    ngx_atomic_uint_t v)
{
    if (m->slots && i < m->nvalues) {
        m->slots[i] = v;
    }
}


/* a histogram: one observation, in milliseconds */

static ngx_inline void
ngx_grapevine_metric_observe(ngx_grapevine_metric_t *m, ngx_msec_t ms)
{
    ngx_uint_t  i;

    if (m->slots == NULL) {
        return;
    }

    for (i = 0; m->buckets[i] && ms > m->buckets[i]; i++) {
        /* void */
    }

    (void) ngx_atomic_fetch_add(&m->slots[i], 1);
    (void) ngx_atomic_fetch_add(&m->slots[ngx_grapevine_metric_sum(m)], ms);
    (void) ngx_atomic_fetch_add(&m->slots[ngx_grapevine_metric_count(m)], 1);
}


/* the index of name among m->values, or the last one ("other") */

ngx_uint_t ngx_grapevine_metric_value(ngx_grapevine_metric_t *m,
    u_char *name, size_t len);


#endif /* _NGX_GRAPEVINE_METRICS_H_INCLUDED_ */
