
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_json.h"
#include "ngx_grapevine_metrics.h"


/*
 * The metrics zone (see ngx_grapevine_metrics.h).  Its memory: a header
 * and one ngx_atomic_t a slot, allocated once from the zone's slab pool
 * by the master; the layout (which metric has which slots) is the
 * configuration's, kept in the main conf, and applied to the metrics'
 * structures in each worker.
 */


#define NGX_GRAPEVINE_METRICS_KNOWN    128    /* metrics in the code */
#define NGX_GRAPEVINE_METRICS_NAME     100
#define NGX_GRAPEVINE_METRICS_LINE     512    /* a line of the answer */
#define NGX_GRAPEVINE_METRICS_COLLECT  1000   /* ms */


typedef struct {
    uint32_t                   signature;   /* of the layout */
    ngx_uint_t                 nslots;
    ngx_atomic_t               slots[1];
} ngx_grapevine_metrics_sh_t;


typedef struct {
    ngx_grapevine_metric_t    *metric;
    ngx_uint_t                 offset;
} ngx_grapevine_metrics_entry_t;


static ngx_int_t ngx_grapevine_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static size_t ngx_grapevine_metrics_bytes(ngx_uint_t nslots);
static void ngx_grapevine_metrics_timer(ngx_event_t *ev);
static ngx_int_t ngx_grapevine_metrics_handler(ngx_http_request_t *r);
static ngx_atomic_uint_t ngx_grapevine_metrics_read(
    ngx_grapevine_metrics_sh_t *sh, ngx_grapevine_metrics_entry_t *e,
    ngx_uint_t i);
static u_char *ngx_grapevine_metrics_series(u_char *p, u_char *last,
    ngx_grapevine_metric_t *m, const char *suffix, const char *label,
    const char *value, size_t value_len);
static u_char *ngx_grapevine_metrics_text(u_char *p, u_char *last,
    ngx_grapevine_metrics_sh_t *sh, ngx_grapevine_metrics_entry_t *e);


const char *const  ngx_grapevine_metric_status_classes[] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", NULL
};

/* the buckets of the durations, in ms (0.001 s to 10 s) */

const ngx_msec_t  ngx_grapevine_metric_buckets[] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 0
};


/*
 * Every metric registered in this process, whichever configuration did:
 * a worker clears the slots of those its own configuration did not.
 */
static ngx_grapevine_metric_t  *ngx_grapevine_metrics_known[
                                                NGX_GRAPEVINE_METRICS_KNOWN];
static ngx_uint_t               ngx_grapevine_metrics_nknown;

static ngx_event_t              ngx_grapevine_metrics_ev;

static ngx_str_t  ngx_grapevine_metrics_zone_name =
    ngx_string("grapevine_metrics");


ngx_uint_t
ngx_grapevine_metrics_on(ngx_conf_t *cf)
{
    return ngx_grapevine_conf(cf)->metrics_zone != 0;
}


/*
 * A metric of a part, registered while the configuration is read.  Two
 * metrics may share a name (a family: the site's requests and the API's,
 * told apart by a constant label) when their type and help are the same.
 */

ngx_int_t
ngx_grapevine_metric_register(ngx_conf_t *cf, ngx_grapevine_metric_t *m)
{
    u_char                         *p;
    uint32_t                        crc;
    ngx_uint_t                      i, n;
    const char *const              *v;
    ngx_shm_zone_t                 *shm_zone;
    ngx_grapevine_metric_t         *o;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_metrics_entry_t  *e;

    gmcf = ngx_grapevine_conf(cf);

    if (gmcf->metrics_zone == 0) {
        return NGX_OK;
    }

    if (gmcf->metrics == NULL) {
        gmcf->metrics = ngx_array_create(cf->pool, 32,
                                      sizeof(ngx_grapevine_metrics_entry_t));
        if (gmcf->metrics == NULL) {
            return NGX_ERROR;
        }

        shm_zone = ngx_shared_memory_add(cf, &ngx_grapevine_metrics_zone_name,
                                         0, &ngx_http_grapevine_module);
        if (shm_zone == NULL) {
            return NGX_ERROR;
        }

        shm_zone->init = ngx_grapevine_metrics_init_zone;
        shm_zone->data = gmcf;

        gmcf->metrics_shm = shm_zone;
        gmcf->metrics_signature = 0;
    }

    e = gmcf->metrics->elts;

    for (i = 0; i < gmcf->metrics->nelts; i++) {
        o = e[i].metric;

        if (o == m) {
            return NGX_OK;
        }

        if (ngx_strcmp(o->name, m->name) == 0
            && (o->type != m->type || ngx_strcmp(o->help, m->help) != 0))
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "grapevine: two metrics \"grapevine_%s\" of "
                          "different types or help", m->name);
            return NGX_ERROR;
        }
    }

    if (ngx_strlen(m->name) > NGX_GRAPEVINE_METRICS_NAME) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "grapevine: the metric name \"%s\" is too long",
                      m->name);
        return NGX_ERROR;
    }

    for (p = (u_char *) m->name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_'))
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "grapevine: invalid metric name \"%s\"", m->name);
            return NGX_ERROR;
        }
    }

    /* its series */

    if (m->type == NGX_GRAPEVINE_METRIC_HISTOGRAM) {
        for (n = 0; m->buckets[n]; n++) { /* void */ }

        m->nvalues = n + 1;
        m->nslots = m->nvalues + 2;

    } else {
        n = 0;

        if (m->values) {
            for (v = m->values; *v; v++) {
                n++;
            }
        }

        m->nvalues = n ? n : 1;
        m->nslots = m->nvalues;

        if (m->type == NGX_GRAPEVINE_METRIC_WORKER_GAUGE) {
            m->nslots *= NGX_GRAPEVINE_METRICS_WORKERS;
        }
    }

    e = ngx_array_push(gmcf->metrics);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->metric = m;
    e->offset = gmcf->metrics_nslots;

    gmcf->metrics_nslots += m->nslots;

    /* the layout's signature: names, labels, values and types */

    crc = gmcf->metrics_signature;
    ngx_crc32_update(&crc, (u_char *) m->name, ngx_strlen(m->name));
    ngx_crc32_update(&crc, (u_char *) &m->type, sizeof(m->type));
    ngx_crc32_update(&crc, (u_char *) &m->nslots, sizeof(m->nslots));

    if (m->clabel) {
        ngx_crc32_update(&crc, (u_char *) m->cvalue, ngx_strlen(m->cvalue));
    }

    if (m->values) {
        for (v = m->values; *v; v++) {
            ngx_crc32_update(&crc, (u_char *) *v, ngx_strlen(*v));
        }
    }

    gmcf->metrics_signature = crc;

    gmcf->metrics_shm->shm.size = ngx_grapevine_metrics_bytes(
                                                       gmcf->metrics_nslots);

    for (i = 0; i < ngx_grapevine_metrics_nknown; i++) {
        if (ngx_grapevine_metrics_known[i] == m) {
            return NGX_OK;
        }
    }

    if (ngx_grapevine_metrics_nknown == NGX_GRAPEVINE_METRICS_KNOWN) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "grapevine: more than %d metrics",
                      NGX_GRAPEVINE_METRICS_KNOWN);
        return NGX_ERROR;
    }

    ngx_grapevine_metrics_known[ngx_grapevine_metrics_nknown++] = m;

    return NGX_OK;
}


/* the zone: its slab pool's own pages, then the header and the slots */

static size_t
ngx_grapevine_metrics_bytes(ngx_uint_t nslots)
{
    size_t  size;

    size = offsetof(ngx_grapevine_metrics_sh_t, slots)
           + nslots * sizeof(ngx_atomic_t);

    return 8 * ngx_pagesize + ngx_align(size, ngx_pagesize);
}


/*
 * In the master, when a configuration is loaded: a reload finds the
 * zone of the last one (data: its main conf) when the size is the same,
 * and keeps its counters when the layout is the same too.
 */

static ngx_int_t
ngx_grapevine_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_grapevine_main_conf_t  *ogmcf = data;

    size_t                       size;
    ngx_slab_pool_t             *shpool;
    ngx_grapevine_main_conf_t   *gmcf;
    ngx_grapevine_metrics_sh_t  *sh;

    gmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (ogmcf && ogmcf->metrics_sh) {
        sh = ogmcf->metrics_sh;

        if (sh->signature == gmcf->metrics_signature
            && sh->nslots == gmcf->metrics_nslots)
        {
            gmcf->metrics_sh = sh;
            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "grapevine: the metrics changed, their counters "
                      "start again");

        ngx_slab_free(shpool, sh);
    }

    size = offsetof(ngx_grapevine_metrics_sh_t, slots)
           + gmcf->metrics_nslots * sizeof(ngx_atomic_t);

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->signature = gmcf->metrics_signature;
    sh->nslots = gmcf->metrics_nslots;

    gmcf->metrics_sh = sh;

    return NGX_OK;
}


/* in a worker: each metric of this configuration gets its slots */

ngx_int_t
ngx_grapevine_metrics_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i, collect;
    ngx_grapevine_metric_t         *m;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_metrics_sh_t     *sh;
    ngx_grapevine_metrics_entry_t  *e;

    for (i = 0; i < ngx_grapevine_metrics_nknown; i++) {
        ngx_grapevine_metrics_known[i]->slots = NULL;
    }

    gmcf = ngx_grapevine_cycle_conf(cycle);

    if (gmcf == NULL || gmcf->metrics == NULL || gmcf->metrics_sh == NULL) {
        return NGX_OK;
    }

    sh = gmcf->metrics_sh;
    e = gmcf->metrics->elts;
    collect = 0;

    for (i = 0; i < gmcf->metrics->nelts; i++) {
        m = e[i].metric;

        if (m->type != NGX_GRAPEVINE_METRIC_WORKER_GAUGE) {
            m->slots = &sh->slots[e[i].offset];
            continue;
        }

        if (ngx_worker >= NGX_GRAPEVINE_METRICS_WORKERS) {
            continue;   /* not counted: see the README */
        }

        m->slots = &sh->slots[e[i].offset + ngx_worker * m->nvalues];
        ngx_memzero((void *) m->slots, m->nvalues * sizeof(ngx_atomic_t));

        if (m->collect) {
            collect = 1;
        }
    }

    if (collect) {
        ngx_memzero(&ngx_grapevine_metrics_ev, sizeof(ngx_event_t));
        ngx_grapevine_timer_init(&ngx_grapevine_metrics_ev,
                                 ngx_grapevine_metrics_timer, cycle,
                                 cycle->log);
        ngx_add_timer(&ngx_grapevine_metrics_ev,
                      NGX_GRAPEVINE_METRICS_COLLECT);
    }

    return NGX_OK;
}


void
ngx_grapevine_metrics_exit(ngx_cycle_t *cycle)
{
    if (ngx_grapevine_metrics_ev.timer_set) {
        ngx_del_timer(&ngx_grapevine_metrics_ev);
    }
}


static void
ngx_grapevine_metrics_timer(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_grapevine_metrics_collect(ev->data);

    ngx_add_timer(ev, NGX_GRAPEVINE_METRICS_COLLECT);
}


/* this worker's gauges, now */

void
ngx_grapevine_metrics_collect(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_grapevine_metric_t         *m;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_metrics_entry_t  *e;

    gmcf = ngx_grapevine_cycle_conf(cycle);

    if (gmcf == NULL || gmcf->metrics == NULL) {
        return;
    }

    e = gmcf->metrics->elts;

    for (i = 0; i < gmcf->metrics->nelts; i++) {
        m = e[i].metric;

        if (m->collect && m->slots) {
            m->collect(m);
        }
    }
}


/* the index of a label's value, or of its last value ("other") */

ngx_uint_t
ngx_grapevine_metric_value(ngx_grapevine_metric_t *m, u_char *name,
    size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i + 1 < m->nvalues; i++) {
        if (ngx_strlen(m->values[i]) == len
            && ngx_strncmp(m->values[i], name, len) == 0)
        {
            return i;
        }
    }

    return m->nvalues - 1;
}


/* ------------------------------------------------------------ requests */


/*
 * A part counts the requests its locations answered, by status class: it
 * registers m (values: the classes) and a log phase handler of its own
 * that calls ngx_grapevine_metric_request() for the requests that are its.
 */

ngx_int_t
ngx_grapevine_metrics_requests(ngx_conf_t *cf, ngx_grapevine_metric_t *m,
    ngx_http_handler_pt log_handler)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (!ngx_grapevine_metrics_on(cf)) {
        return NGX_OK;
    }

    if (ngx_grapevine_metric_register(cf, m) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = log_handler;

    return NGX_OK;
}


void
ngx_grapevine_metric_request(ngx_grapevine_metric_t *m,
    ngx_http_request_t *r)
{
    ngx_uint_t  status;

    status = r->err_status ? r->err_status : r->headers_out.status;

    if (status >= 100 && status < 600) {
        ngx_grapevine_metric_inc(m, status / 100 - 1);
    }
}


/* ----------------------------------------------------------- answering */


char *
ngx_grapevine_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_grapevine_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_atomic_uint_t
ngx_grapevine_metrics_read(ngx_grapevine_metrics_sh_t *sh,
    ngx_grapevine_metrics_entry_t *e, ngx_uint_t i)
{
    ngx_uint_t                 w, workers;
    ngx_core_conf_t           *ccf;
    ngx_atomic_uint_t          v;
    ngx_grapevine_metric_t    *m;

    m = e->metric;

    if (m->type != NGX_GRAPEVINE_METRIC_WORKER_GAUGE) {
        return sh->slots[e->offset + i];
    }

    /* the workers of this configuration, each its own row */

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    workers = (ngx_process == NGX_PROCESS_SINGLE || ccf == NULL)
              ? 1 : (ngx_uint_t) ccf->worker_processes;

    workers = ngx_min(workers, NGX_GRAPEVINE_METRICS_WORKERS);

    v = 0;

    for (w = 0; w < workers; w++) {
        v += sh->slots[e->offset + w * m->nvalues + i];
    }

    return v;
}


/* "grapevine_<name><suffix>{<clabel>="<cvalue>",<label>="<value>"} " */

static u_char *
ngx_grapevine_metrics_series(u_char *p, u_char *last,
    ngx_grapevine_metric_t *m, const char *suffix, const char *label,
    const char *value, size_t value_len)
{
    ngx_uint_t  sep;

    p = ngx_slprintf(p, last, "grapevine_%s%s", m->name, suffix);

    if (m->clabel == NULL && label == NULL) {
        return ngx_slprintf(p, last, " ");
    }

    p = ngx_slprintf(p, last, "{");
    sep = 0;

    if (m->clabel) {
        p = ngx_slprintf(p, last, "%s=\"%s\"", m->clabel, m->cvalue);
        sep = 1;
    }

    if (label) {
        p = ngx_slprintf(p, last, "%s%s=\"%*s\"", sep ? "," : "", label,
                         value_len, value);
    }

    return ngx_slprintf(p, last, "} ");
}


/* a metric's series, in the text format */

static u_char *
ngx_grapevine_metrics_text(u_char *p, u_char *last,
    ngx_grapevine_metrics_sh_t *sh, ngx_grapevine_metrics_entry_t *e)
{
    u_char                   le[32];
    size_t                   len;
    ngx_uint_t               b, k;
    ngx_atomic_uint_t        v, cum;
    ngx_grapevine_metric_t  *m;

    m = e->metric;

    if (m->type == NGX_GRAPEVINE_METRIC_HISTOGRAM) {
        cum = 0;

        for (b = 0; b < m->nvalues; b++) {
            cum += sh->slots[e->offset + b];

            if (m->buckets[b]) {
                len = ngx_sprintf(le, "%M.%03M", m->buckets[b] / 1000,
                                  m->buckets[b] % 1000) - le;

            } else {
                len = ngx_sprintf(le, "+Inf") - le;
            }

            p = ngx_grapevine_metrics_series(p, last, m, "_bucket", "le",
                                             (char *) le, len);
            p = ngx_slprintf(p, last, "%uA\n", cum);
        }

        v = sh->slots[e->offset + ngx_grapevine_metric_sum(m)];

        p = ngx_grapevine_metrics_series(p, last, m, "_sum", NULL, NULL, 0);
        p = ngx_slprintf(p, last, "%uA.%03uA\n", v / 1000, v % 1000);

        p = ngx_grapevine_metrics_series(p, last, m, "_count", NULL, NULL, 0);

        return ngx_slprintf(p, last, "%uA\n",
                     sh->slots[e->offset + ngx_grapevine_metric_count(m)]);
    }

    for (k = 0; k < m->nvalues; k++) {
        v = ngx_grapevine_metrics_read(sh, e, k);

        if (m->values) {
            p = ngx_grapevine_metrics_series(p, last, m, "", m->label,
                                             m->values[k],
                                             ngx_strlen(m->values[k]));

        } else {
            p = ngx_grapevine_metrics_series(p, last, m, "", NULL, NULL, 0);
        }

        p = ngx_slprintf(p, last, "%uA\n", v);
    }

    return p;
}


static ngx_int_t
ngx_grapevine_metrics_handler(ngx_http_request_t *r)
{
    u_char                         *p, *last;
    size_t                          size, len;
    ngx_int_t                       rc;
    ngx_uint_t                      i, k, first;
    ngx_grapevine_json_t           *j;
    ngx_grapevine_metric_t         *m;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_metrics_sh_t     *sh;
    ngx_grapevine_metrics_entry_t  *e;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    if (gmcf->metrics == NULL || gmcf->metrics_sh == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine_metrics: no metrics (grapevine_metrics_zone "
                      "is off, or no part of Grapevine is used)");
        return NGX_HTTP_NOT_FOUND;
    }

    ngx_grapevine_metrics_collect((ngx_cycle_t *) ngx_cycle);

    sh = gmcf->metrics_sh;
    e = gmcf->metrics->elts;

    size = 0;

    for (i = 0; i < gmcf->metrics->nelts; i++) {
        size += (e[i].metric->nvalues + 4) * NGX_GRAPEVINE_METRICS_LINE
                + ngx_strlen(e[i].metric->help);
    }

    j = ngx_grapevine_json_create(r->pool);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = p + size;

    for (i = 0; i < gmcf->metrics->nelts; i++) {
        m = e[i].metric;

        /* a family: HELP and TYPE, then the series of its metrics */

        first = 1;

        for (k = 0; k < i; k++) {
            if (ngx_strcmp(e[k].metric->name, m->name) == 0) {
                first = 0;
                break;
            }
        }

        if (!first) {
            continue;
        }

        p = ngx_slprintf(p, last, "# HELP grapevine_%s %s\n"
                         "# TYPE grapevine_%s %s\n",
                         m->name, m->help, m->name,
                         m->type == NGX_GRAPEVINE_METRIC_COUNTER
                         ? "counter"
                         : m->type == NGX_GRAPEVINE_METRIC_HISTOGRAM
                           ? "histogram" : "gauge");

        for (k = i; k < gmcf->metrics->nelts; k++) {
            if (ngx_strcmp(e[k].metric->name, m->name) == 0) {
                p = ngx_grapevine_metrics_text(p, last, sh, &e[k]);
            }
        }
    }

    len = p - (last - size);

    if (ngx_grapevine_json_write(j, last - size, len) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_grapevine_http_add_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_send(r, NGX_HTTP_OK,
                                   "text/plain; version=0.0.4; charset=utf-8",
                                   j);
}


/*
 * The "instance" member of /_status: every metric by its full name, an
 * array of its series, each an object of its labels and its value (a
 * histogram's: its count and its sum in seconds).
 */

void
ngx_grapevine_metrics_json(void *json, ngx_cycle_t *cycle)
{
    ngx_grapevine_json_t *j = json;

    u_char                          buf[NGX_GRAPEVINE_METRICS_NAME + 32];
    ngx_str_t                       s;
    ngx_uint_t                      i, k, open;
    ngx_atomic_uint_t               v;
    ngx_grapevine_metric_t         *m;
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_metrics_sh_t     *sh;
    ngx_grapevine_metrics_entry_t  *e;

    gmcf = ngx_grapevine_cycle_conf(cycle);

    if (gmcf == NULL || gmcf->metrics == NULL || gmcf->metrics_sh == NULL) {
        ngx_grapevine_json_null(j);
        return;
    }

    ngx_grapevine_metrics_collect(cycle);

    sh = gmcf->metrics_sh;
    e = gmcf->metrics->elts;

    ngx_grapevine_json_map(j);

    for (i = 0; i < gmcf->metrics->nelts; i++) {
        m = e[i].metric;

        /* a family's metrics are written together, under its first */

        open = 1;

        for (k = 0; k < i; k++) {
            if (ngx_strcmp(e[k].metric->name, m->name) == 0) {
                open = 0;
                break;
            }
        }

        if (!open) {
            continue;
        }

        *ngx_snprintf(buf, sizeof(buf) - 1, "grapevine_%s", m->name) = '\0';

        ngx_grapevine_json_key(j, (char *) buf);
        ngx_grapevine_json_array(j);

        for (k = i; k < gmcf->metrics->nelts; k++) {
            m = e[k].metric;

            if (ngx_strcmp(m->name, e[i].metric->name) != 0) {
                continue;
            }

            if (m->type == NGX_GRAPEVINE_METRIC_HISTOGRAM) {
                ngx_grapevine_json_map(j);

                if (m->clabel) {
                    ngx_grapevine_json_key(j, m->clabel);
                    ngx_grapevine_json_cstr(j, m->cvalue);
                }

                ngx_grapevine_json_key(j, "count");
                ngx_grapevine_json_int(j, sh->slots[e[k].offset
                                        + ngx_grapevine_metric_count(m)]);

                v = sh->slots[e[k].offset + ngx_grapevine_metric_sum(m)];

                s.data = buf;
                s.len = ngx_sprintf(buf, "%uA.%03uA", v / 1000, v % 1000)
                        - buf;

                ngx_grapevine_json_key(j, "sum");
                ngx_grapevine_json_raw(j, &s);
                ngx_grapevine_json_map_end(j);
                continue;
            }

            for (v = 0; v < m->nvalues; v++) {
                ngx_grapevine_json_map(j);

                if (m->clabel) {
                    ngx_grapevine_json_key(j, m->clabel);
                    ngx_grapevine_json_cstr(j, m->cvalue);
                }

                if (m->values) {
                    ngx_grapevine_json_key(j, m->label);
                    ngx_grapevine_json_cstr(j, m->values[v]);
                }

                ngx_grapevine_json_key(j, "value");
                ngx_grapevine_json_int(j,
                               ngx_grapevine_metrics_read(sh, &e[k], v));
                ngx_grapevine_json_map_end(j);
            }
        }

        ngx_grapevine_json_array_end(j);
    }

    ngx_grapevine_json_map_end(j);
}
