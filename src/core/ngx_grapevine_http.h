
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_HTTP_H_INCLUDED_
#define _NGX_GRAPEVINE_HTTP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_json.h"


#define NGX_GRAPEVINE_RETRY_AFTER  "5"

/* what a client is told when the database is away or overloaded */
#define NGX_GRAPEVINE_UNAVAILABLE  "the database is unavailable, " \
                                   "try again later"


ngx_int_t ngx_grapevine_http_query(ngx_http_request_t *r,
    ngx_grapevine_pg_query_t *q);
void ngx_grapevine_http_finalize(ngx_http_request_t *r, ngx_int_t rc);

ngx_int_t ngx_grapevine_http_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_grapevine_json_t *j);
ngx_int_t ngx_grapevine_http_send_chain(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, ngx_chain_t *out, size_t size);
ngx_int_t ngx_grapevine_http_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_grapevine_json_t *j);
ngx_int_t ngx_grapevine_http_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *message);
ngx_int_t ngx_grapevine_http_unavailable(ngx_http_request_t *r,
    ngx_grapevine_pg_query_t *q);
void ngx_grapevine_http_unavailable_log(ngx_http_request_t *r,
    ngx_str_t *why);
ngx_int_t ngx_grapevine_http_add_header(ngx_http_request_t *r,
    const char *name, const char *value);


#endif /* _NGX_GRAPEVINE_HTTP_H_INCLUDED_ */
