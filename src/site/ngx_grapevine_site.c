
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sodium.h>

#include "ngx_grapevine_site.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_params.h"


#define NGX_GRAPEVINE_SITE_SEGMENT_MAX  100
#define NGX_GRAPEVINE_SITE_SEGMENTS     8       /* more than any route */


static void *ngx_grapevine_site_create_main_conf(ngx_conf_t *cf);
static char *ngx_grapevine_site_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_grapevine_site_create_loc_conf(ngx_conf_t *cf);
static ngx_int_t ngx_grapevine_site_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_grapevine_site_log(ngx_http_request_t *r);
static char *ngx_grapevine_site_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_site_password_hash(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_grapevine_site_throttle(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_site_sign_up_throttle(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_grapevine_site_chat_rate(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_grapevine_site_chat_length(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_grapevine_site_period(ngx_str_t *value,
    time_t *period);
static ngx_int_t ngx_grapevine_site_number(ngx_str_t *value, size_t skip,
    ngx_uint_t min, ngx_uint_t max, ngx_uint_t *n);
static char *ngx_grapevine_site_lifetime(ngx_conf_t *cf, void *post,
    void *data);

static ngx_int_t ngx_grapevine_site_handler(ngx_http_request_t *r);
static ngx_grapevine_site_route_t *ngx_grapevine_site_match(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_segment_t *segs,
    ngx_uint_t n, ngx_uint_t *allowed);
static ngx_int_t ngx_grapevine_site_path(ngx_grapevine_site_ctx_t *ctx,
    const char *pattern, ngx_grapevine_segment_t *segs, ngx_uint_t n);
static void ngx_grapevine_site_accept(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t json);
static void ngx_grapevine_site_begin(ngx_grapevine_req_t *rq);
static void ngx_grapevine_site_go(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_site_sign_in_first(ngx_grapevine_site_ctx_t *ctx);
static ngx_int_t ngx_grapevine_site_csrf_ok(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_site_form_page(ngx_grapevine_site_ctx_t *ctx);
static ngx_int_t ngx_grapevine_site_decorate(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_grapevine_value_t *data);
static void ngx_grapevine_site_cookies(ngx_grapevine_site_ctx_t *ctx);
static ngx_int_t ngx_grapevine_site_retry_after(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static ngx_int_t ngx_grapevine_site_user_agent(ngx_grapevine_site_ctx_t *ctx);


static ngx_grapevine_status_reporter_t  ngx_grapevine_site_hashes_reporter = {
    "password_hashes", NULL, 0, ngx_grapevine_account_status, NULL
};


static ngx_conf_post_t  ngx_grapevine_site_lifetime_post = {
    ngx_grapevine_site_lifetime
};


static ngx_conf_post_t  ngx_grapevine_site_chat_length_post = {
    ngx_grapevine_site_chat_length
};


static ngx_command_t  ngx_grapevine_site_commands[] = {

    { ngx_string("grapevine_site"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_grapevine_site_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_site_conf_t, thread_pool_name),
      NULL },

    { ngx_string("grapevine_password_hash"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_grapevine_site_password_hash,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_sign_in_throttle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_grapevine_site_throttle,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_sign_up_throttle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_grapevine_site_sign_up_throttle,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_site_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_site_conf_t, cache),
      NULL },

    { ngx_string("grapevine_session_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_site_conf_t, session_ttl),
      &ngx_grapevine_site_lifetime_post },

    { ngx_string("grapevine_chat_max_length"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_site_conf_t, chat_length),
      &ngx_grapevine_site_chat_length_post },

    { ngx_string("grapevine_chat_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_grapevine_site_chat_rate,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_grapevine_site_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_grapevine_site_postconfiguration,  /* postconfiguration */

    ngx_grapevine_site_create_main_conf,   /* create main configuration */
    ngx_grapevine_site_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_grapevine_site_create_loc_conf,    /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_grapevine_site_module = {
    NGX_MODULE_V1,
    &ngx_grapevine_site_module_ctx,        /* module context */
    ngx_grapevine_site_commands,           /* module directives */
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


/* ------------------------------------------------------------- config */


static void *
ngx_grapevine_site_create_main_conf(ngx_conf_t *cf)
{
    ngx_grapevine_site_conf_t  *sc;

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_site_conf_t));
    if (sc == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     sc->thread_pool_name = { 0, NULL };
     *     sc->pw_set = 0;
     *     sc->throttle_set = 0;
     *     sc->sign_up_set = 0;
     *     sc->used = 0;
     */

    sc->session_ttl = NGX_CONF_UNSET;
    sc->cache = NGX_CONF_UNSET;
    sc->chat_length = NGX_CONF_UNSET;
    sc->chat_rate = NGX_CONF_UNSET_UINT;
    sc->chat_burst = NGX_CONF_UNSET_UINT;

    return sc;
}


static void *
ngx_grapevine_site_create_loc_conf(ngx_conf_t *cf)
{
    ngx_grapevine_site_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_site_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->app = NULL;
     */

    return slcf;
}


static char *
ngx_grapevine_site_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_grapevine_site_location(cf, &ngx_grapevine_site_app);
}


/*
 * A location of the site's request machinery: the site's own pages, or an
 * application's that plugs into it (Raisin): its handler, its prepared
 * statement and the templates it needs.
 */

char *
ngx_grapevine_site_location(ngx_conf_t *cf, ngx_grapevine_site_app_t *app)
{
    ngx_http_core_loc_conf_t       *clcf;
    ngx_grapevine_site_conf_t      *sc;
    ngx_grapevine_site_route_t     *route;
    ngx_grapevine_site_loc_conf_t  *slcf;

    sc = ngx_http_conf_get_module_main_conf(cf,
                                            ngx_http_grapevine_site_module);
    slcf = ngx_http_conf_get_module_loc_conf(cf,
                                             ngx_http_grapevine_site_module);

    if (slcf->app) {
        return "is duplicate";
    }

    slcf->app = app;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_grapevine_site_handler;

    if (app == &ngx_grapevine_site_app && !sc->used) {
        sc->used = 1;
        sc->used_file = cf->conf_file->file.name.data;
        sc->used_line = cf->conf_file->line;
    }

    ngx_grapevine_mark_used(cf, app->directive);

    if (ngx_grapevine_prepare(cf, &ngx_grapevine_site_session_stmt)
        != NGX_OK
        || ngx_grapevine_need_templates(cf, app->directive, app->templates)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (route = app->routes; route->method; route++) {
        if (route->stmt && ngx_grapevine_prepare(cf, route->stmt) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* whether grapevine_site is used in the http block */

ngx_int_t
ngx_grapevine_site_used(ngx_conf_t *cf)
{
    ngx_grapevine_site_conf_t  *sc;

    sc = ngx_http_conf_get_module_main_conf(cf,
                                            ngx_http_grapevine_site_module);

    return sc->used;
}


/* grapevine_password_hash [ops=N] [memory=SIZE] [running=N] [queue=N]; */

static char *
ngx_grapevine_site_password_hash(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_grapevine_site_conf_t *sc = conf;

    ngx_int_t    n;
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    if (sc->pw_set) {
        return "is duplicate";
    }

    sc->pw_set = 1;
    sc->pw_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    sc->pw_memory = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    sc->pw_running = NGX_GRAPEVINE_SITE_HASH_RUNNING;
    sc->pw_queue = NGX_GRAPEVINE_SITE_HASH_QUEUE;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "ops=", 4) == 0) {
            n = ngx_atoi(value[i].data + 4, value[i].len - 4);
            if (n == NGX_ERROR
                || (ngx_uint_t) n < crypto_pwhash_OPSLIMIT_MIN
                || n > 100)
            {
                goto invalid;
            }

            sc->pw_ops = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "memory=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            n = ngx_parse_size(&s);
            if (n == NGX_ERROR || (size_t) n < crypto_pwhash_MEMLIMIT_MIN
                || (size_t) n > 4096 * 1024 * 1024ULL)
            {
                goto invalid;
            }

            sc->pw_memory = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "running=", 8) == 0) {
            if (ngx_grapevine_site_number(&value[i], 8, 1, 1024,
                                          &sc->pw_running)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "queue=", 6) == 0) {
            if (ngx_grapevine_site_number(&value[i], 6, 0, 65536,
                                          &sc->pw_queue)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": invalid parameter "
                       "\"%V\"", &cmd->name, &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * grapevine_sign_in_throttle [account=N] [address=N] [backstop=N]
 *                            [period=TIME];
 */

static char *
ngx_grapevine_site_throttle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_site_conf_t *sc = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (sc->throttle_set) {
        return "is duplicate";
    }

    sc->throttle_set = 1;
    sc->throttle_account = NGX_GRAPEVINE_SITE_THROTTLE_ACCOUNT;
    sc->throttle_address = NGX_GRAPEVINE_SITE_THROTTLE_ADDRESS;
    sc->throttle_backstop = NGX_CONF_UNSET_UINT;
    sc->throttle_period = NGX_GRAPEVINE_SITE_THROTTLE_PERIOD;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "account=", 8) == 0) {
            n = ngx_atoi(value[i].data + 8, value[i].len - 8);
            if (n < 1 || n > 1000000) {
                goto invalid;
            }

            sc->throttle_account = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "address=", 8) == 0) {
            n = ngx_atoi(value[i].data + 8, value[i].len - 8);
            if (n < 1 || n > 1000000) {
                goto invalid;
            }

            sc->throttle_address = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "backstop=", 9) == 0) {
            if (ngx_grapevine_site_number(&value[i], 9, 1, 1000000,
                                          &sc->throttle_backstop)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "period=", 7) == 0) {
            if (ngx_grapevine_site_period(&value[i], &sc->throttle_period)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (sc->throttle_backstop == NGX_CONF_UNSET_UINT) {
        sc->throttle_backstop = ngx_max(NGX_GRAPEVINE_SITE_THROTTLE_BACKSTOP,
                                        sc->throttle_account);

    } else if (sc->throttle_backstop < sc->throttle_account) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": backstop=%ui must "
                           "be at least account=%ui (it counts the "
                           "account's failures from every address)",
                           &cmd->name, sc->throttle_backstop,
                           sc->throttle_account);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": invalid parameter "
                       "\"%V\"", &cmd->name, &value[i]);

    return NGX_CONF_ERROR;
}


/* grapevine_sign_up_throttle [address=N] [period=TIME]; */

static char *
ngx_grapevine_site_sign_up_throttle(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_grapevine_site_conf_t *sc = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (sc->sign_up_set) {
        return "is duplicate";
    }

    sc->sign_up_set = 1;
    sc->sign_up_address = NGX_GRAPEVINE_SITE_SIGN_UP_ADDRESS;
    sc->sign_up_period = NGX_GRAPEVINE_SITE_SIGN_UP_PERIOD;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "address=", 8) == 0) {
            if (ngx_grapevine_site_number(&value[i], 8, 1, 1000000,
                                          &sc->sign_up_address)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "period=", 7) == 0) {
            if (ngx_grapevine_site_period(&value[i], &sc->sign_up_period)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": invalid parameter "
                       "\"%V\"", &cmd->name, &value[i]);

    return NGX_CONF_ERROR;
}


/* grapevine_chat_rate RATE [burst=N]; as limit_req's */

static char *
ngx_grapevine_site_chat_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_site_conf_t *sc = conf;

    if (sc->chat_rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    sc->chat_rate = NGX_GRAPEVINE_SITE_CHAT_RATE;
    sc->chat_burst = NGX_GRAPEVINE_SITE_CHAT_BURST;

    return ngx_grapevine_conf_rate(cf, &sc->chat_rate, &sc->chat_burst,
                                   1000);
}


static char *
ngx_grapevine_site_chat_length(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np < 1 || *np > NGX_GRAPEVINE_SITE_CHAT_LENGTH_MAX) {
        return "must be a number of characters from 1 to 2048";
    }

    return NGX_CONF_OK;
}


/* the time after a parameter's "period=", from 1s to 1d */

static ngx_int_t
ngx_grapevine_site_period(ngx_str_t *value, time_t *period)
{
    ngx_int_t  n;
    ngx_str_t  s;

    s.data = value->data + 7;
    s.len = value->len - 7;

    n = ngx_parse_time(&s, 1);

    if (n == NGX_ERROR || n < 1 || n > 86400) {
        return NGX_ERROR;
    }

    *period = n;

    return NGX_OK;
}


/* the number after a parameter's "name=", from min to max */

static ngx_int_t
ngx_grapevine_site_number(ngx_str_t *value, size_t skip, ngx_uint_t min,
    ngx_uint_t max, ngx_uint_t *n)
{
    ngx_int_t  v;

    if (value->len <= skip) {
        return NGX_ERROR;
    }

    v = ngx_atoi(value->data + skip, value->len - skip);

    if (v == NGX_ERROR || (ngx_uint_t) v < min || (ngx_uint_t) v > max) {
        return NGX_ERROR;
    }

    *n = v;

    return NGX_OK;
}


static char *
ngx_grapevine_site_lifetime(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *tp = data;

    if (*tp < 60 || *tp > 366 * 86400) {
        return "must be a time between 1m and 366d";
    }

    return NGX_CONF_OK;
}


/*
 * After the http block: defaults, the thread pool claimed, libsodium
 * prepared.  Nothing to do without a grapevine_site location.
 */

static char *
ngx_grapevine_site_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_grapevine_site_conf_t *sc = conf;

    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_grapevine_conf(cf);

    if (sc->thread_pool_name.data == NULL) {
        ngx_str_set(&sc->thread_pool_name, "default");
    }

    if (!sc->pw_set) {
        sc->pw_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        sc->pw_memory = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        sc->pw_running = NGX_GRAPEVINE_SITE_HASH_RUNNING;
        sc->pw_queue = NGX_GRAPEVINE_SITE_HASH_QUEUE;
    }

    if (!sc->throttle_set) {
        sc->throttle_account = NGX_GRAPEVINE_SITE_THROTTLE_ACCOUNT;
        sc->throttle_address = NGX_GRAPEVINE_SITE_THROTTLE_ADDRESS;
        sc->throttle_backstop = NGX_GRAPEVINE_SITE_THROTTLE_BACKSTOP;
        sc->throttle_period = NGX_GRAPEVINE_SITE_THROTTLE_PERIOD;
    }

    if (!sc->sign_up_set) {
        sc->sign_up_address = NGX_GRAPEVINE_SITE_SIGN_UP_ADDRESS;
        sc->sign_up_period = NGX_GRAPEVINE_SITE_SIGN_UP_PERIOD;
    }

    ngx_conf_init_value(sc->session_ttl, 30 * 86400);
    ngx_conf_init_value(sc->cache, 1);
    ngx_conf_init_value(sc->chat_length, NGX_GRAPEVINE_SITE_CHAT_LENGTH);
    ngx_conf_init_uint_value(sc->chat_rate, NGX_GRAPEVINE_SITE_CHAT_RATE);
    ngx_conf_init_uint_value(sc->chat_burst, NGX_GRAPEVINE_SITE_CHAT_BURST);

    sc->name = gmcf->name;

    if (!sc->used || gmcf->db == NULL) {
        /* core's postconfiguration reports a missing database */
        return NGX_CONF_OK;
    }

#if (NGX_THREADS)

    sc->thread_pool = ngx_thread_pool_add(cf, &sc->thread_pool_name);
    if (sc->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

#else

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "grapevine_site needs nginx built --with-threads "
                  "(passwords are hashed in a thread pool)");
    return NGX_CONF_ERROR;

#endif

    if (sodium_init() < 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "grapevine_site: libsodium cannot be initialised");
        return NGX_CONF_ERROR;
    }

    if (ngx_grapevine_account_hash_dummy(cf, sc) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The log phase: the requests of the site's locations, and of the
 * applications that plug into it (Raisin), each counted in its app's metric
 * (registered by its module).
 */

static ngx_int_t
ngx_grapevine_site_log(ngx_http_request_t *r)
{
    ngx_http_core_loc_conf_t       *clcf;
    ngx_grapevine_site_loc_conf_t  *slcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->handler != ngx_grapevine_site_handler) {
        return NGX_OK;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_grapevine_site_module);

    if (slcf->app && slcf->app->requests) {
        ngx_grapevine_metric_request(slcf->app->requests, r);
    }

    return NGX_OK;
}


/* after core's: its templates are loaded; the tell handler registered */

static ngx_int_t
ngx_grapevine_site_postconfiguration(ngx_conf_t *cf)
{
    ngx_grapevine_site_conf_t  *sc;

    sc = ngx_http_conf_get_module_main_conf(cf,
                                            ngx_http_grapevine_site_module);

    sc->set = ngx_grapevine_conf(cf)->template_set;

    if (!sc->used) {
        return NGX_OK;
    }

    if (ngx_grapevine_account_prepare(cf) != NGX_OK
        || ngx_grapevine_site_cache_conf(cf, sc) != NGX_OK
        || ngx_grapevine_add_status(cf, &ngx_grapevine_site_hashes_reporter)
           != NGX_OK
        || ngx_grapevine_metrics_requests(cf, ngx_grapevine_site_app.requests,
                                          ngx_grapevine_site_log)
           != NGX_OK
        || ngx_grapevine_account_metrics(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_grapevine_add_tell_handler(cf, &ngx_grapevine_register_tell);
}


/* ------------------------------------------------------------ requests */


/*
 * A request of the site, or of an application plugged into it: its route
 * is found without the database (404, 405 at once), its body read, then
 * its session looked up, who may use it and its CSRF token checked, and
 * the route run.
 */

static ngx_int_t
ngx_grapevine_site_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_str_t                       root;
    ngx_uint_t                      allowed, n;
    ngx_grapevine_site_ctx_t       *ctx;
    ngx_grapevine_site_conf_t      *sc;
    ngx_grapevine_site_route_t     *route;
    ngx_grapevine_site_loc_conf_t  *slcf;
    ngx_grapevine_segment_t         segs[NGX_GRAPEVINE_SITE_SEGMENTS];

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_grapevine_site_module);
    sc = ngx_http_get_module_main_conf(r, ngx_http_grapevine_site_module);

    ctx = (ngx_grapevine_site_ctx_t *) ngx_grapevine_req_create(r,
                                      sizeof(ngx_grapevine_site_ctx_t), NULL);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->conf = sc;
    ctx->app = slcf->app;

    ctx->look.set = sc->set;
    ctx->look.site_name = sc->name;
    ctx->look.words = ctx->app->words;

    ctx->rq.conf = &ctx->look;
    ctx->rq.decorate = ngx_grapevine_site_decorate;
    ctx->rq.cleanup = ngx_grapevine_account_pw_cleanup;

    ngx_grapevine_site_accept(ctx, ctx->app->json);

    ngx_grapevine_site_cookies(ctx);

    ctx->rq.sync = 1;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_NOT_ALLOWED, NULL, NULL);
        return ctx->rq.rc;
    }

    /*
     * The path's segments, percent-decoded one by one (as the API's), so
     * that "%2F" is part of a name ("/games/a%2Fb"), not a separator as
     * in nginx's decoded r->uri.
     */

    ngx_str_null(&root);

    rc = ngx_grapevine_path_segments(r, &root, segs,
                                     NGX_GRAPEVINE_SITE_SEGMENTS, &n);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        n = NGX_GRAPEVINE_SITE_SEGMENTS + 1;    /* no route is as deep */
    }

    route = ngx_grapevine_site_match(ctx, segs, n, &allowed);

    if (route == NULL) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ngx_grapevine_req_error(&ctx->rq, allowed ? NGX_HTTP_NOT_ALLOWED
                                                  : NGX_HTTP_NOT_FOUND,
                                NULL, NULL);
        return ctx->rq.rc;
    }

    ctx->route = route;

    if (!ctx->app->json && (route->flags & NGX_GRAPEVINE_SITE_JSON)) {
        ngx_grapevine_site_accept(ctx, 1);
    }

    if (route->flags & NGX_GRAPEVINE_SITE_FORMS) {
        ctx->rq.no_store = 1;
    }

    ctx->rq.sync = 0;

    if (r->method == NGX_HTTP_POST) {
        return ngx_grapevine_req_read_body(&ctx->rq,
                                           ngx_grapevine_site_begin);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->rq.sync = 1;

    ngx_grapevine_site_begin(&ctx->rq);

    ctx->rq.sync = 0;

    if (ctx->rq.finished) {
        return ctx->rq.rc;
    }

    r->main->count++;

    return NGX_DONE;
}


/*
 * Whether the request may answer JSON (an application's, or a route's that
 * does): then a JSON body is read as a form, the CSRF token may come in
 * X-CSRF-Token, and a client that accepts application/json gets JSON.
 */

static void
ngx_grapevine_site_accept(ngx_grapevine_site_ctx_t *ctx, ngx_uint_t json)
{
    ngx_table_elt_t  *h;

    ctx->rq.json_bodies = json;

    if (!json) {
        return;
    }

    h = ngx_grapevine_req_header(ctx->rq.r, "Accept");

    if (h && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                              (u_char *) "application/json",
                              sizeof("application/json") - 2)
             != NULL)
    {
        ctx->rq.json = 1;
    }
}


/*
 * The route of the request's method and path segments.  NULL when there is
 * none: *allowed says whether the path has a route of another method
 * (405) or not (404).  An application's last route, of no method, takes
 * the paths that match none, when its access is checked first (Raisin's).
 */

static ngx_grapevine_site_route_t *
ngx_grapevine_site_match(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_segment_t *segs, ngx_uint_t n, ngx_uint_t *allowed)
{
    ngx_uint_t                   method;
    ngx_http_request_t          *r;
    ngx_grapevine_site_route_t  *route;

    r = ctx->rq.r;
    method = (r->method == NGX_HTTP_POST) ? NGX_HTTP_POST : NGX_HTTP_GET;
    *allowed = 0;

    for (route = ctx->app->routes; route->method; route++) {

        if (ngx_grapevine_site_path(ctx, route->path, segs, n) != NGX_OK) {
            continue;
        }

        if (route->method == method) {
            return route;
        }

        *allowed = 1;
    }

    if (*allowed) {
        return NULL;
    }

    /* the answer to every other path: a 404 page that knows who asks */

    ctx->nparams = 0;

    if (route->path == NULL
        || (method == NGX_HTTP_POST
            && route->access == NGX_GRAPEVINE_SITE_ANYONE))
    {
        return NULL;
    }

    return route;
}


/*
 * The path's segments match the pattern's ("/games/{short_name}"): its
 * {name} segments into ctx->params, decoded.  A segment that could not
 * be decoded matches no fixed segment, and is a parameter as it was sent
 * (no name is found by it).
 */

static ngx_int_t
ngx_grapevine_site_path(ngx_grapevine_site_ctx_t *ctx, const char *pattern,
    ngx_grapevine_segment_t *segs, ngx_uint_t n)
{
    size_t       len;
    ngx_uint_t   i;
    const char  *q, *s;

    ctx->nparams = 0;
    q = pattern;

    for (i = 0; /* void */ ; i++) {

        while (*q == '/') {
            q++;
        }

        if (*q == '\0') {
            break;
        }

        s = q;

        while (*q && *q != '/') {
            q++;
        }

        len = q - s;

        if (i == n) {
            return NGX_DECLINED;
        }

        if (*s == '{') {
            if (ctx->nparams == NGX_GRAPEVINE_SITE_PARAMS
                || len < 3 || s[len - 1] != '}'
                || segs[i].value.len == 0
                || segs[i].value.len > NGX_GRAPEVINE_SITE_SEGMENT_MAX)
            {
                return NGX_DECLINED;
            }

            ctx->params[ctx->nparams].name.data = (u_char *) s + 1;
            ctx->params[ctx->nparams].name.len = len - 2;
            ctx->params[ctx->nparams].value = segs[i].value;
            ctx->nparams++;

            continue;
        }

        if (segs[i].error
            || segs[i].value.len != len
            || ngx_strncmp(segs[i].value.data, s, len) != 0)
        {
            return NGX_DECLINED;
        }
    }

    return (i == n) ? NGX_OK : NGX_DECLINED;
}


/* the request's session first, when it has a cookie */

static void
ngx_grapevine_site_begin(ngx_grapevine_req_t *rq)
{
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (ctx->session.len == 0) {
        ngx_grapevine_site_go(ctx);
        return;
    }

    if (ngx_grapevine_site_cache_session(ctx) != NGX_DECLINED) {
        return;
    }

    ngx_grapevine_req_run(rq, &ngx_grapevine_site_session_stmt, 1,
                          &ctx->session, ngx_grapevine_site_session);
}


/* the session's entry (site_session_entry()): its "me", or NULL */

void
ngx_grapevine_site_session(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    res = (res->type == NGX_GRAPEVINE_VALUE_OBJECT)
          ? ngx_grapevine_req_get(res, "me") : NULL;

    if (res && res->type == NGX_GRAPEVINE_VALUE_OBJECT) {
        ctx->me = res;

        /* the statements of the route get the user as their $1 */

        if (ngx_grapevine_req_json_text(rq, res, &ctx->me_json) != NGX_OK) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    ngx_grapevine_site_go(ctx);
}


/*
 * The one place where a request's session and its CSRF token are checked:
 * who may use the route, then a POST's token (the session's, or the
 * anonymous cookie's before signing in), then the route runs.
 */

static void
ngx_grapevine_site_go(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_grapevine_value_t       *v;
    ngx_grapevine_site_route_t  *route;

    route = ctx->route;

    if (route->access != NGX_GRAPEVINE_SITE_ANYONE && ctx->me == NULL) {
        ngx_grapevine_site_sign_in_first(ctx);
        return;
    }

    if (route->access == NGX_GRAPEVINE_SITE_MODERATOR) {
        v = ngx_grapevine_req_get(ctx->me, "moderator");

        if (v == NULL || !ngx_grapevine_value_truthy(v)) {
            ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_FORBIDDEN,
                                    "moderators_only", NULL);
            return;
        }
    }

    if (ctx->rq.r->method == NGX_HTTP_POST
        && ngx_grapevine_site_csrf_ok(ctx) != NGX_OK)
    {
        ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_FORBIDDEN, "csrf", NULL);
        return;
    }

    if (route->method == 0) {
        /* a path the application does not have, asked by whom may know */
        ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_NOT_FOUND, "no_page",
                                NULL);
        return;
    }

    if (route->post) {
        route->post(ctx);
        return;
    }

    if (route->stmt == NULL) {
        ngx_grapevine_site_form_page(ctx);
        return;
    }

    if (ngx_grapevine_site_route_args(ctx) != NGX_OK) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_cache_page(ctx);
}


/*
 * Signed out where one must be signed in: a browser goes to the sign-in
 * page and comes back after it (a page, or the application's home for
 * what is not a page); a tool is told 401.
 */

static void
ngx_grapevine_site_sign_in_first(ngx_grapevine_site_ctx_t *ctx)
{
    u_char              *p;
    size_t               len;
    ngx_str_t            back, location;
    ngx_http_request_t  *r;

    r = ctx->rq.r;

    if (ctx->rq.json) {
        ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_UNAUTHORIZED,
                                "sign_in_first", NULL);
        return;
    }

    if (r->method == NGX_HTTP_POST && ctx->app->home == NULL) {
        ngx_str_set(&location, "/sign-in");
        ngx_grapevine_req_redirect(&ctx->rq, &location);
        return;
    }

    back = r->uri;

    if (r->method == NGX_HTTP_POST
        || ngx_grapevine_site_safe_path(&back) != NGX_OK)
    {
        back.data = (u_char *) ctx->app->home;
        back.len = ngx_strlen(ctx->app->home);
    }

    len = sizeof("/sign-in?next=") - 1 + ngx_grapevine_escape_len(&back);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    location.data = p;
    p = ngx_cpymem(p, "/sign-in?next=", sizeof("/sign-in?next=") - 1);
    p = ngx_grapevine_escape(p, &back);
    location.len = p - location.data;

    ngx_grapevine_req_redirect(&ctx->rq, &location);
}


/*
 * A POST's token: the X-CSRF-Token header of a tool, or the form's _csrf,
 * equal to the session's token, or before signing in to the anonymous
 * cookie's.
 */

static ngx_int_t
ngx_grapevine_site_csrf_ok(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t        *token, expected;
    ngx_table_elt_t  *h;

    token = NULL;

    if (ctx->rq.json_bodies) {
        h = ngx_grapevine_req_header(ctx->rq.r, "X-CSRF-Token");

        if (h) {
            token = &h->value;
        }
    }

    if (token == NULL) {
        token = ngx_grapevine_req_field(&ctx->rq, "_csrf");
    }

    if (token == NULL || !ngx_grapevine_is_token(token)) {
        return NGX_DECLINED;
    }

    if (ctx->me) {
        if (ngx_grapevine_req_get_str(ctx->me, "csrf", &expected) != NGX_OK) {
            return NGX_DECLINED;
        }

    } else {
        expected = ctx->csrf_cookie;
    }

    return ngx_grapevine_token_eq(token, &expected) ? NGX_OK : NGX_DECLINED;
}


/*
 * The arguments of a route's statement: its path's parameters, its fixed
 * argument, and the fields it names (of the query string for a GET, of the
 * form for a POST).
 */

ngx_int_t
ngx_grapevine_site_route_args(ngx_grapevine_site_ctx_t *ctx)
{
    u_char                      *eq;
    ngx_str_t                   *v, key, value;
    ngx_uint_t                   i;
    const char                 **f, *p, *end;
    ngx_grapevine_site_route_t  *route;

    route = ctx->route;

    for (i = 0; i < ctx->nparams; i++) {
        if (ngx_grapevine_req_arg_n(&ctx->rq, &ctx->params[i].name,
                                    &ctx->params[i].value,
                                    NGX_GRAPEVINE_ARG_STRING)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (route->fixed) {
        eq = (u_char *) ngx_strchr(route->fixed, '=');

        key.data = (u_char *) route->fixed;
        key.len = eq - key.data;
        value.data = eq + 1;
        value.len = ngx_strlen(value.data);

        if (ngx_grapevine_req_arg_n(&ctx->rq, &key, &value,
                                    NGX_GRAPEVINE_ARG_STRING)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (f = route->fields; f && *f; f++) {

        /* "key", or "key=name|other": the first of the names given */

        key.data = (u_char *) *f;
        p = ngx_strchr(*f, '=');

        if (p == NULL) {
            key.len = ngx_strlen(*f);
            v = ngx_grapevine_req_field_n(&ctx->rq, key.data, key.len);

        } else {
            key.len = p - *f;
            v = NULL;

            for (p++; v == NULL && *p; p = (*end == '|') ? end + 1 : end) {
                end = p;

                while (*end && *end != '|') {
                    end++;
                }

                v = ngx_grapevine_req_field_n(&ctx->rq, (u_char *) p,
                                              end - p);
            }
        }

        if (v && ngx_grapevine_req_arg_n(&ctx->rq, &key, v,
                                         NGX_GRAPEVINE_ARG_STRING)
                 != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * What the account statements get about the client and the limits: its
 * address and user agent (kept with a session), the site's name, and the
 * throttles' limits.
 */

ngx_int_t
ngx_grapevine_site_client_args(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_http_request_t         *r;
    ngx_grapevine_req_t        *rq;
    ngx_grapevine_site_conf_t  *sc;

    r = ctx->rq.r;
    rq = &ctx->rq;
    sc = ctx->conf;

    if (ngx_grapevine_site_user_agent(ctx) != NGX_OK
        || ngx_grapevine_req_arg(rq, "address", &r->connection->addr_text,
                                 NGX_GRAPEVINE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_req_arg(rq, "user_agent", &ctx->user_agent,
                                 NGX_GRAPEVINE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_req_arg(rq, "site_name", &sc->name,
                                 NGX_GRAPEVINE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "throttle_account",
                                      sc->throttle_account)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "throttle_address",
                                      sc->throttle_address)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "throttle_backstop",
                                      sc->throttle_backstop)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "throttle_period",
                                      (ngx_uint_t) sc->throttle_period)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "sign_up_limit",
                                      sc->sign_up_address)
           != NGX_OK
        || ngx_grapevine_req_arg_uint(rq, "sign_up_period",
                                      (ngx_uint_t) sc->sign_up_period)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The User-Agent as text: it is kept with a session, and a header of any
 * bytes must not fail the request (statements take strict UTF-8 only).
 * What is not UTF-8, and control characters, become U+FFFD; at most
 * NGX_GRAPEVINE_SITE_AGENT_MAX bytes of the header are read.
 */

static ngx_int_t
ngx_grapevine_site_user_agent(ngx_grapevine_site_ctx_t *ctx)
{
    u_char       c, *p, *last, *out;
    size_t       len, n;
    ngx_str_t   *ua;

    if (ctx->agent_cleaned) {
        return NGX_OK;
    }

    ctx->agent_cleaned = 1;
    ngx_str_null(&ctx->user_agent);

    if (ctx->rq.r->headers_in.user_agent == NULL) {
        return NGX_OK;
    }

    ua = &ctx->rq.r->headers_in.user_agent->value;
    len = ngx_min(ua->len, NGX_GRAPEVINE_SITE_AGENT_MAX);

    out = ngx_pnalloc(ctx->rq.r->pool, 3 * len);
    if (out == NULL) {
        return NGX_ERROR;
    }

    ctx->user_agent.data = out;

    p = ua->data;
    last = p + len;

    while (p < last) {
        c = *p;

        if (c >= 0x20 && c < 0x7f) {
            *out++ = c;
            p++;
            continue;
        }

        /* the length of the sequence c begins, if it is a lead byte */

        n = (c >= 0xc2 && c <= 0xdf) ? 2
            : ((c & 0xf0) == 0xe0) ? 3
            : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;

        if (n && (size_t) (last - p) >= n
            && ngx_grapevine_utf8_chars(p, n) == 1)
        {
            out = ngx_cpymem(out, p, n);
            p += n;
            continue;
        }

        out = ngx_cpymem(out, "\xef\xbf\xbd", 3);       /* U+FFFD */
        p++;
    }

    ctx->user_agent.len = out - ctx->user_agent.data;

    return NGX_OK;
}


/* a statement of the site: $1 the signed-in user (or NULL), $2 the args */

void
ngx_grapevine_site_run(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_pg_stmt_t *stmt, ngx_grapevine_req_step_pt next)
{
    ngx_grapevine_req_run(&ctx->rq, stmt, 2,
                          ctx->me ? &ctx->me_json : NULL, next);
}


/* a page without data of its own: a form (sign up, sign in) */

static void
ngx_grapevine_site_form_page(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t              *next;
    ngx_grapevine_value_t  *data, *form;

    data = ngx_grapevine_value_object(&ctx->rq.arena, 4);
    form = ngx_grapevine_value_object(&ctx->rq.arena, 2);

    if (ngx_grapevine_req_set(&ctx->rq, data, "form", form) != NGX_OK) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* where to go after signing in: a path of the site only */

    next = ngx_grapevine_req_field(&ctx->rq, "next");

    if (next && ngx_grapevine_site_safe_path(next) == NGX_OK
        && ngx_grapevine_req_set_str(&ctx->rq, form, "next", next) != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_req_render(&ctx->rq, NGX_HTTP_OK, ctx->route->template,
                             data);
}


/*
 * A path of the site, fit to be a link back: /[A-Za-z0-9/_-]*, and never
 * "//": a browser reads "//host/path" as another site's.
 */

ngx_int_t
ngx_grapevine_site_safe_path(ngx_str_t *path)
{
    u_char      c;
    ngx_uint_t  i;

    if (path->len == 0 || path->data[0] != '/'
        || (path->len > 1 && path->data[1] == '/'))
    {
        return NGX_DECLINED;
    }

    for (i = 1; i < path->len; i++) {
        c = path->data[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-'))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* a refusal that says when to try again ("retry_after", seconds) */

static ngx_int_t
ngx_grapevine_site_retry_after(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    u_char                 *p;
    ngx_int_t               n;
    ngx_grapevine_value_t  *v;

    /* a statement's numbers are numeric text */

    v = ngx_grapevine_req_get(res, "retry_after");

    if (v == NULL || v->type != NGX_GRAPEVINE_VALUE_NUMBER) {
        return NGX_OK;
    }

    n = ngx_atoi(v->u.str.data, v->u.str.len);

    if (n < 1) {
        return NGX_OK;
    }

    p = ngx_pnalloc(rq->r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_sprintf(p, "%i", n) = '\0';

    return ngx_grapevine_http_add_header(rq->r, "Retry-After", (char *) p);
}


/*
 * A route's answer: "status" says what it is.  200: the route's page; 303:
 * a redirect to "location" (a tool gets the action's outcome, "done", as
 * JSON); 422 with a "form": the route's form again, with its problems;
 * another 4xx: the error page, its words from the "error" code (429 with
 * "retry_after": its Retry-After header).
 */

void
ngx_grapevine_site_page(ngx_grapevine_req_t *rq, ngx_grapevine_value_t *res)
{
    ngx_str_t                  location;
    ngx_int_t                  status;
    ngx_grapevine_value_t     *done;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (res->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "grapevine site: the statement \"%s\" answered no "
                      "object", rq->stmt->name);
        ngx_grapevine_req_error(rq, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                                NULL);
        return;
    }

    status = ngx_grapevine_req_status(res);

    switch (status) {

    case NGX_HTTP_OK:
        ngx_grapevine_req_render(rq, NGX_HTTP_OK, ctx->route->template, res);
        return;

    case NGX_HTTP_SEE_OTHER:
        if (rq->json) {
            done = ngx_grapevine_req_get(res, "done");

            if (done && done->type == NGX_GRAPEVINE_VALUE_OBJECT) {
                /* an action's outcome is no page: no "me", no token */
                rq->decorate = NULL;
                ngx_grapevine_req_send_value(rq, NGX_HTTP_OK, done);
                return;
            }
        }

        if (ngx_grapevine_req_get_str(res, "location", &location) == NGX_OK) {
            ngx_grapevine_req_redirect(rq, &location);
            return;
        }

        break;

    case NGX_HTTP_NOT_FOUND:
        ngx_grapevine_req_render(rq, NGX_HTTP_NOT_FOUND, "404", res);
        return;

    case 429:
        if (ngx_grapevine_site_retry_after(rq, res) != NGX_OK) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_req_render(rq, status, "error", res);
        return;

    case 422:
        if (ngx_grapevine_req_get(res, "form") != NULL) {
            ngx_grapevine_req_render(rq, 422, ctx->route->template, res);
            return;
        }

        ngx_grapevine_req_render(rq, 422, "error", res);
        return;

    default:
        if (status >= 400 && status < 500) {
            ngx_grapevine_req_render(rq, status, "error", res);
            return;
        }
    }

    ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                  "grapevine site: the statement \"%s\" answered status %i",
                  rq->stmt->name, status);

    ngx_grapevine_req_error(rq, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL);
}


/*
 * What every page of the site gets, and its cookies: "me" (the signed-in
 * user, or null), "csrf" (the token forms carry: the session's, or the
 * anonymous cookie's, made for a page with forms when there is none).  A
 * personal page or one with forms is never stored.
 */

static ngx_int_t
ngx_grapevine_site_decorate(ngx_grapevine_req_t *rq, ngx_uint_t status,
    ngx_grapevine_value_t *data)
{
    ngx_str_t                  csrf, empty;
    ngx_grapevine_value_t     *me;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    ngx_str_null(&csrf);

    if (ctx->me) {
        rq->no_store = 1;
        (void) ngx_grapevine_req_get_str(ctx->me, "csrf", &csrf);

    } else if (ctx->cache_page) {
        /* a page for every signed-out visitor: no one's token */

    } else if (ctx->csrf_cookie.len) {
        csrf = ctx->csrf_cookie;

    } else if (rq->no_store && status != NGX_HTTP_SEE_OTHER) {
        if (ctx->csrf_new.len == 0
            && ngx_grapevine_token(rq->r->pool, &ctx->csrf_new) != NGX_OK)
        {
            return NGX_ERROR;
        }

        csrf = ctx->csrf_new;
    }

    if (data) {
        me = ctx->me ? ctx->me : ngx_grapevine_value_null(&rq->arena);

        if (ngx_grapevine_req_set(rq, data, "me", me) != NGX_OK
            || ngx_grapevine_req_set_str(rq, data, "csrf", &csrf) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the cookies */

    ngx_str_null(&empty);

    if (ctx->new_session.len) {
        if (ngx_grapevine_req_set_cookie(rq, ctx->session_name,
                                         &ctx->new_session,
                                         ctx->conf->session_ttl)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (ctx->clear_session) {
        if (ngx_grapevine_req_set_cookie(rq, ctx->session_name, &empty, 0)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ctx->csrf_new.len && ctx->me == NULL
        && ngx_grapevine_req_set_cookie(rq, ctx->csrf_name,
                                        &ctx->csrf_new, -1)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* over https, the cookies of the names without the prefix go */

    if ((ctx->old_session
         && ngx_grapevine_req_set_cookie(rq, NGX_GRAPEVINE_SITE_SESSION,
                                         &empty, 0)
            != NGX_OK)
        || (ctx->old_csrf
            && ngx_grapevine_req_set_cookie(rq, NGX_GRAPEVINE_SITE_CSRF,
                                            &empty, 0)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    ctx->old_session = 0;
    ctx->old_csrf = 0;

    return NGX_OK;
}


/*
 * The request's cookies: over https those of the __Host- names (a cookie
 * of a name without the prefix may come from a sibling subdomain, or from
 * before: it is not read, and the answer deletes it), over http the
 * others.
 */

static void
ngx_grapevine_site_cookies(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_uint_t           https;
    ngx_http_request_t  *r;

    r = ctx->rq.r;
    https = 0;

#if (NGX_HTTP_SSL)
    https = (r->connection->ssl != NULL);
#endif

    if (https) {
        ctx->session_name = NGX_GRAPEVINE_SITE_SESSION_HTTPS;
        ctx->csrf_name = NGX_GRAPEVINE_SITE_CSRF_HTTPS;
        ctx->old_session = ngx_grapevine_req_has_cookie(r,
                                                 NGX_GRAPEVINE_SITE_SESSION);
        ctx->old_csrf = ngx_grapevine_req_has_cookie(r,
                                                    NGX_GRAPEVINE_SITE_CSRF);

    } else {
        ctx->session_name = NGX_GRAPEVINE_SITE_SESSION;
        ctx->csrf_name = NGX_GRAPEVINE_SITE_CSRF;
    }

    (void) ngx_grapevine_req_cookie(r, ctx->session_name, &ctx->session);
    (void) ngx_grapevine_req_cookie(r, ctx->csrf_name, &ctx->csrf_cookie);
}
