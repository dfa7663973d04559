
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_site.h"


/*
 * Raisin, the moderators' tool (the "raisin" directive): its routes under
 * /raisin/, served by the site's router, which signs moderators in with
 * the site's accounts and checks the session, the role and the CSRF token
 * first.  Every page and action is one SQL function of sql/raisin/,
 * raisin_<name>(me jsonb, args jsonb); an action writes its effect and its
 * audit row together.  A request whose Accept header names
 * application/json is answered in JSON; an action may then carry its CSRF
 * token in X-CSRF-Token and its fields in a JSON object.
 */


#define ngx_grapevine_raisin_stmt(name)                                       \
    { "grapevine_raisin_" name,                                               \
      "SELECT raisin_" name "($1::jsonb, $2::jsonb)" }


static void *ngx_grapevine_raisin_create_main_conf(ngx_conf_t *cf);
static char *ngx_grapevine_raisin_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_grapevine_raisin_postconfiguration(ngx_conf_t *cf);


static ngx_grapevine_pg_stmt_t  ngx_grapevine_raisin_stmts[] = {
    ngx_grapevine_raisin_stmt("index"),
    ngx_grapevine_raisin_stmt("channel"),
    ngx_grapevine_raisin_stmt("mutes"),
    ngx_grapevine_raisin_stmt("users"),
    ngx_grapevine_raisin_stmt("user"),
    ngx_grapevine_raisin_stmt("audit"),
    ngx_grapevine_raisin_stmt("hide"),
    ngx_grapevine_raisin_stmt("mute"),
    ngx_grapevine_raisin_stmt("lift"),
    ngx_grapevine_raisin_stmt("account"),
    ngx_grapevine_raisin_stmt("remove_character")
};


static const char  *ngx_grapevine_raisin_index_fields[] = {
    "page", NULL
};

static const char  *ngx_grapevine_raisin_channel_fields[] = {
    "q", "game", "player", "before", NULL
};

static const char  *ngx_grapevine_raisin_users_fields[] = {
    "q", NULL
};

static const char  *ngx_grapevine_raisin_audit_fields[] = {
    "before", "action", "actor", NULL
};

/* what an action passes on besides its path's parameters */

static const char  *ngx_grapevine_raisin_action_fields[] = {
    "reason", "sender", "duration", "role", "back", NULL
};


static ngx_grapevine_site_route_t  ngx_grapevine_raisin_routes[] = {

    { NGX_HTTP_GET, "/raisin", NGX_GRAPEVINE_SITE_MODERATOR,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_raisin_stmts[0], "raisin",
      ngx_grapevine_raisin_index_fields, NULL, NULL, NULL },

    { NGX_HTTP_GET, "/raisin/channels/{name}", NGX_GRAPEVINE_SITE_MODERATOR,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_raisin_stmts[1],
      "raisin-channel", ngx_grapevine_raisin_channel_fields, NULL, NULL, NULL },

    { NGX_HTTP_POST, "/raisin/messages/{id}/hide",
      NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      &ngx_grapevine_raisin_stmts[6], "error",
      ngx_grapevine_raisin_action_fields, "hide=yes", NULL, NULL },

    { NGX_HTTP_POST, "/raisin/messages/{id}/unhide",
      NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      &ngx_grapevine_raisin_stmts[6], "error",
      ngx_grapevine_raisin_action_fields, "hide=no", NULL, NULL },

    { NGX_HTTP_GET, "/raisin/mutes", NGX_GRAPEVINE_SITE_MODERATOR,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_raisin_stmts[2],
      "raisin-mutes", NULL, NULL, NULL, NULL },

    { NGX_HTTP_POST, "/raisin/mutes", NGX_GRAPEVINE_SITE_MODERATOR,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_raisin_stmts[7],
      "raisin-mutes", ngx_grapevine_raisin_action_fields, NULL, NULL, NULL },

    { NGX_HTTP_POST, "/raisin/mutes/{id}/lift",
      NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      &ngx_grapevine_raisin_stmts[8], "error",
      ngx_grapevine_raisin_action_fields, NULL, NULL, NULL },

    { NGX_HTTP_GET, "/raisin/users", NGX_GRAPEVINE_SITE_MODERATOR,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_raisin_stmts[3],
      "raisin-users", ngx_grapevine_raisin_users_fields, NULL, NULL, NULL },

    { NGX_HTTP_GET, "/raisin/users/{name}", NGX_GRAPEVINE_SITE_MODERATOR,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_raisin_stmts[4],
      "raisin-user", NULL, NULL, NULL, NULL },

    { NGX_HTTP_POST, "/raisin/users/{name}/suspend",
      NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      &ngx_grapevine_raisin_stmts[9], "error",
      ngx_grapevine_raisin_action_fields, "action=user.suspend", NULL, NULL },

    { NGX_HTTP_POST, "/raisin/users/{name}/unsuspend",
      NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      &ngx_grapevine_raisin_stmts[9], "error",
      ngx_grapevine_raisin_action_fields, "action=user.unsuspend", NULL, NULL },

    { NGX_HTTP_POST, "/raisin/users/{name}/role",
      NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      &ngx_grapevine_raisin_stmts[9], "error",
      ngx_grapevine_raisin_action_fields, "action=user.role", NULL, NULL },

    { NGX_HTTP_POST, "/raisin/characters/{id}/remove",
      NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      &ngx_grapevine_raisin_stmts[10], "error",
      ngx_grapevine_raisin_action_fields, NULL, NULL, NULL },

    { NGX_HTTP_GET, "/raisin/audit", NGX_GRAPEVINE_SITE_MODERATOR,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_raisin_stmts[5],
      "raisin-audit", ngx_grapevine_raisin_audit_fields, NULL, NULL, NULL },

    /*
     * any other path: 404, but only to moderators; everyone else is sent
     * to sign in, or gets 403, as on every path of Raisin
     */

    { 0, "", NGX_GRAPEVINE_SITE_MODERATOR, NGX_GRAPEVINE_SITE_FORMS,
      NULL, "404", NULL, NULL, NULL, NULL }
};


static const char  *ngx_grapevine_raisin_templates[] = {
    "raisin", "raisin-channel", "raisin-mutes", "raisin-users",
    "raisin-user", "raisin-audit", "raisin-words", NULL
};

static const char  *ngx_grapevine_raisin_words[] = {
    "raisin-words", "words", NULL
};


/* its requests: counted by the site's log phase, as the site's are */

static ngx_grapevine_metric_t  ngx_grapevine_raisin_requests = {
    "http_requests_total",
    "Requests answered, by part of Grapevine and status class.",
    NGX_GRAPEVINE_METRIC_COUNTER, "part", "raisin", "status",
    ngx_grapevine_metric_status_classes, NULL, NULL, NULL, 0, 0, 0, NULL
};


static ngx_grapevine_site_app_t  ngx_grapevine_raisin_app = {
    "raisin",
    ngx_grapevine_raisin_routes,
    ngx_grapevine_raisin_templates,
    ngx_grapevine_raisin_words,
    "/raisin/",
    1,
    &ngx_grapevine_raisin_requests
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

    if (rmcf->used && !ngx_grapevine_site_used(cf)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "raisin in %s:%ui needs grapevine_site in the "
                      "same http block (its sign-in and sessions)",
                      rmcf->file, rmcf->line);
        return NGX_ERROR;
    }

    if (rmcf->used) {
        return ngx_grapevine_metric_register(cf,
                                             &ngx_grapevine_raisin_requests);
    }

    return NGX_OK;
}
