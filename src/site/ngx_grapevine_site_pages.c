
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_site.h"


/*
 * The site's paths, as Grapevine's:
 *
 *   GET  /                            home
 *   GET  /games                       games (games[name], games[online],
 *                                     page)
 *   GET  /games/{short_name}          game
 *   GET  /users/{name}                user
 *   GET  /chat, /chat/{channel}       chat, channel (before)
 *   GET  /manage/characters           characters
 *   POST /manage/characters/{id}/{approve|deny|remove}
 *   GET  /manage/settings, POST       settings
 *   GET  /register, POST              sign up
 *   GET  /sign-in, POST               sign in
 *   POST /sign-out                    sign out
 */


#define NGX_GRAPEVINE_SITE_SEGMENT_MAX  100

#define NGX_GRAPEVINE_SITE_SQL                                                \
    "SELECT site_request($1, $2, $3::jsonb)"


static ngx_int_t ngx_grapevine_site_get_page(ngx_grapevine_site_ctx_t *ctx,
    const char *kind, const char *template);
static ngx_int_t ngx_grapevine_site_query_arg(ngx_grapevine_site_ctx_t *ctx,
    const char *key, const char *name1, const char *name2);
static void ngx_grapevine_site_character(ngx_grapevine_site_ctx_t *ctx);


/* every page's query, prepared on the pool's connections */

static ngx_grapevine_pg_stmt_t  ngx_grapevine_site_stmt = {
    "grapevine_site_request", NGX_GRAPEVINE_SITE_SQL
};


static const char  *ngx_grapevine_site_templates[] = {
    "header", "footer", "home", "games", "game", "user", "characters",
    "chat", "channel", "register", "sign-in", "settings", "404", "500",
    "error", NULL
};


ngx_grapevine_site_app_t  ngx_grapevine_site_app = {
    "grapevine_site",
    NULL,
    ngx_grapevine_site_route,
    &ngx_grapevine_site_stmt,
    "site_request",
    ngx_grapevine_site_templates,
    0
};


#define ngx_grapevine_site_is(path, lit)                                      \
    ((path)->len == sizeof(lit) - 1                                           \
     && ngx_strncmp((path)->data, lit, sizeof(lit) - 1) == 0)


/*
 * Starts a GET page (its query is under way, or it was answered), or
 * prepares a POST (ctx->post runs once the body is read).  Returns NGX_OK,
 * or 404 or 405 for the caller to answer.
 */

ngx_int_t
ngx_grapevine_site_route(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t            path, rest, seg;
    ngx_uint_t           get;
    ngx_http_request_t  *r;

    r = ctx->r;
    path = r->uri;
    get = (r->method != NGX_HTTP_POST);

    if (path.len > 1 && path.data[path.len - 1] == '/') {
        path.len--;
    }

    if (ngx_grapevine_site_is(&path, "/")) {
        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        return ngx_grapevine_site_get_page(ctx, "home", "home");
    }

    if (ngx_grapevine_site_is(&path, "/games")) {
        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        if (ngx_grapevine_site_query_arg(ctx, "name", "games[name]", "name")
            != NGX_OK
            || ngx_grapevine_site_query_arg(ctx, "online", "games[online]",
                                            "online")
               != NGX_OK
            || ngx_grapevine_site_query_arg(ctx, "page", "page", NULL)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_site_get_page(ctx, "games", "games");
    }

    if (ngx_grapevine_site_prefix(&path, "/games/", &rest) == NGX_OK) {
        if (ngx_grapevine_site_segment(&rest, &seg) != NGX_OK || rest.len) {
            return NGX_HTTP_NOT_FOUND;
        }

        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        if (ngx_grapevine_site_arg(ctx, "short_name", &seg,
                                   NGX_GRAPEVINE_SITE_ARG_STRING)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_site_get_page(ctx, "game", "game");
    }

    if (ngx_grapevine_site_prefix(&path, "/users/", &rest) == NGX_OK) {
        if (ngx_grapevine_site_segment(&rest, &seg) != NGX_OK || rest.len) {
            return NGX_HTTP_NOT_FOUND;
        }

        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        if (ngx_grapevine_site_arg(ctx, "name", &seg,
                                   NGX_GRAPEVINE_SITE_ARG_STRING)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_site_get_page(ctx, "user", "user");
    }

    if (ngx_grapevine_site_is(&path, "/chat")) {
        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        return ngx_grapevine_site_get_page(ctx, "chat", "chat");
    }

    if (ngx_grapevine_site_prefix(&path, "/chat/", &rest) == NGX_OK) {
        if (ngx_grapevine_site_segment(&rest, &seg) != NGX_OK || rest.len) {
            return NGX_HTTP_NOT_FOUND;
        }

        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        if (ngx_grapevine_site_arg(ctx, "channel", &seg,
                                   NGX_GRAPEVINE_SITE_ARG_STRING)
            != NGX_OK
            || ngx_grapevine_site_query_arg(ctx, "before", "before", NULL)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_site_get_page(ctx, "channel", "channel");
    }

    if (ngx_grapevine_site_is(&path, "/register")) {
        ctx->forms = 1;

        if (!get) {
            ctx->post = ngx_grapevine_account_sign_up;
            return NGX_OK;
        }

        return ngx_grapevine_site_get_page(ctx, "register", "register");
    }

    if (ngx_grapevine_site_is(&path, "/sign-in")) {
        ctx->forms = 1;

        if (!get) {
            ctx->post = ngx_grapevine_account_sign_in;
            return NGX_OK;
        }

        if (ngx_grapevine_site_query_arg(ctx, "next", "next", NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_site_get_page(ctx, "sign_in", "sign-in");
    }

    if (ngx_grapevine_site_is(&path, "/sign-out")) {
        if (get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        ctx->post = ngx_grapevine_account_sign_out;
        return NGX_OK;
    }

    if (ngx_grapevine_site_is(&path, "/manage/characters")) {
        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        if (ngx_grapevine_site_arg(ctx, "hub_name", &ctx->conf->hub_name,
                                   NGX_GRAPEVINE_SITE_ARG_STRING)
            != NGX_OK
            || ngx_grapevine_site_query_arg(ctx, "welcome", "welcome", NULL)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_site_get_page(ctx, "characters", "characters");
    }

    if (ngx_grapevine_site_prefix(&path, "/manage/characters/", &rest)
        == NGX_OK)
    {
        /* {id}/{approve|deny|remove} */

        if (ngx_grapevine_site_segment(&rest, &ctx->param[0]) != NGX_OK
            || rest.len < 2 || rest.data[0] != '/')
        {
            return NGX_HTTP_NOT_FOUND;
        }

        rest.data++;
        rest.len--;

        if (ngx_grapevine_site_segment(&rest, &ctx->param[1]) != NGX_OK
            || rest.len != 0
            || !(ngx_grapevine_site_is(&ctx->param[1], "approve")
                 || ngx_grapevine_site_is(&ctx->param[1], "deny")
                 || ngx_grapevine_site_is(&ctx->param[1], "remove")))
        {
            return NGX_HTTP_NOT_FOUND;
        }

        if (get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        ctx->post = ngx_grapevine_site_character;
        return NGX_OK;
    }

    if (ngx_grapevine_site_is(&path, "/manage/settings")) {
        ctx->forms = 1;

        if (!get) {
            ctx->post = ngx_grapevine_account_settings;
            return NGX_OK;
        }

        if (ngx_grapevine_site_query_arg(ctx, "saved", "saved", NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_site_get_page(ctx, "settings", "settings");
    }

    if (!get) {
        return NGX_HTTP_NOT_FOUND;
    }

    /* the 404 page, with the header of a signed-in user */

    return ngx_grapevine_site_get_page(ctx, "not_found", "404");
}


ngx_int_t
ngx_grapevine_site_prefix(ngx_str_t *path, const char *p, ngx_str_t *rest)
{
    size_t  len;

    len = ngx_strlen(p);

    if (path->len < len || ngx_strncmp(path->data, p, len) != 0) {
        return NGX_DECLINED;
    }

    rest->data = path->data + len;
    rest->len = path->len - len;

    return NGX_OK;
}


/* the next path segment: not empty, at most 100 bytes; rest moves on */

ngx_int_t
ngx_grapevine_site_segment(ngx_str_t *rest, ngx_str_t *segment)
{
    u_char  *slash;

    slash = ngx_strlchr(rest->data, rest->data + rest->len, '/');

    segment->data = rest->data;
    segment->len = slash ? (size_t) (slash - rest->data) : rest->len;

    if (segment->len == 0
        || segment->len > NGX_GRAPEVINE_SITE_SEGMENT_MAX)
    {
        return NGX_DECLINED;
    }

    rest->data += segment->len;
    rest->len -= segment->len;

    return NGX_OK;
}


static ngx_int_t
ngx_grapevine_site_get_page(ngx_grapevine_site_ctx_t *ctx, const char *kind,
    const char *template)
{
    ctx->template = template;

    ngx_grapevine_site_query(ctx, kind, ngx_grapevine_site_page);

    return NGX_OK;
}


/* a query string argument (the first of two names found) into args */

static ngx_int_t
ngx_grapevine_site_query_arg(ngx_grapevine_site_ctx_t *ctx, const char *key,
    const char *name1, const char *name2)
{
    ngx_str_t  *v;

    v = ngx_grapevine_site_field(ctx, name1);

    if (v == NULL && name2) {
        v = ngx_grapevine_site_field(ctx, name2);
    }

    if (v == NULL) {
        return NGX_OK;
    }

    return ngx_grapevine_site_arg(ctx, key, v, NGX_GRAPEVINE_SITE_ARG_STRING);
}


static void
ngx_grapevine_site_character(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_grapevine_register_character(ctx, &ctx->param[0], &ctx->param[1]);
}
