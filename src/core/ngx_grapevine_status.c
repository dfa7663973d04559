
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_hub.h"


/*
 * grapevine_status: a JSON health report.  200 when the database answers
 * and its schema is the one this build expects, 503 otherwise; the body
 * says which.
 */


#define NGX_GRAPEVINE_HUB_STATUS_SQL                                          \
    "SELECT state, owner_pid, instance, "                                     \
    "to_char(last_frame_at AT TIME ZONE 'UTC', "                              \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), synced::text, reconnects, "          \
    "last_error, to_char(updated_at AT TIME ZONE 'UTC', "                     \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                                    \
    "floor(extract(epoch FROM now() - updated_at))::bigint "                  \
    "FROM hub_status"

#define NGX_GRAPEVINE_HUB_FIELDS  9

/* the owner refreshes its row every 5 s: older means nobody owns the link */
#define NGX_GRAPEVINE_HUB_STALE   15


typedef struct {
    ngx_grapevine_pg_query_t   schema;
    ngx_grapevine_pg_query_t   hub;
    ngx_int_t                  found;
    ngx_uint_t                 hub_rows;
    ngx_str_t                  fields[NGX_GRAPEVINE_HUB_FIELDS];
    ngx_uint_t                 nulls;
} ngx_grapevine_status_ctx_t;


static ngx_int_t ngx_grapevine_status_handler(ngx_http_request_t *r);
static void ngx_grapevine_status_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_status_hub_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void ngx_grapevine_status_cancel(void *data);
static ngx_int_t ngx_grapevine_status_send(ngx_http_request_t *r,
    ngx_grapevine_status_ctx_t *ctx);
static void ngx_grapevine_status_hub(ngx_http_request_t *r,
    ngx_grapevine_json_t *j, ngx_grapevine_status_ctx_t *ctx);
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
    ngx_grapevine_status_ctx_t  *ctx;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_grapevine_status_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_grapevine_status_cancel;
    cln->data = &ctx->hub;

    ctx->found = NGX_ERROR;
    ctx->schema.sql = NGX_GRAPEVINE_SCHEMA_SQL;
    ctx->schema.handler = ngx_grapevine_status_done;
    ctx->hub.sql = NGX_GRAPEVINE_HUB_STATUS_SQL;
    ctx->hub.handler = ngx_grapevine_status_hub_done;
    ctx->hub.data = r;

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
    ngx_http_request_t          *r;
    ngx_grapevine_main_conf_t   *gmcf;
    ngx_grapevine_status_ctx_t  *ctx;

    r = q->data;
    ctx = (ngx_grapevine_status_ctx_t *) q;
    ctx->found = ngx_grapevine_schema_version(res);

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    if (gmcf->hub && ctx->found >= 2) {
        rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, &ctx->hub);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            return;
        }
    }

    ngx_grapevine_http_finalize(r, ngx_grapevine_status_send(r, ctx));
}


static void
ngx_grapevine_status_hub_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    int                          i;
    ngx_http_request_t          *r;
    ngx_grapevine_status_ctx_t  *ctx;

    r = q->data;
    ctx = (ngx_grapevine_status_ctx_t *) ((u_char *) q
                      - offsetof(ngx_grapevine_status_ctx_t, hub));

    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
        && PQnfields(res) == NGX_GRAPEVINE_HUB_FIELDS)
    {
        ctx->hub_rows = 1;

        for (i = 0; i < NGX_GRAPEVINE_HUB_FIELDS; i++) {
            if (PQgetisnull(res, 0, i)) {
                ctx->nulls |= 1 << i;
                continue;
            }

            ctx->fields[i].len = PQgetlength(res, 0, i);
            ctx->fields[i].data = ngx_pnalloc(r->pool, ctx->fields[i].len);

            if (ctx->fields[i].data == NULL) {
                ngx_grapevine_http_finalize(r,
                                            NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            ngx_memcpy(ctx->fields[i].data, PQgetvalue(res, 0, i),
                       ctx->fields[i].len);
        }
    }

    ngx_grapevine_http_finalize(r, ngx_grapevine_status_send(r, ctx));
}


static void
ngx_grapevine_status_cancel(void *data)
{
    ngx_grapevine_pg_cancel(data);
}


static ngx_int_t
ngx_grapevine_status_send(ngx_http_request_t *r,
    ngx_grapevine_status_ctx_t *ctx)
{
    ngx_int_t                   found;
    ngx_uint_t                  i, healthy;
    ngx_grapevine_json_t       *j;
    ngx_grapevine_pg_pool_t    *pool;
    ngx_grapevine_pg_query_t   *q;
    ngx_grapevine_main_conf_t  *gmcf;

    pool = ngx_grapevine_worker.pool;
    q = &ctx->schema;
    found = ctx->found;
    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

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
            if (pool->stmts_failed & (1U << i)) {
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

    if (found == NGX_ERROR) {
        ngx_grapevine_json_null(j);

    } else {
        ngx_grapevine_json_int(j, found);
    }

    ngx_grapevine_json_key(j, "current");
    ngx_grapevine_json_bool(j, found == NGX_GRAPEVINE_SCHEMA_VERSION);
    ngx_grapevine_json_map_end(j);

    if (ngx_grapevine_worker.cache_status) {
        ngx_grapevine_json_key(j, "api_cache");
        ngx_grapevine_worker.cache_status(j);
    }

    if (gmcf->hub) {
        ngx_grapevine_status_hub(r, j, ctx);
    }

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


/* what the hub owner last reported (hub_status, written by the Backbone) */

static void
ngx_grapevine_status_hub(ngx_http_request_t *r, ngx_grapevine_json_t *j,
    ngx_grapevine_status_ctx_t *ctx)
{
    ngx_int_t                   age;
    ngx_uint_t                  i;
    ngx_grapevine_main_conf_t  *gmcf;

    static const char  *names[] = {
        "state", "owner_pid", "instance", "last_frame_at", "synced",
        "reconnects", "last_error", "updated_at"
    };

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    ngx_grapevine_json_key(j, "hub");
    ngx_grapevine_json_map(j);

    ngx_grapevine_json_key(j, "url");
    ngx_grapevine_json_str(j, &gmcf->hub->url);
    ngx_grapevine_json_key(j, "name");
    ngx_grapevine_json_str(j, &gmcf->hub->name);

    if (!ctx->hub_rows) {
        ngx_grapevine_json_key(j, "state");
        ngx_grapevine_json_cstr(j, "unknown");
        ngx_grapevine_json_map_end(j);
        return;
    }

    age = ngx_atoi(ctx->fields[8].data, ctx->fields[8].len);

    for (i = 0; i < 8; i++) {
        ngx_grapevine_json_key(j, names[i]);

        if (ctx->nulls & (1 << i)) {
            ngx_grapevine_json_null(j);
            continue;
        }

        switch (i) {

        case 1:
        case 5:
            ngx_grapevine_json_int(j, ngx_atoi(ctx->fields[i].data,
                                               ctx->fields[i].len));
            break;

        case 4:
            /* jsonb text from our own row */
            if (yajl_gen_number(j->gen, (char *) ctx->fields[i].data,
                                ctx->fields[i].len)
                != yajl_gen_status_ok)
            {
                j->failed = 1;
            }

            break;

        default:
            ngx_grapevine_json_str(j, &ctx->fields[i]);
        }
    }

    ngx_grapevine_json_key(j, "stale");
    ngx_grapevine_json_bool(j, age == NGX_ERROR
                               || age > NGX_GRAPEVINE_HUB_STALE);

    ngx_grapevine_json_map_end(j);
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
