
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * The Backbone's owner and the hub's events: worker 0 competes for the
 * advisory lock, the holder starts the hub link, answers heartbeats,
 * authenticates, asks for a sync, and hands the events to the ingest.
 * And the queries on the dedicated connection that all of it uses.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_backbone.h"


#define NGX_GRAPEVINE_LOCK_SQL                                                \
    "SELECT pg_try_advisory_lock(hashtext('ngx_grapevine hub'))"

/*
 * What the previous owner recorded: the deployment's count of links that
 * ended, and whether its link was up (then it ended with that owner)
 */
#define NGX_GRAPEVINE_RESUME_SQL                                              \
    "SELECT reconnects, state IN ('connecting', 'authenticating', "           \
    "'syncing', 'live') FROM hub_status"

#define NGX_GRAPEVINE_LOCK_RETRY       2000
#define NGX_GRAPEVINE_QUIET            1500
#define NGX_GRAPEVINE_AUTH_BACKOFF     30000
#define NGX_GRAPEVINE_AUTH_BACKOFF_MAX 600000
#define NGX_GRAPEVINE_RESTART_DEFAULT  15
#define NGX_GRAPEVINE_INGEST_QUEUE     65536


/* the hub owner candidate of this process (worker 0), or NULL */
static ngx_grapevine_backbone_t  *ngx_grapevine_backbone;


static void ngx_grapevine_backbone_connected(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_backbone_broken(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_backbone_lock(ngx_event_t *ev);
static void ngx_grapevine_backbone_locked(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_resume(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_changed(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_backbone_established(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_backbone_frame(ngx_grapevine_hub_t *hub,
    u_char *data, size_t len);
static void ngx_grapevine_backbone_closed(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_backbone_sent(ngx_grapevine_hub_t *hub,
    int64_t tag);
static void ngx_grapevine_backbone_authenticated(
    ngx_grapevine_backbone_t *bb, ngx_grapevine_proto_event_t *ev);
static void ngx_grapevine_backbone_unasked(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_event_t *ev);
static void ngx_grapevine_backbone_since(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_ask_presence(ngx_grapevine_backbone_t *bb,
    ngx_pool_t *pool);
static void ngx_grapevine_backbone_send(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_str_t *frame, ngx_uint_t type);
static void ngx_grapevine_backbone_live(ngx_event_t *ev);
static void ngx_grapevine_bq_handler(ngx_grapevine_pg_query_t *q,
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

    ngx_grapevine_timer_init(&bb->pace, ngx_grapevine_backbone_pace,
                             bb, cycle->log);

    bb->tokens = hc->send_burst * 1000;
    bb->tokens_at = ngx_current_msec;

    ngx_grapevine_backbone_statistics_init(bb);

    bb->hub.conf = hc;
    bb->hub.data = bb;
    bb->hub.on_change = ngx_grapevine_backbone_changed;
    bb->hub.on_established = ngx_grapevine_backbone_established;
    bb->hub.on_frame = ngx_grapevine_backbone_frame;
    bb->hub.on_closed = ngx_grapevine_backbone_closed;
    bb->hub.on_sent = ngx_grapevine_backbone_sent;

    if (ngx_grapevine_hub_init(&bb->hub, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a worker 0 that starts (or starts again after a crash) has no link */

    ngx_grapevine_backbone_state_metrics(bb);

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

    if (bb->owner) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                       "grapevine hub: this process gives up the hub link");
    }

    if (bb->lock_retry.timer_set) {
        ngx_del_timer(&bb->lock_retry);
    }

    if (bb->quiet.timer_set) {
        ngx_del_timer(&bb->quiet);
    }

    if (bb->report.timer_set) {
        ngx_del_timer(&bb->report);
    }

    if (bb->pace.timer_set) {
        ngx_del_timer(&bb->pace);
    }

    ngx_grapevine_backbone_statistics_exit(bb);

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
    ngx_grapevine_backbone_state_metrics(bb);
    bb->started = 0;
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
    ngx_grapevine_bq_t        *listen, *resume;
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
    ngx_grapevine_backbone_state_metrics(bb);

    if (bb->lock_retry.timer_set) {
        ngx_del_timer(&bb->lock_retry);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                   "grapevine hub: this process owns the hub link");

    listen = ngx_grapevine_bq_create(bb, "LISTEN grapevine_outbox", NULL);
    if (listen) {
        (void) ngx_grapevine_bq_run(listen);
    }

    /* the link starts once the deployment's count is known */

    resume = ngx_grapevine_bq_create(bb, NGX_GRAPEVINE_RESUME_SQL,
                                     ngx_grapevine_backbone_resume);

    if (resume == NULL || ngx_grapevine_bq_run(resume) != NGX_OK) {
        ngx_grapevine_backbone_resume(NULL, NULL);
    }
}


/*
 * The link is the deployment's, whichever process owns it: its count of
 * links that ended goes on from what the previous owner recorded, plus
 * the link that ended with that owner (a kill, a reload, the database
 * gone), if one was up.  Without the row (a new database, or the query
 * failed) this process's own count goes on.  bq is NULL when the query
 * could not be sent.
 */

static void
ngx_grapevine_backbone_resume(ngx_grapevine_bq_t *bq, PGresult *res)
{
    char                      *v;
    ngx_int_t                  n;
    ngx_grapevine_backbone_t  *bb;

    bb = bq ? bq->bb : ngx_grapevine_backbone;

    if (bb == NULL || !bb->owner || bb->started) {
        /* the lock went with the connection meanwhile */
        return;
    }

    if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK
        && PQntuples(res) == 1 && PQnfields(res) == 2
        && !PQgetisnull(res, 0, 0) && !PQgetisnull(res, 0, 1))
    {
        v = PQgetvalue(res, 0, 0);
        n = ngx_atoi((u_char *) v, ngx_strlen(v));

        if (n != NGX_ERROR) {
            bb->hub.reconnects = n + (PQgetvalue(res, 0, 1)[0] == 't');
        }
    }

    bb->started = 1;

    ngx_grapevine_hub_start(&bb->hub);
    ngx_grapevine_backbone_dirty(bb);
}


/* ---------------------------------------------------------- hub events */


static void
ngx_grapevine_backbone_changed(ngx_grapevine_hub_t *hub)
{
    if (hub->state == NGX_GRAPEVINE_HUB_BACKOFF) {
        ngx_grapevine_metric_inc(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_RECONNECTS), 0);
    }

    ngx_grapevine_backbone_state_metrics(hub->data);
    ngx_grapevine_backbone_dirty(hub->data);
}


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
        ngx_grapevine_backbone_send(bb, &frame,
                                    NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE);

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
    limits.max_message = bb->conf->max_message;

    rc = ngx_grapevine_proto_parse(data, len, &limits, &arena, ev, &err);

    if (ngx_grapevine_proto_frame_error(rc)) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: frame rejected (%uz bytes): %s",
                      len, err.msg);
        bb->rejected++;
        ngx_grapevine_metric_inc(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_REJECTED), 0);
        ngx_grapevine_backbone_dirty(bb);
        ngx_destroy_pool(pool);
        return;
    }

    if (rc == NGX_GRAPEVINE_PROTO_EINVALID) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: event ignored: %s", err.msg);
        bb->rejected++;
        ngx_grapevine_metric_inc(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_REJECTED), 0);
        ngx_grapevine_backbone_dirty(bb);
        ngx_destroy_pool(pool);
        return;
    }

    ngx_grapevine_metric_inc(
        ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_RECEIVED),
        ev->type ? (ngx_uint_t) ev->type - 1
                 : NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE);

    switch (ev->type) {

    case NGX_GRAPEVINE_PROTO_EV_HEARTBEAT:
        player.data = (u_char *) "system";
        player.len = 6;

        if (ngx_grapevine_proto_build_heartbeat(&arena, &player, 1, &frame,
                                                &err)
            == NGX_GRAPEVINE_PROTO_OK)
        {
            ngx_grapevine_backbone_send(bb, &frame,
                                        NGX_GRAPEVINE_PROTO_EV_HEARTBEAT);
        }

        break;

    case NGX_GRAPEVINE_PROTO_EV_AUTHENTICATE:
        if (hub->state != NGX_GRAPEVINE_HUB_AUTHENTICATING) {
            ngx_grapevine_backbone_unasked(bb, ev);
            break;
        }

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

        ngx_log_error(NGX_LOG_INFO, bb->log, 0,
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
            ngx_grapevine_backbone_ingest(bb, ev, pool);
            return;
        }

        if (bb->hub.state == NGX_GRAPEVINE_HUB_SYNCING) {
            ngx_add_timer(&bb->quiet, NGX_GRAPEVINE_QUIET);
        }

        ngx_grapevine_backbone_ingest(bb, ev, pool);
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

        ngx_grapevine_backbone_ingest(bb, ev, pool);
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
    ngx_pool_t          *pool;
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

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                   "grapevine hub: authenticated, syncing");

    ngx_grapevine_hub_set_state(&bb->hub, NGX_GRAPEVINE_HUB_SYNCING);

    ngx_add_timer(&bb->quiet, NGX_GRAPEVINE_QUIET);

    if (bb->conf->sync != NGX_GRAPEVINE_HUB_SYNC_PUSH) {
        /* ask for what is newer than we have, then who is online */

        bq = ngx_grapevine_bq_create(bb, "SELECT backbone_since()",
                                     ngx_grapevine_backbone_since);
        if (bq) {
            (void) ngx_grapevine_bq_run(bq);
        }

    } else {
        /* the hub pushed its records before this reply */

        pool = ngx_create_pool(1024, bb->log);
        if (pool) {
            ngx_grapevine_backbone_ask_presence(bb, pool);
            ngx_destroy_pool(pool);
        }
    }

    ngx_grapevine_backbone_outbox(bb);
    ngx_grapevine_backbone_dirty(bb);
}


/*
 * An authenticate reply when the link is past its login (syncing, live):
 * the answer to nothing we sent.  A refusal now would drop a working link
 * for half a minute and more, a success would start the sync again; it
 * is logged and ignored.  A hub that means to end the link closes it.
 */

static void
ngx_grapevine_backbone_unasked(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_event_t *ev)
{
    const char  *status, *sep, *error;

    switch (ev->status) {

    case NGX_GRAPEVINE_PROTO_STATUS_SUCCESS:
        status = "success";
        break;

    case NGX_GRAPEVINE_PROTO_STATUS_FAILURE:
        status = "failure";
        break;

    case NGX_GRAPEVINE_PROTO_STATUS_OTHER:
        status = "an unknown status";
        break;

    default:
        status = "no status";
        break;
    }

    sep = "";
    error = "";

    if (ev->error.state == NGX_GRAPEVINE_PROTO_SET) {
        sep = ": ";
        error = (const char *) ev->error.data;
    }

    ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                  "grapevine hub: an authenticate reply the link did not "
                  "ask for (%s%s%s), ignored", status, sep, error);
}


static void
ngx_grapevine_backbone_since(ngx_grapevine_bq_t *bq, PGresult *res)
{
    ngx_grapevine_arena_t         arena;
    ngx_grapevine_backbone_t     *bb;
    ngx_grapevine_proto_str_t     frame, since, ref;
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
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                       "grapevine hub: resync since %s",
                       since.data ? (char *) since.data : "the beginning");

        ngx_grapevine_backbone_send(bb, &frame,
                                    NGX_GRAPEVINE_PROTO_EV_SYNC);
    }

    ngx_grapevine_backbone_ask_presence(bb, bq->pool);
}


/*
 * Who is online now: one players/status reply per game online.  Asked
 * after the records (the hub answers in order), in every sync mode.
 */

static void
ngx_grapevine_backbone_ask_presence(ngx_grapevine_backbone_t *bb,
    ngx_pool_t *pool)
{
    ngx_grapevine_arena_t         arena;
    ngx_grapevine_proto_str_t     frame, ref, game;
    ngx_grapevine_proto_error_t   err;

    arena.alloc = ngx_grapevine_bq_alloc;
    arena.ctx = pool;

    ref.data = (u_char *) "ngx-grapevine-presence";
    ref.len = sizeof("ngx-grapevine-presence") - 1;
    game.data = NULL;
    game.len = 0;

    if (ngx_grapevine_proto_build_players_status(&arena, &ref, &game, &frame,
                                                 &err)
        == NGX_GRAPEVINE_PROTO_OK)
    {
        ngx_grapevine_backbone_send(bb, &frame,
                                    NGX_GRAPEVINE_PROTO_EV_PLAYERS_STATUS);
    }
}


static void
ngx_grapevine_backbone_send(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_str_t *frame, ngx_uint_t type)
{
    if (ngx_grapevine_hub_send(&bb->hub, frame->data, frame->len, 0)
        == NGX_OK)
    {
        ngx_grapevine_backbone_frame_sent(type, NULL, 0);
    }
}


static void
ngx_grapevine_backbone_live(ngx_event_t *ev)
{
    ngx_grapevine_backbone_t  *bb;

    bb = ev->data;

    if (bb->hub.state == NGX_GRAPEVINE_HUB_SYNCING) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                       "grapevine hub: no sync event for a while: live");

        ngx_grapevine_hub_set_state(&bb->hub, NGX_GRAPEVINE_HUB_LIVE);
    }
}


/* ------------------------------------------------------------- queries */


ngx_grapevine_bq_t *
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

ngx_int_t
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


void *
ngx_grapevine_bq_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* a NUL-terminated copy in the query's pool */

const char *
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

