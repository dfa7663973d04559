
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_backbone.h"


#define NGX_GRAPEVINE_LOCK_SQL                                                \
    "SELECT pg_try_advisory_lock(hashtext('ngx_grapevine hub'))"

#define NGX_GRAPEVINE_LOCK_RETRY       2000
#define NGX_GRAPEVINE_QUIET            1500
#define NGX_GRAPEVINE_REPORT_EVERY     5000
#define NGX_GRAPEVINE_AUTH_BACKOFF     30000
#define NGX_GRAPEVINE_AUTH_BACKOFF_MAX 600000
#define NGX_GRAPEVINE_RESTART_DEFAULT  15
#define NGX_GRAPEVINE_INGEST_PAUSE     64
#define NGX_GRAPEVINE_INGEST_RESUME    16
#define NGX_GRAPEVINE_INGEST_QUEUE     65536
#define NGX_GRAPEVINE_OUTBOX_BATCH     100


/* a query on the dedicated connection, with a pool for its memory */

typedef struct ngx_grapevine_bq_s  ngx_grapevine_bq_t;

typedef void (*ngx_grapevine_bq_pt)(ngx_grapevine_bq_t *bq, PGresult *res);

struct ngx_grapevine_bq_s {
    ngx_grapevine_pg_query_t      q;
    ngx_pool_t                   *pool;
    ngx_grapevine_backbone_t     *bb;
    ngx_grapevine_bq_pt           done;
    const char                   *values[4];
    ngx_int_t                     kind;        /* sync kind, or -1 */
    ngx_uint_t                    records;
    ngx_uint_t                    ingest;
};


static const char  *ngx_grapevine_kind_names[] = {
    "channels", "games", "events", "achievements"
};

/* the hub owner candidate of this process (worker 0), or NULL */
static ngx_grapevine_backbone_t  *ngx_grapevine_backbone;


static ngx_grapevine_bq_t *ngx_grapevine_bq_create(
    ngx_grapevine_backbone_t *bb, const char *sql, ngx_grapevine_bq_pt done);
static ngx_int_t ngx_grapevine_bq_run(ngx_grapevine_bq_t *bq);
static void ngx_grapevine_bq_handler(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static void *ngx_grapevine_bq_alloc(void *ctx, size_t size);
static const char *ngx_grapevine_bq_copy(ngx_grapevine_bq_t *bq,
    u_char *data, size_t len);

static void ngx_grapevine_backbone_connected(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_backbone_broken(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_backbone_notify(ngx_grapevine_pg_pool_t *pool,
    PGnotify *n);
static void ngx_grapevine_backbone_lock(ngx_event_t *ev);
static void ngx_grapevine_backbone_locked(ngx_grapevine_bq_t *bq,
    PGresult *res);

static void ngx_grapevine_backbone_established(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_backbone_frame(ngx_grapevine_hub_t *hub,
    u_char *data, size_t len);
static void ngx_grapevine_backbone_closed(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_backbone_sent(ngx_grapevine_hub_t *hub,
    int64_t tag);

static void ngx_grapevine_backbone_tell(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_tell_t *tell);
static void ngx_grapevine_backbone_told(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_authenticated(
    ngx_grapevine_backbone_t *bb, ngx_grapevine_proto_event_t *ev);
static void ngx_grapevine_backbone_since(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_ingest(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_event_t *ev, ngx_pool_t *pool, u_char *data,
    size_t len);
static void ngx_grapevine_backbone_ingested(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_send(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_str_t *frame, int64_t tag);
static void ngx_grapevine_backbone_live(ngx_event_t *ev);

static void ngx_grapevine_backbone_outbox(ngx_grapevine_backbone_t *bb);
static void ngx_grapevine_backbone_outbox_rows(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_mark_sent(ngx_grapevine_backbone_t *bb);
static void ngx_grapevine_backbone_marked(ngx_grapevine_bq_t *bq,
    PGresult *res);

static void ngx_grapevine_backbone_dirty(ngx_grapevine_backbone_t *bb);
static void ngx_grapevine_backbone_report(ngx_event_t *ev);
static void ngx_grapevine_backbone_reported(ngx_grapevine_bq_t *bq,
    PGresult *res);


ngx_int_t
ngx_grapevine_backbone_init_process(ngx_cycle_t *cycle,
    ngx_grapevine_hub_conf_t *hc)
{
    ngx_grapevine_backbone_t   *bb;
    ngx_grapevine_main_conf_t  *gmcf;

    ngx_grapevine_backbone = NULL;

    gmcf = ngx_grapevine_cycle_conf(cycle);

    /* one candidate per instance: worker 0, never a cache helper */

    if (gmcf->db == NULL || ngx_worker != 0
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    bb = ngx_pcalloc(cycle->pool, sizeof(ngx_grapevine_backbone_t));
    if (bb == NULL) {
        return NGX_ERROR;
    }

    bb->conf = hc;
    bb->core = gmcf;
    bb->log = cycle->log;

    if (ngx_array_init(&bb->outbox_sent, cycle->pool, 64, sizeof(int64_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_grapevine_timer_init(&bb->lock_retry, ngx_grapevine_backbone_lock,
                             bb, cycle->log);

    ngx_grapevine_timer_init(&bb->quiet, ngx_grapevine_backbone_live,
                             bb, cycle->log);

    ngx_grapevine_timer_init(&bb->report, ngx_grapevine_backbone_report,
                             bb, cycle->log);

    bb->hub.conf = hc;
    bb->hub.data = bb;
    bb->hub.on_established = ngx_grapevine_backbone_established;
    bb->hub.on_frame = ngx_grapevine_backbone_frame;
    bb->hub.on_closed = ngx_grapevine_backbone_closed;
    bb->hub.on_sent = ngx_grapevine_backbone_sent;

    if (ngx_grapevine_hub_init(&bb->hub, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    bb->db = ngx_grapevine_pg_pool_create(cycle, gmcf->db, 1, NULL);
    if (bb->db == NULL) {
        return NGX_ERROR;
    }

    /*
     * reading from the hub pauses long before this fills up: frames that
     * lws has already read still need a place
     */
    bb->db->queue_size = NGX_GRAPEVINE_INGEST_QUEUE;

    bb->db->data = bb;
    bb->db->on_connect = ngx_grapevine_backbone_connected;
    bb->db->on_broken = ngx_grapevine_backbone_broken;
    bb->db->on_notify = ngx_grapevine_backbone_notify;

    ngx_grapevine_backbone = bb;

    /*
     * The connection's coming up asks for the lock at once; the timer
     * asks again until this process owns the link, whatever happens to
     * the connection meanwhile.
     */

    ngx_add_timer(&bb->lock_retry, NGX_GRAPEVINE_LOCK_RETRY);

    ngx_grapevine_pg_pool_start(bb->db);

    return NGX_OK;
}


void
ngx_grapevine_backbone_exit_process(ngx_cycle_t *cycle)
{
    ngx_grapevine_backbone_t  *bb;

    bb = ngx_grapevine_backbone;
    if (bb == NULL) {
        return;
    }

    ngx_grapevine_backbone = NULL;

    if (bb->lock_retry.timer_set) {
        ngx_del_timer(&bb->lock_retry);
    }

    if (bb->quiet.timer_set) {
        ngx_del_timer(&bb->quiet);
    }

    if (bb->report.timer_set) {
        ngx_del_timer(&bb->report);
    }

    ngx_grapevine_hub_destroy(&bb->hub);

    /* closing the connection releases the lock for the next owner */
    ngx_grapevine_pg_pool_destroy(bb->db);
}


/* ----------------------------------------------------------- ownership */


static void
ngx_grapevine_backbone_connected(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_backbone_t  *bb;

    bb = pc->pool->data;

    if (!bb->owner && !bb->locking) {
        ngx_grapevine_backbone_lock(&bb->lock_retry);
    }
}


static void
ngx_grapevine_backbone_broken(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_backbone_t  *bb;

    bb = pc->pool->data;

    bb->locking = 0;

    if (!bb->owner) {
        return;
    }

    /* the lock went with the connection */

    bb->owner = 0;
    bb->report_busy = 0;
    bb->outbox_busy = 0;
    bb->marking = 0;
    bb->ingest_waiting = 0;

    ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                  "grapevine hub: the database went away; the hub link "
                  "waits for it");

    ngx_grapevine_hub_error(&bb->hub, "the database is unavailable");
    ngx_grapevine_hub_stop(&bb->hub, "the database is unavailable");
}


static void
ngx_grapevine_backbone_lock(ngx_event_t *ev)
{
    ngx_grapevine_bq_t        *bq;
    ngx_grapevine_backbone_t  *bb;

    bb = ev->data;

    if (bb->owner || ngx_exiting || ngx_quit) {
        return;
    }

    /* whatever comes of this attempt, the next one is due */

    if (!bb->lock_retry.timer_set) {
        ngx_add_timer(&bb->lock_retry, NGX_GRAPEVINE_LOCK_RETRY);
    }

    if (bb->locking) {
        return;
    }

    bq = ngx_grapevine_bq_create(bb, NGX_GRAPEVINE_LOCK_SQL,
                                 ngx_grapevine_backbone_locked);
    if (bq == NULL) {
        return;
    }

    bb->locking = 1;

    if (ngx_grapevine_bq_run(bq) != NGX_OK) {
        bb->locking = 0;
    }
}


static void
ngx_grapevine_backbone_locked(ngx_grapevine_bq_t *bq, PGresult *res)
{
    ngx_grapevine_bq_t        *listen;
    ngx_grapevine_backbone_t  *bb;

    bb = bq->bb;
    bb->locking = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK
        || PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't')
    {
        /* another process owns the hub link; try again later */

        if (!bb->lock_retry.timer_set && !ngx_exiting && !ngx_quit) {
            ngx_add_timer(&bb->lock_retry, NGX_GRAPEVINE_LOCK_RETRY);
        }

        return;
    }

    bb->owner = 1;

    if (bb->lock_retry.timer_set) {
        ngx_del_timer(&bb->lock_retry);
    }

    ngx_log_error(NGX_LOG_NOTICE, bb->log, 0,
                  "grapevine hub: this process owns the hub link");

    listen = ngx_grapevine_bq_create(bb, "LISTEN grapevine_outbox", NULL);
    if (listen) {
        (void) ngx_grapevine_bq_run(listen);
    }

    ngx_grapevine_hub_start(&bb->hub);
    ngx_grapevine_backbone_dirty(bb);
}


/* ---------------------------------------------------------- hub events */


static void
ngx_grapevine_backbone_established(ngx_grapevine_hub_t *hub)
{
    u_char                             *p;
    ngx_pool_t                         *pool;
    ngx_grapevine_arena_t               arena;
    ngx_grapevine_proto_str_t           frame, supports[4];
    ngx_grapevine_proto_error_t         err;
    ngx_grapevine_backbone_t           *bb;
    ngx_grapevine_proto_auth_request_t  req;

    bb = hub->data;
    bb->outbox_last = 0;

    pool = ngx_create_pool(4096, bb->log);
    if (pool == NULL) {
        return;
    }

    arena.alloc = ngx_grapevine_bq_alloc;
    arena.ctx = pool;

    ngx_memzero(&req, sizeof(ngx_grapevine_proto_auth_request_t));

    req.client_id.data = bb->conf->client_id.data;
    req.client_id.len = bb->conf->client_id.len;
    req.client_secret.data = bb->conf->client_secret.data;
    req.client_secret.len = bb->conf->client_secret.len;

    supports[0].data = (u_char *) "channels";
    supports[0].len = 8;
    supports[1].data = (u_char *) "players";
    supports[1].len = 7;
    supports[2].data = (u_char *) "tells";
    supports[2].len = 5;
    supports[3].data = (u_char *) "games";
    supports[3].len = 5;

    req.supports.elts = supports;
    req.supports.nelts = 4;
    req.supports.state = NGX_GRAPEVINE_PROTO_SET;

    p = (u_char *) "ngx_grapevine/" NGX_GRAPEVINE_VERSION;
    req.user_agent.data = p;
    req.user_agent.len = ngx_strlen(p);

    if (ngx_grapevine_proto_build_authenticate(&arena, &req, &frame, &err)
        == NGX_GRAPEVINE_PROTO_OK)
    {
        ngx_grapevine_backbone_send(bb, &frame, 0);

    } else {
        ngx_log_error(NGX_LOG_ALERT, bb->log, 0,
                      "grapevine hub: cannot build authenticate: %s",
                      err.msg);
    }

    ngx_destroy_pool(pool);

    ngx_grapevine_backbone_dirty(bb);
}


static void
ngx_grapevine_backbone_frame(ngx_grapevine_hub_t *hub, u_char *data,
    size_t len)
{
    int                            rc;
    ngx_int_t                      downtime;
    ngx_pool_t                    *pool;
    ngx_grapevine_arena_t          arena;
    ngx_grapevine_backbone_t      *bb;
    ngx_grapevine_proto_str_t      frame, player;
    ngx_grapevine_proto_error_t    err;
    ngx_grapevine_proto_event_t   *ev;
    ngx_grapevine_proto_limits_t   limits;

    bb = hub->data;

    pool = ngx_create_pool(4096, bb->log);
    if (pool == NULL) {
        return;
    }

    ev = ngx_palloc(pool, sizeof(ngx_grapevine_proto_event_t));
    if (ev == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    arena.alloc = ngx_grapevine_bq_alloc;
    arena.ctx = pool;

    ngx_grapevine_proto_limits_init(&limits);
    limits.max_frame_size = bb->conf->max_frame;

    rc = ngx_grapevine_proto_parse(data, len, &limits, &arena, ev, &err);

    if (ngx_grapevine_proto_frame_error(rc)) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: frame rejected (%uz bytes): %s",
                      len, err.msg);
        ngx_destroy_pool(pool);
        return;
    }

    if (rc == NGX_GRAPEVINE_PROTO_EINVALID) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: event ignored: %s", err.msg);
        ngx_destroy_pool(pool);
        return;
    }

    switch (ev->type) {

    case NGX_GRAPEVINE_PROTO_EV_HEARTBEAT:
        player.data = (u_char *) "system";
        player.len = 6;

        if (ngx_grapevine_proto_build_heartbeat(&arena, &player, 1, &frame,
                                                &err)
            == NGX_GRAPEVINE_PROTO_OK)
        {
            ngx_grapevine_backbone_send(bb, &frame, 0);
        }

        break;

    case NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE:
        ngx_grapevine_backbone_authenticated(bb, ev);
        break;

    case NGX_GRAPEVINE_PROTO_EV_RESTART:
        downtime = NGX_GRAPEVINE_RESTART_DEFAULT;

        if (ev->u.restart.downtime.state == NGX_GRAPEVINE_PROTO_SET
            && ev->u.restart.downtime.value > 0
            && ev->u.restart.downtime.value < 3600)
        {
            downtime = ev->u.restart.downtime.value;
        }

        ngx_log_error(NGX_LOG_NOTICE, bb->log, 0,
                      "grapevine hub: the hub restarts, reconnecting in "
                      "about %i s", downtime);

        hub->next_delay = downtime * 1000;
        break;

    case NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_GAMES:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_EVENTS:
    case NGX_GRAPEVINE_PROTO_EV_SYNC_ACHIEVEMENTS:
        if (bb->hub.state == NGX_GRAPEVINE_HUB_LIVE) {
            /* a live update: stay live */
            ngx_grapevine_backbone_ingest(bb, ev, pool, data, len);
            return;
        }

        if (bb->hub.state == NGX_GRAPEVINE_HUB_SYNCING) {
            ngx_add_timer(&bb->quiet, NGX_GRAPEVINE_QUIET);
        }

        ngx_grapevine_backbone_ingest(bb, ev, pool, data, len);
        return;

    case NGX_GRAPEVINE_PROTO_EV_CHANNELS_BROADCAST:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_IN:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_SIGN_OUT:
    case NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_CONNECT:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_DISCONNECT:
    case NGX_GRAPEVINE_PROTO_EV_GAMES_STATUS:
        if (ev->status == NGX_GRAPEVINE_PROTO_STATUS_FAILURE) {
            break;
        }

        ngx_grapevine_backbone_ingest(bb, ev, pool, data, len);
        return;

    case NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE:
        ngx_grapevine_backbone_tell(bb, &ev->u.tell);
        break;

    case NGX_GRAPEVINE_PROTO_EV_FAILURE:
        /* e.g. a push-only hub answering our "sync" */
        ngx_log_error(NGX_LOG_INFO, bb->log, 0,
                      "grapevine hub: the hub reports a failure: %s",
                      ev->error.data ? (char *) ev->error.data : "unknown");
        break;

    default:
        if (ev->status == NGX_GRAPEVINE_PROTO_STATUS_FAILURE) {
            ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                          "grapevine hub: %s failed: %s",
                          ev->event.data ? (char *) ev->event.data : "?",
                          ev->error.data ? (char *) ev->error.data : "?");
        }

        break;
    }

    ngx_destroy_pool(pool);
}


static void
ngx_grapevine_backbone_closed(ngx_grapevine_hub_t *hub)
{
    ngx_grapevine_backbone_t  *bb;

    bb = hub->data;

    if (bb->quiet.timer_set) {
        ngx_del_timer(&bb->quiet);
    }

    if (bb->paused) {
        bb->paused = 0;
    }

    bb->outbox_sent.nelts = 0;

    ngx_grapevine_backbone_dirty(bb);
}


static void
ngx_grapevine_backbone_sent(ngx_grapevine_hub_t *hub, int64_t tag)
{
    int64_t                   *id;
    ngx_grapevine_backbone_t  *bb;

    bb = hub->data;

    id = ngx_array_push(&bb->outbox_sent);
    if (id == NULL) {
        return;
    }

    *id = tag;

    ngx_grapevine_backbone_mark_sent(bb);
}


static void
ngx_grapevine_backbone_authenticated(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_event_t *ev)
{
    ngx_msec_t           delay;
    ngx_grapevine_bq_t  *bq;

    if (ev->status != NGX_GRAPEVINE_PROTO_STATUS_SUCCESS) {
        bb->auth_failures++;

        delay = NGX_GRAPEVINE_AUTH_BACKOFF << ngx_min(bb->auth_failures - 1,
                                                      5);
        if (delay > NGX_GRAPEVINE_AUTH_BACKOFF_MAX) {
            delay = NGX_GRAPEVINE_AUTH_BACKOFF_MAX;
        }

        ngx_grapevine_hub_error(&bb->hub, "authentication failed: %s",
                                ev->error.data ? (char *) ev->error.data
                                               : "no reason given");

        ngx_log_error(NGX_LOG_ERR, bb->log, 0,
                      "grapevine hub: the hub refused our credentials (%s); "
                      "check grapevine_hub_client_id and the secret file; "
                      "retrying in %M s",
                      ev->error.data ? (char *) ev->error.data : "no reason",
                      delay / 1000);

        ngx_grapevine_hub_drop(&bb->hub, NULL, delay);
        ngx_grapevine_backbone_dirty(bb);
        return;
    }

    bb->auth_failures = 0;
    bb->hub.backoff = 0;
    bb->hub.state = NGX_GRAPEVINE_HUB_SYNCING;

    ngx_log_error(NGX_LOG_NOTICE, bb->log, 0,
                  "grapevine hub: authenticated, syncing");

    ngx_add_timer(&bb->quiet, NGX_GRAPEVINE_QUIET);

    if (bb->conf->sync != NGX_GRAPEVINE_HUB_SYNC_PUSH) {
        bq = ngx_grapevine_bq_create(bb, "SELECT backbone_since()",
                                     ngx_grapevine_backbone_since);
        if (bq) {
            (void) ngx_grapevine_bq_run(bq);
        }
    }

    ngx_grapevine_backbone_outbox(bb);
    ngx_grapevine_backbone_dirty(bb);
}


static void
ngx_grapevine_backbone_since(ngx_grapevine_bq_t *bq, PGresult *res)
{
    ngx_grapevine_arena_t         arena;
    ngx_grapevine_backbone_t     *bb;
    ngx_grapevine_proto_str_t     frame, since, ref, game;
    ngx_grapevine_proto_error_t   err;

    bb = bq->bb;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        return;     /* the database went away: a new link resyncs */
    }

    arena.alloc = ngx_grapevine_bq_alloc;
    arena.ctx = bq->pool;

    since.data = NULL;
    since.len = 0;

    if (!PQgetisnull(res, 0, 0)) {
        since.data = (u_char *) PQgetvalue(res, 0, 0);
        since.len = PQgetlength(res, 0, 0);
    }

    ref.data = (u_char *) "ngx-grapevine-sync";
    ref.len = sizeof("ngx-grapevine-sync") - 1;

    if (ngx_grapevine_proto_build_sync(&arena, &ref, &since, &frame, &err)
        == NGX_GRAPEVINE_PROTO_OK)
    {
        ngx_log_error(NGX_LOG_INFO, bb->log, 0,
                      "grapevine hub: sync since %s",
                      since.data ? (char *) since.data : "the beginning");

        ngx_grapevine_backbone_send(bb, &frame, 0);
    }

    /* who is online now: one reply per game */

    ref.data = (u_char *) "ngx-grapevine-presence";
    ref.len = sizeof("ngx-grapevine-presence") - 1;
    game.data = NULL;
    game.len = 0;

    if (ngx_grapevine_proto_build_players_status(&arena, &ref, &game, &frame,
                                                 &err)
        == NGX_GRAPEVINE_PROTO_OK)
    {
        ngx_grapevine_backbone_send(bb, &frame, 0);
    }
}


static void
ngx_grapevine_backbone_ingest(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_event_t *ev, ngx_pool_t *pool, u_char *data,
    size_t len)
{
    u_char              *copy;
    ngx_grapevine_bq_t  *bq;

    bq = ngx_pcalloc(pool, sizeof(ngx_grapevine_bq_t));
    copy = ngx_pnalloc(pool, len + 1);

    if (bq == NULL || copy == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_memcpy(copy, data, len);
    copy[len] = '\0';

    bq->pool = pool;
    bq->bb = bb;
    bq->done = ngx_grapevine_backbone_ingested;
    bq->ingest = 1;
    bq->kind = -1;
    bq->values[0] = (char *) copy;
    bq->q.sql = "SELECT * FROM backbone_ingest($1::jsonb)";
    bq->q.nparams = 1;
    bq->q.values = bq->values;

    if (ev->type >= NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS
        && ev->type <= NGX_GRAPEVINE_PROTO_EV_SYNC_ACHIEVEMENTS)
    {
        bq->kind = ev->type - NGX_GRAPEVINE_PROTO_EV_SYNC_CHANNELS;
        bq->records = ev->u.sync.nrecords;
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


static void
ngx_grapevine_backbone_ingested(ngx_grapevine_bq_t *bq, PGresult *res)
{
    int                        i, n;
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
                      "grapevine hub: an event could not be stored: %V",
                      &bq->q.error);
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: record skipped: %s",
                      PQgetvalue(res, i, 0));
    }

    bb->skipped += n;

    if (bq->kind >= 0 && bq->records >= (ngx_uint_t) n) {
        bb->synced[bq->kind] += bq->records - n;
        ngx_grapevine_backbone_dirty(bb);
    }
}


static void
ngx_grapevine_backbone_send(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_str_t *frame, int64_t tag)
{
    (void) ngx_grapevine_hub_send(&bb->hub, frame->data, frame->len, tag);
}


static void
ngx_grapevine_backbone_live(ngx_event_t *ev)
{
    ngx_grapevine_backbone_t  *bb;

    bb = ev->data;

    if (bb->hub.state == NGX_GRAPEVINE_HUB_SYNCING) {
        bb->hub.state = NGX_GRAPEVINE_HUB_LIVE;

        ngx_log_error(NGX_LOG_NOTICE, bb->log, 0,
                      "grapevine hub: live");

        ngx_grapevine_backbone_dirty(bb);
    }
}


/* -------------------------------------------------------------- outbox */


static void
ngx_grapevine_backbone_notify(ngx_grapevine_pg_pool_t *pool, PGnotify *n)
{
    ngx_grapevine_backbone_t  *bb;

    bb = pool->data;

    if (ngx_strcmp(n->relname, "grapevine_outbox") == 0) {
        ngx_grapevine_backbone_outbox(bb);
    }
}


static void
ngx_grapevine_backbone_outbox(ngx_grapevine_backbone_t *bb)
{
    u_char              *p;
    ngx_grapevine_bq_t  *bq;

    if (!bb->owner || bb->hub.state < NGX_GRAPEVINE_HUB_SYNCING
        || bb->hub.state == NGX_GRAPEVINE_HUB_BACKOFF)
    {
        return;
    }

    if (bb->outbox_busy) {
        bb->outbox_again = 1;
        return;
    }

    bq = ngx_grapevine_bq_create(bb,
             "SELECT id, frame::text FROM hub_outbox "
             "WHERE sent_at IS NULL AND id > $1 ORDER BY id LIMIT 100",
             ngx_grapevine_backbone_outbox_rows);
    if (bq == NULL) {
        return;
    }

    p = ngx_pnalloc(bq->pool, NGX_INT64_LEN + 1);
    if (p == NULL) {
        ngx_destroy_pool(bq->pool);
        return;
    }

    *ngx_sprintf(p, "%L", bb->outbox_last) = '\0';

    bq->values[0] = (char *) p;
    bq->q.nparams = 1;

    bb->outbox_busy = 1;
    bb->outbox_again = 0;

    if (ngx_grapevine_bq_run(bq) != NGX_OK) {
        bb->outbox_busy = 0;
    }
}


static void
ngx_grapevine_backbone_outbox_rows(ngx_grapevine_bq_t *bq, PGresult *res)
{
    int                        i, n;
    int64_t                    id;
    ngx_grapevine_backbone_t  *bb;

    bb = bq->bb;
    bb->outbox_busy = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        id = ngx_atoof((u_char *) PQgetvalue(res, i, 0),
                       PQgetlength(res, i, 0));

        if (ngx_grapevine_hub_send(&bb->hub, (u_char *) PQgetvalue(res, i, 1),
                                   PQgetlength(res, i, 1), id)
            != NGX_OK)
        {
            return;     /* the link is down: sent on the next one */
        }

        bb->outbox_last = id;
    }

    if (n == NGX_GRAPEVINE_OUTBOX_BATCH || bb->outbox_again) {
        ngx_grapevine_backbone_outbox(bb);
    }
}


static void
ngx_grapevine_backbone_mark_sent(ngx_grapevine_backbone_t *bb)
{
    u_char              *p;
    int64_t             *ids;
    ngx_uint_t           i;
    ngx_grapevine_bq_t  *bq;

    if (bb->marking || bb->outbox_sent.nelts == 0) {
        return;
    }

    bq = ngx_grapevine_bq_create(bb,
             "UPDATE hub_outbox SET sent_at = now() "
             "WHERE id = ANY ($1::bigint[]) AND sent_at IS NULL",
             ngx_grapevine_backbone_marked);
    if (bq == NULL) {
        return;
    }

    p = ngx_pnalloc(bq->pool, bb->outbox_sent.nelts * (NGX_INT64_LEN + 1)
                              + 3);
    if (p == NULL) {
        ngx_destroy_pool(bq->pool);
        return;
    }

    bq->values[0] = (char *) p;
    bq->q.nparams = 1;

    *p++ = '{';
    ids = bb->outbox_sent.elts;

    for (i = 0; i < bb->outbox_sent.nelts; i++) {
        p = ngx_sprintf(p, i ? ",%L" : "%L", ids[i]);
    }

    *p++ = '}';
    *p = '\0';

    bb->outbox_sent.nelts = 0;
    bb->marking = 1;

    if (ngx_grapevine_bq_run(bq) != NGX_OK) {
        bb->marking = 0;
    }
}


static void
ngx_grapevine_backbone_marked(ngx_grapevine_bq_t *bq, PGresult *res)
{
    bq->bb->marking = 0;

    ngx_grapevine_backbone_mark_sent(bq->bb);
}


/* ------------------------------------------------------------ reporting */


static void
ngx_grapevine_backbone_dirty(ngx_grapevine_backbone_t *bb)
{
    bb->report_dirty = 1;

    if (!bb->report.timer_set && !bb->report_busy) {
        ngx_add_timer(&bb->report, 200);
    }
}


/* the owner's view of the link, for grapevine_status in any process */

static void
ngx_grapevine_backbone_report(ngx_event_t *ev)
{
    u_char                    *p, *last;
    ngx_uint_t                 i;
    ngx_grapevine_bq_t        *bq;
    ngx_grapevine_backbone_t  *bb;

    bb = ev->data;

    if (ngx_exiting || ngx_quit) {
        return;
    }

    if (!bb->owner || bb->report_busy) {
        ngx_add_timer(&bb->report, NGX_GRAPEVINE_REPORT_EVERY);
        return;
    }

    bq = ngx_grapevine_bq_create(bb,
             "INSERT INTO hub_status AS s (id, state, owner_pid, instance, "
             "last_frame_at, synced, reconnects, last_error, updated_at) "
             "VALUES (1, $1, $2, $3, to_timestamp(nullif($4, '0')::bigint), "
             "$5::jsonb, $6, nullif($7, ''), now()) "
             "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
             "owner_pid = excluded.owner_pid, instance = excluded.instance, "
             "last_frame_at = excluded.last_frame_at, "
             "synced = excluded.synced, reconnects = excluded.reconnects, "
             "last_error = excluded.last_error, updated_at = now()",
             ngx_grapevine_backbone_reported);
    if (bq == NULL) {
        return;
    }

    p = ngx_pnalloc(bq->pool, 1024 + bb->hub.last_error.len);
    if (p == NULL) {
        ngx_destroy_pool(bq->pool);
        return;
    }

    last = p + 1024 + bb->hub.last_error.len;

    bq->q.nparams = 7;
    bq->q.values = ngx_pcalloc(bq->pool, 7 * sizeof(char *));
    if (bq->q.values == NULL) {
        ngx_destroy_pool(bq->pool);
        return;
    }

    ((const char **) bq->q.values)[0] = ngx_grapevine_hub_state_name(
                                                            bb->hub.state);

    ((const char **) bq->q.values)[1] = (char *) p;
    p = ngx_slprintf(p, last, "%P", ngx_pid);
    *p++ = '\0';

    ((const char **) bq->q.values)[2] = (char *) p;
    p = ngx_slprintf(p, last, "%V:%P", &ngx_cycle->hostname, getppid());
    *p++ = '\0';

    ((const char **) bq->q.values)[3] = (char *) p;
    p = ngx_slprintf(p, last, "%T", bb->hub.last_frame);
    *p++ = '\0';

    ((const char **) bq->q.values)[4] = (char *) p;
    *p++ = '{';

    for (i = 0; i < NGX_GRAPEVINE_BACKBONE_KINDS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%ui", i ? "," : "",
                         ngx_grapevine_kind_names[i], bb->synced[i]);
    }

    p = ngx_slprintf(p, last, ",\"skipped\":%ui}", bb->skipped);
    *p++ = '\0';

    ((const char **) bq->q.values)[5] = (char *) p;
    p = ngx_slprintf(p, last, "%ui", bb->hub.reconnects);
    *p++ = '\0';

    ((const char **) bq->q.values)[6] = (char *) p;
    p = ngx_slprintf(p, last, "%V", &bb->hub.last_error);
    *p++ = '\0';

    bb->report_busy = 1;
    bb->report_dirty = 0;

    if (ngx_grapevine_bq_run(bq) != NGX_OK) {
        bb->report_busy = 0;
    }

    ngx_add_timer(&bb->report, NGX_GRAPEVINE_REPORT_EVERY);
}


static void
ngx_grapevine_backbone_reported(ngx_grapevine_bq_t *bq, PGresult *res)
{
    ngx_grapevine_backbone_t  *bb;

    bb = bq->bb;
    bb->report_busy = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: could not record the link's status: %V",
                      &bq->q.error);
    }

    if (bb->report_dirty && bb->owner) {
        if (bb->report.timer_set) {
            ngx_del_timer(&bb->report);
        }

        ngx_add_timer(&bb->report, 200);
    }
}


/* --------------------------------------------------------------- tells */


/*
 * A tell to a player of this deployment: each handler registered with
 * core for that player runs its statement on this connection, behind the
 * events received before the tell (a game that just connected is known
 * by then).
 */

static void
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


/* ------------------------------------------------------------- queries */


static ngx_grapevine_bq_t *
ngx_grapevine_bq_create(ngx_grapevine_backbone_t *bb, const char *sql,
    ngx_grapevine_bq_pt done)
{
    ngx_pool_t          *pool;
    ngx_grapevine_bq_t  *bq;

    pool = ngx_create_pool(1024, bb->log);
    if (pool == NULL) {
        return NULL;
    }

    bq = ngx_pcalloc(pool, sizeof(ngx_grapevine_bq_t));
    if (bq == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    bq->pool = pool;
    bq->bb = bb;
    bq->done = done;
    bq->kind = -1;
    bq->q.sql = sql;
    bq->q.values = bq->values;

    return bq;
}


/* NGX_OK: bq->done will be called; otherwise bq is gone already */

static ngx_int_t
ngx_grapevine_bq_run(ngx_grapevine_bq_t *bq)
{
    ngx_int_t  rc;

    bq->q.handler = ngx_grapevine_bq_handler;
    bq->q.data = bq;

    rc = ngx_grapevine_pg_query(bq->bb->db, &bq->q);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        return NGX_OK;
    }

    if (bq->ingest && bq->bb->ingest_waiting) {
        bq->bb->ingest_waiting--;
    }

    ngx_log_error(NGX_LOG_WARN, bq->bb->log, 0,
                  "grapevine hub: database busy or away: %V", &bq->q.error);

    ngx_destroy_pool(bq->pool);

    return NGX_ERROR;
}


static void
ngx_grapevine_bq_handler(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_grapevine_bq_t  *bq;

    bq = q->data;

    if (bq->done) {
        bq->done(bq, res);
    }

    ngx_destroy_pool(bq->pool);
}


static void *
ngx_grapevine_bq_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* a NUL-terminated copy in the query's pool */

static const char *
ngx_grapevine_bq_copy(ngx_grapevine_bq_t *bq, u_char *data, size_t len)
{
    u_char  *p;

    p = ngx_pnalloc(bq->pool, len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, data, len);
    p[len] = '\0';

    return (const char *) p;
}
