
/*
 * Copyright (C) Grapevine contributors
 */


/*
 * Runs one file of the mustache spec (comments.json, interpolation.json,
 * ...) against the template engine: test_mustache_spec FILE.json, TAP out.
 *
 * For each case: data becomes a value tree, partials are compiled into a
 * template set, the template is compiled and rendered with the partials
 * looked up at render time, and the output must equal expected.  When
 * every partial the case refers to exists, the case is rendered a second
 * time with the partials linked (ngx_grapevine_template_set_link()), the
 * way the module renders, and must give the same output.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "ngx_grapevine_value.h"
#include "ngx_grapevine_template.h"
#include "tap_template.h"


static char *ngx_grapevine_spec_read(const char *path, size_t *len);
static ngx_grapevine_value_t *ngx_grapevine_spec_value(
    ngx_grapevine_arena_t *a, yajl_val j);
static void ngx_grapevine_spec_case(const char *suite, yajl_val t);
static const char *ngx_grapevine_spec_string(yajl_val obj, const char *key);


int
main(int argc, char **argv)
{
    char         *text, errbuf[1024];
    const char   *suite, *slash, *dot;
    size_t        i, len;
    yajl_val      root, tests;
    char          name[256];
    const char   *path[] = { "tests", NULL };

    if (argc != 2) {
        fprintf(stderr, "usage: %s SPEC.json\n", argv[0]);
        return 2;
    }

    text = ngx_grapevine_spec_read(argv[1], &len);
    if (text == NULL) {
        return 1;
    }

    root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    free(text);

    if (root == NULL) {
        fprintf(stderr, "%s: %s\n", argv[1], errbuf);
        return 1;
    }

    tests = yajl_tree_get(root, path, yajl_t_array);
    if (tests == NULL || tests->u.array.len == 0) {
        fprintf(stderr, "%s: no \"tests\" array\n", argv[1]);
        yajl_tree_free(root);
        return 1;
    }

    slash = strrchr(argv[1], '/');
    suite = slash ? slash + 1 : argv[1];
    dot = strrchr(suite, '.');
    len = dot ? (size_t) (dot - suite) : strlen(suite);

    if (len >= sizeof(name)) {
        len = sizeof(name) - 1;
    }

    memcpy(name, suite, len);
    name[len] = '\0';

    ngx_grapevine_tap_plan((int) tests->u.array.len);

    for (i = 0; i < tests->u.array.len; i++) {
        ngx_grapevine_spec_case(name, tests->u.array.values[i]);
    }

    yajl_tree_free(root);

    return ngx_grapevine_tap_done();
}


static char *
ngx_grapevine_spec_read(const char *path, size_t *len)
{
    FILE    *f;
    char    *buf, *p;
    size_t   n, size;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }

    size = 65536;
    *len = 0;

    buf = malloc(size);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }

    for ( ;; ) {
        if (*len + 1 == size) {
            p = realloc(buf, size * 2);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }

            buf = p;
            size *= 2;
        }

        n = fread(buf + *len, 1, size - 1 - *len, f);
        if (n == 0) {
            break;
        }

        *len += n;
    }

    fclose(f);

    buf[*len] = '\0';

    return buf;
}


static ngx_grapevine_value_t *
ngx_grapevine_spec_value(ngx_grapevine_arena_t *a, yajl_val j)
{
    size_t                  i;
    const char             *s;
    ngx_grapevine_value_t  *v;

    switch (j->type) {

    case yajl_t_string:
        s = j->u.string;
        return ngx_grapevine_value_string_copy(a, (const u_char *) s,
                                               strlen(s));

    case yajl_t_number:
        if (YAJL_IS_INTEGER(j)) {
            return ngx_grapevine_value_integer(a, j->u.number.i);
        }

        s = j->u.number.r;
        return ngx_grapevine_value_number_copy(a, (const u_char *) s,
                                               strlen(s));

    case yajl_t_object:
        v = ngx_grapevine_value_object(a, 0);
        if (v == NULL) {
            return NULL;
        }

        for (i = 0; i < j->u.object.len; i++) {
            s = j->u.object.keys[i];

            if (ngx_grapevine_object_add(a, v,
                    ngx_grapevine_arena_copy(a, (const u_char *) s,
                                             strlen(s)),
                    strlen(s),
                    ngx_grapevine_spec_value(a, j->u.object.values[i]))
                != NGX_GRAPEVINE_OK)
            {
                return NULL;
            }
        }

        return v;

    case yajl_t_array:
        v = ngx_grapevine_value_array(a, 0);
        if (v == NULL) {
            return NULL;
        }

        for (i = 0; i < j->u.array.len; i++) {
            if (ngx_grapevine_array_push(a, v,
                    ngx_grapevine_spec_value(a, j->u.array.values[i]))
                != NGX_GRAPEVINE_OK)
            {
                return NULL;
            }
        }

        return v;

    case yajl_t_true:
        return ngx_grapevine_value_bool(a, 1);

    case yajl_t_false:
        return ngx_grapevine_value_bool(a, 0);

    default:
        return ngx_grapevine_value_null(a);
    }
}


static const char *
ngx_grapevine_spec_string(yajl_val obj, const char *key)
{
    yajl_val     v;
    const char  *path[2];

    path[0] = key;
    path[1] = NULL;

    v = yajl_tree_get(obj, path, yajl_t_string);

    return v ? v->u.string : NULL;
}


static void
ngx_grapevine_spec_case(const char *suite, yajl_val t)
{
    int                            ok, all;
    size_t                         i;
    yajl_val                       data, partials;
    const char                    *name, *tmpl, *expected, *key;
    const char                    *dpath[] = { "data", NULL };
    const char                    *ppath[] = { "partials", NULL };
    ngx_grapevine_arena_t          arena;
    ngx_grapevine_value_t         *value;
    ngx_grapevine_template_t      *tpl, *partial;
    ngx_grapevine_test_buf_t       out, out2;
    ngx_grapevine_test_pool_t      pool;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_err_t   err;
    ngx_grapevine_template_set_t  *set;

    name = ngx_grapevine_spec_string(t, "name");
    tmpl = ngx_grapevine_spec_string(t, "template");
    expected = ngx_grapevine_spec_string(t, "expected");
    data = yajl_tree_get(t, dpath, yajl_t_any);
    partials = yajl_tree_get(t, ppath, yajl_t_object);

    if (name == NULL) {
        name = "(unnamed)";
    }

    if (tmpl == NULL || expected == NULL || data == NULL) {
        ngx_grapevine_tap_ok(0, "%s: %s", suite, name);
        ngx_grapevine_tap_diag("case without template, expected or data");
        return;
    }

    ngx_grapevine_test_pool_init(&pool, &arena);
    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&out2, 0, sizeof(ngx_grapevine_test_buf_t));
    err.msg[0] = '\0';

    ok = 0;
    all = 1;

    value = ngx_grapevine_spec_value(&arena, data);
    set = ngx_grapevine_template_set_create(&arena);

    if (value == NULL || set == NULL) {
        ngx_grapevine_tap_ok(0, "%s: %s", suite, name);
        ngx_grapevine_tap_diag("out of memory");
        goto done;
    }

    for (i = 0; partials && i < partials->u.object.len; i++) {
        key = partials->u.object.keys[i];

        if (!YAJL_IS_STRING(partials->u.object.values[i])) {
            continue;
        }

        partial = ngx_grapevine_template_compile(&arena,
                      (const u_char *) partials->u.object.values[i]->u.string,
                      strlen(partials->u.object.values[i]->u.string),
                      key, &err);

        if (partial == NULL
            || ngx_grapevine_template_set_add(&arena, set,
                                              (const u_char *) key,
                                              strlen(key), partial)
               != NGX_GRAPEVINE_OK)
        {
            ngx_grapevine_tap_ok(0, "%s: %s", suite, name);
            ngx_grapevine_tap_diag("partial \"%s\": %s", key, err.msg);
            goto done;
        }
    }

    tpl = ngx_grapevine_template_compile(&arena, (const u_char *) tmpl,
                                         strlen(tmpl), NULL, &err);
    if (tpl == NULL) {
        ngx_grapevine_tap_ok(0, "%s: %s", suite, name);
        ngx_grapevine_tap_diag("compile: %s", err.msg);
        goto done;
    }

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = &out;
    rc.partial = ngx_grapevine_template_set_lookup;
    rc.partial_ctx = set;

    if (ngx_grapevine_template_render(tpl, value, &rc, &err)
        != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "%s: %s", suite, name);
        ngx_grapevine_tap_diag("render: %s", err.msg);
        goto done;
    }

    ok = (out.len == strlen(expected)
          && (out.len == 0 || memcmp(out.data, expected, out.len) == 0));

    /* again, with the partials linked (if they all exist) */

    if (ok
        && ngx_grapevine_template_set_add(&arena, set,
                                          (const u_char *) "", 0, tpl)
           == NGX_GRAPEVINE_OK
        && ngx_grapevine_template_set_link(set, &err) == NGX_GRAPEVINE_OK)
    {
        rc.write_ctx = &out2;
        rc.partial = NULL;
        rc.strict_partials = 1;

        if (ngx_grapevine_template_render(tpl, value, &rc, &err)
            != NGX_GRAPEVINE_OK)
        {
            ngx_grapevine_tap_ok(0, "%s: %s", suite, name);
            ngx_grapevine_tap_diag("linked render: %s", err.msg);
            goto done;
        }

        all = (out2.len == out.len
               && (out.len == 0
                   || memcmp(out.data, out2.data, out.len) == 0));
    }

    if (!ngx_grapevine_tap_ok(ok && all, "%s: %s", suite, name)) {
        ngx_grapevine_tap_diag_bytes("template", (const u_char *) tmpl,
                                     strlen(tmpl));
        ngx_grapevine_tap_diag_bytes("expected", (const u_char *) expected,
                                     strlen(expected));
        ngx_grapevine_tap_diag_bytes("got", out.data, out.len);

        if (!all) {
            ngx_grapevine_tap_diag_bytes("linked", out2.data, out2.len);
        }
    }

done:

    ngx_grapevine_test_buf_reset(&out);
    ngx_grapevine_test_buf_reset(&out2);
    ngx_grapevine_test_pool_free(&pool);
}
