
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_UV_H_INCLUDED_
#define _NGX_GRAPEVINE_UV_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/*
 * A libuv loop run by nginx's event loop, for a library that wants one
 * (libwebsockets, as a foreign loop).  The loop's backend descriptor
 * (uv_backend_fd()) is one level-triggered read event of nginx; the time
 * of its next timer (uv_backend_timeout()) is one cancelable nginx timer;
 * both run the "pump": uv_run(UV_RUN_NOWAIT), then arm the timer again.
 * Nothing blocks and no thread is started.  What runs on the loop is the
 * caller's business.
 *
 *   ngx_grapevine_uv_init()    makes the loop (hand uv->loop to the
 *                              library now)
 *   ngx_grapevine_uv_start()   watches it from nginx's loop
 *   ngx_grapevine_uv_post()    pumps at the next turn of nginx's loop
 *                              (after anything that gives libuv work)
 *   ngx_grapevine_uv_spin()    at exit, one round that may wait a little
 *   ngx_grapevine_uv_stop()    no more pumping (the library is closing)
 *   ngx_grapevine_uv_settle()  runs the loop until its handles are closed
 *   ngx_grapevine_uv_close()   forgets the descriptor, closes the loop
 */


typedef struct {
    void                *loop;        /* uv_loop_t */
    ngx_connection_t    *c;           /* the backend descriptor */
    ngx_event_t          pump;        /* timer, or posted */
    ngx_log_t           *log;
    ngx_uint_t           in_pump;
    ngx_uint_t           stopped;
} ngx_grapevine_uv_t;


ngx_int_t ngx_grapevine_uv_init(ngx_grapevine_uv_t *uv, ngx_log_t *log);
ngx_int_t ngx_grapevine_uv_start(ngx_grapevine_uv_t *uv);
void ngx_grapevine_uv_post(ngx_grapevine_uv_t *uv);
void ngx_grapevine_uv_spin(ngx_grapevine_uv_t *uv, ngx_msec_t wait);
void ngx_grapevine_uv_stop(ngx_grapevine_uv_t *uv);
void ngx_grapevine_uv_settle(ngx_grapevine_uv_t *uv, ngx_uint_t rounds);
void ngx_grapevine_uv_close(ngx_grapevine_uv_t *uv);


#endif /* _NGX_GRAPEVINE_UV_H_INCLUDED_ */
