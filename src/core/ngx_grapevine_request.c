
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sodium.h>

#include "ngx_grapevine_request.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_json.h"
#include "ngx_grapevine_params.h"


#define NGX_GRAPEVINE_REQ_WORDS_MAX   1024      /* a message's bytes */

#define NGX_GRAPEVINE_REQ_CSP                                                 \
    "default-src 'self'; script-src 'self'; object-src 'none'; "             \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


static void ngx_grapevine_req_cleanup(void *data);
static void *ngx_grapevine_req_alloc(void *ctx, size_t size);
static void ngx_grapevine_req_body(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_req_json_form(ngx_grapevine_req_t *rq,
    u_char *body, size_t len);
static ngx_uint_t ngx_grapevine_req_type_is(ngx_table_elt_t *type,
    const char *media);
static u_char *ngx_grapevine_req_unescape(u_char *dst, u_char *src,
    u_char *end);
static u_char *ngx_grapevine_req_args_json(ngx_grapevine_req_t *rq);
static ngx_int_t ngx_grapevine_req_text(ngx_grapevine_req_t *rq,
    ngx_grapevine_json_t *j, ngx_str_t *text);
static void ngx_grapevine_req_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static ngx_int_t ngx_grapevine_req_common(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_grapevine_value_t *data);
static ngx_int_t ngx_grapevine_req_words(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_grapevine_value_t *data);
static ngx_int_t ngx_grapevine_req_say(ngx_grapevine_req_t *rq,
    ngx_str_t *code, ngx_grapevine_value_t *data, ngx_str_t *text);
static const char *ngx_grapevine_req_code(ngx_uint_t status);
static ngx_int_t ngx_grapevine_req_headers(ngx_grapevine_req_t *rq);
static void ngx_grapevine_req_send(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_grapevine_json_t *out, ngx_uint_t json);


/*
 * A request context of size bytes (the application's, which begins with
 * an ngx_grapevine_req_t), with the query string of a GET or HEAD read
 * into its fields.  NULL: out of memory.
 */

ngx_grapevine_req_t *
ngx_grapevine_req_create(ngx_http_request_t *r, size_t size,
    ngx_grapevine_req_conf_t *conf)
{
    ngx_http_cleanup_t   *cln;
    ngx_grapevine_req_t  *rq;

    rq = ngx_pcalloc(r->pool, size);
    if (rq == NULL) {
        return NULL;
    }

    rq->r = r;
    rq->conf = conf;
    rq->arena.alloc = ngx_grapevine_req_alloc;
    rq->arena.ctx = r->pool;
    rq->q.data = rq;

    if (ngx_array_init(&rq->fields, r->pool, 8,
                       sizeof(ngx_grapevine_field_t))
        != NGX_OK
        || ngx_array_init(&rq->args, r->pool, 8,
                          sizeof(ngx_grapevine_req_arg_t))
           != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_grapevine_req_cleanup;
    cln->data = rq;

    /* core's slot: the body handler finds the request's context there */
    ngx_http_set_ctx(r, rq, ngx_http_grapevine_module);

    if ((r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) && r->args.len
        && ngx_grapevine_req_form(rq, r->args.data,
                                  r->args.data + r->args.len)
           != NGX_OK)
    {
        return NULL;
    }

    return rq;
}


static void
ngx_grapevine_req_cleanup(void *data)
{
    ngx_grapevine_req_t  *rq = data;

    ngx_grapevine_pg_cancel(&rq->q);

    if (rq->cleanup) {
        rq->cleanup(rq);
    }
}


static void *
ngx_grapevine_req_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* ----------------------------------------------------------------- forms */


/*
 * Reads a POST's body (at most NGX_GRAPEVINE_REQ_BODY_MAX bytes) into the
 * fields, then calls done; a body too large, of another type, or not a
 * JSON object of strings is answered here.  Returns what the content
 * handler returns.
 */

ngx_int_t
ngx_grapevine_req_read_body(ngx_grapevine_req_t *rq,
    ngx_grapevine_req_pt done)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = rq->r;

    if (r->headers_in.content_length_n > NGX_GRAPEVINE_REQ_BODY_MAX) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        rq->sync = 1;
        ngx_grapevine_req_error(rq, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                "form_too_large", NULL);
        rq->sync = 0;

        return rq->rc;
    }

    rq->body_read = done;

    rc = ngx_http_read_client_request_body(r, ngx_grapevine_req_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_grapevine_req_body(ngx_http_request_t *r)
{
    u_char               *p, *body;
    size_t                len;
    ngx_buf_t            *b;
    ngx_chain_t          *cl;
    ngx_table_elt_t      *type;
    ngx_grapevine_req_t  *rq;

    rq = ngx_http_get_module_ctx(r, ngx_http_grapevine_module);

    rq->in_body = 1;

    len = 0;

    if (r->request_body && r->request_body->bufs) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (b->in_file || b->file) {
                ngx_grapevine_req_error(rq, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "form_too_large", NULL);
                goto done;
            }

            len += b->last - b->pos;
        }
    }

    if (len > NGX_GRAPEVINE_REQ_BODY_MAX) {
        ngx_grapevine_req_error(rq, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                "form_too_large", NULL);
        goto done;
    }

    body = NULL;

    if (len) {
        body = ngx_pnalloc(r->pool, len + 1);
        if (body == NULL) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            goto done;
        }

        p = body;

        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }

        *p = '\0';
    }

    type = r->headers_in.content_type;

    if (len && rq->json_bodies
        && ngx_grapevine_req_type_is(type, "application/json"))
    {
        if (ngx_grapevine_req_json_form(rq, body, len) == NGX_OK) {
            rq->body_read(rq);
        }

        goto done;
    }

    if (len
        && !ngx_grapevine_req_type_is(type,
                                      "application/x-www-form-urlencoded"))
    {
        ngx_grapevine_req_error(rq, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                rq->json_bodies ? "form_or_json_only"
                                                : "form_only",
                                NULL);
        goto done;
    }

    if (len && ngx_grapevine_req_form(rq, body, body + len) != NGX_OK) {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        goto done;
    }

    rq->body_read(rq);

done:

    rq->in_body = 0;
}


/*
 * Whether a Content-Type is that media type (in any case), with or without
 * parameters: "application/json; charset=utf-8" is, "application/jsonp"
 * is not.
 */

static ngx_uint_t
ngx_grapevine_req_type_is(ngx_table_elt_t *type, const char *media)
{
    u_char  *p, *last;
    size_t   len;

    if (type == NULL) {
        return 0;
    }

    len = ngx_strlen(media);

    if (type->value.len < len
        || ngx_strncasecmp(type->value.data, (u_char *) media, len) != 0)
    {
        return 0;
    }

    p = type->value.data + len;
    last = type->value.data + type->value.len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return p == last || *p == ';';
}


/* name=value&... into the fields; the first of a repeated name wins */

ngx_int_t
ngx_grapevine_req_form(ngx_grapevine_req_t *rq, u_char *p, u_char *end)
{
    u_char                 *amp, *eq, *buf;
    ngx_grapevine_field_t  *f;

    while (p < end) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            eq = amp;
        }

        if (eq > p) {
            f = ngx_array_push(&rq->fields);
            if (f == NULL) {
                return NGX_ERROR;
            }

            buf = ngx_pnalloc(rq->r->pool, (amp - p) + 1);
            if (buf == NULL) {
                return NGX_ERROR;
            }

            f->name.data = buf;
            f->name.len = ngx_grapevine_req_unescape(buf, p, eq) - buf;

            buf += f->name.len;
            f->value.data = buf;

            if (eq < amp) {
                f->value.len = ngx_grapevine_req_unescape(buf, eq + 1, amp)
                               - buf;

            } else {
                f->value.len = 0;
            }
        }

        p = amp + 1;
    }

    return NGX_OK;
}


/*
 * A JSON object of strings (or numbers) into the fields: tools send their
 * actions so.  Anything else is answered with 400, and so is a NUL in a
 * name or a string ("\u0000"): the text that reaches PostgreSQL would not
 * be the text sent.
 */

static ngx_int_t
ngx_grapevine_req_json_form(ngx_grapevine_req_t *rq, u_char *body,
    size_t len)
{
    size_t                   i;
    const char              *code;
    ngx_grapevine_value_t   *root, *v;
    ngx_grapevine_field_t   *f;
    ngx_grapevine_member_t  *m;

    code = NULL;
    root = NULL;

    if (ngx_strlen(body) != len) {
        code = "body_nul";

    } else {
        root = ngx_grapevine_json_parse(&rq->arena, body, len);

        if (root == NULL || root->type != NGX_GRAPEVINE_VALUE_OBJECT) {
            code = "body_not_object";
        }
    }

    for (i = 0; code == NULL && i < root->u.object.nelts; i++) {
        m = &root->u.object.elts[i];
        v = m->value;

        if (v->type != NGX_GRAPEVINE_VALUE_STRING
            && v->type != NGX_GRAPEVINE_VALUE_NUMBER)
        {
            code = "body_not_strings";
            break;
        }

        if (ngx_strlchr(m->key.data, m->key.data + m->key.len, '\0')
            || ngx_strlchr(v->u.str.data, v->u.str.data + v->u.str.len,
                           '\0'))
        {
            code = "body_nul";
            break;
        }

        f = ngx_array_push(&rq->fields);
        if (f == NULL) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return NGX_ERROR;
        }

        f->name.data = m->key.data;
        f->name.len = m->key.len;
        f->value.data = v->u.str.data;
        f->value.len = v->u.str.len;
    }

    if (code) {
        ngx_grapevine_req_error(rq, NGX_HTTP_BAD_REQUEST, code, NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static u_char *
ngx_grapevine_req_unescape(u_char *dst, u_char *src, u_char *end)
{
    u_char  c, hi, lo;

    while (src < end) {
        c = *src++;

        if (c == '+') {
            *dst++ = ' ';
            continue;
        }

        if (c == '%' && end - src >= 2) {
            hi = (u_char) (src[0] | 0x20);
            lo = (u_char) (src[1] | 0x20);

            if (((hi >= '0' && hi <= '9') || (hi >= 'a' && hi <= 'f'))
                && ((lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f')))
            {
                hi = (hi >= 'a') ? hi - 'a' + 10 : hi - '0';
                lo = (lo >= 'a') ? lo - 'a' + 10 : lo - '0';
                *dst++ = (u_char) ((hi << 4) | lo);
                src += 2;
                continue;
            }
        }

        *dst++ = c;
    }

    return dst;
}


ngx_str_t *
ngx_grapevine_req_field(ngx_grapevine_req_t *rq, const char *name)
{
    return ngx_grapevine_req_field_n(rq, (u_char *) name, ngx_strlen(name));
}


/* the first field of that name, or NULL */

ngx_str_t *
ngx_grapevine_req_field_n(ngx_grapevine_req_t *rq, u_char *name, size_t len)
{
    ngx_uint_t              i;
    ngx_grapevine_field_t  *f;

    f = rq->fields.elts;

    for (i = 0; i < rq->fields.nelts; i++) {
        if (f[i].name.len == len
            && ngx_strncmp(f[i].name.data, name, len) == 0)
        {
            return &f[i].value;
        }
    }

    return NULL;
}


/* a request header by name (any case), or NULL */

ngx_table_elt_t *
ngx_grapevine_req_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* ------------------------------------------------------- cookies, tokens */


/* a cookie's value when it holds a token; NGX_DECLINED otherwise */

ngx_int_t
ngx_grapevine_req_cookie(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_str_t  n;

    n.data = (u_char *) name;
    n.len = ngx_strlen(name);

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &n, value)
        == NGX_DECLINED
        || !ngx_grapevine_is_token(value))
    {
        ngx_str_null(value);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* whether the request has a cookie of that name, whatever its value */

ngx_uint_t
ngx_grapevine_req_has_cookie(ngx_http_request_t *r, const char *name)
{
    ngx_str_t  n, value;

    n.data = (u_char *) name;
    n.len = ngx_strlen(name);

    return ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &n,
                                             &value)
           != NGX_DECLINED;
}


/* max_age: seconds, 0 to delete, -1 for a browser-session cookie */

ngx_int_t
ngx_grapevine_req_set_cookie(ngx_grapevine_req_t *rq, const char *name,
    ngx_str_t *value, time_t max_age)
{
    u_char              *p;
    size_t               len;
    ngx_uint_t           secure;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    r = rq->r;
    secure = 0;

#if (NGX_HTTP_SSL)
    secure = (r->connection->ssl != NULL);
#endif

    len = ngx_strlen(name) + 1 + value->len
          + sizeof("; Path=/; Max-Age=") - 1 + NGX_TIME_T_LEN
          + sizeof("; HttpOnly; SameSite=Lax; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;

    p = ngx_sprintf(p, "%s=%V; Path=/", name, value);

    if (max_age >= 0) {
        p = ngx_sprintf(p, "; Max-Age=%T", max_age);
    }

    p = ngx_cpymem(p, "; HttpOnly; SameSite=Lax",
                   sizeof("; HttpOnly; SameSite=Lax") - 1);

    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    h->value.len = p - h->value.data;

    return NGX_OK;
}


/* 256 random bits in hex */

ngx_int_t
ngx_grapevine_token(ngx_pool_t *pool, ngx_str_t *token)
{
    u_char  raw[NGX_GRAPEVINE_TOKEN_LEN / 2];

    token->data = ngx_pnalloc(pool, NGX_GRAPEVINE_TOKEN_LEN);
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    randombytes_buf(raw, sizeof(raw));

    token->len = ngx_hex_dump(token->data, raw, sizeof(raw)) - token->data;

    sodium_memzero(raw, sizeof(raw));

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_is_token(ngx_str_t *s)
{
    ngx_uint_t  i;

    if (s->len != NGX_GRAPEVINE_TOKEN_LEN) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if (!((s->data[i] >= '0' && s->data[i] <= '9')
              || (s->data[i] >= 'a' && s->data[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


/* two tokens are the same, compared in constant time */

ngx_int_t
ngx_grapevine_token_eq(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == NGX_GRAPEVINE_TOKEN_LEN
           && b->len == NGX_GRAPEVINE_TOKEN_LEN
           && sodium_memcmp(a->data, b->data, NGX_GRAPEVINE_TOKEN_LEN) == 0;
}


/* ------------------------------------------------------------ statements */


ngx_int_t
ngx_grapevine_req_arg(ngx_grapevine_req_t *rq, const char *key,
    ngx_str_t *value, ngx_uint_t type)
{
    ngx_str_t  k;

    k.data = (u_char *) key;
    k.len = ngx_strlen(key);

    return ngx_grapevine_req_arg_n(rq, &k, value, type);
}


/* an argument of the next statement: "key": value, as type says */

ngx_int_t
ngx_grapevine_req_arg_n(ngx_grapevine_req_t *rq, ngx_str_t *key,
    ngx_str_t *value, ngx_uint_t type)
{
    ngx_grapevine_req_arg_t  *a;

    a = ngx_array_push(&rq->args);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->key = *key;
    a->value = *value;
    a->type = type;

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_req_arg_cstr(ngx_grapevine_req_t *rq, const char *key,
    const char *value, ngx_uint_t type)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_grapevine_req_arg(rq, key, &v, type);
}


/* a number argument (a limit of the configuration, say) */

ngx_int_t
ngx_grapevine_req_arg_uint(ngx_grapevine_req_t *rq, const char *key,
    ngx_uint_t value)
{
    u_char     *p;
    ngx_str_t   v;

    p = ngx_pnalloc(rq->r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v.data = p;
    v.len = ngx_sprintf(p, "%ui", value) - p;

    return ngx_grapevine_req_arg(rq, key, &v, NGX_GRAPEVINE_ARG_NUMBER);
}


/*
 * The args as a JSON object, NUL-terminated; NULL also when a value is not
 * UTF-8 or holds a NUL.
 */

static u_char *
ngx_grapevine_req_args_json(ngx_grapevine_req_t *rq)
{
    ngx_str_t                 text;
    ngx_uint_t                i;
    ngx_grapevine_json_t     *j;
    ngx_grapevine_req_arg_t  *a;

    j = ngx_grapevine_json_create(rq->r->pool);
    if (j == NULL) {
        return NULL;
    }

    a = rq->args.elts;

    ngx_grapevine_json_map(j);

    for (i = 0; i < rq->args.nelts; i++) {

        ngx_grapevine_json_str(j, &a[i].key);

        switch (a[i].type) {

        case NGX_GRAPEVINE_ARG_BOOL:
            ngx_grapevine_json_bool(j, a[i].value.len != 0);
            break;

        case NGX_GRAPEVINE_ARG_NUMBER:
            ngx_grapevine_json_raw(j, &a[i].value);
            break;

        default:
            /*
             * PostgreSQL's text has no NUL, and takes strict UTF-8 only
             * (yajl lets surrogates and overlong forms through)
             */

            if (ngx_strlchr(a[i].value.data, a[i].value.data + a[i].value.len,
                            '\0')
                != NULL
                || ngx_grapevine_utf8_chars(a[i].value.data, a[i].value.len)
                   < 0)
            {
                return NULL;
            }

            ngx_grapevine_json_str(j, &a[i].value);
        }
    }

    ngx_grapevine_json_map_end(j);

    if (ngx_grapevine_req_text(rq, j, &text) != NGX_OK) {
        return NULL;
    }

    return text.data;
}


/*
 * Runs a statement of one or two parameters, $1 the text "first" (NULL for
 * SQL NULL) and $2 the args as JSON, and calls next with its answer, one
 * JSON value (SQL NULL is JSON null).  The args are emptied for the next
 * step.  Failures (the database away, an SQL error, invalid UTF-8 in the
 * input) are answered here.
 */

void
ngx_grapevine_req_run(ngx_grapevine_req_t *rq, ngx_grapevine_pg_stmt_t *stmt,
    ngx_uint_t nparams, ngx_str_t *first, ngx_grapevine_req_step_pt next)
{
    u_char     *json, *s;
    ngx_int_t   rc;

    json = NULL;

    if (nparams > 1) {
        json = ngx_grapevine_req_args_json(rq);

        if (json == NULL) {
            ngx_grapevine_req_error(rq, NGX_HTTP_BAD_REQUEST, "not_utf8",
                                    NULL);
            return;
        }

        rq->args.nelts = 0;
    }

    if (first && first->data) {
        s = ngx_pnalloc(rq->r->pool, first->len + 1);
        if (s == NULL) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memcpy(s, first->data, first->len);
        s[first->len] = '\0';
        rq->values[0] = (char *) s;

    } else {
        rq->values[0] = NULL;
    }

    rq->values[1] = (char *) json;
    rq->stmt = stmt;
    rq->next = next;

    rq->q.stmt = stmt;
    rq->q.nparams = nparams;
    rq->q.values = rq->values;
    rq->q.lengths = NULL;
    rq->q.handler = ngx_grapevine_req_done;
    rq->q.data = rq;

    if (ngx_grapevine_worker.pool == NULL) {
        ngx_grapevine_req_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE, NULL, NULL);
        return;
    }

    rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, &rq->q);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        return;
    }

    ngx_grapevine_http_unavailable_log(rq->r, &rq->q.error);

    ngx_grapevine_req_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE, NULL, NULL);
}


static void
ngx_grapevine_req_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_grapevine_req_t    *rq;
    ngx_grapevine_value_t  *v;

    rq = q->data;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK
        || PQntuples(res) != 1 || PQnfields(res) != 1)
    {
        if (q->unavailable || res == NULL) {
            ngx_grapevine_http_unavailable_log(rq->r, &q->error);
            ngx_grapevine_req_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE, NULL,
                                    NULL);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "grapevine: the statement \"%s\" failed: %V",
                      rq->stmt->name, &q->error);
        ngx_grapevine_req_error(rq, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                                NULL);
        return;
    }

    if (PQgetisnull(res, 0, 0)) {
        v = ngx_grapevine_value_null(&rq->arena);

    } else {
        v = ngx_grapevine_json_parse(&rq->arena,
                                     (u_char *) PQgetvalue(res, 0, 0),
                                     PQgetlength(res, 0, 0));
    }

    if (v == NULL) {
        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "grapevine: the statement \"%s\" answered no JSON",
                      rq->stmt->name);
        ngx_grapevine_req_error(rq, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                                NULL);
        return;
    }

    rq->next(rq, v);
}


/* ------------------------------------------------------------ the data */


/* a value as JSON text, NUL-terminated (a statement's parameter) */

ngx_int_t
ngx_grapevine_req_json_text(ngx_grapevine_req_t *rq, ngx_grapevine_value_t *v,
    ngx_str_t *text)
{
    ngx_grapevine_json_t  *j;

    j = ngx_grapevine_json_create(rq->r->pool);
    if (j == NULL) {
        return NGX_ERROR;
    }

    ngx_grapevine_json_value(j, v);

    return ngx_grapevine_req_text(rq, j, text);
}


/* what j holds, in one NUL-terminated piece; NGX_ERROR when j failed */

static ngx_int_t
ngx_grapevine_req_text(ngx_grapevine_req_t *rq, ngx_grapevine_json_t *j,
    ngx_str_t *text)
{
    u_char       *p;
    ngx_chain_t  *cl;

    cl = ngx_grapevine_json_finish(j);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(rq->r->pool, j->size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;

    for ( /* void */ ; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    *p = '\0';
    text->len = p - text->data;

    return NGX_OK;
}


ngx_grapevine_value_t *
ngx_grapevine_req_get(ngx_grapevine_value_t *obj, const char *key)
{
    if (obj == NULL || obj->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        return NULL;
    }

    return ngx_grapevine_object_get(obj, (u_char *) key, ngx_strlen(key));
}


/* a string (or number) member; NGX_DECLINED when absent or another type */

ngx_int_t
ngx_grapevine_req_get_str(ngx_grapevine_value_t *obj, const char *key,
    ngx_str_t *s)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_req_get(obj, key);

    if (v == NULL || (v->type != NGX_GRAPEVINE_VALUE_STRING
                      && v->type != NGX_GRAPEVINE_VALUE_NUMBER))
    {
        return NGX_DECLINED;
    }

    s->data = v->u.str.data;
    s->len = v->u.str.len;

    return NGX_OK;
}


/* an answer's "status", 200 when it has none */

ngx_int_t
ngx_grapevine_req_status(ngx_grapevine_value_t *res)
{
    ngx_str_t  s;

    if (ngx_grapevine_req_get_str(res, "status", &s) != NGX_OK) {
        return NGX_HTTP_OK;
    }

    return ngx_atoi(s.data, s.len);
}


ngx_int_t
ngx_grapevine_req_set(ngx_grapevine_req_t *rq, ngx_grapevine_value_t *obj,
    const char *key, ngx_grapevine_value_t *v)
{
    if (ngx_grapevine_object_set(&rq->arena, obj, (u_char *) key,
                                 ngx_strlen(key), v)
        != NGX_GRAPEVINE_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_req_set_str(ngx_grapevine_req_t *rq, ngx_grapevine_value_t *obj,
    const char *key, ngx_str_t *s)
{
    return ngx_grapevine_req_set(rq, obj, key,
               ngx_grapevine_value_string(&rq->arena, s->data, s->len));
}


/*
 * Adds the code of a problem with a field to data.errors.<field> (an
 * array); the wording comes when the page is answered.
 */

ngx_int_t
ngx_grapevine_req_add_error(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *data, const char *field, const char *code)
{
    ngx_grapevine_arena_t  *a;
    ngx_grapevine_value_t  *errors, *list;

    a = &rq->arena;

    errors = ngx_grapevine_req_get(data, "errors");

    if (errors == NULL || errors->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        errors = ngx_grapevine_value_object(a, 4);

        if (ngx_grapevine_req_set(rq, data, "errors", errors) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    list = ngx_grapevine_req_get(errors, field);

    if (list == NULL || list->type != NGX_GRAPEVINE_VALUE_ARRAY) {
        list = ngx_grapevine_value_array(a, 2);

        if (ngx_grapevine_req_set(rq, errors, field, list) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_grapevine_array_push(a, list,
            ngx_grapevine_value_string(a, (u_char *) code,
                                       ngx_strlen(code)))
        != NGX_GRAPEVINE_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_grapevine_req_has_errors(ngx_grapevine_value_t *data)
{
    ngx_grapevine_value_t  *errors;

    errors = ngx_grapevine_req_get(data, "errors");

    return errors && errors->type == NGX_GRAPEVINE_VALUE_OBJECT
           && errors->u.object.nelts;
}


/* --------------------------------------------------------------- wording */


/*
 * Every text a reader sees comes from templates: the page's, and for what
 * the data names by a code (an error, a problem with a field, a status)
 * the location's templates of wording (conf->words, the first that says
 * something wins).  Such a template has a section a code,
 *
 *     {{#say.csrf}}The form has expired ...{{/say.csrf}}
 *
 * rendered with the page's data and "say" holding the one code asked for,
 * so it can name what the data holds ({{username}}).  Here: data.error
 * becomes data.message, each code in data.errors.<field> its words, and
 * an error status its reason ("reason", the heading of error pages).
 */

static ngx_int_t
ngx_grapevine_req_words(ngx_grapevine_req_t *rq, ngx_uint_t status,
    ngx_grapevine_value_t *data)
{
    u_char                  buf[sizeof("reason_") + NGX_INT_T_LEN];
    size_t                  i, k;
    ngx_str_t               code, text;
    ngx_grapevine_value_t  *errors, *list, *v;

    if (data == NULL || data->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        return NGX_OK;
    }

    /* the status's reason, the heading of error pages */

    if (status >= NGX_HTTP_BAD_REQUEST) {
        code.data = buf;
        code.len = ngx_sprintf(buf, "reason_%ui", status) - buf;

        if (ngx_grapevine_req_say(rq, &code, data, &text) != NGX_OK) {
            return NGX_ERROR;
        }

        if (text.len == 0) {
            if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
                ngx_str_set(&code, "reason_5xx");

            } else {
                ngx_str_set(&code, "reason_4xx");
            }

            if (ngx_grapevine_req_say(rq, &code, data, &text) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        if (ngx_grapevine_req_set_str(rq, data, "reason", &text) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_grapevine_req_get(data, "message") == NULL
        && ngx_grapevine_req_get_str(data, "error", &code) == NGX_OK)
    {
        if (ngx_grapevine_req_say(rq, &code, data, &text) != NGX_OK
            || (text.len
                && ngx_grapevine_req_set_str(rq, data, "message", &text)
                   != NGX_OK))
        {
            return NGX_ERROR;
        }
    }

    errors = ngx_grapevine_req_get(data, "errors");

    if (errors == NULL || errors->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        return NGX_OK;
    }

    for (i = 0; i < errors->u.object.nelts; i++) {
        list = errors->u.object.elts[i].value;

        if (list->type != NGX_GRAPEVINE_VALUE_ARRAY) {
            continue;
        }

        for (k = 0; k < list->u.array.nelts; k++) {
            v = list->u.array.elts[k];

            if (v->type != NGX_GRAPEVINE_VALUE_STRING) {
                continue;
            }

            code.data = v->u.str.data;
            code.len = v->u.str.len;

            if (ngx_grapevine_req_say(rq, &code, data, &text) != NGX_OK) {
                return NGX_ERROR;
            }

            if (text.len) {
                v->u.str.data = text.data;
                v->u.str.len = text.len;
            }
        }
    }

    return NGX_OK;
}


typedef struct {
    u_char                    *p;
    u_char                    *last;
} ngx_grapevine_req_text_t;


static int
ngx_grapevine_req_text_write(void *ctx, const u_char *p, size_t n)
{
    ngx_grapevine_req_text_t  *t = ctx;

    if ((size_t) (t->last - t->p) < n) {
        n = t->last - t->p;
    }

    t->p = ngx_cpymem(t->p, p, n);

    return NGX_GRAPEVINE_OK;
}


/* the words for code, "" when no template of wording has any */

static ngx_int_t
ngx_grapevine_req_say(ngx_grapevine_req_t *rq, ngx_str_t *code,
    ngx_grapevine_value_t *data, ngx_str_t *text)
{
    u_char                         *start;
    const char                    **name;
    ngx_grapevine_arena_t          *a;
    ngx_grapevine_value_t          *say, *saved, *ctx;
    ngx_grapevine_template_t       *tpl;
    ngx_grapevine_req_text_t        t;
    ngx_grapevine_render_conf_t     rconf;
    ngx_grapevine_template_err_t    err;

    a = &rq->arena;
    ngx_str_null(text);

    if (rq->conf == NULL || rq->conf->words == NULL || code->len == 0) {
        return NGX_OK;
    }

    say = ngx_grapevine_value_object(a, 1);

    if (say == NULL
        || ngx_grapevine_object_add(a, say, code->data, code->len,
                                    ngx_grapevine_value_bool(a, 1))
           != NGX_GRAPEVINE_OK)
    {
        return NGX_ERROR;
    }

    /* data with "say" in it: a copy of the object's members, not deep */

    ctx = ngx_grapevine_value_object(a, data->u.object.nelts + 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    saved = ctx;

    ngx_memcpy(ctx->u.object.elts, data->u.object.elts,
               data->u.object.nelts * sizeof(ngx_grapevine_member_t));
    ctx->u.object.nelts = data->u.object.nelts;

    if (ngx_grapevine_object_set(a, ctx, (u_char *) "say", 3, say)
        != NGX_GRAPEVINE_OK)
    {
        return NGX_ERROR;
    }

    start = ngx_pnalloc(rq->r->pool, NGX_GRAPEVINE_REQ_WORDS_MAX);
    if (start == NULL) {
        return NGX_ERROR;
    }

    for (name = rq->conf->words; *name; name++) {

        tpl = ngx_grapevine_template_set_find(rq->conf->set, (u_char *) *name,
                                              ngx_strlen(*name));
        if (tpl == NULL) {
            continue;
        }

        t.p = start;
        t.last = start + NGX_GRAPEVINE_REQ_WORDS_MAX;

        ngx_memzero(&rconf, sizeof(ngx_grapevine_render_conf_t));
        rconf.write = ngx_grapevine_req_text_write;
        rconf.write_ctx = &t;
        rconf.partial = ngx_grapevine_template_set_lookup;
        rconf.partial_ctx = rq->conf->set;

        if (ngx_grapevine_template_render(tpl, saved, &rconf, &err)
            != NGX_GRAPEVINE_OK)
        {
            ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                          "grapevine: rendering \"%s\" failed: %s",
                          *name, err.msg);
            return NGX_ERROR;
        }

        /* white space at either end is the template's layout */

        text->data = start;
        text->len = t.p - start;

        while (text->len && isspace(text->data[0])) {
            text->data++;
            text->len--;
        }

        while (text->len && isspace(text->data[text->len - 1])) {
            text->len--;
        }

        if (text->len) {
            return NGX_OK;
        }
    }

    return NGX_OK;
}


/* ------------------------------------------------------------- answers */


/* what every page's data gets: its words, the site's name, the status */

static ngx_int_t
ngx_grapevine_req_common(ngx_grapevine_req_t *rq, ngx_uint_t status,
    ngx_grapevine_value_t *data)
{
    ngx_grapevine_arena_t  *a;

    a = &rq->arena;

    if (ngx_grapevine_req_words(rq, status, data) != NGX_OK
        || ngx_grapevine_req_set(rq, data, "site_name",
               ngx_grapevine_value_string(a, rq->conf->site_name.data,
                                          rq->conf->site_name.len))
           != NGX_OK
        || ngx_grapevine_req_set(rq, data, "code",
                                 ngx_grapevine_value_integer(a, status))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Only what the template's blocks "block" expand to, with data as it is
 * (not decorated: the caller says whose it is), into text (the request's
 * pool): a part of a page kept for every visitor.
 */

ngx_int_t
ngx_grapevine_req_render_block(ngx_grapevine_req_t *rq, ngx_uint_t status,
    const char *template, const char *block, ngx_grapevine_value_t *data,
    ngx_str_t *text)
{
    u_char                         *p;
    ngx_chain_t                    *cl;
    ngx_grapevine_json_t           *out;
    ngx_grapevine_template_t       *tpl;
    ngx_grapevine_render_conf_t     rconf;
    ngx_grapevine_template_err_t    err;

    tpl = ngx_grapevine_template_set_find(rq->conf->set, (u_char *) template,
                                          ngx_strlen(template));
    if (tpl == NULL) {
        return NGX_ERROR;
    }

    if (ngx_grapevine_req_common(rq, status, data) != NGX_OK) {
        return NGX_ERROR;
    }

    out = ngx_grapevine_json_create(rq->r->pool);
    if (out == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&rconf, sizeof(ngx_grapevine_render_conf_t));
    rconf.write = ngx_grapevine_json_write;
    rconf.write_ctx = out;
    rconf.partial = ngx_grapevine_template_set_lookup;
    rconf.partial_ctx = rq->conf->set;
    rconf.block.len = ngx_strlen(block);
    rconf.block.data = (u_char *) block;
    rconf.block_only = 1;

    if (ngx_grapevine_template_render(tpl, data, &rconf, &err)
        != NGX_GRAPEVINE_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "grapevine: rendering \"%s\" failed: %s",
                      template, err.msg);
        return NGX_ERROR;
    }

    cl = ngx_grapevine_json_finish(out);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(rq->r->pool, out->size ? out->size : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;

    for ( /* void */ ; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    text->len = p - text->data;

    return NGX_OK;
}


/*
 * What of data (a page's data, as its statement answered it) rendering
 * template around its block, filled with the block's kept text, may read
 * (ngx_grapevine_template_rest()): all that is kept with the text, so that
 * using it parses no more than what is rendered.  data itself when that
 * cannot be told (or memory ran out).
 */

ngx_grapevine_value_t *
ngx_grapevine_req_block_rest(ngx_grapevine_req_t *rq, const char *template,
    const char *block, ngx_grapevine_value_t *data)
{
    ngx_grapevine_value_t          *rest;
    ngx_grapevine_template_t       *tpl;
    ngx_grapevine_render_conf_t     rconf;

    tpl = ngx_grapevine_template_set_find(rq->conf->set, (u_char *) template,
                                          ngx_strlen(template));

    /* an error's words (ngx_grapevine_req_words()) may read any member */

    if (tpl == NULL
        || ngx_grapevine_req_get(data, "error") != NULL
        || ngx_grapevine_req_get(data, "errors") != NULL)
    {
        return data;
    }

    ngx_memzero(&rconf, sizeof(ngx_grapevine_render_conf_t));
    rconf.partial = ngx_grapevine_template_set_lookup;
    rconf.partial_ctx = rq->conf->set;
    rconf.block.len = ngx_strlen(block);
    rconf.block.data = (u_char *) block;
    rconf.block_fill = 1;

    rest = ngx_grapevine_template_rest(tpl, data, &rconf, &rq->arena);

    return rest ? rest : data;
}


/*
 * Renders template with data (an object) and sends it; a request that
 * asked for JSON gets the data.  What every template may use besides the
 * application's: site_name, code, and for an error reason and message.
 */

void
ngx_grapevine_req_render(ngx_grapevine_req_t *rq, ngx_uint_t status,
    const char *template, ngx_grapevine_value_t *data)
{
    ngx_chain_t                    *chain;
    ngx_http_request_t             *r;
    ngx_grapevine_json_t           *out;
    ngx_grapevine_template_t       *tpl;
    ngx_grapevine_render_conf_t     rconf;
    ngx_grapevine_template_err_t    err;

    r = rq->r;

    if (rq->json) {
        ngx_grapevine_req_send_value(rq, status, data);
        return;
    }

    tpl = ngx_grapevine_template_set_find(rq->conf->set, (u_char *) template,
                                          ngx_strlen(template));
    if (tpl == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine: no template \"%s\"", template);
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if ((rq->decorate && rq->decorate(rq, status, data) != NGX_OK)
        || ngx_grapevine_req_common(rq, status, data) != NGX_OK)
    {
        goto failed;
    }

    out = ngx_grapevine_json_create(r->pool);
    if (out == NULL) {
        goto failed;
    }

    ngx_memzero(&rconf, sizeof(ngx_grapevine_render_conf_t));
    rconf.write = ngx_grapevine_json_write;
    rconf.write_ctx = out;
    rconf.partial = ngx_grapevine_template_set_lookup;
    rconf.partial_ctx = rq->conf->set;

    if (rq->block.len) {
        rconf.block.len = rq->block.len;
        rconf.block.data = rq->block.data;
        rconf.block_text.len = rq->block_text.len;
        rconf.block_text.data = rq->block_text.data;
        rconf.block_fill = 1;
    }

    if (ngx_grapevine_template_render(tpl, data, &rconf, &err)
        != NGX_GRAPEVINE_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine: rendering \"%s\" failed: %s",
                      template, err.msg);
        goto failed;
    }

    if (ngx_grapevine_req_headers(rq) != NGX_OK) {
        goto failed;
    }

    if (rq->rendered == NULL) {
        ngx_grapevine_req_send(rq, status, out, 0);
        return;
    }

    chain = ngx_grapevine_json_finish(out);
    if (chain == NULL) {
        goto failed;
    }

    rq->rendered(rq, status, chain, out->size);

    ngx_grapevine_req_finish(rq, ngx_grapevine_http_send_chain(r, status,
                                     "text/html; charset=utf-8", chain,
                                     out->size));
    return;

failed:

    ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/*
 * The JSON answer of a request that asked for JSON (tools): the data, or
 * for an error {"error": {"code", "message"[, "fields"]}}.
 */

void
ngx_grapevine_req_send_value(ngx_grapevine_req_t *rq, ngx_uint_t status,
    ngx_grapevine_value_t *data)
{
    ngx_str_t               message;
    const char             *code;
    ngx_grapevine_json_t   *j;
    ngx_grapevine_value_t  *fields;

    if ((rq->decorate && rq->decorate(rq, status, data) != NGX_OK)
        || ngx_grapevine_req_words(rq, status, data) != NGX_OK)
    {
        goto failed;
    }

    j = ngx_grapevine_json_create(rq->r->pool);
    if (j == NULL) {
        goto failed;
    }

    if (status >= NGX_HTTP_BAD_REQUEST) {
        code = ngx_grapevine_req_code(status);

        if (ngx_grapevine_req_get_str(data, "message", &message) != NGX_OK
            && ngx_grapevine_req_get_str(data, "reason", &message) != NGX_OK)
        {
            ngx_str_null(&message);
        }

        ngx_grapevine_json_map(j);
        ngx_grapevine_json_key(j, "error");
        ngx_grapevine_json_map(j);
        ngx_grapevine_json_key(j, "code");
        ngx_grapevine_json_cstr(j, code);
        ngx_grapevine_json_key(j, "message");
        ngx_grapevine_json_str(j, &message);

        fields = ngx_grapevine_req_get(data, "errors");

        if (fields && fields->type == NGX_GRAPEVINE_VALUE_OBJECT) {
            ngx_grapevine_json_key(j, "fields");
            ngx_grapevine_json_value(j, fields);
        }

        ngx_grapevine_json_map_end(j);
        ngx_grapevine_json_map_end(j);

    } else {
        ngx_grapevine_json_value(j, data);
    }

    rq->no_store = 1;

    if (ngx_grapevine_req_headers(rq) != NGX_OK) {
        goto failed;
    }

    ngx_grapevine_req_send(rq, status, j, 1);
    return;

failed:

    ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


static const char *
ngx_grapevine_req_code(ngx_uint_t status)
{
    switch (status) {
    case NGX_HTTP_BAD_REQUEST:
        return "bad_request";
    case NGX_HTTP_UNAUTHORIZED:
        return "unauthorized";
    case NGX_HTTP_FORBIDDEN:
        return "forbidden";
    case NGX_HTTP_NOT_FOUND:
        return "not_found";
    case NGX_HTTP_NOT_ALLOWED:
        return "method_not_allowed";
    case NGX_HTTP_CONFLICT:
        return "conflict";
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "too_large";
    case NGX_HTTP_UNSUPPORTED_MEDIA_TYPE:
        return "unsupported_media_type";
    case 422:
        return "invalid";
    case 429:
        return "too_many_requests";
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return "unavailable";
    default:
        return status >= 500 ? "internal_error" : "error";
    }
}


/*
 * An error answer: the page of the status ("404", "500" for 5xx, "error"
 * for the others) or its JSON, with the words of code (a template of
 * wording says them) as its message.  data may be NULL.
 */

void
ngx_grapevine_req_error(ngx_grapevine_req_t *rq, ngx_uint_t status,
    const char *code, ngx_grapevine_value_t *data)
{
    ngx_str_t               c;
    ngx_http_request_t     *r;
    ngx_grapevine_arena_t  *a;

    r = rq->r;
    a = &rq->arena;

    if (data == NULL) {
        data = ngx_grapevine_value_object(a, 4);
        if (data == NULL) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (code) {
        c.data = (u_char *) code;
        c.len = ngx_strlen(code);

        if (ngx_grapevine_req_set_str(rq, data, "error", &c) != NGX_OK) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_grapevine_http_add_header(r, "Retry-After",
                                         NGX_GRAPEVINE_RETRY_AFTER)
           != NGX_OK)
    {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_grapevine_http_add_header(r, "Allow",
               (r->method == NGX_HTTP_POST) ? "GET, HEAD"
               : (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) ? "POST"
               : "GET, HEAD, POST")
           != NGX_OK)
    {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_req_render(rq, status,
                             status == NGX_HTTP_NOT_FOUND ? "404"
                             : status >= 500 ? "500" : "error", data);
}


/* sends a written body (HTML, or JSON) with status; the headers are set */

static void
ngx_grapevine_req_send(ngx_grapevine_req_t *rq, ngx_uint_t status,
    ngx_grapevine_json_t *out, ngx_uint_t json)
{
    ngx_grapevine_req_finish(rq, ngx_grapevine_http_send(rq->r, status,
                                     json ? "application/json"
                                          : "text/html; charset=utf-8",
                                     out));
}


/*
 * A page made for another request (html, in r's pool): sent with the
 * headers of every page; decorate is not called (nothing personal).
 */

void
ngx_grapevine_req_send_page(ngx_grapevine_req_t *rq, ngx_uint_t status,
    ngx_str_t *html)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(rq->r->pool);
    cl = ngx_alloc_chain_link(rq->r->pool);

    if (b == NULL || cl == NULL || ngx_grapevine_req_headers(rq) != NGX_OK) {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    b->start = html->data;
    b->pos = html->data;
    b->last = html->data + html->len;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    ngx_grapevine_req_finish(rq, ngx_grapevine_http_send_chain(rq->r, status,
                                     "text/html; charset=utf-8", cl,
                                     html->len));
}


void
ngx_grapevine_req_redirect(ngx_grapevine_req_t *rq, ngx_str_t *location)
{
    ngx_int_t            rc;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    r = rq->r;

    if ((rq->decorate && rq->decorate(rq, NGX_HTTP_SEE_OTHER, NULL)
                         != NGX_OK)
        || ngx_grapevine_req_headers(rq) != NGX_OK)
    {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value = *location;
    r->headers_out.location = h;

    r->headers_out.status = NGX_HTTP_SEE_OTHER;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    ngx_grapevine_req_finish(rq, rc == NGX_ERROR ? NGX_ERROR : NGX_OK);
}


/* caching and the security headers of every page */

static ngx_int_t
ngx_grapevine_req_headers(ngx_grapevine_req_t *rq)
{
    ngx_http_request_t  *r;

    r = rq->r;

    if (ngx_grapevine_http_add_header(r, "Cache-Control",
                                      rq->no_store ? "no-store"
                                                   : "private, no-cache")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "X-Content-Type-Options",
                                         "nosniff")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "X-Frame-Options", "DENY")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Referrer-Policy",
                                         "same-origin")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Content-Security-Policy",
                                         NGX_GRAPEVINE_REQ_CSP)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Ends the request: in the content handler the code is returned from it,
 * in the body handler and from the pool's or the thread pool's events the
 * request is finalized.
 */

void
ngx_grapevine_req_finish(ngx_grapevine_req_t *rq, ngx_int_t rc)
{
    if (rq->finished) {
        return;
    }

    rq->finished = 1;

    if (rq->sync) {
        rq->rc = rc;
        return;
    }

    if (rq->in_body) {
        ngx_http_finalize_request(rq->r, rc);
        return;
    }

    ngx_grapevine_http_finalize(rq->r, rc);
}
