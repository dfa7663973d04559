
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * What the hub sends, into the database: each event one statement on the
 * dedicated connection (so one transaction), in the order received; the
 * hub is read no faster than the database writes.  And tells to players
 * of this deployment, to the handlers registered with core.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_backbone.h"


#define NGX_GRAPEVINE_INGEST_PAUSE     64
#define NGX_GRAPEVINE_INGEST_RESUME    16


static void ngx_grapevine_backbone_ingested(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_told(ngx_grapevine_bq_t *bq,
    PGresult *res);


void
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
