
/*
 * Copyright (C) Grapevine contributors
 */


/*
 * Unit tests of the template engine and the value tree beyond the mustache
 * spec: compile errors and their lines, escaping, bounded recursion,
 * partials, the JSON writer, directory loading, allocation failures.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ngx_grapevine_value.h"
#include "ngx_grapevine_template.h"
#include "tap_template.h"


#define S(lit)  (const u_char *) lit, sizeof(lit) - 1


static ngx_grapevine_arena_t      arena;
static ngx_grapevine_test_pool_t  pool;


/* renders src with data (partials from set, may be NULL) */

static int
ngx_grapevine_t_render(const char *src, ngx_grapevine_value_t *data,
    ngx_grapevine_template_set_t *set, ngx_grapevine_test_buf_t *out,
    ngx_grapevine_template_err_t *err)
{
    ngx_grapevine_template_t     *tpl;
    ngx_grapevine_render_conf_t   rc;

    tpl = ngx_grapevine_template_compile(&arena, (const u_char *) src,
                                         strlen(src), "test", err);
    if (tpl == NULL) {
        return NGX_GRAPEVINE_ERROR;
    }

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = out;
    rc.partial = set ? ngx_grapevine_template_set_lookup : NULL;
    rc.partial_ctx = set;

    return ngx_grapevine_template_render(tpl, data, &rc, err);
}


static void
ngx_grapevine_t_is_render(const char *src, ngx_grapevine_value_t *data,
    ngx_grapevine_template_set_t *set, const char *expected,
    const char *name)
{
    ngx_grapevine_test_buf_t      out;
    ngx_grapevine_template_err_t  err;

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));

    if (ngx_grapevine_t_render(src, data, set, &out, &err)
        != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "%s", name);
        ngx_grapevine_tap_diag("error: %s", err.msg);

    } else {
        ngx_grapevine_tap_is_bytes(out.data, out.len, expected, name);
    }

    ngx_grapevine_test_buf_reset(&out);
}


static void
ngx_grapevine_t_compile_error(const char *src, const char *file,
    size_t line, const char *msg, const char *name)
{
    int                           ok;
    ngx_grapevine_template_t     *tpl;
    ngx_grapevine_template_err_t  err;

    memset(&err, 0, sizeof(ngx_grapevine_template_err_t));

    tpl = ngx_grapevine_template_compile(&arena, (const u_char *) src,
                                         strlen(src), file, &err);

    ok = (tpl == NULL && err.line == line && strcmp(err.msg, msg) == 0);

    if (!ngx_grapevine_tap_ok(ok, "compile error: %s", name)) {
        ngx_grapevine_tap_diag("     got: %s (line %lu)%s", err.msg,
                               (unsigned long) err.line,
                               tpl ? " (compiled)" : "");
        ngx_grapevine_tap_diag("expected: %s (line %lu)", msg,
                               (unsigned long) line);
    }
}


static ngx_grapevine_value_t *
ngx_grapevine_t_object1(const char *key, ngx_grapevine_value_t *v)
{
    ngx_grapevine_value_t  *o;

    o = ngx_grapevine_value_object(&arena, 1);

    if (ngx_grapevine_object_add(&arena, o, (const u_char *) key,
                                 strlen(key), v)
        != NGX_GRAPEVINE_OK)
    {
        return NULL;
    }

    return o;
}


static ngx_grapevine_value_t *
ngx_grapevine_t_str(const char *s)
{
    return ngx_grapevine_value_string(&arena, (const u_char *) s, strlen(s));
}


static void
ngx_grapevine_test_compile_errors(void)
{
    ngx_grapevine_t_compile_error("<ul>\n{{#games}}\n  <li>{{name}}</li>\n",
                                  NULL, 2,
                                  "line 2: unclosed section \"games\"",
                                  "unclosed section");

    ngx_grapevine_t_compile_error("a\nb\nc\n\n{{#games}}\n{{#players}}\n"
                                  "{{/players}}\n",
                                  "index.mustache", 5,
                                  "index.mustache: line 5: unclosed section "
                                  "\"games\"",
                                  "unclosed section with the file name");

    ngx_grapevine_t_compile_error("{{#a}}\n{{#b}}\nx\n{{/a}}\n{{/b}}\n",
                                  NULL, 4,
                                  "line 4: mismatched close \"a\", expected "
                                  "\"b\" (opened on line 2)",
                                  "mismatched close");

    ngx_grapevine_t_compile_error("x\n\n{{/a}}", NULL, 3,
                                  "line 3: close of unopened section \"a\"",
                                  "close without open");

    ngx_grapevine_t_compile_error("one\n<p>{{name</p>\n<p>{{other}}</p>\n",
                                  NULL, 2, "line 2: unclosed tag \"{{\"",
                                  "unclosed tag before another tag");

    ngx_grapevine_t_compile_error("one\ntwo\nthree {{name", NULL, 3,
                                  "line 3: unclosed tag \"{{\"",
                                  "unclosed tag at the end");

    ngx_grapevine_t_compile_error("{{", NULL, 1, "line 1: unclosed tag \"{{\"",
                                  "bare open delimiter at the end");

    ngx_grapevine_t_compile_error("x\n{{{name}}\n", NULL, 2,
                                  "line 2: unclosed tag \"{{\"",
                                  "triple mustache closed by two braces");

    ngx_grapevine_t_compile_error("a\n\n{{=<% =}}\n", NULL, 3,
                                  "line 3: invalid delimiters \"<% \"",
                                  "delimiter tag with one delimiter");

    ngx_grapevine_t_compile_error("{{=<% %> x=}}", NULL, 1,
                                  "line 1: invalid delimiters \"<% %> x\"",
                                  "delimiter tag with three delimiters");

    ngx_grapevine_t_compile_error("{{=a= b=}}", NULL, 1,
                                  "line 1: invalid delimiters \"a= b\"",
                                  "delimiter with an equals sign");

    ngx_grapevine_t_compile_error("{{=<% %>=}}\n\n<%#a%>\n", NULL, 3,
                                  "line 3: unclosed section \"a\"",
                                  "line numbers after a delimiter change");

    ngx_grapevine_t_compile_error("{{=<% %>=}}\n<% x\n", NULL, 2,
                                  "line 2: unclosed tag \"<%\"",
                                  "unclosed tag with changed delimiters");

    ngx_grapevine_t_compile_error("{{!\n\n}}\n{{#x}}\n", NULL, 4,
                                  "line 4: unclosed section \"x\"",
                                  "line numbers after a multi-line comment");

    ngx_grapevine_t_compile_error("{{#a}}\r\n{{/a}}\r\n{{#b}}\r\n", NULL, 3,
                                  "line 3: unclosed section \"b\"",
                                  "line numbers with CRLF standalone lines");

    ngx_grapevine_t_compile_error("x\n{{}}", NULL, 2, "line 2: empty tag",
                                  "empty tag");

    ngx_grapevine_t_compile_error("{{a..b}}", NULL, 1,
                                  "line 1: invalid name \"a..b\"",
                                  "empty dotted name part");

    ngx_grapevine_t_compile_error("{{#a b}}{{/a b}}", NULL, 1,
                                  "line 1: invalid name \"a b\"",
                                  "name with a space");

    ngx_grapevine_t_compile_error("{{> }}", NULL, 1,
                                  "line 1: invalid partial name \"\"",
                                  "empty partial name");
}


static void
ngx_grapevine_test_nesting_limit(void)
{
    int                            i;
    char                           src[1024], *p;
    ngx_grapevine_template_err_t   err;
    ngx_grapevine_template_t      *tpl;

    p = src;

    for (i = 0; i < NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH; i++) {
        p += sprintf(p, "{{#a}}");
    }

    for (i = 0; i < NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH; i++) {
        p += sprintf(p, "{{/a}}");
    }

    tpl = ngx_grapevine_template_compile(&arena, (u_char *) src,
                                         p - src, NULL, &err);
    ngx_grapevine_tap_ok(tpl != NULL, "64 nested sections compile");

    p = src;

    for (i = 0; i <= NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH; i++) {
        p += sprintf(p, "{{#a}}");
    }

    tpl = ngx_grapevine_template_compile(&arena, (u_char *) src,
                                         p - src, NULL, &err);
    ngx_grapevine_tap_ok(tpl == NULL
                         && strcmp(err.msg, "line 1: sections nested deeper "
                                   "than 64") == 0,
                         "65 nested sections do not compile");
}


static void
ngx_grapevine_test_escaping(void)
{
    ngx_grapevine_value_t         *data;
    ngx_grapevine_test_buf_t       out;
    ngx_grapevine_template_err_t   err;

    data = ngx_grapevine_t_object1("x",
               ngx_grapevine_t_str("<script>alert(1)</script>"));

    ngx_grapevine_t_is_render("<p>{{x}}</p>", data, NULL,
                              "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
                              "XSS: a script element renders inert");

    ngx_grapevine_t_is_render("<p>{{ x }}</p>", data, NULL,
                              "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
                              "XSS: padded tag");

    ngx_grapevine_t_is_render("{{{x}}}|{{&x}}", data, NULL,
                              "<script>alert(1)</script>|"
                              "<script>alert(1)</script>",
                              "triple mustache and & are not escaped");

    data = ngx_grapevine_t_object1("x",
               ngx_grapevine_t_str("\" onmouseover='alert(1)' x=\"&"));

    ngx_grapevine_t_is_render("<a title=\"{{x}}\">", data, NULL,
                              "<a title=\"&quot; onmouseover=&#39;alert(1)"
                              "&#39; x=&quot;&amp;\">",
                              "XSS: attribute breakout is escaped");

    ngx_grapevine_t_is_render("<a title='{{x}}'>", data, NULL,
                              "<a title='&quot; onmouseover=&#39;alert(1)"
                              "&#39; x=&quot;&amp;'>",
                              "XSS: single-quoted attribute");

    data = ngx_grapevine_t_object1("x",
               ngx_grapevine_value_number(&arena, S("<b>1</b>")));

    ngx_grapevine_t_is_render("{{x}}", data, NULL, "&lt;b&gt;1&lt;/b&gt;",
                              "number text is escaped too");

    data = ngx_grapevine_t_object1("x",
               ngx_grapevine_value_string(&arena, S("a\0<b")));

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));
    ngx_grapevine_t_render("[{{x}}]", data, NULL, &out, &err);
    ngx_grapevine_tap_ok(out.len == 9 && memcmp(out.data, "[a\0&lt;b]", 9) == 0,
                         "NUL bytes in strings pass through");
    ngx_grapevine_test_buf_reset(&out);
}


static void
ngx_grapevine_test_values(void)
{
    ngx_grapevine_value_t  *data, *list;

    data = ngx_grapevine_value_object(&arena, 0);
    ngx_grapevine_object_add_lit(&arena, data, "neg",
                           ngx_grapevine_value_integer(&arena, -42));
    ngx_grapevine_object_add_lit(&arena, data, "min",
                           ngx_grapevine_value_integer(&arena, INT64_MIN));
    ngx_grapevine_object_add_lit(&arena, data, "max",
                           ngx_grapevine_value_integer(&arena, INT64_MAX));
    ngx_grapevine_object_add_lit(&arena, data, "zero",
                           ngx_grapevine_value_integer(&arena, 0));
    ngx_grapevine_object_add_lit(&arena, data, "price",
                           ngx_grapevine_value_number(&arena, S("19.90")));
    ngx_grapevine_object_add_lit(&arena, data, "yes",
                           ngx_grapevine_value_bool(&arena, 1));
    ngx_grapevine_object_add_lit(&arena, data, "no",
                           ngx_grapevine_value_bool(&arena, 0));
    ngx_grapevine_object_add_lit(&arena, data, "empty",
                           ngx_grapevine_value_string_lit(&arena, ""));
    ngx_grapevine_object_add_lit(&arena, data, "obj",
                           ngx_grapevine_value_object(&arena, 0));
    ngx_grapevine_object_add_lit(&arena, data, "null",
                           ngx_grapevine_value_null(&arena));

    list = ngx_grapevine_value_array(&arena, 0);
    ngx_grapevine_array_push(&arena, list, ngx_grapevine_t_str("a"));
    ngx_grapevine_object_add_lit(&arena, data, "list", list);

    ngx_grapevine_t_is_render("{{neg}} {{min}} {{max}} {{zero}} {{price}}",
                              data, NULL,
                              "-42 -9223372036854775808 9223372036854775807 "
                              "0 19.90",
                              "integers plain, number text as given");

    ngx_grapevine_t_is_render("{{yes}} {{no}} [{{null}}] [{{obj}}] [{{list}}]",
                              data, NULL, "true false [] [] []",
                              "booleans, null, objects and arrays");

    ngx_grapevine_t_is_render("{{#zero}}0 is true{{/zero}}"
                              "{{^empty}}, \"\" is false{{/empty}}"
                              "{{#obj}}, {} is true{{/obj}}",
                              data, NULL,
                              "0 is true, \"\" is false, {} is true",
                              "truthiness of 0, \"\" and {}");

    ngx_grapevine_tap_ok(ngx_grapevine_object_set(&arena, data, S("zero"),
                             ngx_grapevine_value_integer(&arena, 7))
                         == NGX_GRAPEVINE_OK
                         && data->u.object.nelts == 11
                         && ngx_grapevine_object_get(data, S("zero"))
                            ->u.integer == 7,
                         "object_set replaces an existing key");

    ngx_grapevine_tap_ok(ngx_grapevine_array_push(&arena, list, NULL)
                         == NGX_GRAPEVINE_ERROR
                         && ngx_grapevine_object_add(&arena, data, S("x"),
                                                     NULL)
                            == NGX_GRAPEVINE_ERROR
                         && ngx_grapevine_array_push(&arena, data,
                                ngx_grapevine_value_null(&arena))
                            == NGX_GRAPEVINE_ERROR,
                         "appending NULL or to the wrong type fails");
}


static void
ngx_grapevine_test_big_array(void)
{
    int                       ok;
    size_t                    i, n;
    ngx_grapevine_value_t    *list, *data;
    ngx_grapevine_test_buf_t  out;
    ngx_grapevine_template_err_t  err;

    n = 200000;
    ok = 1;

    list = ngx_grapevine_value_array(&arena, 0);

    for (i = 0; i < n; i++) {
        if (ngx_grapevine_array_push(&arena, list,
                ngx_grapevine_value_integer(&arena, (int64_t) i))
            != NGX_GRAPEVINE_OK)
        {
            ok = 0;
            break;
        }
    }

    ngx_grapevine_tap_ok(ok && list->u.array.nelts == n
                         && list->u.array.elts[n - 1]->u.integer
                            == (int64_t) n - 1
                         && list->u.array.nalloc < 2 * n,
                         "200000 pushes, amortized by doubling");

    data = ngx_grapevine_t_object1("l", list);

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));

    ok = (ngx_grapevine_t_render("{{#l}}<{{.}}>{{/l}}", data, NULL, &out,
                                 &err)
          == NGX_GRAPEVINE_OK);

    ngx_grapevine_tap_ok(ok && out.len > 4096 * 100
                         && out.calls <= out.len / 4000 + 1
                         && memcmp(out.data + out.len - 8, "<199999>", 8)
                            == 0,
                         "a long list renders in 4k writes (%lu bytes in %lu"
                         " writes)", (unsigned long) out.len,
                         (unsigned long) out.calls);

    ngx_grapevine_test_buf_reset(&out);
}


static void
ngx_grapevine_test_long_runs(void)
{
    int                            ok;
    size_t                         i;
    u_char                        *big, *exp;
    ngx_grapevine_value_t         *data;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_buf_t       out;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_err_t   err;

    /* 10000 bytes of "a<" escaped to 10000 "a&lt;" and a 9000-byte text */

    big = malloc(20000);
    exp = malloc(60000);

    if (big == NULL || exp == NULL) {
        ngx_grapevine_tap_ok(0, "long runs: malloc");
        free(big);
        free(exp);
        return;
    }

    for (i = 0; i < 10000; i++) {
        big[i] = (i % 2) ? '<' : 'a';
    }

    data = ngx_grapevine_t_object1("x",
               ngx_grapevine_value_string(&arena, big, 10000));

    memset(big + 10000, 'T', 9000);
    memcpy(big + 10000 + 9000, "{{x}}", 5);

    tpl = ngx_grapevine_template_compile(&arena, big + 10000, 9005, NULL,
                                         &err);

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = &out;

    ok = (tpl != NULL
          && ngx_grapevine_template_render(tpl, data, &rc, &err)
             == NGX_GRAPEVINE_OK);

    memset(exp, 'T', 9000);

    for (i = 0; i < 5000; i++) {
        memcpy(exp + 9000 + i * 5, "a&lt;", 5);
    }

    ngx_grapevine_tap_ok(ok && out.len == 9000 + 25000
                         && memcmp(out.data, exp, out.len) == 0,
                         "long text and long escaped runs across buffers");

    /* a write error stops the rendering */

    ngx_grapevine_test_buf_reset(&out);
    out.fail_after = 1;

    ok = (ngx_grapevine_template_render(tpl, data, &rc, &err)
          == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && out.calls == 2
                         && strcmp(err.msg, "write failed") == 0,
                         "a failed write ends the rendering (%s)", err.msg);

    ngx_grapevine_test_buf_reset(&out);
    free(big);
    free(exp);
}


static void
ngx_grapevine_test_recursion(void)
{
    int                            i, ok;
    ngx_grapevine_value_t         *data, *node, *nodes;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_buf_t       out;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    set = ngx_grapevine_template_set_create(&arena);

    tpl = ngx_grapevine_template_compile(&arena,
              S("{{content}}<{{#nodes}}{{>node}}{{/nodes}}>"), "node", &err);
    ngx_grapevine_template_set_add(&arena, set, S("node"), tpl);

    tpl = ngx_grapevine_template_compile(&arena,
              S("x{{>loop}}"), "loop.mustache", &err);
    ngx_grapevine_template_set_add(&arena, set, S("loop"), tpl);

    /* a tree 20 levels deep renders, 100 levels deep is an error */

    data = NULL;

    for (i = 0; i < 100; i++) {
        node = ngx_grapevine_value_object(&arena, 2);
        nodes = ngx_grapevine_value_array(&arena, 1);

        ngx_grapevine_object_add_lit(&arena, node, "content",
                                     ngx_grapevine_value_integer(&arena, i));
        ngx_grapevine_object_add_lit(&arena, node, "nodes", nodes);

        if (data) {
            ngx_grapevine_array_push(&arena, nodes, data);
        }

        data = node;

        if (i == 19) {
            ngx_grapevine_t_is_render("{{>node}}", data, set,
                                      "19<18<17<16<15<14<13<12<11<10<9<8<7<"
                                      "6<5<4<3<2<1<0<>>>>>>>>>>>>>>>>>>>>",
                                      "recursive partial, 20 levels");
        }
    }

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));

    ok = (ngx_grapevine_t_render("{{>node}}", data, set, &out, &err)
          == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && strcmp(err.msg, "node: line 1: sections and "
                                      "partials nested deeper than 64 at "
                                      "\"node\"") == 0,
                         "recursion 100 levels deep is a render error");

    if (!ok || err.line != 1) {
        ngx_grapevine_tap_diag("%s", err.msg);
    }

    ngx_grapevine_test_buf_reset(&out);

    ok = (ngx_grapevine_t_render("{{>loop}}", NULL, set, &out, &err)
          == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && strcmp(err.msg, "loop.mustache: line 1: "
                                      "sections and partials nested deeper "
                                      "than 64 at \"loop\"") == 0,
                         "endless partial recursion is a render error");

    ngx_grapevine_test_buf_reset(&out);
}


static void
ngx_grapevine_test_partials(void)
{
    int                            ok;
    ngx_grapevine_value_t         *data;
    ngx_grapevine_template_t      *tpl, *page;
    ngx_grapevine_test_buf_t       out;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    set = ngx_grapevine_template_set_create(&arena);

    tpl = ngx_grapevine_template_compile(&arena,
              S("<li>{{name}}</li>\n<li>2</li>\n"), "item", &err);
    ngx_grapevine_template_set_add(&arena, set, S("item"), tpl);

    tpl = ngx_grapevine_template_compile(&arena,
              S("<ul>\n  {{>item}}\n</ul>\n"), "list", &err);
    ngx_grapevine_template_set_add(&arena, set, S("list"), tpl);

    tpl = ngx_grapevine_template_compile(&arena,
              S("<p>\n{{>item}} {{>item}}\n</p>\n"), "inline", &err);
    ngx_grapevine_template_set_add(&arena, set, S("inline"), tpl);

    tpl = ngx_grapevine_template_compile(&arena,
              S("{{#items}}\n<li>{{.}}</li>\n{{/items}}\n"
                "{{^items}}\n  <li>none</li>\n{{/items}}\n"), "items", &err);
    ngx_grapevine_template_set_add(&arena, set, S("items"), tpl);

    data = ngx_grapevine_t_object1("items",
                                   ngx_grapevine_value_array(&arena, 2));
    ngx_grapevine_array_push(&arena, data->u.object.elts[0].value,
                             ngx_grapevine_t_str("a"));
    ngx_grapevine_array_push(&arena, data->u.object.elts[0].value,
                             ngx_grapevine_t_str("b"));

    ngx_grapevine_t_is_render("<ul>\n  {{>items}}\n</ul>\n", data, set,
                              "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n",
                              "standalone sections in an indented partial");

    ngx_grapevine_t_is_render("<ul>\n\t{{>items}}\n</ul>\n", NULL, set,
                              "<ul>\n\t  <li>none</li>\n</ul>\n",
                              "inverted section in a tab-indented partial");

    data = ngx_grapevine_t_object1("name", ngx_grapevine_t_str("x"));

    ngx_grapevine_t_is_render("<div>\n    {{>list}}\n</div>\n", data, set,
                              "<div>\n    <ul>\n      <li>x</li>\n"
                              "      <li>2</li>\n    </ul>\n</div>\n",
                              "nested standalone partials add indentation");

    ngx_grapevine_t_is_render("<div>\n  {{>inline}}\n</div>\n", data, set,
                              "<div>\n  <p>\n  <li>x</li>\n<li>2</li>\n"
                              " <li>x</li>\n<li>2</li>\n\n  </p>\n</div>\n",
                              "inline partials inside an indented partial");

    ngx_grapevine_t_is_render("[{{>missing}}]", data, set, "[]",
                              "a missing partial renders as nothing");

    /* strict partials */

    page = ngx_grapevine_template_compile(&arena,
               S("<p>\n\n  {{> missing }}\n"), "page.mustache", &err);

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = &out;
    rc.partial = ngx_grapevine_template_set_lookup;
    rc.partial_ctx = set;
    rc.strict_partials = 1;

    ok = (page != NULL
          && ngx_grapevine_template_render(page, data, &rc, &err)
             == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && err.line == 3
                         && strcmp(err.msg, "page.mustache: line 3: partial "
                                   "\"missing\" not found") == 0,
                         "strict: a missing partial is a render error");

    ngx_grapevine_test_buf_reset(&out);

    /* link */

    ngx_grapevine_tap_ok(ngx_grapevine_template_set_link(set, &err)
                         == NGX_GRAPEVINE_OK,
                         "a complete set links");

    ngx_grapevine_template_set_add(&arena, set, S("page"), page);

    ok = (ngx_grapevine_template_set_link(set, &err) == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && err.line == 3
                         && strcmp(err.msg, "page.mustache: line 3: partial "
                                   "\"missing\" not found") == 0,
                         "link: a missing partial names file and line");

    /* linked partials render without a lookup callback */

    page = ngx_grapevine_template_set_find(set, S("list"));
    rc.partial = NULL;

    ok = (page != NULL
          && ngx_grapevine_template_render(page, data, &rc, &err)
             == NGX_GRAPEVINE_OK);

    ngx_grapevine_tap_is_bytes(out.data, out.len,
                               "<ul>\n  <li>x</li>\n  <li>2</li>\n</ul>\n",
                               "linked partials render without lookups");

    ngx_grapevine_test_buf_reset(&out);
}


/*
 * The spec says "each line of the partial should be indented before
 * rendering": compare a standalone, indented partial with the same
 * partial whose source was indented by hand, for many random templates.
 */

static void
ngx_grapevine_t_indent_source(const char *src, const char *indent, char *out)
{
    const char  *p;

    for (p = src; *p; p++) {
        if (p == src || p[-1] == '\n') {
            out = stpcpy(out, indent);
        }

        *out++ = *p;
    }

    *out = '\0';
}


static int
ngx_grapevine_t_render_set(ngx_grapevine_arena_t *a, const char *top,
    const char *pname, const char *psrc, ngx_grapevine_value_t *data,
    ngx_grapevine_test_buf_t *out, ngx_grapevine_template_err_t *err)
{
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_set_t  *set;

    static const char  r[] = "R{{a}}\n  {{#s}}\nS\n  {{/s}}\n";

    /* a parent with blocks of every kind of indentation */

    static const char  pp[] =
        "P1 {{$y}}dy{{/y}}\n"
        "  {{$x}}\n"
        "    dx\n"
        "  {{/x}}\n"
        "  {{$z}}{{/z}}\n"
        "{{#t}}\n"
        "    {{$w}}\n"
        "    {{/w}}\n"
        "{{/t}}\n"
        "  {{>r}}\n"
        "{{$x}}X{{/x}}|{{$z}}\n{{/z}}|";

    set = ngx_grapevine_template_set_create(a);
    if (set == NULL) {
        return NGX_GRAPEVINE_ERROR;
    }

    tpl = ngx_grapevine_template_compile(a, (const u_char *) r,
                                         sizeof(r) - 1, "r", err);
    if (ngx_grapevine_template_set_add(a, set, S("r"), tpl)
        != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    tpl = ngx_grapevine_template_compile(a, (const u_char *) pp,
                                         sizeof(pp) - 1, "P", err);
    if (ngx_grapevine_template_set_add(a, set, S("P"), tpl)
        != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    tpl = ngx_grapevine_template_compile(a, (const u_char *) psrc,
                                         strlen(psrc), pname, err);
    if (ngx_grapevine_template_set_add(a, set, (const u_char *) pname,
                                       strlen(pname), tpl)
        != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    tpl = ngx_grapevine_template_compile(a, (const u_char *) top,
                                         strlen(top), "top", err);
    if (tpl == NULL
        || ngx_grapevine_template_set_add(a, set, S("top"), tpl)
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_template_set_link(set, err) != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = out;
    rc.strict_partials = 1;

    return ngx_grapevine_template_render(tpl, data, &rc, err);
}


static void
ngx_grapevine_test_indent_model(void)
{
    int                            i, k, n, mismatches, depth;
    char                           src[2048], indented[4096];
    char                           stack[16];
    uint32_t                       seed;
    const char                    *piece;
    ngx_grapevine_arena_t          a;
    ngx_grapevine_value_t         *data, *list;
    ngx_grapevine_test_buf_t       one, two;
    ngx_grapevine_test_pool_t      p;
    ngx_grapevine_template_err_t   err;

    static const char  *pieces[] = {
        "x", "yz", "\n", "\n", "\r\n", "  ", "\t", "{{a}}", "{{{a}}}",
        "{{! c }}", "{{!\nc\n}}", "{{>r}}", "{{=<% %>=}}<%a%><%={{ }}=%>",
        "{{=<% %>=}}\n<%={{ }}=%>", "{{.}}", "{{#", "{{^", "{{/"
    };

    static const char   names[] = "sft";

    seed = 12345;
    mismatches = 0;

    data = ngx_grapevine_value_object(&arena, 4);
    list = ngx_grapevine_value_array(&arena, 2);
    ngx_grapevine_array_push(&arena, list,
                             ngx_grapevine_value_integer(&arena, 1));
    ngx_grapevine_array_push(&arena, list,
                             ngx_grapevine_value_integer(&arena, 2));
    ngx_grapevine_object_add_lit(&arena, data, "a",
                                 ngx_grapevine_t_str("v\nw"));
    ngx_grapevine_object_add_lit(&arena, data, "s",
                                 ngx_grapevine_value_bool(&arena, 1));
    ngx_grapevine_object_add_lit(&arena, data, "f",
                                 ngx_grapevine_value_bool(&arena, 0));
    ngx_grapevine_object_add_lit(&arena, data, "t", list);

    for (i = 0; i < 5000; i++) {
        src[0] = '\0';
        depth = 0;
        n = 1 + (int) ((seed = seed * 1103515245 + 12345) >> 16) % 14;

        for (k = 0; k < n || depth > 0; k++) {
            seed = seed * 1103515245 + 12345;

            piece = (k < n) ? pieces[(seed >> 16) % (sizeof(pieces)
                                                     / sizeof(pieces[0]))]
                            : "{{/";

            if (strcmp(piece, "{{/") == 0) {
                if (depth == 0) {
                    continue;
                }

                sprintf(src + strlen(src), "{{/%c}}", stack[--depth]);

            } else if (piece[0] == '{' && piece[1] == '{'
                       && (piece[2] == '#' || piece[2] == '^')
                       && piece[3] == '\0')
            {
                if (depth == (int) sizeof(stack)) {
                    continue;
                }

                stack[depth] = names[(seed >> 20) % 3];
                sprintf(src + strlen(src), "%s%c}}", piece, stack[depth]);
                depth++;

            } else {
                strcat(src, piece);
            }
        }

        ngx_grapevine_t_indent_source(src, "  ", indented);

        ngx_grapevine_test_pool_init(&p, &a);
        memset(&one, 0, sizeof(ngx_grapevine_test_buf_t));
        memset(&two, 0, sizeof(ngx_grapevine_test_buf_t));

        if (ngx_grapevine_t_render_set(&a, "  {{>p}}\n", "p", src, data,
                                       &one, &err)
            != NGX_GRAPEVINE_OK
            || ngx_grapevine_t_render_set(&a, "{{>q}}", "q", indented, data,
                                          &two, &err)
               != NGX_GRAPEVINE_OK
            || one.len != two.len
            || (one.len && memcmp(one.data, two.data, one.len) != 0))
        {
            if (mismatches++ == 0) {
                ngx_grapevine_tap_diag("error: %s", err.msg);
                ngx_grapevine_tap_diag_bytes("partial", (u_char *) src,
                                             strlen(src));
                ngx_grapevine_tap_diag_bytes("indented", one.data, one.len);
                ngx_grapevine_tap_diag_bytes("by hand", two.data, two.len);
            }
        }

        ngx_grapevine_test_buf_reset(&one);
        ngx_grapevine_test_buf_reset(&two);
        ngx_grapevine_test_pool_free(&p);
    }

    ngx_grapevine_tap_ok(mismatches == 0,
                         "partial indentation as the spec defines it, "
                         "5000 random templates (%d differ)", mismatches);
}


/*
 * A set of templates from { name, source, ... NULL }, linked; NULL with
 * err filled in if a template does not compile or the set does not link.
 */

static ngx_grapevine_template_set_t *
ngx_grapevine_t_set(const char **src, ngx_grapevine_template_err_t *err)
{
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_template_set_t  *set;

    set = ngx_grapevine_template_set_create(&arena);
    if (set == NULL) {
        return NULL;
    }

    for ( /* void */ ; src[0]; src += 2) {
        tpl = ngx_grapevine_template_compile(&arena, (const u_char *) src[1],
                                             strlen(src[1]), src[0], err);
        if (tpl == NULL
            || ngx_grapevine_template_set_add(&arena, set,
                                              (const u_char *) src[0],
                                              strlen(src[0]), tpl)
               != NGX_GRAPEVINE_OK)
        {
            return NULL;
        }
    }

    if (ngx_grapevine_template_set_link(set, err) != NGX_GRAPEVINE_OK) {
        return NULL;
    }

    return set;
}


/* renders the template "page" of a linked set, as the module does */

static int
ngx_grapevine_t_page(ngx_grapevine_template_set_t *set, const char *page,
    ngx_grapevine_value_t *data, ngx_grapevine_test_buf_t *out,
    ngx_grapevine_template_err_t *err)
{
    ngx_grapevine_template_t     *tpl;
    ngx_grapevine_render_conf_t   rc;

    tpl = ngx_grapevine_template_set_find(set, (const u_char *) page,
                                          strlen(page));
    if (tpl == NULL) {
        snprintf(err->msg, sizeof(err->msg), "no template \"%s\"", page);
        return NGX_GRAPEVINE_ERROR;
    }

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = out;
    rc.strict_partials = 1;

    return ngx_grapevine_template_render(tpl, data, &rc, err);
}


static void
ngx_grapevine_t_is_page(ngx_grapevine_template_set_t *set, const char *page,
    ngx_grapevine_value_t *data, const char *expected, const char *name)
{
    ngx_grapevine_test_buf_t      out;
    ngx_grapevine_template_err_t  err;

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));
    err.msg[0] = '\0';

    if (set == NULL
        || ngx_grapevine_t_page(set, page, data, &out, &err)
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "%s", name);
        ngx_grapevine_tap_diag("error: %s", set ? err.msg : "no set");

    } else {
        ngx_grapevine_tap_is_bytes(out.data, out.len, expected, name);
    }

    ngx_grapevine_test_buf_reset(&out);
}


/* a set that must not link: the error message and line */

static void
ngx_grapevine_t_link_error(const char **src, size_t line, const char *msg,
    const char *name)
{
    int                            ok;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    memset(&err, 0, sizeof(ngx_grapevine_template_err_t));

    set = ngx_grapevine_t_set(src, &err);

    ok = (set == NULL && err.line == line && strcmp(err.msg, msg) == 0);

    if (!ngx_grapevine_tap_ok(ok, "link error: %s", name)) {
        ngx_grapevine_tap_diag("     got: %s (line %lu)%s", err.msg,
                               (unsigned long) err.line,
                               set ? " (linked)" : "");
        ngx_grapevine_tap_diag("expected: %s (line %lu)", msg,
                               (unsigned long) line);
    }
}


/* pages on a layout: what the site's templates do with inheritance */

static void
ngx_grapevine_test_inheritance(void)
{
    ngx_grapevine_value_t         *data, *games;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    static const char  *site[] = {
        "layout",
        "<!DOCTYPE html>\n"
        "<title>{{$title}}Grapevine{{/title}} · {{site_name}}</title>\n"
        "{{> nav}}\n"
        "<main>\n"
        "  {{$content}}\n"
        "  <p>Nothing here.</p>\n"
        "  {{/content}}\n"
        "</main>\n",

        "nav",
        "<nav>\n"
        "  <a href=\"/games\"{{$nav_games}}{{/nav_games}}>Games</a>\n"
        "  <a href=\"/chat\"{{$nav_chat}}{{/nav_chat}}>Chat</a>\n"
        "</nav>\n",

        "games",
        "{{! the games page }}\n"
        "{{<layout}}\n"
        "{{$title}}Games{{/title}}\n"
        "{{$nav_games}} class=\"active\"{{/nav_games}}\n"
        "{{$content}}\n"
        "<h1>Games</h1>\n"
        "<ul>\n"
        "  {{#games}}\n"
        "  <li>{{name}}</li>\n"
        "  {{/games}}\n"
        "</ul>\n"
        "{{/content}}\n"
        "{{/layout}}\n",

        "404",
        "{{<layout}}{{$title}}Not found{{/title}}{{/layout}}\n",

        "section",
        "{{<layout}}\n"
        "  {{$title}}Chat{{/title}}\n"
        "  {{$nav_chat}} class=\"active\"{{/nav_chat}}\n"
        "  {{$content}}\n"
        "    <h1>{{$title}}Chat{{/title}}</h1>\n"
        "    {{$body}}\n"
        "    <p>No channel.</p>\n"
        "    {{/body}}\n"
        "  {{/content}}\n"
        "{{/layout}}\n",

        "channel",
        "{{<section}}\n"
        "  {{$title}}#{{name}}{{/title}}\n"
        "  {{$body}}\n"
        "    <p>{{name}} &lt;3</p>\n"
        "  {{/body}}\n"
        "{{/section}}\n",

        NULL
    };

    set = ngx_grapevine_t_set(site, &err);

    if (!ngx_grapevine_tap_ok(set != NULL, "inheritance: a site's set links"))
    {
        ngx_grapevine_tap_diag("%s", err.msg);
    }

    data = ngx_grapevine_value_object(&arena, 3);
    games = ngx_grapevine_value_array(&arena, 2);
    ngx_grapevine_array_push(&arena, games,
        ngx_grapevine_t_object1("name", ngx_grapevine_t_str("A & B")));
    ngx_grapevine_array_push(&arena, games,
        ngx_grapevine_t_object1("name", ngx_grapevine_t_str("C")));
    ngx_grapevine_object_add_lit(&arena, data, "games", games);
    ngx_grapevine_object_add_lit(&arena, data, "site_name",
                                 ngx_grapevine_t_str("Grape<vine>"));
    ngx_grapevine_object_add_lit(&arena, data, "name",
                                 ngx_grapevine_t_str("gossip"));

    ngx_grapevine_t_is_page(set, "games", data,
        "<!DOCTYPE html>\n"
        "<title>Games · Grape&lt;vine&gt;</title>\n"
        "<nav>\n"
        "  <a href=\"/games\" class=\"active\">Games</a>\n"
        "  <a href=\"/chat\">Chat</a>\n"
        "</nav>\n"
        "<main>\n"
        "  <h1>Games</h1>\n"
        "  <ul>\n"
        "    <li>A &amp; B</li>\n"
        "    <li>C</li>\n"
        "  </ul>\n"
        "</main>\n",
        "inheritance: a page sets the title, the navigation and the content "
        "of its layout, through a partial of the layout, reindented");

    ngx_grapevine_t_is_page(set, "404", data,
        "<!DOCTYPE html>\n"
        "<title>Not found · Grape&lt;vine&gt;</title>\n"
        "<nav>\n"
        "  <a href=\"/games\">Games</a>\n"
        "  <a href=\"/chat\">Chat</a>\n"
        "</nav>\n"
        "<main>\n"
        "  <p>Nothing here.</p>\n"
        "</main>\n",
        "inheritance: blocks not passed render their defaults");

    ngx_grapevine_t_is_page(set, "layout", data,
        "<!DOCTYPE html>\n"
        "<title>Grapevine · Grape&lt;vine&gt;</title>\n"
        "<nav>\n"
        "  <a href=\"/games\">Games</a>\n"
        "  <a href=\"/chat\">Chat</a>\n"
        "</nav>\n"
        "<main>\n"
        "  <p>Nothing here.</p>\n"
        "</main>\n",
        "inheritance: the layout alone, blocks outside any parent");

    ngx_grapevine_t_is_page(set, "channel", data,
        "<!DOCTYPE html>\n"
        "<title>#gossip · Grape&lt;vine&gt;</title>\n"
        "<nav>\n"
        "  <a href=\"/games\">Games</a>\n"
        "  <a href=\"/chat\" class=\"active\">Chat</a>\n"
        "</nav>\n"
        "<main>\n"
        "  <h1>#gossip</h1>\n"
        "  <p>gossip &lt;3</p>\n"
        "</main>\n",
        "inheritance: three levels, the outermost argument wins, one block "
        "twice in a layout");
}


/* what the spec leaves open: indentation of arguments not standalone */

static void
ngx_grapevine_test_inheritance_indent(void)
{
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    static const char  *one[] = {
        "pair", "Hi,\n  {{$b}}{{/b}}\n",
        "inline", "a\n  x{{$b}}{{/b}}y\n",
        "lines", "<p>\n  {{$b}}{{/b}}\n</p>\n",
        "first", "{{<pair}}{{$b}}one\ntwo{{/b}}{{/pair}}",
        "second", "  {{<inline}}{{$b}}one\ntwo{{/b}}{{/inline}}\n",
        "held", "  {{<pair}}{{/pair}} x\n  {{$c}}d{{/c}}\n",
        "page", "<div>\n  {{>child}}\n</div>\n",
        "child", "{{<inline}}{{$b}}one\ntwo{{/b}}{{/inline}}",
        "page2", "<div>\n  {{>child2}}\n</div>\n",
        "child2", "{{<lines}}\n{{$b}}\none\ntwo\n{{/b}}\n{{/lines}}\n",
        "empty", "[\n  {{<pair}}{{$b}}{{/b}}{{/pair}}\n]\n",
        "tag", "Hi,\n  {{$b}}\n{{/b}}\n",
        "third", "{{<tag}}{{$b}}\none\n{{/b}}{{/tag}}",
        NULL
    };

    set = ngx_grapevine_t_set(one, &err);

    if (!ngx_grapevine_tap_ok(set != NULL, "block indentation: set links")) {
        ngx_grapevine_tap_diag("%s", err.msg);
    }

    ngx_grapevine_t_is_page(set, "first", NULL, "Hi,\n  one\n  two\n",
                            "block indentation: a standalone block indents "
                            "each line of its argument, the first too");

    ngx_grapevine_t_is_page(set, "second", NULL, "  a\n    xone\ntwoy\n",
                            "block indentation: a block that is not "
                            "standalone does not indent its argument");

    ngx_grapevine_t_is_page(set, "held", NULL, "  Hi,\n\n x\n  d\n",
                            "block indentation: a parent and a block that "
                            "are not standalone keep the whitespace before "
                            "them");

    ngx_grapevine_t_is_page(set, "page", NULL,
                            "<div>\n  a\n    xone\n  twoy\n</div>\n",
                            "block indentation: an argument keeps the "
                            "indentation of the partial it is written in");

    ngx_grapevine_t_is_page(set, "page2", NULL,
                            "<div>\n  <p>\n    one\n    two\n\n  </p>\n"
                            "</div>\n",
                            "block indentation: an argument whose opening "
                            "tag ends its line drops it, and gets the "
                            "block's");

    ngx_grapevine_t_is_page(set, "empty", NULL, "[\n  Hi,\n\n]\n",
                            "block indentation: an empty argument in a "
                            "standalone pair leaves its line end");

    ngx_grapevine_t_is_page(set, "third", NULL, "Hi,\n  one\n",
                            "block indentation: a standalone block without "
                            "content is indented as its opening tag is");
}


static void
ngx_grapevine_test_inheritance_errors(void)
{
    int                            ok;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_buf_t       out;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    static const char  *missing[] = {
        "page", "a\n\n{{<layout}}{{$x}}X{{/x}}{{/layout}}\n",
        NULL
    };

    static const char  *self[] = {
        "self", "{{! me }}\n{{<self}}{{/self}}",
        NULL
    };

    static const char  *loop[] = {
        "loop", "x{{>loop}}",
        NULL
    };

    static const char  *two[] = {
        "a", "x\n{{>b}}",
        "b", "{{#s}}{{>a}}{{/s}}{{$t}}{{>a}}{{/t}}\n{{<a}}{{$t}}{{/t}}{{/a}}",
        NULL
    };

    static const char  *text[] = {
        "p", "[{{$a}}{{/a}}]",
        "page", "{{<p}}\n junk {{! c }}\n{{=<% %>=}}<%$a%>A<%/a%> junk<%/p%>",
        NULL
    };

    ngx_grapevine_t_compile_error("<html>\n{{<layout}}\n"
                                  "{{$title}}x{{/title}}\n",
                                  "page.mustache", 2,
                                  "page.mustache: line 2: unclosed parent "
                                  "\"layout\"",
                                  "unclosed parent");

    ngx_grapevine_t_compile_error("{{$title}}\nx\n", NULL, 1,
                                  "line 1: unclosed block \"title\"",
                                  "unclosed block");

    ngx_grapevine_t_compile_error("{{<l}}\n{{$a}}x{{/b}}\n{{/l}}", NULL, 2,
                                  "line 2: mismatched close \"b\", expected "
                                  "\"a\" (opened on line 2)",
                                  "a block closed by another name");

    ngx_grapevine_t_compile_error("{{<layout}}\n{{$content}}\n<p>\n"
                                  "{{/layout}}\n", NULL, 4,
                                  "line 4: mismatched close \"layout\", "
                                  "expected \"content\" (opened on line 2)",
                                  "a block closed by its parent's name");

    ngx_grapevine_t_compile_error("{{#s}}\n{{$b}}\n{{/s}}\n{{/b}}\n", NULL, 3,
                                  "line 3: mismatched close \"s\", expected "
                                  "\"b\" (opened on line 2)",
                                  "a block across the end of a section");

    ngx_grapevine_t_compile_error("{{<l}}\n  <h1>{{ title }}</h1>\n{{/l}}\n",
                                  NULL, 2,
                                  "line 2: variable \"title\" in parent "
                                  "\"l\" is outside any block",
                                  "a variable in a parent, outside a block");

    ngx_grapevine_t_compile_error("{{<l}}{{#x}}{{$a}}{{/a}}{{/x}}{{/l}}",
                                  NULL, 1,
                                  "line 1: section \"x\" in parent \"l\" is "
                                  "outside any block",
                                  "a section in a parent, outside a block");

    ngx_grapevine_t_compile_error("{{<l}}\n{{> p}}\n{{/l}}", NULL, 2,
                                  "line 2: partial \"p\" in parent \"l\" is "
                                  "outside any block",
                                  "a partial in a parent, outside a block");

    ngx_grapevine_t_compile_error("{{<l}}{{<m}}{{/m}}{{/l}}", NULL, 1,
                                  "line 1: parent \"m\" in parent \"l\" is "
                                  "outside any block",
                                  "a parent in a parent, outside a block");

    ngx_grapevine_t_compile_error("{{<l}}\n{{$a}}1{{/a}}\n{{$a}}2{{/a}}\n"
                                  "{{/l}}", NULL, 3,
                                  "line 3: block \"a\" passed twice to "
                                  "parent \"l\" (first on line 2)",
                                  "a block passed twice");

    ngx_grapevine_t_compile_error("{{<a b}}{{/a b}}", NULL, 1,
                                  "line 1: invalid parent name \"a b\"",
                                  "parent name with a space");

    ngx_grapevine_t_compile_error("x\n{{< }}", NULL, 2,
                                  "line 2: invalid parent name \"\"",
                                  "empty parent name");

    ngx_grapevine_t_compile_error("{{$}}{{/}}", NULL, 1,
                                  "line 1: invalid block name \"\"",
                                  "empty block name");

    ngx_grapevine_t_compile_error("{{$b}}\n{{/ }}", NULL, 2,
                                  "line 2: empty tag",
                                  "empty closing tag of a block");

    ngx_grapevine_t_compile_error("{{$b}}{{/b c}}", NULL, 1,
                                  "line 1: invalid closing name \"b c\"",
                                  "closing tag of a block with a space");

    /* a missing parent */

    ngx_grapevine_t_link_error(missing, 3,
                               "page: line 3: parent \"layout\" not found",
                               "a missing parent names file and line");

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));
    set = ngx_grapevine_template_set_create(&arena);

    ngx_grapevine_t_is_render("a[{{<none}}{{$x}}X{{/x}}{{/none}}]\n"
                              "  {{<none}}\n  {{/none}}\nb", NULL, set,
                              "a[]\nb",
                              "a missing parent renders as nothing");

    tpl = ngx_grapevine_template_compile(&arena,
              S("a\n{{<none}}{{/none}}"), "page.mustache", &err);

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = &out;
    rc.partial = ngx_grapevine_template_set_lookup;
    rc.partial_ctx = set;
    rc.strict_partials = 1;

    ok = (tpl != NULL
          && ngx_grapevine_template_render(tpl, NULL, &rc, &err)
             == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && err.line == 2
                         && strcmp(err.msg, "page.mustache: line 2: parent "
                                   "\"none\" not found") == 0,
                         "strict: a missing parent is a render error");

    ngx_grapevine_test_buf_reset(&out);

    /* templates that include themselves whatever the data */

    ngx_grapevine_t_link_error(self, 2,
                               "self: line 2: parent \"self\" includes "
                               "itself, whatever the data",
                               "a parent that is the template itself");

    ngx_grapevine_t_link_error(loop, 1,
                               "loop: line 1: partial \"loop\" includes "
                               "itself, whatever the data",
                               "a partial that is the template itself");

    ngx_grapevine_t_link_error(two, 2,
                               "b: line 2: parent \"a\" includes itself, "
                               "whatever the data",
                               "a template that includes itself through "
                               "another, past sections and blocks");

    /* text, comments and delimiters in a parent, outside its blocks */

    ngx_grapevine_t_is_page(ngx_grapevine_t_set(text, &err), "page", NULL,
                            "[A]",
                            "text, comments and delimiters in a parent are "
                            "ignored");
}


static void
ngx_grapevine_test_inheritance_limits(void)
{
    int                            i, k, ok;
    char                           src[1024], *p, *names, *srcs;
    const char                    *chain[2 * 67 + 1];
    ngx_grapevine_value_t         *data, *n;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_buf_t       out;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    static const char  *recursion[] = {
        "page", "{{<parent}}{{$foo}}override{{/foo}}{{/parent}}",
        "parent", "{{$foo}}default content{{/foo}} "
                  "{{$bar}}{{<parent2}}{{/parent2}}{{/bar}}",
        "parent2", "{{$foo}}parent2 default content{{/foo}} "
                   "{{<parent}}{{$bar}}don't recurse{{/bar}}{{/parent}}",
        "tree", "{{name}}{{#kids}}({{<tree}}{{/tree}}){{/kids}}",
        "endless", "{{$b}}x{{<endless}}{{/endless}}{{/b}}",
        NULL
    };

    static const char  *deep[] = {
        "Q", "{{#n}}\n  {{>Q}}\n{{/n}}\n{{^n}}\n{{>R}}\n{{/n}}\n",
        "R", "{{<A}}{{$a}}x\n{{<B}}{{$b}}x\n{{<C}}{{$c}}x\ny\n{{/c}}{{/C}}\n"
             "{{/b}}{{/B}}\n{{/a}}{{/A}}",
        "A", "  {{$a}}{{/a}}",
        "B", "  {{$b}}{{/b}}",
        "C", "  {{$c}}{{/c}}",
        NULL
    };

    /* 64 nested blocks compile, 65 do not */

    p = src;

    for (i = 0; i < NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH; i++) {
        p += sprintf(p, i % 2 ? "{{$b}}" : "{{<p}}");
    }

    for (i = NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH - 1; i >= 0; i--) {
        p += sprintf(p, i % 2 ? "{{/b}}" : "{{/p}}");
    }

    tpl = ngx_grapevine_template_compile(&arena, (u_char *) src, p - src,
                                         NULL, &err);
    ngx_grapevine_tap_ok(tpl != NULL,
                         "64 nested parents and blocks compile");

    p = src;

    for (i = 0; i <= NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH; i++) {
        p += sprintf(p, "{{$b}}");
    }

    tpl = ngx_grapevine_template_compile(&arena, (u_char *) src, p - src,
                                         NULL, &err);
    ngx_grapevine_tap_ok(tpl == NULL
                         && strcmp(err.msg, "line 1: sections nested deeper "
                                   "than 64") == 0,
                         "65 nested blocks do not compile");

    /*
     * indentation: an argument that keeps the indentation of where it is
     * written doubles the indentation strings in force at each level; 15
     * levels of partials and three of such arguments fit, 16 do not
     */

    set = ngx_grapevine_t_set(deep, &err);

    for (k = 15; k <= 16; k++) {
        data = ngx_grapevine_t_object1("n",
                                       ngx_grapevine_value_bool(&arena, 0));

        for (i = 0; i < k; i++) {
            data = ngx_grapevine_t_object1("n", data);
        }

        memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));

        ok = (set != NULL
              && ngx_grapevine_t_page(set, "Q", data, &out, &err)
                 == (k == 15 ? NGX_GRAPEVINE_OK : NGX_GRAPEVINE_ERROR));

        if (k == 15) {
            /* 16, 32, 64 and 127 times two spaces */

            ngx_grapevine_tap_ok(ok && out.len == 34 + 66 + 130 + 256
                                 && memcmp(out.data + out.len - 4, "  y\n",
                                           4) == 0
                                 && out.data[out.len - 257] == '\n',
                                 "127 indentation strings in force render");

        } else {
            ngx_grapevine_tap_ok(ok && strcmp(err.msg, "C: line 1: "
                                              "indentation nested deeper "
                                              "than 128 at \"c\"") == 0,
                                 "more are a render error (%s)", err.msg);
        }

        ngx_grapevine_test_buf_reset(&out);
    }

    /* recursion that ends, or depends on the data, links */

    set = ngx_grapevine_t_set(recursion, &err);

    if (!ngx_grapevine_tap_ok(set != NULL,
                              "recursion through blocks and sections links"))
    {
        ngx_grapevine_tap_diag("%s", err.msg);
    }

    ngx_grapevine_t_is_page(set, "page", NULL,
                            "override override override don't recurse",
                            "recursion ended by an argument (the spec's)");

    data = ngx_grapevine_t_object1("name", ngx_grapevine_t_str("c"));
    ngx_grapevine_object_add_lit(&arena, data, "kids",
                                 ngx_grapevine_value_bool(&arena, 0));

    for (i = 0; i < 3; i++) {
        n = ngx_grapevine_t_object1("name",
                                    ngx_grapevine_value_integer(&arena, i));
        ngx_grapevine_object_add_lit(&arena, n, "kids", data);
        data = n;
    }

    ngx_grapevine_t_is_page(set, "tree", data, "2(1(0(c)))",
                            "a parent that includes itself in a section");

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));

    ok = (set != NULL
          && ngx_grapevine_t_page(set, "endless", NULL, &out, &err)
             == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && strcmp(err.msg, "endless: line 1: sections "
                                      "and partials nested deeper than 64 "
                                      "at \"b\"") == 0
                         && out.len == 0,
                         "endless recursion through a block's default is a "
                         "render error (%s)", err.msg);

    ngx_grapevine_test_buf_reset(&out);

    /* without link, a parent that is the template itself fails to render */

    tpl = ngx_grapevine_template_compile(&arena, S("x{{<self}}{{/self}}"),
                                         "self.mustache", &err);
    set = ngx_grapevine_template_set_create(&arena);
    ngx_grapevine_template_set_add(&arena, set, S("self"), tpl);

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = &out;
    rc.partial = ngx_grapevine_template_set_lookup;
    rc.partial_ctx = set;

    ok = (tpl != NULL
          && ngx_grapevine_template_render(tpl, NULL, &rc, &err)
             == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && strcmp(err.msg, "self.mustache: line 1: "
                                      "sections and partials nested deeper "
                                      "than 64 at \"self\"") == 0,
                         "without link, a template that is its own parent "
                         "is a render error");

    ngx_grapevine_test_buf_reset(&out);

    /*
     * a chain of parents t0 -> t1 -> ... -> tN: 64 render and link, 65 is
     * an error at link time as at render time
     */

    names = malloc(67 * 8);
    srcs = malloc(67 * 32);

    if (names == NULL || srcs == NULL) {
        ngx_grapevine_tap_ok(0, "chain of parents: malloc");
        free(names);
        free(srcs);
        return;
    }

    for (i = 0; i <= 65; i++) {
        sprintf(names + i * 8, "t%d", i);
        sprintf(srcs + i * 32, "{{<t%d}}{{/t%d}}", i + 1, i + 1);
        chain[2 * i] = names + i * 8;
        chain[2 * i + 1] = srcs + i * 32;
    }

    chain[2 * 64 + 1] = "end";
    chain[2 * 65] = NULL;

    ngx_grapevine_t_is_page(ngx_grapevine_t_set(chain, &err), "t0", NULL,
                            "end", "a chain of 64 parents");

    chain[2 * 64 + 1] = srcs + 64 * 32;
    chain[2 * 65] = names + 65 * 8;
    chain[2 * 65 + 1] = "end";
    chain[2 * 66] = NULL;

    ngx_grapevine_t_link_error(chain, 1,
                               "t64: line 1: partials and parents nested "
                               "deeper than 64 at \"t65\", whatever the "
                               "data",
                               "a chain of 65 parents does not link");

    set = ngx_grapevine_template_set_create(&arena);

    for (i = 0; i <= 65; i++) {
        tpl = ngx_grapevine_template_compile(&arena,
                  (const u_char *) chain[2 * i + 1],
                  strlen(chain[2 * i + 1]), chain[2 * i], &err);
        ngx_grapevine_template_set_add(&arena, set,
                                       (const u_char *) chain[2 * i],
                                       strlen(chain[2 * i]), tpl);
    }

    tpl = ngx_grapevine_template_set_find(set, S("t0"));
    rc.partial_ctx = set;

    ok = (tpl != NULL
          && ngx_grapevine_template_render(tpl, NULL, &rc, &err)
             == NGX_GRAPEVINE_ERROR);

    ngx_grapevine_tap_ok(ok && strcmp(err.msg, "t64: line 1: sections and "
                                      "partials nested deeper than 64 at "
                                      "\"t65\"") == 0,
                         "a chain of 65 parents fails to render, where the "
                         "link said");

    ngx_grapevine_test_buf_reset(&out);
    free(names);
    free(srcs);
}


/*
 * Parents and blocks in the same model: random templates with parent tags
 * passing blocks (arguments) to "P" and blocks of their own, rendered as
 * an indented partial and indented by hand, must give the same output.
 */

static void
ngx_grapevine_test_inheritance_model(void)
{
    int                            i, k, n, mismatches, depth, inargs;
    char                           src[4096], indented[8192], *p;
    char                           kind[16], name[16], used[16];
    uint32_t                       seed;
    const char                    *piece;
    ngx_grapevine_arena_t          a;
    ngx_grapevine_value_t         *data, *list;
    ngx_grapevine_test_buf_t       one, two;
    ngx_grapevine_test_pool_t      pool1;
    ngx_grapevine_template_err_t   err;

    static const char  *pieces[] = {
        "x", "yz", "\n", "\n", "\n", "\r\n", "  ", "  ", "\t", "{{a}}",
        "{{! c }}", "{{>r}}", "{{=<% %>=}}<%a%><%={{ }}=%>", "{{.}}",
        "{{#", "{{^", "{{/", "{{/", "{{<P}}", "{{<P}}", "{{$", "{{$"
    };

    /* what may be in a parent tag: its text is ignored */

    static const char  *args[] = {
        "\n", "\n", "  ", "junk", "{{! c }}", "{{$", "{{$", "{{/"
    };

    static const char   sections[] = "sft";
    static const char   blocks[] = "xyzw";

    seed = 4242;
    mismatches = 0;

    data = ngx_grapevine_value_object(&arena, 4);
    list = ngx_grapevine_value_array(&arena, 2);
    ngx_grapevine_array_push(&arena, list,
                             ngx_grapevine_value_integer(&arena, 1));
    ngx_grapevine_array_push(&arena, list,
                             ngx_grapevine_value_integer(&arena, 2));
    ngx_grapevine_object_add_lit(&arena, data, "a",
                                 ngx_grapevine_t_str("v\nw"));
    ngx_grapevine_object_add_lit(&arena, data, "s",
                                 ngx_grapevine_value_bool(&arena, 1));
    ngx_grapevine_object_add_lit(&arena, data, "f",
                                 ngx_grapevine_value_bool(&arena, 0));
    ngx_grapevine_object_add_lit(&arena, data, "t", list);

    for (i = 0; i < 5000; i++) {
        p = src;
        *p = '\0';
        depth = 0;
        inargs = 0;
        n = 1 + (int) ((seed = seed * 1103515245 + 12345) >> 16) % 30;

        for (k = 0; k < n || depth > 0; k++) {
            seed = seed * 1103515245 + 12345;

            if (k >= n) {
                piece = "{{/";

            } else if (depth && kind[depth - 1] == 'P') {
                piece = args[(seed >> 16) % (sizeof(args) / sizeof(args[0]))];

            } else {
                piece = pieces[(seed >> 16)
                               % (sizeof(pieces) / sizeof(pieces[0]))];
            }

            if (strcmp(piece, "{{/") == 0) {
                if (depth == 0) {
                    continue;
                }

                depth--;

                if (kind[depth] == 'P') {
                    p += sprintf(p, "{{/P}}");

                } else {
                    p += sprintf(p, "{{/%c}}", name[depth]);
                }

                if (kind[depth] == 'a') {
                    inargs--;
                }

                continue;
            }

            if (depth == (int) sizeof(kind)
                && (piece[2] == '#' || piece[2] == '^' || piece[2] == '<'
                    || piece[2] == '$'))
            {
                continue;
            }

            if (piece[0] == '{' && (piece[2] == '#' || piece[2] == '^')) {
                kind[depth] = 's';
                name[depth] = sections[(seed >> 20) % 3];
                p += sprintf(p, "%s%c}}", piece, name[depth]);
                depth++;

            } else if (strcmp(piece, "{{<P}}") == 0) {

                /*
                 * not in an argument: P's blocks would render it again,
                 * endlessly
                 */

                if (inargs) {
                    continue;
                }

                kind[depth] = 'P';
                used[depth] = 0;
                p += sprintf(p, "%s", piece);
                depth++;

            } else if (strcmp(piece, "{{$") == 0) {

                if (depth && kind[depth - 1] == 'P') {
                    /* an argument of P: x, y or z, once each */

                    name[depth] = blocks[(seed >> 20) % 3];

                    if (used[depth - 1] & (1 << (name[depth] - 'w'))) {
                        continue;
                    }

                    used[depth - 1] |= 1 << (name[depth] - 'w');
                    kind[depth] = 'a';
                    inargs++;

                } else {
                    /* in an argument, "w" only: no argument is named so */

                    kind[depth] = 'b';
                    name[depth] = inargs ? 'w' : blocks[(seed >> 20) % 4];
                }

                p += sprintf(p, "{{$%c}}", name[depth]);
                depth++;

            } else {
                p = stpcpy(p, piece);
            }
        }

        ngx_grapevine_t_indent_source(src, "  ", indented);

        ngx_grapevine_test_pool_init(&pool1, &a);
        memset(&one, 0, sizeof(ngx_grapevine_test_buf_t));
        memset(&two, 0, sizeof(ngx_grapevine_test_buf_t));

        if (ngx_grapevine_t_render_set(&a, "  {{>p}}\n", "p", src, data,
                                       &one, &err)
            != NGX_GRAPEVINE_OK
            || ngx_grapevine_t_render_set(&a, "{{>q}}", "q", indented, data,
                                          &two, &err)
               != NGX_GRAPEVINE_OK
            || one.len != two.len
            || (one.len && memcmp(one.data, two.data, one.len) != 0))
        {
            if (mismatches++ == 0) {
                ngx_grapevine_tap_diag("error: %s", err.msg);
                ngx_grapevine_tap_diag_bytes("partial", (u_char *) src,
                                             strlen(src));
                ngx_grapevine_tap_diag_bytes("indented", one.data, one.len);
                ngx_grapevine_tap_diag_bytes("by hand", two.data, two.len);
            }
        }

        ngx_grapevine_test_buf_reset(&one);
        ngx_grapevine_test_buf_reset(&two);
        ngx_grapevine_test_pool_free(&pool1);
    }

    ngx_grapevine_tap_ok(mismatches == 0,
                         "parents and blocks in an indented partial, as if "
                         "indented by hand, 5000 random templates (%d "
                         "differ)", mismatches);
}


static int
ngx_grapevine_t_write_file(const char *dir, const char *name,
    const char *text)
{
    FILE  *f;
    char   path[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }

    fputs(text, f);

    return fclose(f);
}


static void
ngx_grapevine_t_rm(const char *dir, const char *name)
{
    char  path[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    if (unlink(path) == -1) {
        rmdir(path);
    }
}


static void
ngx_grapevine_test_load_dir(void)
{
    int                            ok;
    char                           dir[64], expect[512], sub[128];
    ngx_grapevine_value_t         *data;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_buf_t       out;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    strcpy(dir, "/tmp/grapevine-template-XXXXXX");

    if (mkdtemp(dir) == NULL) {
        ngx_grapevine_tap_ok(0, "load dir: mkdtemp");
        return;
    }

    snprintf(sub, sizeof(sub), "%s/sub.mustache", dir);

    ok = (ngx_grapevine_t_write_file(dir, "page.mustache",
              "<html>\n  {{> header}}\n  <ul>\n  {{#games}}\n"
              "    <li>{{name}}</li>\n  {{/games}}\n  </ul>\n</html>\n") == 0
          && ngx_grapevine_t_write_file(dir, "header.mustache",
              "<h1>{{title}}</h1>\n") == 0
          && ngx_grapevine_t_write_file(dir, "notes.txt", "{{#x}}") == 0
          && ngx_grapevine_t_write_file(dir, ".hidden.mustache", "{{#x}}")
             == 0
          && ngx_grapevine_t_write_file(dir, ".mustache", "{{#x}}") == 0
          && mkdir(sub, 0700) == 0);

    if (!ok) {
        ngx_grapevine_tap_ok(0, "load dir: set up %s", dir);
        goto cleanup;
    }

    set = ngx_grapevine_template_set_create(&arena);

    ok = (ngx_grapevine_template_set_load_dir(&arena, set, dir, &err)
          == NGX_GRAPEVINE_OK);

    if (!ngx_grapevine_tap_ok(ok && ngx_grapevine_template_set_count(set)
                                    == 2,
                              "load dir: two templates, others ignored"))
    {
        ngx_grapevine_tap_diag("%s", err.msg);
    }

    tpl = ngx_grapevine_template_set_find(set, S("page"));

    snprintf(expect, sizeof(expect), "%s/page.mustache", dir);

    ngx_grapevine_tap_ok(tpl != NULL
                         && strcmp(ngx_grapevine_template_name(tpl), expect)
                            == 0,
                         "load dir: named by file name, path kept");

    data = ngx_grapevine_value_object(&arena, 2);
    ngx_grapevine_object_add_lit(&arena, data, "title",
                                 ngx_grapevine_t_str("Games & more"));
    ngx_grapevine_object_add_lit(&arena, data, "games",
                                 ngx_grapevine_value_array(&arena, 2));
    ngx_grapevine_array_push(&arena, ngx_grapevine_object_get(data,
                                                              S("games")),
                             ngx_grapevine_t_object1("name",
                                 ngx_grapevine_t_str("<MUD>")));
    ngx_grapevine_array_push(&arena, ngx_grapevine_object_get(data,
                                                              S("games")),
                             ngx_grapevine_t_object1("name",
                                 ngx_grapevine_t_str("Moo")));

    memset(&out, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = &out;
    rc.strict_partials = 1;

    ok = (tpl != NULL
          && ngx_grapevine_template_render(tpl, data, &rc, &err)
             == NGX_GRAPEVINE_OK);

    if (!ok) {
        ngx_grapevine_tap_diag("%s", err.msg);
    }

    ngx_grapevine_tap_is_bytes(out.data, out.len,
                               "<html>\n  <h1>Games &amp; more</h1>\n  <ul>\n"
                               "    <li>&lt;MUD&gt;</li>\n"
                               "    <li>Moo</li>\n  </ul>\n</html>\n",
                               "load dir: renders with linked partials");

    ngx_grapevine_test_buf_reset(&out);

    /* a missing partial names the file and line */

    ngx_grapevine_t_write_file(dir, "index.mustache",
                               "<body>\n\n{{> nav }}\n</body>\n");

    set = ngx_grapevine_template_set_create(&arena);

    ok = (ngx_grapevine_template_set_load_dir(&arena, set, dir, &err)
          == NGX_GRAPEVINE_ERROR);

    snprintf(expect, sizeof(expect),
             "%s/index.mustache: line 3: partial \"nav\" not found", dir);

    if (!ngx_grapevine_tap_ok(ok && err.line == 3
                              && strcmp(err.msg, expect) == 0,
                              "load dir: missing partial, file and line"))
    {
        ngx_grapevine_tap_diag("got: %s", err.msg);
    }

    /* a compile error names the file and line */

    ngx_grapevine_t_write_file(dir, "nav.mustache",
                               "<nav>\n{{#links}}\n<a>{{/link}}\n</nav>\n");

    set = ngx_grapevine_template_set_create(&arena);

    ok = (ngx_grapevine_template_set_load_dir(&arena, set, dir, &err)
          == NGX_GRAPEVINE_ERROR);

    snprintf(expect, sizeof(expect),
             "%s/nav.mustache: line 3: mismatched close \"link\", expected "
             "\"links\" (opened on line 2)", dir);

    if (!ngx_grapevine_tap_ok(ok && err.line == 3
                              && strcmp(err.msg, expect) == 0,
                              "load dir: compile error, file and line"))
    {
        ngx_grapevine_tap_diag("got: %s", err.msg);
    }

    /* a missing parent names the file and line */

    ngx_grapevine_t_write_file(dir, "nav.mustache", "<nav></nav>\n");
    ngx_grapevine_t_write_file(dir, "games.mustache",
                               "{{<layout}}\n{{$title}}Games{{/title}}\n"
                               "{{/layout}}\n");

    set = ngx_grapevine_template_set_create(&arena);

    ok = (ngx_grapevine_template_set_load_dir(&arena, set, dir, &err)
          == NGX_GRAPEVINE_ERROR);

    snprintf(expect, sizeof(expect),
             "%s/games.mustache: line 1: parent \"layout\" not found", dir);

    if (!ngx_grapevine_tap_ok(ok && err.line == 1
                              && strcmp(err.msg, expect) == 0,
                              "load dir: missing parent, file and line"))
    {
        ngx_grapevine_tap_diag("got: %s", err.msg);
    }

    /* so does a template that includes itself */

    ngx_grapevine_t_write_file(dir, "layout.mustache",
                               "<title>{{$title}}{{/title}}</title>\n"
                               "{{<games}}{{/games}}\n");

    set = ngx_grapevine_template_set_create(&arena);

    ok = (ngx_grapevine_template_set_load_dir(&arena, set, dir, &err)
          == NGX_GRAPEVINE_ERROR);

    snprintf(expect, sizeof(expect),
             "%s/layout.mustache: line 2: parent \"games\" includes itself, "
             "whatever the data", dir);

    if (!ngx_grapevine_tap_ok(ok && err.line == 2
                              && strcmp(err.msg, expect) == 0,
                              "load dir: a template that is its own parent's "
                              "parent, file and line"))
    {
        ngx_grapevine_tap_diag("got: %s", err.msg);
    }

    /* a directory that does not exist */

    snprintf(expect, sizeof(expect), "%s/none", dir);

    set = ngx_grapevine_template_set_create(&arena);

    ok = (ngx_grapevine_template_set_load_dir(&arena, set, expect, &err)
          == NGX_GRAPEVINE_ERROR);

    strcat(expect, ": cannot open directory: No such file or directory");

    if (!ngx_grapevine_tap_ok(ok && strcmp(err.msg, expect) == 0,
                              "load dir: missing directory"))
    {
        ngx_grapevine_tap_diag("got: %s", err.msg);
    }

cleanup:

    ngx_grapevine_t_rm(dir, "page.mustache");
    ngx_grapevine_t_rm(dir, "header.mustache");
    ngx_grapevine_t_rm(dir, "index.mustache");
    ngx_grapevine_t_rm(dir, "nav.mustache");
    ngx_grapevine_t_rm(dir, "games.mustache");
    ngx_grapevine_t_rm(dir, "layout.mustache");
    ngx_grapevine_t_rm(dir, "notes.txt");
    ngx_grapevine_t_rm(dir, ".hidden.mustache");
    ngx_grapevine_t_rm(dir, ".mustache");
    ngx_grapevine_t_rm(dir, "sub.mustache");
    rmdir(dir);
}


/* every allocation may fail: compile and build a tree with each failing */

static void
ngx_grapevine_test_alloc_failures(void)
{
    int                            ok, done;
    size_t                         n;
    ngx_grapevine_arena_t          a;
    ngx_grapevine_value_t         *v, *list;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_pool_t      p;
    ngx_grapevine_template_err_t   err;

    static const char  src[] =
        "{{=<% %>=}}<%#a.b.c%>\n<%x%><%={{ }}=%>{{>p}}{{/a.b.c}}{{^d}}"
        "{{{e.f}}}{{/d}}\n{{#l}}{{.}}{{/l}}{{!c}}{{#m}}{{n}}{{/m}}"
        "{{<p}}{{$a}}x\n{{/a}}{{$b}}\n  y\n  {{/b}}{{/p}}{{$c}}\n  z\n{{/c}}";

    ok = 1;
    done = 0;

    for (n = 1; n < 1000; n++) {
        ngx_grapevine_test_pool_init(&p, &a);
        p.fail_at = n;

        tpl = ngx_grapevine_template_compile(&a, (const u_char *) src,
                                             sizeof(src) - 1, "f", &err);

        if (tpl != NULL) {
            ngx_grapevine_test_pool_free(&p);
            done = 1;
            break;

        } else if (strcmp(err.msg, "f: out of memory") != 0) {
            ngx_grapevine_tap_diag("allocation %lu: %s", (unsigned long) n,
                                   err.msg);
            ok = 0;
        }

        ngx_grapevine_test_pool_free(&p);
    }

    ngx_grapevine_tap_ok(ok && done,
                         "compile: each of %lu allocations may fail",
                         (unsigned long) n - 1);

    ok = 1;
    done = 0;

    for (n = 1; n < 1000; n++) {
        ngx_grapevine_test_pool_init(&p, &a);
        p.fail_at = n;

        v = ngx_grapevine_value_object(&a, 0);
        list = ngx_grapevine_value_array(&a, 0);

        if (ngx_grapevine_object_add_lit(&a, v, "a",
                ngx_grapevine_value_string_copy(&a, S("x"))) == 0
            && ngx_grapevine_object_add_lit(&a, v, "b",
                   ngx_grapevine_value_number_copy(&a, S("1.5"))) == 0
            && ngx_grapevine_array_push(&a, list,
                   ngx_grapevine_value_integer(&a, 1)) == 0
            && ngx_grapevine_array_push(&a, list,
                   ngx_grapevine_value_bool(&a, 1)) == 0
            && ngx_grapevine_array_push(&a, list,
                   ngx_grapevine_value_null(&a)) == 0
            && ngx_grapevine_array_push(&a, list,
                   ngx_grapevine_value_object(&a, 3)) == 0
            && ngx_grapevine_array_push(&a, list,
                   ngx_grapevine_value_array(&a, 3)) == 0
            && ngx_grapevine_array_push(&a, list,
                   ngx_grapevine_value_null(&a)) == 0
            && ngx_grapevine_object_add_lit(&a, v, "l", list) == 0)
        {
            done = 1;
            ok = (v->u.object.nelts == 3 && list->u.array.nelts == 6);
        }

        ngx_grapevine_test_pool_free(&p);

        if (done) {
            break;
        }
    }

    ngx_grapevine_tap_ok(ok && done, "tree: each of %lu allocations may fail",
                         (unsigned long) n - 1);
}


/*
 * One block apart, as the site keeps a page's content: block_only writes
 * only what the block expands to, block_fill puts a text in its place;
 * the two together give the page as a whole rendering does.
 */

static int
ngx_grapevine_t_apart(ngx_grapevine_template_set_t *set, const char *page,
    ngx_grapevine_value_t *data, int only, const u_char *text, size_t len,
    ngx_grapevine_test_buf_t *out)
{
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_err_t   err;

    tpl = ngx_grapevine_template_set_find(set, (const u_char *) page,
                                          strlen(page));
    if (tpl == NULL) {
        return NGX_GRAPEVINE_ERROR;
    }

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.write = ngx_grapevine_test_write;
    rc.write_ctx = out;
    rc.strict_partials = 1;
    rc.block.data = (u_char *) "content";
    rc.block.len = sizeof("content") - 1;
    rc.block_text.data = (u_char *) text;
    rc.block_text.len = len;
    rc.block_only = only;
    rc.block_fill = !only;

    return ngx_grapevine_template_render(tpl, data, &rc, &err);
}


static void
ngx_grapevine_test_block_apart(void)
{
    ngx_grapevine_value_t         *data, *items;
    ngx_grapevine_test_buf_t       whole, only, fill;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    static const char  *site[] = {
        "layout",
        "<nav>{{#me}}{{me}}{{/me}}{{^me}}Sign in{{/me}}</nav>\n"
        "<main>\n"
        "{{$personal_top}}\n"
        "{{/personal_top}}\n"
        "{{$content}}\n"
        "{{/content}}\n"
        "{{$personal}}\n"
        "{{/personal}}\n"
        "</main>\n",

        "page",
        "{{<layout}}\n"
        "{{$content}}\n"
        "<ul>\n"
        "  {{#items}}\n"
        "  <li>{{.}}</li>\n"
        "  {{/items}}\n"
        "</ul>\n"
        "{{/content}}\n"
        "{{$personal}}\n"
        "<p>{{me}}</p>\n"
        "{{/personal}}\n"
        "{{/layout}}\n",

        NULL
    };

    set = ngx_grapevine_t_set(site, &err);

    items = ngx_grapevine_value_array(&arena, 2);
    data = ngx_grapevine_t_object1("items", items);

    if (set == NULL || items == NULL || data == NULL
        || ngx_grapevine_array_push(&arena, items, ngx_grapevine_t_str("a"))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_array_push(&arena, items, ngx_grapevine_t_str("b"))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_add(&arena, data, S("me"),
                                    ngx_grapevine_t_str("Ann"))
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "block apart: the set (%s)", err.msg);
        return;
    }

    memset(&whole, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&only, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&fill, 0, sizeof(ngx_grapevine_test_buf_t));

    ngx_grapevine_t_is_page(set, "page", data,
                            "<nav>Ann</nav>\n"
                            "<main>\n"
                            "<ul>\n"
                            "  <li>a</li>\n"
                            "  <li>b</li>\n"
                            "</ul>\n"
                            "<p>Ann</p>\n"
                            "</main>\n",
                            "block apart: the whole page");

    if (ngx_grapevine_t_apart(set, "page", data, 1, NULL, 0, &only)
        != NGX_GRAPEVINE_OK
        || ngx_grapevine_t_page(set, "page", data, &whole, &err)
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "block apart: only the content");

    } else {
        ngx_grapevine_tap_is_bytes(only.data, only.len,
                                   "<ul>\n"
                                   "  <li>a</li>\n"
                                   "  <li>b</li>\n"
                                   "</ul>\n",
                                   "block apart: only the content");

        if (ngx_grapevine_t_apart(set, "page", data, 0, only.data, only.len,
                                  &fill)
            != NGX_GRAPEVINE_OK)
        {
            ngx_grapevine_tap_ok(0, "block apart: filled, the whole page");

        } else {
            ngx_grapevine_tap_ok(fill.len == whole.len
                                 && memcmp(fill.data, whole.data, fill.len)
                                    == 0,
                                 "block apart: filled with it, the whole "
                                 "page");
        }
    }

    ngx_grapevine_test_buf_reset(&fill);

    if (ngx_grapevine_t_apart(set, "page", data, 0, S("KEPT\n"), &fill)
        != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "block apart: filled with a text");

    } else {
        ngx_grapevine_tap_is_bytes(fill.data, fill.len,
                                   "<nav>Ann</nav>\n"
                                   "<main>\n"
                                   "KEPT\n"
                                   "<p>Ann</p>\n"
                                   "</main>\n",
                                   "block apart: filled with a text, the "
                                   "rest rendered");
    }

    ngx_grapevine_test_buf_reset(&whole);
    ngx_grapevine_test_buf_reset(&only);
    ngx_grapevine_test_buf_reset(&fill);
}


/*
 * What the rest of a page reads (ngx_grapevine_template_rest()): the
 * members named outside the block, through the parent and partials, and
 * the page rendered around the kept block with only them is the page.
 */

static void
ngx_grapevine_test_block_rest(void)
{
    ngx_grapevine_value_t         *data, *items, *rest;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_test_buf_t       whole, only, fill;
    ngx_grapevine_render_conf_t    rc;
    ngx_grapevine_template_set_t  *set;
    ngx_grapevine_template_err_t   err;

    static const char  *site[] = {
        "layout",
        "<title>{{$title}}{{/title}}</title>\n"
        "<nav>{{#me}}{{me}}{{/me}}{{^me}}Sign in{{/me}}</nav>\n"
        "{{$content}}\n"
        "{{#unused}}{{big}}{{/unused}}\n"
        "{{/content}}\n"
        "{{$personal}}\n"
        "{{/personal}}\n",

        "form",
        "<form>{{#token}}{{.}}{{/token}}{{#more}}{{>form}}{{/more}}</form>",

        "page",
        "{{<layout}}\n"
        "{{$title}}{{channel.name}}{{/title}}\n"
        "{{$content}}\n"
        "<ul>{{#items}}<li>{{.}}</li>{{/items}}</ul>\n"
        "{{/content}}\n"
        "{{$personal}}\n"
        "{{#channel}}{{#me}}{{>form}}{{/me}}{{/channel}}\n"
        "{{/personal}}\n"
        "{{/layout}}\n",

        "dot",
        "{{<layout}}{{$personal}}{{.}}{{/personal}}{{/layout}}",

        NULL
    };

    set = ngx_grapevine_t_set(site, &err);

    items = ngx_grapevine_value_array(&arena, 2);
    data = ngx_grapevine_value_object(&arena, 8);

    if (set == NULL || items == NULL || data == NULL
        || ngx_grapevine_array_push(&arena, items, ngx_grapevine_t_str("a"))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_add(&arena, data, S("items"), items)
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_add(&arena, data, S("big"),
                                    ngx_grapevine_t_str("BIG"))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_add(&arena, data, S("channel"),
                                    ngx_grapevine_t_object1("name",
                                        ngx_grapevine_t_str("gossip")))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_add(&arena, data, S("token"),
                                    ngx_grapevine_t_str("T0K"))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_add(&arena, data, S("me"),
                                    ngx_grapevine_t_str("Ann"))
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "block rest: the set (%s)", err.msg);
        return;
    }

    memset(&rc, 0, sizeof(ngx_grapevine_render_conf_t));
    rc.partial = ngx_grapevine_template_set_lookup;
    rc.partial_ctx = set;
    rc.block.data = (u_char *) "content";
    rc.block.len = sizeof("content") - 1;
    rc.block_fill = 1;

    tpl = ngx_grapevine_template_set_find(set, S("page"));
    rest = tpl ? ngx_grapevine_template_rest(tpl, data, &rc, &arena) : NULL;

    ngx_grapevine_tap_ok(rest != NULL
                         && rest->u.object.nelts == 3
                         && ngx_grapevine_object_get(rest, S("channel"))
                         && ngx_grapevine_object_get(rest, S("me"))
                         && ngx_grapevine_object_get(rest, S("token"))
                         && !ngx_grapevine_object_get(rest, S("items"))
                         && !ngx_grapevine_object_get(rest, S("big")),
                         "block rest: the members named outside the block, "
                         "through the parent and a partial that includes "
                         "itself");

    memset(&whole, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&only, 0, sizeof(ngx_grapevine_test_buf_t));
    memset(&fill, 0, sizeof(ngx_grapevine_test_buf_t));

    if (rest == NULL
        || ngx_grapevine_t_page(set, "page", data, &whole, &err)
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_t_apart(set, "page", data, 1, NULL, 0, &only)
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_t_apart(set, "page", rest, 0, only.data, only.len,
                                 &fill)
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_tap_ok(0, "block rest: the page filled, with the rest");

    } else {
        ngx_grapevine_tap_ok(fill.len == whole.len
                             && memcmp(fill.data, whole.data, fill.len) == 0
                             && whole.len > 0,
                             "block rest: the page filled, with the rest "
                             "only, is the page");
    }

    tpl = ngx_grapevine_template_set_find(set, S("dot"));

    ngx_grapevine_tap_ok(tpl != NULL
                         && ngx_grapevine_template_rest(tpl, data, &rc,
                                                        &arena)
                            == NULL,
                         "block rest: \".\" outside a section: not told");

    ngx_grapevine_test_buf_reset(&whole);
    ngx_grapevine_test_buf_reset(&only);
    ngx_grapevine_test_buf_reset(&fill);
}


int
main(void)
{
    ngx_grapevine_test_pool_init(&pool, &arena);

    ngx_grapevine_test_compile_errors();
    ngx_grapevine_test_nesting_limit();
    ngx_grapevine_test_escaping();
    ngx_grapevine_test_values();
    ngx_grapevine_test_big_array();
    ngx_grapevine_test_long_runs();
    ngx_grapevine_test_recursion();
    ngx_grapevine_test_partials();
    ngx_grapevine_test_indent_model();
    ngx_grapevine_test_inheritance_model();
    ngx_grapevine_test_inheritance();
    ngx_grapevine_test_inheritance_indent();
    ngx_grapevine_test_inheritance_errors();
    ngx_grapevine_test_inheritance_limits();
    ngx_grapevine_test_block_apart();
    ngx_grapevine_test_block_rest();
    ngx_grapevine_test_load_dir();
    ngx_grapevine_test_alloc_failures();

    ngx_grapevine_test_pool_free(&pool);

    return ngx_grapevine_tap_done();
}
