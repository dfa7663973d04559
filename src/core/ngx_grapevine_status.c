
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_metrics.h"


/*
 * grapevine_status: a JSON health report.  200 when the database answers
 * and its schema is the one this build expects, 503 otherwise; the body
 * says which.
 */


typedef struct {
    ngx_grapevine_pg_query_t   schema;    /* first: see the handlers */
    ngx_grapevine_pg_query_t   extra;     /* a reporter's query */
    ngx_http_request_t        *r;
    ngx_grapevine_schema_t     found;
    ngx_uint_t                 next;      /* the reporter to ask next */
    PGresult                 **results;   /* copies, one a reporter */
} ngx_grapevine_status_ctx_t;


static ngx_int_t ngx_grapevine_status_handler(ngx_http_request_t *r);
static void ngx_grapevine_status_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_status_next(ngx_grapevine_status_ctx_t *ctx);
static void ngx_grapevine_status_extra_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_status_cleanup(void *data);
static ngx_int_t ngx_grapevine_status_send(ngx_http_request_t *r,
    ngx_grapevine_status_ctx_t *ctx);
static ngx_uint_t ngx_grapevine_status_idle(ngx_grapevine_pg_pool_t *pool);


char *
ngx_grapevine_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_grapevine_status_handler;

    ngx_grapevine_mark_used(cf, "grapevine_status");

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_grapevine_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_cleanup_t          *cln;
    ngx_grapevine_main_conf_t   *gmcf;
    ngx_grapevine_status_ctx_t  *ctx;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_grapevine_status_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->results = ngx_pcalloc(r->pool, (gmcf->reporters.nelts + 1)
                                        * sizeof(PGresult *));
    if (ctx->results == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->r = r;
    cln->handler = ngx_grapevine_status_cleanup;
    cln->data = ctx;

    ctx->found.version = NGX_ERROR;
    ctx->found.compatible = NGX_ERROR;
    ctx->schema.sql = NGX_GRAPEVINE_SCHEMA_SQL;
    ctx->schema.handler = ngx_grapevine_status_done;
    ctx->extra.handler = ngx_grapevine_status_extra_done;
    ctx->extra.data = ctx;

    rc = ngx_grapevine_http_query(r, &ctx->schema);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    /* the database could not take the query: report that */

    return ngx_grapevine_status_send(r, ctx);
}


static void
ngx_grapevine_status_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_int_t                    rc;
    ngx_grapevine_status_ctx_t  *ctx;

    ctx = (ngx_grapevine_status_ctx_t *) q;

    rc = ngx_grapevine_schema_read(res, &ctx->found);

    if (rc == NGX_DECLINED && !ctx->found.old) {

        /* a database migrated before schema_sql: its version alone */

        ctx->found.old = 1;
        q->sql = NGX_GRAPEVINE_SCHEMA_OLD_SQL;

        rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, q);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            return;
        }

        rc = NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ctx->found.version = 0;     /* never migrated */
    }

    ngx_grapevine_status_next(ctx);
}


/* the reporters' queries, one after the other, then the answer */

static void
ngx_grapevine_status_next(ngx_grapevine_status_ctx_t *ctx)
{
    ngx_int_t                          rc;
    ngx_http_request_t                *r;
    ngx_grapevine_main_conf_t         *gmcf;
    ngx_grapevine_status_reporter_t  **rep;

    r = ctx->r;
    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);
    rep = gmcf->reporters.elts;

    while (ctx->next < gmcf->reporters.nelts) {

        if (rep[ctx->next]->sql == NULL
            || ctx->schema.unavailable
            || ctx->found.version == NGX_ERROR
            || (ngx_uint_t) ctx->found.version < rep[ctx->next]->schema)
        {
            ctx->next++;
            continue;
        }

        ctx->extra.sql = rep[ctx->next]->sql;

        rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, &ctx->extra);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            return;
        }

        ctx->next++;
    }

    ngx_grapevine_http_finalize(r, ngx_grapevine_status_send(r, ctx));
}


static void
ngx_grapevine_status_extra_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_grapevine_status_ctx_t  *ctx;

    ctx = q->data;

    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
        /* the pool clears its result when this returns */
        ctx->results[ctx->next] = PQcopyResult(res, PG_COPYRES_ATTRS
                                                    | PG_COPYRES_TUPLES);
    }

    ctx->next++;

    ngx_grapevine_status_next(ctx);
}


static void
ngx_grapevine_status_cleanup(void *data)
{
    ngx_grapevine_status_ctx_t *ctx = data;

    ngx_uint_t                  i;
    ngx_grapevine_main_conf_t  *gmcf;

    ngx_grapevine_pg_cancel(&ctx->schema);
    ngx_grapevine_pg_cancel(&ctx->extra);

    gmcf = ngx_http_get_module_main_conf(ctx->r, ngx_http_grapevine_module);

    for (i = 0; i < gmcf->reporters.nelts; i++) {
        if (ctx->results[i]) {
            PQclear(ctx->results[i]);
            ctx->results[i] = NULL;
        }
    }
}


static ngx_int_t
ngx_grapevine_status_send(ngx_http_request_t *r,
    ngx_grapevine_status_ctx_t *ctx)
{
    ngx_grapevine_schema_t     *found;
    ngx_uint_t                  i, healthy;
    ngx_grapevine_json_t       *j;
    ngx_grapevine_pg_pool_t    *pool;
    ngx_grapevine_pg_query_t          *q;
    ngx_grapevine_main_conf_t         *gmcf;
    ngx_grapevine_status_reporter_t  **rep;

    pool = ngx_grapevine_worker.pool;
    q = &ctx->schema;
    found = &ctx->found;
    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    j = ngx_grapevine_json_create(r->pool);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    healthy = !q->unavailable && ngx_grapevine_schema_serves(found);

    ngx_grapevine_json_map(j);

    ngx_grapevine_json_key(j, "module");
    ngx_grapevine_json_cstr(j, "ngx_grapevine");
    ngx_grapevine_json_key(j, "version");
    ngx_grapevine_json_cstr(j, NGX_GRAPEVINE_VERSION);
    ngx_grapevine_json_key(j, "nginx");
    ngx_grapevine_json_cstr(j, NGINX_VERSION);
    ngx_grapevine_json_key(j, "pid");
    ngx_grapevine_json_int(j, ngx_pid);
    ngx_grapevine_json_key(j, "worker");
    ngx_grapevine_json_int(j, ngx_worker);
    ngx_grapevine_json_key(j, "healthy");
    ngx_grapevine_json_bool(j, healthy);

    ngx_grapevine_json_key(j, "database");
    ngx_grapevine_json_map(j);

    ngx_grapevine_json_key(j, "reachable");
    ngx_grapevine_json_bool(j, !q->unavailable);
    ngx_grapevine_json_key(j, "error");

    if (q->error.len) {
        ngx_grapevine_json_str(j, &q->error);

    } else {
        ngx_grapevine_json_null(j);
    }

    /* the requests this worker answered 503 because of the database */

    ngx_grapevine_json_key(j, "answered_503");
    ngx_grapevine_json_int(j, pool ? pool->refused_total : 0);

    if (pool) {
        ngx_grapevine_json_key(j, "target");
        ngx_grapevine_json_str(j, &pool->conf->target);
        ngx_grapevine_json_key(j, "pool");
        ngx_grapevine_json_map(j);
        ngx_grapevine_json_key(j, "size");
        ngx_grapevine_json_int(j, pool->nconns);
        ngx_grapevine_json_key(j, "connected");
        ngx_grapevine_json_int(j, pool->connected);
        ngx_grapevine_json_key(j, "connecting");
        ngx_grapevine_json_int(j, pool->connecting);
        ngx_grapevine_json_key(j, "idle");
        ngx_grapevine_json_int(j, ngx_grapevine_status_idle(pool));
        ngx_grapevine_json_key(j, "waiting");
        ngx_grapevine_json_int(j, pool->nwaiting);
        ngx_grapevine_json_key(j, "statements");
        ngx_grapevine_json_int(j, pool->nstmts);
        ngx_grapevine_json_key(j, "prepared");
        ngx_grapevine_json_int(j, ngx_grapevine_pg_prepared(pool));
        ngx_grapevine_json_key(j, "unprepared");
        ngx_grapevine_json_array(j);

        for (i = 0; i < pool->nstmts; i++) {
            if (pool->stmts_failed & ((uint64_t) 1 << i)) {
                ngx_grapevine_json_cstr(j, pool->stmts[i]->name);
            }
        }

        ngx_grapevine_json_array_end(j);
        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_map_end(j);

    ngx_grapevine_json_key(j, "schema");
    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "expected");
    ngx_grapevine_json_int(j, NGX_GRAPEVINE_SCHEMA_VERSION);
    ngx_grapevine_json_key(j, "found");

    if (found->version == NGX_ERROR) {
        ngx_grapevine_json_null(j);

    } else {
        ngx_grapevine_json_int(j, found->version);
    }

    ngx_grapevine_json_key(j, "current");
    ngx_grapevine_json_bool(j, ngx_grapevine_schema_current(found));

    /*
     * the oldest module schema the database serves (expand-then-contract,
     * see "Migrations" in README.md), and whether this module is one
     */

    ngx_grapevine_json_key(j, "compatible");

    if (found->compatible == NGX_ERROR) {
        ngx_grapevine_json_null(j);

    } else {
        ngx_grapevine_json_int(j, found->compatible);
    }

    ngx_grapevine_json_key(j, "serves");
    ngx_grapevine_json_bool(j, ngx_grapevine_schema_serves(found));

    /* the SQL source applied (sql/, recorded by util/migrate) */

    ngx_grapevine_json_key(j, "sql");
    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "expected");
    ngx_grapevine_json_cstr(j, NGX_GRAPEVINE_SQL_CHECKSUM);
    ngx_grapevine_json_key(j, "found");

    if (found->checksum[0]) {
        ngx_grapevine_json_cstr(j, (char *) found->checksum);

    } else {
        ngx_grapevine_json_null(j);
    }

    ngx_grapevine_json_map_end(j);
    ngx_grapevine_json_map_end(j);

    rep = gmcf->reporters.elts;

    for (i = 0; i < gmcf->reporters.nelts; i++) {
        ngx_grapevine_json_key(j, rep[i]->name);
        rep[i]->write(j, ctx->results[i], rep[i]->data);
    }

    /* the figures of all the workers (grapevine_metrics') */

    ngx_grapevine_json_key(j, "instance");
    ngx_grapevine_metrics_json(j, (ngx_cycle_t *) ngx_cycle);

    ngx_grapevine_json_map_end(j);

    if (ngx_grapevine_http_add_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (q->unavailable
        && ngx_grapevine_http_add_header(r, "Retry-After",
                                         NGX_GRAPEVINE_RETRY_AFTER)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_send_json(r, healthy
                                           ? NGX_HTTP_OK
                                           : NGX_HTTP_SERVICE_UNAVAILABLE, j);
}


/* connections free for a query now: all of them when nothing runs */

static ngx_uint_t
ngx_grapevine_status_idle(ngx_grapevine_pg_pool_t *pool)
{
    ngx_uint_t    n;
    ngx_queue_t  *q;

    n = 0;

    for (q = ngx_queue_head(&pool->idle);
         q != ngx_queue_sentinel(&pool->idle);
         q = ngx_queue_next(q))
    {
        n++;
    }

    return n;
}
