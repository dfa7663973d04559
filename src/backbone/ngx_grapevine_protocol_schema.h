
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_PROTOCOL_SCHEMA_H_INCLUDED_
#define _NGX_GRAPEVINE_PROTOCOL_SCHEMA_H_INCLUDED_


#include <stdarg.h>

#include "ngx_grapevine_protocol.h"


/*
 * The protocol's schema, for the protocol's own files only (everything
 * else includes ngx_grapevine_protocol.h): a table per event and per
 * record that names its fields, their types and which are required
 * (ngx_grapevine_protocol_schema.c), and the helpers the parser and the
 * builders share (ngx_grapevine_protocol_text.c).  Pure, like the rest.
 */


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
#define NGX_GRAPEVINE_PROTO_F_DATE       10  /* opt_str, "YYYY-MM-DD" */

/* field flags */
#define NGX_GRAPEVINE_PROTO_REQ          0x01  /* required */
#define NGX_GRAPEVINE_PROTO_KEY          0x02  /* required, also in deletes */
#define NGX_GRAPEVINE_PROTO_IN_SYNC      0x04  /* required in sync records */
#define NGX_GRAPEVINE_PROTO_NAME         0x08  /* the event name */
#define NGX_GRAPEVINE_PROTO_INT32        0x10  /* fits a 32-bit integer */
#define NGX_GRAPEVINE_PROTO_SHORT_NAME   0x20  /* a game's short name */
#define NGX_GRAPEVINE_PROTO_CHANNEL_NAME 0x40  /* a channel's name */
#define NGX_GRAPEVINE_PROTO_PLAYER_NAME  0x80  /* a player's name */
#define NGX_GRAPEVINE_PROTO_MESSAGE      0x100 /* a channel message */

#define NGX_GRAPEVINE_PROTO_TEXT_RULES                                        \
    (NGX_GRAPEVINE_PROTO_SHORT_NAME|NGX_GRAPEVINE_PROTO_CHANNEL_NAME          \
     |NGX_GRAPEVINE_PROTO_PLAYER_NAME|NGX_GRAPEVINE_PROTO_MESSAGE)

#define NGX_GRAPEVINE_PROTO_REQ_EVENT    NGX_GRAPEVINE_PROTO_REQ
#define NGX_GRAPEVINE_PROTO_REQ_RECORD                                        \
    (NGX_GRAPEVINE_PROTO_REQ|NGX_GRAPEVINE_PROTO_KEY                          \
     |NGX_GRAPEVINE_PROTO_IN_SYNC)
#define NGX_GRAPEVINE_PROTO_REQ_DELETE   NGX_GRAPEVINE_PROTO_KEY

/* what an event's payload is */
#define NGX_GRAPEVINE_PROTO_P_NONE       0   /* skipped */
#define NGX_GRAPEVINE_PROTO_P_OBJECT     1   /* an object, with a schema */
#define NGX_GRAPEVINE_PROTO_P_SYNC       2   /* v1 object or v2 array */

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
#define NGX_GRAPEVINE_PROTO_S_RECORD       14   /* + the record's kind */
#define NGX_GRAPEVINE_PROTO_S_V1           18   /* + the record's kind */

/* the field of a v2 version that holds its record */
#define NGX_GRAPEVINE_PROTO_VERSION_PAYLOAD  2

/* ngx_grapevine_proto_defs[] has one entry per ngx_grapevine_proto_type_e */
#define NGX_GRAPEVINE_PROTO_NDEFS                                             \
    (NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE + 1)

#define ngx_grapevine_proto_is_digit(c)  ((c) >= '0' && (c) <= '9')

#define ngx_grapevine_proto_schema_get(i)  (&ngx_grapevine_proto_schemas[i])


typedef struct {
    const char                          *name;
    unsigned                             type;      /* F_* */
    unsigned                             flags;
    size_t                               offset;
} ngx_grapevine_proto_field_t;


/* at most 32 fields: the parser's "seen" is a bit mask */
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


extern const ngx_grapevine_proto_schema_t  ngx_grapevine_proto_schemas[];
extern const ngx_grapevine_proto_def_t     ngx_grapevine_proto_defs[];


/* ngx_grapevine_protocol_text.c */

size_t ngx_grapevine_proto_utf8_scan(const unsigned char *p, size_t len);
size_t ngx_grapevine_proto_escape_scan(const unsigned char *p, size_t len);
size_t ngx_grapevine_proto_date_normalize(const unsigned char *data,
    size_t len, unsigned char *buf);
size_t ngx_grapevine_proto_utf8_count(const unsigned char *p, size_t len);
int ngx_grapevine_proto_blank(const unsigned char *p, size_t len);
int ngx_grapevine_proto_short_name(const unsigned char *p, size_t len);
int ngx_grapevine_proto_int64(const unsigned char *p, size_t len,
    int64_t *value);
unsigned char *ngx_grapevine_proto_strdup(ngx_grapevine_arena_t *arena,
    const unsigned char *p, size_t len);
const char *ngx_grapevine_proto_printf(ngx_grapevine_arena_t *arena,
    const char *fmt, ...);
const char *ngx_grapevine_proto_vprintf(ngx_grapevine_arena_t *arena,
    const char *fmt, va_list args);
void ngx_grapevine_proto_set_error(ngx_grapevine_proto_error_t *err, int rc,
    const char *msg);


#endif /* _NGX_GRAPEVINE_PROTOCOL_SCHEMA_H_INCLUDED_ */
