
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * Frames for the hub: any process inserts a row into hub_outbox, a trigger
 * notifies "grapevine_outbox", and the owner sends the pending rows in
 * order and marks them sent once written to the hub.
 *
 * channels/send is paced (grapevine_hub_send_rate), a token bucket below
 * the hub's own limit (10 at once, 2 a second; a socket that keeps going
 * over is closed): a frame without a token stops the batch where it is,
 * and the rows from it on are read again when the next token is due.  The
 * rows wait in the database, so nothing is lost to the pace, and the
 * order stays the outbox's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_backbone.h"


#define NGX_GRAPEVINE_OUTBOX_BATCH     100


static void ngx_grapevine_backbone_outbox_rows(ngx_grapevine_bq_t *bq,
    PGresult *res);
static void ngx_grapevine_backbone_marked(ngx_grapevine_bq_t *bq,
    PGresult *res);
static ngx_int_t ngx_grapevine_backbone_token(ngx_grapevine_backbone_t *bb);


void
ngx_grapevine_backbone_notify(ngx_grapevine_pg_pool_t *pool, PGnotify *n)
{
    ngx_grapevine_backbone_t  *bb;

    bb = pool->data;

    if (ngx_strcmp(n->relname, "grapevine_outbox") == 0) {
        ngx_grapevine_backbone_outbox(bb);
    }
}


void
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
             "SELECT id, frame::text, frame ->> 'event', "
             "frame ->> 'event' = 'channels/send' FROM hub_outbox "
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

        if (PQgetvalue(res, i, 3)[0] == 't'
            && ngx_grapevine_backbone_token(bb) != NGX_OK)
        {
            return;     /* the pace timer reads from this row again */
        }

        if (ngx_grapevine_hub_send(&bb->hub, (u_char *) PQgetvalue(res, i, 1),
                                   PQgetlength(res, i, 1), id)
            != NGX_OK)
        {
            return;     /* the link is down: sent on the next one */
        }

        ngx_grapevine_backbone_frame_sent(0, (u_char *) PQgetvalue(res, i, 2),
                                          PQgetlength(res, i, 2));

        bb->outbox_last = id;
    }

    if (n == NGX_GRAPEVINE_OUTBOX_BATCH || bb->outbox_again) {
        ngx_grapevine_backbone_outbox(bb);
    }
}


/*
 * A channels/send may go now: a token is taken.  Else the pace timer is
 * set for when the next one is due.
 */

static ngx_int_t
ngx_grapevine_backbone_token(ngx_grapevine_backbone_t *bb)
{
    ngx_uint_t   full, rate;
    ngx_msec_t   elapsed, wait;

    full = bb->conf->send_burst * 1000;
    rate = bb->conf->send_rate;

    elapsed = ngx_current_msec - bb->tokens_at;
    bb->tokens_at = ngx_current_msec;

    if (elapsed >= (ngx_msec_t) (full * 1000 / rate)) {
        bb->tokens = full;

    } else {
        bb->tokens = ngx_min(full, bb->tokens + elapsed * rate / 1000);
    }

    if (bb->tokens >= 1000) {
        bb->tokens -= 1000;
        return NGX_OK;
    }

    wait = (1000 - bb->tokens) * 1000 / rate + 1;

    ngx_add_timer(&bb->pace, wait);

    return NGX_AGAIN;
}


void
ngx_grapevine_backbone_pace(ngx_event_t *ev)
{
    ngx_grapevine_backbone_outbox(ev->data);
}


void
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
