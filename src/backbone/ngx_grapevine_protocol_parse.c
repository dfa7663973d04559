
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * The parser: the bytes of one frame become a typed event, following the
 * schema (ngx_grapevine_protocol_schema.c).  See ngx_grapevine_protocol.h
 * for the rules.
 *
 * The parser keeps a stack of frames, one per open JSON container.  An
 * object frame with a schema maps keys to fields of a C struct; array
 * frames append strings, connections or sync records; everything else
 * (unknown keys, values of the wrong type) gets a skip frame whose
 * contents are only checked (UTF-8, NUL, depth).
 *
 * The payload can only be typed once "event" is known.  If "payload"
 * comes first, the first pass skips it and a second pass over the same
 * bytes fills it (and ignores the envelope keys).
 */


#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "ngx_grapevine_protocol_schema.h"


#define NGX_GRAPEVINE_PROTO_STACK_START  16


/* JSON values as the callbacks see them */
#define NGX_GRAPEVINE_PROTO_V_NULL       0
#define NGX_GRAPEVINE_PROTO_V_FALSE      1
#define NGX_GRAPEVINE_PROTO_V_TRUE       2
#define NGX_GRAPEVINE_PROTO_V_NUMBER     3
#define NGX_GRAPEVINE_PROTO_V_STRING     4
#define NGX_GRAPEVINE_PROTO_V_MAP        5
#define NGX_GRAPEVINE_PROTO_V_ARRAY      6

/* parser frames */
#define NGX_GRAPEVINE_PROTO_FR_SKIP      0
#define NGX_GRAPEVINE_PROTO_FR_OBJECT    1
#define NGX_GRAPEVINE_PROTO_FR_STRS      2
#define NGX_GRAPEVINE_PROTO_FR_CONNS     3
#define NGX_GRAPEVINE_PROTO_FR_RECORDS   4

/* what closing a frame finishes */
#define NGX_GRAPEVINE_PROTO_END_NONE     0
#define NGX_GRAPEVINE_PROTO_END_RECORD   1
#define NGX_GRAPEVINE_PROTO_END_CONN     2


typedef struct {
    unsigned                             kind;      /* FR_* */
    unsigned                             end;       /* END_* */
    const ngx_grapevine_proto_schema_t  *schema;    /* FR_OBJECT */

    /*
     * FR_OBJECT: the current key's field, NULL to skip its value;
     * arrays: the field that holds the array
     */
    const ngx_grapevine_proto_field_t   *field;

    void                                *target;
    uint32_t                             seen;      /* by field index */
    size_t                               nalloc;    /* array capacity */
} ngx_grapevine_proto_frame_t;


typedef struct {
    ngx_grapevine_arena_t               *arena;
    ngx_grapevine_proto_event_t         *ev;
    const ngx_grapevine_proto_def_t     *def;       /* from "event" */

    size_t                               max_depth;
    size_t                               max_records;
    size_t                               max_message;

    ngx_grapevine_proto_frame_t         *stack;     /* malloc()ed */
    size_t                               nstack;
    size_t                               depth;     /* open containers */

    ngx_grapevine_proto_record_t        *rec;       /* being parsed */
    size_t                               conn;      /* 1-based, or 0 */

    yajl_handle                          yajl;
    size_t                               end;       /* after the object */

    int                                  rc;        /* frame error */
    const char                          *msg;
    const char                          *invalid;   /* first problem */

    unsigned                             pass;      /* 1 or 2 */
    unsigned                             event_seen:1;
    unsigned                             deferred:1;
    unsigned                             done:1;    /* top closed */
} ngx_grapevine_proto_ctx_t;


static int ngx_grapevine_proto_run(ngx_grapevine_proto_ctx_t *ctx,
    const u_char *data, size_t len);
static int ngx_grapevine_proto_json_null(void *data);
static int ngx_grapevine_proto_json_boolean(void *data, int value);
static int ngx_grapevine_proto_json_number(void *data, const char *p,
    size_t len);
static int ngx_grapevine_proto_json_string(void *data, const u_char *p,
    size_t len);
static int ngx_grapevine_proto_json_start_map(void *data);
static int ngx_grapevine_proto_json_map_key(void *data, const u_char *p,
    size_t len);
static int ngx_grapevine_proto_json_end(void *data);
static int ngx_grapevine_proto_json_start_array(void *data);
static int ngx_grapevine_proto_start(ngx_grapevine_proto_ctx_t *ctx,
    unsigned vt);
static int ngx_grapevine_proto_value(ngx_grapevine_proto_ctx_t *ctx,
    unsigned vt, const u_char *p, size_t len);
static int ngx_grapevine_proto_field(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt, const u_char *p,
    size_t len);
static int ngx_grapevine_proto_event_name(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_opt_str_t *name);
static int ngx_grapevine_proto_text_rule(ngx_grapevine_proto_ctx_t *ctx,
    const ngx_grapevine_proto_field_t *fd, const u_char *p, size_t len);
static int ngx_grapevine_proto_payload(ngx_grapevine_proto_ctx_t *ctx,
    const ngx_grapevine_proto_field_t *fd, unsigned vt);
static int ngx_grapevine_proto_text(ngx_grapevine_proto_ctx_t *ctx,
    const u_char *p, size_t len);
static int ngx_grapevine_proto_str_elt(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt, const u_char *p,
    size_t len);
static int ngx_grapevine_proto_conn_elt(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt);
static int ngx_grapevine_proto_record_elt(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt);
static int ngx_grapevine_proto_record_end(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f);
static int ngx_grapevine_proto_conn_end(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f);
static int ngx_grapevine_proto_push(ngx_grapevine_proto_ctx_t *ctx,
    unsigned kind, const ngx_grapevine_proto_schema_t *schema,
    const ngx_grapevine_proto_field_t *field, void *target, unsigned end);
static void *ngx_grapevine_proto_grow(ngx_grapevine_proto_ctx_t *ctx,
    void *elts, size_t nelts, size_t *nalloc, size_t size);
static int ngx_grapevine_proto_set_str(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_opt_str_t *s, const u_char *p, size_t len);
static int ngx_grapevine_proto_bad(ngx_grapevine_proto_ctx_t *ctx,
    const char *name, const char *what);
static int ngx_grapevine_proto_required(ngx_grapevine_proto_ctx_t *ctx,
    const ngx_grapevine_proto_schema_t *schema, void *target,
    unsigned mask);
static ngx_grapevine_proto_state_e ngx_grapevine_proto_state(
    const ngx_grapevine_proto_field_t *fd, void *target);
static int ngx_grapevine_proto_fail(ngx_grapevine_proto_ctx_t *ctx, int rc,
    const char *fmt, ...);
static int ngx_grapevine_proto_finish(ngx_grapevine_proto_ctx_t *ctx);


static const yajl_callbacks  ngx_grapevine_proto_callbacks = {
    ngx_grapevine_proto_json_null,
    ngx_grapevine_proto_json_boolean,
    NULL,                                   /* integers come as numbers */
    NULL,                                   /* doubles come as numbers */
    ngx_grapevine_proto_json_number,
    ngx_grapevine_proto_json_string,
    ngx_grapevine_proto_json_start_map,
    ngx_grapevine_proto_json_map_key,
    ngx_grapevine_proto_json_end,
    ngx_grapevine_proto_json_start_array,
    ngx_grapevine_proto_json_end
};


int
ngx_grapevine_proto_parse(const u_char *data, size_t len,
    const ngx_grapevine_proto_limits_t *limits, ngx_grapevine_arena_t *arena,
    ngx_grapevine_proto_event_t *ev, ngx_grapevine_proto_error_t *err)
{
    size_t                        i;
    ngx_grapevine_proto_ctx_t     ctx;
    ngx_grapevine_proto_limits_t  lim;

    ngx_grapevine_proto_limits_init(&lim);

    if (limits) {
        if (limits->max_frame_size) {
            lim.max_frame_size = limits->max_frame_size;
        }

        if (limits->max_depth) {
            lim.max_depth = limits->max_depth;
        }

        if (limits->max_records) {
            lim.max_records = limits->max_records;
        }

        if (limits->max_message) {
            lim.max_message = limits->max_message;
        }
    }

    memset(ev, 0, sizeof(ngx_grapevine_proto_event_t));
    memset(&ctx, 0, sizeof(ngx_grapevine_proto_ctx_t));

    ctx.arena = arena;
    ctx.ev = ev;
    ctx.max_depth = lim.max_depth;
    ctx.max_records = lim.max_records;
    ctx.max_message = lim.max_message;

    if (len > lim.max_frame_size) {
        (void) ngx_grapevine_proto_fail(&ctx, NGX_GRAPEVINE_PROTO_ETOOBIG,
                                        "frame of %zu bytes is larger than "
                                        "%zu", len, lim.max_frame_size);
        goto done;
    }

    for (i = 0; i < len; i++) {
        if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n'
            && data[i] != '\r')
        {
            break;
        }
    }

    if (i == len) {
        (void) ngx_grapevine_proto_fail(&ctx, NGX_GRAPEVINE_PROTO_EEMPTY,
                                        "empty frame");
        goto done;
    }

    /* JSON text is UTF-8 as a whole: reject bad bytes wherever they are */

    i = ngx_grapevine_proto_utf8_scan(data, len);

    if (i != len) {
        (void) ngx_grapevine_proto_fail(&ctx, NGX_GRAPEVINE_PROTO_EUTF8,
                                        "invalid UTF-8 at byte %zu", i);
        goto done;
    }

    /* yajl makes "?" of "\ud800" and garbage of "\ud800\u0041" */

    i = ngx_grapevine_proto_escape_scan(data, len);

    if (i != len) {
        (void) ngx_grapevine_proto_fail(&ctx, NGX_GRAPEVINE_PROTO_EUTF8,
                                        "invalid UTF-8 in string: unpaired "
                                        "surrogate escape at byte %zu", i);
        goto done;
    }

    ctx.pass = 1;

    if (ngx_grapevine_proto_run(&ctx, data, len) != NGX_GRAPEVINE_PROTO_OK) {
        goto done;
    }

    if (ctx.deferred && ctx.def != NULL
        && ctx.def->payload != NGX_GRAPEVINE_PROTO_P_NONE)
    {
        /* "payload" came before "event" */

        ctx.pass = 2;

        if (ngx_grapevine_proto_run(&ctx, data, len)
            != NGX_GRAPEVINE_PROTO_OK)
        {
            goto done;
        }
    }

    (void) ngx_grapevine_proto_finish(&ctx);

done:

    free(ctx.stack);

    ngx_grapevine_proto_set_error(err, ctx.rc, ctx.msg);

    return ctx.rc;
}


static int
ngx_grapevine_proto_run(ngx_grapevine_proto_ctx_t *ctx, const u_char *data,
    size_t len)
{
    u_char       *msg;
    size_t        n, at;
    yajl_handle   h;
    yajl_status   st;

    h = yajl_alloc(&ngx_grapevine_proto_callbacks, NULL, ctx);
    if (h == NULL) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                        "out of memory");
    }

    ctx->yajl = h;
    ctx->depth = 0;
    ctx->done = 0;
    ctx->rec = NULL;
    ctx->conn = 0;

    st = yajl_parse(h, data, len);
    at = yajl_get_bytes_consumed(h);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
        at = len;
    }

    if (st == yajl_status_ok || st == yajl_status_client_canceled) {
        yajl_free(h);
        return ctx->rc;
    }

    if (ctx->done) {
        for (at = ctx->end;
             at < len && (data[at] == ' ' || data[at] == '\t'
                          || data[at] == '\n' || data[at] == '\r');
             at++)
        {
            /* void */
        }

        (void) ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ETRAILING,
                                        "trailing garbage after the JSON "
                                        "object at byte %zu", at);
        yajl_free(h);
        return ctx->rc;
    }

    msg = yajl_get_error(h, 0, data, len);

    if (msg == NULL) {
        (void) ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_EJSON,
                                        "malformed JSON at byte %zu", at);

    } else {
        /* "parse error: premature EOF\n" */

        for (n = strlen((char *) msg);
             n && (msg[n - 1] == '\n' || msg[n - 1] == ' '
                   || msg[n - 1] == '.');
             n--)
        {
            /* void */
        }

        (void) ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_EJSON,
                                        "malformed JSON at byte %zu: %.*s",
                                        at, (int) n, msg);

        yajl_free_error(h, msg);
    }

    yajl_free(h);

    return ctx->rc;
}


static int
ngx_grapevine_proto_json_null(void *data)
{
    return ngx_grapevine_proto_value(data, NGX_GRAPEVINE_PROTO_V_NULL,
                                     NULL, 0);
}


static int
ngx_grapevine_proto_json_boolean(void *data, int value)
{
    return ngx_grapevine_proto_value(data,
                                     value ? NGX_GRAPEVINE_PROTO_V_TRUE
                                           : NGX_GRAPEVINE_PROTO_V_FALSE,
                                     NULL, 0);
}


/* every number, as its JSON text: huge ones are not a parse error */

static int
ngx_grapevine_proto_json_number(void *data, const char *p, size_t len)
{
    return ngx_grapevine_proto_value(data, NGX_GRAPEVINE_PROTO_V_NUMBER,
                                     (const u_char *) p, len);
}


static int
ngx_grapevine_proto_text(ngx_grapevine_proto_ctx_t *ctx, const u_char *p,
    size_t len)
{
    switch (ngx_grapevine_proto_text_check(p, len)) {

    case NGX_GRAPEVINE_PROTO_OK:
        return 1;

    case NGX_GRAPEVINE_PROTO_ENUL:
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENUL,
                                        "NUL character (\\u0000) in "
                                        "string");

    default:
        /* the raw bytes were valid: an escaped surrogate */
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_EUTF8,
                                        "invalid UTF-8 in string "
                                        "(an escaped surrogate)");
    }
}


static int
ngx_grapevine_proto_json_string(void *data, const u_char *p, size_t len)
{
    if (!ngx_grapevine_proto_text(data, p, len)) {
        return 0;
    }

    return ngx_grapevine_proto_value(data, NGX_GRAPEVINE_PROTO_V_STRING,
                                     p, len);
}


static int
ngx_grapevine_proto_json_start_map(void *data)
{
    return ngx_grapevine_proto_start(data, NGX_GRAPEVINE_PROTO_V_MAP);
}


static int
ngx_grapevine_proto_json_start_array(void *data)
{
    return ngx_grapevine_proto_start(data, NGX_GRAPEVINE_PROTO_V_ARRAY);
}


static int
ngx_grapevine_proto_start(ngx_grapevine_proto_ctx_t *ctx, unsigned vt)
{
    size_t  depth;

    depth = ctx->depth;

    if (depth >= ctx->max_depth) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_EDEPTH,
                                        "frame nested deeper than %zu",
                                        ctx->max_depth);
    }

    if (!ngx_grapevine_proto_value(ctx, vt, NULL, 0)) {
        return 0;
    }

    if (ctx->depth == depth) {
        /* nobody took the container: its contents are only checked */
        return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_SKIP,
                                        NULL, NULL, NULL,
                                        NGX_GRAPEVINE_PROTO_END_NONE);
    }

    return 1;
}


static int
ngx_grapevine_proto_json_map_key(void *data, const u_char *p, size_t len)
{
    size_t                              i;
    ngx_grapevine_proto_ctx_t          *ctx;
    ngx_grapevine_proto_frame_t        *f;
    const ngx_grapevine_proto_field_t  *fd;

    ctx = data;

    if (!ngx_grapevine_proto_text(ctx, p, len)) {
        return 0;
    }

    f = &ctx->stack[ctx->depth - 1];

    if (f->kind != NGX_GRAPEVINE_PROTO_FR_OBJECT) {
        return 1;
    }

    f->field = NULL;

    for (i = 0; i < f->schema->nfields; i++) {
        fd = &f->schema->fields[i];

        if (strlen(fd->name) != len || memcmp(fd->name, p, len) != 0) {
            continue;
        }

        if (f->seen & (1u << i)) {
            /* a duplicate key: the first one wins */
            return 1;
        }

        f->seen |= 1u << i;

        if (ctx->pass == 2
            && f->schema
               == ngx_grapevine_proto_schema_get(NGX_GRAPEVINE_PROTO_S_ENVELOPE)
            && fd->type != NGX_GRAPEVINE_PROTO_F_PAYLOAD)
        {
            /* the envelope is filled already */
            return 1;
        }

        if (fd->flags & NGX_GRAPEVINE_PROTO_NAME) {
            ctx->event_seen = 1;
        }

        f->field = fd;

        return 1;
    }

    return 1;
}


static int
ngx_grapevine_proto_json_end(void *data)
{
    ngx_grapevine_proto_ctx_t    *ctx;
    ngx_grapevine_proto_frame_t  *f;

    ctx = data;

    f = &ctx->stack[--ctx->depth];

    if (ctx->depth == 0) {
        ctx->done = 1;

        /* yajl counts the bytes of the current call as it goes */
        ctx->end = yajl_get_bytes_consumed(ctx->yajl);
    }

    switch (f->end) {

    case NGX_GRAPEVINE_PROTO_END_RECORD:
        return ngx_grapevine_proto_record_end(ctx, f);

    case NGX_GRAPEVINE_PROTO_END_CONN:
        return ngx_grapevine_proto_conn_end(ctx, f);

    default:
        break;
    }

    return 1;
}


static int
ngx_grapevine_proto_value(ngx_grapevine_proto_ctx_t *ctx, unsigned vt,
    const u_char *p, size_t len)
{
    ngx_grapevine_proto_frame_t  *f;

    if (ctx->depth == 0) {
        if (vt != NGX_GRAPEVINE_PROTO_V_MAP) {
            return ngx_grapevine_proto_fail(ctx,
                                            NGX_GRAPEVINE_PROTO_ENOTOBJECT,
                                            "frame is not a JSON object");
        }

        return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_OBJECT,
                   ngx_grapevine_proto_schema_get(
                                             NGX_GRAPEVINE_PROTO_S_ENVELOPE),
                   NULL, ctx->ev, NGX_GRAPEVINE_PROTO_END_NONE);
    }

    f = &ctx->stack[ctx->depth - 1];

    switch (f->kind) {

    case NGX_GRAPEVINE_PROTO_FR_OBJECT:
        if (f->field == NULL) {
            return 1;
        }

        return ngx_grapevine_proto_field(ctx, f, vt, p, len);

    case NGX_GRAPEVINE_PROTO_FR_STRS:
        return ngx_grapevine_proto_str_elt(ctx, f, vt, p, len);

    case NGX_GRAPEVINE_PROTO_FR_CONNS:
        return ngx_grapevine_proto_conn_elt(ctx, f, vt);

    case NGX_GRAPEVINE_PROTO_FR_RECORDS:
        return ngx_grapevine_proto_record_elt(ctx, f, vt);

    default: /* NGX_GRAPEVINE_PROTO_FR_SKIP */
        return 1;
    }
}


/* the value of a known key; f may move when a frame is pushed */

static int
ngx_grapevine_proto_field(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt, const u_char *p, size_t len)
{
    u_char                              *dst;
    u_char                               buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    size_t                               n;
    int64_t                              value;
    ngx_grapevine_proto_sync_t          *sync;
    ngx_grapevine_proto_record_t        *rec;
    ngx_grapevine_proto_opt_int_t       *oi;
    ngx_grapevine_proto_opt_str_t       *os;
    ngx_grapevine_proto_opt_bool_t      *ob;
    ngx_grapevine_proto_str_array_t     *sa;
    ngx_grapevine_proto_connections_t   *conns;
    const ngx_grapevine_proto_field_t   *fd;
    const ngx_grapevine_proto_schema_t  *schema;

    fd = f->field;
    dst = (u_char *) f->target + fd->offset;

    switch (fd->type) {

    case NGX_GRAPEVINE_PROTO_F_STR:
        os = (ngx_grapevine_proto_opt_str_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_STRING) {
            if (!ngx_grapevine_proto_set_str(ctx, os, p, len)) {
                return 0;
            }

            if (fd->flags & NGX_GRAPEVINE_PROTO_NAME) {
                return ngx_grapevine_proto_event_name(ctx, os);
            }

            if (fd->flags & NGX_GRAPEVINE_PROTO_TEXT_RULES) {
                return ngx_grapevine_proto_text_rule(ctx, fd, p, len);
            }

            return 1;
        }

        if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            os->state = NGX_GRAPEVINE_PROTO_NULL;
            return 1;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name, "is not a string");

    case NGX_GRAPEVINE_PROTO_F_TIME:
        os = (ngx_grapevine_proto_opt_str_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_STRING) {
            n = ngx_grapevine_proto_time_normalize(p, len, buf,
                                                NGX_GRAPEVINE_PROTO_TIME_USEC);
            if (n) {
                return ngx_grapevine_proto_set_str(ctx, os, buf, n);
            }

        } else if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            os->state = NGX_GRAPEVINE_PROTO_NULL;
            return 1;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name,
                                       "is not an ISO-8601 time");

    case NGX_GRAPEVINE_PROTO_F_DATE:
        os = (ngx_grapevine_proto_opt_str_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_STRING) {
            n = ngx_grapevine_proto_date_normalize(p, len, buf);
            if (n) {
                return ngx_grapevine_proto_set_str(ctx, os, buf, n);
            }

        } else if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            os->state = NGX_GRAPEVINE_PROTO_NULL;
            return 1;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name, "is not a date");

    case NGX_GRAPEVINE_PROTO_F_INT:
        oi = (ngx_grapevine_proto_opt_int_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_NUMBER
            && ngx_grapevine_proto_int64(p, len, &value))
        {
            if ((fd->flags & NGX_GRAPEVINE_PROTO_INT32)
                && (value < INT32_MIN || value > INT32_MAX))
            {
                return ngx_grapevine_proto_bad(ctx, fd->name,
                                               "is out of range");
            }

            oi->value = value;
            oi->state = NGX_GRAPEVINE_PROTO_SET;
            return 1;
        }

        if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            oi->state = NGX_GRAPEVINE_PROTO_NULL;
            return 1;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name, "is not an integer");

    case NGX_GRAPEVINE_PROTO_F_BOOL:
        ob = (ngx_grapevine_proto_opt_bool_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_TRUE
            || vt == NGX_GRAPEVINE_PROTO_V_FALSE)
        {
            ob->value = (vt == NGX_GRAPEVINE_PROTO_V_TRUE);
            ob->state = NGX_GRAPEVINE_PROTO_SET;
            return 1;
        }

        if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            ob->state = NGX_GRAPEVINE_PROTO_NULL;
            return 1;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name, "is not a boolean");

    case NGX_GRAPEVINE_PROTO_F_STRS:
        sa = (ngx_grapevine_proto_str_array_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_ARRAY) {
            sa->state = NGX_GRAPEVINE_PROTO_SET;
            return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_STRS,
                                            NULL, fd, sa,
                                            NGX_GRAPEVINE_PROTO_END_NONE);
        }

        if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            sa->state = NGX_GRAPEVINE_PROTO_NULL;
            return 1;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name,
                                       "is not an array of strings");

    case NGX_GRAPEVINE_PROTO_F_CONNS:
        conns = (ngx_grapevine_proto_connections_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_ARRAY) {
            conns->state = NGX_GRAPEVINE_PROTO_SET;
            return ngx_grapevine_proto_push(ctx,
                                            NGX_GRAPEVINE_PROTO_FR_CONNS,
                                            NULL, fd, conns,
                                            NGX_GRAPEVINE_PROTO_END_NONE);
        }

        if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            conns->state = NGX_GRAPEVINE_PROTO_NULL;
            return 1;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name,
                                       "is not an array of objects");

    case NGX_GRAPEVINE_PROTO_F_RECORDS:
        sync = f->target;

        if (vt == NGX_GRAPEVINE_PROTO_V_ARRAY) {
            sync->shape = NGX_GRAPEVINE_PROTO_SHAPE_V1;
            return ngx_grapevine_proto_push(ctx,
                                            NGX_GRAPEVINE_PROTO_FR_RECORDS,
                                            NULL, fd, sync,
                                            NGX_GRAPEVINE_PROTO_END_NONE);
        }

        return ngx_grapevine_proto_bad(ctx, fd->name, "is not an array");

    case NGX_GRAPEVINE_PROTO_F_ACTION:
        rec = f->target;

        if (vt == NGX_GRAPEVINE_PROTO_V_STRING) {
            if (len == 6 && memcmp(p, "create", 6) == 0) {
                rec->action = NGX_GRAPEVINE_PROTO_ACTION_CREATE;
                return 1;
            }

            if (len == 6 && memcmp(p, "update", 6) == 0) {
                rec->action = NGX_GRAPEVINE_PROTO_ACTION_UPDATE;
                return 1;
            }

            if (len == 6 && memcmp(p, "delete", 6) == 0) {
                rec->action = NGX_GRAPEVINE_PROTO_ACTION_DELETE;
                return 1;
            }
        }

        return ngx_grapevine_proto_bad(ctx, fd->name,
                                       "is not create, update or delete");

    case NGX_GRAPEVINE_PROTO_F_RECORD:
        rec = f->target;

        if (vt == NGX_GRAPEVINE_PROTO_V_MAP) {
            schema = ngx_grapevine_proto_schema_get(
                         NGX_GRAPEVINE_PROTO_S_RECORD + ctx->ev->u.sync.kind);

            return ngx_grapevine_proto_push(ctx,
                                            NGX_GRAPEVINE_PROTO_FR_OBJECT,
                                            schema, NULL, &rec->u,
                                            NGX_GRAPEVINE_PROTO_END_NONE);
        }

        return ngx_grapevine_proto_bad(ctx, fd->name, "is not an object");

    default: /* NGX_GRAPEVINE_PROTO_F_PAYLOAD */
        return ngx_grapevine_proto_payload(ctx, fd, vt);
    }
}


static int
ngx_grapevine_proto_event_name(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_opt_str_t *name)
{
    size_t  i;

    /* "unknown" and "failure" are no event names */

    for (i = NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE;
         i < NGX_GRAPEVINE_PROTO_NDEFS;
         i++)
    {
        if (strlen(ngx_grapevine_proto_defs[i].name) == name->len
            && memcmp(ngx_grapevine_proto_defs[i].name, name->data,
                      name->len)
               == 0)
        {
            ctx->ev->type = (ngx_grapevine_proto_type_e) i;
            ctx->def = &ngx_grapevine_proto_defs[i];
            return 1;
        }
    }

    ctx->ev->type = NGX_GRAPEVINE_PROTO_EV_UNKNOWN;

    return 1;
}


/*
 * The names and the chat that are stored: not empty or blank, within
 * their bounds, a short name of letters and digits and not reserved.  The
 * value is kept (an invalid record keeps what could be parsed); the
 * record or the event is invalid.
 */

static int
ngx_grapevine_proto_text_rule(ngx_grapevine_proto_ctx_t *ctx,
    const ngx_grapevine_proto_field_t *fd, const u_char *p, size_t len)
{
    int          rc;
    size_t       max;
    const char  *what;

    if (ngx_grapevine_proto_blank(p, len)) {
        return ngx_grapevine_proto_bad(ctx, fd->name, "is empty");
    }

    if (fd->flags & NGX_GRAPEVINE_PROTO_MESSAGE) {
        if (len <= ctx->max_message) {
            return 1;
        }

        what = ngx_grapevine_proto_printf(ctx->arena,
                                          "is longer than %zu bytes",
                                          ctx->max_message);
        goto bad;
    }

    if (fd->flags & NGX_GRAPEVINE_PROTO_SHORT_NAME) {
        rc = ngx_grapevine_proto_short_name(p, len);

        if (rc == 1) {
            return 1;
        }

        if (rc < 0) {
            return ngx_grapevine_proto_bad(ctx, fd->name,
                                           "is a reserved name");
        }

        what = ngx_grapevine_proto_printf(ctx->arena,
                                          "is not 1 to %d letters and "
                                          "digits",
                                          NGX_GRAPEVINE_PROTO_MAX_SHORT_NAME);
        goto bad;
    }

    max = (fd->flags & NGX_GRAPEVINE_PROTO_CHANNEL_NAME)
          ? NGX_GRAPEVINE_PROTO_MAX_CHANNEL : NGX_GRAPEVINE_PROTO_MAX_NAME;

    /* a character is at least a byte: most names need no counting */

    if (len <= max || ngx_grapevine_proto_utf8_count(p, len) <= max) {
        return 1;
    }

    what = ngx_grapevine_proto_printf(ctx->arena,
                                      "is longer than %zu characters", max);

bad:

    if (what == NULL) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                        "out of memory");
    }

    return ngx_grapevine_proto_bad(ctx, fd->name, what);
}


static int
ngx_grapevine_proto_payload(ngx_grapevine_proto_ctx_t *ctx,
    const ngx_grapevine_proto_field_t *fd, unsigned vt)
{
    ngx_grapevine_proto_sync_t       *sync;
    ngx_grapevine_proto_event_t      *ev;
    const ngx_grapevine_proto_def_t  *def;

    ev = ctx->ev;

    ev->payload = (vt == NGX_GRAPEVINE_PROTO_V_NULL)
                  ? NGX_GRAPEVINE_PROTO_NULL : NGX_GRAPEVINE_PROTO_SET;

    if (ctx->pass == 1 && !ctx->event_seen) {
        /* typed in the second pass */
        ctx->deferred = 1;
        return 1;
    }

    def = ctx->def;

    if (def == NULL || def->payload == NGX_GRAPEVINE_PROTO_P_NONE
        || vt == NGX_GRAPEVINE_PROTO_V_NULL)
    {
        return 1;
    }

    if (def->payload == NGX_GRAPEVINE_PROTO_P_SYNC) {
        sync = &ev->u.sync;
        sync->kind = def->kind;

        if (vt == NGX_GRAPEVINE_PROTO_V_MAP) {
            return ngx_grapevine_proto_push(ctx,
                                            NGX_GRAPEVINE_PROTO_FR_OBJECT,
                                            def->schema, NULL, sync,
                                            NGX_GRAPEVINE_PROTO_END_NONE);
        }

        if (vt == NGX_GRAPEVINE_PROTO_V_ARRAY) {
            sync->shape = NGX_GRAPEVINE_PROTO_SHAPE_V2;
            return ngx_grapevine_proto_push(ctx,
                                            NGX_GRAPEVINE_PROTO_FR_RECORDS,
                                            NULL, fd, sync,
                                            NGX_GRAPEVINE_PROTO_END_NONE);
        }

        return ngx_grapevine_proto_bad(ctx, fd->name,
                                       "is not an object or an array");
    }

    if (vt == NGX_GRAPEVINE_PROTO_V_MAP) {
        return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_OBJECT,
                                        def->schema, NULL, &ev->u,
                                        NGX_GRAPEVINE_PROTO_END_NONE);
    }

    return ngx_grapevine_proto_bad(ctx, fd->name, "is not an object");
}


static int
ngx_grapevine_proto_str_elt(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt, const u_char *p, size_t len)
{
    u_char                           *data;
    ngx_grapevine_proto_str_t        *elts;
    ngx_grapevine_proto_str_array_t  *sa;

    sa = f->target;

    if (vt != NGX_GRAPEVINE_PROTO_V_STRING) {
        return ngx_grapevine_proto_bad(ctx, f->field->name,
                                       "is not an array of strings");
    }

    elts = ngx_grapevine_proto_grow(ctx, sa->elts, sa->nelts, &f->nalloc,
                                    sizeof(ngx_grapevine_proto_str_t));
    if (elts == NULL) {
        return 0;
    }

    sa->elts = elts;

    data = ngx_grapevine_proto_strdup(ctx->arena, p, len);
    if (data == NULL) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                        "out of memory");
    }

    elts[sa->nelts].len = len;
    elts[sa->nelts].data = data;
    sa->nelts++;

    return 1;
}


static int
ngx_grapevine_proto_conn_elt(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt)
{
    ngx_grapevine_proto_connection_t   *elts, *c;
    ngx_grapevine_proto_connections_t  *conns;

    conns = f->target;

    elts = ngx_grapevine_proto_grow(ctx, conns->elts, conns->nelts,
                                    &f->nalloc,
                                    sizeof(ngx_grapevine_proto_connection_t));
    if (elts == NULL) {
        return 0;
    }

    conns->elts = elts;

    c = &elts[conns->nelts++];
    memset(c, 0, sizeof(ngx_grapevine_proto_connection_t));

    ctx->conn = conns->nelts;

    if (vt == NGX_GRAPEVINE_PROTO_V_MAP) {
        return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_OBJECT,
                   ngx_grapevine_proto_schema_get(NGX_GRAPEVINE_PROTO_S_CONN),
                   NULL, c, NGX_GRAPEVINE_PROTO_END_CONN);
    }

    if (!ngx_grapevine_proto_bad(ctx, NULL, "is not an object")) {
        return 0;
    }

    if (vt == NGX_GRAPEVINE_PROTO_V_ARRAY) {
        return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_SKIP,
                                        NULL, NULL, NULL,
                                        NGX_GRAPEVINE_PROTO_END_CONN);
    }

    ctx->conn = 0;

    return 1;
}


static int
ngx_grapevine_proto_conn_end(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f)
{
    if (f->kind == NGX_GRAPEVINE_PROTO_FR_OBJECT
        && !ngx_grapevine_proto_required(ctx, f->schema, f->target,
                                         NGX_GRAPEVINE_PROTO_REQ))
    {
        return 0;
    }

    ctx->conn = 0;

    return 1;
}


static int
ngx_grapevine_proto_record_elt(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f, unsigned vt)
{
    ngx_grapevine_proto_sync_t          *sync;
    ngx_grapevine_proto_record_t        *elts, *rec;
    const ngx_grapevine_proto_schema_t  *schema;

    sync = f->target;

    if (sync->nrecords >= ctx->max_records) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ETOOMANY,
                                        "%s has more than %zu records",
                                        ctx->def->name, ctx->max_records);
    }

    elts = ngx_grapevine_proto_grow(ctx, sync->records, sync->nrecords,
                                    &f->nalloc,
                                    sizeof(ngx_grapevine_proto_record_t));
    if (elts == NULL) {
        return 0;
    }

    sync->records = elts;

    rec = &elts[sync->nrecords];
    memset(rec, 0, sizeof(ngx_grapevine_proto_record_t));

    rec->index = sync->nrecords++;

    if (sync->shape == NGX_GRAPEVINE_PROTO_SHAPE_V1) {
        rec->action = NGX_GRAPEVINE_PROTO_ACTION_UPSERT;
    }

    ctx->rec = rec;

    if (vt == NGX_GRAPEVINE_PROTO_V_MAP) {
        if (sync->shape == NGX_GRAPEVINE_PROTO_SHAPE_V1) {
            schema = ngx_grapevine_proto_schema_get(
                                   NGX_GRAPEVINE_PROTO_S_RECORD + sync->kind);

            return ngx_grapevine_proto_push(ctx,
                                            NGX_GRAPEVINE_PROTO_FR_OBJECT,
                                            schema, NULL, &rec->u,
                                            NGX_GRAPEVINE_PROTO_END_RECORD);
        }

        schema = ngx_grapevine_proto_schema_get(NGX_GRAPEVINE_PROTO_S_VERSION);

        return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_OBJECT,
                                        schema, NULL, rec,
                                        NGX_GRAPEVINE_PROTO_END_RECORD);
    }

    if (!ngx_grapevine_proto_bad(ctx, NULL, "not an object")) {
        return 0;
    }

    if (vt == NGX_GRAPEVINE_PROTO_V_ARRAY) {
        return ngx_grapevine_proto_push(ctx, NGX_GRAPEVINE_PROTO_FR_SKIP,
                                        NULL, NULL, NULL,
                                        NGX_GRAPEVINE_PROTO_END_RECORD);
    }

    return ngx_grapevine_proto_record_end(ctx, NULL);
}


/* checks a record once it is complete and names it in its message */

static int
ngx_grapevine_proto_record_end(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_frame_t *f)
{
    unsigned                             mask;
    const char                          *msg;
    ngx_grapevine_proto_sync_t          *sync;
    ngx_grapevine_proto_record_t        *rec;
    ngx_grapevine_proto_opt_int_t       *id;
    const ngx_grapevine_proto_schema_t  *schema;

    rec = ctx->rec;
    sync = &ctx->ev->u.sync;
    schema = ngx_grapevine_proto_schema_get(NGX_GRAPEVINE_PROTO_S_RECORD
                                            + sync->kind);

    if (!rec->invalid && f != NULL
        && f->kind == NGX_GRAPEVINE_PROTO_FR_OBJECT)
    {
        if (f->schema
            == ngx_grapevine_proto_schema_get(NGX_GRAPEVINE_PROTO_S_VERSION))
        {
            if (rec->action == NGX_GRAPEVINE_PROTO_ACTION_NONE) {
                if (!ngx_grapevine_proto_bad(ctx, "action", "missing")) {
                    return 0;
                }

            } else if (!(f->seen
                         & (1u << NGX_GRAPEVINE_PROTO_VERSION_PAYLOAD)))
            {
                if (!ngx_grapevine_proto_bad(ctx, "payload", "missing")) {
                    return 0;
                }
            }
        }

        mask = (rec->action == NGX_GRAPEVINE_PROTO_ACTION_DELETE)
               ? NGX_GRAPEVINE_PROTO_REQ_DELETE
               : NGX_GRAPEVINE_PROTO_REQ_RECORD;

        if (!rec->invalid
            && !ngx_grapevine_proto_required(ctx, schema, &rec->u, mask))
        {
            return 0;
        }
    }

    if (rec->invalid) {

        /* "id" is the first member of every record */
        id = (ngx_grapevine_proto_opt_int_t *) &rec->u;

        if (id->state == NGX_GRAPEVINE_PROTO_SET) {
            msg = ngx_grapevine_proto_printf(ctx->arena, "%s #%lld: %s",
                                             schema->name,
                                             (long long) id->value,
                                             rec->error);

        } else {
            msg = ngx_grapevine_proto_printf(ctx->arena,
                                             "%s record %zu: %s",
                                             schema->name, rec->index + 1,
                                             rec->error);
        }

        if (msg == NULL) {
            return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                            "out of memory");
        }

        rec->error = msg;
        sync->ninvalid++;
    }

    ctx->rec = NULL;

    return 1;
}


static int
ngx_grapevine_proto_push(ngx_grapevine_proto_ctx_t *ctx, unsigned kind,
    const ngx_grapevine_proto_schema_t *schema,
    const ngx_grapevine_proto_field_t *field, void *target, unsigned end)
{
    size_t                        n;
    ngx_grapevine_proto_frame_t  *f;

    if (ctx->depth == ctx->nstack) {
        n = ctx->nstack ? 2 * ctx->nstack : NGX_GRAPEVINE_PROTO_STACK_START;

        f = realloc(ctx->stack, n * sizeof(ngx_grapevine_proto_frame_t));
        if (f == NULL) {
            return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                            "out of memory");
        }

        ctx->stack = f;
        ctx->nstack = n;
    }

    f = &ctx->stack[ctx->depth++];

    f->kind = kind;
    f->end = end;
    f->schema = schema;
    f->field = field;
    f->target = target;
    f->seen = 0;
    f->nalloc = 0;

    return 1;
}


/*
 * Makes room for one more element of an array in the arena; the old
 * copy is abandoned.  Only called between elements, when nothing points
 * into the array.
 */

static void *
ngx_grapevine_proto_grow(ngx_grapevine_proto_ctx_t *ctx, void *elts,
    size_t nelts, size_t *nalloc, size_t size)
{
    u_char  *p;
    size_t   n;

    if (nelts < *nalloc) {
        return elts;
    }

    n = *nalloc ? 2 * *nalloc : 4;

    p = ngx_grapevine_arena_alloc(ctx->arena, n * size);
    if (p == NULL) {
        (void) ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                        "out of memory");
        return NULL;
    }

    if (nelts) {
        memcpy(p, elts, nelts * size);
    }

    *nalloc = n;

    return p;
}


static int
ngx_grapevine_proto_set_str(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_opt_str_t *s, const u_char *p, size_t len)
{
    u_char  *data;

    data = ngx_grapevine_proto_strdup(ctx->arena, p, len);
    if (data == NULL) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                        "out of memory");
    }

    s->len = len;
    s->data = data;
    s->state = NGX_GRAPEVINE_PROTO_SET;

    return 1;
}


/*
 * Records a problem with a field: the record's if one is being parsed,
 * else the event's.  The first one wins.  Returns 0 only when out of
 * memory.
 */

static int
ngx_grapevine_proto_bad(ngx_grapevine_proto_ctx_t *ctx, const char *name,
    const char *what)
{
    const char  *msg;

    if (ctx->rec ? ctx->rec->invalid : ctx->invalid != NULL) {
        return 1;
    }

    if (ctx->conn) {
        msg = name ? ngx_grapevine_proto_printf(ctx->arena,
                                                "\"connections[%zu].%s\" %s",
                                                ctx->conn, name, what)
                   : ngx_grapevine_proto_printf(ctx->arena,
                                                "\"connections[%zu]\" %s",
                                                ctx->conn, what);

    } else {
        msg = name ? ngx_grapevine_proto_printf(ctx->arena, "\"%s\" %s",
                                                name, what)
                   : ngx_grapevine_proto_printf(ctx->arena, "%s", what);
    }

    if (msg == NULL) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                        "out of memory");
    }

    if (ctx->rec) {
        ctx->rec->invalid = 1;
        ctx->rec->error = msg;

    } else {
        ctx->invalid = msg;
    }

    return 1;
}


/* the first required field (by mask) that is not SET is a problem */

static int
ngx_grapevine_proto_required(ngx_grapevine_proto_ctx_t *ctx,
    const ngx_grapevine_proto_schema_t *schema, void *target, unsigned mask)
{
    size_t                              i;
    ngx_grapevine_proto_state_e         state;
    const ngx_grapevine_proto_field_t  *fd;

    for (i = 0; i < schema->nfields; i++) {
        fd = &schema->fields[i];

        if (!(fd->flags & mask)) {
            continue;
        }

        state = ngx_grapevine_proto_state(fd, target);

        if (state == NGX_GRAPEVINE_PROTO_SET) {
            continue;
        }

        return ngx_grapevine_proto_bad(ctx, fd->name,
                                       state == NGX_GRAPEVINE_PROTO_NULL
                                       ? "is null" : "missing");
    }

    return 1;
}


static ngx_grapevine_proto_state_e
ngx_grapevine_proto_state(const ngx_grapevine_proto_field_t *fd,
    void *target)
{
    u_char  *p;

    p = (u_char *) target + fd->offset;

    switch (fd->type) {

    case NGX_GRAPEVINE_PROTO_F_STR:
    case NGX_GRAPEVINE_PROTO_F_TIME:
    case NGX_GRAPEVINE_PROTO_F_DATE:
        return ((ngx_grapevine_proto_opt_str_t *) p)->state;

    case NGX_GRAPEVINE_PROTO_F_INT:
        return ((ngx_grapevine_proto_opt_int_t *) p)->state;

    case NGX_GRAPEVINE_PROTO_F_BOOL:
        return ((ngx_grapevine_proto_opt_bool_t *) p)->state;

    case NGX_GRAPEVINE_PROTO_F_STRS:
        return ((ngx_grapevine_proto_str_array_t *) p)->state;

    case NGX_GRAPEVINE_PROTO_F_CONNS:
        return ((ngx_grapevine_proto_connections_t *) p)->state;

    case NGX_GRAPEVINE_PROTO_F_RECORDS:
        return (((ngx_grapevine_proto_sync_t *) target)->shape
                != NGX_GRAPEVINE_PROTO_SHAPE_NONE)
               ? NGX_GRAPEVINE_PROTO_SET : NGX_GRAPEVINE_PROTO_ABSENT;

    default:
        return NGX_GRAPEVINE_PROTO_SET;
    }
}


/* a frame-level error; the first one wins; returns 0 to stop yajl */

static int
ngx_grapevine_proto_fail(ngx_grapevine_proto_ctx_t *ctx, int rc,
    const char *fmt, ...)
{
    va_list      args;
    const char  *msg;

    if (ctx->rc != NGX_GRAPEVINE_PROTO_OK) {
        return 0;
    }

    va_start(args, fmt);
    msg = ngx_grapevine_proto_vprintf(ctx->arena, fmt, args);
    va_end(args);

    ctx->rc = rc;
    ctx->msg = msg ? msg : ngx_grapevine_proto_strerror(rc);

    return 0;
}


/* the checks that need the whole envelope */

static int
ngx_grapevine_proto_finish(ngx_grapevine_proto_ctx_t *ctx)
{
    const char                       *msg;
    ngx_grapevine_proto_event_t      *ev;
    const ngx_grapevine_proto_def_t  *def;

    ev = ctx->ev;
    def = ctx->def;

    if (ev->status_text.state == NGX_GRAPEVINE_PROTO_SET) {
        if (ev->status_text.len == 7
            && memcmp(ev->status_text.data, "success", 7) == 0)
        {
            ev->status = NGX_GRAPEVINE_PROTO_STATUS_SUCCESS;

        } else if (ev->status_text.len == 7
                   && memcmp(ev->status_text.data, "failure", 7) == 0)
        {
            ev->status = NGX_GRAPEVINE_PROTO_STATUS_FAILURE;

        } else {
            ev->status = NGX_GRAPEVINE_PROTO_STATUS_OTHER;
        }
    }

    if (ev->event.state != NGX_GRAPEVINE_PROTO_SET) {

        if (ev->status_text.state == NGX_GRAPEVINE_PROTO_SET) {
            /* {"status": "failure", "error": "unknown"} */
            ev->type = NGX_GRAPEVINE_PROTO_EV_FAILURE;

        } else if (!ngx_grapevine_proto_bad(ctx, "event",
                                            ev->event.state
                                            == NGX_GRAPEVINE_PROTO_NULL
                                            ? "is null" : "missing"))
        {
            return 0;
        }
    }

    if (def != NULL) {

        if (def->payload == NGX_GRAPEVINE_PROTO_P_SYNC) {
            ev->u.sync.kind = def->kind;
        }

        if (ev->status == NGX_GRAPEVINE_PROTO_STATUS_FAILURE) {
            /* a failure reply says nothing about the payload */

        } else if (ev->payload == NGX_GRAPEVINE_PROTO_SET) {

            if (def->payload == NGX_GRAPEVINE_PROTO_P_OBJECT
                || (def->payload == NGX_GRAPEVINE_PROTO_P_SYNC
                    && ev->u.sync.shape != NGX_GRAPEVINE_PROTO_SHAPE_V2))
            {
                if (!ngx_grapevine_proto_required(ctx, def->schema, &ev->u,
                                             NGX_GRAPEVINE_PROTO_REQ_EVENT))
                {
                    return 0;
                }
            }

        } else if (def->push
                   && ev->status == NGX_GRAPEVINE_PROTO_STATUS_NONE)
        {
            if (!ngx_grapevine_proto_bad(ctx, "payload",
                                         ev->payload
                                         == NGX_GRAPEVINE_PROTO_NULL
                                         ? "is null" : "missing"))
            {
                return 0;
            }
        }
    }

    if (ctx->invalid == NULL) {
        return 1;
    }

    if (ev->event.state == NGX_GRAPEVINE_PROTO_SET) {
        msg = ngx_grapevine_proto_printf(ctx->arena, "%s: %s",
                                         (const char *) ev->event.data,
                                         ctx->invalid);
        if (msg == NULL) {
            return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                            "out of memory");
        }

    } else {
        msg = ctx->invalid;
    }

    ctx->rc = NGX_GRAPEVINE_PROTO_EINVALID;
    ctx->msg = msg;

    return 1;
}
