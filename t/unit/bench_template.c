
/*
 * Copyright (C) Grapevine contributors
 */


/*
 * The cost of rendering a page: loads the templates of a directory the way
 * the module does (ngx_grapevine_template_set_load_dir()), builds the value
 * tree of a games page with 50 games, and renders one template of the set
 * N times into a 64k buffer.
 *
 *     bench_template DIR [PAGE [N]]      (PAGE "games", N 20000)
 *
 * Prints the time per render and the bytes written; with N 0, renders once
 * and prints the page (to compare the pages of two template directories).
 * The machine is shared: compare instruction counts instead, with a small
 * N under
 *     valgrind --tool=callgrind --toggle-collect=ngx_grapevine_template_render
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_grapevine_value.h"
#include "ngx_grapevine_template.h"
#include "tap_template.h"


#define NGX_GRAPEVINE_BENCH_OUT  65536


typedef struct {
    u_char   data[NGX_GRAPEVINE_BENCH_OUT];
    size_t   len;
    size_t   total;
} ngx_grapevine_bench_out_t;


static ngx_grapevine_value_t *ngx_grapevine_bench_data(
    ngx_grapevine_arena_t *a);
static int ngx_grapevine_bench_write(void *ctx, const u_char *p, size_t n);
static int ngx_grapevine_bench_print(void *ctx, const u_char *p, size_t n);


static int
ngx_grapevine_bench_write(void *ctx, const u_char *p, size_t n)
{
    ngx_grapevine_bench_out_t  *out = ctx;

    if (out->len + n > NGX_GRAPEVINE_BENCH_OUT) {
        out->len = 0;
    }

    memcpy(out->data + out->len, p, n);
    out->len += n;
    out->total += n;

    return NGX_GRAPEVINE_OK;
}


static int
ngx_grapevine_bench_print(void *ctx, const u_char *p, size_t n)
{
    return fwrite(p, 1, n, stdout) == n ? NGX_GRAPEVINE_OK
                                        : NGX_GRAPEVINE_ERROR;
}


#define ngx_grapevine_bench_str(a, o, k, s)                                   \
    ngx_grapevine_object_add_lit(a, o, k,                                     \
        ngx_grapevine_value_string(a, (const u_char *) s, strlen(s)))


static ngx_grapevine_value_t *
ngx_grapevine_bench_data(ngx_grapevine_arena_t *a)
{
    int                     i;
    char                   *s;
    ngx_grapevine_value_t  *data, *me, *filter, *games, *g;

    data = ngx_grapevine_value_object(a, 16);
    me = ngx_grapevine_value_object(a, 4);
    filter = ngx_grapevine_value_object(a, 2);
    games = ngx_grapevine_value_array(a, 50);

    if (data == NULL || me == NULL || filter == NULL || games == NULL) {
        return NULL;
    }

    ngx_grapevine_bench_str(a, data, "title", "Games");
    ngx_grapevine_bench_str(a, data, "site_name", "Grapevine");
    ngx_grapevine_bench_str(a, data, "csrf",
                            "0123456789abcdef0123456789abcdef");
    ngx_grapevine_object_add_lit(a, data, "nav_games",
                                 ngx_grapevine_value_bool(a, 1));
    ngx_grapevine_object_add_lit(a, data, "total",
                                 ngx_grapevine_value_integer(a, 50));
    ngx_grapevine_object_add_lit(a, data, "paged",
                                 ngx_grapevine_value_bool(a, 1));
    ngx_grapevine_object_add_lit(a, data, "page",
                                 ngx_grapevine_value_integer(a, 1));
    ngx_grapevine_object_add_lit(a, data, "pages",
                                 ngx_grapevine_value_integer(a, 3));
    ngx_grapevine_bench_str(a, data, "next", "/games?page=2");

    ngx_grapevine_bench_str(a, me, "username", "alice");
    ngx_grapevine_object_add_lit(a, me, "moderator",
                                 ngx_grapevine_value_bool(a, 1));
    ngx_grapevine_object_add_lit(a, data, "me", me);

    ngx_grapevine_bench_str(a, filter, "name", "mud & <more>");
    ngx_grapevine_object_add_lit(a, filter, "online",
                                 ngx_grapevine_value_bool(a, 0));
    ngx_grapevine_object_add_lit(a, data, "filter", filter);

    for (i = 0; i < 50; i++) {
        g = ngx_grapevine_value_object(a, 8);
        s = ngx_grapevine_arena_alloc(a, 32);

        if (g == NULL || s == NULL) {
            return NULL;
        }

        snprintf(s, 32, "game%d", i);

        ngx_grapevine_bench_str(a, g, "short_name", s);
        ngx_grapevine_bench_str(a, g, "name", "The Realm of <Shadows> & Co");
        ngx_grapevine_object_add_lit(a, g, "online",
                                     ngx_grapevine_value_bool(a, i % 3));
        ngx_grapevine_bench_str(a, g, "description",
                                "A text game of swords, sorcery and "
                                "\"quotes\", running since 1994.");
        ngx_grapevine_object_add_lit(a, g, "players",
                                     ngx_grapevine_value_integer(a, i * 7));
        ngx_grapevine_bench_str(a, g, "user_agent", "ExVenture 0.28.0");
        ngx_grapevine_bench_str(a, g, "homepage_url",
                                "https://example.org/a?b=c&d=e");

        if (ngx_grapevine_array_push(a, games, g) != NGX_GRAPEVINE_OK) {
            return NULL;
        }
    }

    ngx_grapevine_object_add_lit(a, data, "games", games);

    return data;
}


int
main(int argc, char **argv)
{
    long                           i, n;
    double                         ns;
    const char                    *page;
    struct timespec                t0, t1;
    ngx_grapevine_arena_t          arena;
    ngx_grapevine_value_t         *data;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_pool_t      pool;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_err_t   err;
    ngx_grapevine_template_set_t  *set;

    static ngx_grapevine_bench_out_t  out;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s DIR [PAGE [N]]\n", argv[0]);
        return 2;
    }

    page = argc > 2 ? argv[2] : "games";
    n = argc > 3 ? atol(argv[3]) : 20000;

    ngx_grapevine_test_pool_init(&pool, &arena);

    set = ngx_grapevine_template_set_create(&arena);
    if (set == NULL
        || ngx_grapevine_template_set_load_dir(&arena, set, argv[1], &err)
           != NGX_GRAPEVINE_OK)
    {
        fprintf(stderr, "%s\n", set ? err.msg : "out of memory");
        ngx_grapevine_test_pool_free(&pool);
        return 1;
    }

    tpl = ngx_grapevine_template_set_find(set, (const u_char *) page,
                                          strlen(page));
    data = ngx_grapevine_bench_data(&arena);

    if (tpl == NULL || data == NULL) {
        fprintf(stderr, "%s\n", tpl ? "out of memory" : "no such page");
        ngx_grapevine_test_pool_free(&pool);
        return 1;
    }

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_bench_write;
    rc.write_ctx = &out;
    rc.strict_partials = 1;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (i = 0; i < n; i++) {
        out.len = 0;

        if (ngx_grapevine_template_render(tpl, data, &rc, &err)
            != NGX_GRAPEVINE_OK)
        {
            fprintf(stderr, "%s\n", err.msg);
            ngx_grapevine_test_pool_free(&pool);
            return 1;
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec))
         / (n ? n : 1);

    if (n == 0) {
        rc.write = ngx_grapevine_bench_print;

        if (ngx_grapevine_template_render(tpl, data, &rc, &err)
            != NGX_GRAPEVINE_OK)
        {
            fprintf(stderr, "%s\n", err.msg);
            ngx_grapevine_test_pool_free(&pool);
            return 1;
        }

    } else {
        printf("%s: %ld renders, %.0f ns each, %lu bytes each\n", page, n,
               ns, (unsigned long) (out.total / n));
    }

    ngx_grapevine_test_pool_free(&pool);

    return 0;
}
