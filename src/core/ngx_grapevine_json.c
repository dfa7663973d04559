
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <yajl/yajl_parse.h>

#include "ngx_grapevine_json.h"


#define NGX_GRAPEVINE_JSON_CHUNK  4096


static void ngx_grapevine_json_print(void *ctx, const char *p, size_t n);
static void ngx_grapevine_json_cleanup(void *data);
static void ngx_grapevine_json_check(ngx_grapevine_json_t *j,
    yajl_gen_status st);
static ngx_int_t ngx_grapevine_json_number(ngx_str_t *text);


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


/*
 * A number's text: NGX_OK for JSON's -?(0|[1-9][0-9]*)(\.[0-9]+)?
 * ([eE][+-]?[0-9]+)?, NGX_DECLINED for PostgreSQL's NaN and infinities
 * (which JSON cannot say: written as null), NGX_ERROR for anything else.
 */

static ngx_int_t
ngx_grapevine_json_number(ngx_str_t *text)
{
    u_char  *p, *last;

    p = text->data;
    last = p + text->len;

    if ((text->len == 3 && ngx_strncmp(p, "NaN", 3) == 0)
        || (text->len == 8 && ngx_strncmp(p, "Infinity", 8) == 0)
        || (text->len == 9 && ngx_strncmp(p, "-Infinity", 9) == 0))
    {
        return NGX_DECLINED;
    }

    if (p < last && *p == '-') {
        p++;
    }

    if (p == last) {
        return NGX_ERROR;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return NGX_ERROR;
    }

    if (p < last && *p == '.') {
        p++;

        if (p == last || *p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == last || *p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    return (p == last) ? NGX_OK : NGX_ERROR;
}


/*
 * A value tree, as JSON.  PostgreSQL's NaN and infinities, which JSON
 * cannot say, are written as null.
 */

void
ngx_grapevine_json_value(ngx_grapevine_json_t *j, ngx_grapevine_value_t *v)
{
    size_t                   i;
    ngx_str_t                s;
    ngx_grapevine_member_t  *m;

    switch (v->type) {

    case NGX_GRAPEVINE_VALUE_NULL:
        ngx_grapevine_json_null(j);
        return;

    case NGX_GRAPEVINE_VALUE_BOOL:
        ngx_grapevine_json_bool(j, v->u.boolean);
        return;

    case NGX_GRAPEVINE_VALUE_INTEGER:
        ngx_grapevine_json_int(j, v->u.integer);
        return;

    case NGX_GRAPEVINE_VALUE_NUMBER:
        s.data = v->u.str.data;
        s.len = v->u.str.len;

        switch (ngx_grapevine_json_number(&s)) {

        case NGX_OK:
            ngx_grapevine_json_raw(j, &s);
            return;

        case NGX_DECLINED:
            ngx_grapevine_json_null(j);
            return;

        default:
            j->failed = 1;
            return;
        }

    case NGX_GRAPEVINE_VALUE_STRING:
        s.data = v->u.str.data;
        s.len = v->u.str.len;
        ngx_grapevine_json_str(j, &s);
        return;

    case NGX_GRAPEVINE_VALUE_ARRAY:
        ngx_grapevine_json_array(j);

        for (i = 0; i < v->u.array.nelts; i++) {
            ngx_grapevine_json_value(j, v->u.array.elts[i]);
        }

        ngx_grapevine_json_array_end(j);
        return;

    default: /* NGX_GRAPEVINE_VALUE_OBJECT */
        ngx_grapevine_json_map(j);

        m = v->u.object.elts;

        for (i = 0; i < v->u.object.nelts; i++) {
            ngx_grapevine_json_check(j, yajl_gen_string(j->gen,
                                                        m[i].key.data,
                                                        m[i].key.len));
            ngx_grapevine_json_value(j, m[i].value);
        }

        ngx_grapevine_json_map_end(j);
        return;
    }
}


/* ------------------------------------------------------------- reading */


#define NGX_GRAPEVINE_JSON_DEPTH  64


typedef struct {
    ngx_grapevine_arena_t     *arena;
    ngx_grapevine_value_t     *root;
    ngx_grapevine_value_t     *stack[NGX_GRAPEVINE_JSON_DEPTH];
    ngx_uint_t                 depth;
    u_char                    *key;
    size_t                     key_len;
    ngx_uint_t                 failed;
} ngx_grapevine_json_reader_t;


static int
ngx_grapevine_json_add(ngx_grapevine_json_reader_t *rd,
    ngx_grapevine_value_t *v)
{
    ngx_grapevine_value_t  *top;

    if (v == NULL) {
        rd->failed = 1;
        return 0;
    }

    if (rd->depth == 0) {
        rd->root = v;
        return 1;
    }

    top = rd->stack[rd->depth - 1];

    if (top->type == NGX_GRAPEVINE_VALUE_OBJECT) {
        if (ngx_grapevine_object_add(rd->arena, top, rd->key, rd->key_len, v)
            != NGX_GRAPEVINE_OK)
        {
            rd->failed = 1;
            return 0;
        }

        return 1;
    }

    if (ngx_grapevine_array_push(rd->arena, top, v) != NGX_GRAPEVINE_OK) {
        rd->failed = 1;
        return 0;
    }

    return 1;
}


static int
ngx_grapevine_json_on_null(void *ctx)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    return ngx_grapevine_json_add(rd, ngx_grapevine_value_null(rd->arena));
}


static int
ngx_grapevine_json_on_bool(void *ctx, int b)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    return ngx_grapevine_json_add(rd, ngx_grapevine_value_bool(rd->arena, b));
}


static int
ngx_grapevine_json_on_number(void *ctx, const char *s, size_t len)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    return ngx_grapevine_json_add(rd,
               ngx_grapevine_value_number_copy(rd->arena, (u_char *) s, len));
}


static int
ngx_grapevine_json_on_string(void *ctx, const unsigned char *s, size_t len)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    return ngx_grapevine_json_add(rd,
               ngx_grapevine_value_string_copy(rd->arena, s, len));
}


static int
ngx_grapevine_json_open(ngx_grapevine_json_reader_t *rd,
    ngx_grapevine_value_t *v)
{
    if (rd->depth == NGX_GRAPEVINE_JSON_DEPTH) {
        rd->failed = 1;
        return 0;
    }

    if (!ngx_grapevine_json_add(rd, v)) {
        return 0;
    }

    rd->stack[rd->depth++] = v;

    return 1;
}


static int
ngx_grapevine_json_on_start_map(void *ctx)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    return ngx_grapevine_json_open(rd, ngx_grapevine_value_object(rd->arena,
                                                                  8));
}


static int
ngx_grapevine_json_on_key(void *ctx, const unsigned char *s, size_t len)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    rd->key = ngx_grapevine_arena_copy(rd->arena, s, len);
    rd->key_len = len;

    if (rd->key == NULL && len) {
        rd->failed = 1;
        return 0;
    }

    return 1;
}


static int
ngx_grapevine_json_on_start_array(void *ctx)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    return ngx_grapevine_json_open(rd, ngx_grapevine_value_array(rd->arena,
                                                                 8));
}


static int
ngx_grapevine_json_on_close(void *ctx)
{
    ngx_grapevine_json_reader_t  *rd = ctx;

    rd->depth--;

    return 1;
}


static yajl_callbacks  ngx_grapevine_json_callbacks = {
    ngx_grapevine_json_on_null,
    ngx_grapevine_json_on_bool,
    NULL,
    NULL,
    ngx_grapevine_json_on_number,
    ngx_grapevine_json_on_string,
    ngx_grapevine_json_on_start_map,
    ngx_grapevine_json_on_key,
    ngx_grapevine_json_on_close,
    ngx_grapevine_json_on_start_array,
    ngx_grapevine_json_on_close
};


/* a JSON text into a value tree of the arena; NULL when it is not JSON */

ngx_grapevine_value_t *
ngx_grapevine_json_parse(ngx_grapevine_arena_t *a, u_char *text, size_t len)
{
    yajl_handle                  h;
    yajl_status                  st;
    ngx_grapevine_json_reader_t  rd;

    ngx_memzero(&rd, sizeof(ngx_grapevine_json_reader_t));
    rd.arena = a;

    h = yajl_alloc(&ngx_grapevine_json_callbacks, NULL, &rd);
    if (h == NULL) {
        return NULL;
    }

    st = yajl_parse(h, text, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (st != yajl_status_ok || rd.failed || rd.depth != 0) {
        return NULL;
    }

    return rd.root;
}
