
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_site.h"


/*
 * Web chat: POST /chat/{channel} (a form, or JSON with a session and its
 * CSRF token).  The route's statement, site_chat_send()
 * (sql/site/site_chat_send.sql), refuses or stores the message in the
 * channel's history and queues it for the hub in one transaction; it gets
 * the form's text and the limits of grapevine_chat_max_length and
 * grapevine_chat_rate.  The answer is the site's: a redirect back to the
 * channel (JSON: the message stored), the channel's form again with its
 * problem (422), or the error page of a refusal.
 */


void
ngx_grapevine_chat_send(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_grapevine_req_t        *rq;
    ngx_grapevine_site_conf_t  *sc;

    sc = ctx->conf;
    rq = &ctx->rq;

    if (ngx_grapevine_site_route_args(ctx) != NGX_OK
        || ngx_grapevine_req_arg(rq, "site_name", &sc->name,
                                 NGX_GRAPEVINE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "max_length",
                                      (ngx_uint_t) sc->chat_length)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "rate", sc->chat_rate) != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "burst", sc->chat_burst) != NGX_OK)
    {
        goto failed;
    }

    ngx_grapevine_site_run(ctx, ctx->route->stmt, ngx_grapevine_site_page);
    return;

failed:

    ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
}
