
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


/*
 * The Backbone: in worker 0 of every nginx instance, a dedicated database
 * connection competes for a PostgreSQL advisory lock; the holder owns the
 * one hub link of the deployment.  Frames from the hub are parsed by the
 * protocol layer and written by backbone_ingest() (migrations/0002) on
 * that connection, one event per statement, so one transaction each.
 * Frames for the hub are rows of hub_outbox, sent by the owner in order.
 */


#define NGX_GRAPEVINE_BACKBONE_KINDS  4


typedef struct ngx_grapevine_backbone_s  ngx_grapevine_backbone_t;

struct ngx_grapevine_backbone_s {
    ngx_grapevine_hub_t          hub;
    ngx_grapevine_hub_conf_t    *conf;
    ngx_grapevine_main_conf_t   *core;
    ngx_grapevine_pg_pool_t     *db;          /* dedicated, one connection */
    ngx_log_t                   *log;

    ngx_uint_t                   owner;
    ngx_uint_t                   locking;
    ngx_event_t                  lock_retry;
    ngx_event_t                  quiet;       /* syncing -> live */
    ngx_event_t                  report;      /* hub_status writer */
    ngx_uint_t                   report_busy;
    ngx_uint_t                   report_dirty;

    ngx_uint_t                   synced[NGX_GRAPEVINE_BACKBONE_KINDS];
    ngx_uint_t                   skipped;
    ngx_uint_t                   auth_failures;
    ngx_uint_t                   ingest_waiting;
    ngx_uint_t                   paused;      /* rx flow control */

    ngx_uint_t                   outbox_busy;
    ngx_uint_t                   outbox_again;
    int64_t                      outbox_last;
    ngx_array_t                  outbox_sent; /* of int64_t */
    ngx_uint_t                   marking;
};


extern ngx_module_t  ngx_http_grapevine_backbone_module;


ngx_int_t ngx_grapevine_backbone_init_process(ngx_cycle_t *cycle,
    ngx_grapevine_hub_conf_t *hc);
void ngx_grapevine_backbone_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_GRAPEVINE_BACKBONE_H_INCLUDED_ */
