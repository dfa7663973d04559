
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_HUB_H_INCLUDED_
#define _NGX_GRAPEVINE_HUB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_grapevine_uv.h"


/*
 * The WebSocket link to the Gossip hub: libwebsockets on a libuv loop that
 * nginx's event loop runs (ngx_grapevine_uv.c).  It connects, reconnects
 * with backoff and jitter, queues frames to send, delivers whole received
 * frames (size bounded), and notices a silent link.  What the frames mean
 * is the Backbone's business.
 */


#define NGX_GRAPEVINE_HUB_SYNC_AUTO      0
#define NGX_GRAPEVINE_HUB_SYNC_PUSH      1
#define NGX_GRAPEVINE_HUB_SYNC_VERSIONS  2


typedef enum {
    NGX_GRAPEVINE_HUB_IDLE = 0,        /* not the owner, or stopped */
    NGX_GRAPEVINE_HUB_CONNECTING,
    NGX_GRAPEVINE_HUB_AUTHENTICATING,
    NGX_GRAPEVINE_HUB_SYNCING,
    NGX_GRAPEVINE_HUB_LIVE,
    NGX_GRAPEVINE_HUB_BACKOFF
} ngx_grapevine_hub_state_e;


typedef struct ngx_grapevine_hub_conf_s {
    ngx_str_t                   url;
    ngx_uint_t                  tls;
    ngx_str_t                   host;          /* NUL-terminated */
    ngx_str_t                   address;       /* resolved, NUL-terminated */
    in_port_t                   port;
    ngx_str_t                   path;          /* NUL-terminated */
    ngx_str_t                   client_id;
    ngx_str_t                   client_secret;
    ngx_str_t                   ca_file;       /* NUL-terminated */
    ngx_uint_t                  sync;
    ngx_str_t                   name;
    size_t                      max_frame;
    size_t                      max_message;
    ngx_msec_t                  heartbeat;
    ngx_uint_t                  send_rate;     /* thousandths a second */
    ngx_uint_t                  send_burst;
    time_t                      stats_interval;    /* seconds */
    time_t                      stats_keep;
    time_t                      stats_keep_hourly;
} ngx_grapevine_hub_conf_t;


typedef struct ngx_grapevine_hub_s  ngx_grapevine_hub_t;

typedef void (*ngx_grapevine_hub_pt)(ngx_grapevine_hub_t *hub);
typedef void (*ngx_grapevine_hub_frame_pt)(ngx_grapevine_hub_t *hub,
    u_char *data, size_t len);
typedef void (*ngx_grapevine_hub_sent_pt)(ngx_grapevine_hub_t *hub,
    int64_t tag);


struct ngx_grapevine_hub_s {
    ngx_grapevine_hub_conf_t   *conf;
    ngx_log_t                  *log;
    void                       *data;

    ngx_grapevine_hub_state_e   state;         /* set_state() changes it */
    uint64_t                    retry_at;      /* BACKOFF: epoch msec */
    ngx_uint_t                  reconnects;
    ngx_uint_t                  oversized;     /* frames dropped */
    time_t                      last_frame;    /* seconds */
    ngx_msec_t                  last_frame_ms;
    ngx_str_t                   last_error;
    u_char                      error_buf[256];

    /* called from the transport; on_change: what /_status shows changed */
    ngx_grapevine_hub_pt        on_change;
    ngx_grapevine_hub_pt        on_established;
    ngx_grapevine_hub_frame_pt  on_frame;
    ngx_grapevine_hub_pt        on_closed;
    ngx_grapevine_hub_sent_pt   on_sent;

    /* private */
    ngx_grapevine_uv_t          uv;
    void                       *ctx;           /* struct lws_context */
    void                       *wsi;           /* struct lws */
    void                       *foreign[1];
    ngx_event_t                 reconnect;
    ngx_event_t                 watchdog;
    ngx_uint_t                  link_error;    /* error set on this link */
    ngx_uint_t                  wanted;        /* start() called */
    ngx_uint_t                  exiting;
    ngx_msec_t                  backoff;
    ngx_msec_t                  next_delay;    /* overrides the backoff */

    ngx_queue_t                 out;
    ngx_uint_t                  nout;

    u_char                     *rx;
    size_t                      rx_len;
    ngx_uint_t                  rx_overflow;
};


ngx_int_t ngx_grapevine_hub_init(ngx_grapevine_hub_t *hub,
    ngx_cycle_t *cycle);
void ngx_grapevine_hub_start(ngx_grapevine_hub_t *hub);
void ngx_grapevine_hub_set_state(ngx_grapevine_hub_t *hub,
    ngx_grapevine_hub_state_e state);
void ngx_grapevine_hub_stop(ngx_grapevine_hub_t *hub, const char *why);
void ngx_grapevine_hub_drop(ngx_grapevine_hub_t *hub, const char *why,
    ngx_msec_t delay);
ngx_int_t ngx_grapevine_hub_send(ngx_grapevine_hub_t *hub, u_char *data,
    size_t len, int64_t tag);
void ngx_grapevine_hub_flow(ngx_grapevine_hub_t *hub, ngx_uint_t on);
void ngx_grapevine_hub_error(ngx_grapevine_hub_t *hub, const char *fmt,
    ...);
void ngx_grapevine_hub_destroy(ngx_grapevine_hub_t *hub);

const char *ngx_grapevine_hub_state_name(ngx_grapevine_hub_state_e state);


#endif /* _NGX_GRAPEVINE_HUB_H_INCLUDED_ */
