
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_BACKBONE_H_INCLUDED_
#define _NGX_GRAPEVINE_BACKBONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_hub.h"
#include "ngx_grapevine_protocol.h"
#include "ngx_grapevine_metrics.h"


/*
 * The Backbone: in worker 0 of every nginx instance, a dedicated database
 * connection competes for a PostgreSQL advisory lock; the holder owns the
 * one hub link of the deployment.  Frames from the hub are parsed and
 * checked by the protocol layer and written by the functions of
 * sql/backbone/ on that connection, one event per statement, so one
 * transaction each.
 * Frames for the hub are rows of hub_outbox, sent by the owner in order.
 *
 *   ngx_grapevine_backbone.c         ownership, the hub's events, queries
 *   ngx_grapevine_backbone_ingest.c  events and tells into the database
 *   ngx_grapevine_backbone_outbox.c  hub_outbox to the hub
 *   ngx_grapevine_backbone_status.c  the hub_status row and its /_status
 *   ngx_grapevine_backbone_statistics.c
 *                                    players online over time, recorded
 */


#define NGX_GRAPEVINE_BACKBONE_KINDS  4

/*
 * The defaults of grapevine_hub_send_rate: below the hub's 10 at once and
 * 2 a second, with 2 frames to spare for a network that delays some and
 * delivers them together (a second of jitter at 2 a second).
 */
#define NGX_GRAPEVINE_OUTBOX_RATE     2000    /* 2r/s, in thousandths */
#define NGX_GRAPEVINE_OUTBOX_BURST    8


typedef struct ngx_grapevine_backbone_s  ngx_grapevine_backbone_t;
typedef struct ngx_grapevine_bq_s        ngx_grapevine_bq_t;

typedef void (*ngx_grapevine_bq_pt)(ngx_grapevine_bq_t *bq, PGresult *res);

struct ngx_grapevine_backbone_s {
    ngx_grapevine_hub_t          hub;
    ngx_grapevine_hub_conf_t    *conf;
    ngx_grapevine_main_conf_t   *core;
    ngx_grapevine_pg_pool_t     *db;          /* dedicated, one connection */
    ngx_log_t                   *log;

    ngx_uint_t                   owner;
    ngx_uint_t                   started;     /* the owner's link */
    ngx_uint_t                   locking;
    ngx_event_t                  lock_retry;
    ngx_event_t                  quiet;       /* syncing -> live */
    ngx_event_t                  report;      /* hub_status writer */
    ngx_uint_t                   report_busy;
    ngx_uint_t                   report_dirty;
    ngx_event_t                  stats;       /* the next slot */
    ngx_event_t                  stats_prune;

    ngx_uint_t                   synced[NGX_GRAPEVINE_BACKBONE_KINDS];
    ngx_uint_t                   skipped;     /* records */
    ngx_uint_t                   rejected;    /* frames */
    ngx_uint_t                   auth_failures;
    ngx_uint_t                   ingest_waiting;
    ngx_uint_t                   paused;      /* rx flow control */

    ngx_uint_t                   outbox_busy;
    ngx_uint_t                   outbox_again;
    int64_t                      outbox_last;
    ngx_array_t                  outbox_sent; /* of int64_t */
    ngx_uint_t                   marking;

    ngx_event_t                  pace;        /* channels/send's turn */
    ngx_uint_t                   tokens;      /* thousandths of a frame */
    ngx_msec_t                   tokens_at;
};


/* a query on the dedicated connection, with a pool for its memory */

struct ngx_grapevine_bq_s {
    ngx_grapevine_pg_query_t      q;
    ngx_pool_t                   *pool;
    ngx_grapevine_backbone_t     *bb;
    ngx_grapevine_bq_pt           done;
    const char                   *values[5];
    const char                   *event;       /* ingest: its name */
    ngx_int_t                     kind;        /* sync kind, or -1 */
    ngx_uint_t                    records;
    ngx_uint_t                    ingest;
    ngx_msec_t                    received;    /* ingest: the frame came */
};


/* the Backbone's metrics (ngx_grapevine_backbone_status.c) */

typedef enum {
    NGX_GRAPEVINE_BB_LINK_UP = 0,
    NGX_GRAPEVINE_BB_LINK_STATE,
    NGX_GRAPEVINE_BB_OWNER,
    NGX_GRAPEVINE_BB_RECONNECTS,
    NGX_GRAPEVINE_BB_RECEIVED,
    NGX_GRAPEVINE_BB_SENT,
    NGX_GRAPEVINE_BB_REJECTED,
    NGX_GRAPEVINE_BB_INGESTED,
    NGX_GRAPEVINE_BB_SKIPPED,
    NGX_GRAPEVINE_BB_INGEST_TIME,
    NGX_GRAPEVINE_BB_OUTBOX_BACKLOG,
    NGX_GRAPEVINE_BB_OUTBOX_AGE,
    NGX_GRAPEVINE_BB_METRICS
} ngx_grapevine_bb_metric_e;

extern ngx_grapevine_metric_t  ngx_grapevine_bb_metrics[];

#define ngx_grapevine_bb_metric(m)  (&ngx_grapevine_bb_metrics[m])


extern ngx_module_t  ngx_http_grapevine_backbone_module;


ngx_int_t ngx_grapevine_backbone_init_process(ngx_cycle_t *cycle,
    ngx_grapevine_hub_conf_t *hc);
void ngx_grapevine_backbone_exit_process(ngx_cycle_t *cycle);

ngx_grapevine_bq_t *ngx_grapevine_bq_create(ngx_grapevine_backbone_t *bb,
    const char *sql, ngx_grapevine_bq_pt done);
ngx_int_t ngx_grapevine_bq_run(ngx_grapevine_bq_t *bq);
void *ngx_grapevine_bq_alloc(void *ctx, size_t size);
const char *ngx_grapevine_bq_copy(ngx_grapevine_bq_t *bq, u_char *data,
    size_t len);

void ngx_grapevine_backbone_ingest(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_event_t *ev, ngx_pool_t *pool);
void ngx_grapevine_backbone_tell(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_tell_t *tell);

void ngx_grapevine_backbone_notify(ngx_grapevine_pg_pool_t *pool,
    PGnotify *n);
void ngx_grapevine_backbone_outbox(ngx_grapevine_backbone_t *bb);
void ngx_grapevine_backbone_mark_sent(ngx_grapevine_backbone_t *bb);
void ngx_grapevine_backbone_pace(ngx_event_t *ev);

ngx_int_t ngx_grapevine_backbone_add_status(ngx_conf_t *cf,
    ngx_grapevine_hub_conf_t *hc);
void ngx_grapevine_backbone_dirty(ngx_grapevine_backbone_t *bb);
ngx_int_t ngx_grapevine_backbone_metrics(ngx_conf_t *cf);
void ngx_grapevine_backbone_state_metrics(ngx_grapevine_backbone_t *bb);
void ngx_grapevine_backbone_frame_sent(ngx_uint_t type, u_char *name,
    size_t len);
void ngx_grapevine_backbone_report(ngx_event_t *ev);

void ngx_grapevine_backbone_statistics_init(ngx_grapevine_backbone_t *bb);
void ngx_grapevine_backbone_statistics_exit(ngx_grapevine_backbone_t *bb);
void ngx_grapevine_backbone_record(ngx_event_t *ev);


#endif /* _NGX_GRAPEVINE_BACKBONE_H_INCLUDED_ */
