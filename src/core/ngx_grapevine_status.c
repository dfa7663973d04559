
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_http.h"


/*
 * grapevine_status: a JSON health report.  200 when the database answers
 * and its schema is the one this build expects, 503 otherwise; the body
 * says which.
 */


static ngx_int_t ngx_grapevine_status_handler(ngx_http_request_t *r);
static void ngx_grapevine_status_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static ngx_int_t ngx_grapevine_status_send(ngx_http_request_t *r,
    ngx_grapevine_pg_query_t *q, ngx_int_t found);


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
    ngx_int_t                  rc;
    ngx_grapevine_pg_query_t  *q;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    q = ngx_pcalloc(r->pool, sizeof(ngx_grapevine_pg_query_t));
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->sql = NGX_GRAPEVINE_SCHEMA_SQL;
    q->handler = ngx_grapevine_status_done;

    rc = ngx_grapevine_http_query(r, q);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    /* the database could not take the query: report that */

    return ngx_grapevine_status_send(r, q, NGX_ERROR);
}


static void
ngx_grapevine_status_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_http_request_t  *r;

    r = q->data;

    ngx_grapevine_http_finalize(r,
        ngx_grapevine_status_send(r, q, ngx_grapevine_schema_version(res)));
}


static ngx_int_t
ngx_grapevine_status_send(ngx_http_request_t *r, ngx_grapevine_pg_query_t *q,
    ngx_int_t found)
{
    ngx_uint_t                healthy;
    ngx_grapevine_json_t     *j;
    ngx_grapevine_pg_pool_t  *pool;

    pool = ngx_grapevine_worker.pool;

    j = ngx_grapevine_json_create(r->pool);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    healthy = !q->unavailable && found == NGX_GRAPEVINE_SCHEMA_VERSION;

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
        ngx_grapevine_json_key(j, "waiting");
        ngx_grapevine_json_int(j, pool->nwaiting);
        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_map_end(j);

    ngx_grapevine_json_key(j, "schema");
    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "expected");
    ngx_grapevine_json_int(j, NGX_GRAPEVINE_SCHEMA_VERSION);
    ngx_grapevine_json_key(j, "found");

    if (found == NGX_ERROR) {
        ngx_grapevine_json_null(j);

    } else {
        ngx_grapevine_json_int(j, found);
    }

    ngx_grapevine_json_key(j, "current");
    ngx_grapevine_json_bool(j, found == NGX_GRAPEVINE_SCHEMA_VERSION);
    ngx_grapevine_json_map_end(j);

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
