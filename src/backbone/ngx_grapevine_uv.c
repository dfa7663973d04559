
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <poll.h>

#include <uv.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_uv.h"


static void ngx_grapevine_uv_pump(ngx_event_t *ev);


ngx_int_t
ngx_grapevine_uv_init(ngx_grapevine_uv_t *uv, ngx_log_t *log)
{
    uv_loop_t  *loop;

    ngx_memzero(uv, sizeof(ngx_grapevine_uv_t));

    uv->log = log;

    loop = ngx_calloc(sizeof(uv_loop_t), log);
    if (loop == NULL) {
        return NGX_ERROR;
    }

    if (uv_loop_init(loop) != 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "grapevine hub: uv_loop_init() failed");
        ngx_free(loop);
        return NGX_ERROR;
    }

    uv->loop = loop;

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_uv_start(ngx_grapevine_uv_t *uv)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(uv_backend_fd(uv->loop), uv->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = uv;
    c->read->handler = ngx_grapevine_uv_pump;
    c->read->log = uv->log;
    c->write->log = uv->log;

    /* level-triggered: libuv reads the descriptor only when it runs */

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    uv->c = c;

    ngx_grapevine_timer_init(&uv->pump, ngx_grapevine_uv_pump, c, uv->log);

    ngx_grapevine_uv_post(uv);

    return NGX_OK;
}


/*
 * Always to ngx_posted_next_events: it makes the next epoll_wait() return
 * at once, where ngx_posted_events would wait for an event first.
 */

void
ngx_grapevine_uv_post(ngx_grapevine_uv_t *uv)
{
    if (uv->c && !uv->pump.posted && !uv->stopped) {
        ngx_post_event(&uv->pump, &ngx_posted_next_events);
    }
}


static void
ngx_grapevine_uv_pump(ngx_event_t *ev)
{
    int                  t;
    ngx_connection_t    *c;
    ngx_grapevine_uv_t  *uv;

    c = ev->data;
    uv = c->data;

    /* uv_run() is not reentrant: a callback may post the pump */

    if (uv->in_pump || uv->loop == NULL) {
        return;
    }

    uv->in_pump = 1;
    (void) uv_run(uv->loop, UV_RUN_NOWAIT);
    uv->in_pump = 0;

    if (uv->loop == NULL || uv->stopped) {
        return;
    }

    /* a loop with nothing active says 0: it must not spin */

    t = uv_loop_alive(uv->loop) ? uv_backend_timeout(uv->loop) : -1;

    /* ngx_add_timer() keeps a timer that is due within 300 ms */

    if (uv->pump.timer_set) {
        ngx_del_timer(&uv->pump);
    }

    if (t == 0) {
        if (!uv->pump.posted) {
            ngx_post_event(&uv->pump, &ngx_posted_next_events);
        }

    } else if (t > 0) {
        ngx_add_timer(&uv->pump, (ngx_msec_t) t);
    }
}


/* at exit, outside nginx's loop: one run, then wait up to "wait" ms */

void
ngx_grapevine_uv_spin(ngx_grapevine_uv_t *uv, ngx_msec_t wait)
{
    struct pollfd  pfd;

    (void) uv_run(uv->loop, UV_RUN_NOWAIT);

    pfd.fd = uv_backend_fd(uv->loop);
    pfd.events = POLLIN;

    (void) poll(&pfd, 1, (int) wait);
}


void
ngx_grapevine_uv_stop(ngx_grapevine_uv_t *uv)
{
    uv->stopped = 1;

    if (uv->pump.timer_set) {
        ngx_del_timer(&uv->pump);
    }

    if (uv->pump.posted) {
        ngx_delete_posted_event(&uv->pump);
    }
}


/* runs the loop until nothing is left to close, at most "rounds" times */

void
ngx_grapevine_uv_settle(ngx_grapevine_uv_t *uv, ngx_uint_t rounds)
{
    ngx_uint_t  i;

    for (i = 0; i < rounds && uv_run(uv->loop, UV_RUN_NOWAIT); i++) {
        /* void */
    }
}


void
ngx_grapevine_uv_close(ngx_grapevine_uv_t *uv)
{
    ngx_grapevine_uv_stop(uv);

    if (uv->c) {
        /* libuv closes the descriptor: nginx only forgets it */
        ngx_del_event(uv->c->read, NGX_READ_EVENT, 0);
        ngx_free_connection(uv->c);
        uv->c->fd = (ngx_socket_t) -1;
        uv->c = NULL;
    }

    if (uv->loop == NULL) {
        return;
    }

    if (uv_loop_close(uv->loop) != 0) {
        ngx_log_error(NGX_LOG_INFO, uv->log, 0,
                      "grapevine hub: libuv loop still busy at exit");
    }

    ngx_free(uv->loop);
    uv->loop = NULL;
}
