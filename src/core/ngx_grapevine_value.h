
/*
 * Copyright (C) Grapevine contributors
 */


#ifndef _NGX_GRAPEVINE_VALUE_H_INCLUDED_
#define _NGX_GRAPEVINE_VALUE_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "ngx_grapevine_arena.h"


/*
 * A small value tree (JSON's data model) built from an arena: the data a
 * page template renders (ngx_grapevine_json.c reads it from JSON and
 * writes it as JSON).
 *
 * Strings, number texts and object keys are (data, len) pairs, not
 * necessarily NUL-terminated.  The plain constructors keep a reference to
 * the caller's bytes (which must outlive the tree, e.g. a PGresult kept
 * until the request ends); the _copy variants copy them into the arena.
 *
 * Arrays and objects grow by doubling: the old element block is left to
 * the arena, the total waste is bounded by the final size.  Object keys
 * keep their insertion order; lookup is linear.
 */


typedef enum {
    NGX_GRAPEVINE_VALUE_NULL = 0,
    NGX_GRAPEVINE_VALUE_BOOL,
    NGX_GRAPEVINE_VALUE_INTEGER,
    NGX_GRAPEVINE_VALUE_NUMBER,          /* numeric text, e.g. "1.50" */
    NGX_GRAPEVINE_VALUE_STRING,
    NGX_GRAPEVINE_VALUE_ARRAY,
    NGX_GRAPEVINE_VALUE_OBJECT
} ngx_grapevine_value_type_e;


/* the layout of ngx_str_t */

typedef struct {
    size_t                            len;
    u_char                           *data;
} ngx_grapevine_str_t;


typedef struct ngx_grapevine_value_s  ngx_grapevine_value_t;


typedef struct {
    ngx_grapevine_str_t               key;
    ngx_grapevine_value_t            *value;
} ngx_grapevine_member_t;


struct ngx_grapevine_value_s {
    ngx_grapevine_value_type_e        type;

    union {
        int                           boolean;
        int64_t                       integer;
        ngx_grapevine_str_t           str;       /* STRING and NUMBER */

        struct {
            ngx_grapevine_value_t   **elts;
            size_t                    nelts;
            size_t                    nalloc;
        } array;

        struct {
            ngx_grapevine_member_t   *elts;
            size_t                    nelts;
            size_t                    nalloc;
        } object;
    } u;
};


u_char *ngx_grapevine_arena_copy(ngx_grapevine_arena_t *a, const u_char *p,
    size_t n);

/*
 * A block for twice *nalloc (at least 4) elements of size bytes with the
 * nelts elements of elts copied in; updates *nalloc.  The old block stays
 * in the arena.
 */
void *ngx_grapevine_arena_grow(ngx_grapevine_arena_t *a, void *elts,
    size_t nelts, size_t *nalloc, size_t size);

ngx_grapevine_value_t *ngx_grapevine_value_null(ngx_grapevine_arena_t *a);
ngx_grapevine_value_t *ngx_grapevine_value_bool(ngx_grapevine_arena_t *a,
    int b);
ngx_grapevine_value_t *ngx_grapevine_value_integer(ngx_grapevine_arena_t *a,
    int64_t n);
ngx_grapevine_value_t *ngx_grapevine_value_number(ngx_grapevine_arena_t *a,
    const u_char *text, size_t len);
ngx_grapevine_value_t *ngx_grapevine_value_number_copy(
    ngx_grapevine_arena_t *a, const u_char *text, size_t len);
ngx_grapevine_value_t *ngx_grapevine_value_string(ngx_grapevine_arena_t *a,
    const u_char *data, size_t len);
ngx_grapevine_value_t *ngx_grapevine_value_string_copy(
    ngx_grapevine_arena_t *a, const u_char *data, size_t len);
ngx_grapevine_value_t *ngx_grapevine_value_array(ngx_grapevine_arena_t *a,
    size_t n);
ngx_grapevine_value_t *ngx_grapevine_value_object(ngx_grapevine_arena_t *a,
    size_t n);

/*
 * Append to an array or object: amortized O(1).  A NULL value (a failed
 * constructor call) is an error, so one check covers both calls.  The key
 * is referenced, not copied.  _object_set replaces the value of an existing
 * key (a linear search) and appends otherwise.
 */
int ngx_grapevine_array_push(ngx_grapevine_arena_t *a,
    ngx_grapevine_value_t *array, ngx_grapevine_value_t *value);
int ngx_grapevine_object_add(ngx_grapevine_arena_t *a,
    ngx_grapevine_value_t *object, const u_char *key, size_t len,
    ngx_grapevine_value_t *value);
int ngx_grapevine_object_set(ngx_grapevine_arena_t *a,
    ngx_grapevine_value_t *object, const u_char *key, size_t len,
    ngx_grapevine_value_t *value);
ngx_grapevine_value_t *ngx_grapevine_object_get(
    const ngx_grapevine_value_t *object, const u_char *key, size_t len);

#define ngx_grapevine_object_add_lit(a, object, lit, value)                   \
    ngx_grapevine_object_add(a, object, (const u_char *) lit,                 \
                             sizeof(lit) - 1, value)

#define ngx_grapevine_value_string_lit(a, lit)                                \
    ngx_grapevine_value_string(a, (const u_char *) lit, sizeof(lit) - 1)

/*
 * Mustache truthiness: null, false, "" and [] are false; everything else,
 * including 0 and {}, is true.
 */
int ngx_grapevine_value_truthy(const ngx_grapevine_value_t *v);


#endif /* _NGX_GRAPEVINE_VALUE_H_INCLUDED_ */
