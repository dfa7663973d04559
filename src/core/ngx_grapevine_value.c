
/*
 * Copyright (C) Grapevine contributors
 */


#include <stdint.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "ngx_grapevine_value.h"


#define NGX_GRAPEVINE_VALUE_JSON_BUFSIZE  4096


typedef struct {
    yajl_gen                 gen;
    ngx_grapevine_write_pt   write;
    void                    *ctx;
    int                      failed;
    size_t                   pos;
    u_char                   buf[NGX_GRAPEVINE_VALUE_JSON_BUFSIZE];
} ngx_grapevine_value_json_out_t;


static ngx_grapevine_value_t *ngx_grapevine_value_alloc(
    ngx_grapevine_arena_t *a, ngx_grapevine_value_type_e type);
static int ngx_grapevine_value_json_value(ngx_grapevine_value_json_out_t *out,
    const ngx_grapevine_value_t *v);
static int ngx_grapevine_value_json_number(yajl_gen g,
    const ngx_grapevine_str_t *text);
static int ngx_grapevine_value_json_status(yajl_gen_status status);
static void ngx_grapevine_value_json_print(void *ctx, const char *str,
    size_t len);
static int ngx_grapevine_value_json_flush(ngx_grapevine_value_json_out_t *out);


u_char *
ngx_grapevine_arena_copy(ngx_grapevine_arena_t *a, const u_char *p, size_t n)
{
    u_char  *dst;

    dst = ngx_grapevine_arena_alloc(a, n ? n : 1);
    if (dst == NULL) {
        return NULL;
    }

    if (n) {
        memcpy(dst, p, n);
    }

    return dst;
}


static ngx_grapevine_value_t *
ngx_grapevine_value_alloc(ngx_grapevine_arena_t *a,
    ngx_grapevine_value_type_e type)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_arena_alloc(a, sizeof(ngx_grapevine_value_t));
    if (v == NULL) {
        return NULL;
    }

    memset(v, 0, sizeof(ngx_grapevine_value_t));
    v->type = type;

    return v;
}


ngx_grapevine_value_t *
ngx_grapevine_value_null(ngx_grapevine_arena_t *a)
{
    return ngx_grapevine_value_alloc(a, NGX_GRAPEVINE_VALUE_NULL);
}


ngx_grapevine_value_t *
ngx_grapevine_value_bool(ngx_grapevine_arena_t *a, int b)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_value_alloc(a, NGX_GRAPEVINE_VALUE_BOOL);
    if (v == NULL) {
        return NULL;
    }

    v->u.boolean = b ? 1 : 0;

    return v;
}


ngx_grapevine_value_t *
ngx_grapevine_value_integer(ngx_grapevine_arena_t *a, int64_t n)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_value_alloc(a, NGX_GRAPEVINE_VALUE_INTEGER);
    if (v == NULL) {
        return NULL;
    }

    v->u.integer = n;

    return v;
}


ngx_grapevine_value_t *
ngx_grapevine_value_number(ngx_grapevine_arena_t *a, const u_char *text,
    size_t len)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_value_alloc(a, NGX_GRAPEVINE_VALUE_NUMBER);
    if (v == NULL) {
        return NULL;
    }

    v->u.str.len = len;
    v->u.str.data = (u_char *) text;

    return v;
}


ngx_grapevine_value_t *
ngx_grapevine_value_number_copy(ngx_grapevine_arena_t *a, const u_char *text,
    size_t len)
{
    u_char  *p;

    p = ngx_grapevine_arena_copy(a, text, len);
    if (p == NULL) {
        return NULL;
    }

    return ngx_grapevine_value_number(a, p, len);
}


ngx_grapevine_value_t *
ngx_grapevine_value_string(ngx_grapevine_arena_t *a, const u_char *data,
    size_t len)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_value_alloc(a, NGX_GRAPEVINE_VALUE_STRING);
    if (v == NULL) {
        return NULL;
    }

    v->u.str.len = len;
    v->u.str.data = (u_char *) data;

    return v;
}


ngx_grapevine_value_t *
ngx_grapevine_value_string_copy(ngx_grapevine_arena_t *a, const u_char *data,
    size_t len)
{
    u_char  *p;

    p = ngx_grapevine_arena_copy(a, data, len);
    if (p == NULL) {
        return NULL;
    }

    return ngx_grapevine_value_string(a, p, len);
}


ngx_grapevine_value_t *
ngx_grapevine_value_array(ngx_grapevine_arena_t *a, size_t n)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_value_alloc(a, NGX_GRAPEVINE_VALUE_ARRAY);
    if (v == NULL) {
        return NULL;
    }

    if (n == 0) {
        return v;
    }

    if (n > SIZE_MAX / sizeof(ngx_grapevine_value_t *)) {
        return NULL;
    }

    v->u.array.elts = ngx_grapevine_arena_alloc(a,
                                         n * sizeof(ngx_grapevine_value_t *));
    if (v->u.array.elts == NULL) {
        return NULL;
    }

    v->u.array.nalloc = n;

    return v;
}


ngx_grapevine_value_t *
ngx_grapevine_value_object(ngx_grapevine_arena_t *a, size_t n)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_value_alloc(a, NGX_GRAPEVINE_VALUE_OBJECT);
    if (v == NULL) {
        return NULL;
    }

    if (n == 0) {
        return v;
    }

    if (n > SIZE_MAX / sizeof(ngx_grapevine_member_t)) {
        return NULL;
    }

    v->u.object.elts = ngx_grapevine_arena_alloc(a,
                                         n * sizeof(ngx_grapevine_member_t));
    if (v->u.object.elts == NULL) {
        return NULL;
    }

    v->u.object.nalloc = n;

    return v;
}


void *
ngx_grapevine_arena_grow(ngx_grapevine_arena_t *a, void *elts, size_t nelts,
    size_t *nalloc, size_t size)
{
    void    *new;
    size_t   n;

    n = *nalloc ? *nalloc * 2 : 4;

    if (n < *nalloc || n > SIZE_MAX / size) {
        return NULL;
    }

    new = ngx_grapevine_arena_alloc(a, n * size);
    if (new == NULL) {
        return NULL;
    }

    if (nelts) {
        memcpy(new, elts, nelts * size);
    }

    *nalloc = n;

    return new;
}


int
ngx_grapevine_array_push(ngx_grapevine_arena_t *a,
    ngx_grapevine_value_t *array, ngx_grapevine_value_t *value)
{
    void  *elts;

    if (value == NULL || array == NULL
        || array->type != NGX_GRAPEVINE_VALUE_ARRAY)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    if (array->u.array.nelts == array->u.array.nalloc) {
        elts = ngx_grapevine_arena_grow(a, array->u.array.elts,
                                        array->u.array.nelts,
                                        &array->u.array.nalloc,
                                        sizeof(ngx_grapevine_value_t *));
        if (elts == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        array->u.array.elts = elts;
    }

    array->u.array.elts[array->u.array.nelts++] = value;

    return NGX_GRAPEVINE_OK;
}


int
ngx_grapevine_object_add(ngx_grapevine_arena_t *a,
    ngx_grapevine_value_t *object, const u_char *key, size_t len,
    ngx_grapevine_value_t *value)
{
    void                    *elts;
    ngx_grapevine_member_t  *m;

    if (value == NULL || key == NULL || object == NULL
        || object->type != NGX_GRAPEVINE_VALUE_OBJECT)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    if (object->u.object.nelts == object->u.object.nalloc) {
        elts = ngx_grapevine_arena_grow(a, object->u.object.elts,
                                        object->u.object.nelts,
                                        &object->u.object.nalloc,
                                        sizeof(ngx_grapevine_member_t));
        if (elts == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        object->u.object.elts = elts;
    }

    m = &object->u.object.elts[object->u.object.nelts++];

    m->key.len = len;
    m->key.data = (u_char *) key;
    m->value = value;

    return NGX_GRAPEVINE_OK;
}


int
ngx_grapevine_object_set(ngx_grapevine_arena_t *a,
    ngx_grapevine_value_t *object, const u_char *key, size_t len,
    ngx_grapevine_value_t *value)
{
    size_t                   i;
    ngx_grapevine_member_t  *m;

    if (value == NULL || key == NULL || object == NULL
        || object->type != NGX_GRAPEVINE_VALUE_OBJECT)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    m = object->u.object.elts;

    for (i = 0; i < object->u.object.nelts; i++) {
        if (m[i].key.len == len && memcmp(m[i].key.data, key, len) == 0) {
            m[i].value = value;
            return NGX_GRAPEVINE_OK;
        }
    }

    return ngx_grapevine_object_add(a, object, key, len, value);
}


ngx_grapevine_value_t *
ngx_grapevine_object_get(const ngx_grapevine_value_t *object,
    const u_char *key, size_t len)
{
    size_t                   i, n;
    ngx_grapevine_member_t  *m;

    if (object == NULL || object->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        return NULL;
    }

    m = object->u.object.elts;
    n = object->u.object.nelts;

    for (i = 0; i < n; i++) {
        if (m[i].key.len == len
            && (len == 0 || (m[i].key.data[0] == key[0]
                             && memcmp(m[i].key.data, key, len) == 0)))
        {
            return m[i].value;
        }
    }

    return NULL;
}


int
ngx_grapevine_value_truthy(const ngx_grapevine_value_t *v)
{
    if (v == NULL) {
        return 0;
    }

    switch (v->type) {

    case NGX_GRAPEVINE_VALUE_NULL:
        return 0;

    case NGX_GRAPEVINE_VALUE_BOOL:
        return v->u.boolean;

    case NGX_GRAPEVINE_VALUE_STRING:
        return v->u.str.len != 0;

    case NGX_GRAPEVINE_VALUE_ARRAY:
        return v->u.array.nelts != 0;

    default:
        return 1;
    }
}


int
ngx_grapevine_value_write_json(const ngx_grapevine_value_t *v,
    unsigned flags, ngx_grapevine_write_pt write, void *ctx)
{
    int                             rc;
    yajl_gen                        g;
    ngx_grapevine_value_json_out_t  out;

    out.write = write;
    out.ctx = ctx;
    out.failed = 0;
    out.pos = 0;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NGX_GRAPEVINE_VALUE_JSON_NOMEM;
    }

    if (yajl_gen_config(g, yajl_gen_beautify, 0) == 0
        || yajl_gen_config(g, yajl_gen_validate_utf8, 1) == 0
        || yajl_gen_config(g, yajl_gen_escape_solidus,
                           (flags & NGX_GRAPEVINE_VALUE_JSON_ESCAPE_SOLIDUS)
                           ? 1 : 0) == 0
        || yajl_gen_config(g, yajl_gen_print_callback,
                           ngx_grapevine_value_json_print, &out) == 0)
    {
        yajl_gen_free(g);
        return NGX_GRAPEVINE_VALUE_JSON_FAILED;
    }

    out.gen = g;

    rc = ngx_grapevine_value_json_value(&out, v);

    yajl_gen_free(g);

    if (out.failed) {
        return NGX_GRAPEVINE_VALUE_JSON_WRITE;
    }

    if (rc != NGX_GRAPEVINE_VALUE_JSON_OK) {
        return rc;
    }

    if (ngx_grapevine_value_json_flush(&out) != NGX_GRAPEVINE_OK) {
        return NGX_GRAPEVINE_VALUE_JSON_WRITE;
    }

    return NGX_GRAPEVINE_VALUE_JSON_OK;
}


const char *
ngx_grapevine_value_json_strerror(int rc)
{
    switch (rc) {

    case NGX_GRAPEVINE_VALUE_JSON_OK:
        return "ok";

    case NGX_GRAPEVINE_VALUE_JSON_WRITE:
        return "write failed";

    case NGX_GRAPEVINE_VALUE_JSON_NOMEM:
        return "out of memory";

    case NGX_GRAPEVINE_VALUE_JSON_INVALID_UTF8:
        return "string is not valid UTF-8";

    case NGX_GRAPEVINE_VALUE_JSON_INVALID_NUMBER:
        return "number text is not a JSON number";

    case NGX_GRAPEVINE_VALUE_JSON_TOO_DEEP:
        return "value nested too deeply";

    default:
        return "JSON generator failed";
    }
}


static int
ngx_grapevine_value_json_value(ngx_grapevine_value_json_out_t *out,
    const ngx_grapevine_value_t *v)
{
    int                      rc;
    size_t                   i;
    yajl_gen                 g;
    ngx_grapevine_member_t  *m;

    if (out->failed) {
        return NGX_GRAPEVINE_VALUE_JSON_WRITE;
    }

    g = out->gen;

    if (v == NULL) {
        return ngx_grapevine_value_json_status(yajl_gen_null(g));
    }

    switch (v->type) {

    case NGX_GRAPEVINE_VALUE_NULL:
        return ngx_grapevine_value_json_status(yajl_gen_null(g));

    case NGX_GRAPEVINE_VALUE_BOOL:
        return ngx_grapevine_value_json_status(yajl_gen_bool(g, v->u.boolean));

    case NGX_GRAPEVINE_VALUE_INTEGER:
        return ngx_grapevine_value_json_status(
                   yajl_gen_integer(g, (long long) v->u.integer));

    case NGX_GRAPEVINE_VALUE_NUMBER:
        return ngx_grapevine_value_json_number(g, &v->u.str);

    case NGX_GRAPEVINE_VALUE_STRING:
        return ngx_grapevine_value_json_status(
                   yajl_gen_string(g, v->u.str.data, v->u.str.len));

    case NGX_GRAPEVINE_VALUE_ARRAY:
        rc = ngx_grapevine_value_json_status(yajl_gen_array_open(g));
        if (rc != NGX_GRAPEVINE_VALUE_JSON_OK) {
            return rc;
        }

        for (i = 0; i < v->u.array.nelts; i++) {
            rc = ngx_grapevine_value_json_value(out, v->u.array.elts[i]);
            if (rc != NGX_GRAPEVINE_VALUE_JSON_OK) {
                return rc;
            }
        }

        return ngx_grapevine_value_json_status(yajl_gen_array_close(g));

    case NGX_GRAPEVINE_VALUE_OBJECT:
        rc = ngx_grapevine_value_json_status(yajl_gen_map_open(g));
        if (rc != NGX_GRAPEVINE_VALUE_JSON_OK) {
            return rc;
        }

        m = v->u.object.elts;

        for (i = 0; i < v->u.object.nelts; i++) {
            rc = ngx_grapevine_value_json_status(
                     yajl_gen_string(g, m[i].key.data, m[i].key.len));
            if (rc != NGX_GRAPEVINE_VALUE_JSON_OK) {
                return rc;
            }

            rc = ngx_grapevine_value_json_value(out, m[i].value);
            if (rc != NGX_GRAPEVINE_VALUE_JSON_OK) {
                return rc;
            }
        }

        return ngx_grapevine_value_json_status(yajl_gen_map_close(g));
    }

    return NGX_GRAPEVINE_VALUE_JSON_FAILED;
}


/*
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? goes through as is;
 * PostgreSQL's NaN and infinities become null
 */

static int
ngx_grapevine_value_json_number(yajl_gen g, const ngx_grapevine_str_t *text)
{
    u_char  *p, *last;

    p = text->data;
    last = p + text->len;

    if ((text->len == 3 && memcmp(p, "NaN", 3) == 0)
        || (text->len == 8 && memcmp(p, "Infinity", 8) == 0)
        || (text->len == 9 && memcmp(p, "-Infinity", 9) == 0))
    {
        return ngx_grapevine_value_json_status(yajl_gen_null(g));
    }

    if (p < last && *p == '-') {
        p++;
    }

    if (p == last) {
        return NGX_GRAPEVINE_VALUE_JSON_INVALID_NUMBER;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return NGX_GRAPEVINE_VALUE_JSON_INVALID_NUMBER;
    }

    if (p < last && *p == '.') {
        p++;

        if (p == last || *p < '0' || *p > '9') {
            return NGX_GRAPEVINE_VALUE_JSON_INVALID_NUMBER;
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
            return NGX_GRAPEVINE_VALUE_JSON_INVALID_NUMBER;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p != last) {
        return NGX_GRAPEVINE_VALUE_JSON_INVALID_NUMBER;
    }

    return ngx_grapevine_value_json_status(
               yajl_gen_number(g, (const char *) text->data, text->len));
}


static int
ngx_grapevine_value_json_status(yajl_gen_status status)
{
    switch (status) {

    case yajl_gen_status_ok:
        return NGX_GRAPEVINE_VALUE_JSON_OK;

    case yajl_gen_invalid_string:
        return NGX_GRAPEVINE_VALUE_JSON_INVALID_UTF8;

    case yajl_max_depth_exceeded:
        return NGX_GRAPEVINE_VALUE_JSON_TOO_DEEP;

    case yajl_gen_invalid_number:
        return NGX_GRAPEVINE_VALUE_JSON_INVALID_NUMBER;

    default:
        return NGX_GRAPEVINE_VALUE_JSON_FAILED;
    }
}


/* yajl's print callback: collects yajl's many small pieces into runs */

static void
ngx_grapevine_value_json_print(void *ctx, const char *str, size_t len)
{
    ngx_grapevine_value_json_out_t  *out = ctx;

    if (out->failed) {
        return;
    }

    if (len > NGX_GRAPEVINE_VALUE_JSON_BUFSIZE - out->pos) {
        if (ngx_grapevine_value_json_flush(out) != NGX_GRAPEVINE_OK) {
            return;
        }

        if (len >= NGX_GRAPEVINE_VALUE_JSON_BUFSIZE / 2) {
            if (out->write(out->ctx, (const u_char *) str, len)
                != NGX_GRAPEVINE_OK)
            {
                out->failed = 1;
            }

            return;
        }
    }

    memcpy(out->buf + out->pos, str, len);
    out->pos += len;
}


static int
ngx_grapevine_value_json_flush(ngx_grapevine_value_json_out_t *out)
{
    if (out->pos == 0) {
        return NGX_GRAPEVINE_OK;
    }

    if (out->write(out->ctx, out->buf, out->pos) != NGX_GRAPEVINE_OK) {
        out->failed = 1;
        return NGX_GRAPEVINE_ERROR;
    }

    out->pos = 0;

    return NGX_GRAPEVINE_OK;
}
