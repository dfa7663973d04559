
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_API_H_INCLUDED_
#define _NGX_GRAPEVINE_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"


/* path segments after the location's prefix: the longest route has 3 */
#define NGX_GRAPEVINE_API_MAX_SEGMENTS  4

/* flags of ngx_grapevine_api_decode() */
#define NGX_GRAPEVINE_DECODE_PERCENT    0x01     /* %XX */
#define NGX_GRAPEVINE_DECODE_PLUS       0x02     /* "+" is a space */


typedef struct {
    ngx_str_t                  value;    /* percent-decoded */
    const char                *error;    /* why it is invalid, or NULL */
} ngx_grapevine_api_segment_t;


/* a query string parameter an endpoint takes */

typedef struct {
    const char                *name;
    ngx_str_t                  value;    /* decoded; data NULL if absent */
} ngx_grapevine_api_arg_t;


/* a streaming 64-bit hash of a response body, for its ETag */

typedef struct {
    uint64_t                   h;
    u_char                     tail[8];
    size_t                     ntail;
} ngx_grapevine_hash64_t;


/* a request waiting for the cache's round trip (ngx_grapevine_api_cache.c) */

typedef struct ngx_grapevine_api_wait_s  ngx_grapevine_api_wait_t;

struct ngx_grapevine_api_wait_s {
    ngx_queue_t                queue;
    void                     (*handler)(ngx_grapevine_api_wait_t *w,
                                        ngx_uint_t ok);
    void                      *data;
    ngx_uint_t                 queued;
};


ngx_int_t ngx_grapevine_api_cache_init(ngx_cycle_t *cycle,
    ngx_grapevine_db_conf_t *db);
void ngx_grapevine_api_cache_exit(void);
ngx_int_t ngx_grapevine_api_cache_wait(ngx_grapevine_api_wait_t *w);
void ngx_grapevine_api_cache_unwait(ngx_grapevine_api_wait_t *w);
ngx_uint_t ngx_grapevine_api_cache_tables(const char *sql);
ngx_int_t ngx_grapevine_api_cache_generation(uint64_t *gen,
    ngx_uint_t tables);
ngx_int_t ngx_grapevine_api_cache_get(ngx_str_t *key, ngx_str_t *body);
void ngx_grapevine_api_cache_put(ngx_str_t *key, uint64_t gen,
    ngx_uint_t tables, ngx_chain_t *out, size_t size);

ngx_int_t ngx_grapevine_api_segments(ngx_http_request_t *r,
    ngx_str_t *prefix, ngx_grapevine_api_segment_t *segs, ngx_uint_t *n);
ngx_int_t ngx_grapevine_api_args(ngx_http_request_t *r,
    ngx_grapevine_api_arg_t *args, ngx_uint_t n, ngx_str_t *error);

ngx_int_t ngx_grapevine_api_decode(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_uint_t flags, ngx_str_t *out, const char **error);
ssize_t ngx_grapevine_api_utf8_chars(u_char *p, size_t len);
ngx_int_t ngx_grapevine_api_uint(ngx_str_t *s, uint64_t max, uint64_t *n);

size_t ngx_grapevine_api_escape_len(ngx_str_t *s);
u_char *ngx_grapevine_api_escape(u_char *dst, ngx_str_t *s);

void ngx_grapevine_hash64_init(ngx_grapevine_hash64_t *hs, size_t len);
void ngx_grapevine_hash64_update(ngx_grapevine_hash64_t *hs, u_char *p,
    size_t len);
uint64_t ngx_grapevine_hash64_final(ngx_grapevine_hash64_t *hs);

char *ngx_grapevine_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


/* the OpenAPI document, with the location's prefix between the parts */
extern const char  ngx_grapevine_openapi_head[];
extern const char  ngx_grapevine_openapi_tail[];


#endif /* _NGX_GRAPEVINE_API_H_INCLUDED_ */
