
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_PARAMS_H_INCLUDED_
#define _NGX_GRAPEVINE_PARAMS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * A request's input, checked: the path after a location's prefix split
 * into percent-decoded segments, the query string's parameters, strict
 * percent-encoding, no NUL or control character, valid UTF-8; and the
 * output helpers that need no request: escaping for links, the ETag hash.
 */


/* flags of ngx_grapevine_decode() */
#define NGX_GRAPEVINE_DECODE_PERCENT    0x01     /* %XX */
#define NGX_GRAPEVINE_DECODE_PLUS       0x02     /* "+" is a space */


typedef struct {
    ngx_str_t                  value;    /* percent-decoded */
    const char                *error;    /* why it is invalid, or NULL */
} ngx_grapevine_segment_t;


/* a query string parameter an endpoint takes */

typedef struct {
    const char                *name;
    ngx_str_t                  value;    /* decoded; data NULL if absent */
} ngx_grapevine_arg_t;


/* a streaming 64-bit hash of a response body, for its ETag */

typedef struct {
    uint64_t                   h;
    u_char                     tail[8];
    size_t                     ntail;
} ngx_grapevine_hash64_t;


ngx_int_t ngx_grapevine_path_segments(ngx_http_request_t *r,
    ngx_str_t *prefix, ngx_grapevine_segment_t *segs, ngx_uint_t max,
    ngx_uint_t *n);
ngx_int_t ngx_grapevine_query_args(ngx_http_request_t *r,
    ngx_grapevine_arg_t *args, ngx_uint_t n, ngx_str_t *error);

ngx_int_t ngx_grapevine_decode(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_uint_t flags, ngx_str_t *out, const char **error);
ssize_t ngx_grapevine_utf8_chars(u_char *p, size_t len);
ngx_int_t ngx_grapevine_parse_uint(ngx_str_t *s, uint64_t max, uint64_t *n);

size_t ngx_grapevine_escape_len(ngx_str_t *s);
u_char *ngx_grapevine_escape(u_char *dst, ngx_str_t *s);

void ngx_grapevine_hash64_init(ngx_grapevine_hash64_t *hs, size_t len);
void ngx_grapevine_hash64_update(ngx_grapevine_hash64_t *hs, u_char *p,
    size_t len);
uint64_t ngx_grapevine_hash64_final(ngx_grapevine_hash64_t *hs);


#endif /* _NGX_GRAPEVINE_PARAMS_H_INCLUDED_ */
