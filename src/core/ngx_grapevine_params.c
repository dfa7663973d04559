
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_params.h"


/*
 * A request's input: the path after the location's prefix, split into
 * segments and percent-decoded here (nginx's own decoding of r->uri would
 * turn "%2F" into a separator), the query string's parameters, and the
 * checks every value passes: strict percent-encoding, no NUL or other
 * control character, valid UTF-8.  Also the output helpers that need no
 * request: escaping for links, and the ETag hash.
 */


#define NGX_GRAPEVINE_HASH_M          0xc6a4a7935bd1e995ULL
#define NGX_GRAPEVINE_HASH_R          47
#define NGX_GRAPEVINE_HASH_SEED       0x67726170ULL


static ngx_int_t ngx_grapevine_hex(u_char c);
static uint64_t ngx_grapevine_hash64_word(uint64_t h, const u_char *p);


/*
 * The path segments after the location's prefix (empty segments are
 * skipped, as nginx merges slashes).  The original request line is used
 * when nginx still has it; after a rewrite or an internal redirect only
 * the decoded r->uri is left, whose segments are checked but not decoded
 * again.  NGX_DECLINED: the path is not under the prefix, or is longer
 * than any route (404).
 */

ngx_int_t
ngx_grapevine_path_segments(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_grapevine_segment_t *segs, ngx_uint_t max, ngx_uint_t *n)
{
    u_char      *p, *last, *s, *pp, *plast, *ps;
    ngx_int_t    rc;
    ngx_str_t    dec;
    ngx_uint_t   flags;
    const char  *err;

    if (r->valid_unparsed_uri && !r->internal && r == r->main) {
        p = r->unparsed_uri.data;
        last = p + r->unparsed_uri.len;

        s = ngx_strlchr(p, last, '?');
        if (s) {
            last = s;
        }

        flags = NGX_GRAPEVINE_DECODE_PERCENT;

    } else {
        p = r->uri.data;
        last = p + r->uri.len;
        flags = 0;
    }

    pp = prefix->data;
    plast = pp + prefix->len;
    *n = 0;

    for ( ;; ) {

        while (p < last && *p == '/') {
            p++;
        }

        if (p == last) {
            break;
        }

        s = p;

        while (p < last && *p != '/') {
            p++;
        }

        rc = ngx_grapevine_decode(r->pool, s, p - s, flags, &dec, &err);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        while (pp < plast && *pp == '/') {
            pp++;
        }

        if (pp < plast) {

            /* a segment of the location's prefix */

            ps = pp;

            while (pp < plast && *pp != '/') {
                pp++;
            }

            if (err != NULL
                || dec.len != (size_t) (pp - ps)
                || ngx_strncmp(dec.data, ps, dec.len) != 0)
            {
                return NGX_DECLINED;
            }

            continue;
        }

        if (*n == max) {
            return NGX_DECLINED;
        }

        segs[*n].value = dec;
        segs[*n].error = err;
        (*n)++;
    }

    while (pp < plast && *pp == '/') {
        pp++;
    }

    return (pp < plast) ? NGX_DECLINED : NGX_OK;
}


/*
 * Fills in the parameters of args[] found in the query string, decoded
 * ("+" is a space).  Others are ignored.  NGX_DECLINED: a parameter is
 * given twice or cannot be decoded; *error names it.
 */

ngx_int_t
ngx_grapevine_query_args(ngx_http_request_t *r, ngx_grapevine_arg_t *args,
    ngx_uint_t n, ngx_str_t *error)
{
    u_char      *p, *last, *end, *eq, *msg;
    size_t       klen, len;
    ngx_int_t    rc;
    ngx_str_t    dec;
    ngx_uint_t   i;
    const char  *err;

    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        eq = ngx_strlchr(p, end, '=');
        klen = (eq ? eq : end) - p;

        for (i = 0; i < n; i++) {
            if (klen == ngx_strlen(args[i].name)
                && ngx_strncmp(p, args[i].name, klen) == 0)
            {
                break;
            }
        }

        if (i == n) {
            p = end + 1;
            continue;
        }

        err = NULL;

        if (args[i].value.data != NULL) {
            err = "given more than once";

        } else {
            eq = eq ? eq + 1 : end;

            rc = ngx_grapevine_decode(r->pool, eq, end - eq,
                                          NGX_GRAPEVINE_DECODE_PERCENT
                                          |NGX_GRAPEVINE_DECODE_PLUS,
                                          &dec, &err);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            args[i].value = dec;
        }

        if (err != NULL) {
            len = ngx_strlen(args[i].name) + 2 + ngx_strlen(err);

            msg = ngx_pnalloc(r->pool, len);
            if (msg == NULL) {
                return NGX_ERROR;
            }

            error->data = msg;
            error->len = ngx_sprintf(msg, "%s: %s", args[i].name, err) - msg;

            return NGX_DECLINED;
        }

        p = end + 1;
    }

    return NGX_OK;
}


/*
 * Decodes p[len] into *out (a copy from the pool only when something is
 * encoded) and checks the result.  NGX_DECLINED with *error set when the
 * input is invalid (*out then holds the input as it was), NGX_ERROR when
 * out of memory.
 */

ngx_int_t
ngx_grapevine_decode(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_uint_t flags, ngx_str_t *out, const char **error)
{
    u_char     *s, *d, *last;
    ngx_int_t   hi, lo;

    out->data = p;
    out->len = len;
    *error = NULL;

    last = p + len;

    for (s = p; s < last; s++) {
        if ((*s == '%' && (flags & NGX_GRAPEVINE_DECODE_PERCENT))
            || (*s == '+' && (flags & NGX_GRAPEVINE_DECODE_PLUS)))
        {
            break;
        }
    }

    if (s < last) {
        d = ngx_pnalloc(pool, len ? len : 1);
        if (d == NULL) {
            return NGX_ERROR;
        }

        out->data = d;

        for (s = p; s < last; s++) {

            if (*s == '+' && (flags & NGX_GRAPEVINE_DECODE_PLUS)) {
                *d++ = ' ';
                continue;
            }

            if (*s != '%' || !(flags & NGX_GRAPEVINE_DECODE_PERCENT)) {
                *d++ = *s;
                continue;
            }

            if (last - s < 3
                || (hi = ngx_grapevine_hex(s[1])) == NGX_ERROR
                || (lo = ngx_grapevine_hex(s[2])) == NGX_ERROR)
            {
                out->data = p;
                *error = "invalid percent-encoding";
                return NGX_DECLINED;
            }

            *d++ = (u_char) (hi << 4 | lo);
            s += 2;
        }

        out->len = d - out->data;
    }

    last = out->data + out->len;

    for (s = out->data; s < last; s++) {
        if (*s == '\0') {
            *error = "contains a NUL byte";
            break;
        }

        if (*s < 0x20 || *s == 0x7f) {
            *error = "contains a control character";
            break;
        }
    }

    if (*error == NULL
        && ngx_grapevine_utf8_chars(out->data, out->len) < 0)
    {
        *error = "is not valid UTF-8";
    }

    if (*error) {
        out->data = p;
        out->len = len;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The number of characters in p[len], or -1 if it is not valid UTF-8
 * (strict: no overlong forms, no surrogates, nothing above U+10FFFF).
 */

ssize_t
ngx_grapevine_utf8_chars(u_char *p, size_t len)
{
    u_char      c, *last;
    ssize_t     n;
    uint32_t    cp, min;
    ngx_uint_t  need;

    last = p + len;
    n = 0;

    while (p < last) {
        c = *p++;

        if (c < 0x80) {
            n++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
            min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;

        } else {
            return -1;
        }

        if ((size_t) (last - p) < need) {
            return -1;
        }

        while (need--) {
            c = *p++;

            if ((c & 0xc0) != 0x80) {
                return -1;
            }

            cp = (cp << 6) | (c & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return -1;
        }

        n++;
    }

    return n;
}


/* a positive decimal integer up to max, without sign or leading zeros */

ngx_int_t
ngx_grapevine_parse_uint(ngx_str_t *s, uint64_t max, uint64_t *n)
{
    size_t    i;
    uint64_t  v;

    if (s->len == 0 || s->len > 19 || s->data[0] == '0') {
        return NGX_ERROR;
    }

    v = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return NGX_ERROR;
        }

        v = v * 10 + (s->data[i] - '0');
    }

    if (v > max) {
        return NGX_ERROR;
    }

    *n = v;

    return NGX_OK;
}


/* a path segment or query value for a link: all but unreserved as %XX */

size_t
ngx_grapevine_escape_len(ngx_str_t *s)
{
    size_t  i, n;
    u_char  c;

    n = s->len;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9')
              || c == '-' || c == '.' || c == '_' || c == '~'))
        {
            n += 2;
        }
    }

    return n;
}


u_char *
ngx_grapevine_escape(u_char *dst, ngx_str_t *s)
{
    size_t  i;
    u_char  c;

    static const u_char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            *dst++ = c;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0xf];
    }

    return dst;
}


/*
 * A 64-bit hash of len bytes given in pieces (MurmurHash64A's
 * construction: eight bytes a step), for strong ETags.
 */

void
ngx_grapevine_hash64_init(ngx_grapevine_hash64_t *hs, size_t len)
{
    hs->h = NGX_GRAPEVINE_HASH_SEED ^ ((uint64_t) len * NGX_GRAPEVINE_HASH_M);
    hs->ntail = 0;
}


void
ngx_grapevine_hash64_update(ngx_grapevine_hash64_t *hs, u_char *p,
    size_t len)
{
    size_t  n;

    if (hs->ntail) {
        n = ngx_min(len, 8 - hs->ntail);
        ngx_memcpy(hs->tail + hs->ntail, p, n);
        hs->ntail += n;
        p += n;
        len -= n;

        if (hs->ntail < 8) {
            return;
        }

        hs->h = ngx_grapevine_hash64_word(hs->h, hs->tail);
        hs->ntail = 0;
    }

    while (len >= 8) {
        hs->h = ngx_grapevine_hash64_word(hs->h, p);
        p += 8;
        len -= 8;
    }

    if (len) {
        ngx_memcpy(hs->tail, p, len);
        hs->ntail = len;
    }
}


uint64_t
ngx_grapevine_hash64_final(ngx_grapevine_hash64_t *hs)
{
    size_t    i;
    uint64_t  h;

    h = hs->h;

    if (hs->ntail) {
        for (i = 0; i < hs->ntail; i++) {
            h ^= (uint64_t) hs->tail[i] << (8 * i);
        }

        h *= NGX_GRAPEVINE_HASH_M;
    }

    h ^= h >> NGX_GRAPEVINE_HASH_R;
    h *= NGX_GRAPEVINE_HASH_M;
    h ^= h >> NGX_GRAPEVINE_HASH_R;

    return h;
}


static uint64_t
ngx_grapevine_hash64_word(uint64_t h, const u_char *p)
{
    uint64_t  k;

    ngx_memcpy(&k, p, 8);

    k *= NGX_GRAPEVINE_HASH_M;
    k ^= k >> NGX_GRAPEVINE_HASH_R;
    k *= NGX_GRAPEVINE_HASH_M;

    h ^= k;
    h *= NGX_GRAPEVINE_HASH_M;

    return h;
}


static ngx_int_t
ngx_grapevine_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return NGX_ERROR;
}
