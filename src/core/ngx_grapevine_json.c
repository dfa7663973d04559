
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_grapevine_json.h"


#define NGX_GRAPEVINE_JSON_CHUNK  4096


static void ngx_grapevine_json_print(void *ctx, const char *p, size_t n);
static void ngx_grapevine_json_cleanup(void *data);
static void ngx_grapevine_json_check(ngx_grapevine_json_t *j,
    yajl_gen_status st);


ngx_grapevine_json_t *
ngx_grapevine_json_create(ngx_pool_t *pool)
{
    ngx_pool_cleanup_t    *cln;
    ngx_grapevine_json_t  *j;

    j = ngx_pcalloc(pool, sizeof(ngx_grapevine_json_t));
    if (j == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    j->gen = yajl_gen_alloc(NULL);
    if (j->gen == NULL) {
        return NULL;
    }

    cln->handler = ngx_grapevine_json_cleanup;
    cln->data = j;

    j->pool = pool;
    j->last = &j->out;

    (void) yajl_gen_config(j->gen, yajl_gen_validate_utf8, 1);
    (void) yajl_gen_config(j->gen, yajl_gen_print_callback,
                           ngx_grapevine_json_print, j);

    return j;
}


int
ngx_grapevine_json_write(void *ctx, const u_char *p, size_t n)
{
    size_t                 size;
    ngx_buf_t             *b;
    ngx_chain_t           *cl;
    ngx_grapevine_json_t  *j;

    j = ctx;

    while (n) {
        b = j->buf;

        if (b == NULL || b->last == b->end) {
            size = ngx_max(n, NGX_GRAPEVINE_JSON_CHUNK);

            b = ngx_create_temp_buf(j->pool, size);
            if (b == NULL) {
                j->failed = 1;
                return -1;
            }

            cl = ngx_alloc_chain_link(j->pool);
            if (cl == NULL) {
                j->failed = 1;
                return -1;
            }

            cl->buf = b;
            cl->next = NULL;
            *j->last = cl;
            j->last = &cl->next;
            j->buf = b;
        }

        size = ngx_min(n, (size_t) (b->end - b->last));
        b->last = ngx_cpymem(b->last, p, size);
        p += size;
        n -= size;
        j->size += size;
    }

    return 0;
}


void
ngx_grapevine_json_map(ngx_grapevine_json_t *j)
{
    ngx_grapevine_json_check(j, yajl_gen_map_open(j->gen));
}


void
ngx_grapevine_json_map_end(ngx_grapevine_json_t *j)
{
    ngx_grapevine_json_check(j, yajl_gen_map_close(j->gen));
}


void
ngx_grapevine_json_array(ngx_grapevine_json_t *j)
{
    ngx_grapevine_json_check(j, yajl_gen_array_open(j->gen));
}


void
ngx_grapevine_json_array_end(ngx_grapevine_json_t *j)
{
    ngx_grapevine_json_check(j, yajl_gen_array_close(j->gen));
}


void
ngx_grapevine_json_key(ngx_grapevine_json_t *j, const char *key)
{
    ngx_grapevine_json_cstr(j, key);
}


void
ngx_grapevine_json_str(ngx_grapevine_json_t *j, ngx_str_t *s)
{
    ngx_grapevine_json_check(j, yajl_gen_string(j->gen, s->data, s->len));
}


void
ngx_grapevine_json_cstr(ngx_grapevine_json_t *j, const char *s)
{
    if (s == NULL) {
        ngx_grapevine_json_null(j);
        return;
    }

    ngx_grapevine_json_check(j, yajl_gen_string(j->gen, (u_char *) s,
                                                ngx_strlen(s)));
}


void
ngx_grapevine_json_int(ngx_grapevine_json_t *j, int64_t n)
{
    ngx_grapevine_json_check(j, yajl_gen_integer(j->gen, n));
}


void
ngx_grapevine_json_bool(ngx_grapevine_json_t *j, ngx_uint_t b)
{
    ngx_grapevine_json_check(j, yajl_gen_bool(j->gen, b ? 1 : 0));
}


void
ngx_grapevine_json_null(ngx_grapevine_json_t *j)
{
    ngx_grapevine_json_check(j, yajl_gen_null(j->gen));
}


ngx_chain_t *
ngx_grapevine_json_finish(ngx_grapevine_json_t *j)
{
    if (j->failed) {
        return NULL;
    }

    if (ngx_grapevine_json_write(j, (u_char *) "\n", 1) != 0) {
        return NULL;
    }

    j->buf->last_buf = 1;
    j->buf->last_in_chain = 1;

    return j->out;
}


static void
ngx_grapevine_json_print(void *ctx, const char *p, size_t n)
{
    ngx_grapevine_json_t  *j;

    j = ctx;

    if (!j->failed) {
        (void) ngx_grapevine_json_write(j, (const u_char *) p, n);
    }
}


static void
ngx_grapevine_json_check(ngx_grapevine_json_t *j, yajl_gen_status st)
{
    if (st != yajl_gen_status_ok) {
        j->failed = 1;
    }
}


static void
ngx_grapevine_json_cleanup(void *data)
{
    ngx_grapevine_json_t  *j = data;

    yajl_gen_free(j->gen);
}


/* a JSON value of our own making (a jsonb column's text), written as is */

void
ngx_grapevine_json_raw(ngx_grapevine_json_t *j, ngx_str_t *s)
{
    ngx_grapevine_json_check(j, yajl_gen_number(j->gen, (char *) s->data,
                                                s->len));
}
