
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * The Gossip protocol layer: a schema-driven yajl callback parser and the
 * request builders.  See ngx_grapevine_protocol.h for the rules.
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


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "ngx_grapevine_protocol.h"


#define NGX_GRAPEVINE_PROTO_MSG_LEN      256
#define NGX_GRAPEVINE_PROTO_STACK_START  16


/* field types */
#define NGX_GRAPEVINE_PROTO_F_STR        0   /* opt_str */
#define NGX_GRAPEVINE_PROTO_F_TIME       1   /* opt_str, normalised */
#define NGX_GRAPEVINE_PROTO_F_INT        2   /* opt_int */
#define NGX_GRAPEVINE_PROTO_F_BOOL       3   /* opt_bool */
#define NGX_GRAPEVINE_PROTO_F_STRS       4   /* str_array */
#define NGX_GRAPEVINE_PROTO_F_CONNS      5   /* connections */
#define NGX_GRAPEVINE_PROTO_F_RECORDS    6   /* a v1 sync payload's list */
#define NGX_GRAPEVINE_PROTO_F_ACTION     7   /* a v2 version's action */
#define NGX_GRAPEVINE_PROTO_F_RECORD     8   /* a v2 version's payload */
#define NGX_GRAPEVINE_PROTO_F_PAYLOAD    9   /* the envelope's payload */

/* field flags */
#define NGX_GRAPEVINE_PROTO_REQ          0x01  /* required */
#define NGX_GRAPEVINE_PROTO_KEY          0x02  /* required, also in deletes */
#define NGX_GRAPEVINE_PROTO_IN_SYNC      0x04  /* required in sync records */
#define NGX_GRAPEVINE_PROTO_NAME         0x08  /* the event name */

#define NGX_GRAPEVINE_PROTO_REQ_EVENT    NGX_GRAPEVINE_PROTO_REQ
#define NGX_GRAPEVINE_PROTO_REQ_RECORD                                        \
    (NGX_GRAPEVINE_PROTO_REQ|NGX_GRAPEVINE_PROTO_KEY                          \
     |NGX_GRAPEVINE_PROTO_IN_SYNC)
#define NGX_GRAPEVINE_PROTO_REQ_DELETE   NGX_GRAPEVINE_PROTO_KEY

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

/* what an event's payload is */
#define NGX_GRAPEVINE_PROTO_P_NONE       0   /* skipped */
#define NGX_GRAPEVINE_PROTO_P_OBJECT     1   /* an object, with a schema */
#define NGX_GRAPEVINE_PROTO_P_SYNC       2   /* v1 object or v2 array */

#define ngx_grapevine_proto_is_digit(c)  ((c) >= '0' && (c) <= '9')


typedef struct {
    const char                          *name;
    unsigned                             type;
    unsigned                             flags;
    size_t                               offset;
} ngx_grapevine_proto_field_t;


/* at most 32 fields: the frame's "seen" is a bit mask */
typedef struct {
    const char                          *name;
    const ngx_grapevine_proto_field_t   *fields;
    size_t                               nfields;
} ngx_grapevine_proto_schema_t;


typedef struct {
    const char                          *name;
    unsigned                             payload;   /* P_* */
    unsigned                             push;      /* needs a payload */
    const ngx_grapevine_proto_schema_t  *schema;
    ngx_grapevine_proto_kind_e           kind;      /* P_SYNC */
} ngx_grapevine_proto_def_t;


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


typedef struct {
    yajl_gen                             gen;
    ngx_grapevine_arena_t               *arena;
    const char                          *event;
    ngx_grapevine_proto_error_t         *err;
} ngx_grapevine_proto_gen_t;


#define ngx_grapevine_proto_present(s)  ((s) != NULL && (s)->data != NULL)


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
static int ngx_grapevine_proto_connections_json(
    ngx_grapevine_proto_ctx_t *ctx, ngx_grapevine_proto_connections_t *conns);
static int ngx_grapevine_proto_push(ngx_grapevine_proto_ctx_t *ctx,
    unsigned kind, const ngx_grapevine_proto_schema_t *schema,
    const ngx_grapevine_proto_field_t *field, void *target, unsigned end);
static void *ngx_grapevine_proto_grow(ngx_grapevine_proto_ctx_t *ctx,
    void *elts, size_t nelts, size_t *nalloc, size_t size);
static int ngx_grapevine_proto_set_str(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_opt_str_t *s, const u_char *p, size_t len);
static u_char *ngx_grapevine_proto_strdup(ngx_grapevine_arena_t *arena,
    const u_char *p, size_t len);
static int ngx_grapevine_proto_bad(ngx_grapevine_proto_ctx_t *ctx,
    const char *name, const char *what);
static int ngx_grapevine_proto_required(ngx_grapevine_proto_ctx_t *ctx,
    const ngx_grapevine_proto_schema_t *schema, void *target,
    unsigned mask);
static ngx_grapevine_proto_state_e ngx_grapevine_proto_state(
    const ngx_grapevine_proto_field_t *fd, void *target);
static int ngx_grapevine_proto_fail(ngx_grapevine_proto_ctx_t *ctx, int rc,
    const char *fmt, ...);
static const char *ngx_grapevine_proto_printf(ngx_grapevine_arena_t *arena,
    const char *fmt, ...);
static const char *ngx_grapevine_proto_vprintf(ngx_grapevine_arena_t *arena,
    const char *fmt, va_list args);
static int ngx_grapevine_proto_finish(ngx_grapevine_proto_ctx_t *ctx);
static void ngx_grapevine_proto_set_error(ngx_grapevine_proto_error_t *err,
    int rc, const char *msg);
static int ngx_grapevine_proto_int64(const u_char *p, size_t len,
    int64_t *value);
static size_t ngx_grapevine_proto_utf8_scan(const u_char *p, size_t len);
static size_t ngx_grapevine_proto_escape_scan(const u_char *p, size_t len);
static int ngx_grapevine_proto_hex4(const u_char *p, size_t len,
    unsigned *value);
static unsigned ngx_grapevine_proto_days(unsigned year, unsigned month);
static int ngx_grapevine_proto_digits(const u_char *p, size_t n,
    unsigned *value);

static void ngx_grapevine_proto_gen_init(ngx_grapevine_proto_gen_t *b,
    ngx_grapevine_arena_t *arena, const char *event,
    ngx_grapevine_proto_error_t *err);
static int ngx_grapevine_proto_gen_begin(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *ref, unsigned payload);
static int ngx_grapevine_proto_gen_end(ngx_grapevine_proto_gen_t *b,
    unsigned depth, ngx_grapevine_proto_str_t *out);
static int ngx_grapevine_proto_gen_done(ngx_grapevine_proto_gen_t *b,
    int rc);
static int ngx_grapevine_proto_build_channel(ngx_grapevine_arena_t *arena,
    const char *event, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel, ngx_grapevine_proto_str_t *out,
    ngx_grapevine_proto_error_t *err);
static int ngx_grapevine_proto_gen_check(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *s, unsigned required);
static int ngx_grapevine_proto_gen_checks(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *elts, size_t nelts);
static int ngx_grapevine_proto_gen_time(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *s, u_char *buf,
    ngx_grapevine_proto_str_t *norm);
static int ngx_grapevine_proto_gen_lit(ngx_grapevine_proto_gen_t *b,
    const char *lit);
static int ngx_grapevine_proto_gen_text(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *s);
static int ngx_grapevine_proto_gen_kv(ngx_grapevine_proto_gen_t *b,
    const char *key, const ngx_grapevine_proto_str_t *s);
static int ngx_grapevine_proto_gen_list(ngx_grapevine_proto_gen_t *b,
    const char *key, const ngx_grapevine_proto_str_t *elts, size_t nelts);
static int ngx_grapevine_proto_gen_status(ngx_grapevine_proto_gen_t *b,
    yajl_gen_status status);
static int ngx_grapevine_proto_gen_fail(ngx_grapevine_proto_gen_t *b,
    int rc, const char *name, const char *what);


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


#define ngx_grapevine_proto_fld(name, type, flags, st, member)               \
    { name, NGX_GRAPEVINE_PROTO_F_ ## type, flags, offsetof(st, member) }

#define ngx_grapevine_proto_schema(name, fields)                              \
    { name, fields, sizeof(fields) / sizeof(ngx_grapevine_proto_field_t) }


/* the envelope */

static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_envelope[] = {
    ngx_grapevine_proto_fld("event", STR, NGX_GRAPEVINE_PROTO_NAME,
                            ngx_grapevine_proto_event_t, event),
    ngx_grapevine_proto_fld("ref", STR, 0, ngx_grapevine_proto_event_t, ref),
    ngx_grapevine_proto_fld("status", STR, 0, ngx_grapevine_proto_event_t,
                            status_text),
    ngx_grapevine_proto_fld("error", STR, 0, ngx_grapevine_proto_event_t,
                            error),
    ngx_grapevine_proto_fld("payload", PAYLOAD, 0,
                            ngx_grapevine_proto_event_t, u)
};


/* event payloads */

static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_auth_fields[] = {
    ngx_grapevine_proto_fld("unicode", STR, 0,
                            ngx_grapevine_proto_authenticate_t, unicode),
    ngx_grapevine_proto_fld("version", STR, 0,
                            ngx_grapevine_proto_authenticate_t, version),
    ngx_grapevine_proto_fld("client_id", STR, 0,
                            ngx_grapevine_proto_authenticate_t, client_id),
    ngx_grapevine_proto_fld("client_secret", STR, 0,
                            ngx_grapevine_proto_authenticate_t,
                            client_secret),
    ngx_grapevine_proto_fld("user_agent", STR, 0,
                            ngx_grapevine_proto_authenticate_t, user_agent),
    ngx_grapevine_proto_fld("supports", STRS, 0,
                            ngx_grapevine_proto_authenticate_t, supports),
    ngx_grapevine_proto_fld("channels", STRS, 0,
                            ngx_grapevine_proto_authenticate_t, channels),
    ngx_grapevine_proto_fld("players", STRS, 0,
                            ngx_grapevine_proto_authenticate_t, players)
};


static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_hb_fields[] = {
    ngx_grapevine_proto_fld("players", STRS, 0,
                            ngx_grapevine_proto_heartbeat_t, players)
};


static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_restart_fields[] =
{
    ngx_grapevine_proto_fld("downtime", INT, 0,
                            ngx_grapevine_proto_restart_t, downtime)
};


static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_sync_fields[] = {
    ngx_grapevine_proto_fld("since", TIME, 0,
                            ngx_grapevine_proto_sync_request_t, since)
};


/* channels/broadcast: all four required */
static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_broadcast_fields[] =
{
    ngx_grapevine_proto_fld("channel", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_channel_msg_t, channel),
    ngx_grapevine_proto_fld("message", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_channel_msg_t, message),
    ngx_grapevine_proto_fld("game", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_channel_msg_t, game),
    ngx_grapevine_proto_fld("name", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_channel_msg_t, name)
};


/* channels/subscribe, unsubscribe, send: requests and replies */
static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_channel_fields[] =
{
    ngx_grapevine_proto_fld("channel", STR, 0,
                            ngx_grapevine_proto_channel_msg_t, channel),
    ngx_grapevine_proto_fld("message", STR, 0,
                            ngx_grapevine_proto_channel_msg_t, message),
    ngx_grapevine_proto_fld("game", STR, 0,
                            ngx_grapevine_proto_channel_msg_t, game),
    ngx_grapevine_proto_fld("name", STR, 0,
                            ngx_grapevine_proto_channel_msg_t, name)
};


/* players/sign-in and sign-out as pushed: both required */
static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_sign_fields[] =
{
    ngx_grapevine_proto_fld("game", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_players_t, game),
    ngx_grapevine_proto_fld("name", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_players_t, name)
};


static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_pstatus_fields[] =
{
    ngx_grapevine_proto_fld("game", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_players_t, game),
    ngx_grapevine_proto_fld("players", STRS, 0,
                            ngx_grapevine_proto_players_t, players)
};


/* tells/receive: all but to_game required */
static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_receive_fields[] =
{
    ngx_grapevine_proto_fld("from_game", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_tell_t, from_game),
    ngx_grapevine_proto_fld("from_name", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_tell_t, from_name),
    ngx_grapevine_proto_fld("to_game", STR, 0,
                            ngx_grapevine_proto_tell_t, to_game),
    ngx_grapevine_proto_fld("to_name", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_tell_t, to_name),
    ngx_grapevine_proto_fld("sent_at", TIME, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_tell_t, sent_at),
    ngx_grapevine_proto_fld("message", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_tell_t, message)
};


static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_tell_fields[] =
{
    ngx_grapevine_proto_fld("from_game", STR, 0,
                            ngx_grapevine_proto_tell_t, from_game),
    ngx_grapevine_proto_fld("from_name", STR, 0,
                            ngx_grapevine_proto_tell_t, from_name),
    ngx_grapevine_proto_fld("to_game", STR, 0,
                            ngx_grapevine_proto_tell_t, to_game),
    ngx_grapevine_proto_fld("to_name", STR, 0,
                            ngx_grapevine_proto_tell_t, to_name),
    ngx_grapevine_proto_fld("sent_at", TIME, 0,
                            ngx_grapevine_proto_tell_t, sent_at),
    ngx_grapevine_proto_fld("message", STR, 0,
                            ngx_grapevine_proto_tell_t, message)
};


/* records; "id" comes first in each (the record messages rely on it) */

static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_channel_rec[] =
{
    ngx_grapevine_proto_fld("id", INT, NGX_GRAPEVINE_PROTO_KEY,
                            ngx_grapevine_proto_channel_t, id),
    ngx_grapevine_proto_fld("name", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_channel_t, name),
    ngx_grapevine_proto_fld("description", STR, 0,
                            ngx_grapevine_proto_channel_t, description),
    ngx_grapevine_proto_fld("hidden", BOOL, 0,
                            ngx_grapevine_proto_channel_t, hidden)
};


/*
 * A game: a sync record (id, game, display_name required) and the payload
 * of games/status, connect and disconnect ("game" required).
 */
static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_game_rec[] = {
    ngx_grapevine_proto_fld("id", INT, NGX_GRAPEVINE_PROTO_KEY,
                            ngx_grapevine_proto_game_t, id),
    ngx_grapevine_proto_fld("game", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_game_t, short_name),
    ngx_grapevine_proto_fld("display_name", STR,
                            NGX_GRAPEVINE_PROTO_IN_SYNC,
                            ngx_grapevine_proto_game_t, display_name),
    ngx_grapevine_proto_fld("display", BOOL, 0,
                            ngx_grapevine_proto_game_t, display),
    ngx_grapevine_proto_fld("description", STR, 0,
                            ngx_grapevine_proto_game_t, description),
    ngx_grapevine_proto_fld("homepage_url", STR, 0,
                            ngx_grapevine_proto_game_t, homepage_url),
    ngx_grapevine_proto_fld("user_agent", STR, 0,
                            ngx_grapevine_proto_game_t, user_agent),
    ngx_grapevine_proto_fld("user_agent_url", STR, 0,
                            ngx_grapevine_proto_game_t, user_agent_url),
    ngx_grapevine_proto_fld("allow_character_registration", BOOL, 0,
                            ngx_grapevine_proto_game_t,
                            allow_character_registration),
    ngx_grapevine_proto_fld("client_id", STR, 0,
                            ngx_grapevine_proto_game_t, client_id),
    ngx_grapevine_proto_fld("client_secret", STR, 0,
                            ngx_grapevine_proto_game_t, client_secret),
    ngx_grapevine_proto_fld("mssp_last_seen_at", TIME, 0,
                            ngx_grapevine_proto_game_t, mssp_last_seen_at),
    ngx_grapevine_proto_fld("redirect_uris", STRS, 0,
                            ngx_grapevine_proto_game_t, redirect_uris),
    ngx_grapevine_proto_fld("connections", CONNS, 0,
                            ngx_grapevine_proto_game_t, connections),
    ngx_grapevine_proto_fld("supports", STRS, 0,
                            ngx_grapevine_proto_game_t, supports),
    ngx_grapevine_proto_fld("channels", STRS, 0,
                            ngx_grapevine_proto_game_t, channels),
    ngx_grapevine_proto_fld("player_online_count", INT, 0,
                            ngx_grapevine_proto_game_t, player_online_count)
};


static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_conn_fields[] = {
    ngx_grapevine_proto_fld("id", STR, 0,
                            ngx_grapevine_proto_connection_t, id),
    ngx_grapevine_proto_fld("type", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_connection_t, type),
    ngx_grapevine_proto_fld("url", STR, 0,
                            ngx_grapevine_proto_connection_t, url),
    ngx_grapevine_proto_fld("host", STR, 0,
                            ngx_grapevine_proto_connection_t, host),
    ngx_grapevine_proto_fld("port", INT, 0,
                            ngx_grapevine_proto_connection_t, port)
};


static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_event_rec[] = {
    ngx_grapevine_proto_fld("id", INT, NGX_GRAPEVINE_PROTO_KEY,
                            ngx_grapevine_proto_game_event_t, id),
    ngx_grapevine_proto_fld("game_id", INT, 0,
                            ngx_grapevine_proto_game_event_t, game_id),
    ngx_grapevine_proto_fld("title", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_game_event_t, title),
    ngx_grapevine_proto_fld("description", STR, 0,
                            ngx_grapevine_proto_game_event_t, description),
    ngx_grapevine_proto_fld("start_date", STR, 0,
                            ngx_grapevine_proto_game_event_t, start_date),
    ngx_grapevine_proto_fld("end_date", STR, 0,
                            ngx_grapevine_proto_game_event_t, end_date)
};


static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_achievement_rec[] =
{
    ngx_grapevine_proto_fld("id", INT, NGX_GRAPEVINE_PROTO_KEY,
                            ngx_grapevine_proto_achievement_t, id),
    ngx_grapevine_proto_fld("game_id", INT, 0,
                            ngx_grapevine_proto_achievement_t, game_id),
    ngx_grapevine_proto_fld("key", STR, 0,
                            ngx_grapevine_proto_achievement_t, key),
    ngx_grapevine_proto_fld("title", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_achievement_t, title),
    ngx_grapevine_proto_fld("description", STR, 0,
                            ngx_grapevine_proto_achievement_t, description),
    ngx_grapevine_proto_fld("display", BOOL, 0,
                            ngx_grapevine_proto_achievement_t, display),
    ngx_grapevine_proto_fld("points", INT, 0,
                            ngx_grapevine_proto_achievement_t, points),
    ngx_grapevine_proto_fld("partial_progress", BOOL, 0,
                            ngx_grapevine_proto_achievement_t,
                            partial_progress),
    ngx_grapevine_proto_fld("total_progress", INT, 0,
                            ngx_grapevine_proto_achievement_t,
                            total_progress)
};


/* a v2 version: {"action", "logged_at", "payload"}; "payload" is third */
static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_version_fields[] =
{
    ngx_grapevine_proto_fld("action", ACTION, 0,
                            ngx_grapevine_proto_record_t, action),
    ngx_grapevine_proto_fld("logged_at", TIME, 0,
                            ngx_grapevine_proto_record_t, logged_at),
    ngx_grapevine_proto_fld("payload", RECORD, 0,
                            ngx_grapevine_proto_record_t, u)
};

#define NGX_GRAPEVINE_PROTO_VERSION_PAYLOAD  2


/* v1 sync payloads: {"channels": [record, ...]} and so on */

static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_v1_fields[] = {
    ngx_grapevine_proto_fld("channels", RECORDS, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_sync_t, records),
    ngx_grapevine_proto_fld("games", RECORDS, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_sync_t, records),
    ngx_grapevine_proto_fld("events", RECORDS, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_sync_t, records),
    ngx_grapevine_proto_fld("achievements", RECORDS, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_sync_t, records)
};


/* indexes into ngx_grapevine_proto_schemas[] */
#define NGX_GRAPEVINE_PROTO_S_ENVELOPE     0
#define NGX_GRAPEVINE_PROTO_S_AUTH         1
#define NGX_GRAPEVINE_PROTO_S_HEARTBEAT    2
#define NGX_GRAPEVINE_PROTO_S_RESTART      3
#define NGX_GRAPEVINE_PROTO_S_SYNC         4
#define NGX_GRAPEVINE_PROTO_S_BROADCAST    5
#define NGX_GRAPEVINE_PROTO_S_CHANNEL      6
#define NGX_GRAPEVINE_PROTO_S_SIGN         7
#define NGX_GRAPEVINE_PROTO_S_PSTATUS      8
#define NGX_GRAPEVINE_PROTO_S_RECEIVE      9
#define NGX_GRAPEVINE_PROTO_S_TELL         10
#define NGX_GRAPEVINE_PROTO_S_GAME         11
#define NGX_GRAPEVINE_PROTO_S_CONN         12
#define NGX_GRAPEVINE_PROTO_S_VERSION      13
#define NGX_GRAPEVINE_PROTO_S_RECORD       14
#define NGX_GRAPEVINE_PROTO_S_V1           18


#define ngx_grapevine_proto_schema_at(name, fields, i)                        \
    { name, &fields[i], 1 }

static const ngx_grapevine_proto_schema_t  ngx_grapevine_proto_schemas[] = {
    ngx_grapevine_proto_schema("envelope", ngx_grapevine_proto_envelope),
    ngx_grapevine_proto_schema("authenticate",
                               ngx_grapevine_proto_auth_fields),
    ngx_grapevine_proto_schema("heartbeat", ngx_grapevine_proto_hb_fields),
    ngx_grapevine_proto_schema("restart",
                               ngx_grapevine_proto_restart_fields),
    ngx_grapevine_proto_schema("sync", ngx_grapevine_proto_sync_fields),
    ngx_grapevine_proto_schema("channels/broadcast",
                               ngx_grapevine_proto_broadcast_fields),
    ngx_grapevine_proto_schema("channels",
                               ngx_grapevine_proto_channel_fields),
    ngx_grapevine_proto_schema("players", ngx_grapevine_proto_sign_fields),
    ngx_grapevine_proto_schema("players/status",
                               ngx_grapevine_proto_pstatus_fields),
    ngx_grapevine_proto_schema("tells/receive",
                               ngx_grapevine_proto_receive_fields),
    ngx_grapevine_proto_schema("tells", ngx_grapevine_proto_tell_fields),
    ngx_grapevine_proto_schema("game", ngx_grapevine_proto_game_rec),
    ngx_grapevine_proto_schema("connection", ngx_grapevine_proto_conn_fields),
    ngx_grapevine_proto_schema("version",
                               ngx_grapevine_proto_version_fields),

    /* records, by ngx_grapevine_proto_kind_e */
    ngx_grapevine_proto_schema("channel", ngx_grapevine_proto_channel_rec),
    ngx_grapevine_proto_schema("game", ngx_grapevine_proto_game_rec),
    ngx_grapevine_proto_schema("event", ngx_grapevine_proto_event_rec),
    ngx_grapevine_proto_schema("achievement",
                               ngx_grapevine_proto_achievement_rec),

    /* v1 payloads, by ngx_grapevine_proto_kind_e */
    ngx_grapevine_proto_schema_at("sync/channels",
                                  ngx_grapevine_proto_v1_fields, 0),
    ngx_grapevine_proto_schema_at("sync/games",
                                  ngx_grapevine_proto_v1_fields, 1),
    ngx_grapevine_proto_schema_at("sync/events",
                                  ngx_grapevine_proto_v1_fields, 2),
    ngx_grapevine_proto_schema_at("sync/achievements",
                                  ngx_grapevine_proto_v1_fields, 3)
};

#define ngx_grapevine_proto_schema_get(i)  (&ngx_grapevine_proto_schemas[i])


/* by ngx_grapevine_proto_type_e */

#define ngx_grapevine_proto_def(name, payload, push, schema, kind)            \
    { name, NGX_GRAPEVINE_PROTO_P_ ## payload, push,                          \
      &ngx_grapevine_proto_schemas[schema], NGX_GRAPEVINE_PROTO_REC_ ## kind }

#define ngx_grapevine_proto_nodef(name)                                       \
    { name, NGX_GRAPEVINE_PROTO_P_NONE, 0, NULL,                              \
      NGX_GRAPEVINE_PROTO_REC_CHANNEL }

static const ngx_grapevine_proto_def_t  ngx_grapevine_proto_defs[] = {
    ngx_grapevine_proto_nodef("unknown"),
    ngx_grapevine_proto_nodef("failure"),
    ngx_grapevine_proto_def("authenticate", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_AUTH, CHANNEL),
    ngx_grapevine_proto_def("heartbeat", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_HEARTBEAT, CHANNEL),
    ngx_grapevine_proto_def("restart", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_RESTART, CHANNEL),
    ngx_grapevine_proto_def("sync", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_SYNC, CHANNEL),
    ngx_grapevine_proto_def("sync/channels", SYNC, 1,
                            NGX_GRAPEVINE_PROTO_S_V1, CHANNEL),
    ngx_grapevine_proto_def("sync/games", SYNC, 1,
                            NGX_GRAPEVINE_PROTO_S_V1 + 1, GAME),
    ngx_grapevine_proto_def("sync/events", SYNC, 1,
                            NGX_GRAPEVINE_PROTO_S_V1 + 2, EVENT),
    ngx_grapevine_proto_def("sync/achievements", SYNC, 1,
                            NGX_GRAPEVINE_PROTO_S_V1 + 3, ACHIEVEMENT),
    ngx_grapevine_proto_def("channels/broadcast", OBJECT, 1,
                            NGX_GRAPEVINE_PROTO_S_BROADCAST, CHANNEL),
    ngx_grapevine_proto_def("channels/subscribe", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_CHANNEL, CHANNEL),
    ngx_grapevine_proto_def("channels/unsubscribe", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_CHANNEL, CHANNEL),
    ngx_grapevine_proto_def("channels/send", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_CHANNEL, CHANNEL),
    ngx_grapevine_proto_def("players/sign-in", OBJECT, 1,
                            NGX_GRAPEVINE_PROTO_S_SIGN, CHANNEL),
    ngx_grapevine_proto_def("players/sign-out", OBJECT, 1,
                            NGX_GRAPEVINE_PROTO_S_SIGN, CHANNEL),
    ngx_grapevine_proto_def("players/status", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_PSTATUS, CHANNEL),
    ngx_grapevine_proto_def("games/connect", OBJECT, 1,
                            NGX_GRAPEVINE_PROTO_S_GAME, CHANNEL),
    ngx_grapevine_proto_def("games/disconnect", OBJECT, 1,
                            NGX_GRAPEVINE_PROTO_S_GAME, CHANNEL),
    ngx_grapevine_proto_def("games/status", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_GAME, CHANNEL),
    ngx_grapevine_proto_def("tells/send", OBJECT, 0,
                            NGX_GRAPEVINE_PROTO_S_TELL, CHANNEL),
    ngx_grapevine_proto_def("tells/receive", OBJECT, 1,
                            NGX_GRAPEVINE_PROTO_S_RECEIVE, CHANNEL)
};

#define NGX_GRAPEVINE_PROTO_NDEFS                                             \
    (sizeof(ngx_grapevine_proto_defs) / sizeof(ngx_grapevine_proto_def_t))


static const char  *ngx_grapevine_proto_errors[] = {
    "success",
    "unusable event",
    "frame too large",
    "empty frame",
    "malformed JSON",
    "invalid UTF-8",
    "NUL character in a string",
    "frame nested too deep",
    "trailing garbage after the JSON object",
    "frame is not a JSON object",
    "too many records in a sync event",
    "out of memory"
};


/* compile-time checks: the tables follow the header's enums */

#define ngx_grapevine_proto_assert(name, cond)                                \
    typedef char  ngx_grapevine_proto_assert_ ## name[(cond) ? 1 : -1]

ngx_grapevine_proto_assert(defs, NGX_GRAPEVINE_PROTO_NDEFS
                           == NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE + 1);
ngx_grapevine_proto_assert(errors, sizeof(ngx_grapevine_proto_errors)
                                   / sizeof(ngx_grapevine_proto_errors[0])
                                   == NGX_GRAPEVINE_PROTO_ENOMEM + 1);
ngx_grapevine_proto_assert(channel_id,
                           offsetof(ngx_grapevine_proto_channel_t, id) == 0);
ngx_grapevine_proto_assert(game_id,
                           offsetof(ngx_grapevine_proto_game_t, id) == 0);
ngx_grapevine_proto_assert(event_id,
                           offsetof(ngx_grapevine_proto_game_event_t, id)
                           == 0);
ngx_grapevine_proto_assert(achievement_id,
                           offsetof(ngx_grapevine_proto_achievement_t, id)
                           == 0);


void
ngx_grapevine_proto_limits_init(ngx_grapevine_proto_limits_t *limits)
{
    limits->max_frame_size = NGX_GRAPEVINE_PROTO_MAX_FRAME_SIZE;
    limits->max_depth = NGX_GRAPEVINE_PROTO_MAX_DEPTH;
    limits->max_records = NGX_GRAPEVINE_PROTO_MAX_RECORDS;
}


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
    }

    memset(ev, 0, sizeof(ngx_grapevine_proto_event_t));
    memset(&ctx, 0, sizeof(ngx_grapevine_proto_ctx_t));

    ctx.arena = arena;
    ctx.ev = ev;
    ctx.max_depth = lim.max_depth;
    ctx.max_records = lim.max_records;

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

    if (f->kind == NGX_GRAPEVINE_PROTO_FR_CONNS) {
        return ngx_grapevine_proto_connections_json(ctx, f->target);
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
    ngx_grapevine_proto_game_t          *game;
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

    case NGX_GRAPEVINE_PROTO_F_INT:
        oi = (ngx_grapevine_proto_opt_int_t *) dst;

        if (vt == NGX_GRAPEVINE_PROTO_V_NUMBER
            && ngx_grapevine_proto_int64(p, len, &value))
        {
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
        game = f->target;

        if (vt == NGX_GRAPEVINE_PROTO_V_ARRAY) {
            conns->state = NGX_GRAPEVINE_PROTO_SET;
            return ngx_grapevine_proto_push(ctx,
                                            NGX_GRAPEVINE_PROTO_FR_CONNS,
                                            NULL, fd, conns,
                                            NGX_GRAPEVINE_PROTO_END_NONE);
        }

        if (vt == NGX_GRAPEVINE_PROTO_V_NULL) {
            conns->state = NGX_GRAPEVINE_PROTO_NULL;
            game->connections_json.state = NGX_GRAPEVINE_PROTO_NULL;
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


/*
 * "connections" as compact JSON for a jsonb column: the known keys only,
 * in a fixed order, absent ones left out
 */

static int
ngx_grapevine_proto_connections_json(ngx_grapevine_proto_ctx_t *ctx,
    ngx_grapevine_proto_connections_t *conns)
{
    int                                 ok;
    size_t                              i, j, len;
    yajl_gen                            g;
    const u_char                       *buf;
    ngx_grapevine_proto_game_t         *game;
    ngx_grapevine_proto_opt_str_t      *s;
    ngx_grapevine_proto_connection_t   *c;

    static const char  *keys[] = { "id", "type", "url", "host" };

    game = (ngx_grapevine_proto_game_t *)
               ((u_char *) conns - offsetof(ngx_grapevine_proto_game_t,
                                            connections));
    len = 0;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_ENOMEM,
                                        "out of memory");
    }

    ok = yajl_gen_config(g, yajl_gen_validate_utf8, 1)
         && yajl_gen_array_open(g) == yajl_gen_status_ok;

    for (i = 0; ok && i < conns->nelts; i++) {
        c = &conns->elts[i];

        ok = (yajl_gen_map_open(g) == yajl_gen_status_ok);

        for (j = 0; ok && j < 4; j++) {
            s = (j == 0) ? &c->id : (j == 1) ? &c->type
                : (j == 2) ? &c->url : &c->host;

            if (s->state == NGX_GRAPEVINE_PROTO_ABSENT) {
                continue;
            }

            ok = (yajl_gen_string(g, (const u_char *) keys[j],
                                  strlen(keys[j]))
                  == yajl_gen_status_ok)
                 && ((s->state == NGX_GRAPEVINE_PROTO_NULL)
                     ? yajl_gen_null(g) == yajl_gen_status_ok
                     : yajl_gen_string(g, s->data, s->len)
                       == yajl_gen_status_ok);
        }

        if (ok && c->port.state != NGX_GRAPEVINE_PROTO_ABSENT) {
            ok = (yajl_gen_string(g, (const u_char *) "port", 4)
                  == yajl_gen_status_ok)
                 && ((c->port.state == NGX_GRAPEVINE_PROTO_NULL)
                     ? yajl_gen_null(g) == yajl_gen_status_ok
                     : yajl_gen_integer(g, (long long) c->port.value)
                       == yajl_gen_status_ok);
        }

        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
    }

    ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok
         && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok;

    if (!ok) {
        /* cannot happen: every string was checked when it was parsed */
        yajl_gen_free(g);
        return ngx_grapevine_proto_fail(ctx, NGX_GRAPEVINE_PROTO_EUTF8,
                                        "cannot serialise \"connections\"");
    }

    ok = ngx_grapevine_proto_set_str(ctx, &game->connections_json, buf, len);

    yajl_gen_free(g);

    return ok;
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


static u_char *
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


static const char *
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

static const char *
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


static void
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


/* a JSON integer (no fraction, no exponent) that fits in int64_t */

static int
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

static size_t
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

static size_t
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


int
ngx_grapevine_proto_time_valid(const u_char *data, size_t len)
{
    u_char  buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];

    return ngx_grapevine_proto_time_normalize(data, len, buf,
                                              NGX_GRAPEVINE_PROTO_TIME_SEC)
           != 0;
}


const char *
ngx_grapevine_proto_type_name(ngx_grapevine_proto_type_e type)
{
    if ((size_t) type >= NGX_GRAPEVINE_PROTO_NDEFS) {
        return "unknown";
    }

    return ngx_grapevine_proto_defs[type].name;
}


const char *
ngx_grapevine_proto_strerror(int rc)
{
    if (rc < 0 || (size_t) rc >= sizeof(ngx_grapevine_proto_errors)
                                 / sizeof(ngx_grapevine_proto_errors[0]))
    {
        return "unknown error";
    }

    return ngx_grapevine_proto_errors[rc];
}


/* builders */

int
ngx_grapevine_proto_build_authenticate(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_auth_request_t *req,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc, channels;
    size_t                     i;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "authenticate", err);

    if (req == NULL) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            NULL, "no request");
    }

    if (req->supports.state != NGX_GRAPEVINE_PROTO_SET
        || req->supports.nelts == 0)
    {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            "supports", "missing");
    }

    channels = 0;

    for (i = 0; i < req->supports.nelts; i++) {
        if (req->supports.elts[i].len == 8
            && req->supports.elts[i].data != NULL
            && memcmp(req->supports.elts[i].data, "channels", 8) == 0)
        {
            channels = 1;
        }
    }

    if (!channels) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            "supports",
                                            "must include \"channels\"");
    }

    if ((rc = ngx_grapevine_proto_gen_check(&b, "client_id", &req->client_id,
                                            1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "client_secret",
                                               &req->client_secret, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "user_agent",
                                               &req->user_agent, 0))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_checks(&b, "supports",
                                                req->supports.elts,
                                                req->supports.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (req->channels.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_checks(&b, "channels",
                                                req->channels.elts,
                                                req->channels.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (req->players.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_checks(&b, "players",
                                                req->players.elts,
                                                req->players.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, NULL, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "client_id", &req->client_id))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "client_secret",
                                            &req->client_secret))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_list(&b, "supports",
                                              req->supports.elts,
                                              req->supports.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (req->channels.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_list(&b, "channels",
                                              req->channels.elts,
                                              req->channels.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if ((rc = ngx_grapevine_proto_gen_lit(&b, "version"))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(&b, NGX_GRAPEVINE_PROTO_VERSION))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (ngx_grapevine_proto_present(&req->user_agent)
        && (rc = ngx_grapevine_proto_gen_kv(&b, "user_agent",
                                            &req->user_agent))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (req->players.state == NGX_GRAPEVINE_PROTO_SET
        && (rc = ngx_grapevine_proto_gen_list(&b, "players",
                                              req->players.elts,
                                              req->players.nelts))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_heartbeat(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *players, size_t nplayers,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "heartbeat", err);

    if (nplayers && players == NULL) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            "players", "missing");
    }

    rc = ngx_grapevine_proto_gen_checks(&b, "players", players, nplayers);
    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, NULL, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_list(&b, "players", players,
                                              nplayers))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_sync(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *since,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    u_char                     buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    ngx_grapevine_proto_str_t  norm;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "sync", err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_time(&b, "since", since, buf, &norm))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(&b, "since"))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    if (norm.data != NULL) {
        rc = ngx_grapevine_proto_gen_text(&b, &norm);

    } else {
        rc = ngx_grapevine_proto_gen_status(&b, yajl_gen_null(b.gen));
    }

    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_tells_send(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_tell_request_t *req,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    u_char                     buf[NGX_GRAPEVINE_PROTO_TIME_LEN + 1];
    ngx_grapevine_proto_str_t  sent_at;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "tells/send", err);

    if (req == NULL) {
        return ngx_grapevine_proto_gen_fail(&b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            NULL, "no request");
    }

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", &req->ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "from_name",
                                               &req->from_name, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "to_game", &req->to_game,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "to_name", &req->to_name,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "sent_at", &req->sent_at,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_time(&b, "sent_at", &req->sent_at,
                                              buf, &sent_at))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "message", &req->message,
                                               1))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, &req->ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "from_name", &req->from_name))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "to_game", &req->to_game))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "to_name", &req->to_name))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "sent_at", &sent_at))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "message", &req->message))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_channels_send(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    const ngx_grapevine_proto_str_t *name,
    const ngx_grapevine_proto_str_t *message,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "channels/send", err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "channel", channel, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "name", name, 1))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "message", message, 1))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "channel", channel))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "name", name))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "message", message))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_channels_subscribe(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    return ngx_grapevine_proto_build_channel(arena, "channels/subscribe", ref,
                                             channel, out, err);
}


int
ngx_grapevine_proto_build_channels_unsubscribe(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    return ngx_grapevine_proto_build_channel(arena, "channels/unsubscribe",
                                             ref, channel, out, err);
}


static int
ngx_grapevine_proto_build_channel(ngx_grapevine_arena_t *arena,
    const char *event, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel, ngx_grapevine_proto_str_t *out,
    ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, event, err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 0))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "channel", channel, 1))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if ((rc = ngx_grapevine_proto_gen_begin(&b, ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_kv(&b, "channel", channel))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, 2, out);
}


int
ngx_grapevine_proto_build_players_status(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *game,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err)
{
    int                        rc;
    unsigned                   payload;
    ngx_grapevine_proto_gen_t  b;

    ngx_grapevine_proto_gen_init(&b, arena, "players/status", err);

    if ((rc = ngx_grapevine_proto_gen_check(&b, "ref", ref, 1))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_check(&b, "game", game, 0))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    payload = ngx_grapevine_proto_present(game);

    rc = ngx_grapevine_proto_gen_begin(&b, ref, payload);

    if (rc == NGX_GRAPEVINE_PROTO_OK && payload) {
        rc = ngx_grapevine_proto_gen_kv(&b, "game", game);
    }

    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return ngx_grapevine_proto_gen_done(&b, rc);
    }

    return ngx_grapevine_proto_gen_end(&b, payload ? 2 : 1, out);
}


static void
ngx_grapevine_proto_gen_init(ngx_grapevine_proto_gen_t *b,
    ngx_grapevine_arena_t *arena, const char *event,
    ngx_grapevine_proto_error_t *err)
{
    b->gen = NULL;
    b->arena = arena;
    b->event = event;
    b->err = err;
}


/* {"event":E[,"ref":R][,"payload":{ */

static int
ngx_grapevine_proto_gen_begin(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *ref, unsigned payload)
{
    int  rc;

    b->gen = yajl_gen_alloc(NULL);
    if (b->gen == NULL) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_ENOMEM,
                                            NULL, "out of memory");
    }

    if (!yajl_gen_config(b->gen, yajl_gen_validate_utf8, 1)) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            NULL, "yajl_gen_config() failed");
    }

    if ((rc = ngx_grapevine_proto_gen_status(b, yajl_gen_map_open(b->gen)))
        != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(b, "event"))
           != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_lit(b, b->event))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (ngx_grapevine_proto_present(ref)
        && (rc = ngx_grapevine_proto_gen_kv(b, "ref", ref))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    if (payload
        && ((rc = ngx_grapevine_proto_gen_lit(b, "payload"))
            != NGX_GRAPEVINE_PROTO_OK
            || (rc = ngx_grapevine_proto_gen_status(b,
                                                 yajl_gen_map_open(b->gen)))
               != NGX_GRAPEVINE_PROTO_OK))
    {
        return rc;
    }

    return NGX_GRAPEVINE_PROTO_OK;
}


/* closes depth objects and copies the frame into the arena */

static int
ngx_grapevine_proto_gen_end(ngx_grapevine_proto_gen_t *b, unsigned depth,
    ngx_grapevine_proto_str_t *out)
{
    int            rc;
    size_t         len;
    u_char        *data;
    const u_char  *buf;

    while (depth--) {
        rc = ngx_grapevine_proto_gen_status(b, yajl_gen_map_close(b->gen));
        if (rc != NGX_GRAPEVINE_PROTO_OK) {
            return ngx_grapevine_proto_gen_done(b, rc);
        }
    }

    rc = ngx_grapevine_proto_gen_status(b, yajl_gen_get_buf(b->gen, &buf,
                                                            &len));
    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return ngx_grapevine_proto_gen_done(b, rc);
    }

    data = ngx_grapevine_proto_strdup(b->arena, buf, len);
    if (data == NULL) {
        rc = ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_ENOMEM,
                                          NULL, "out of memory");
        return ngx_grapevine_proto_gen_done(b, rc);
    }

    out->len = len;
    out->data = data;

    ngx_grapevine_proto_set_error(b->err, NGX_GRAPEVINE_PROTO_OK, NULL);

    return ngx_grapevine_proto_gen_done(b, NGX_GRAPEVINE_PROTO_OK);
}


static int
ngx_grapevine_proto_gen_done(ngx_grapevine_proto_gen_t *b, int rc)
{
    if (b->gen != NULL) {
        yajl_gen_free(b->gen);
        b->gen = NULL;
    }

    return rc;
}


/* an argument: OK if present and valid or absent and optional */

static int
ngx_grapevine_proto_gen_check(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *s, unsigned required)
{
    if (!ngx_grapevine_proto_present(s)) {
        if (required) {
            return ngx_grapevine_proto_gen_fail(b,
                                                NGX_GRAPEVINE_PROTO_EINVALID,
                                                name, "missing");
        }

        return NGX_GRAPEVINE_PROTO_OK;
    }

    switch (ngx_grapevine_proto_text_check(s->data, s->len)) {

    case NGX_GRAPEVINE_PROTO_OK:
        return NGX_GRAPEVINE_PROTO_OK;

    case NGX_GRAPEVINE_PROTO_ENUL:
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_ENUL, name,
                                            "contains a NUL character");

    default:
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EUTF8, name,
                                            "is not valid UTF-8");
    }
}


/* a list of strings; an element with data NULL must be empty */

static int
ngx_grapevine_proto_gen_checks(ngx_grapevine_proto_gen_t *b,
    const char *name, const ngx_grapevine_proto_str_t *elts, size_t nelts)
{
    int     rc;
    size_t  i;

    for (i = 0; i < nelts; i++) {
        if (elts[i].data == NULL) {
            if (elts[i].len) {
                return ngx_grapevine_proto_gen_fail(b,
                                                 NGX_GRAPEVINE_PROTO_EINVALID,
                                                 name, "has a NULL element");
            }

            continue;
        }

        rc = ngx_grapevine_proto_gen_check(b, name, &elts[i], 1);
        if (rc != NGX_GRAPEVINE_PROTO_OK) {
            return rc;
        }
    }

    return NGX_GRAPEVINE_PROTO_OK;
}


/* an optional timestamp, normalised into buf; norm->data NULL if absent */

static int
ngx_grapevine_proto_gen_time(ngx_grapevine_proto_gen_t *b, const char *name,
    const ngx_grapevine_proto_str_t *s, u_char *buf,
    ngx_grapevine_proto_str_t *norm)
{
    norm->len = 0;
    norm->data = NULL;

    if (!ngx_grapevine_proto_present(s)) {
        return NGX_GRAPEVINE_PROTO_OK;
    }

    norm->len = ngx_grapevine_proto_time_normalize(s->data, s->len, buf,
                                                NGX_GRAPEVINE_PROTO_TIME_AUTO);
    if (norm->len == 0) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EINVALID,
                                            name, "is not an ISO-8601 time");
    }

    norm->data = buf;

    return NGX_GRAPEVINE_PROTO_OK;
}


static int
ngx_grapevine_proto_gen_lit(ngx_grapevine_proto_gen_t *b, const char *lit)
{
    return ngx_grapevine_proto_gen_status(b,
               yajl_gen_string(b->gen, (const u_char *) lit, strlen(lit)));
}


static int
ngx_grapevine_proto_gen_text(ngx_grapevine_proto_gen_t *b,
    const ngx_grapevine_proto_str_t *s)
{
    return ngx_grapevine_proto_gen_status(b,
               yajl_gen_string(b->gen,
                               s->data ? s->data : (const u_char *) "",
                               s->len));
}


static int
ngx_grapevine_proto_gen_kv(ngx_grapevine_proto_gen_t *b, const char *key,
    const ngx_grapevine_proto_str_t *s)
{
    int  rc;

    rc = ngx_grapevine_proto_gen_lit(b, key);
    if (rc != NGX_GRAPEVINE_PROTO_OK) {
        return rc;
    }

    return ngx_grapevine_proto_gen_text(b, s);
}


static int
ngx_grapevine_proto_gen_list(ngx_grapevine_proto_gen_t *b, const char *key,
    const ngx_grapevine_proto_str_t *elts, size_t nelts)
{
    int     rc;
    size_t  i;

    if ((rc = ngx_grapevine_proto_gen_lit(b, key)) != NGX_GRAPEVINE_PROTO_OK
        || (rc = ngx_grapevine_proto_gen_status(b,
                                                yajl_gen_array_open(b->gen)))
           != NGX_GRAPEVINE_PROTO_OK)
    {
        return rc;
    }

    for (i = 0; i < nelts; i++) {
        rc = ngx_grapevine_proto_gen_text(b, &elts[i]);
        if (rc != NGX_GRAPEVINE_PROTO_OK) {
            return rc;
        }
    }

    return ngx_grapevine_proto_gen_status(b, yajl_gen_array_close(b->gen));
}


static int
ngx_grapevine_proto_gen_status(ngx_grapevine_proto_gen_t *b,
    yajl_gen_status status)
{
    if (status == yajl_gen_status_ok) {
        return NGX_GRAPEVINE_PROTO_OK;
    }

    if (status == yajl_gen_invalid_string) {
        return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EUTF8,
                                            NULL, "invalid UTF-8");
    }

    /* cannot happen: the builders nest at most 3 deep */
    return ngx_grapevine_proto_gen_fail(b, NGX_GRAPEVINE_PROTO_EINVALID, NULL,
                                        "cannot generate JSON");
}


/* '<event>: "<name>" <what>'; frees nothing (see gen_done) */

static int
ngx_grapevine_proto_gen_fail(ngx_grapevine_proto_gen_t *b, int rc,
    const char *name, const char *what)
{
    const char  *msg;

    if (name) {
        msg = ngx_grapevine_proto_printf(b->arena, "%s: \"%s\" %s", b->event,
                                         name, what);

    } else {
        msg = ngx_grapevine_proto_printf(b->arena, "%s: %s", b->event, what);
    }

    ngx_grapevine_proto_set_error(b->err, rc, msg);

    return rc;
}
