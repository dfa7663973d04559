
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
    u_char                     *p;
    ngx_str_t                   n;
    ngx_uint_t                  i;
    ngx_grapevine_site_conf_t  *sc;

    struct {
        const char  *key;
        ngx_uint_t   value;
    } limits[3];

    sc = ctx->conf;

    if (ngx_grapevine_site_route_args(ctx) != NGX_OK
        || ngx_grapevine_req_arg(&ctx->rq, "site_name", &sc->name,
                                 NGX_GRAPEVINE_ARG_STRING)
           != NGX_OK)
    {
        goto failed;
    }

    limits[0].key = "max_length";
    limits[0].value = (ngx_uint_t) sc->chat_length;
    limits[1].key = "rate";
    limits[1].value = sc->chat_rate;
    limits[2].key = "burst";
    limits[2].value = sc->chat_burst;

    p = ngx_pnalloc(ctx->rq.r->pool, 3 * NGX_INT_T_LEN);
    if (p == NULL) {
        goto failed;
    }

    for (i = 0; i < 3; i++) {
        n.data = p;
        n.len = ngx_sprintf(p, "%ui", limits[i].value) - p;
        p += n.len;

        if (ngx_grapevine_req_arg(&ctx->rq, limits[i].key, &n,
                                  NGX_GRAPEVINE_ARG_NUMBER)
            != NGX_OK)
        {
            goto failed;
        }
    }

    ngx_grapevine_site_run(ctx, ctx->route->stmt, ngx_grapevine_site_page);
    return;

failed:

    ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
}
