
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_API_H_INCLUDED_
#define _NGX_GRAPEVINE_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_params.h"


/* path segments after the location's prefix: the longest route has 3 */
#define NGX_GRAPEVINE_API_MAX_SEGMENTS  4

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

extern ngx_module_t                     ngx_http_grapevine_api_module;
extern ngx_grapevine_status_reporter_t  ngx_grapevine_api_cache_reporter;


/* the OpenAPI document, with the location's prefix between the parts */
extern const char  ngx_grapevine_openapi_head[];
extern const char  ngx_grapevine_openapi_tail[];


#endif /* _NGX_GRAPEVINE_API_H_INCLUDED_ */
