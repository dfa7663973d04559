
/*
 * Copyright (C) Grapevine contributors
 */


/*
 * A tiny TAP producer and a malloc-backed test arena for the template and
 * value unit tests.  Header-only: every function is static inline.
 */


#ifndef _TAP_TEMPLATE_H_INCLUDED_
#define _TAP_TEMPLATE_H_INCLUDED_


#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_grapevine_arena.h"


typedef struct {
    int                                planned;
    int                                run;
    int                                failed;
} ngx_grapevine_tap_t;


static ngx_grapevine_tap_t  ngx_grapevine_tap;


static inline void
ngx_grapevine_tap_plan(int n)
{
    printf("1..%d\n", n);
    fflush(stdout);
    ngx_grapevine_tap.planned = 1;
}


/* "#" would start a TAP directive in a description */

static inline void
ngx_grapevine_tap_vprint(const char *fmt, va_list args)
{
    char  buf[1024], *p;

    vsnprintf(buf, sizeof(buf), fmt, args);

    for (p = buf; *p; p++) {
        if (*p == '#') {
            putchar('\\');

        } else if (*p == '\n') {
            *p = ' ';
        }

        putchar(*p);
    }
}


static inline int
ngx_grapevine_tap_ok(int ok, const char *fmt, ...)
{
    va_list  args;

    ngx_grapevine_tap.run++;

    if (!ok) {
        ngx_grapevine_tap.failed++;
    }

    printf("%sok %d - ", ok ? "" : "not ", ngx_grapevine_tap.run);

    va_start(args, fmt);
    ngx_grapevine_tap_vprint(fmt, args);
    va_end(args);

    putchar('\n');
    fflush(stdout);

    return ok;
}


static inline void
ngx_grapevine_tap_diag(const char *fmt, ...)
{
    va_list  args;

    fflush(stdout);

    fputs("# ", stderr);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


/* a byte string for diagnostics, escaped like a C literal */

static inline void
ngx_grapevine_tap_diag_bytes(const char *label, const u_char *p, size_t n)
{
    size_t  i;

    fflush(stdout);

    fprintf(stderr, "#   %8s: \"", label);

    for (i = 0; i < n; i++) {
        switch (p[i]) {
        case '\n':
            fputs("\\n", stderr);
            break;
        case '\r':
            fputs("\\r", stderr);
            break;
        case '\t':
            fputs("\\t", stderr);
            break;
        case '"':
        case '\\':
            fputc('\\', stderr);
            fputc(p[i], stderr);
            break;
        default:
            if (p[i] < 0x20 || p[i] >= 0x7f) {
                fprintf(stderr, "\\x%02x", p[i]);

            } else {
                fputc(p[i], stderr);
            }
        }
    }

    fputs("\"\n", stderr);
}


static inline int
ngx_grapevine_tap_is_bytes(const u_char *got, size_t glen,
    const char *expected, const char *name)
{
    size_t  elen;
    int     ok;

    elen = strlen(expected);
    ok = (glen == elen && memcmp(got, expected, elen) == 0);

    if (!ngx_grapevine_tap_ok(ok, "%s", name)) {
        ngx_grapevine_tap_diag_bytes("got", got, glen);
        ngx_grapevine_tap_diag_bytes("expected", (const u_char *) expected,
                                     elen);
    }

    return ok;
}


static inline int
ngx_grapevine_tap_done(void)
{
    if (!ngx_grapevine_tap.planned) {
        printf("1..%d\n", ngx_grapevine_tap.run);
    }

    fflush(stdout);

    if (ngx_grapevine_tap.failed) {
        ngx_grapevine_tap_diag("failed %d of %d", ngx_grapevine_tap.failed,
                               ngx_grapevine_tap.run);
        return 1;
    }

    return 0;
}


/*
 * The test arena: every allocation is a malloc()ed block on a list freed
 * at once, so valgrind sees no leaks; fail_at makes the n-th and all later
 * allocations fail.
 */

typedef union ngx_grapevine_test_block_u  ngx_grapevine_test_block_t;

union ngx_grapevine_test_block_u {
    ngx_grapevine_test_block_t        *next;
    long double                        align_ld;
    long long                          align_ll;
    void                              *align_p;
};


typedef struct {
    ngx_grapevine_test_block_t        *blocks;
    size_t                             allocs;
    size_t                             fail_at;
    size_t                             bytes;
} ngx_grapevine_test_pool_t;


static inline void *
ngx_grapevine_test_alloc(void *ctx, size_t size)
{
    ngx_grapevine_test_pool_t   *pool = ctx;
    ngx_grapevine_test_block_t  *b;

    pool->allocs++;

    if (pool->fail_at && pool->allocs >= pool->fail_at) {
        return NULL;
    }

    b = malloc(sizeof(ngx_grapevine_test_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = pool->blocks;
    pool->blocks = b;
    pool->bytes += size;

    return b + 1;
}


static inline void
ngx_grapevine_test_pool_init(ngx_grapevine_test_pool_t *pool,
    ngx_grapevine_arena_t *arena)
{
    memset(pool, 0, sizeof(ngx_grapevine_test_pool_t));

    arena->alloc = ngx_grapevine_test_alloc;
    arena->ctx = pool;
}


static inline void
ngx_grapevine_test_pool_free(ngx_grapevine_test_pool_t *pool)
{
    ngx_grapevine_test_block_t  *b, *next;

    for (b = pool->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    pool->blocks = NULL;
}


/* a growing output buffer as a write callback */

typedef struct {
    u_char                            *data;
    size_t                             len;
    size_t                             size;
    size_t                             calls;
    size_t                             fail_after;    /* 0: never */
} ngx_grapevine_test_buf_t;


static inline int
ngx_grapevine_test_write(void *ctx, const u_char *p, size_t n)
{
    u_char                    *data;
    size_t                     size;
    ngx_grapevine_test_buf_t  *b = ctx;

    b->calls++;

    if (b->fail_after && b->calls > b->fail_after) {
        return -1;
    }

    if (n == 0) {
        return 0;
    }

    if (b->len + n > b->size) {
        size = b->size ? b->size : 256;

        while (size < b->len + n) {
            size *= 2;
        }

        data = realloc(b->data, size);
        if (data == NULL) {
            return -1;
        }

        b->data = data;
        b->size = size;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;

    return 0;
}


static inline void
ngx_grapevine_test_buf_reset(ngx_grapevine_test_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(ngx_grapevine_test_buf_t));
}


#endif /* _TAP_TEMPLATE_H_INCLUDED_ */
