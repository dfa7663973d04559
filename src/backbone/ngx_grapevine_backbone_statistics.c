
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * Players online over time: at the start of every slot of
 * grapevine_statistics_interval (aligned to the clock: slots start at
 * multiples of the interval since the epoch, so every instance names the
 * same slots), the owner of the hub link, while the link is live, records
 * each game's players online and the network's total
 * (sql/backbone/backbone_statistics_record.sql); the first write of a
 * slot wins.  The same transaction keeps the charts' points ready
 * (sql/backbone/backbone_statistics_keep.sql: the slot's step read again
 * for the games that have a row in it, their kept rows moved on), so that
 * a page reads a row or two.  A slot that starts while the link or the
 * database is away is not recorded: a gap, never a zero (and the kept
 * points are then stale: the pages compute theirs from the rows until the
 * next slot recorded).  Then old rows are pruned in
 * batches, each its own short statement, one after the other on the
 * dedicated connection (sql/backbone/backbone_statistics_prune.sql).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_backbone.h"


#define NGX_GRAPEVINE_STATS_BATCH   1000    /* rows a pruning statement */
#define NGX_GRAPEVINE_STATS_PAUSE   100     /* ms between two of them */
#define NGX_GRAPEVINE_STATS_LATE    50      /* ms after the slot's start */


static void ngx_grapevine_backbone_recorded(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_prune(ngx_event_t *ev);
static void ngx_grapevine_backbone_pruned(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_next_slot(ngx_grapevine_backbone_t *bb);


void
ngx_grapevine_backbone_statistics_init(ngx_grapevine_backbone_t *bb)
{
    ngx_grapevine_timer_init(&bb->stats, ngx_grapevine_backbone_record,
                             bb, bb->log);

    ngx_grapevine_timer_init(&bb->stats_prune, ngx_grapevine_backbone_prune,
                             bb, bb->log);

    ngx_grapevine_backbone_next_slot(bb);
}


void
ngx_grapevine_backbone_statistics_exit(ngx_grapevine_backbone_t *bb)
{
    if (bb->stats.timer_set) {
        ngx_del_timer(&bb->stats);
    }

    if (bb->stats_prune.timer_set) {
        ngx_del_timer(&bb->stats_prune);
    }
}


/* the timer fires just after the start of the next slot */

static void
ngx_grapevine_backbone_next_slot(ngx_grapevine_backbone_t *bb)
{
    time_t         interval, into;
    ngx_msec_t     wait;
    ngx_time_t    *tp;

    tp = ngx_timeofday();
    interval = bb->conf->stats_interval;
    into = tp->sec % interval;

    wait = (ngx_msec_t) (interval - into) * 1000 - tp->msec
           + NGX_GRAPEVINE_STATS_LATE;

    ngx_add_timer(&bb->stats, wait);
}


void
ngx_grapevine_backbone_record(ngx_event_t *ev)
{
    u_char                    *p;
    time_t                     slot, interval;
    ngx_grapevine_bq_t        *bq;
    ngx_grapevine_backbone_t  *bb;

    bb = ev->data;

    if (ngx_exiting || ngx_quit) {
        return;
    }

    interval = bb->conf->stats_interval;
    slot = ngx_time() - ngx_time() % interval;

    ngx_grapevine_backbone_next_slot(bb);

    if (!bb->owner || bb->hub.state != NGX_GRAPEVINE_HUB_LIVE) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                       "grapevine hub: statistics: slot %T not recorded, "
                       "the link is not live here", slot);
        return;
    }

    bq = ngx_grapevine_bq_create(bb,
             "SELECT backbone_statistics_record(to_timestamp($1::bigint), "
             "$2::integer)",
             ngx_grapevine_backbone_recorded);
    if (bq == NULL) {
        return;
    }

    p = ngx_pnalloc(bq->pool, 2 * (NGX_TIME_T_LEN + 1));
    if (p == NULL) {
        ngx_destroy_pool(bq->pool);
        return;
    }

    bq->values[0] = (const char *) p;
    p = ngx_sprintf(p, "%T", slot);
    *p++ = '\0';

    bq->values[1] = (const char *) p;
    p = ngx_sprintf(p, "%T", interval);
    *p++ = '\0';

    bq->q.nparams = 2;
    bq->q.values = bq->values;

    (void) ngx_grapevine_bq_run(bq);
}


static void
ngx_grapevine_backbone_recorded(ngx_grapevine_bq_t *bq, PGresult *res)
{
    ngx_grapevine_backbone_t  *bb;

    bb = bq->bb;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: statistics: the slot was not "
                      "recorded: %s",
                      res ? PQresultErrorMessage(res) : "no answer");
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                   "grapevine hub: statistics: %s rows recorded",
                   PQgetvalue(res, 0, 0));

    if (!bb->stats_prune.timer_set) {
        ngx_add_timer(&bb->stats_prune, 1);
    }
}


static void
ngx_grapevine_backbone_prune(ngx_event_t *ev)
{
    u_char                    *p;
    ngx_grapevine_bq_t        *bq;
    ngx_grapevine_backbone_t  *bb;

    bb = ev->data;

    if (ngx_exiting || ngx_quit || !bb->owner) {
        return;
    }

    bq = ngx_grapevine_bq_create(bb,
             "SELECT backbone_statistics_prune("
             "make_interval(secs => $1::bigint), "
             "make_interval(secs => $2::bigint), $3::integer)",
             ngx_grapevine_backbone_pruned);
    if (bq == NULL) {
        return;
    }

    p = ngx_pnalloc(bq->pool, 3 * (NGX_TIME_T_LEN + 1));
    if (p == NULL) {
        ngx_destroy_pool(bq->pool);
        return;
    }

    bq->values[0] = (const char *) p;
    p = ngx_sprintf(p, "%T", bb->conf->stats_keep);
    *p++ = '\0';

    bq->values[1] = (const char *) p;
    p = ngx_sprintf(p, "%T", bb->conf->stats_keep_hourly);
    *p++ = '\0';

    bq->values[2] = (const char *) p;
    p = ngx_sprintf(p, "%d", NGX_GRAPEVINE_STATS_BATCH);
    *p++ = '\0';

    bq->q.nparams = 3;
    bq->q.values = bq->values;

    (void) ngx_grapevine_bq_run(bq);
}


/* a full batch: there may be more, a moment later */

static void
ngx_grapevine_backbone_pruned(ngx_grapevine_bq_t *bq, PGresult *res)
{
    ngx_int_t                  n;
    ngx_grapevine_backbone_t  *bb;

    bb = bq->bb;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_WARN, bb->log, 0,
                      "grapevine hub: statistics: pruning failed: %s",
                      res ? PQresultErrorMessage(res) : "no answer");
        return;
    }

    n = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                 PQgetlength(res, 0, 0));

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, bb->log, 0,
                   "grapevine hub: statistics: %i old rows pruned", n);

    if (n >= NGX_GRAPEVINE_STATS_BATCH && !bb->stats_prune.timer_set
        && !ngx_exiting && !ngx_quit)
    {
        ngx_add_timer(&bb->stats_prune, NGX_GRAPEVINE_STATS_PAUSE);
    }
}
