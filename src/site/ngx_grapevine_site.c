
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>
#include <sodium.h>

#include "ngx_grapevine_site.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_params.h"

#define NGX_GRAPEVINE_SITE_BODY_MAX   8192
#define NGX_GRAPEVINE_SITE_JSON_DEPTH 64
#define NGX_GRAPEVINE_SITE_BUF        8192

#define NGX_GRAPEVINE_SITE_CSP                                                \
    "default-src 'self'; script-src 'none'; object-src 'none'; "             \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


typedef struct {
    ngx_grapevine_arena_t     *arena;
    ngx_grapevine_value_t     *root;
    ngx_grapevine_value_t     *stack[NGX_GRAPEVINE_SITE_JSON_DEPTH];
    ngx_uint_t                 depth;
    u_char                    *key;
    size_t                     key_len;
    ngx_uint_t                 failed;
} ngx_grapevine_site_json_t;


typedef struct {
    ngx_pool_t                *pool;
    ngx_chain_t               *out;
    ngx_chain_t              **last;
    ngx_buf_t                 *buf;
    size_t                     size;
} ngx_grapevine_site_out_t;


static void *ngx_grapevine_site_create_main_conf(ngx_conf_t *cf);
static char *ngx_grapevine_site_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_grapevine_site_create_loc_conf(ngx_conf_t *cf);
static ngx_int_t ngx_grapevine_site_postconfiguration(ngx_conf_t *cf);
static char *ngx_grapevine_site_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_site_password_hash(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_grapevine_site_throttle(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_site_lifetime(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_grapevine_site_handler(ngx_http_request_t *r);
static void ngx_grapevine_site_body(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_site_form(ngx_grapevine_site_ctx_t *ctx,
    u_char *p, u_char *end);
static ngx_int_t ngx_grapevine_site_json_form(ngx_grapevine_site_ctx_t *ctx,
    size_t len);
static void ngx_grapevine_site_send_json(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, ngx_grapevine_value_t *data);
static const char *ngx_grapevine_site_reason(ngx_uint_t status);
static void ngx_grapevine_site_send(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, ngx_grapevine_site_out_t *out, ngx_uint_t json);
static u_char *ngx_grapevine_site_unescape(u_char *dst, u_char *src,
    u_char *end);
static void ngx_grapevine_site_cookies(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_site_cleanup(void *data);
static void *ngx_grapevine_site_alloc(void *ctx, size_t size);
static u_char *ngx_grapevine_site_args_json(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_site_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static ngx_grapevine_value_t *ngx_grapevine_site_parse(
    ngx_grapevine_arena_t *a, u_char *text, size_t len);
static ngx_int_t ngx_grapevine_site_add_cookie(ngx_grapevine_site_ctx_t *ctx,
    const char *name, ngx_str_t *value, time_t max_age);
static ngx_int_t ngx_grapevine_site_headers(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t no_store);
static int ngx_grapevine_site_write(void *data, const u_char *p, size_t n);


static ngx_conf_post_t  ngx_grapevine_site_lifetime_post = {
    ngx_grapevine_site_lifetime
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

    { ngx_string("grapevine_session_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_site_conf_t, session_ttl),
      &ngx_grapevine_site_lifetime_post },

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
     *     sc->used = 0;
     */

    sc->session_ttl = NGX_CONF_UNSET;

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

    if (ngx_grapevine_prepare(cf, app->stmt) != NGX_OK
        || ngx_grapevine_need_templates(cf, app->directive, app->templates)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* whether grapevine_site is used in the http block, and where first */

ngx_int_t
ngx_grapevine_site_used(ngx_conf_t *cf, u_char **file, ngx_uint_t *line)
{
    ngx_grapevine_site_conf_t  *sc;

    sc = ngx_http_conf_get_module_main_conf(cf,
                                            ngx_http_grapevine_site_module);

    if (file) {
        *file = sc->used_file;
        *line = sc->used_line;
    }

    return sc->used;
}


/* grapevine_password_hash [ops=N] [memory=SIZE]; */

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

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": invalid parameter "
                       "\"%V\"", &cmd->name, &value[i]);

    return NGX_CONF_ERROR;
}


/* grapevine_sign_in_throttle [account=N] [address=N] [period=TIME]; */

static char *
ngx_grapevine_site_throttle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_site_conf_t *sc = conf;

    ngx_int_t    n;
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    if (sc->throttle_set) {
        return "is duplicate";
    }

    sc->throttle_set = 1;
    sc->throttle_account = 5;
    sc->throttle_address = 20;
    sc->throttle_period = 900;

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

        if (ngx_strncmp(value[i].data, "period=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            n = ngx_parse_time(&s, 1);
            if (n == NGX_ERROR || n < 1 || n > 86400) {
                goto invalid;
            }

            sc->throttle_period = n;
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
    }

    if (!sc->throttle_set) {
        sc->throttle_account = 5;
        sc->throttle_address = 20;
        sc->throttle_period = 900;
    }

    ngx_conf_init_value(sc->session_ttl, 30 * 86400);

    sc->hub_name = gmcf->name;

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

    return ngx_grapevine_add_tell_handler(cf, &ngx_grapevine_register_tell);
}


static void *
ngx_grapevine_site_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* ------------------------------------------------------------ requests */


/* a request of the site, or of an application plugged into it */

static ngx_int_t
ngx_grapevine_site_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc, status;
    ngx_http_cleanup_t             *cln;
    ngx_grapevine_site_ctx_t       *ctx;
    ngx_grapevine_site_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_grapevine_site_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_grapevine_site_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->r = r;
    ctx->conf = ngx_http_get_module_main_conf(r,
                                              ngx_http_grapevine_site_module);
    ctx->app = slcf->app;
    ctx->arena.alloc = ngx_grapevine_site_alloc;
    ctx->arena.ctx = r->pool;
    ctx->q.data = ctx;

    if (ngx_array_init(&ctx->args, r->pool, 8,
                       sizeof(ngx_grapevine_site_arg_t))
        != NGX_OK
        || ngx_array_init(&ctx->fields, r->pool, 8,
                          sizeof(ngx_grapevine_site_field_t))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_grapevine_site_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_grapevine_site_module);

    ngx_grapevine_site_cookies(ctx);

    if (ctx->app->init) {
        ctx->app->init(ctx);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->sync = 1;
        ngx_grapevine_site_error(ctx, NGX_HTTP_NOT_ALLOWED, NULL);
        return ctx->rc;
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (r->args.len
            && ngx_grapevine_site_form(ctx, r->args.data,
                                       r->args.data + r->args.len)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->sync = 1;

    status = ctx->app->route(ctx);

    if (status != NGX_OK) {
        /* 404 or 405 without the database */

        if (r->method == NGX_HTTP_POST) {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        ngx_grapevine_site_error(ctx, status, NULL);
    }

    ctx->sync = 0;

    if (ctx->finished) {
        return ctx->rc;
    }

    if (ctx->post) {

        if (r->headers_in.content_length_n > NGX_GRAPEVINE_SITE_BODY_MAX) {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            ctx->sync = 1;
            ngx_grapevine_site_error(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "The form is too large.");
            return ctx->rc;
        }

        rc = ngx_http_read_client_request_body(r, ngx_grapevine_site_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_grapevine_site_body(ngx_http_request_t *r)
{
    u_char                    *p, *body;
    size_t                     len;
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    ngx_table_elt_t           *type;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_grapevine_site_module);

    ctx->in_body = 1;

    len = 0;

    if (r->request_body && r->request_body->bufs) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (b->in_file || b->file) {
                ngx_grapevine_site_error(ctx,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "The form is too large.");
                goto done;
            }

            len += b->last - b->pos;
        }
    }

    if (len > NGX_GRAPEVINE_SITE_BODY_MAX) {
        ngx_grapevine_site_error(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "The form is too large.");
        goto done;
    }

    type = r->headers_in.content_type;

    if (len && ctx->app->json_bodies && type
        && type->value.len >= sizeof("application/json") - 1
        && ngx_strncasecmp(type->value.data, (u_char *) "application/json",
                           sizeof("application/json") - 1)
           == 0)
    {
        if (ngx_grapevine_site_json_form(ctx, len) == NGX_OK) {
            ctx->post(ctx);
        }

        goto done;
    }

    if (len
        && (type == NULL
            || type->value.len < 33
            || ngx_strncasecmp(type->value.data,
                               (u_char *) "application/x-www-form-urlencoded",
                               33)
               != 0))
    {
        ngx_grapevine_site_error(ctx, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 ctx->app->json_bodies
                                 ? "Forms are sent as "
                                   "application/x-www-form-urlencoded "
                                   "or application/json."
                                 : "Forms are sent as "
                                   "application/x-www-form-urlencoded.");
        goto done;
    }

    if (len) {
        body = ngx_pnalloc(r->pool, len);
        if (body == NULL) {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            goto done;
        }

        p = body;

        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }

        if (ngx_grapevine_site_form(ctx, body, p) != NGX_OK) {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            goto done;
        }
    }

    ctx->post(ctx);

done:

    ctx->in_body = 0;
}


/* name=value&... into ctx->fields; the first of a repeated name wins */

static ngx_int_t
ngx_grapevine_site_form(ngx_grapevine_site_ctx_t *ctx, u_char *p,
    u_char *end)
{
    u_char                      *amp, *eq, *buf;
    ngx_grapevine_site_field_t  *f;

    while (p < end) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            eq = amp;
        }

        if (eq > p) {
            f = ngx_array_push(&ctx->fields);
            if (f == NULL) {
                return NGX_ERROR;
            }

            buf = ngx_pnalloc(ctx->r->pool, (amp - p) + 1);
            if (buf == NULL) {
                return NGX_ERROR;
            }

            f->name.data = buf;
            f->name.len = ngx_grapevine_site_unescape(buf, p, eq) - buf;

            buf += f->name.len;
            f->value.data = buf;

            if (eq < amp) {
                f->value.len = ngx_grapevine_site_unescape(buf, eq + 1, amp)
                               - buf;

            } else {
                f->value.len = 0;
            }
        }

        p = amp + 1;
    }

    return NGX_OK;
}


/*
 * A JSON object of strings (or numbers) into ctx->fields: Raisin's tools
 * send their actions so.  Anything else is answered with 400.
 */

static ngx_int_t
ngx_grapevine_site_json_form(ngx_grapevine_site_ctx_t *ctx, size_t len)
{
    u_char                      *p, *body;
    size_t                       i;
    yajl_val                     root, v;
    ngx_chain_t                 *cl;
    const char                  *msg;
    ngx_grapevine_site_field_t  *f;
    char                         errbuf[128];

    p = ngx_pnalloc(ctx->r->pool, len + 1);
    if (p == NULL) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NGX_ERROR;
    }

    body = p;

    for (cl = ctx->r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    *p = '\0';

    msg = NULL;

    if (ngx_strlen(body) != len) {
        root = NULL;
        msg = "The body holds a NUL character.";

    } else {
        root = yajl_tree_parse((char *) body, errbuf, sizeof(errbuf));

        if (root == NULL || !YAJL_IS_OBJECT(root)) {
            msg = "The body is not a JSON object (or not valid UTF-8).";
        }
    }

    for (i = 0; msg == NULL && i < root->u.object.len; i++) {
        v = root->u.object.values[i];

        if (!YAJL_IS_STRING(v) && !YAJL_IS_NUMBER(v)) {
            msg = "Every member of the body is a string.";
            break;
        }

        f = ngx_array_push(&ctx->fields);
        if (f == NULL) {
            yajl_tree_free(root);
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return NGX_ERROR;
        }

        p = (u_char *) (YAJL_IS_STRING(v) ? YAJL_GET_STRING(v)
                                          : YAJL_GET_NUMBER(v));

        f->name.len = ngx_strlen(root->u.object.keys[i]);
        f->value.len = ngx_strlen(p);

        f->name.data = ngx_pnalloc(ctx->r->pool, f->name.len + 1);
        if (f->name.data == NULL) {
            goto failed;
        }

        ngx_memcpy(f->name.data, root->u.object.keys[i], f->name.len);

        f->value.data = ngx_pnalloc(ctx->r->pool, f->value.len + 1);
        if (f->value.data == NULL) {
            goto failed;
        }

        ngx_memcpy(f->value.data, p, f->value.len);
    }

    if (root) {
        yajl_tree_free(root);
    }

    if (msg) {
        ngx_grapevine_site_error(ctx, NGX_HTTP_BAD_REQUEST, msg);
        return NGX_ERROR;
    }

    return NGX_OK;

failed:

    yajl_tree_free(root);
    ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
    return NGX_ERROR;
}


static u_char *
ngx_grapevine_site_unescape(u_char *dst, u_char *src, u_char *end)
{
    u_char  c, hi, lo;

    while (src < end) {
        c = *src++;

        if (c == '+') {
            *dst++ = ' ';
            continue;
        }

        if (c == '%' && end - src >= 2) {
            hi = (u_char) (src[0] | 0x20);
            lo = (u_char) (src[1] | 0x20);

            if (((hi >= '0' && hi <= '9') || (hi >= 'a' && hi <= 'f'))
                && ((lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f')))
            {
                hi = (hi >= 'a') ? hi - 'a' + 10 : hi - '0';
                lo = (lo >= 'a') ? lo - 'a' + 10 : lo - '0';
                *dst++ = (u_char) ((hi << 4) | lo);
                src += 2;
                continue;
            }
        }

        *dst++ = c;
    }

    return dst;
}


ngx_str_t *
ngx_grapevine_site_field(ngx_grapevine_site_ctx_t *ctx, const char *name)
{
    size_t                       len;
    ngx_uint_t                   i;
    ngx_grapevine_site_field_t  *f;

    len = ngx_strlen(name);
    f = ctx->fields.elts;

    for (i = 0; i < ctx->fields.nelts; i++) {
        if (f[i].name.len == len
            && ngx_strncmp(f[i].name.data, name, len) == 0)
        {
            return &f[i].value;
        }
    }

    return NULL;
}


static void
ngx_grapevine_site_cookies(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t            name, value;
    ngx_http_request_t  *r;

    r = ctx->r;

    ngx_str_set(&name, NGX_GRAPEVINE_SITE_SESSION);

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          &value)
        != NGX_DECLINED
        && ngx_grapevine_site_is_token(&value))
    {
        ctx->session = value;
    }

    ngx_str_set(&name, NGX_GRAPEVINE_SITE_CSRF);

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          &value)
        != NGX_DECLINED
        && ngx_grapevine_site_is_token(&value))
    {
        ctx->csrf_cookie = value;
    }
}


ngx_int_t
ngx_grapevine_site_is_token(ngx_str_t *s)
{
    ngx_uint_t  i;

    if (s->len != NGX_GRAPEVINE_SITE_TOKEN_LEN) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if (!((s->data[i] >= '0' && s->data[i] <= '9')
              || (s->data[i] >= 'a' && s->data[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


/* 256 random bits in hex */

ngx_int_t
ngx_grapevine_site_token(ngx_pool_t *pool, ngx_str_t *token)
{
    u_char  raw[NGX_GRAPEVINE_SITE_TOKEN_LEN / 2];

    token->data = ngx_pnalloc(pool, NGX_GRAPEVINE_SITE_TOKEN_LEN);
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    randombytes_buf(raw, sizeof(raw));

    token->len = ngx_hex_dump(token->data, raw, sizeof(raw)) - token->data;

    sodium_memzero(raw, sizeof(raw));

    return NGX_OK;
}


/*
 * What every POST step sends: the form's CSRF token and whether it matches
 * the anonymous cookie (site_request() decides which one counts).
 */

ngx_int_t
ngx_grapevine_site_post_args(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t   *csrf, empty;
    ngx_uint_t   anon_ok;

    ngx_str_null(&empty);

    csrf = ngx_grapevine_site_field(ctx, "_csrf");

    if (csrf == NULL || !ngx_grapevine_site_is_token(csrf)) {
        csrf = &empty;
    }

    anon_ok = csrf->len
              && ctx->csrf_cookie.len == csrf->len
              && sodium_memcmp(ctx->csrf_cookie.data, csrf->data, csrf->len)
                 == 0;

    if (ngx_grapevine_site_arg(ctx, "_csrf", csrf,
                               NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_site_arg_cstr(ctx, "_anon_ok", anon_ok ? "1" : "",
                                       NGX_GRAPEVINE_SITE_ARG_BOOL)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_grapevine_site_client_args(ctx);
}


/* the client's address and user agent, and the throttle's limits */

ngx_int_t
ngx_grapevine_site_client_args(ngx_grapevine_site_ctx_t *ctx)
{
    u_char              *p;
    ngx_str_t            ua, n;
    ngx_http_request_t  *r;

    r = ctx->r;

    if (r->headers_in.user_agent) {
        ua = r->headers_in.user_agent->value;

    } else {
        ngx_str_null(&ua);
    }

    p = ngx_pnalloc(r->pool, 3 * NGX_INT_T_LEN + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (ngx_grapevine_site_arg(ctx, "address", &r->connection->addr_text,
                               NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_site_arg(ctx, "user_agent", &ua,
                                  NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    n.data = p;
    n.len = ngx_sprintf(p, "%ui", ctx->conf->throttle_account) - p;
    p += n.len;

    if (ngx_grapevine_site_arg(ctx, "throttle_account", &n,
                               NGX_GRAPEVINE_SITE_ARG_NUMBER)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    n.data = p;
    n.len = ngx_sprintf(p, "%ui", ctx->conf->throttle_address) - p;
    p += n.len;

    if (ngx_grapevine_site_arg(ctx, "throttle_address", &n,
                               NGX_GRAPEVINE_SITE_ARG_NUMBER)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    n.data = p;
    n.len = ngx_sprintf(p, "%T", ctx->conf->throttle_period) - p;

    return ngx_grapevine_site_arg(ctx, "throttle_period", &n,
                                  NGX_GRAPEVINE_SITE_ARG_NUMBER);
}


static void
ngx_grapevine_site_cleanup(void *data)
{
    ngx_grapevine_site_ctx_t  *ctx = data;

    ngx_grapevine_pg_cancel(&ctx->q);
    ngx_grapevine_account_pw_cleanup(ctx);
}


/* ------------------------------------------------------- site_request() */


ngx_int_t
ngx_grapevine_site_arg(ngx_grapevine_site_ctx_t *ctx, const char *key,
    ngx_str_t *value, ngx_uint_t type)
{
    ngx_grapevine_site_arg_t  *a;

    a = ngx_array_push(&ctx->args);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->key.data = (u_char *) key;
    a->key.len = ngx_strlen(key);
    a->value = *value;
    a->type = type;

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_site_arg_cstr(ngx_grapevine_site_ctx_t *ctx, const char *key,
    const char *value, ngx_uint_t type)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_grapevine_site_arg(ctx, key, &v, type);
}


/*
 * The args as a JSON object, NUL-terminated; NULL also when a value is not
 * UTF-8 or holds a NUL.
 */

static u_char *
ngx_grapevine_site_args_json(ngx_grapevine_site_ctx_t *ctx)
{
    u_char                    *p;
    size_t                     len;
    yajl_gen                   g;
    ngx_uint_t                 i;
    const unsigned char       *buf;
    ngx_grapevine_site_arg_t  *a;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    yajl_gen_config(g, yajl_gen_validate_utf8, 1);

    p = NULL;
    a = ctx->args.elts;

    if (yajl_gen_map_open(g) != yajl_gen_status_ok) {
        goto done;
    }

    for (i = 0; i < ctx->args.nelts; i++) {

        if (yajl_gen_string(g, a[i].key.data, a[i].key.len)
            != yajl_gen_status_ok)
        {
            goto done;
        }

        switch (a[i].type) {

        case NGX_GRAPEVINE_SITE_ARG_BOOL:
            if (yajl_gen_bool(g, a[i].value.len != 0) != yajl_gen_status_ok) {
                goto done;
            }

            break;

        case NGX_GRAPEVINE_SITE_ARG_NUMBER:
            if (yajl_gen_number(g, (char *) a[i].value.data, a[i].value.len)
                != yajl_gen_status_ok)
            {
                goto done;
            }

            break;

        default:
            /*
             * PostgreSQL's text has no NUL, and takes strict UTF-8 only
             * (yajl lets surrogates and overlong forms through)
             */

            if (ngx_strlchr(a[i].value.data, a[i].value.data + a[i].value.len,
                            '\0')
                != NULL
                || ngx_grapevine_utf8_chars(a[i].value.data,
                                                a[i].value.len)
                   < 0
                || yajl_gen_string(g, a[i].value.data, a[i].value.len)
                   != yajl_gen_status_ok)
            {
                goto done;
            }
        }
    }

    if (yajl_gen_map_close(g) != yajl_gen_status_ok
        || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
    {
        goto done;
    }

    p = ngx_pnalloc(ctx->r->pool, len + 1);
    if (p == NULL) {
        goto done;
    }

    ngx_memcpy(p, buf, len);
    p[len] = '\0';

done:

    yajl_gen_free(g);

    return p;
}


/*
 * Runs site_request(kind, session, args) and calls next with its parsed
 * answer.  Failures (the database away, an SQL error, invalid UTF-8 in
 * the input) are answered here with an error page.
 */

void
ngx_grapevine_site_query(ngx_grapevine_site_ctx_t *ctx, const char *kind,
    ngx_grapevine_site_step_pt next)
{
    u_char     *json, *s;
    ngx_int_t   rc;

    json = ngx_grapevine_site_args_json(ctx);

    if (json == NULL) {
        ngx_grapevine_site_error(ctx, NGX_HTTP_BAD_REQUEST,
                                 "The request holds text that is not "
                                 "valid UTF-8, or a NUL character.");
        return;
    }

    if (ctx->session.len) {
        s = ngx_pnalloc(ctx->r->pool, ctx->session.len + 1);
        if (s == NULL) {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memcpy(s, ctx->session.data, ctx->session.len);
        s[ctx->session.len] = '\0';
        ctx->values[1] = (char *) s;

    } else {
        ctx->values[1] = NULL;
    }

    ctx->values[0] = kind;
    ctx->values[2] = (char *) json;
    ctx->kind.data = (u_char *) kind;
    ctx->kind.len = ngx_strlen(kind);
    ctx->next = next;

    ctx->q.stmt = ctx->app->stmt;
    ctx->q.nparams = 3;
    ctx->q.values = ctx->values;
    ctx->q.lengths = NULL;
    ctx->q.handler = ngx_grapevine_site_done;
    ctx->q.data = ctx;

    if (ngx_grapevine_worker.pool == NULL) {
        ngx_grapevine_site_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        return;
    }

    rc = ngx_grapevine_pg_query(ngx_grapevine_worker.pool, &ctx->q);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ctx->r->connection->log, 0,
                  "grapevine site: answering 503: %V", &ctx->q.error);

    ngx_grapevine_site_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
}


static void
ngx_grapevine_site_done(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_grapevine_value_t     *v;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = q->data;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK
        || PQntuples(res) != 1 || PQnfields(res) != 1
        || PQgetisnull(res, 0, 0))
    {
        if (q->unavailable || res == NULL) {
            ngx_log_error(NGX_LOG_WARN, ctx->r->connection->log, 0,
                          "grapevine site: answering 503: %V", &q->error);
            ngx_grapevine_site_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     NULL);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                      "grapevine site: %s(%V) failed: %V",
                      ctx->app->function,
                      &ctx->kind, &q->error);
        ngx_grapevine_site_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    v = ngx_grapevine_site_parse(&ctx->arena, (u_char *) PQgetvalue(res, 0, 0),
                                 PQgetlength(res, 0, 0));

    if (v == NULL || v->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                      "grapevine site: site_request(%V) answered no object",
                      &ctx->kind);
        ngx_grapevine_site_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    ctx->next(ctx, v);
}


/* ------------------------------------------------ JSON to a value tree */


static ngx_int_t
ngx_grapevine_site_json_add(ngx_grapevine_site_json_t *j,
    ngx_grapevine_value_t *v)
{
    ngx_grapevine_value_t  *top;

    if (v == NULL) {
        j->failed = 1;
        return 0;
    }

    if (j->depth == 0) {
        j->root = v;
        return 1;
    }

    top = j->stack[j->depth - 1];

    if (top->type == NGX_GRAPEVINE_VALUE_OBJECT) {
        if (ngx_grapevine_object_add(j->arena, top, j->key, j->key_len, v)
            != NGX_GRAPEVINE_OK)
        {
            j->failed = 1;
            return 0;
        }

        return 1;
    }

    if (ngx_grapevine_array_push(j->arena, top, v) != NGX_GRAPEVINE_OK) {
        j->failed = 1;
        return 0;
    }

    return 1;
}


static int
ngx_grapevine_site_json_null(void *ctx)
{
    ngx_grapevine_site_json_t  *j = ctx;

    return ngx_grapevine_site_json_add(j, ngx_grapevine_value_null(j->arena));
}


static int
ngx_grapevine_site_json_bool(void *ctx, int b)
{
    ngx_grapevine_site_json_t  *j = ctx;

    return ngx_grapevine_site_json_add(j,
                                   ngx_grapevine_value_bool(j->arena, b));
}


static int
ngx_grapevine_site_json_number(void *ctx, const char *s, size_t len)
{
    ngx_grapevine_site_json_t  *j = ctx;

    return ngx_grapevine_site_json_add(j,
               ngx_grapevine_value_number_copy(j->arena, (u_char *) s, len));
}


static int
ngx_grapevine_site_json_string(void *ctx, const unsigned char *s,
    size_t len)
{
    ngx_grapevine_site_json_t  *j = ctx;

    return ngx_grapevine_site_json_add(j,
               ngx_grapevine_value_string_copy(j->arena, s, len));
}


static int
ngx_grapevine_site_json_open(ngx_grapevine_site_json_t *j,
    ngx_grapevine_value_t *v)
{
    if (j->depth == NGX_GRAPEVINE_SITE_JSON_DEPTH) {
        j->failed = 1;
        return 0;
    }

    if (!ngx_grapevine_site_json_add(j, v)) {
        return 0;
    }

    j->stack[j->depth++] = v;

    return 1;
}


static int
ngx_grapevine_site_json_start_map(void *ctx)
{
    ngx_grapevine_site_json_t  *j = ctx;

    return ngx_grapevine_site_json_open(j,
                                   ngx_grapevine_value_object(j->arena, 8));
}


static int
ngx_grapevine_site_json_key(void *ctx, const unsigned char *s, size_t len)
{
    ngx_grapevine_site_json_t  *j = ctx;

    j->key = ngx_grapevine_arena_copy(j->arena, s, len);
    j->key_len = len;

    if (j->key == NULL && len) {
        j->failed = 1;
        return 0;
    }

    return 1;
}


static int
ngx_grapevine_site_json_close(void *ctx)
{
    ngx_grapevine_site_json_t  *j = ctx;

    j->depth--;

    return 1;
}


static int
ngx_grapevine_site_json_start_array(void *ctx)
{
    ngx_grapevine_site_json_t  *j = ctx;

    return ngx_grapevine_site_json_open(j,
                                    ngx_grapevine_value_array(j->arena, 8));
}


static yajl_callbacks  ngx_grapevine_site_json_callbacks = {
    ngx_grapevine_site_json_null,
    ngx_grapevine_site_json_bool,
    NULL,
    NULL,
    ngx_grapevine_site_json_number,
    ngx_grapevine_site_json_string,
    ngx_grapevine_site_json_start_map,
    ngx_grapevine_site_json_key,
    ngx_grapevine_site_json_close,
    ngx_grapevine_site_json_start_array,
    ngx_grapevine_site_json_close
};


static ngx_grapevine_value_t *
ngx_grapevine_site_parse(ngx_grapevine_arena_t *a, u_char *text, size_t len)
{
    yajl_handle                 h;
    yajl_status                 st;
    ngx_grapevine_site_json_t   j;

    ngx_memzero(&j, sizeof(ngx_grapevine_site_json_t));
    j.arena = a;

    h = yajl_alloc(&ngx_grapevine_site_json_callbacks, NULL, &j);
    if (h == NULL) {
        return NULL;
    }

    st = yajl_parse(h, text, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (st != yajl_status_ok || j.failed || j.depth != 0) {
        return NULL;
    }

    return j.root;
}


ngx_grapevine_value_t *
ngx_grapevine_site_get(ngx_grapevine_value_t *obj, const char *key)
{
    if (obj == NULL || obj->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        return NULL;
    }

    return ngx_grapevine_object_get(obj, (u_char *) key, ngx_strlen(key));
}


/* a string member; NGX_DECLINED when absent or not a string */

ngx_int_t
ngx_grapevine_site_get_str(ngx_grapevine_value_t *obj, const char *key,
    ngx_str_t *s)
{
    ngx_grapevine_value_t  *v;

    v = ngx_grapevine_site_get(obj, key);

    if (v == NULL || (v->type != NGX_GRAPEVINE_VALUE_STRING
                      && v->type != NGX_GRAPEVINE_VALUE_NUMBER))
    {
        return NGX_DECLINED;
    }

    s->data = v->u.str.data;
    s->len = v->u.str.len;

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_site_status(ngx_grapevine_value_t *res)
{
    ngx_str_t  s;

    if (ngx_grapevine_site_get_str(res, "status", &s) != NGX_OK) {
        return 200;
    }

    return ngx_atoi(s.data, s.len);
}


/* appends message to data.errors.<field> (an array) */

ngx_int_t
ngx_grapevine_site_set_error(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *field, const char *message)
{
    ngx_grapevine_arena_t  *a;
    ngx_grapevine_value_t  *errors, *list;

    a = &ctx->arena;

    errors = ngx_grapevine_site_get(data, "errors");

    if (errors == NULL || errors->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        errors = ngx_grapevine_value_object(a, 4);

        if (errors == NULL
            || ngx_grapevine_object_set(a, data, (u_char *) "errors", 6,
                                        errors)
               != NGX_GRAPEVINE_OK)
        {
            return NGX_ERROR;
        }
    }

    list = ngx_grapevine_site_get(errors, field);

    if (list == NULL || list->type != NGX_GRAPEVINE_VALUE_ARRAY) {
        list = ngx_grapevine_value_array(a, 2);

        if (list == NULL
            || ngx_grapevine_object_set(a, errors, (u_char *) field,
                                        ngx_strlen(field), list)
               != NGX_GRAPEVINE_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_grapevine_array_push(a, list,
            ngx_grapevine_value_string(a, (u_char *) message,
                                       ngx_strlen(message)))
        != NGX_GRAPEVINE_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* ------------------------------------------------------------ responses */


/* the generic step of a page: its answer, rendered with its template */

void
ngx_grapevine_site_page(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    ngx_str_t               location;
    ngx_int_t               status;
    ngx_grapevine_value_t  *done;

    status = ngx_grapevine_site_status(res);

    switch (status) {

    case NGX_HTTP_OK:
        ngx_grapevine_site_render(ctx, NGX_HTTP_OK, ctx->template, res);
        return;

    case NGX_HTTP_SEE_OTHER:
        if (ctx->json) {
            /* an action's outcome, for a tool */

            done = ngx_grapevine_site_get(res, "done");

            if (done && done->type == NGX_GRAPEVINE_VALUE_OBJECT) {
                ngx_grapevine_site_send_json(ctx, NGX_HTTP_OK, done);
                return;
            }
        }

        if (ngx_grapevine_site_get_str(res, "location", &location)
            == NGX_OK)
        {
            ngx_grapevine_site_redirect(ctx, &location);
            return;
        }

        break;

    case NGX_HTTP_UNAUTHORIZED:
        /* signed out: a browser goes to the sign-in page */

        if (!ctx->json
            && ngx_grapevine_site_get_str(res, "location", &location)
               == NGX_OK)
        {
            ngx_grapevine_site_redirect(ctx, &location);
            return;
        }

        ngx_grapevine_site_render(ctx, NGX_HTTP_UNAUTHORIZED, "error", res);
        return;

    case NGX_HTTP_NOT_FOUND:
        ngx_grapevine_site_render(ctx, NGX_HTTP_NOT_FOUND, "404", res);
        return;

    case 422:
        /* a form that comes again, with its problems */

        if (ngx_grapevine_site_get(res, "form") != NULL) {
            ngx_grapevine_site_render(ctx, 422, ctx->template, res);
            return;
        }

        ngx_grapevine_site_render(ctx, 422, "error", res);
        return;

    default:
        if (status >= 400 && status < 500) {
            ngx_grapevine_site_render(ctx, status, "error", res);
            return;
        }
    }

    ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                  "grapevine site: %s(%V) answered status %i",
                  ctx->app->function, &ctx->kind, status);

    ngx_grapevine_site_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
}


/* an error page without the database's help */

void
ngx_grapevine_site_error(ngx_grapevine_site_ctx_t *ctx, ngx_uint_t status,
    const char *message)
{
    ngx_grapevine_arena_t  *a;
    ngx_grapevine_value_t  *data;

    a = &ctx->arena;

    data = ngx_grapevine_value_object(a, 4);
    if (data == NULL) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (message
        && ngx_grapevine_object_add(a, data, (u_char *) "message", 7,
               ngx_grapevine_value_string(a, (u_char *) message,
                                          ngx_strlen(message)))
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE
        && ngx_grapevine_http_add_header(ctx->r, "Retry-After",
                                         NGX_GRAPEVINE_RETRY_AFTER)
           != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_grapevine_http_add_header(ctx->r, "Allow",
               (ctx->r->method == NGX_HTTP_POST) ? "GET, HEAD"
               : (ctx->r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) ? "POST"
               : "GET, HEAD, POST")
           != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_render(ctx, status,
                              status == NGX_HTTP_NOT_FOUND ? "404"
                              : status >= 500 ? "500" : "error", data);
}


static const char *
ngx_grapevine_site_reason(ngx_uint_t status)
{
    switch (status) {
    case NGX_HTTP_BAD_REQUEST:
        return "Bad request";
    case NGX_HTTP_UNAUTHORIZED:
        return "Not signed in";
    case NGX_HTTP_FORBIDDEN:
        return "Forbidden";
    case NGX_HTTP_NOT_FOUND:
        return "Page not found";
    case NGX_HTTP_NOT_ALLOWED:
        return "Method not allowed";
    case NGX_HTTP_CONFLICT:
        return "Conflict";
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "Too large";
    case NGX_HTTP_UNSUPPORTED_MEDIA_TYPE:
        return "Unsupported form";
    case 422:
        return "Please check the form";
    case 429:
        return "Too many attempts";
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return "Temporarily unavailable";
    default:
        return status >= 500 ? "Something went wrong" : "Error";
    }
}


/*
 * Renders template with data (an object) and sends it.  Adds what every
 * template may use: site_name, csrf (the token for forms), code, reason,
 * and me (null when absent).
 */

void
ngx_grapevine_site_render(ngx_grapevine_site_ctx_t *ctx, ngx_uint_t status,
    const char *template, ngx_grapevine_value_t *data)
{
    ngx_str_t                      csrf;
    ngx_uint_t                     signed_in;
    ngx_http_request_t            *r;
    ngx_grapevine_arena_t         *a;
    ngx_grapevine_value_t         *me;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_site_out_t       out;
    ngx_grapevine_render_conf_t    rconf;
    ngx_grapevine_template_err_t   err;

    r = ctx->r;
    a = &ctx->arena;

    if (ctx->json) {
        ngx_grapevine_site_send_json(ctx, status, data);
        return;
    }

    tpl = ngx_grapevine_template_set_find(ctx->conf->set, (u_char *) template,
                                          ngx_strlen(template));
    if (tpl == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine site: no template \"%s\"", template);
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    me = ngx_grapevine_site_get(data, "me");
    signed_in = (me && me->type == NGX_GRAPEVINE_VALUE_OBJECT);

    if (!signed_in) {
        me = ngx_grapevine_value_null(a);
        if (me == NULL
            || ngx_grapevine_object_set(a, data, (u_char *) "me", 2, me)
               != NGX_GRAPEVINE_OK)
        {
            goto failed;
        }
    }

    /* the CSRF token of forms: the session's, or the anonymous cookie's */

    if (signed_in && ngx_grapevine_site_get_str(me, "csrf", &csrf) == NGX_OK)
    {
        /* the session's */

    } else if (ctx->csrf_cookie.len) {
        csrf = ctx->csrf_cookie;

    } else if (ctx->forms) {
        if (ctx->csrf_new.len == 0
            && ngx_grapevine_site_token(r->pool, &ctx->csrf_new) != NGX_OK)
        {
            goto failed;
        }

        csrf = ctx->csrf_new;

    } else {
        ngx_str_null(&csrf);
    }

    if (ngx_grapevine_object_set(a, data, (u_char *) "csrf", 4,
            ngx_grapevine_value_string(a, csrf.data, csrf.len))
        != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_set(a, data, (u_char *) "site_name", 9,
               ngx_grapevine_value_string(a, ctx->conf->hub_name.data,
                                          ctx->conf->hub_name.len))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_set(a, data, (u_char *) "code", 4,
               ngx_grapevine_value_integer(a, status))
           != NGX_GRAPEVINE_OK
        || ngx_grapevine_object_set(a, data, (u_char *) "reason", 6,
               ngx_grapevine_value_string(a,
                   (u_char *) ngx_grapevine_site_reason(status),
                   ngx_strlen(ngx_grapevine_site_reason(status))))
           != NGX_GRAPEVINE_OK)
    {
        goto failed;
    }

    if (ngx_grapevine_site_get(data, "title") == NULL
        && ngx_grapevine_object_set(a, data, (u_char *) "title", 5,
               ngx_grapevine_value_string(a,
                   (u_char *) ngx_grapevine_site_reason(status),
                   ngx_strlen(ngx_grapevine_site_reason(status))))
           != NGX_GRAPEVINE_OK)
    {
        goto failed;
    }

    out.pool = r->pool;
    out.out = NULL;
    out.last = &out.out;
    out.buf = NULL;
    out.size = 0;

    ngx_memzero(&rconf, sizeof(ngx_grapevine_render_conf_t));
    rconf.write = ngx_grapevine_site_write;
    rconf.write_ctx = &out;
    rconf.partial = ngx_grapevine_template_set_lookup;
    rconf.partial_ctx = ctx->conf->set;

    if (ngx_grapevine_template_render(tpl, data, &rconf, &err)
        != NGX_GRAPEVINE_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine site: rendering \"%s\" failed: %s",
                      template, err.msg);
        goto failed;
    }

    /* a signed-in page never gets the anonymous cookie */

    if (signed_in) {
        ngx_str_null(&ctx->csrf_new);
    }

    if (ngx_grapevine_site_headers(ctx, signed_in || ctx->forms) != NGX_OK) {
        goto failed;
    }

    ngx_grapevine_site_send(ctx, status, &out, 0);
    return;

failed:

    ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


static const char *
ngx_grapevine_site_code(ngx_uint_t status)
{
    switch (status) {
    case NGX_HTTP_BAD_REQUEST:
        return "bad_request";
    case NGX_HTTP_UNAUTHORIZED:
        return "unauthorized";
    case NGX_HTTP_FORBIDDEN:
        return "forbidden";
    case NGX_HTTP_NOT_FOUND:
        return "not_found";
    case NGX_HTTP_NOT_ALLOWED:
        return "method_not_allowed";
    case NGX_HTTP_CONFLICT:
        return "conflict";
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "too_large";
    case NGX_HTTP_UNSUPPORTED_MEDIA_TYPE:
        return "unsupported_media_type";
    case 422:
        return "invalid";
    case 429:
        return "too_many_requests";
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return "unavailable";
    default:
        return status >= 500 ? "internal_error" : "error";
    }
}


/*
 * The JSON answer of a request that asked for JSON (Raisin's tools): data
 * itself, or for an error {"error": {"code", "message"[, "fields"]}}.
 */

static void
ngx_grapevine_site_send_json(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, ngx_grapevine_value_t *data)
{
    int                        rc;
    ngx_str_t                  message;
    const char                *code, *reason;
    ngx_http_request_t        *r;
    ngx_grapevine_arena_t     *a;
    ngx_grapevine_value_t     *err, *wrap, *fields, *me;
    ngx_grapevine_site_out_t   out;

    r = ctx->r;
    a = &ctx->arena;

    if (status >= NGX_HTTP_BAD_REQUEST) {
        code = ngx_grapevine_site_code(status);
        reason = ngx_grapevine_site_reason(status);

        if (ngx_grapevine_site_get_str(data, "message", &message)
            != NGX_OK)
        {
            message.data = (u_char *) reason;
            message.len = ngx_strlen(reason);
        }

        err = ngx_grapevine_value_object(a, 3);
        wrap = ngx_grapevine_value_object(a, 1);

        if (err == NULL || wrap == NULL
            || ngx_grapevine_object_add(a, err, (u_char *) "code", 4,
                   ngx_grapevine_value_string(a, (u_char *) code,
                                              ngx_strlen(code)))
               != NGX_GRAPEVINE_OK
            || ngx_grapevine_object_add(a, err, (u_char *) "message", 7,
                   ngx_grapevine_value_string(a, message.data,
                                              message.len))
               != NGX_GRAPEVINE_OK
            || ngx_grapevine_object_add(a, wrap, (u_char *) "error", 5, err)
               != NGX_GRAPEVINE_OK)
        {
            goto failed;
        }

        fields = ngx_grapevine_site_get(data, "errors");

        if (fields && fields->type == NGX_GRAPEVINE_VALUE_OBJECT
            && ngx_grapevine_object_add(a, err, (u_char *) "fields", 6,
                                        fields)
               != NGX_GRAPEVINE_OK)
        {
            goto failed;
        }

        data = wrap;

    } else {
        /* the token a tool's actions carry in X-CSRF-Token */

        me = ngx_grapevine_site_get(data, "me");

        if (me && me->type == NGX_GRAPEVINE_VALUE_OBJECT
            && ngx_grapevine_site_get_str(me, "csrf", &message) == NGX_OK
            && ngx_grapevine_object_set(a, data, (u_char *) "csrf", 4,
                   ngx_grapevine_value_string(a, message.data, message.len))
               != NGX_GRAPEVINE_OK)
        {
            goto failed;
        }
    }

    out.pool = r->pool;
    out.out = NULL;
    out.last = &out.out;
    out.buf = NULL;
    out.size = 0;

    rc = ngx_grapevine_value_write_json(data, 0, ngx_grapevine_site_write,
                                        &out);

    if (rc != NGX_GRAPEVINE_VALUE_JSON_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine site: writing JSON failed: %s",
                      ngx_grapevine_value_json_strerror(rc));
        goto failed;
    }

    if (ngx_grapevine_site_headers(ctx, 1) != NGX_OK) {
        goto failed;
    }

    ngx_grapevine_site_send(ctx, status, &out, 1);
    return;

failed:

    ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/* sends a written body (HTML, or JSON) with status; the headers are set */

static void
ngx_grapevine_site_send(ngx_grapevine_site_ctx_t *ctx, ngx_uint_t status,
    ngx_grapevine_site_out_t *out, ngx_uint_t json)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->r;

    if (out->buf == NULL) {
        out->buf = ngx_calloc_buf(r->pool);
        if (out->buf == NULL) {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        *out->last = ngx_alloc_chain_link(r->pool);
        if (*out->last == NULL) {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        (*out->last)->buf = out->buf;
        (*out->last)->next = NULL;
    }

    out->buf->last_buf = (r == r->main) ? 1 : 0;
    out->buf->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = out->size;

    if (json) {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = r->headers_out.content_type.len;

    } else {
        ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
        r->headers_out.content_type_len = sizeof("text/html") - 1;
    }

    r->headers_out.charset.len = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_grapevine_site_finish(ctx, rc);
        return;
    }

    ngx_grapevine_site_finish(ctx, ngx_http_output_filter(r, out->out));
}


void
ngx_grapevine_site_redirect(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *location)
{
    ngx_int_t            rc;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    r = ctx->r;

    if (ngx_grapevine_site_headers(ctx, 1) != NGX_OK) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value = *location;
    r->headers_out.location = h;

    r->headers_out.status = NGX_HTTP_SEE_OTHER;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    ngx_grapevine_site_finish(ctx, rc == NGX_ERROR ? NGX_ERROR : NGX_OK);
}


/* cookies, caching and the security headers of every site response */

static ngx_int_t
ngx_grapevine_site_headers(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t no_store)
{
    ngx_str_t            empty;
    ngx_http_request_t  *r;

    r = ctx->r;

    if (ctx->new_session.len) {
        if (ngx_grapevine_site_add_cookie(ctx, NGX_GRAPEVINE_SITE_SESSION,
                                          &ctx->new_session,
                                          ctx->conf->session_ttl)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (ctx->clear_session) {
        ngx_str_null(&empty);

        if (ngx_grapevine_site_add_cookie(ctx, NGX_GRAPEVINE_SITE_SESSION,
                                          &empty, 0)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ctx->csrf_new.len
        && ngx_grapevine_site_add_cookie(ctx, NGX_GRAPEVINE_SITE_CSRF,
                                         &ctx->csrf_new, -1)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_grapevine_http_add_header(r, "Cache-Control",
                                      no_store ? "no-store"
                                               : "private, no-cache")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "X-Content-Type-Options",
                                         "nosniff")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "X-Frame-Options", "DENY")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Referrer-Policy",
                                         "same-origin")
           != NGX_OK
        || ngx_grapevine_http_add_header(r, "Content-Security-Policy",
                                         NGX_GRAPEVINE_SITE_CSP)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* max_age: seconds, 0 to delete, -1 for a browser-session cookie */

static ngx_int_t
ngx_grapevine_site_add_cookie(ngx_grapevine_site_ctx_t *ctx,
    const char *name, ngx_str_t *value, time_t max_age)
{
    u_char               *p;
    size_t                len;
    ngx_uint_t            secure;
    ngx_table_elt_t      *h;
    ngx_http_request_t   *r;

    r = ctx->r;
    secure = 0;

#if (NGX_HTTP_SSL)
    secure = (r->connection->ssl != NULL);
#endif

    len = ngx_strlen(name) + 1 + value->len
          + sizeof("; Path=/; Max-Age=") - 1 + NGX_TIME_T_LEN
          + sizeof("; HttpOnly; SameSite=Lax; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;

    p = ngx_sprintf(p, "%s=%V; Path=/", name, value);

    if (max_age >= 0) {
        p = ngx_sprintf(p, "; Max-Age=%T", max_age);
    }

    p = ngx_cpymem(p, "; HttpOnly; SameSite=Lax",
                   sizeof("; HttpOnly; SameSite=Lax") - 1);

    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    h->value.len = p - h->value.data;

    return NGX_OK;
}


static int
ngx_grapevine_site_write(void *data, const u_char *p, size_t n)
{
    size_t                     size;
    ngx_chain_t               *cl;
    ngx_grapevine_site_out_t  *out = data;

    out->size += n;

    while (n) {
        if (out->buf == NULL || out->buf->last == out->buf->end) {
            size = ngx_max(n, NGX_GRAPEVINE_SITE_BUF);

            out->buf = ngx_create_temp_buf(out->pool, size);
            if (out->buf == NULL) {
                return NGX_GRAPEVINE_ERROR;
            }

            cl = ngx_alloc_chain_link(out->pool);
            if (cl == NULL) {
                return NGX_GRAPEVINE_ERROR;
            }

            cl->buf = out->buf;
            cl->next = NULL;
            *out->last = cl;
            out->last = &cl->next;
        }

        size = ngx_min(n, (size_t) (out->buf->end - out->buf->last));
        out->buf->last = ngx_cpymem(out->buf->last, p, size);
        p += size;
        n -= size;
    }

    return NGX_GRAPEVINE_OK;
}


/*
 * Ends the request: in the content handler the code is returned from it,
 * in the body handler and from the pool's or the thread pool's events the
 * request is finalized.
 */

void
ngx_grapevine_site_finish(ngx_grapevine_site_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_request_t  *r;

    r = ctx->r;

    if (ctx->finished) {
        return;
    }

    ctx->finished = 1;

    if (ctx->sync) {
        ctx->rc = rc;
        return;
    }

    if (ctx->in_body) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    ngx_grapevine_http_finalize(r, rc);
}
