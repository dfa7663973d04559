
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_JSON_H_INCLUDED_
#define _NGX_GRAPEVINE_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <yajl/yajl_gen.h>

#include "ngx_grapevine_value.h"


/*
 * The module's one JSON writer: a yajl generator (strings checked as
 * UTF-8) that writes into a chain of nginx buffers allocated from a pool:
 * no final copy.  Calls after a failure are ignored and the failure is
 * reported once, by ngx_grapevine_json_finish().  Its buffer takes raw
 * bytes too (ngx_grapevine_json_write(), an ngx_grapevine_write_pt): the
 * pages' HTML is written into one.
 *
 * And its reader: ngx_grapevine_json_parse() reads a JSON text (a
 * statement's answer) into a value tree.
 */

typedef struct {
    yajl_gen            gen;
    ngx_pool_t         *pool;
    ngx_chain_t        *out;
    ngx_chain_t       **last;
    ngx_buf_t          *buf;
    size_t              size;
    ngx_uint_t          failed;
} ngx_grapevine_json_t;


ngx_grapevine_json_t *ngx_grapevine_json_create(ngx_pool_t *pool);
int ngx_grapevine_json_write(void *ctx, const u_char *p, size_t n);

void ngx_grapevine_json_map(ngx_grapevine_json_t *j);
void ngx_grapevine_json_map_end(ngx_grapevine_json_t *j);
void ngx_grapevine_json_array(ngx_grapevine_json_t *j);
void ngx_grapevine_json_array_end(ngx_grapevine_json_t *j);
void ngx_grapevine_json_key(ngx_grapevine_json_t *j, const char *key);
void ngx_grapevine_json_str(ngx_grapevine_json_t *j, ngx_str_t *s);
void ngx_grapevine_json_cstr(ngx_grapevine_json_t *j, const char *s);
void ngx_grapevine_json_int(ngx_grapevine_json_t *j, int64_t n);
void ngx_grapevine_json_bool(ngx_grapevine_json_t *j, ngx_uint_t b);
void ngx_grapevine_json_null(ngx_grapevine_json_t *j);
void ngx_grapevine_json_raw(ngx_grapevine_json_t *j, ngx_str_t *s);
void ngx_grapevine_json_value(ngx_grapevine_json_t *j,
    ngx_grapevine_value_t *v);

ngx_grapevine_value_t *ngx_grapevine_json_parse(ngx_grapevine_arena_t *a,
    u_char *text, size_t len);

ngx_chain_t *ngx_grapevine_json_finish(ngx_grapevine_json_t *j);


#endif /* _NGX_GRAPEVINE_JSON_H_INCLUDED_ */
