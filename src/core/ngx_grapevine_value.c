
/*
 * Copyright (C) Grapevine contributors
 */


#include <stdint.h>
#include <string.h>

#include "ngx_grapevine_value.h"


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
