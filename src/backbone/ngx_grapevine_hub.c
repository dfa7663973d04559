
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <uv.h>
#include <libwebsockets.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_hub.h"


#define NGX_GRAPEVINE_HUB_BACKOFF_MIN   1000
#define NGX_GRAPEVINE_HUB_BACKOFF_MAX   60000
#define NGX_GRAPEVINE_HUB_MAX_QUEUE     65536


typedef struct {
    ngx_queue_t   queue;
    int64_t       tag;
    size_t        len;
    u_char        buf[1];       /* LWS_PRE bytes, then the frame */
} ngx_grapevine_hub_frame_t;


static void ngx_grapevine_hub_post_pump(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_hub_connect(ngx_event_t *ev);
static void ngx_grapevine_hub_schedule(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_hub_watchdog(ngx_event_t *ev);
static void ngx_grapevine_hub_closed(ngx_grapevine_hub_t *hub);
static void ngx_grapevine_hub_flush_queue(ngx_grapevine_hub_t *hub);
static int ngx_grapevine_hub_callback(struct lws *wsi,
    enum lws_callback_reasons reason, void *user, void *in, size_t len);
static void ngx_grapevine_hub_receive(ngx_grapevine_hub_t *hub,
    struct lws *wsi, u_char *in, size_t len);
static int ngx_grapevine_hub_writeable(ngx_grapevine_hub_t *hub,
    struct lws *wsi);
static void ngx_grapevine_hub_lws_log(int level, const char *line);


static ngx_log_t  *ngx_grapevine_hub_lws_log_target;

static struct lws_protocols  ngx_grapevine_hub_protocols[] = {
    { "gossip", ngx_grapevine_hub_callback, 0, 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};


ngx_int_t
ngx_grapevine_hub_init(ngx_grapevine_hub_t *hub, ngx_cycle_t *cycle)
{
    struct lws_context_creation_info   info;

    hub->log = cycle->log;
    ngx_queue_init(&hub->out);

    if (ngx_grapevine_uv_init(&hub->uv, cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }

    hub->foreign[0] = hub->uv.loop;

    ngx_grapevine_hub_lws_log_target = cycle->log;
    lws_set_log_level(LLL_ERR|LLL_WARN, ngx_grapevine_hub_lws_log);

    ngx_memzero(&info, sizeof(struct lws_context_creation_info));

    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = ngx_grapevine_hub_protocols;
    info.options = LWS_SERVER_OPTION_LIBUV
                   | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = hub->foreign;
    info.fd_limit_per_thread = 16;
    info.uid = -1;
    info.gid = -1;
    info.user = hub;
    info.timeout_secs = 15;
    info.connect_timeout_secs = 10;

    if (hub->conf->tls) {
        info.client_ssl_ca_filepath = (char *) hub->conf->ca_file.data;
    }

    hub->ctx = lws_create_context(&info);

    if (hub->ctx == NULL) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "grapevine hub: lws_create_context() failed "
                      "(is libwebsockets-evlib-uv installed?)");
        ngx_grapevine_uv_close(&hub->uv);
        return NGX_ERROR;
    }

    if (ngx_grapevine_uv_start(&hub->uv) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_grapevine_timer_init(&hub->reconnect, ngx_grapevine_hub_connect,
                             hub, cycle->log);

    ngx_grapevine_timer_init(&hub->watchdog, ngx_grapevine_hub_watchdog,
                             hub, cycle->log);

    hub->state = NGX_GRAPEVINE_HUB_IDLE;

    return NGX_OK;
}


/*
 * Every change of the link's state goes through here: a debug line (see
 * it with "error_log ... debug"), and the owner is told, which records it
 * in hub_status for /_status.
 */

void
ngx_grapevine_hub_set_state(ngx_grapevine_hub_t *hub,
    ngx_grapevine_hub_state_e state)
{
    if (hub->state == state) {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, hub->log, 0,
                   "grapevine hub: %s -> %s",
                   ngx_grapevine_hub_state_name(hub->state),
                   ngx_grapevine_hub_state_name(state));

    hub->state = state;

    if (state != NGX_GRAPEVINE_HUB_BACKOFF) {
        hub->retry_at = 0;
    }

    if (state == NGX_GRAPEVINE_HUB_LIVE) {
        /* what went wrong is over: /_status shows no error while live */
        hub->last_error.len = 0;
        hub->link_error = 0;
    }

    if (hub->on_change) {
        hub->on_change(hub);
    }
}


/* become the one that talks to the hub: connect, and keep connecting */

void
ngx_grapevine_hub_start(ngx_grapevine_hub_t *hub)
{
    if (hub->ctx == NULL || hub->exiting) {
        return;
    }

    hub->wanted = 1;

    if (hub->state == NGX_GRAPEVINE_HUB_IDLE && hub->wsi == NULL
        && !hub->reconnect.timer_set)
    {
        hub->backoff = 0;
        ngx_grapevine_hub_connect(&hub->reconnect);
    }
}


/* stop talking to the hub (ownership lost, or shutting down) */

void
ngx_grapevine_hub_stop(ngx_grapevine_hub_t *hub, const char *why)
{
    if (!hub->wanted) {
        return;
    }

    hub->wanted = 0;

    if (hub->reconnect.timer_set) {
        ngx_del_timer(&hub->reconnect);
    }

    if (hub->wsi) {
        ngx_grapevine_hub_drop(hub, why, 0);
        return;
    }

    ngx_grapevine_hub_set_state(hub, NGX_GRAPEVINE_HUB_IDLE);
}


/*
 * Close the link; reconnect after "delay" (0: the usual backoff) unless
 * stopped meanwhile.
 */

void
ngx_grapevine_hub_drop(ngx_grapevine_hub_t *hub, const char *why,
    ngx_msec_t delay)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, hub->log, 0,
                   "grapevine hub: closing the link: %s",
                   why ? why : "asked to");

    hub->next_delay = delay;

    if (hub->wsi) {
        lws_set_timeout(hub->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        ngx_grapevine_hub_post_pump(hub);
    }
}


ngx_int_t
ngx_grapevine_hub_send(ngx_grapevine_hub_t *hub, u_char *data, size_t len,
    int64_t tag)
{
    ngx_grapevine_hub_frame_t  *f;

    if (hub->wsi == NULL || hub->state < NGX_GRAPEVINE_HUB_AUTHENTICATING
        || hub->state == NGX_GRAPEVINE_HUB_BACKOFF)
    {
        return NGX_DECLINED;
    }

    if (hub->nout >= NGX_GRAPEVINE_HUB_MAX_QUEUE) {
        ngx_log_error(NGX_LOG_WARN, hub->log, 0,
                      "grapevine hub: send queue full, frame dropped");
        return NGX_DECLINED;
    }

    f = ngx_alloc(sizeof(ngx_grapevine_hub_frame_t) + LWS_PRE + len,
                  hub->log);
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->tag = tag;
    f->len = len;
    ngx_memcpy(f->buf + LWS_PRE, data, len);

    ngx_queue_insert_tail(&hub->out, &f->queue);
    hub->nout++;

    lws_callback_on_writable(hub->wsi);
    ngx_grapevine_hub_post_pump(hub);

    return NGX_OK;
}


/* stop (0) or resume (1) reading from the hub */

void
ngx_grapevine_hub_flow(ngx_grapevine_hub_t *hub, ngx_uint_t on)
{
    if (hub->wsi) {
        (void) lws_rx_flow_control(hub->wsi, on ? 1 : 0);
        ngx_grapevine_hub_post_pump(hub);
    }
}


void
ngx_grapevine_hub_error(ngx_grapevine_hub_t *hub, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(hub->error_buf, hub->error_buf + sizeof(hub->error_buf),
                      fmt, args);
    va_end(args);

    hub->last_error.data = hub->error_buf;
    hub->last_error.len = p - hub->error_buf;

    if (hub->wsi) {
        hub->link_error = 1;
    }
}


void
ngx_grapevine_hub_destroy(ngx_grapevine_hub_t *hub)
{
    ngx_uint_t  i;

    if (hub->ctx == NULL) {
        return;
    }

    hub->exiting = 1;
    hub->wanted = 0;

    if (hub->reconnect.timer_set) {
        ngx_del_timer(&hub->reconnect);
    }

    if (hub->watchdog.timer_set) {
        ngx_del_timer(&hub->watchdog);
    }

    if (hub->wsi && hub->state >= NGX_GRAPEVINE_HUB_AUTHENTICATING
        && hub->state != NGX_GRAPEVINE_HUB_BACKOFF)
    {
        lws_close_reason(hub->wsi, LWS_CLOSE_STATUS_GOINGAWAY,
                         (unsigned char *) "bye", 3);
        lws_set_timeout(hub->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);

    } else if (hub->wsi) {
        lws_set_timeout(hub->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }

    /* until the close frame is out and the wsi destroyed, at most 200 ms */

    for (i = 0; i < 40 && hub->wsi; i++) {
        ngx_grapevine_uv_spin(&hub->uv, 5);
    }

    ngx_grapevine_uv_stop(&hub->uv);

    lws_context_destroy(hub->ctx);

    ngx_grapevine_uv_settle(&hub->uv, 20);

    /* with a foreign loop the second call frees the context */
    lws_context_destroy(hub->ctx);
    hub->ctx = NULL;

    ngx_grapevine_hub_flush_queue(hub);

    ngx_grapevine_uv_close(&hub->uv);

    if (hub->rx) {
        ngx_free(hub->rx);
        hub->rx = NULL;
    }
}


const char *
ngx_grapevine_hub_state_name(ngx_grapevine_hub_state_e state)
{
    static const char  *names[] = {
        "idle", "connecting", "authenticating", "syncing", "live", "backoff"
    };

    if ((ngx_uint_t) state < sizeof(names) / sizeof(names[0])) {
        return names[state];
    }

    return "unknown";
}


static void
ngx_grapevine_hub_post_pump(ngx_grapevine_hub_t *hub)
{
    if (!hub->exiting) {
        ngx_grapevine_uv_post(&hub->uv);
    }
}


static void
ngx_grapevine_hub_connect(ngx_event_t *ev)
{
    ngx_grapevine_hub_t              *hub;
    ngx_grapevine_hub_conf_t         *conf;
    struct lws_client_connect_info    i;

    hub = ev->data;
    conf = hub->conf;

    if (!hub->wanted || hub->exiting || hub->wsi) {
        return;
    }

    ngx_memzero(&i, sizeof(struct lws_client_connect_info));

    i.context = hub->ctx;
    i.address = (char *) conf->address.data;
    i.port = conf->port;
    i.path = (char *) conf->path.data;
    i.host = (char *) conf->host.data;
    i.origin = (char *) conf->host.data;
    i.ssl_connection = conf->tls ? LCCSCF_USE_SSL : 0;
    i.local_protocol_name = "gossip";
    i.pwsi = (struct lws **) &hub->wsi;
    i.userdata = hub;

    hub->last_frame_ms = ngx_current_msec;
    hub->link_error = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, hub->log, 0,
                   "grapevine hub: connecting to %V", &conf->url);

    ngx_grapevine_hub_set_state(hub, NGX_GRAPEVINE_HUB_CONNECTING);

    if (lws_client_connect_via_info(&i) == NULL) {
        hub->wsi = NULL;
        ngx_grapevine_hub_error(hub, "could not start connecting to %V",
                                &conf->url);
        ngx_grapevine_hub_schedule(hub);
        return;
    }

    if (!hub->watchdog.timer_set) {
        ngx_add_timer(&hub->watchdog, conf->heartbeat);
    }

    ngx_grapevine_hub_post_pump(hub);
}


static void
ngx_grapevine_hub_schedule(ngx_grapevine_hub_t *hub)
{
    ngx_msec_t   delay;
    ngx_time_t  *tp;

    if (!hub->wanted || hub->exiting || ngx_exiting || ngx_quit) {
        ngx_grapevine_hub_set_state(hub, NGX_GRAPEVINE_HUB_IDLE);
        return;
    }

    if (hub->reconnect.timer_set) {
        return;
    }

    if (hub->next_delay) {
        delay = hub->next_delay;
        hub->next_delay = 0;

        if (delay > hub->backoff) {
            hub->backoff = delay;
        }

    } else {
        if (hub->backoff == 0) {
            hub->backoff = NGX_GRAPEVINE_HUB_BACKOFF_MIN;

        } else {
            hub->backoff *= 2;
        }

        if (hub->backoff > NGX_GRAPEVINE_HUB_BACKOFF_MAX) {
            hub->backoff = NGX_GRAPEVINE_HUB_BACKOFF_MAX;
        }

        delay = hub->backoff;
    }

    /* jitter: 80% to 120% */
    delay = delay * 4 / 5 + ngx_random() % (delay * 2 / 5 + 1);

    hub->reconnects++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, hub->log, 0,
                   "grapevine hub: reconnecting in %M ms", delay);

    ngx_add_timer(&hub->reconnect, delay);

    /* when the next attempt is due, for /_status */

    tp = ngx_timeofday();
    hub->retry_at = (uint64_t) tp->sec * 1000 + tp->msec + delay;

    ngx_grapevine_hub_set_state(hub, NGX_GRAPEVINE_HUB_BACKOFF);
}


/* a link that stays silent for three heartbeat intervals is dead */

static void
ngx_grapevine_hub_watchdog(ngx_event_t *ev)
{
    ngx_msec_t            silent;
    ngx_grapevine_hub_t  *hub;

    hub = ev->data;

    if (hub->exiting || hub->wsi == NULL) {
        return;
    }

    silent = ngx_current_msec - hub->last_frame_ms;

    if (silent >= 3 * hub->conf->heartbeat) {
        ngx_log_error(NGX_LOG_WARN, hub->log, 0,
                      "grapevine hub: the hub sent nothing for %M ms "
                      "(three heartbeat intervals): closing the link",
                      silent);

        ngx_grapevine_hub_error(hub, "the hub was silent for %M ms",
                                silent);
        ngx_grapevine_hub_drop(hub, "the hub stopped sending heartbeats",
                               0);
    }

    ngx_add_timer(&hub->watchdog, hub->conf->heartbeat);
}


static void
ngx_grapevine_hub_closed(ngx_grapevine_hub_t *hub)
{
    hub->rx_len = 0;
    hub->rx_overflow = 0;

    ngx_grapevine_hub_flush_queue(hub);

    if (hub->on_closed) {
        hub->on_closed(hub);
    }

    ngx_grapevine_hub_schedule(hub);
}


static void
ngx_grapevine_hub_flush_queue(ngx_grapevine_hub_t *hub)
{
    ngx_queue_t                *q;
    ngx_grapevine_hub_frame_t  *f;

    while (!ngx_queue_empty(&hub->out)) {
        q = ngx_queue_head(&hub->out);
        ngx_queue_remove(q);
        f = ngx_queue_data(q, ngx_grapevine_hub_frame_t, queue);
        ngx_free(f);
    }

    hub->nout = 0;
}


static int
ngx_grapevine_hub_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
    u_char               *p;
    ngx_uint_t            code;
    ngx_grapevine_hub_t  *hub;

    hub = lws_context_user(lws_get_context(wsi));

    if (hub == NULL) {
        return 0;
    }

    switch (reason) {

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (hub->exiting) {
            return -1;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, hub->log, 0,
                       "grapevine hub: connected to %V", &hub->conf->url);

        hub->last_frame_ms = ngx_current_msec;
        ngx_grapevine_hub_set_state(hub, NGX_GRAPEVINE_HUB_AUTHENTICATING);

        if (hub->on_established) {
            hub->on_established(hub);
        }

        break;

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (wsi != hub->wsi && hub->wsi != NULL) {
            break;
        }

        ngx_grapevine_hub_error(hub, "connection failed: %s",
                                in ? (char *) in : "unknown error");

        ngx_log_error(NGX_LOG_WARN, hub->log, 0,
                      "grapevine hub: %V: %V", &hub->conf->url,
                      &hub->last_error);

        hub->wsi = NULL;
        ngx_grapevine_hub_closed(hub);
        break;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        p = in;
        code = (len >= 2) ? (ngx_uint_t) (p[0] << 8 | p[1]) : 0;

        ngx_log_error(NGX_LOG_WARN, hub->log, 0,
                      "grapevine hub: the hub closed the link: %ui %*s",
                      code, len > 2 ? len - 2 : 0, p + 2);

        /* keep a more telling error of this link (a refused login) */

        if (!hub->link_error) {
            ngx_grapevine_hub_error(hub, "the hub closed the link: %ui %*s",
                                    code, len > 2 ? len - 2 : 0, p + 2);
        }

        break;

    case LWS_CALLBACK_CLIENT_CLOSED:
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, hub->log, 0,
                       "grapevine hub: link closed");
        break;

    case LWS_CALLBACK_WSI_DESTROY:
        if (wsi == hub->wsi) {
            hub->wsi = NULL;

            if (!hub->exiting) {
                ngx_grapevine_hub_closed(hub);
            }
        }

        break;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        ngx_grapevine_hub_receive(hub, wsi, in, len);
        break;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return ngx_grapevine_hub_writeable(hub, wsi);

    default:
        break;
    }

    return 0;
}


static void
ngx_grapevine_hub_receive(ngx_grapevine_hub_t *hub, struct lws *wsi,
    u_char *in, size_t len)
{
    size_t  max;

    max = hub->conf->max_frame;

    if (hub->rx == NULL) {
        hub->rx = ngx_alloc(max + 1, hub->log);
        if (hub->rx == NULL) {
            return;
        }
    }

    if (!hub->rx_overflow) {
        if (hub->rx_len + len > max) {
            hub->rx_overflow = 1;

        } else {
            ngx_memcpy(hub->rx + hub->rx_len, in, len);
            hub->rx_len += len;
        }
    }

    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) {
        return;
    }

    hub->last_frame = ngx_time();
    hub->last_frame_ms = ngx_current_msec;

    if (hub->rx_overflow) {
        ngx_log_error(NGX_LOG_WARN, hub->log, 0,
                      "grapevine hub: frame larger than "
                      "grapevine_hub_max_frame (%uz bytes) ignored", max);

        hub->oversized++;

        if (hub->on_change) {
            hub->on_change(hub);
        }

    } else if (hub->on_frame) {
        hub->rx[hub->rx_len] = '\0';
        hub->on_frame(hub, hub->rx, hub->rx_len);
    }

    hub->rx_len = 0;
    hub->rx_overflow = 0;
}


static int
ngx_grapevine_hub_writeable(ngx_grapevine_hub_t *hub, struct lws *wsi)
{
    int                         n;
    int64_t                     tag;
    ngx_queue_t                *q;
    ngx_grapevine_hub_frame_t  *f;

    if (ngx_queue_empty(&hub->out)) {
        return 0;
    }

    q = ngx_queue_head(&hub->out);
    f = ngx_queue_data(q, ngx_grapevine_hub_frame_t, queue);

    n = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);

    if (n < (int) f->len) {
        ngx_grapevine_hub_error(hub, "could not write to the hub");
        return -1;
    }

    ngx_queue_remove(q);
    hub->nout--;
    tag = f->tag;
    ngx_free(f);

    if (tag && hub->on_sent) {
        hub->on_sent(hub, tag);
    }

    if (!ngx_queue_empty(&hub->out)) {
        lws_callback_on_writable(wsi);
    }

    return 0;
}


static void
ngx_grapevine_hub_lws_log(int level, const char *line)
{
    size_t      len;
    ngx_uint_t  lvl;

    len = ngx_strlen(line);

    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }

    lvl = (level & LLL_ERR) ? NGX_LOG_ERR : NGX_LOG_WARN;

    ngx_log_error(lvl, ngx_grapevine_hub_lws_log_target, 0,
                  "libwebsockets: %*s", len, line);
}
