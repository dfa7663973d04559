
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * The owner's view of the link, in the one row of hub_status (refreshed
 * every 5 s, and soon after a change), and the "hub" member of /_status
 * that any worker of any instance writes from it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_backbone.h"
#include "ngx_grapevine_json.h"


#define NGX_GRAPEVINE_REPORT_EVERY     5000

#define NGX_GRAPEVINE_HUB_STATUS_SQL                                          \
    "SELECT state, owner_pid, instance, "                                     \
    "to_char(last_frame_at AT TIME ZONE 'UTC', "                              \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), synced::text, reconnects, "          \
    "last_error, to_char(retry_at AT TIME ZONE 'UTC', "                       \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                                 \
    "to_char(updated_at AT TIME ZONE 'UTC', "                                 \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                                    \
    "floor(extract(epoch FROM now() - updated_at))::bigint "                  \
    "FROM hub_status"

#define NGX_GRAPEVINE_HUB_FIELDS  10

/* hub_status.retry_at came with migrations/0008 */
#define NGX_GRAPEVINE_HUB_SCHEMA  8

/* the owner refreshes its row every 5 s: older means nobody owns the link */
#define NGX_GRAPEVINE_HUB_STALE   15


static const char  *ngx_grapevine_kind_names[] = {
    "channels", "games", "events", "achievements"
};


static void ngx_grapevine_backbone_status(void *json, PGresult *res,
    void *data);
static void ngx_grapevine_backbone_reported(ngx_grapevine_bq_t *bq,
    PGresult *res);


static ngx_grapevine_status_reporter_t  ngx_grapevine_backbone_reporter = {
    "hub", NGX_GRAPEVINE_HUB_STATUS_SQL, NGX_GRAPEVINE_HUB_SCHEMA,
    ngx_grapevine_backbone_status, NULL
};


/*
 * The metrics of the hub link.  The link's gauges are the instance's, set
 * by its worker 0 (the owner, or a candidate that waits for the lock);
 * the outbox's are read with the hub_status row, every 5 s.
 */

static const char *const  ngx_grapevine_bb_states[] = {
    "idle", "connecting", "authenticating", "syncing", "live", "backoff",
    NULL
};

/* the protocol's events (1, 2, ...), then "unknown" (0) */
static const char
    *ngx_grapevine_bb_events[NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE + 2];


ngx_grapevine_metric_t  ngx_grapevine_bb_metrics[] = {

    { "hub_link_up",
      "1 when this instance's hub link is live.",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_link_state",
      "The hub link's state: 1 for the current one.",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, "state",
      ngx_grapevine_bb_states, NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_owner",
      "1 when this instance holds the deployment's hub link.",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_reconnects_total",
      "Hub links that ended and were tried again.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_frames_received_total",
      "Frames received from the hub and parsed, by event.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, "event",
      ngx_grapevine_bb_events, NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_frames_sent_total",
      "Frames handed to the hub link, by event.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, "event",
      ngx_grapevine_bb_events, NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_frames_rejected_total",
      "Frames from the hub dropped (malformed, too large, unusable).",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_records_ingested_total",
      "Records from the hub stored in the database.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_records_skipped_total",
      "Records from the hub skipped as invalid or unknown.",
      NGX_GRAPEVINE_METRIC_COUNTER, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_ingest_duration_seconds",
      "Time from an event's frame to its transaction's end.",
      NGX_GRAPEVINE_METRIC_HISTOGRAM, NULL, NULL, NULL, NULL,
      ngx_grapevine_metric_buckets, NULL, NULL, 0, 0, 0, NULL },

    { "hub_outbox_backlog_frames",
      "Frames in hub_outbox not sent yet (read every 5 s).",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL },

    { "hub_outbox_oldest_age_seconds",
      "Age of the oldest frame in hub_outbox not sent yet (read every 5 s).",
      NGX_GRAPEVINE_METRIC_GAUGE, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, 0, 0, 0, NULL }
};


ngx_int_t
ngx_grapevine_backbone_metrics(ngx_conf_t *cf)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_GRAPEVINE_PROTO_EV_TELLS_RECEIVE; i++) {
        ngx_grapevine_bb_events[i] = ngx_grapevine_proto_type_name(i + 1);
    }

    ngx_grapevine_bb_events[i++] = "unknown";
    ngx_grapevine_bb_events[i] = NULL;

    for (i = 0; i < NGX_GRAPEVINE_BB_METRICS; i++) {
        if (ngx_grapevine_metric_register(cf, &ngx_grapevine_bb_metrics[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the link's state, on every change, and whether this instance owns it */

void
ngx_grapevine_backbone_state_metrics(ngx_grapevine_backbone_t *bb)
{
    ngx_uint_t               i;
    ngx_grapevine_metric_t  *m;

    m = ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_LINK_STATE);

    for (i = 0; i < m->nvalues; i++) {
        ngx_grapevine_metric_set(m, i, i == (ngx_uint_t) bb->hub.state);
    }

    ngx_grapevine_metric_set(ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_LINK_UP),
                             0, bb->hub.state == NGX_GRAPEVINE_HUB_LIVE);
    ngx_grapevine_metric_set(ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_OWNER),
                             0, bb->owner);

    if (!bb->owner) {
        ngx_grapevine_metric_set(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_OUTBOX_BACKLOG), 0, 0);
        ngx_grapevine_metric_set(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_OUTBOX_AGE), 0, 0);
    }
}


/* a frame for the hub: by its type, or by its name (from the outbox) */

void
ngx_grapevine_backbone_frame_sent(ngx_uint_t type, u_char *name, size_t len)
{
    ngx_grapevine_metric_t  *m;

    m = ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_SENT);

    if (name) {
        ngx_grapevine_metric_inc(m, ngx_grapevine_metric_value(m, name, len));
        return;
    }

    ngx_grapevine_metric_inc(m, type ? type - 1 : m->nvalues - 1);
}


ngx_int_t
ngx_grapevine_backbone_add_status(ngx_conf_t *cf,
    ngx_grapevine_hub_conf_t *hc)
{
    ngx_grapevine_backbone_reporter.data = hc;

    return ngx_grapevine_add_status(cf, &ngx_grapevine_backbone_reporter);
}


/*
 * Something /_status shows changed: the row is written within 200 ms
 * (the periodic refresh, up to 5 s away, is brought forward), or as soon
 * as the row being written is (ngx_grapevine_backbone_reported()).
 */

void
ngx_grapevine_backbone_dirty(ngx_grapevine_backbone_t *bb)
{
    bb->report_dirty = 1;

    if (!bb->report_busy) {
        /* a timer due sooner, or within 300 ms of this, is kept */
        ngx_add_timer(&bb->report, 200);
    }
}


/* the owner's view of the link, for grapevine_status in any process */

void
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

    if (!bb->owner || !bb->started || bb->report_busy) {
        ngx_add_timer(&bb->report, NGX_GRAPEVINE_REPORT_EVERY);
        return;
    }

    bq = ngx_grapevine_bq_create(bb,
             "INSERT INTO hub_status AS s (id, state, owner_pid, instance, "
             "last_frame_at, synced, reconnects, last_error, retry_at, "
             "updated_at) "
             "VALUES (1, $1, $2, $3, to_timestamp(nullif($4, '0')::bigint), "
             "$5::jsonb, $6, nullif($7, ''), "
             "to_timestamp(nullif($8, '0')::bigint / 1000.0), now()) "
             "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
             "owner_pid = excluded.owner_pid, instance = excluded.instance, "
             "last_frame_at = excluded.last_frame_at, "
             "synced = excluded.synced, reconnects = excluded.reconnects, "
             "last_error = excluded.last_error, "
             "retry_at = excluded.retry_at, updated_at = now() "
             "RETURNING (SELECT count(*) FROM (SELECT FROM hub_outbox "
             "WHERE sent_at IS NULL LIMIT 1000000) o), "
             "(SELECT coalesce(extract(epoch FROM now() - created_at), 0) "
             "FROM hub_outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1)",
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

    bq->q.nparams = 8;
    bq->q.values = ngx_pcalloc(bq->pool, 8 * sizeof(char *));
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

    p = ngx_slprintf(p, last, ",\"skipped\":%ui,\"rejected\":%ui}",
                     bb->skipped, bb->rejected + bb->hub.oversized);
    *p++ = '\0';

    ((const char **) bq->q.values)[5] = (char *) p;
    p = ngx_slprintf(p, last, "%ui", bb->hub.reconnects);
    *p++ = '\0';

    ((const char **) bq->q.values)[6] = (char *) p;
    p = ngx_slprintf(p, last, "%V", &bb->hub.last_error);
    *p++ = '\0';

    ((const char **) bq->q.values)[7] = (char *) p;
    p = ngx_slprintf(p, last, "%uL", bb->hub.retry_at);
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
    char                      *v;
    u_char                    *dot;
    ngx_int_t                  n;
    ngx_grapevine_backbone_t  *bb;

    bb = bq->bb;
    bb->report_busy = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: could not record the link's status: %V",
                      &bq->q.error);

    } else if (PQntuples(res) == 1 && PQnfields(res) == 2) {
        /* the outbox: its backlog, the age of its oldest frame */

        v = PQgetvalue(res, 0, 0);
        n = ngx_atoi((u_char *) v, ngx_strlen(v));

        ngx_grapevine_metric_set(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_OUTBOX_BACKLOG), 0,
            n == NGX_ERROR ? 0 : n);

        v = PQgetvalue(res, 0, 1);
        dot = ngx_strlchr((u_char *) v, (u_char *) v + ngx_strlen(v), '.');
        n = ngx_atoi((u_char *) v,
                     dot ? (size_t) (dot - (u_char *) v) : ngx_strlen(v));

        ngx_grapevine_metric_set(
            ngx_grapevine_bb_metric(NGX_GRAPEVINE_BB_OUTBOX_AGE), 0,
            n == NGX_ERROR ? 0 : n);
    }

    if (bb->report_dirty && bb->owner) {
        if (bb->report.timer_set) {
            ngx_del_timer(&bb->report);
        }

        ngx_add_timer(&bb->report, 200);
    }
}


/* what the hub owner last reported, for /_status in any process */

static void
ngx_grapevine_backbone_status(void *json, PGresult *res, void *data)
{
    ngx_grapevine_json_t      *j = json;
    ngx_grapevine_hub_conf_t  *hc = data;

    char        *v;
    ngx_int_t    age;
    ngx_str_t    s;
    ngx_uint_t   i;

    static const char  *names[] = {
        "state", "owner_pid", "instance", "last_frame_at", "synced",
        "reconnects", "last_error", "retry_at", "updated_at"
    };

    ngx_grapevine_json_map(j);

    ngx_grapevine_json_key(j, "url");
    ngx_grapevine_json_str(j, &hc->url);
    ngx_grapevine_json_key(j, "name");
    ngx_grapevine_json_str(j, &hc->name);

    if (res == NULL || PQntuples(res) != 1
        || PQnfields(res) != NGX_GRAPEVINE_HUB_FIELDS)
    {
        ngx_grapevine_json_key(j, "state");
        ngx_grapevine_json_cstr(j, "unknown");
        ngx_grapevine_json_map_end(j);
        return;
    }

    v = PQgetvalue(res, 0, 9);
    age = PQgetisnull(res, 0, 9) ? NGX_ERROR
                                 : ngx_atoi((u_char *) v, ngx_strlen(v));

    for (i = 0; i < 9; i++) {
        ngx_grapevine_json_key(j, names[i]);

        if (PQgetisnull(res, 0, i)) {
            ngx_grapevine_json_null(j);
            continue;
        }

        s.data = (u_char *) PQgetvalue(res, 0, i);
        s.len = PQgetlength(res, 0, i);

        switch (i) {

        case 1:
        case 5:
            ngx_grapevine_json_int(j, ngx_atoi(s.data, s.len));
            break;

        case 4:
            /* jsonb text from our own row */
            ngx_grapevine_json_raw(j, &s);
            break;

        default:
            ngx_grapevine_json_str(j, &s);
        }
    }

    ngx_grapevine_json_key(j, "stale");
    ngx_grapevine_json_bool(j, age == NGX_ERROR
                               || age > NGX_GRAPEVINE_HUB_STALE);

    ngx_grapevine_json_map_end(j);
}
