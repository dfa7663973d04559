
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_SITE_H_INCLUDED_
#define _NGX_GRAPEVINE_SITE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_value.h"
#include "ngx_grapevine_request.h"
#include "ngx_grapevine_listen.h"
#include "ngx_grapevine_cache.h"
#include "ngx_grapevine_metrics.h"


/*
 * The player site (grapevine_site): HTML pages rendered from templates,
 * accounts and sessions, and the character registration tell.  Its
 * router serves route tables: the site's own (ngx_grapevine_site_pages.c)
 * and those of applications that plug into it (Raisin).  A request's
 * session and its CSRF token are checked here, once, before its route
 * runs: the route's statement (one SQL function of sql/site/ or of the
 * application's), or a form's own steps (accounts: the password is hashed
 * or verified with argon2id in an nginx thread pool between them).
 */


/*
 * The cookies: over https, names with the __Host- prefix, which a browser
 * keeps only when set Secure, for the whole site, by the host itself (a
 * sibling subdomain can neither set nor toss them); the names without it
 * are not read there, and deleted.
 */
#define NGX_GRAPEVINE_SITE_SESSION       "_grapevine_key"
#define NGX_GRAPEVINE_SITE_CSRF          "_grapevine_csrf"
#define NGX_GRAPEVINE_SITE_SESSION_HTTPS "__Host-grapevine_key"
#define NGX_GRAPEVINE_SITE_CSRF_HTTPS    "__Host-grapevine_csrf"

#define NGX_GRAPEVINE_SITE_PASSWORD_MIN  10     /* characters */
#define NGX_GRAPEVINE_SITE_PASSWORD_MAX  1024   /* bytes */

#define NGX_GRAPEVINE_SITE_PARAMS        2      /* {x} in a route's path */

/* the defaults of grapevine_password_hash, _sign_in_throttle, _sign_up_ */
#define NGX_GRAPEVINE_SITE_HASH_RUNNING       2     /* per worker */
#define NGX_GRAPEVINE_SITE_HASH_QUEUE         16
#define NGX_GRAPEVINE_SITE_THROTTLE_ACCOUNT   5     /* and address */
#define NGX_GRAPEVINE_SITE_THROTTLE_ADDRESS   20
#define NGX_GRAPEVINE_SITE_THROTTLE_BACKSTOP  100   /* any address */
#define NGX_GRAPEVINE_SITE_THROTTLE_PERIOD    900
#define NGX_GRAPEVINE_SITE_SIGN_UP_ADDRESS    10
#define NGX_GRAPEVINE_SITE_SIGN_UP_PERIOD     3600

#define NGX_GRAPEVINE_SITE_AGENT_MAX     512    /* bytes of a User-Agent */

/* the defaults of grapevine_chat_max_length and grapevine_chat_rate */
#define NGX_GRAPEVINE_SITE_CHAT_LENGTH   500    /* characters */
#define NGX_GRAPEVINE_SITE_CHAT_LENGTH_MAX  2048
#define NGX_GRAPEVINE_SITE_CHAT_RATE     1000   /* 1r/s, in thousandths */
#define NGX_GRAPEVINE_SITE_CHAT_BURST    4

/* a statement of the site: SELECT site_<name>(me jsonb, args jsonb) */
#define ngx_grapevine_site_stmt(name)                                         \
    { "grapevine_site_" name, "SELECT site_" name "($1::jsonb, $2::jsonb)" }


typedef struct ngx_grapevine_site_ctx_s  ngx_grapevine_site_ctx_t;

typedef void (*ngx_grapevine_site_pt)(ngx_grapevine_site_ctx_t *ctx);


/* who may use a route */
#define NGX_GRAPEVINE_SITE_ANYONE        0
#define NGX_GRAPEVINE_SITE_SIGNED_IN     1      /* else sent to sign in */
#define NGX_GRAPEVINE_SITE_MODERATOR     2      /* moderators and admins */

/* flags of a route */
#define NGX_GRAPEVINE_SITE_FORMS         0x01   /* holds forms: a token */
#define NGX_GRAPEVINE_SITE_JSON          0x02   /* answers JSON too */
#define NGX_GRAPEVINE_SITE_LIVE_IN       0x04   /* signed in: + site_hub() */


/*
 * A route: a method and a path ("/games/{short_name}": a {name} matches a
 * segment of 1 to 100 bytes and becomes the statement's argument "name"),
 * what it runs and what it shows.  A GET runs stmt (when set) with its
 * path's parameters and the query string's fields named in "fields"
 * ("key" or "key=name|other": the first name given), and renders
 * "template" with the answer.  A POST runs its own steps ("post") or stmt
 * with the form's fields named in "fields"; "template" is the form shown
 * again when it has problems (422).  "fixed" is an argument of the route's
 * own ("action=approve").
 */

typedef struct {
    ngx_uint_t                      method;    /* NGX_HTTP_GET or _POST */
    const char                     *path;
    ngx_uint_t                      access;
    ngx_uint_t                      flags;
    ngx_grapevine_pg_stmt_t        *stmt;
    const char                     *template;
    const char                    **fields;
    const char                     *fixed;
    ngx_grapevine_site_pt           post;
    const char                     *tables;    /* a GET page kept in the
                                                  cache signed out: the
                                                  tables its stmt reads */
} ngx_grapevine_site_route_t;


/*
 * What a location of the site serves: the site's pages (grapevine_site),
 * or an application that plugs into it (Raisin): its routes (the last one,
 * of no method, answers the paths that match none), the templates it
 * needs, its templates of wording.
 */

typedef struct {
    const char                     *directive;
    ngx_grapevine_site_route_t     *routes;
    const char                    **templates;     /* NULL-terminated */
    const char                    **words;
    const char                     *home;          /* after signing in */
    unsigned                        json:1;        /* answers JSON too */
    ngx_grapevine_metric_t         *requests;      /* its answers counted */
} ngx_grapevine_site_app_t;


typedef struct {
    ngx_grapevine_site_app_t       *app;
} ngx_grapevine_site_loc_conf_t;


typedef struct {
    ngx_str_t                       thread_pool_name;
#if (NGX_THREADS)
    ngx_thread_pool_t              *thread_pool;
#endif

    ngx_uint_t                      pw_ops;
    size_t                          pw_memory;
    ngx_uint_t                      pw_running;    /* hashes at once */
    ngx_uint_t                      pw_queue;      /* and waiting */
    ngx_uint_t                      pw_set;        /* the directive seen */
    u_char                         *dummy_hash;    /* for unknown logins */

    ngx_uint_t                      throttle_account;   /* and address */
    ngx_uint_t                      throttle_address;
    ngx_uint_t                      throttle_backstop;  /* any address */
    time_t                          throttle_period;
    ngx_uint_t                      throttle_set;  /* the directive seen */

    ngx_uint_t                      sign_up_address;
    time_t                          sign_up_period;
    ngx_uint_t                      sign_up_set;   /* the directive seen */

    time_t                          session_ttl;

    ngx_flag_t                      cache;         /* grapevine_site_cache */
    ngx_grapevine_cache_tables_t   *page_tables;   /* a site route's */
    ngx_grapevine_cache_tables_t    session_tables;
    ngx_grapevine_cache_tables_t    hub_tables;
    ngx_int_t                       chat_length;   /* characters */
    ngx_uint_t                      chat_rate;     /* thousandths a second */
    ngx_uint_t                      chat_burst;

    ngx_grapevine_template_set_t   *set;           /* core's */
    ngx_str_t                       name;          /* core's: on the hub */

    ngx_uint_t                      used;          /* grapevine_site seen */
    u_char                         *used_file;
    ngx_uint_t                      used_line;
} ngx_grapevine_site_conf_t;


/* a password job for the thread pool; its memory is its own pool's */

typedef struct {
    ngx_grapevine_site_ctx_t       *ctx;           /* NULL: request gone */
    ngx_pool_t                     *pool;

    u_char                         *verify;        /* password to check */
    size_t                          verify_len;
    u_char                         *hash;          /* against this */

    u_char                         *password;      /* password to hash */
    size_t                          password_len;
    u_char                         *new_hash;

    ngx_uint_t                      ops;
    size_t                          memory;

    ngx_int_t                       verified;      /* 1 yes, 0 no */
    ngx_int_t                       failed;        /* hashing failed */
} ngx_grapevine_site_pw_t;


typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       value;
} ngx_grapevine_site_param_t;


struct ngx_grapevine_site_ctx_s {
    ngx_grapevine_req_t             rq;            /* first */
    ngx_grapevine_req_conf_t        look;
    ngx_grapevine_site_conf_t      *conf;
    ngx_grapevine_site_app_t       *app;
    ngx_grapevine_site_route_t     *route;
    ngx_grapevine_site_param_t      params[NGX_GRAPEVINE_SITE_PARAMS];
    ngx_uint_t                      nparams;

    const char                     *session_name;  /* the cookies' */
    const char                     *csrf_name;
    ngx_str_t                       session;       /* cookie, or empty */
    ngx_str_t                       csrf_cookie;   /* valid cookie, or "" */
    ngx_str_t                       csrf_new;      /* to set, or empty */
    ngx_str_t                       new_session;   /* to set, or empty */
    ngx_uint_t                      clear_session;
    ngx_str_t                       user_agent;    /* as UTF-8 text */
    ngx_str_t                       attempt;       /* counted, see SQL */
    ngx_str_t                       claim;         /* a sign-up's */

    unsigned                        old_session:1; /* cookies to delete */
    unsigned                        old_csrf:1;
    unsigned                        agent_cleaned:1;
    unsigned                        ticket:1;      /* a hash's place */

    ngx_grapevine_value_t          *me;            /* NULL: signed out */
    ngx_str_t                       me_json;       /* $1 of statements */

    ngx_grapevine_site_pw_t        *pw;
    ngx_grapevine_value_t          *data;          /* a result kept */

    /* a signed-out page from the cache (ngx_grapevine_site_cache.c) */
    ngx_str_t                       cache_key;
    ngx_grapevine_cache_tables_t    cache_tables;
    uint64_t                        cache_gen;
    ngx_grapevine_listen_wait_t     cache_wait;
    ngx_grapevine_cache_wait_t      cache_lock;
    ngx_grapevine_value_t          *cache_res;     /* signed in: the data */
    ngx_str_t                       session_key;
    uint64_t                        session_gen;
    uint64_t                        hub_gen;
    unsigned                        cache_crossed:1;  /* the round trip */
    unsigned                        cache_cleanup:1;
    unsigned                        session_kept:1;   /* its fill is kept */
    unsigned                        hub_kept:1;
    unsigned                        cache_page:1;  /* same for everyone */
    unsigned                        cache_data:1;  /* signed in: the data */
    unsigned                        cacheable:1;   /* its fill is kept */
};


/* ngx_grapevine_site.c */

extern ngx_module_t  ngx_http_grapevine_site_module;

char *ngx_grapevine_site_location(ngx_conf_t *cf,
    ngx_grapevine_site_app_t *app);
ngx_int_t ngx_grapevine_site_used(ngx_conf_t *cf);

ngx_int_t ngx_grapevine_site_route_args(ngx_grapevine_site_ctx_t *ctx);
ngx_int_t ngx_grapevine_site_client_args(ngx_grapevine_site_ctx_t *ctx);
ngx_int_t ngx_grapevine_site_safe_path(ngx_str_t *path);
void ngx_grapevine_site_run(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_pg_stmt_t *stmt, ngx_grapevine_req_step_pt next);
void ngx_grapevine_site_page(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
void ngx_grapevine_site_session(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);

/* ngx_grapevine_site_pages.c */

extern ngx_grapevine_site_app_t  ngx_grapevine_site_app;
extern ngx_grapevine_pg_stmt_t   ngx_grapevine_site_session_stmt;

/* ngx_grapevine_site_cache.c */

ngx_int_t ngx_grapevine_site_cache_conf(ngx_conf_t *cf,
    ngx_grapevine_site_conf_t *sc);
void ngx_grapevine_site_cache_page(ngx_grapevine_site_ctx_t *ctx);
ngx_int_t ngx_grapevine_site_cache_session(ngx_grapevine_site_ctx_t *ctx);

/* ngx_grapevine_account.c */

extern ngx_grapevine_pg_stmt_t   ngx_grapevine_account_stmts[];

void ngx_grapevine_account_sign_up(ngx_grapevine_site_ctx_t *ctx);
void ngx_grapevine_account_sign_in(ngx_grapevine_site_ctx_t *ctx);
void ngx_grapevine_account_sign_out(ngx_grapevine_site_ctx_t *ctx);
void ngx_grapevine_account_settings(ngx_grapevine_site_ctx_t *ctx);
void ngx_grapevine_account_pw_cleanup(ngx_grapevine_req_t *rq);
ngx_int_t ngx_grapevine_account_hash_dummy(ngx_conf_t *cf,
    ngx_grapevine_site_conf_t *conf);
ngx_int_t ngx_grapevine_account_prepare(ngx_conf_t *cf);
ngx_int_t ngx_grapevine_account_metrics(ngx_conf_t *cf);
void ngx_grapevine_account_status(void *json, PGresult *res, void *data);

/* ngx_grapevine_chat.c */

void ngx_grapevine_chat_send(ngx_grapevine_site_ctx_t *ctx);

/* ngx_grapevine_register.c */

extern ngx_grapevine_tell_handler_t  ngx_grapevine_register_tell;


#endif /* _NGX_GRAPEVINE_SITE_H_INCLUDED_ */
