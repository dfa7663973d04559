
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * What the hub sends, into the database: each event one statement on the
 * dedicated connection (so one transaction), in the order received; the
 * hub is read no faster than the database writes.  The parser has checked
 * every record: the functions of sql/backbone/ store what they get, and
 * decide only what the stored data decides (an older version, a game not
 * known, a name taken).  And tells to players of this deployment, to the
 * handlers registered with core.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_backbone.h"


#define NGX_GRAPEVINE_INGEST_PAUSE     64
#define NGX_GRAPEVINE_INGEST_RESUME    16


static ngx_int_t ngx_grapevine_backbone_sync(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_bq_t *bq, ngx_grapevine_proto_sync_t *sync);
static ngx_int_t ngx_grapevine_backbone_broadcast(ngx_grapevine_bq_t *bq,
    ngx_grapevine_proto_event_t *ev);
static ngx_int_t ngx_grapevine_backbone_presence(ngx_grapevine_bq_t *bq,
    ngx_grapevine_proto_event_t *ev);
static u_char *ngx_grapevine_backbone_array_elt(u_char *p,
    ngx_grapevine_proto_str_t *s);
static void ngx_grapevine_backbone_ingested(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_told(ngx_grapevine_bq_t *bq,
    PGresult *res);


/*
 * One event from the hub, into the database: a statement on the dedicated
 * connection, which makes it one transaction, in the order received.  pool
 * holds the parsed event and goes with the query.  The parser has decided
 * which records are valid; the invalid ones are named here and skipped.
 */

void
ngx_grapevine_backbone_ingest(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_event_t *ev, ngx_pool_t *pool)
{
    ngx_int_t            rc;
    ngx_grapevine_bq_t  *bq;

    bq = ngx_pcalloc(pool, sizeof(ngx_grapevine_bq_t));
    if (bq == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    bq->pool = pool;
    bq->bb = bb;
    bq->done = ngx_grapevine_backbone_ingested;
    bq->ingest = 1;
    bq->received = ngx_current_msec;
    bq->kind = -1;
    bq->event = ngx_grapevine_proto_type_name(ev->type);
    bq->q.values = bq->values;

    switch (ev->type) {

    case NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_EVENTS:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_ACHIEVEMENTS:
        rc = ngx_grapevine_backbone_sync(bb, bq, &ev->u.sync);
        break;

    case NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST:
        rc = ngx_grapevine_backbone_broadcast(bq, ev);
        break;

    default:
        rc = ngx_grapevine_backbone_presence(bq, ev);
        break;
    }

    if (rc != NGX_OK) {
        /* nothing to store (NGX_DECLINED), or out of memory */
        ngx_destroy_pool(pool);
        return;
    }

    bb->ingest_waiting++;

    if (ngx_grapevine_bq_run(bq) != NGX_OK) {
        return;
    }

    /* the database is slower than the hub: stop reading for a while */

    if (bb->ingest_waiting >= NGX_GRAPEVINE_INGEST_PAUSE && !bb->paused
        && bb->hub.wsi)
    {
        bb->paused = 1;
        ngx_grapevine_hub_flow(&bb->hub, 0);
    }
}


/*
 * A sync event: its valid records, as the parser wrote them, in one call
 * of backbone_sync() (sql/backbone/backbone_sync.sql), which names the
 * records the database could not store.
 */

static ngx_int_t
ngx_grapevine_backbone_sync(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_bq_t *bq, ngx_grapevine_proto_sync_t *sync)
{
    size_t                        i;
    ngx_grapevine_arena_t         arena;
    ngx_grapevine_proto_str_t     recs;
    ngx_grapevine_proto_error_t   err;

    static const char  *kinds[] = {
        "channels", "games", "events", "achievements"
    };

    for (i = 0; i < sync->nrecords; i++) {
        if (sync->records[i].invalid) {
            ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                          "grapevine hub: record skipped: %s",
                          sync->records[i].error);
        }
    }

    if (sync->ninvalid) {
        bb->skipped += sync->ninvalid;
        ngx_grapevine_metric_add(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_SKIPPED), 0,
            sync->ninvalid);
        ngx_grapevine_backbone_dirty(bb);
    }

    if (sync->ninvalid == sync->nrecords) {
        return NGX_DECLINED;
    }

    arena.alloc = ngx_grapevine_bq_alloc;
    arena.ctx = bq->pool;

    if (ngx_grapevine_proto_records_json(&arena, sync, &recs, &err)
        != NGX_GRAPEVINE_PROTO_OK)
    {
        ngx_log_error(NGX_LOG_ERR, bb->log, 0,
                      "grapevine hub: a sync event could not be stored: %s",
                      err.msg);
        return NGX_ERROR;
    }

    bq->kind = sync->kind;
    bq->records = sync->nrecords - sync->ninvalid;
    bq->values[0] = kinds[sync->kind];
    bq->values[1] = (char *) recs.data;
    bq->q.nparams = 2;
    bq->q.sql = "SELECT * FROM backbone_sync($1, $2::jsonb)";

    return NGX_OK;
}


/* channels/broadcast: the parser made sure of its four fields */

static ngx_int_t
ngx_grapevine_backbone_broadcast(ngx_grapevine_bq_t *bq,
    ngx_grapevine_proto_event_t *ev)
{
    ngx_grapevine_proto_channel_msg_t  *m;

    m = &ev->u.channel;

    if (m->channel.state != NGX_GRAPEVINE_PROTO_SET
        || m->game.state != NGX_GRAPEVINE_PROTO_SET
        || m->name.state != NGX_GRAPEVINE_PROTO_SET
        || m->message.state != NGX_GRAPEVINE_PROTO_SET)
    {
        /* a reply without a payload */
        return NGX_DECLINED;
    }

    /* the event's strings are NUL-terminated, in bq->pool */

    bq->values[0] = (char *) m->channel.data;
    bq->values[1] = (char *) m->game.data;
    bq->values[2] = (char *) m->name.data;
    bq->values[3] = (char *) m->message.data;
    bq->values[4] = (char *) ev->ref.data;           /* NULL: none */
    bq->q.nparams = 5;
    bq->q.sql = "SELECT backbone_broadcast($1, $2, $3, $4, $5)";

    return NGX_OK;
}


/*
 * Who is online: players/sign-in, players/sign-out, a players/status
 * reply, games/connect, games/disconnect, a games/status reply.  Each
 * function answers whether it knows the game.
 */

static ngx_int_t
ngx_grapevine_backbone_presence(ngx_grapevine_bq_t *bq,
    ngx_grapevine_proto_event_t *ev)
{
    u_char                           *p;
    size_t                            len;
    ngx_uint_t                        i;
    ngx_grapevine_proto_opt_str_t    *game;
    ngx_grapevine_proto_str_array_t  *players;

    switch (ev->type) {

    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_OUT:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS:
        game = &ev->u.players.game;
        break;

    case NGX_GRAPEVINE_PROTO_EV_GAMES_CONNECT:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_DISCONNECT:
        game = &ev->u.game.short_name;
        break;

    default:
        return NGX_DECLINED;
    }

    if (game->state != NGX_GRAPEVINE_PROTO_SET) {
        /* a reply without a payload */
        return NGX_DECLINED;
    }

    switch (ev->type) {

    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_OUT:
        bq->values[0] = (char *) ev->u.players.game.data;
        bq->values[1] = (char *) ev->u.players.name.data;
        bq->q.nparams = 2;
        bq->q.sql = (ev->type == NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN)
                    ? "SELECT backbone_sign_in($1, $2)"
                    : "SELECT backbone_sign_out($1, $2)";
        return NGX_OK;

    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS:
        bq->values[0] = (char *) ev->u.players.game.data;
        bq->values[1] = NULL;                      /* no list: no change */
        bq->q.nparams = 2;
        bq->q.sql = "SELECT backbone_players($1, $2::text[])";

        players = &ev->u.players.players;

        if (players->state != NGX_GRAPEVINE_PROTO_SET) {
            return NGX_OK;
        }

        /* an array literal: {"a","b"}, with " and \ escaped */

        len = 3;

        for (i = 0; i < players->nelts; i++) {
            len += 2 * players->elts[i].len + 3;
        }

        p = ngx_pnalloc(bq->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        bq->values[1] = (char *) p;
        *p++ = '{';

        for (i = 0; i < players->nelts; i++) {
            if (i) {
                *p++ = ',';
            }

            p = ngx_grapevine_backbone_array_elt(p, &players->elts[i]);
        }

        *p++ = '}';
        *p = '\0';

        return NGX_OK;

    case NGX_GRAPEVINE_PROTO_EV_GAMES_CONNECT:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_DISCONNECT:
        bq->values[0] = (char *) ev->u.game.short_name.data;
        bq->values[1] = (ev->type == NGX_GRAPEVINE_PROTO_EV_GAMES_DISCONNECT)
                        ? "false" : "true";
        bq->q.nparams = 2;
        bq->q.sql = "SELECT backbone_game_online($1, $2)";
        return NGX_OK;

    default:
        return NGX_DECLINED;
    }
}


static u_char *
ngx_grapevine_backbone_array_elt(u_char *p, ngx_grapevine_proto_str_t *s)
{
    size_t  i;

    *p++ = '"';

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '"' || s->data[i] == '\\') {
            *p++ = '\\';
        }

        *p++ = s->data[i];
    }

    *p++ = '"';

    return p;
}


static void
ngx_grapevine_backbone_ingested(ngx_grapevine_bq_t *bq, PGresult *res)
{
    int                        i, n;
    char                      *v;
    ngx_grapevine_backbone_t  *bb;

    bb = bq->bb;

    if (bb->ingest_waiting) {
        bb->ingest_waiting--;
    }

    if (bb->paused && bb->ingest_waiting <= NGX_GRAPEVINE_INGEST_RESUME) {
        bb->paused = 0;
        ngx_grapevine_hub_flow(&bb->hub, 1);
    }

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {

        if (bq->q.unavailable) {
            /* the link is dropped too; a new one resyncs what was missed */
            return;
        }

        ngx_log_error(NGX_LOG_ERR, bb->log, 0,
                      "grapevine hub: %s could not be stored: %V",
                      bq->event, &bq->q.error);
        return;
    }

    ngx_grapevine_metric_observe(
        ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_INGEST_TIME),
        ngx_current_msec - bq->received);

    n = PQntuples(res);

    if (bq->kind < 0) {
        /* presence: "f" when the game is not known */

        v = (n == 1 && PQnfields(res) == 1) ? PQgetvalue(res, 0, 0) : NULL;

        if (v != NULL && v[0] == 'f') {
            ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                          "grapevine hub: record skipped: %s: game \"%s\" "
                          "is unknown", bq->event, bq->values[0]);

            bb->skipped++;
            ngx_grapevine_metric_inc(
                ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_SKIPPED), 0);
            ngx_grapevine_backbone_dirty(bb);

        } else {
            ngx_grapevine_metric_inc(
                ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_INGESTED), 0);
        }

        return;
    }

    /* a sync event: a row per record the database skipped */

    for (i = 0; i < n; i++) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: record skipped: %s",
                      PQgetvalue(res, i, 0));
    }

    bb->skipped += n;

    ngx_grapevine_metric_add(
        ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_SKIPPED), 0, n);

    if (bq->records >= (ngx_uint_t) n) {
        bb->synced[bq->kind] += bq->records - n;

        ngx_grapevine_metric_add(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_INGESTED), 0,
            bq->records - n);
    }

    ngx_grapevine_backbone_dirty(bb);
}


/* --------------------------------------------------------------- tells */


/*
 * A tell to a player of this deployment: each handler registered with
 * core for that player runs its statement on this connection, behind the
 * events received before the tell (a game that just connected is known
 * by then).
 */

void
ngx_grapevine_backbone_tell(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_tell_t *tell)
{
    ngx_uint_t                      i;
    ngx_grapevine_bq_t             *bq;
    ngx_grapevine_tell_handler_t  **h;

    ngx_log_debug6(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                   "grapevine hub: tell from %*s@%*s to %*s",
                   tell->from_name.len, tell->from_name.data,
                   tell->from_game.len, tell->from_game.data,
                   tell->to_name.len, tell->to_name.data);

    h = bb->core->tells.elts;

    for (i = 0; i < bb->core->tells.nelts; i++) {

        if (tell->to_name.state != NGX_GRAPEVINE_PROTO_SET
            || tell->to_name.len != h[i]->to.len
            || ngx_strncasecmp(tell->to_name.data, h[i]->to.data,
                               h[i]->to.len)
               != 0)
        {
            continue;
        }

        if (tell->from_game.state != NGX_GRAPEVINE_PROTO_SET
            || tell->from_name.state != NGX_GRAPEVINE_PROTO_SET
            || tell->message.state != NGX_GRAPEVINE_PROTO_SET
            || tell->from_game.len == 0 || tell->from_name.len == 0)
        {
            ngx_log_error(NGX_LOG_INFO, bb->log, 0,
                          "grapevine hub: a tell to %V without a sender or "
                          "a message, ignored", &h[i]->to);
            continue;
        }

        bq = ngx_grapevine_bq_create(bb, h[i]->sql,
                                     ngx_grapevine_backbone_told);
        if (bq == NULL) {
            return;
        }

        /* the proto strings are NUL-terminated in the frame's pool */

        bq->values[0] = ngx_grapevine_bq_copy(bq, tell->from_game.data,
                                              tell->from_game.len);
        bq->values[1] = ngx_grapevine_bq_copy(bq, tell->from_name.data,
                                              tell->from_name.len);
        bq->values[2] = ngx_grapevine_bq_copy(bq, tell->message.data,
                                              tell->message.len);
        bq->values[3] = ngx_grapevine_bq_copy(bq, bb->core->name.data,
                                              bb->core->name.len);

        if (bq->values[0] == NULL || bq->values[1] == NULL
            || bq->values[2] == NULL || bq->values[3] == NULL)
        {
            ngx_destroy_pool(bq->pool);
            return;
        }

        bq->q.nparams = 4;

        if (ngx_grapevine_bq_run(bq) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, bb->log, 0,
                          "grapevine hub: the tell from %s@%s is lost",
                          bq->values[1], bq->values[0]);
        }
    }
}


static void
ngx_grapevine_backbone_told(ngx_grapevine_bq_t *bq, PGresult *res)
{
    int  i, n;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_ERR, bq->bb->log, 0,
                      "grapevine hub: the tell from %s@%s failed: %V",
                      bq->values[1], bq->values[0], &bq->q.error);
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, bq->bb->log, 0,
                       "grapevine hub: the tell from %s@%s answered: %s",
                       bq->values[1], bq->values[0], PQgetvalue(res, i, 0));
    }
}
