
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * The protocol's schema: what each event and each record of the hub holds,
 * as tables the parser walks (the fields' names, their types, which are
 * required), the event names in the order of ngx_grapevine_proto_type_e,
 * the messages of the return codes and the default limits.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_grapevine_protocol_schema.h"


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


/* channels/broadcast: all four required, and stored: their rules */
static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_broadcast_fields[] =
{
    ngx_grapevine_proto_fld("channel", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_CHANNEL_NAME,
                            ngx_grapevine_proto_channel_msg_t, channel),
    ngx_grapevine_proto_fld("message", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_MESSAGE,
                            ngx_grapevine_proto_channel_msg_t, message),
    ngx_grapevine_proto_fld("game", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_SHORT_NAME,
                            ngx_grapevine_proto_channel_msg_t, game),
    ngx_grapevine_proto_fld("name", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_PLAYER_NAME,
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
    ngx_grapevine_proto_fld("game", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_SHORT_NAME,
                            ngx_grapevine_proto_players_t, game),
    ngx_grapevine_proto_fld("name", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_PLAYER_NAME,
                            ngx_grapevine_proto_players_t, name)
};


static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_pstatus_fields[] =
{
    ngx_grapevine_proto_fld("game", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_SHORT_NAME,
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
    ngx_grapevine_proto_fld("name", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_CHANNEL_NAME,
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
    ngx_grapevine_proto_fld("game", STR,
                            NGX_GRAPEVINE_PROTO_REQ
                            |NGX_GRAPEVINE_PROTO_SHORT_NAME,
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
    ngx_grapevine_proto_fld("port", INT, NGX_GRAPEVINE_PROTO_INT32,
                            ngx_grapevine_proto_connection_t, port)
};


static const ngx_grapevine_proto_field_t  ngx_grapevine_proto_event_rec[] = {
    ngx_grapevine_proto_fld("id", INT, NGX_GRAPEVINE_PROTO_KEY,
                            ngx_grapevine_proto_game_event_t, id),
    ngx_grapevine_proto_fld("game_id", INT, NGX_GRAPEVINE_PROTO_IN_SYNC,
                            ngx_grapevine_proto_game_event_t, game_id),
    ngx_grapevine_proto_fld("title", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_game_event_t, title),
    ngx_grapevine_proto_fld("description", STR, 0,
                            ngx_grapevine_proto_game_event_t, description),
    ngx_grapevine_proto_fld("start_date", DATE, 0,
                            ngx_grapevine_proto_game_event_t, start_date),
    ngx_grapevine_proto_fld("end_date", DATE, 0,
                            ngx_grapevine_proto_game_event_t, end_date)
};


static const ngx_grapevine_proto_field_t
    ngx_grapevine_proto_achievement_rec[] =
{
    ngx_grapevine_proto_fld("id", INT, NGX_GRAPEVINE_PROTO_KEY,
                            ngx_grapevine_proto_achievement_t, id),
    ngx_grapevine_proto_fld("game_id", INT, NGX_GRAPEVINE_PROTO_IN_SYNC,
                            ngx_grapevine_proto_achievement_t, game_id),
    ngx_grapevine_proto_fld("key", STR, 0,
                            ngx_grapevine_proto_achievement_t, key),
    ngx_grapevine_proto_fld("title", STR, NGX_GRAPEVINE_PROTO_REQ,
                            ngx_grapevine_proto_achievement_t, title),
    ngx_grapevine_proto_fld("description", STR, 0,
                            ngx_grapevine_proto_achievement_t, description),
    ngx_grapevine_proto_fld("display", BOOL, 0,
                            ngx_grapevine_proto_achievement_t, display),
    ngx_grapevine_proto_fld("points", INT, NGX_GRAPEVINE_PROTO_INT32,
                            ngx_grapevine_proto_achievement_t, points),
    ngx_grapevine_proto_fld("partial_progress", BOOL, 0,
                            ngx_grapevine_proto_achievement_t,
                            partial_progress),
    ngx_grapevine_proto_fld("total_progress", INT, NGX_GRAPEVINE_PROTO_INT32,
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


#define ngx_grapevine_proto_schema_at(name, fields, i)                        \
    { name, &fields[i], 1 }

const ngx_grapevine_proto_schema_t  ngx_grapevine_proto_schemas[] = {
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

const ngx_grapevine_proto_def_t  ngx_grapevine_proto_defs[] = {
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

ngx_grapevine_proto_assert(defs, sizeof(ngx_grapevine_proto_defs)
                                 / sizeof(ngx_grapevine_proto_def_t)
                                 == NGX_GRAPEVINE_PROTO_NDEFS);
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
    limits->max_message = NGX_GRAPEVINE_PROTO_MAX_MESSAGE;
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
