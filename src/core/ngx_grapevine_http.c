
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_http.h"


static void ngx_grapevine_http_query_cleanup(void *data);


static ngx_str_t  ngx_grapevine_http_unavailable_text =
    ngx_string("the database is unavailable");


/*
 * Runs q for request r on this worker's pool.  Returns NGX_DONE when the
 * query is under way (q->handler later finishes the request with
 * ngx_grapevine_http_finalize()), NGX_DECLINED when the database cannot
 * take it now (q->error says why; q->handler will not be called), or an
 * HTTP error status.
 */

ngx_int_t
ngx_grapevine_http_query(ngx_http_request_t *r, ngx_grapevine_pg_query_t *q)
{
    ngx_int_t                rc;
    ngx_http_cleanup_t      *cln;
    ngx_grapevine_pg_pool_t *pool;

    pool = ngx_grapevine_worker.pool;

    if (pool == NULL) {
        ngx_str_set(&q->error, "no database is configured "
                    "(grapevine_database)");
        q->unavailable = 1;
        return NGX_DECLINED;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q->data = r;

    rc = ngx_grapevine_pg_query(pool, q);

    if (rc == NGX_DECLINED || rc == NGX_BUSY) {
        q->unavailable = 1;
        return NGX_DECLINED;
    }

    cln->handler = ngx_grapevine_http_query_cleanup;
    cln->data = q;

    r->main->count++;

    return NGX_DONE;
}


void
ngx_grapevine_http_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_grapevine_http_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_grapevine_json_t *j)
{
    return ngx_grapevine_http_send(r, status, "application/json", j);
}


/*
 * Sends what was written into j (JSON, or a page's HTML) with status and
 * content type; the other headers are set.  Returns what a content
 * handler returns.
 */

ngx_int_t
ngx_grapevine_http_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_grapevine_json_t *j)
{
    ngx_chain_t  *out;

    out = ngx_grapevine_json_finish(j);
    if (out == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine: could not write the response");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_send_chain(r, status, type, out, j->size);
}


/* the same for a body made already: out, size bytes (the last buffer's
 * last_buf set) */

ngx_int_t
ngx_grapevine_http_send_chain(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_chain_t *out, size_t size)
{
    u_char     *semi;
    ngx_int_t   rc;

    r->headers_out.status = status;
    r->headers_out.content_length_n = size;

    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);

    /* "text/html; charset=utf-8": the type ends at the parameters */

    semi = (u_char *) ngx_strchr(type, ';');
    r->headers_out.content_type_len = semi ? (size_t) (semi - (u_char *) type)
                                           : r->headers_out.content_type.len;
    r->headers_out.charset.len = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


ngx_int_t
ngx_grapevine_http_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *message)
{
    ngx_grapevine_json_t  *j;

    j = ngx_grapevine_json_create(r->pool);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "error");
    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "code");
    ngx_grapevine_json_cstr(j, code);
    ngx_grapevine_json_key(j, "message");
    ngx_grapevine_json_str(j, message);
    ngx_grapevine_json_map_end(j);
    ngx_grapevine_json_map_end(j);

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_grapevine_http_add_header(r, "Retry-After",
                                         NGX_GRAPEVINE_RETRY_AFTER)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_send_json(r, status, j);
}


/*
 * A JSON 503 for a query the database could not take (q->error, libpq's
 * words, which name the server, go to the error log only): a plain
 * message, Retry-After.
 */

ngx_int_t
ngx_grapevine_http_unavailable(ngx_http_request_t *r,
    ngx_grapevine_pg_query_t *q)
{
    ngx_str_t  msg;

    ngx_grapevine_http_unavailable_log(r, &q->error);

    ngx_str_set(&msg, NGX_GRAPEVINE_UNAVAILABLE);

    return ngx_grapevine_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "database_unavailable", &msg);
}


/*
 * Every request answered 503 because of the database: counted (the
 * pool's outage, /_status), and logged at grapevine_unavailable_log_level
 * (info by default: the outage itself is logged once by the pool, and a
 * line a request would flood the log).
 */

void
ngx_grapevine_http_unavailable_log(ngx_http_request_t *r, ngx_str_t *why)
{
    ngx_grapevine_pg_pool_t    *pool;
    ngx_grapevine_main_conf_t  *gmcf;

    pool = ngx_grapevine_worker.pool;

    if (pool) {
        pool->refused++;
        pool->refused_total++;
    }

    ngx_grapevine_pg_unavailable_count();

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_module);

    ngx_log_error(gmcf->unavailable_log_level, r->connection->log, 0,
                  "grapevine: answering 503: %V",
                  why->len ? why : &ngx_grapevine_http_unavailable_text);
}


ngx_int_t
ngx_grapevine_http_add_header(ngx_http_request_t *r, const char *name,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


static void
ngx_grapevine_http_query_cleanup(void *data)
{
    ngx_grapevine_pg_query_t  *q = data;

    ngx_grapevine_pg_cancel(q);
}
