/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_PROTOCOL_H_INCLUDED_
#define _NGX_GRAPEVINE_PROTOCOL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_grapevine_arena.h"


/*
 * The Gossip protocol layer: the bytes of one WebSocket text frame become a
 * typed event, and typed requests become the bytes of one frame.  It is
 * pure: no nginx header, no I/O, no global state; unit tests and fuzzers
 * link it alone (with -lyajl).  This is the header the rest of the module
 * includes; the layer's files are:
 *
 *   ngx_grapevine_protocol_schema.[ch]  what each event and record holds
 *                                       (fields, types, what is required),
 *                                       names, messages, limits
 *   ngx_grapevine_protocol_parse.c      the bytes of a frame -> an event
 *   ngx_grapevine_protocol_build.c      the frames we send
 *   ngx_grapevine_protocol_records.c    a sync event's valid records, as
 *                                       the database's ingest takes them
 *   ngx_grapevine_protocol_text.c       UTF-8, integers, timestamps
 *
 * The parser is the one place that decides whether a record of the hub is
 * valid: what it accepts, the ingest stores without checking again (see
 * ngx_grapevine_proto_records_json()).
 *
 * Memory.  Everything the parser and the builders return (strings, arrays,
 * messages) is allocated from the caller's ngx_grapevine_arena_t and never
 * freed here; in nginx the arena is an ngx_pool_t, in tests a malloc list.
 * yajl's own state and the parser's stack are malloc'ed and freed before
 * a function returns.
 *
 * Strings.  A ngx_grapevine_proto_str_t has the layout of ngx_str_t
 * (len, data).  Every string returned is copied into the arena, is valid
 * UTF-8 (strictly: no overlong forms, no surrogates, nothing above
 * U+10FFFF), contains no NUL and is NUL-terminated after len bytes.
 *
 * Optional values carry a state: ABSENT (the key was not sent), NULL (it
 * was sent as JSON null) or SET.  An ABSENT or NULL string has len 0 and
 * data NULL; an ABSENT or NULL number or boolean has value 0.
 *
 * Parsing rules, all documented by t/unit/test_protocol.c:
 *
 *   - frame-level errors reject the whole frame: larger than
 *     max_frame_size, empty, malformed JSON, invalid UTF-8 or an escaped
 *     NUL (\u0000) in any string or key, nesting deeper than max_depth
 *     (the top-level object is depth 1), anything but whitespace after
 *     the top-level value, a top level that is not an object, more than
 *     max_records records in one sync event, out of memory;
 *
 *   - a well-formed frame whose event is not usable (an envelope field or
 *     a payload field of the wrong type, a required payload field missing)
 *     gives NGX_GRAPEVINE_PROTO_EINVALID; the envelope is still filled;
 *
 *   - in sync events a bad record is not an error: the record is marked
 *     invalid with a message naming it and the field, the others land;
 *
 *   - unknown keys are ignored everywhere, unknown event names give
 *     NGX_GRAPEVINE_PROTO_EV_UNKNOWN with the name kept;
 *
 *   - duplicate keys: the first occurrence wins, later ones are ignored
 *     (they are still checked as JSON);
 *
 *   - integers must be JSON integers (no fraction, no exponent) that fit
 *     in int64_t; a float, a string or a too large number where an
 *     integer is expected is a type error of that field; a port, and an
 *     achievement's points and total_progress, must fit in 32 bits
 *     (their columns' type), or the field "is out of range";
 *
 *   - timestamps (logged_at, sent_at, since, mssp_last_seen_at) must pass
 *     ngx_grapevine_proto_time_normalize() and are returned normalised to
 *     the fixed-width "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", which sorts
 *     chronologically as text;
 *
 *   - dates (an event's start_date and end_date) are "YYYY-MM-DD" days
 *     that exist, or timestamps as above (their day is taken), and are
 *     returned as "YYYY-MM-DD";
 *
 *   - names and chat, where they are stored or name a stored game: a
 *     game's short name ("game" of a game record, of games/... and
 *     players/... events and of channels/broadcast) is 1 to 15 ASCII
 *     letters and digits and not a reserved name ("online", in any case),
 *     as the original's short names; a channel's name (a channel record's
 *     "name", channels/broadcast's "channel") at most 15 characters; a
 *     player's name (channels/broadcast's and players/sign-in|out's
 *     "name") at most 50 characters; channels/broadcast's "message" at
 *     most max_message bytes; none of them empty or only white space.
 *     Characters are counted as code points;
 *
 *   - an escaped surrogate that is not a high one followed by a low one
 *     ("\ud800", "\udc00", "\ud800\u0041") is invalid UTF-8, as are
 *     overlong forms, raw surrogates and bytes above U+10FFFF, in strings
 *     and anywhere else in the frame.
 */


#define NGX_GRAPEVINE_PROTO_VERSION          "2.3.0"

#define NGX_GRAPEVINE_PROTO_MAX_FRAME_SIZE   (1024 * 1024)
#define NGX_GRAPEVINE_PROTO_MAX_DEPTH        32
#define NGX_GRAPEVINE_PROTO_MAX_RECORDS      100
#define NGX_GRAPEVINE_PROTO_MAX_MESSAGE      2048

/* the names' bounds, in characters (see the parsing rules above) */
#define NGX_GRAPEVINE_PROTO_MAX_SHORT_NAME   15
#define NGX_GRAPEVINE_PROTO_MAX_CHANNEL      15
#define NGX_GRAPEVINE_PROTO_MAX_NAME         50

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" and "YYYY-MM-DDTHH:MM:SSZ" */
#define NGX_GRAPEVINE_PROTO_TIME_LEN         27
#define NGX_GRAPEVINE_PROTO_TIME_SEC_LEN     20

/* ngx_grapevine_proto_time_normalize() flags */
#define NGX_GRAPEVINE_PROTO_TIME_SEC         0   /* seconds, no fraction */
#define NGX_GRAPEVINE_PROTO_TIME_USEC        1   /* always 6 digits */
#define NGX_GRAPEVINE_PROTO_TIME_AUTO        2   /* 6 digits unless zero */


typedef enum {
    NGX_GRAPEVINE_PROTO_OK = 0,
    NGX_GRAPEVINE_PROTO_EINVALID,      /* well-formed, unusable event */
    NGX_GRAPEVINE_PROTO_ETOOBIG,       /* frame larger than the limit */
    NGX_GRAPEVINE_PROTO_EEMPTY,        /* empty or blank frame */
    NGX_GRAPEVINE_PROTO_EJSON,         /* malformed JSON */
    NGX_GRAPEVINE_PROTO_EUTF8,         /* invalid UTF-8 in a string */
    NGX_GRAPEVINE_PROTO_ENUL,          /* NUL character in a string */
    NGX_GRAPEVINE_PROTO_EDEPTH,        /* nested deeper than the limit */
    NGX_GRAPEVINE_PROTO_ETRAILING,     /* garbage after the object */
    NGX_GRAPEVINE_PROTO_ENOTOBJECT,    /* top level is not an object */
    NGX_GRAPEVINE_PROTO_ETOOMANY,      /* too many records in a sync */
    NGX_GRAPEVINE_PROTO_ENOMEM         /* the arena or malloc failed */
} ngx_grapevine_proto_rc_e;

/* every error but EINVALID rejects the frame as a whole */
#define ngx_grapevine_proto_frame_error(rc)                                   \
    ((rc) > NGX_GRAPEVINE_PROTO_EINVALID)


typedef enum {
    NGX_GRAPEVINE_PROTO_ABSENT = 0,
    NGX_GRAPEVINE_PROTO_NULL,
    NGX_GRAPEVINE_PROTO_SET
} ngx_grapevine_proto_state_e;


typedef enum {
    NGX_GRAPEVINE_PROTO_EV_UNKNOWN = 0,    /* name kept in ev->event */
    NGX_GRAPEVINE_PROTO_EV_FAILURE,        /* status without an event */
    NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE,
    NGX_GRAPEVINE_PROTO_EV_HEARTBEAT,
    NGX_GRAPEVINE_PROTO_EV_RESTART,
    NGX_GRAPEVINE_PROTO_EV_SYNC,
    NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS,
    NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES,
    NGX_GRAPEVINE_PROTO_EV_SYNC_EVENTS,
    NGX_GRAPEVINE_PROTO_EV_SYNC_ACHIEVEMENTS,
    NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST,
    NGX_GRAPEVINE_PROTO_EV_CHANNELS_SUBSCRIBE,
    NGX_GRAPEVINE_PROTO_EV_CHANNELS_UNSUBSCRIBE,
    NGX_GRAPEVINE_PROTO_EV_CHANNELS_SEND,
    NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN,
    NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_OUT,
    NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS,
    NGX_GRAPEVINE_PROTO_EV_GAMES_CONNECT,
    NGX_GRAPEVINE_PROTO_EV_GAMES_DISCONNECT,
    NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS,
    NGX_GRAPEVINE_PROTO_EV_TELLS_SEND,
    NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE
} ngx_grapevine_proto_type_e;


typedef enum {
    NGX_GRAPEVINE_PROTO_STATUS_NONE = 0,   /* no "status" (or null) */
    NGX_GRAPEVINE_PROTO_STATUS_SUCCESS,
    NGX_GRAPEVINE_PROTO_STATUS_FAILURE,
    NGX_GRAPEVINE_PROTO_STATUS_OTHER
} ngx_grapevine_proto_status_e;


typedef enum {
    NGX_GRAPEVINE_PROTO_REC_CHANNEL = 0,
    NGX_GRAPEVINE_PROTO_REC_GAME,
    NGX_GRAPEVINE_PROTO_REC_EVENT,
    NGX_GRAPEVINE_PROTO_REC_ACHIEVEMENT
} ngx_grapevine_proto_kind_e;


typedef enum {
    NGX_GRAPEVINE_PROTO_ACTION_NONE = 0,   /* v2 record without action */
    NGX_GRAPEVINE_PROTO_ACTION_UPSERT,     /* v1 push */
    NGX_GRAPEVINE_PROTO_ACTION_CREATE,
    NGX_GRAPEVINE_PROTO_ACTION_UPDATE,
    NGX_GRAPEVINE_PROTO_ACTION_DELETE
} ngx_grapevine_proto_action_e;


typedef enum {
    NGX_GRAPEVINE_PROTO_SHAPE_NONE = 0,
    NGX_GRAPEVINE_PROTO_SHAPE_V1,          /* {"games": [record, ...]} */
    NGX_GRAPEVINE_PROTO_SHAPE_V2           /* [{action, logged_at, ...}] */
} ngx_grapevine_proto_shape_e;


/* zero fields mean the defaults */
typedef struct {
    size_t                          max_frame_size;
    size_t                          max_depth;
    size_t                          max_records;
    size_t                          max_message;    /* bytes */
} ngx_grapevine_proto_limits_t;


typedef struct {
    int                             code;    /* ngx_grapevine_proto_rc_e */
    const char                     *msg;     /* "" on success */
} ngx_grapevine_proto_error_t;


typedef struct {
    size_t                          len;
    unsigned char                  *data;
} ngx_grapevine_proto_str_t;


typedef struct {
    size_t                          len;
    unsigned char                  *data;
    ngx_grapevine_proto_state_e     state;
} ngx_grapevine_proto_opt_str_t;


typedef struct {
    int64_t                         value;
    ngx_grapevine_proto_state_e     state;
} ngx_grapevine_proto_opt_int_t;


typedef struct {
    unsigned                        value;   /* 0 or 1 */
    ngx_grapevine_proto_state_e     state;
} ngx_grapevine_proto_opt_bool_t;


typedef struct {
    ngx_grapevine_proto_str_t      *elts;
    size_t                          nelts;
    ngx_grapevine_proto_state_e     state;
} ngx_grapevine_proto_str_array_t;


/* records */

typedef struct {
    ngx_grapevine_proto_opt_int_t   id;              /* required */
    ngx_grapevine_proto_opt_str_t   name;            /* required */
    ngx_grapevine_proto_opt_str_t   description;
    ngx_grapevine_proto_opt_bool_t  hidden;          /* default false */
} ngx_grapevine_proto_channel_t;


typedef struct {
    ngx_grapevine_proto_opt_str_t   id;              /* connection key */
    ngx_grapevine_proto_opt_str_t   type;            /* required */
    ngx_grapevine_proto_opt_str_t   url;
    ngx_grapevine_proto_opt_str_t   host;
    ngx_grapevine_proto_opt_int_t   port;
} ngx_grapevine_proto_connection_t;


typedef struct {
    ngx_grapevine_proto_connection_t  *elts;
    size_t                             nelts;
    ngx_grapevine_proto_state_e        state;
} ngx_grapevine_proto_connections_t;


/* a sync/games record, also the payload of games/{status,connect,...} */
typedef struct {
    ngx_grapevine_proto_opt_int_t      id;           /* required in sync */
    ngx_grapevine_proto_opt_str_t      short_name;   /* "game", required */
    ngx_grapevine_proto_opt_str_t      display_name; /* required in sync */
    ngx_grapevine_proto_opt_bool_t     display;
    ngx_grapevine_proto_opt_str_t      description;
    ngx_grapevine_proto_opt_str_t      homepage_url;
    ngx_grapevine_proto_opt_str_t      user_agent;
    ngx_grapevine_proto_opt_str_t      user_agent_url;
    ngx_grapevine_proto_opt_bool_t     allow_character_registration;
    ngx_grapevine_proto_opt_str_t      client_id;
    ngx_grapevine_proto_opt_str_t      client_secret;
    ngx_grapevine_proto_opt_str_t      mssp_last_seen_at;  /* normalised */
    ngx_grapevine_proto_str_array_t    redirect_uris;
    ngx_grapevine_proto_connections_t  connections;

    /* games/status only */
    ngx_grapevine_proto_str_array_t    supports;
    ngx_grapevine_proto_str_array_t    channels;
    ngx_grapevine_proto_opt_int_t      player_online_count;
} ngx_grapevine_proto_game_t;


/* an in-game calendar event (sync/events) */
typedef struct {
    ngx_grapevine_proto_opt_int_t   id;              /* required */
    ngx_grapevine_proto_opt_int_t   game_id;         /* required */
    ngx_grapevine_proto_opt_str_t   title;           /* required */
    ngx_grapevine_proto_opt_str_t   description;
    ngx_grapevine_proto_opt_str_t   start_date;      /* "YYYY-MM-DD" */
    ngx_grapevine_proto_opt_str_t   end_date;        /* "YYYY-MM-DD" */
} ngx_grapevine_proto_game_event_t;


typedef struct {
    ngx_grapevine_proto_opt_int_t   id;              /* required */
    ngx_grapevine_proto_opt_int_t   game_id;         /* required */
    ngx_grapevine_proto_opt_str_t   key;
    ngx_grapevine_proto_opt_str_t   title;           /* required */
    ngx_grapevine_proto_opt_str_t   description;
    ngx_grapevine_proto_opt_bool_t  display;
    ngx_grapevine_proto_opt_int_t   points;
    ngx_grapevine_proto_opt_bool_t  partial_progress;
    ngx_grapevine_proto_opt_int_t   total_progress;
} ngx_grapevine_proto_achievement_t;


/*
 * One record of a sync event.  An invalid record (invalid = 1) keeps what
 * could be parsed; error says why, e.g. 'game #12: "display_name"
 * missing' or 'game record 3: "id" is not an integer' (records counted
 * from 1).  A delete needs only "id"; create, update and v1 records need
 * every field marked required.
 */
typedef struct {
    ngx_grapevine_proto_action_e    action;
    ngx_grapevine_proto_opt_str_t   logged_at;       /* v2, normalised */
    size_t                          index;           /* 0-based */
    unsigned                        invalid;
    const char                     *error;           /* NULL if valid */

    union {
        ngx_grapevine_proto_channel_t      channel;
        ngx_grapevine_proto_game_t         game;
        ngx_grapevine_proto_game_event_t   event;
        ngx_grapevine_proto_achievement_t  achievement;
    } u;
} ngx_grapevine_proto_record_t;


/* event payloads */

/* authenticate: the reply's payload and the request's fields */
typedef struct {
    ngx_grapevine_proto_opt_str_t    unicode;
    ngx_grapevine_proto_opt_str_t    version;
    ngx_grapevine_proto_opt_str_t    client_id;
    ngx_grapevine_proto_opt_str_t    client_secret;
    ngx_grapevine_proto_opt_str_t    user_agent;
    ngx_grapevine_proto_str_array_t  supports;
    ngx_grapevine_proto_str_array_t  channels;
    ngx_grapevine_proto_str_array_t  players;
} ngx_grapevine_proto_authenticate_t;


typedef struct {
    ngx_grapevine_proto_str_array_t  players;
} ngx_grapevine_proto_heartbeat_t;


typedef struct {
    ngx_grapevine_proto_opt_int_t    downtime;       /* seconds */
} ngx_grapevine_proto_restart_t;


/* sync (the request and its reply) */
typedef struct {
    ngx_grapevine_proto_opt_str_t    since;          /* normalised */
} ngx_grapevine_proto_sync_request_t;


/* sync/channels, sync/games, sync/events, sync/achievements */
typedef struct {
    ngx_grapevine_proto_kind_e       kind;
    ngx_grapevine_proto_shape_e      shape;
    ngx_grapevine_proto_record_t    *records;
    size_t                           nrecords;
    size_t                           ninvalid;
} ngx_grapevine_proto_sync_t;


/* channels/broadcast (all four required), subscribe, unsubscribe, send */
typedef struct {
    ngx_grapevine_proto_opt_str_t    channel;
    ngx_grapevine_proto_opt_str_t    message;
    ngx_grapevine_proto_opt_str_t    game;
    ngx_grapevine_proto_opt_str_t    name;
} ngx_grapevine_proto_channel_msg_t;


/* players/sign-in, players/sign-out, players/status */
typedef struct {
    ngx_grapevine_proto_opt_str_t    game;
    ngx_grapevine_proto_opt_str_t    name;
    ngx_grapevine_proto_str_array_t  players;
} ngx_grapevine_proto_players_t;


/* tells/receive (all but to_game required), tells/send */
typedef struct {
    ngx_grapevine_proto_opt_str_t    from_game;
    ngx_grapevine_proto_opt_str_t    from_name;
    ngx_grapevine_proto_opt_str_t    to_game;
    ngx_grapevine_proto_opt_str_t    to_name;
    ngx_grapevine_proto_opt_str_t    sent_at;        /* normalised */
    ngx_grapevine_proto_opt_str_t    message;
} ngx_grapevine_proto_tell_t;


/*
 * A parsed frame.  The envelope (event, ref, status, error) is filled for
 * every event, also with EINVALID; u is selected by type:
 *
 *   AUTHENTICATE                       u.authenticate
 *   HEARTBEAT                          u.heartbeat
 *   RESTART                            u.restart
 *   SYNC                               u.sync_request
 *   SYNC_{CHANNELS,GAMES,EVENTS,...}   u.sync
 *   CHANNELS_*                         u.channel
 *   PLAYERS_*                          u.players
 *   GAMES_{CONNECT,DISCONNECT,STATUS}  u.game  ("game" is u.game.short_name)
 *   TELLS_*                            u.tell
 *   UNKNOWN, FAILURE                   nothing (the payload is skipped)
 *
 * Payload fields marked required are checked when a payload is present
 * and status is not "failure"; events that only exist as pushes
 * (channels/broadcast, players/sign-in|out, games/connect|disconnect,
 * tells/receive, sync/...) need a payload unless they carry a status.
 * Required: channels/broadcast: channel, message, game, name;
 * players/sign-in|out: game, name (as pushed; a game's own request
 * {"name"} is EINVALID); players/status: game; games/...: game;
 * tells/receive: all but to_game; a v1 sync payload: its list.  An event
 * without "event" but with "status" is EV_FAILURE; without both it is
 * EINVALID.
 */
typedef struct {
    ngx_grapevine_proto_type_e             type;
    ngx_grapevine_proto_status_e           status;
    ngx_grapevine_proto_opt_str_t          event;
    ngx_grapevine_proto_opt_str_t          ref;
    ngx_grapevine_proto_opt_str_t          status_text;
    ngx_grapevine_proto_opt_str_t          error;
    ngx_grapevine_proto_state_e            payload;

    union {
        ngx_grapevine_proto_authenticate_t  authenticate;
        ngx_grapevine_proto_heartbeat_t     heartbeat;
        ngx_grapevine_proto_restart_t       restart;
        ngx_grapevine_proto_sync_request_t  sync_request;
        ngx_grapevine_proto_sync_t          sync;
        ngx_grapevine_proto_channel_msg_t   channel;
        ngx_grapevine_proto_players_t       players;
        ngx_grapevine_proto_game_t          game;
        ngx_grapevine_proto_tell_t          tell;
    } u;
} ngx_grapevine_proto_event_t;


/* requests */

typedef struct {
    ngx_grapevine_proto_str_t        client_id;      /* UUID */
    ngx_grapevine_proto_str_t        client_secret;  /* UUID */
    ngx_grapevine_proto_str_array_t  supports;       /* incl. "channels" */
    ngx_grapevine_proto_str_array_t  channels;       /* ABSENT: not sent */
    ngx_grapevine_proto_str_array_t  players;        /* ABSENT: not sent */
    ngx_grapevine_proto_str_t        user_agent;     /* data NULL: not sent */
} ngx_grapevine_proto_auth_request_t;


typedef struct {
    ngx_grapevine_proto_str_t        ref;            /* data NULL: no ref */
    ngx_grapevine_proto_str_t        from_name;
    ngx_grapevine_proto_str_t        to_game;
    ngx_grapevine_proto_str_t        to_name;
    ngx_grapevine_proto_str_t        sent_at;        /* ISO-8601, UTC */
    ngx_grapevine_proto_str_t        message;
} ngx_grapevine_proto_tell_request_t;


void ngx_grapevine_proto_limits_init(ngx_grapevine_proto_limits_t *limits);

/*
 * Parses one frame into *ev (which it zeroes first).  limits may be NULL
 * (defaults), err may be NULL.  Returns NGX_GRAPEVINE_PROTO_OK,
 * NGX_GRAPEVINE_PROTO_EINVALID or a frame-level error; err->msg is a short
 * human message, static or from the arena, e.g. "frame nested deeper than
 * 32" or 'channels/broadcast: "channel" is not a string'.  After a
 * frame-level error *ev is partly filled and must not be used.
 */
int ngx_grapevine_proto_parse(const unsigned char *data, size_t len,
    const ngx_grapevine_proto_limits_t *limits,
    ngx_grapevine_arena_t *arena, ngx_grapevine_proto_event_t *ev,
    ngx_grapevine_proto_error_t *err);

/*
 * Builders: one compact JSON frame in *out (arena, NUL-terminated), keys
 * in a fixed order: "event", "ref", "payload".  err may be NULL.  Text
 * that is not strict UTF-8 or contains NUL gives EUTF8 or ENUL, a missing
 * or malformed argument EINVALID; out is then untouched.
 *
 * An optional argument (ref, since, game, user_agent) that is NULL or
 * whose data is NULL is left out of the frame; "since" is then sent as
 * null (everything).  Required: authenticate's client_id, client_secret
 * and supports (which must include "channels"); tells/send's five
 * fields; channels/send's channel, name and message; the ref of
 * players/status (the hub ignores it otherwise).  Timestamps (since,
 * sent_at) must pass ngx_grapevine_proto_time_normalize() and are sent
 * normalised with NGX_GRAPEVINE_PROTO_TIME_AUTO.
 */
int ngx_grapevine_proto_build_authenticate(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_auth_request_t *req,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);
int ngx_grapevine_proto_build_heartbeat(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *players, size_t nplayers,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);
int ngx_grapevine_proto_build_sync(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *since,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);
int ngx_grapevine_proto_build_tells_send(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_tell_request_t *req,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);
int ngx_grapevine_proto_build_channels_send(
    ngx_grapevine_arena_t *arena, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    const ngx_grapevine_proto_str_t *name,
    const ngx_grapevine_proto_str_t *message,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);
int ngx_grapevine_proto_build_channels_subscribe(
    ngx_grapevine_arena_t *arena, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);
int ngx_grapevine_proto_build_channels_unsubscribe(
    ngx_grapevine_arena_t *arena, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *channel,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);
int ngx_grapevine_proto_build_players_status(
    ngx_grapevine_arena_t *arena, const ngx_grapevine_proto_str_t *ref,
    const ngx_grapevine_proto_str_t *game,
    ngx_grapevine_proto_str_t *out, ngx_grapevine_proto_error_t *err);

/*
 * The valid records of a sync event, for the database's ingest
 * (backbone_sync(), sql/backbone/): a compact JSON array with an object
 * per valid record, in order.  Its keys are the record's fields that are
 * SET, by their names in the protocol ("id", "game", "display_name",
 * "connections", ...; ABSENT and NULL ones are left out), with timestamps
 * and dates normalised; then "logged_at" when the version has one, and
 * "deleted": true for a delete.  Invalid records are left out, so *out is
 * "[]" when none is valid.  err may be NULL.
 */
int ngx_grapevine_proto_records_json(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_sync_t *sync, ngx_grapevine_proto_str_t *out,
    ngx_grapevine_proto_error_t *err);

/*
 * Validates an ISO-8601 UTC timestamp leniently and writes it normalised
 * into buf (NGX_GRAPEVINE_PROTO_TIME_LEN + 1 bytes, NUL-terminated).
 * Accepted: "YYYY-MM-DD" "T" (or "t" or a space) "HH:MM:SS", an optional
 * fraction of 1 to 9 digits after "." or ",", then "Z" (or "z"); the date
 * and time must exist (leap years are known; no leap second).  Written:
 * "YYYY-MM-DDTHH:MM:SS[.uuuuuu]Z", the fraction truncated to microseconds,
 * per flags (NGX_GRAPEVINE_PROTO_TIME_*).  Returns the length written, or
 * 0 for garbage.
 */
size_t ngx_grapevine_proto_time_normalize(const unsigned char *data,
    size_t len, unsigned char *buf, unsigned flags);

/* 1 if ngx_grapevine_proto_time_normalize() accepts the text, else 0 */
int ngx_grapevine_proto_time_valid(const unsigned char *data, size_t len);

/* OK, EUTF8 (not strict UTF-8) or ENUL (contains U+0000) */
int ngx_grapevine_proto_text_check(const unsigned char *data, size_t len);

/* "channels/broadcast", ...; "unknown" and "failure" for those types */
const char *ngx_grapevine_proto_type_name(ngx_grapevine_proto_type_e type);

/* a short description of a return code, e.g. "frame too large" */
const char *ngx_grapevine_proto_strerror(int rc);


#endif /* _NGX_GRAPEVINE_PROTOCOL_H_INCLUDED_ */
