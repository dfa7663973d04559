
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * The values of the protocol: strict UTF-8, escaped surrogates, JSON
 * integers, ISO-8601 timestamps; and the strings and messages the parser
 * and the builders put in the caller's arena.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ngx_grapevine_protocol_schema.h"


#define NGX_GRAPEVINE_PROTO_MSG_LEN      256


static int ngx_grapevine_proto_hex4(const u_char *p, size_t len,
    unsigned *value);
static unsigned ngx_grapevine_proto_days(unsigned year, unsigned month);
static int ngx_grapevine_proto_digits(const u_char *p, size_t n,
    unsigned *value);


/* a JSON integer (no fraction, no exponent) that fits in int64_t */

int
ngx_grapevine_proto_int64(const u_char *p, size_t len, int64_t *value)
{
    size_t    i;
    unsigned  d, neg;
    uint64_t  n, max;

    neg = (len && p[0] == '-');
    i = neg;

    if (i == len) {
        return 0;
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    n = 0;

    for ( /* void */ ; i < len; i++) {
        if (!ngx_grapevine_proto_is_digit(p[i])) {
            return 0;
        }

        d = p[i] - '0';

        if (n > (max - d) / 10) {
            return 0;
        }

        n = n * 10 + d;
    }

    if (!neg) {
        *value = (int64_t) n;

    } else if (n == (uint64_t) INT64_MAX + 1) {
        *value = INT64_MIN;

    } else {
        *value = - (int64_t) n;
    }

    return 1;
}


/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF.  Returns the offset of the first bad byte, or len.
 */

size_t
ngx_grapevine_proto_utf8_scan(const u_char *p, size_t len)
{
    u_char  c, lo, hi;
    size_t  i, n, k;

    i = 0;

    while (i < len) {
        c = p[i];

        if (c < 0x80) {
            i++;
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;

            if (c == 0xe0) {
                lo = 0xa0;              /* overlong */

            } else if (c == 0xed) {
                hi = 0x9f;              /* surrogates */
            }

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;

            if (c == 0xf0) {
                lo = 0x90;              /* overlong */

            } else if (c == 0xf4) {
                hi = 0x8f;              /* above U+10FFFF */
            }

        } else {
            return i;                   /* 0x80-0xc1, 0xf5-0xff */
        }

        if (len - i <= n) {
            return i;                   /* truncated */
        }

        if (p[i + 1] < lo || p[i + 1] > hi) {
            return i;
        }

        for (k = 2; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return i;
            }
        }

        i += n + 1;
    }

    return len;
}


/*
 * A backslash can only stand in a string (elsewhere yajl rejects it), so
 * a plain scan finds every escape.  Returns the offset of the first "\u"
 * escape of a surrogate that is not a high one followed by a low one, or
 * len.  Malformed escapes are left to yajl.
 */

size_t
ngx_grapevine_proto_escape_scan(const u_char *p, size_t len)
{
    size_t    i;
    unsigned  hi, lo;

    for (i = 0; i + 1 < len; i++) {

        if (p[i] != '\\') {
            continue;
        }

        if (p[i + 1] != 'u'
            || !ngx_grapevine_proto_hex4(p + i + 2, len - i - 2, &hi))
        {
            i++;                        /* skip the escaped character */
            continue;
        }

        if (hi >= 0xdc00 && hi <= 0xdfff) {
            return i;
        }

        if (hi >= 0xd800 && hi <= 0xdbff) {
            if (len - i < 12 || p[i + 6] != '\\' || p[i + 7] != 'u'
                || !ngx_grapevine_proto_hex4(p + i + 8, len - i - 8, &lo)
                || lo < 0xdc00 || lo > 0xdfff)
            {
                return i;
            }

            i += 6;
        }

        i += 5;
    }

    return len;
}


static int
ngx_grapevine_proto_hex4(const u_char *p, size_t len, unsigned *value)
{
    size_t  i;
    u_char  c;

    if (len < 4) {
        return 0;
    }

    *value = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return 0;
        }

        *value = (*value << 4) | c;
    }

    return 1;
}


int
ngx_grapevine_proto_text_check(const u_char *data, size_t len)
{
    if (ngx_grapevine_proto_utf8_scan(data, len) != len) {
        return NGX_GRAPEVINE_PROTO_EUTF8;
    }

    if (len && memchr(data, '\0', len) != NULL) {
        return NGX_GRAPEVINE_PROTO_ENUL;
    }

    return NGX_GRAPEVINE_PROTO_OK;
}


/* the characters (code points) of valid UTF-8 */

size_t
ngx_grapevine_proto_utf8_count(const u_char *p, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        /* every byte but a continuation byte starts a character */
        n += ((p[i] & 0xc0) != 0x80);
    }

    return n;
}


/* 1 if the text is empty or only spaces, tabs and line breaks */

int
ngx_grapevine_proto_blank(const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            return 0;
        }
    }

    return 1;
}


/*
 * A game's short name as the original Grapevine has it: 1 to 15 ASCII
 * letters and digits, so it is a path segment as it is.  Returns 1 if it
 * is one, 0 if not, -1 if it is one but reserved: "online" names a route
 * of the API (games/online), and names match in any case.
 */

int
ngx_grapevine_proto_short_name(const u_char *p, size_t len)
{
    size_t  i;
    u_char  c;

    if (len == 0 || len > NGX_GRAPEVINE_PROTO_MAX_SHORT_NAME) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!ngx_grapevine_proto_is_digit(c)
            && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z'))
        {
            return 0;
        }
    }

    if (len == 6) {
        for (i = 0; i < 6; i++) {
            if ((p[i] | 0x20) != (u_char) "online"[i]) {
                return 1;
            }
        }

        return -1;
    }

    return 1;
}


static int
ngx_grapevine_proto_digits(const u_char *p, size_t n, unsigned *value)
{
    size_t  i;

    *value = 0;

    for (i = 0; i < n; i++) {
        if (!ngx_grapevine_proto_is_digit(p[i])) {
            return 0;
        }

        *value = *value * 10 + (p[i] - '0');
    }

    return 1;
}


static unsigned
ngx_grapevine_proto_days(unsigned year, unsigned month)
{
    static const unsigned char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (month == 2
        && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
    {
        return 29;
    }

    return days[month - 1];
}


size_t
ngx_grapevine_proto_time_normalize(const u_char *data, size_t len,
    u_char *buf, unsigned flags)
{
    size_t    i, nfrac;
    u_char   *p;
    unsigned  year, month, day, hour, min, sec, usec;

    /* YYYY-MM-DDTHH:MM:SS */

    if (len < NGX_GRAPEVINE_PROTO_TIME_SEC_LEN
        || !ngx_grapevine_proto_digits(data, 4, &year)
        || data[4] != '-'
        || !ngx_grapevine_proto_digits(data + 5, 2, &month)
        || data[7] != '-'
        || !ngx_grapevine_proto_digits(data + 8, 2, &day)
        || (data[10] != 'T' && data[10] != 't' && data[10] != ' ')
        || !ngx_grapevine_proto_digits(data + 11, 2, &hour)
        || data[13] != ':'
        || !ngx_grapevine_proto_digits(data + 14, 2, &min)
        || data[16] != ':'
        || !ngx_grapevine_proto_digits(data + 17, 2, &sec))
    {
        return 0;
    }

    if (year == 0 || month < 1 || month > 12 || day < 1
        || day > ngx_grapevine_proto_days(year, month)
        || hour > 23 || min > 59 || sec > 59)
    {
        return 0;
    }

    /* [.fraction] Z */

    i = 19;
    usec = 0;
    nfrac = 0;

    if (data[i] == '.' || data[i] == ',') {

        for (i++; i < len && ngx_grapevine_proto_is_digit(data[i]); i++) {
            if (nfrac < 6) {
                usec = usec * 10 + (data[i] - '0');
            }

            nfrac++;
        }

        if (nfrac == 0 || nfrac > 9) {
            return 0;
        }

        for ( /* void */ ; nfrac < 6; nfrac++) {
            usec *= 10;
        }
    }

    if (i + 1 != len || (data[i] != 'Z' && data[i] != 'z')) {
        return 0;
    }

    memcpy(buf, data, 19);
    buf[10] = 'T';
    p = buf + 19;

    if (flags == NGX_GRAPEVINE_PROTO_TIME_USEC
        || (flags == NGX_GRAPEVINE_PROTO_TIME_AUTO && usec))
    {
        p += snprintf((char *) p, 8, ".%06u", usec);
    }

    *p++ = 'Z';
    *p = '\0';

    return (size_t) (p - buf);
}


/*
 * A date: "YYYY-MM-DD" that exists, or a timestamp that
 * ngx_grapevine_proto_time_normalize() accepts (its day is taken).  Writes
 * "YYYY-MM-DD" and a NUL into buf (11 bytes) and returns 10, or returns 0
 * for garbage.
 */

size_t
ngx_grapevine_proto_date_normalize(const u_char *data, size_t len,
    u_char *buf)
{
    u_char    tmp[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    unsigned  year, month, day;

    if (len != 10) {
        if (ngx_grapevine_proto_time_normalize(data, len, tmp,
                                               NGX_GRAPEVINE_PROTO_TIME_SEC)
            == 0)
        {
            return 0;
        }

        data = tmp;
    }

    if (!ngx_grapevine_proto_digits(data, 4, &year)
        || data[4] != '-'
        || !ngx_grapevine_proto_digits(data + 5, 2, &month)
        || data[7] != '-'
        || !ngx_grapevine_proto_digits(data + 8, 2, &day)
        || year == 0 || month < 1 || month > 12 || day < 1
        || day > ngx_grapevine_proto_days(year, month))
    {
        return 0;
    }

    memcpy(buf, data, 10);
    buf[10] = '\0';

    return 10;
}


int
ngx_grapevine_proto_time_valid(const u_char *data, size_t len)
{
    u_char  buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];

    return ngx_grapevine_proto_time_normalize(data, len, buf,
                                              NGX_GRAPEVINE_PROTO_TIME_SEC)
           != 0;
}


u_char *
ngx_grapevine_proto_strdup(ngx_grapevine_arena_t *arena, const u_char *p,
    size_t len)
{
    u_char  *dst;

    dst = ngx_grapevine_arena_alloc(arena, len + 1);
    if (dst == NULL) {
        return NULL;
    }

    if (len) {
        memcpy(dst, p, len);
    }

    dst[len] = '\0';

    return dst;
}


const char *
ngx_grapevine_proto_printf(ngx_grapevine_arena_t *arena, const char *fmt,
    ...)
{
    va_list      args;
    const char  *msg;

    va_start(args, fmt);
    msg = ngx_grapevine_proto_vprintf(arena, fmt, args);
    va_end(args);

    return msg;
}


/* at most NGX_GRAPEVINE_PROTO_MSG_LEN - 1 bytes, cut between characters */

const char *
ngx_grapevine_proto_vprintf(ngx_grapevine_arena_t *arena, const char *fmt,
    va_list args)
{
    int     n;
    size_t  len;
    u_char  buf[NGX_GRAPEVINE_PROTO_MSG_LEN];

    n = vsnprintf((char *) buf, sizeof(buf), fmt, args);
    if (n < 0) {
        return NULL;
    }

    len = (size_t) n;

    if (len >= sizeof(buf)) {
        len = sizeof(buf) - 1;

        while (len && (buf[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    return (const char *) ngx_grapevine_proto_strdup(arena, buf, len);
}


void
ngx_grapevine_proto_set_error(ngx_grapevine_proto_error_t *err, int rc,
    const char *msg)
{
    if (err == NULL) {
        return;
    }

    err->code = rc;

    if (rc == NGX_GRAPEVINE_PROTO_OK) {
        err->msg = "";

    } else {
        err->msg = msg ? msg : ngx_grapevine_proto_strerror(rc);
    }
}
