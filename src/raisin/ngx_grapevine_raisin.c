
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_site.h"


/*
 * Raisin, the moderators' tool (the "raisin" directive): pages and actions
 * under /raisin/, run by the site's request machinery (sessions, forms,
 * templates) with raisin_request() (migrations/0006_raisin.sql) in place
 * of site_request().  The database checks the role, the CSRF token and the
 * reason, and writes each action's effect and its audit row together.
 *
 *   GET  /raisin/                             raisin
 *   GET  /raisin/channels/{name}              raisin-channel (q, game,
 *                                             player, before)
 *   POST /raisin/messages/{id}/{hide|unhide}
 *   GET  /raisin/mutes, POST                  raisin-mutes; mute a sender
 *   POST /raisin/mutes/{id}/lift
 *   GET  /raisin/users                        raisin-users (q)
 *   GET  /raisin/users/{name}                 raisin-user
 *   POST /raisin/users/{name}/{suspend|unsuspend|role}
 *   POST /raisin/characters/{id}/remove
 *   GET  /raisin/audit                        raisin-audit (before, action,
 *                                             actor)
 *
 * A request whose Accept header names application/json is answered in
 * JSON; an action may then carry its CSRF token in X-CSRF-Token and its
 * fields in a JSON object.
 */


static char *ngx_grapevine_raisin_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_grapevine_raisin_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_grapevine_raisin_postconfiguration(ngx_conf_t *cf);
static void ngx_grapevine_raisin_init(ngx_grapevine_site_ctx_t *ctx);
static ngx_int_t ngx_grapevine_raisin_route(ngx_grapevine_site_ctx_t *ctx);
static ngx_table_elt_t *ngx_grapevine_raisin_header(ngx_http_request_t *r,
    const char *name);
static ngx_int_t ngx_grapevine_raisin_page(ngx_grapevine_site_ctx_t *ctx,
    const char *kind, const char *template, const char **params);
static ngx_int_t ngx_grapevine_raisin_action(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *rest, const char *key, const char **verbs,
    const char **kinds);
static ngx_int_t ngx_grapevine_raisin_unknown(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_raisin_post(ngx_grapevine_site_ctx_t *ctx);


#define ngx_grapevine_raisin_is(s, lit)                                       \
    ((s)->len == sizeof(lit) - 1                                              \
     && ngx_strncmp((s)->data, lit, sizeof(lit) - 1) == 0)


static const char  *ngx_grapevine_raisin_channel_params[] = {
    "q", "game", "player", "before", NULL
};

static const char  *ngx_grapevine_raisin_users_params[] = {
    "q", NULL
};

static const char  *ngx_grapevine_raisin_audit_params[] = {
    "before", "action", "actor", NULL
};

/* the fields an action passes on (the path's "id" or "name" besides) */

static const char  *ngx_grapevine_raisin_fields[] = {
    "reason", "sender", "duration", "role", "back", NULL
};

static const char  *ngx_grapevine_raisin_message_verbs[] = {
    "hide", "unhide", NULL
};

static const char  *ngx_grapevine_raisin_message_kinds[] = {
    "post:hide", "post:unhide"
};

static const char  *ngx_grapevine_raisin_mute_verbs[] = {
    "lift", NULL
};

static const char  *ngx_grapevine_raisin_mute_kinds[] = {
    "post:lift"
};

static const char  *ngx_grapevine_raisin_user_verbs[] = {
    "suspend", "unsuspend", "role", NULL
};

static const char  *ngx_grapevine_raisin_user_kinds[] = {
    "post:suspend", "post:unsuspend", "post:role"
};

static const char  *ngx_grapevine_raisin_character_verbs[] = {
    "remove", NULL
};

static const char  *ngx_grapevine_raisin_character_kinds[] = {
    "post:remove_character"
};


/* every Raisin page's and action's query, prepared on each connection */

static ngx_grapevine_pg_stmt_t  ngx_grapevine_raisin_stmt = {
    "grapevine_raisin_request", "SELECT raisin_request($1, $2, $3::jsonb)"
};


static const char  *ngx_grapevine_raisin_templates[] = {
    "raisin", "raisin-channel", "raisin-mutes", "raisin-users",
    "raisin-user", "raisin-audit", NULL
};


static ngx_grapevine_site_app_t  ngx_grapevine_raisin_app = {
    "raisin",
    ngx_grapevine_raisin_init,
    ngx_grapevine_raisin_route,
    &ngx_grapevine_raisin_stmt,
    "raisin_request",
    ngx_grapevine_raisin_templates,
    1
};


typedef struct {
    ngx_uint_t                 used;
    u_char                    *file;
    ngx_uint_t                 line;
} ngx_grapevine_raisin_main_conf_t;


static ngx_command_t  ngx_grapevine_raisin_commands[] = {

    { ngx_string("raisin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_grapevine_raisin_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_grapevine_raisin_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_grapevine_raisin_postconfiguration, /* postconfiguration */

    ngx_grapevine_raisin_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_grapevine_raisin_module = {
    NGX_MODULE_V1,
    &ngx_grapevine_raisin_module_ctx,      /* module context */
    ngx_grapevine_raisin_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_grapevine_raisin_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_raisin_main_conf_t));
}


static char *
ngx_grapevine_raisin_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_grapevine_raisin_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_grapevine_raisin_module);

    if (!rmcf->used) {
        rmcf->used = 1;
        rmcf->file = cf->conf_file->file.name.data;
        rmcf->line = cf->conf_file->line;
    }

    return ngx_grapevine_site_location(cf, &ngx_grapevine_raisin_app);
}


/* Raisin signs moderators in with the site's accounts and sessions */

static ngx_int_t
ngx_grapevine_raisin_postconfiguration(ngx_conf_t *cf)
{
    ngx_grapevine_raisin_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_grapevine_raisin_module);

    if (rmcf->used && !ngx_grapevine_site_used(cf, NULL, NULL)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "raisin in %s:%ui needs grapevine_site in the "
                      "same http block (its sign-in and sessions)",
                      rmcf->file, rmcf->line);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* before anything is answered: JSON or HTML */

static void
ngx_grapevine_raisin_init(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_table_elt_t  *h;

    h = ngx_grapevine_raisin_header(ctx->r, "Accept");

    if (h && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                              (u_char *) "application/json",
                              sizeof("application/json") - 2)
             != NULL)
    {
        ctx->json = 1;
    }

    /* every page holds forms: never stored by a cache */

    ctx->forms = 1;
}


/*
 * Starts a GET page or prepares a POST (ctx->post runs once the body is
 * read), as ngx_grapevine_site_route() does for the site.
 */

static ngx_int_t
ngx_grapevine_raisin_route(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t            path, rest, seg;
    ngx_uint_t           get;
    ngx_http_request_t  *r;

    r = ctx->r;
    get = (r->method != NGX_HTTP_POST);

    if (ngx_grapevine_site_prefix(&r->uri, "/raisin", &rest) != NGX_OK) {
        return ngx_grapevine_raisin_unknown(ctx);
    }

    path = rest;

    if (path.len > 1 && path.data[path.len - 1] == '/') {
        path.len--;
    }

    /* where to come back to after signing in */

    if (ngx_grapevine_site_arg(ctx, "path", &r->uri,
                               NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (path.len == 0 || ngx_grapevine_raisin_is(&path, "/")) {
        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        return ngx_grapevine_raisin_page(ctx, "index", "raisin", NULL);
    }

    if (ngx_grapevine_site_prefix(&path, "/channels/", &rest) == NGX_OK) {
        if (ngx_grapevine_site_segment(&rest, &seg) != NGX_OK || rest.len) {
            return ngx_grapevine_raisin_unknown(ctx);
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

        return ngx_grapevine_raisin_page(ctx, "channel", "raisin-channel",
                                         ngx_grapevine_raisin_channel_params);
    }

    if (ngx_grapevine_site_prefix(&path, "/messages/", &rest) == NGX_OK) {
        return ngx_grapevine_raisin_action(ctx, &rest, "id",
                                          ngx_grapevine_raisin_message_verbs,
                                          ngx_grapevine_raisin_message_kinds);
    }

    if (ngx_grapevine_raisin_is(&path, "/mutes")) {
        if (get) {
            return ngx_grapevine_raisin_page(ctx, "mutes", "raisin-mutes",
                                             NULL);
        }

        ctx->action = "post:mute";
        ctx->post = ngx_grapevine_raisin_post;
        return NGX_OK;
    }

    if (ngx_grapevine_site_prefix(&path, "/mutes/", &rest) == NGX_OK) {
        return ngx_grapevine_raisin_action(ctx, &rest, "id",
                                           ngx_grapevine_raisin_mute_verbs,
                                           ngx_grapevine_raisin_mute_kinds);
    }

    if (ngx_grapevine_raisin_is(&path, "/users")) {
        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        return ngx_grapevine_raisin_page(ctx, "users", "raisin-users",
                                         ngx_grapevine_raisin_users_params);
    }

    if (ngx_grapevine_site_prefix(&path, "/users/", &rest) == NGX_OK) {
        if (ngx_strlchr(rest.data, rest.data + rest.len, '/') != NULL) {
            return ngx_grapevine_raisin_action(ctx, &rest, "name",
                                              ngx_grapevine_raisin_user_verbs,
                                              ngx_grapevine_raisin_user_kinds);
        }

        if (ngx_grapevine_site_segment(&rest, &seg) != NGX_OK) {
            return ngx_grapevine_raisin_unknown(ctx);
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

        return ngx_grapevine_raisin_page(ctx, "user", "raisin-user", NULL);
    }

    if (ngx_grapevine_site_prefix(&path, "/characters/", &rest) == NGX_OK) {
        return ngx_grapevine_raisin_action(ctx, &rest, "id",
                                        ngx_grapevine_raisin_character_verbs,
                                        ngx_grapevine_raisin_character_kinds);
    }

    if (ngx_grapevine_raisin_is(&path, "/audit")) {
        if (!get) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        return ngx_grapevine_raisin_page(ctx, "audit", "raisin-audit",
                                         ngx_grapevine_raisin_audit_params);
    }

    return ngx_grapevine_raisin_unknown(ctx);
}


/*
 * A path Raisin does not have: answered 404 by the database too, after the
 * session's checks, so that only moderators learn which paths exist (the
 * others are sent to sign in, or get 403, as everywhere under /raisin/).
 */

static ngx_int_t
ngx_grapevine_raisin_unknown(ngx_grapevine_site_ctx_t *ctx)
{
    if (ctx->r->method == NGX_HTTP_POST) {
        ctx->action = "not_found";
        ctx->post = ngx_grapevine_raisin_post;
        return NGX_OK;
    }

    return ngx_grapevine_raisin_page(ctx, "not_found", "404", NULL);
}


/* a GET page: the query string's params of its own, then the query */

static ngx_int_t
ngx_grapevine_raisin_page(ngx_grapevine_site_ctx_t *ctx, const char *kind,
    const char *template, const char **params)
{
    ngx_str_t  *v;

    for ( /* void */ ; params && *params; params++) {
        v = ngx_grapevine_site_field(ctx, *params);

        if (v
            && ngx_grapevine_site_arg(ctx, *params, v,
                                      NGX_GRAPEVINE_SITE_ARG_STRING)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->template = template;

    ngx_grapevine_site_query(ctx, kind, ngx_grapevine_site_page);

    return NGX_OK;
}


/*
 * "{key}/{verb}": a POST action on one thing; verbs and kinds are parallel
 * lists.
 */

static ngx_int_t
ngx_grapevine_raisin_action(ngx_grapevine_site_ctx_t *ctx, ngx_str_t *rest,
    const char *key, const char **verbs, const char **kinds)
{
    ngx_str_t   seg, verb;
    ngx_uint_t  i;

    if (ngx_grapevine_site_segment(rest, &seg) != NGX_OK
        || rest->len < 2 || rest->data[0] != '/')
    {
        return ngx_grapevine_raisin_unknown(ctx);
    }

    rest->data++;
    rest->len--;

    if (ngx_grapevine_site_segment(rest, &verb) != NGX_OK || rest->len) {
        return ngx_grapevine_raisin_unknown(ctx);
    }

    for (i = 0; verbs[i]; i++) {
        if (verb.len == ngx_strlen(verbs[i])
            && ngx_strncmp(verb.data, verbs[i], verb.len) == 0)
        {
            break;
        }
    }

    if (verbs[i] == NULL) {
        return ngx_grapevine_raisin_unknown(ctx);
    }

    if (ctx->r->method != NGX_HTTP_POST) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (ngx_grapevine_site_arg(ctx, key, &seg, NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->action = kinds[i];
    ctx->post = ngx_grapevine_raisin_post;

    return NGX_OK;
}


/* the body is read: the action's fields and token, then the query */

static void
ngx_grapevine_raisin_post(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t         *v, empty;
    const char       **name;
    ngx_table_elt_t   *h;

    for (name = ngx_grapevine_raisin_fields; *name; name++) {
        v = ngx_grapevine_site_field(ctx, *name);

        if (v
            && ngx_grapevine_site_arg(ctx, *name, v,
                                      NGX_GRAPEVINE_SITE_ARG_STRING)
               != NGX_OK)
        {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    /* the session's token, compared in the database */

    h = ngx_grapevine_raisin_header(ctx->r, "X-CSRF-Token");

    if (h) {
        v = &h->value;

    } else {
        v = ngx_grapevine_site_field(ctx, "_csrf");
    }

    if (v == NULL || !ngx_grapevine_site_is_token(v)) {
        ngx_str_null(&empty);
        v = &empty;
    }

    if (ngx_grapevine_site_arg(ctx, "_csrf", v, NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the page whose form comes again when it is wrong (422) */

    ctx->template = (ngx_strcmp(ctx->action, "post:mute") == 0)
                    ? "raisin-mutes" : "error";

    ngx_grapevine_site_query(ctx, ctx->action, ngx_grapevine_site_page);
}


static ngx_table_elt_t *
ngx_grapevine_raisin_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}
