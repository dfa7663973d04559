
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_site.h"


/*
 * The site's routes: Grapevine's paths, so that links people already have
 * keep working.  Every page's data is one SQL function of sql/site/,
 * site_<page>(me jsonb, args jsonb), prepared on every connection; its
 * template is the page (conf/templates).  A page kept in the cache for
 * signed-out visitors names every table its function reads (and the
 * functions it calls), each of which announces its changes
 * (sql/api/api_changed.sql, sql/site/site_changed.sql).
 */


ngx_grapevine_pg_stmt_t  ngx_grapevine_site_session_stmt = {
    "grapevine_site_session", "SELECT site_session_entry($1::text)"
};


static ngx_grapevine_pg_stmt_t  ngx_grapevine_site_stmts[] = {
    ngx_grapevine_site_stmt("home"),
    ngx_grapevine_site_stmt("games"),
    ngx_grapevine_site_stmt("game"),
    ngx_grapevine_site_stmt("user"),
    ngx_grapevine_site_stmt("chat"),
    ngx_grapevine_site_stmt("channel"),
    ngx_grapevine_site_stmt("characters"),
    ngx_grapevine_site_stmt("character"),
    ngx_grapevine_site_stmt("settings"),
    ngx_grapevine_site_stmt("chat_send")
};


static const char  *ngx_grapevine_site_games_fields[] = {
    "name=games[name]|name", "online=games[online]|online", "page", NULL
};

static const char  *ngx_grapevine_site_game_fields[] = {
    "page", "period", NULL
};

static const char  *ngx_grapevine_site_page_fields[] = {
    "page", NULL
};

static const char  *ngx_grapevine_site_channel_fields[] = {
    "before", NULL
};

static const char  *ngx_grapevine_site_chat_send_fields[] = {
    "text", NULL
};

static const char  *ngx_grapevine_site_characters_fields[] = {
    "welcome", NULL
};

static const char  *ngx_grapevine_site_settings_fields[] = {
    "saved", NULL
};


#define NGX_GRAPEVINE_SITE_GET   NGX_HTTP_GET
#define NGX_GRAPEVINE_SITE_POST  NGX_HTTP_POST
#define NGX_GRAPEVINE_SITE_IN    NGX_GRAPEVINE_SITE_SIGNED_IN


static ngx_grapevine_site_route_t  ngx_grapevine_site_routes[] = {

    { NGX_GRAPEVINE_SITE_GET, "/", NGX_GRAPEVINE_SITE_ANYONE, 0,
      &ngx_grapevine_site_stmts[0], "home", NULL, NULL, NULL,
      "games game_counts site_counts channels chat_minutes statistics "
      "statistics_hourly" },

    { NGX_GRAPEVINE_SITE_GET, "/games", NGX_GRAPEVINE_SITE_ANYONE, 0,
      &ngx_grapevine_site_stmts[1], "games",
      ngx_grapevine_site_games_fields, NULL, NULL,
      "games game_counts site_counts" },

    { NGX_GRAPEVINE_SITE_GET, "/games/{short_name}",
      NGX_GRAPEVINE_SITE_ANYONE, 0,
      &ngx_grapevine_site_stmts[2], "game", ngx_grapevine_site_game_fields,
      NULL, NULL,
      "games game_counts game_connections players_online events "
      "achievements characters users statistics statistics_hourly" },

    { NGX_GRAPEVINE_SITE_GET, "/users/{name}", NGX_GRAPEVINE_SITE_ANYONE, 0,
      &ngx_grapevine_site_stmts[3], "user", ngx_grapevine_site_page_fields,
      NULL, NULL, "users characters games" },

    { NGX_GRAPEVINE_SITE_GET, "/chat", NGX_GRAPEVINE_SITE_ANYONE, 0,
      &ngx_grapevine_site_stmts[4], "chat", ngx_grapevine_site_page_fields,
      NULL, NULL, "channels channel_counts" },

    /* signed in: the send form says whether the hub is away, which the
     * page's tables do not announce: it is read with site_hub() */
    { NGX_GRAPEVINE_SITE_GET, "/chat/{channel}", NGX_GRAPEVINE_SITE_ANYONE,
      NGX_GRAPEVINE_SITE_LIVE_IN, &ngx_grapevine_site_stmts[5], "channel",
      ngx_grapevine_site_channel_fields, NULL, NULL,
      "channels channel_messages" },

    { NGX_GRAPEVINE_SITE_POST, "/chat/{channel}", NGX_GRAPEVINE_SITE_IN,
      NGX_GRAPEVINE_SITE_JSON, &ngx_grapevine_site_stmts[9], "channel",
      ngx_grapevine_site_chat_send_fields, NULL, ngx_grapevine_chat_send,
      NULL },

    { NGX_GRAPEVINE_SITE_GET, "/register", NGX_GRAPEVINE_SITE_ANYONE,
      NGX_GRAPEVINE_SITE_FORMS, NULL, "register", NULL, NULL, NULL, NULL },

    { NGX_GRAPEVINE_SITE_POST, "/register", NGX_GRAPEVINE_SITE_ANYONE,
      NGX_GRAPEVINE_SITE_FORMS, NULL, "register", NULL, NULL,
      ngx_grapevine_account_sign_up, NULL },

    { NGX_GRAPEVINE_SITE_GET, "/sign-in", NGX_GRAPEVINE_SITE_ANYONE,
      NGX_GRAPEVINE_SITE_FORMS, NULL, "sign-in", NULL, NULL, NULL, NULL },

    { NGX_GRAPEVINE_SITE_POST, "/sign-in", NGX_GRAPEVINE_SITE_ANYONE,
      NGX_GRAPEVINE_SITE_FORMS, NULL, "sign-in", NULL, NULL,
      ngx_grapevine_account_sign_in, NULL },

    { NGX_GRAPEVINE_SITE_POST, "/sign-out", NGX_GRAPEVINE_SITE_ANYONE, 0,
      NULL, NULL, NULL, NULL, ngx_grapevine_account_sign_out, NULL },

    { NGX_GRAPEVINE_SITE_GET, "/manage/characters", NGX_GRAPEVINE_SITE_IN, 0,
      &ngx_grapevine_site_stmts[6], "characters",
      ngx_grapevine_site_characters_fields, NULL, NULL, NULL },

    { NGX_GRAPEVINE_SITE_POST, "/manage/characters/{id}/approve",
      NGX_GRAPEVINE_SITE_IN, 0,
      &ngx_grapevine_site_stmts[7], NULL, NULL, "action=approve", NULL, NULL },

    { NGX_GRAPEVINE_SITE_POST, "/manage/characters/{id}/deny",
      NGX_GRAPEVINE_SITE_IN, 0,
      &ngx_grapevine_site_stmts[7], NULL, NULL, "action=deny", NULL, NULL },

    { NGX_GRAPEVINE_SITE_POST, "/manage/characters/{id}/remove",
      NGX_GRAPEVINE_SITE_IN, 0,
      &ngx_grapevine_site_stmts[7], NULL, NULL, "action=remove", NULL, NULL },

    { NGX_GRAPEVINE_SITE_GET, "/manage/settings", NGX_GRAPEVINE_SITE_IN,
      NGX_GRAPEVINE_SITE_FORMS, &ngx_grapevine_site_stmts[8], "settings",
      ngx_grapevine_site_settings_fields, NULL, NULL, NULL },

    { NGX_GRAPEVINE_SITE_POST, "/manage/settings", NGX_GRAPEVINE_SITE_IN,
      NGX_GRAPEVINE_SITE_FORMS, NULL, "settings", NULL, NULL,
      ngx_grapevine_account_settings, NULL },

    /* any other GET: the 404 page, with the header of a signed-in user */

    { 0, "", NGX_GRAPEVINE_SITE_ANYONE, 0, NULL, "404", NULL, NULL, NULL, NULL }
};


static const char  *ngx_grapevine_site_templates[] = {
    "layout", "home", "games", "game", "user", "characters", "chat",
    "channel", "register", "sign-in", "settings", "404", "500", "error",
    "words", "chart", NULL
};

static const char  *ngx_grapevine_site_words[] = {
    "words", NULL
};


static ngx_grapevine_metric_t  ngx_grapevine_site_requests = {
    "http_requests_total",
    "Requests answered, by part of Grapevine and status class.",
    NGX_GRAPEVINE_METRIC_COUNTER, "part", "site", "status",
    ngx_grapevine_metric_status_classes, NULL, NULL, NULL, 0, 0, 0, NULL
};


ngx_grapevine_site_app_t  ngx_grapevine_site_app = {
    "grapevine_site",
    ngx_grapevine_site_routes,
    ngx_grapevine_site_templates,
    ngx_grapevine_site_words,
    NULL,
    0,
    &ngx_grapevine_site_requests
};
