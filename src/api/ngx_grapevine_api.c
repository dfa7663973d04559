
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_api.h"
#include "ngx_grapevine_metrics.h"
#include "ngx_grapevine_stream.h"


/*
 * grapevine_api: Grapevine's JSON API, read from PostgreSQL
 * (ngx_grapevine_api.h lists its files).
 *
 * A route (ngx_grapevine_api_routes[]) names its path, the checks of its
 * parameters, its statement and the writer of its rows.  One
 * parameterised query per request, a statement the pool prepares; its
 * rows are streamed straight into yajl (ngx_grapevine_api_rows.c says why
 * it is built so).
 *
 * Every response carries a strong ETag (a 64-bit hash of the body) and
 * no Last-Modified.  Preconditions are evaluated here, as RFC 9110
 * (13.2.2) orders them, rather than by nginx's not_modified filter (which
 * takes a missing Last-Modified for a change, so If-Modified-Since would
 * beat a matching If-None-Match, and If-Unmodified-Since would be a 412 of
 * its own, in HTML): If-Match that fails is a JSON 412, If-None-Match that
 * matches a 304, and the two dates are ignored.
 *
 * Unless grapevine_api_cache is off, the 200 answers are kept in core's
 * answer cache (ngx_grapevine_cache.h), keyed by the location's prefix and
 * the URI as sent: the API registers the tables it reads, whose triggers
 * announce every change on the channel grapevine_api, and each
 * statement's tables are found in its text.  A request first waits for
 * the listening connection's round trip, then is answered from the cache
 * or runs its query; concurrent misses for one URL share one query
 * (grapevine_api_cache_lock, the cache's lock).
 */


/* where the triggers of ngx_grapevine_api_tables[] announce changes */
#define NGX_GRAPEVINE_API_CHANNEL        "grapevine_api"

#define NGX_GRAPEVINE_API_PAGE_MAX       10000
#define NGX_GRAPEVINE_API_LIMIT_DEFAULT  25
#define NGX_GRAPEVINE_API_LIMIT_MAX      100
#define NGX_GRAPEVINE_API_NAME_MAX       100     /* characters */

#define NGX_GRAPEVINE_API_CACHE          "public, max-age=10"
#define NGX_GRAPEVINE_API_CACHE_STATIC   "public, max-age=3600"
#define NGX_GRAPEVINE_API_METHODS        "GET, HEAD, OPTIONS"

#define NGX_GRAPEVINE_API_LOCK_TIMEOUT   5000    /* ms */


typedef struct {
    ngx_flag_t                    cache;     /* grapevine_api_cache */
    ngx_flag_t                    lock;      /* grapevine_api_cache_lock */
    ngx_msec_t                    lock_timeout;
    ngx_uint_t                    used;      /* grapevine_api is set */
    ngx_grapevine_cache_tables_t  tables[NGX_GRAPEVINE_API_STMTS];
} ngx_grapevine_api_main_conf_t;


typedef struct {
    ngx_flag_t                    ignore_client_abort;
} ngx_grapevine_api_loc_conf_t;


static void *ngx_grapevine_api_create_main_conf(ngx_conf_t *cf);
static char *ngx_grapevine_api_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_grapevine_api_create_loc_conf(ngx_conf_t *cf);
static char *ngx_grapevine_api_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_grapevine_api_lock_timeout(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_grapevine_api_postconfiguration(ngx_conf_t *cf);
static char *ngx_grapevine_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_grapevine_api_handler(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_api_log(ngx_http_request_t *r);
static ngx_uint_t ngx_grapevine_api_trailing_slash(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_api_query(ngx_grapevine_api_ctx_t *ctx);
static ngx_int_t ngx_grapevine_api_run(ngx_grapevine_api_ctx_t *ctx);
static void ngx_grapevine_api_wait(ngx_grapevine_api_ctx_t *ctx);
static void ngx_grapevine_api_locked(ngx_grapevine_cache_wait_t *w,
    ngx_chain_t *out, size_t size);
static void ngx_grapevine_api_unlock(ngx_grapevine_api_ctx_t *ctx,
    ngx_chain_t *out, size_t size);
static void ngx_grapevine_api_crossed(ngx_grapevine_listen_wait_t *w,
    ngx_uint_t ok);
static void ngx_grapevine_api_unwait(void *data);
static ngx_int_t ngx_grapevine_api_cached(ngx_grapevine_api_ctx_t *ctx,
    ngx_chain_t *in, size_t size);
static ngx_int_t ngx_grapevine_api_hit(ngx_grapevine_api_ctx_t *ctx,
    ngx_str_t *body);
static ngx_grapevine_api_route_t *ngx_grapevine_api_match(
    ngx_grapevine_segment_t *segs, ngx_uint_t n);
static ngx_int_t ngx_grapevine_api_path_params(ngx_grapevine_api_ctx_t *ctx,
    ngx_grapevine_segment_t *segs, ngx_str_t *error);
static const char *ngx_grapevine_api_cstr(ngx_pool_t *pool, ngx_str_t *s);
static ngx_int_t ngx_grapevine_api_games_args(ngx_grapevine_api_ctx_t *ctx);
static ngx_int_t ngx_grapevine_api_page_args(ngx_grapevine_api_ctx_t *ctx);
static ngx_int_t ngx_grapevine_api_page(ngx_grapevine_api_ctx_t *ctx,
    ngx_str_t *value);
static ngx_int_t ngx_grapevine_api_messages_args(
    ngx_grapevine_api_ctx_t *ctx);
static ngx_int_t ngx_grapevine_api_statistics_args(
    ngx_grapevine_api_ctx_t *ctx);
static ngx_uint_t ngx_grapevine_api_names(const char *sql, const char *word);
static ngx_int_t ngx_grapevine_api_bad(ngx_grapevine_api_ctx_t *ctx,
    const char *fmt, const char *name);
static void ngx_grapevine_api_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);

static ngx_int_t ngx_grapevine_api_openapi(ngx_grapevine_api_ctx_t *ctx);
static ngx_int_t ngx_grapevine_api_send(ngx_http_request_t *r,
    ngx_chain_t *out, size_t size, const char *cache);
static ngx_uint_t ngx_grapevine_api_etag_match(ngx_table_elt_t *header,
    ngx_str_t *etag, ngx_uint_t weak);
static ngx_int_t ngx_grapevine_api_preflight(ngx_http_request_t *r);


/* the cache's member of /_status: this worker's figures */

static ngx_grapevine_status_reporter_t  ngx_grapevine_api_cache_reporter = {
    "api_cache", NULL, 0, ngx_grapevine_cache_status, NULL
};


static ngx_conf_post_handler_pt  ngx_grapevine_api_lock_timeout_p =
    ngx_grapevine_api_lock_timeout;


static ngx_grapevine_api_route_t  ngx_grapevine_api_routes[] = {

    { 1, { "games" }, { NULL },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_GAMES],
      ngx_grapevine_api_games_args, ngx_grapevine_api_games, NULL },

    { 2, { "games", "online" }, { NULL },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_ONLINE],
      ngx_grapevine_api_page_args, ngx_grapevine_api_online, NULL },

    { 2, { "games", NULL }, { "game" },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_GAME],
      NULL, ngx_grapevine_api_game, "game" },

    { 3, { "games", NULL, "characters" }, { "game" },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_GAME_CHARACTERS],
      ngx_grapevine_api_page_args, ngx_grapevine_api_game_characters, "game" },

    { 3, { "characters", NULL, NULL }, { "game", "name" },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_CHARACTER],
      NULL, ngx_grapevine_api_character, "character" },

    { 2, { "users", NULL }, { "username" },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_USER],
      ngx_grapevine_api_page_args, ngx_grapevine_api_user, "user" },

    { 1, { "channels" }, { NULL },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_CHANNELS],
      ngx_grapevine_api_page_args, ngx_grapevine_api_channels, NULL },

    { 3, { "channels", NULL, "messages" }, { "channel" },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_MESSAGES],
      ngx_grapevine_api_messages_args, ngx_grapevine_api_messages, "channel" },

    { 3, { "games", NULL, "statistics" }, { "game" },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_STATISTICS],
      ngx_grapevine_api_statistics_args, ngx_grapevine_api_game_statistics,
      "game" },

    { 1, { "statistics" }, { NULL },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_NETWORK_STATISTICS],
      ngx_grapevine_api_statistics_args, ngx_grapevine_api_network_statistics,
      NULL },

    { 1, { "events" }, { NULL },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_PRESENCE],
      NULL, NULL, NULL },

    { 3, { "channels", NULL, "events" }, { "channel" },
      &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_EVENTS],
      ngx_grapevine_api_stream_args, NULL, "channel" },

    { 1, { "openapi.json" }, { NULL },
      NULL, NULL, NULL, NULL },

    { 0, { NULL }, { NULL }, NULL, NULL, NULL, NULL }
};


static ngx_command_t  ngx_grapevine_api_commands[] = {

    { ngx_string("grapevine_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_grapevine_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_api_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_api_main_conf_t, cache),
      NULL },

    { ngx_string("grapevine_api_cache_lock"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_api_main_conf_t, lock),
      NULL },

    { ngx_string("grapevine_api_cache_lock_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_api_main_conf_t, lock_timeout),
      &ngx_grapevine_api_lock_timeout_p },

    { ngx_string("grapevine_api_ignore_client_abort"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_grapevine_api_loc_conf_t, ignore_client_abort),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_grapevine_api_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_grapevine_api_postconfiguration,   /* postconfiguration */

    ngx_grapevine_api_create_main_conf,    /* create main configuration */
    ngx_grapevine_api_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_grapevine_api_create_loc_conf,     /* create location configuration */
    ngx_grapevine_api_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_grapevine_api_module = {
    NGX_MODULE_V1,
    &ngx_grapevine_api_module_ctx,         /* module context */
    ngx_grapevine_api_commands,            /* module directives */
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
ngx_grapevine_api_create_main_conf(ngx_conf_t *cf)
{
    ngx_grapevine_api_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_api_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    amcf->cache = NGX_CONF_UNSET;
    amcf->lock = NGX_CONF_UNSET;
    amcf->lock_timeout = NGX_CONF_UNSET_MSEC;

    return amcf;
}


static char *
ngx_grapevine_api_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_grapevine_api_main_conf_t *amcf = conf;

    ngx_conf_init_value(amcf->cache, 1);
    ngx_conf_init_value(amcf->lock, 1);
    ngx_conf_init_msec_value(amcf->lock_timeout,
                             NGX_GRAPEVINE_API_LOCK_TIMEOUT);

    return NGX_CONF_OK;
}


static void *
ngx_grapevine_api_create_loc_conf(ngx_conf_t *cf)
{
    ngx_grapevine_api_loc_conf_t  *alcf;

    alcf = ngx_palloc(cf->pool, sizeof(ngx_grapevine_api_loc_conf_t));
    if (alcf == NULL) {
        return NULL;
    }

    alcf->ignore_client_abort = NGX_CONF_UNSET;

    return alcf;
}


static char *
ngx_grapevine_api_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_grapevine_api_loc_conf_t *prev = parent;
    ngx_grapevine_api_loc_conf_t *conf = child;

    /* off, as proxy_ignore_client_abort */
    ngx_conf_merge_value(conf->ignore_client_abort,
                         prev->ignore_client_abort, 0);

    return NGX_CONF_OK;
}


/* a waiter must give up some time: 0 would be no lock at all */

static char *
ngx_grapevine_api_lock_timeout(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms == 0) {
        return "must be more than 0 (\"grapevine_api_cache_lock off;\" "
               "turns the lock off)";
    }

    return NGX_CONF_OK;
}


/* the requests the API answered, by status class (its log phase) */

static ngx_grapevine_metric_t  ngx_grapevine_api_requests = {
    "http_requests_total",
    "Requests answered, by part of Grapevine and status class.",
    NGX_GRAPEVINE_METRIC_COUNTER, "part", "api", "status",
    ngx_grapevine_metric_status_classes, NULL, NULL, NULL, 0, 0, 0, NULL
};

/* its streams (events, channels/{channel}/events), counted when they end */

static ngx_grapevine_metric_t  ngx_grapevine_api_stream_requests = {
    "http_requests_total",
    "Requests answered, by part of Grapevine and status class.",
    NGX_GRAPEVINE_METRIC_COUNTER, "part", "streams", "status",
    ngx_grapevine_metric_status_classes, NULL, NULL, NULL, 0, 0, 0, NULL
};


/*
 * Its requests' metric; with the cache on (grapevine_api_cache, known only
 * once the http block is read): the API's tables and its member of
 * /_status.
 */

static ngx_int_t
ngx_grapevine_api_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                      i;
    const char                     *sql, **f;
    ngx_grapevine_cache_tables_t    tables;
    ngx_grapevine_api_main_conf_t  *amcf;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_grapevine_api_module);

    if (!amcf->used) {
        return NGX_OK;
    }

    if (ngx_grapevine_metrics_requests(cf, &ngx_grapevine_api_requests,
                                       ngx_grapevine_api_log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_grapevine_api_stream_conf(cf) != NGX_OK
        || (ngx_grapevine_metrics_on(cf)
            && (ngx_grapevine_metric_register(cf,
                                    &ngx_grapevine_api_stream_requests)
                != NGX_OK
                || ngx_grapevine_stream_metrics(cf) != NGX_OK)))
    {
        return NGX_ERROR;
    }

    if (!amcf->cache) {
        return NGX_OK;
    }

    if (ngx_grapevine_add_cache_tables(cf, NGX_GRAPEVINE_API_CHANNEL,
                                       ngx_grapevine_api_tables)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_GRAPEVINE_API_STMTS; i++) {
        sql = ngx_grapevine_api_stmts[i].sql;
        tables = ngx_grapevine_cache_tables(cf, sql);

        /*
         * and the tables read by a function it calls (a statement that
         * names no table of its own reads those alone)
         */

        for (f = ngx_grapevine_api_function_tables; *f; f += 2) {
            if (ngx_grapevine_api_names(sql, f[0])) {
                if (tables == NGX_GRAPEVINE_CACHE_ALL) {
                    tables = 0;
                }

                tables |= ngx_grapevine_cache_tables(cf, f[1]);
            }
        }

        amcf->tables[i] = tables;
    }

    return ngx_grapevine_add_status(cf, &ngx_grapevine_api_cache_reporter);
}


static ngx_int_t
ngx_grapevine_api_log(ngx_http_request_t *r)
{
    ngx_grapevine_api_ctx_t   *ctx;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->handler != ngx_grapevine_api_handler) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_grapevine_api_module);

    /* a route with a statement and no writer is a stream */

    if (ctx && ctx->route && ctx->route->stmt && ctx->route->write == NULL) {
        ngx_grapevine_metric_request(&ngx_grapevine_api_stream_requests, r);
        return NGX_OK;
    }

    ngx_grapevine_metric_request(&ngx_grapevine_api_requests, r);

    return NGX_OK;
}


/* whether sql names word, as a word (as the cache finds a table) */

static ngx_uint_t
ngx_grapevine_api_names(const char *sql, const char *word)
{
    size_t       len;
    const char  *p;

    len = ngx_strlen(word);

    for (p = ngx_strstr(sql, word); p; p = ngx_strstr(p + len, word)) {
        if ((p == sql || !(isalnum((u_char) p[-1]) || p[-1] == '_'))
            && !(isalnum((u_char) p[len]) || p[len] == '_'))
        {
            return 1;
        }
    }

    return 0;
}


static char *
ngx_grapevine_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_uint_t                      i;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_grapevine_api_main_conf_t  *amcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->named || clcf->exact_match
#if (NGX_PCRE)
        || clcf->regex
#endif
       )
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_api\" needs a prefix location, "
                           "such as \"location /api/ { grapevine_api; }\"");
        return NGX_CONF_ERROR;
    }

    clcf->handler = ngx_grapevine_api_handler;

    ngx_grapevine_mark_used(cf, "grapevine_api");

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_grapevine_api_module);
    amcf->used = 1;

    for (i = 0; i < NGX_GRAPEVINE_API_STMTS; i++) {
        if (ngx_grapevine_prepare(cf, &ngx_grapevine_api_stmts[i])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_grapevine_api_handler(ngx_http_request_t *r)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_str_t                     msg;
    ngx_uint_t                    n, i;
    ngx_http_cleanup_t           *cln;
    ngx_grapevine_api_ctx_t      *ctx;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_grapevine_segment_t         segs[NGX_GRAPEVINE_API_MAX_SEGMENTS];
    ngx_grapevine_api_main_conf_t  *amcf;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_grapevine_api_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the log phase tells the streams' requests from the others' by it */
    ngx_http_set_ctx(r, ctx, ngx_http_grapevine_api_module);

    ctx->r = r;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx->prefix = clcf->name;

    if (ctx->prefix.len == 0
        || ctx->prefix.data[ctx->prefix.len - 1] != '/')
    {
        p = ngx_pnalloc(r->pool, clcf->name.len + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->prefix.data = p;
        p = ngx_cpymem(p, clcf->name.data, clcf->name.len);
        *p++ = '/';
        ctx->prefix.len = p - ctx->prefix.data;
    }

    rc = ngx_grapevine_path_segments(r, &clcf->name, segs,
                                     NGX_GRAPEVINE_API_MAX_SEGMENTS, &n);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->route = (rc == NGX_OK) ? ngx_grapevine_api_match(segs, n) : NULL;

    /*
     * One URL an answer: a trailing slash names no route (as nginx answers
     * a file's name with a slash after it: 404), not a second URL of the
     * same answer for caches to hold twice.
     */

    if (ctx->route && ngx_grapevine_api_trailing_slash(r)) {
        ctx->route = NULL;
    }

    if (ctx->route == NULL) {

        for (i = 0; rc == NGX_OK && i < n; i++) {
            if (segs[i].error) {
                msg.len = ngx_strlen(segs[i].error) + sizeof("path: ") - 1;
                msg.data = ngx_pnalloc(r->pool, msg.len);
                if (msg.data == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }

                ngx_sprintf(msg.data, "path: %s", segs[i].error);

                return ngx_grapevine_api_error(r, NGX_HTTP_BAD_REQUEST,
                                               "invalid_parameter", &msg);
            }
        }

        ngx_str_set(&msg, "no such API route");
        return ngx_grapevine_api_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                       &msg);
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_grapevine_api_preflight(r);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        ngx_str_set(&msg, "the API answers GET, HEAD and OPTIONS only");
        return ngx_grapevine_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                       "method_not_allowed", &msg);
    }

    rc = ngx_grapevine_api_path_params(ctx, segs, &msg);

    if (rc == NGX_DECLINED) {
        return ngx_grapevine_api_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_parameter", &msg);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->route->args) {
        rc = ctx->route->args(ctx);

        if (rc == NGX_DECLINED) {
            return ngx_grapevine_api_error(r, NGX_HTTP_BAD_REQUEST,
                                           "invalid_parameter",
                                           &ctx->q.error);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->route->stmt == NULL) {
        return ngx_grapevine_api_openapi(ctx);
    }

    if (ctx->route->write == NULL) {
        return ngx_grapevine_api_stream(ctx);
    }

    ctx->q.stmt = ctx->stmt ? ctx->stmt : ctx->route->stmt;
    ctx->q.values = ctx->values;
    ctx->q.handler = ngx_grapevine_api_done;

    for (i = 0; i < 3 && ctx->values[i]; i++) {
        ctx->q.nparams++;
    }

    ngx_str_null(&ctx->q.error);

    /*
     * The cache: wait for the listening connection's round trip, then
     * answer from it or run the query.  The key is the location's prefix
     * and the request's URI as sent.
     */

    amcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_api_module);

    ctx->cache = amcf->cache;
    ctx->tables = amcf->tables[ctx->q.stmt - ngx_grapevine_api_stmts];

    if (!ctx->cache || !ngx_grapevine_cache_ready(ctx->tables)) {
        return ngx_grapevine_api_query(ctx);
    }

    ctx->key.len = ctx->prefix.len + 1 + r->unparsed_uri.len;
    ctx->key.data = ngx_pnalloc(r->pool, ctx->key.len);
    if (ctx->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(ctx->key.data, ctx->prefix.data, ctx->prefix.len);
    *p++ = ' ';
    ngx_memcpy(p, r->unparsed_uri.data, r->unparsed_uri.len);

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->wait.handler = ngx_grapevine_api_crossed;
    ctx->wait.data = ctx;

    cln->handler = ngx_grapevine_api_unwait;
    cln->data = ctx;

    if (ngx_grapevine_listen_wait(&ctx->wait) == NGX_AGAIN) {
        r->main->count++;
        ngx_grapevine_api_wait(ctx);

        return NGX_DONE;
    }

    return ngx_grapevine_api_query(ctx);
}


/*
 * The URI as routed (the path of the request line, or the URI nginx
 * rewrote to) ends with "/": what ngx_grapevine_path_segments() reads.
 */

static ngx_uint_t
ngx_grapevine_api_trailing_slash(ngx_http_request_t *r)
{
    u_char  *p, *last;

    if (r->valid_unparsed_uri && !r->internal && r == r->main) {
        p = r->unparsed_uri.data;
        last = ngx_strlchr(p, p + r->unparsed_uri.len, '?');

        if (last == NULL) {
            last = p + r->unparsed_uri.len;
        }

    } else {
        p = r->uri.data;
        last = p + r->uri.len;
    }

    return last > p && last[-1] == '/';
}


/*
 * While the request waits (the round trip, the lock, its query): a client
 * that goes away is noticed, unless grapevine_api_ignore_client_abort is
 * on, which keeps the request until its answer, as
 * proxy_ignore_client_abort does (a client that half-closes after its
 * request still reads).
 */

static void
ngx_grapevine_api_wait(ngx_grapevine_api_ctx_t *ctx)
{
    ngx_grapevine_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(ctx->r,
                                        ngx_http_grapevine_api_module);

    ctx->r->read_event_handler = alcf->ignore_client_abort
                                 ? ngx_http_block_reading
                                 : ngx_http_test_reading;
}


/*
 * A miss: an answer is stored with the generation read before its query;
 * with the lock, the first miss for a key runs the query and the others
 * wait for its answer.
 */

static ngx_int_t
ngx_grapevine_api_query(ngx_grapevine_api_ctx_t *ctx)
{
    ngx_int_t                       rc;
    ngx_http_request_t             *r;
    ngx_grapevine_api_main_conf_t  *amcf;

    r = ctx->r;

    ctx->cacheable = ctx->cache && ctx->key.len
                     && ngx_grapevine_cache_generation(ctx->tables, &ctx->gen)
                        == NGX_OK;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_grapevine_api_module);

    if (!ctx->cacheable || !amcf->lock) {
        return ngx_grapevine_api_run(ctx);
    }

    ctx->lock.handler = ngx_grapevine_api_locked;
    ctx->lock.data = ctx;

    rc = ngx_grapevine_cache_lock(&ctx->key, ctx->tables, ctx->gen,
                                  amcf->lock_timeout, &ctx->lock);

    if (rc == NGX_AGAIN) {
        r->main->count++;
        ngx_grapevine_api_wait(ctx);
        return NGX_DONE;
    }

    return ngx_grapevine_api_run(ctx);
}


/* the query, for this request (and, holding the lock, for its waiters) */

static ngx_int_t
ngx_grapevine_api_run(ngx_grapevine_api_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->r;

    ctx->cacheable = ctx->cache && ctx->key.len
                     && ngx_grapevine_cache_generation(ctx->tables, &ctx->gen)
                        == NGX_OK;

    rc = ngx_grapevine_http_query(r, &ctx->q);

    if (rc == NGX_DONE) {
        ngx_grapevine_api_wait(ctx);
        return NGX_DONE;
    }

    ngx_grapevine_api_unlock(ctx, NULL, 0);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_unavailable(r, &ctx->q);
}


/*
 * The lock's answer: the holder's (a hit), or run the query (as the new
 * holder, or on its own).
 */

static void
ngx_grapevine_api_locked(ngx_grapevine_cache_wait_t *w, ngx_chain_t *out,
    size_t size)
{
    ngx_grapevine_api_ctx_t  *ctx;

    ctx = w->data;

    if (out) {
        ngx_grapevine_http_finalize(ctx->r,
                                    ngx_grapevine_api_cached(ctx, out, size));
        return;
    }

    ngx_grapevine_http_finalize(ctx->r, ngx_grapevine_api_run(ctx));
}


/* the holder is done: its answer to its waiters, or none (they run theirs) */

static void
ngx_grapevine_api_unlock(ngx_grapevine_api_ctx_t *ctx, ngx_chain_t *out,
    size_t size)
{
    if (ctx->lock.lock && ctx->lock.holder) {
        ngx_grapevine_cache_unlock(&ctx->lock, out, size);
    }
}


/* the round trip is back: every earlier change is accounted for */

static void
ngx_grapevine_api_crossed(ngx_grapevine_listen_wait_t *w, ngx_uint_t ok)
{
    ngx_str_t                 body;
    ngx_grapevine_api_ctx_t  *ctx;

    ctx = w->data;

    if (ok
        && ngx_grapevine_cache_get(&ctx->key, ctx->tables, ctx->r->pool,
                                   &body)
           == NGX_OK)
    {
        ngx_grapevine_http_finalize(ctx->r,
                                    ngx_grapevine_api_hit(ctx, &body));
        return;
    }

    ngx_grapevine_http_finalize(ctx->r, ngx_grapevine_api_query(ctx));
}


static void
ngx_grapevine_api_unwait(void *data)
{
    ngx_grapevine_api_ctx_t  *ctx = data;

    ngx_grapevine_listen_cancel(&ctx->wait);
    ngx_grapevine_cache_lock_cancel(&ctx->lock);
}


/* an answer made for another request (the lock holder's): a copy */

static ngx_int_t
ngx_grapevine_api_cached(ngx_grapevine_api_ctx_t *ctx, ngx_chain_t *in,
    size_t size)
{
    u_char     *p;
    ngx_str_t   body;

    p = ngx_pnalloc(ctx->r->pool, size ? size : 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;

    for ( /* void */ ; in; in = in->next) {
        p = ngx_cpymem(p, in->buf->pos, in->buf->last - in->buf->pos);
    }

    body.len = p - body.data;

    if (body.len != size) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_api_hit(ctx, &body);
}


/* an answer from the cache, body in the request's pool */

static ngx_int_t
ngx_grapevine_api_hit(ngx_grapevine_api_ctx_t *ctx, ngx_str_t *body)
{
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r;

    r = ctx->r;

    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->start = b->pos;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    if (ngx_grapevine_http_add_header(r, "X-Grapevine-Cache", "HIT")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_api_send(r, cl, body->len, NGX_GRAPEVINE_API_CACHE);
}


static ngx_grapevine_api_route_t *
ngx_grapevine_api_match(ngx_grapevine_segment_t *segs, ngx_uint_t n)
{
    size_t                      len;
    ngx_uint_t                  i;
    ngx_grapevine_api_route_t  *rt;

    for (rt = ngx_grapevine_api_routes; rt->nsegs; rt++) {

        if (rt->nsegs != n) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (rt->segs[i] == NULL) {
                continue;
            }

            len = ngx_strlen(rt->segs[i]);

            if (segs[i].error
                || segs[i].value.len != len
                || ngx_strncmp(segs[i].value.data, rt->segs[i], len) != 0)
            {
                break;
            }
        }

        if (i == n) {
            return rt;
        }
    }

    return NULL;
}


/* the route's path parameters, checked, as query parameters $1, $2 */

static ngx_int_t
ngx_grapevine_api_path_params(ngx_grapevine_api_ctx_t *ctx,
    ngx_grapevine_segment_t *segs, ngx_str_t *error)
{
    ssize_t                      chars;
    ngx_uint_t                   i, k;
    const char                  *name, *err;
    ngx_grapevine_api_route_t   *rt;

    rt = ctx->route;
    k = 0;

    for (i = 0; i < rt->nsegs; i++) {

        if (rt->segs[i] != NULL) {
            continue;
        }

        name = rt->params[k];
        err = segs[i].error;

        if (err == NULL) {
            chars = ngx_grapevine_utf8_chars(segs[i].value.data,
                                                 segs[i].value.len);

            if (chars > NGX_GRAPEVINE_API_NAME_MAX) {
                err = "longer than 100 characters";
            }
        }

        if (err) {
            error->len = ngx_strlen(name) + 2 + ngx_strlen(err);
            error->data = ngx_pnalloc(ctx->r->pool, error->len);
            if (error->data == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(error->data, "%s: %s", name, err);

            return NGX_DECLINED;
        }

        ctx->path[k] = segs[i].value;

        ctx->values[k] = ngx_grapevine_api_cstr(ctx->r->pool, &ctx->path[k]);
        if (ctx->values[k] == NULL) {
            return NGX_ERROR;
        }

        k++;
    }

    return NGX_OK;
}


static const char *
ngx_grapevine_api_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return (const char *) p;
}


/* GET games?online=yes|no|all&name=TEXT&page=N */

static ngx_int_t
ngx_grapevine_api_games_args(ngx_grapevine_api_ctx_t *ctx)
{
    ssize_t                   chars;
    ngx_int_t                 rc;
    ngx_str_t                *v;
    ngx_grapevine_arg_t   args[3];

    ngx_memzero(args, sizeof(args));
    args[0].name = "online";
    args[1].name = "name";
    args[2].name = "page";

    rc = ngx_grapevine_query_args(ctx->r, args, 3, &ctx->q.error);
    if (rc != NGX_OK) {
        return rc;
    }

    v = &args[0].value;

    if (v->data == NULL) {
        ngx_str_set(&ctx->online, "all");

    } else if ((v->len == 3 && ngx_strncmp(v->data, "all", 3) == 0)
               || (v->len == 3 && ngx_strncmp(v->data, "yes", 3) == 0)
               || (v->len == 2 && ngx_strncmp(v->data, "no", 2) == 0))
    {
        ctx->online = *v;

    } else {
        return ngx_grapevine_api_bad(ctx, "%s: must be yes, no or all",
                                     "online");
    }

    v = &args[1].value;

    if (v->data) {
        chars = ngx_grapevine_utf8_chars(v->data, v->len);

        if (chars > NGX_GRAPEVINE_API_NAME_MAX) {
            return ngx_grapevine_api_bad(ctx,
                                         "%s: longer than 100 characters",
                                         "name");
        }

        ctx->name = *v;
    }

    ctx->values[0] = ngx_grapevine_api_cstr(ctx->r->pool, &ctx->online);
    ctx->values[1] = ngx_grapevine_api_cstr(ctx->r->pool, &ctx->name);

    if (ctx->values[0] == NULL || ctx->values[1] == NULL) {
        return NGX_ERROR;
    }

    /* the statement of this kind of list (ngx_grapevine_api_queries.c) */

    if (ctx->name.len) {
        ctx->stmt =
                &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_GAMES_BY_NAME];

    } else if (ctx->online.len != 3
               || ngx_strncmp(ctx->online.data, "all", 3) != 0)
    {
        ctx->stmt =
              &ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMT_GAMES_BY_ONLINE];
    }

    return ngx_grapevine_api_page(ctx, &args[2].value);
}


/* GET games/GAME/characters?page=N, users/NAME?page=N */

static ngx_int_t
ngx_grapevine_api_page_args(ngx_grapevine_api_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_grapevine_arg_t   args[1];

    ngx_memzero(args, sizeof(args));
    args[0].name = "page";

    rc = ngx_grapevine_query_args(ctx->r, args, 1, &ctx->q.error);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_grapevine_api_page(ctx, &args[0].value);
}


/*
 * The "page" parameter (1 when absent), checked; its offset becomes the
 * query's last parameter, after those already set.
 */

static ngx_int_t
ngx_grapevine_api_page(ngx_grapevine_api_ctx_t *ctx, ngx_str_t *value)
{
    u_char      *p;
    uint64_t     page;
    ngx_uint_t   i;

    ctx->page = 1;

    if (value->data) {
        if (ngx_grapevine_parse_uint(value, NGX_GRAPEVINE_API_PAGE_MAX, &page)
            != NGX_OK)
        {
            return ngx_grapevine_api_bad(ctx, "%s: must be an integer from "
                                         "1 to 10000", "page");
        }

        ctx->page = (ngx_uint_t) page;
    }

    for (i = 0; i < 3 && ctx->values[i]; i++) {
        /* void */
    }

    if (i == 3) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(ctx->r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(p, "%ui", (ctx->page - 1) * NGX_GRAPEVINE_API_PAGE_SIZE)
        = '\0';

    ctx->values[i] = (const char *) p;

    return NGX_OK;
}


/* GET channels/NAME/messages?before=ID&limit=N */

static ngx_int_t
ngx_grapevine_api_messages_args(ngx_grapevine_api_ctx_t *ctx)
{
    u_char                   *p;
    uint64_t                  n;
    ngx_int_t                 rc;
    ngx_grapevine_arg_t   args[2];

    ngx_memzero(args, sizeof(args));
    args[0].name = "before";
    args[1].name = "limit";

    rc = ngx_grapevine_query_args(ctx->r, args, 2, &ctx->q.error);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->before = 0;

    if (args[0].value.data) {
        if (ngx_grapevine_parse_uint(&args[0].value,
                                   NGX_GRAPEVINE_API_ID_MAX, &n)
            != NGX_OK)
        {
            return ngx_grapevine_api_bad(ctx, "%s: must be a message id "
                                         "(a positive integer)", "before");
        }

        ctx->before = n;
    }

    ctx->limit = NGX_GRAPEVINE_API_LIMIT_DEFAULT;

    if (args[1].value.data) {
        if (ngx_grapevine_parse_uint(&args[1].value,
                                   NGX_GRAPEVINE_API_LIMIT_MAX, &n)
            != NGX_OK)
        {
            return ngx_grapevine_api_bad(ctx, "%s: must be an integer from "
                                         "1 to 100", "limit");
        }

        ctx->limit = (ngx_uint_t) n;
        ctx->has_limit = 1;
    }

    p = ngx_pnalloc(ctx->r->pool, 2 * (NGX_INT64_LEN + 1));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->values[1] = (const char *) p;
    p = ngx_sprintf(p, "%uL", ctx->before ? ctx->before
                                          : NGX_GRAPEVINE_API_ID_MAX);
    *p++ = '\0';

    ctx->values[2] = (const char *) p;
    *ngx_sprintf(p, "%ui", ctx->limit + 1) = '\0';

    return NGX_OK;
}


/*
 * GET games/GAME/statistics?period=P, statistics?period=P: P is 48h (the
 * default), 7d, 30d or 1y; it becomes the query's last parameter
 */

static ngx_int_t
ngx_grapevine_api_statistics_args(ngx_grapevine_api_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t            *v;
    ngx_uint_t            i;
    ngx_grapevine_arg_t   args[1];

    ngx_memzero(args, sizeof(args));
    args[0].name = "period";

    rc = ngx_grapevine_query_args(ctx->r, args, 1, &ctx->q.error);
    if (rc != NGX_OK) {
        return rc;
    }

    v = &args[0].value;

    if (v->data == NULL) {
        ngx_str_set(&ctx->period, "48h");

    } else if ((v->len == 3 && ngx_strncmp(v->data, "48h", 3) == 0)
               || (v->len == 2 && ngx_strncmp(v->data, "7d", 2) == 0)
               || (v->len == 3 && ngx_strncmp(v->data, "30d", 3) == 0)
               || (v->len == 2 && ngx_strncmp(v->data, "1y", 2) == 0))
    {
        ctx->period = *v;

    } else {
        return ngx_grapevine_api_bad(ctx, "%s: must be 48h, 7d, 30d or 1y",
                                     "period");
    }

    for (i = 0; i < 2 && ctx->values[i]; i++) {
        /* void */
    }

    ctx->values[i] = ngx_grapevine_api_cstr(ctx->r->pool, &ctx->period);
    if (ctx->values[i] == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_grapevine_api_bad(ngx_grapevine_api_ctx_t *ctx, const char *fmt,
    const char *name)
{
    u_char  *p;

    p = ngx_pnalloc(ctx->r->pool, ngx_strlen(fmt) + ngx_strlen(name));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->q.error.data = p;
    ctx->q.error.len = ngx_sprintf(p, fmt, name) - p;

    return NGX_DECLINED;
}


static void
ngx_grapevine_api_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_int_t                 rc;
    ngx_str_t                 msg;
    ngx_chain_t              *out;
    ngx_http_request_t       *r;
    ngx_grapevine_api_ctx_t  *ctx;

    ctx = (ngx_grapevine_api_ctx_t *) q;
    r = ctx->r;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_grapevine_api_unlock(ctx, NULL, 0);
        ngx_grapevine_http_finalize(r, ngx_grapevine_api_failed(ctx, res));
        return;
    }

    ctx->j = ngx_grapevine_json_create(r->pool);
    if (ctx->j == NULL) {
        ngx_grapevine_api_unlock(ctx, NULL, 0);
        ngx_grapevine_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ctx->route->write(ctx, res);

    out = (rc == NGX_OK) ? ngx_grapevine_json_finish(ctx->j) : NULL;

    /*
     * stored first, so that other workers waiting for it find it; then the
     * waiters of this worker get the answer, or run their own queries
     */

    if (out && ctx->cacheable) {
        ngx_grapevine_cache_put(&ctx->key, ctx->gen, ctx->tables, out,
                                ctx->j->size);
    }

    ngx_grapevine_api_unlock(ctx, out, out ? ctx->j->size : 0);

    if (rc == NGX_DECLINED) {
        msg.len = ngx_strlen(ctx->route->what) + sizeof(" not found") - 1;
        msg.data = ngx_pnalloc(r->pool, msg.len);
        if (msg.data == NULL) {
            ngx_grapevine_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_sprintf(msg.data, "%s not found", ctx->route->what);

        ngx_grapevine_http_finalize(r,
            ngx_grapevine_api_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                    &msg));
        return;
    }

    if (out == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine: could not write the API response");
        ngx_grapevine_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->cacheable) {
        if (ngx_grapevine_http_add_header(r, "X-Grapevine-Cache", "MISS")
            != NGX_OK)
        {
            ngx_grapevine_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    ngx_grapevine_http_finalize(r,
        ngx_grapevine_api_send(r, out, ctx->j->size,
                               NGX_GRAPEVINE_API_CACHE));
}


ngx_int_t
ngx_grapevine_api_failed(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    ngx_str_t            msg;
    ngx_http_request_t  *r;

    r = ctx->r;

    /* the database is away, or too slow: statement_timeout (57014) */

    if (ctx->q.unavailable || ctx->q.timed_out
        || ngx_grapevine_pg_sqlstate(res, "57014"))
    {
        if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_grapevine_http_unavailable(r, &ctx->q);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "grapevine: API query failed: %V", &ctx->q.error);

    ngx_str_set(&msg, "the query failed");

    return ngx_grapevine_api_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "internal_error", &msg);
}


/*
 * The OpenAPI document, with this location's prefix as the server's URL
 * (paths in the document are relative to it).
 */

static ngx_int_t
ngx_grapevine_api_openapi(ngx_grapevine_api_ctx_t *ctx)
{
    u_char              *p;
    size_t               len, size;
    ngx_buf_t           *b[3];
    ngx_uint_t           i;
    ngx_chain_t         *cl, *out, **ll;
    ngx_http_request_t  *r;

    r = ctx->r;

    /* the prefix without its final "/", or "/" alone, as a JSON string */

    len = ctx->prefix.len > 1 ? ctx->prefix.len - 1 : 1;

    p = ngx_pnalloc(r->pool, 2 + len
                             + ngx_escape_json(NULL, ctx->prefix.data, len));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < 3; i++) {
        b[i] = ngx_calloc_buf(r->pool);
        if (b[i] == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b[i]->memory = 1;
    }

    b[0]->pos = (u_char *) ngx_grapevine_openapi_head;
    b[0]->last = b[0]->pos + ngx_strlen(ngx_grapevine_openapi_head);

    b[1]->pos = p;
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, ctx->prefix.data, len);
    *p++ = '"';
    b[1]->last = p;

    b[2]->pos = (u_char *) ngx_grapevine_openapi_tail;
    b[2]->last = b[2]->pos + ngx_strlen(ngx_grapevine_openapi_tail);
    b[2]->last_buf = 1;
    b[2]->last_in_chain = 1;

    out = NULL;
    ll = &out;
    size = 0;

    for (i = 0; i < 3; i++) {
        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cl->buf = b[i];
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
        size += b[i]->last - b[i]->pos;
    }

    return ngx_grapevine_api_send(r, out, size,
                                  NGX_GRAPEVINE_API_CACHE_STATIC);
}


/*
 * A 200 with its ETag, or what its preconditions make of it (RFC 9110,
 * 13.2.2: If-Match, then If-None-Match; there is no Last-Modified, so
 * If-Unmodified-Since and If-Modified-Since are ignored).
 */

static ngx_int_t
ngx_grapevine_api_send(ngx_http_request_t *r, ngx_chain_t *out, size_t size,
    const char *cache)
{
    u_char                  *p;
    ngx_int_t                rc;
    ngx_str_t                etag, msg;
    ngx_chain_t             *cl;
    ngx_table_elt_t         *h;
    ngx_grapevine_hash64_t   hs;

    ngx_grapevine_hash64_init(&hs, size);

    for (cl = out; cl; cl = cl->next) {
        ngx_grapevine_hash64_update(&hs, cl->buf->pos,
                                    cl->buf->last - cl->buf->pos);
    }

    p = ngx_pnalloc(r->pool, sizeof("\"0123456789abcdef\"") - 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    etag.data = p;
    etag.len = ngx_sprintf(p, "\"%016xL\"",
                           ngx_grapevine_hash64_final(&hs)) - p;

    /* nginx's not_modified filter would read the dates: see above */
    r->disable_not_modified = 1;

    if (r->headers_in.if_match
        && !ngx_grapevine_api_etag_match(r->headers_in.if_match, &etag, 0))
    {
        ngx_str_set(&msg,
                    "If-Match: the answer's ETag is not one of those given");
        return ngx_grapevine_api_error(r, NGX_HTTP_PRECONDITION_FAILED,
                                       "precondition_failed", &msg);
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "ETag");
    h->value = etag;
    r->headers_out.etag = h;

    if (ngx_grapevine_api_headers(r, cache) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.charset.len = 0;

    if (r->headers_in.if_none_match
        && ngx_grapevine_api_etag_match(r->headers_in.if_none_match, &etag,
                                        1))
    {
        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->headers_out.content_length_n = -1;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = size;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/*
 * Whether an If-Match (weak 0: the strong comparison) or If-None-Match
 * (weak 1) list holds etag, or is "*" (nginx's ngx_http_test_if_match()).
 */

static ngx_uint_t
ngx_grapevine_api_etag_match(ngx_table_elt_t *header, ngx_str_t *etag,
    ngx_uint_t weak)
{
    u_char     *start, *end, ch;
    ngx_str_t  *list;

    list = &header->value;

    if (list->len == 1 && list->data[0] == '*') {
        return 1;
    }

    start = list->data;
    end = list->data + list->len;

    while (start < end) {

        if (weak && end - start > 2 && start[0] == 'W' && start[1] == '/') {
            start += 2;
        }

        if (etag->len > (size_t) (end - start)) {
            return 0;
        }

        if (ngx_strncmp(start, etag->data, etag->len) == 0) {
            start += etag->len;

            while (start < end && (*start == ' ' || *start == '\t')) {
                start++;
            }

            if (start == end || *start == ',') {
                return 1;
            }
        }

        /* the next tag */

        while (start < end && *start != ',') {
            start++;
        }

        while (start < end) {
            ch = *start;

            if (ch != ' ' && ch != '\t' && ch != ',') {
                break;
            }

            start++;
        }
    }

    return 0;
}


/* on every API response: CORS, caching, no sniffing */

ngx_int_t
ngx_grapevine_api_headers(ngx_http_request_t *r, const char *cache)
{
    if (ngx_grapevine_http_add_header(r, "Access-Control-Allow-Origin", "*")
        != NGX_OK
        || ngx_grapevine_http_add_header(r, "X-Content-Type-Options",
                                         "nosniff")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Access-Control-Expose-Headers",
                                         "ETag, Retry-After")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Cache-Control", cache)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a CORS preflight: 204, what browsers may send */

static ngx_int_t
ngx_grapevine_api_preflight(ngx_http_request_t *r)
{
    if (ngx_grapevine_http_add_header(r, "Access-Control-Allow-Origin", "*")
        != NGX_OK
        || ngx_grapevine_http_add_header(r, "Access-Control-Allow-Methods",
                                         NGX_GRAPEVINE_API_METHODS)
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Access-Control-Allow-Headers",
                                         "Accept, Content-Type, "
                                         "If-None-Match")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Access-Control-Max-Age",
                                         "86400")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Allow",
                                         NGX_GRAPEVINE_API_METHODS)
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "X-Content-Type-Options",
                                         "nosniff")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* {"error": {"code": code, "message": message}}, never cached */

ngx_int_t
ngx_grapevine_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *message)
{
    if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_grapevine_http_add_header(r, "Allow",
                                         NGX_GRAPEVINE_API_METHODS)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_error(r, status, code, message);
}

