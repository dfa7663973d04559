
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
#include "ngx_grapevine_template.h"


/*
 * The player site (grapevine_site): HTML pages rendered from the templates
 * of grapevine_templates, accounts and sessions, and the character
 * registration tell.  Every page and every form step is one call of
 * site_request() (migrations/0004_site.sql) on this worker's pool; its
 * JSON answer is the page's data.  Passwords are hashed and verified with
 * argon2id in an nginx thread pool.
 */


#define NGX_GRAPEVINE_SITE_TOKEN_LEN    64      /* 32 bytes in hex */

#define NGX_GRAPEVINE_SITE_SESSION      "_grapevine_key"
#define NGX_GRAPEVINE_SITE_CSRF         "_grapevine_csrf"

#define NGX_GRAPEVINE_SITE_PASSWORD_MIN  10     /* characters */
#define NGX_GRAPEVINE_SITE_PASSWORD_MAX  1024   /* bytes */


typedef struct ngx_grapevine_site_ctx_s  ngx_grapevine_site_ctx_t;


/*
 * What a location of the site's request machinery serves: the site's
 * pages (grapevine_site), or an application that plugs into it (Raisin).
 */

typedef struct {
    const char                     *directive;
    void                          (*init)(ngx_grapevine_site_ctx_t *ctx);
    ngx_int_t                     (*route)(ngx_grapevine_site_ctx_t *ctx);
    ngx_grapevine_pg_stmt_t        *stmt;
    const char                     *function;      /* for messages */
    const char                    **templates;     /* NULL-terminated */
    unsigned                        json_bodies:1; /* takes JSON forms */
} ngx_grapevine_site_app_t;


typedef struct {
    ngx_grapevine_site_app_t       *app;
} ngx_grapevine_site_loc_conf_t;


typedef struct {
    ngx_grapevine_template_set_t   *set;           /* core's */

    ngx_str_t                       thread_pool_name;
#if (NGX_THREADS)
    ngx_thread_pool_t              *thread_pool;
#endif

    ngx_uint_t                      pw_ops;
    size_t                          pw_memory;
    ngx_uint_t                      pw_set;        /* the directive seen */
    u_char                         *dummy_hash;    /* for unknown logins */

    ngx_uint_t                      throttle_account;
    ngx_uint_t                      throttle_address;
    time_t                          throttle_period;
    ngx_uint_t                      throttle_set;  /* the directive seen */
    time_t                          session_ttl;

    ngx_str_t                       hub_name;      /* core's name */

    ngx_uint_t                      used;          /* grapevine_site seen */
    u_char                         *used_file;
    ngx_uint_t                      used_line;
} ngx_grapevine_site_conf_t;

typedef void (*ngx_grapevine_site_step_pt)(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res);


typedef struct {
    ngx_str_t                       key;
    ngx_str_t                       value;
    ngx_uint_t                      type;          /* a JSON type below */
} ngx_grapevine_site_arg_t;

#define NGX_GRAPEVINE_SITE_ARG_STRING   0
#define NGX_GRAPEVINE_SITE_ARG_BOOL     1          /* value "1" or "" */
#define NGX_GRAPEVINE_SITE_ARG_NUMBER   2


typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       value;
} ngx_grapevine_site_field_t;


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


struct ngx_grapevine_site_ctx_s {
    ngx_grapevine_pg_query_t        q;             /* first: see handlers */
    ngx_http_request_t             *r;
    ngx_grapevine_site_conf_t      *conf;
    ngx_grapevine_site_app_t       *app;
    ngx_grapevine_arena_t           arena;

    const char                     *values[3];
    ngx_str_t                       kind;          /* site_request() kind */
    const char                     *template;
    ngx_grapevine_site_step_pt      next;

    ngx_array_t                     args;          /* of _arg_t */
    ngx_array_t                     fields;        /* form, of _field_t */

    ngx_str_t                       session;       /* cookie, or empty */
    ngx_str_t                       csrf_cookie;   /* valid cookie, or "" */
    ngx_str_t                       csrf_new;      /* to set, or empty */
    ngx_str_t                       new_session;   /* to set, or empty */
    ngx_uint_t                      clear_session;

    void                          (*post)(ngx_grapevine_site_ctx_t *ctx);
    ngx_str_t                       param[2];      /* from the path */

    ngx_grapevine_site_pw_t        *pw;
    ngx_grapevine_value_t          *data;          /* a result kept */
    ngx_uint_t                      forms;         /* page has forms */

    const char                     *action;        /* Raisin's POST */

    ngx_int_t                       rc;
    unsigned                        json:1;        /* answer in JSON */
    unsigned                        sync:1;        /* in the handler */
    unsigned                        in_body:1;     /* in the body handler */
    unsigned                        finished:1;
};


/* ngx_grapevine_site.c */

extern ngx_module_t  ngx_http_grapevine_site_module;

char *ngx_grapevine_site_location(ngx_conf_t *cf,
    ngx_grapevine_site_app_t *app);
ngx_int_t ngx_grapevine_site_used(ngx_conf_t *cf, u_char **file,
    ngx_uint_t *line);

ngx_int_t ngx_grapevine_site_arg(ngx_grapevine_site_ctx_t *ctx,
    const char *key, ngx_str_t *value, ngx_uint_t type);
ngx_int_t ngx_grapevine_site_arg_cstr(ngx_grapevine_site_ctx_t *ctx,
    const char *key, const char *value, ngx_uint_t type);
ngx_str_t *ngx_grapevine_site_field(ngx_grapevine_site_ctx_t *ctx,
    const char *name);

void ngx_grapevine_site_query(ngx_grapevine_site_ctx_t *ctx,
    const char *kind, ngx_grapevine_site_step_pt next);
void ngx_grapevine_site_page(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res);
void ngx_grapevine_site_render(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, const char *template, ngx_grapevine_value_t *data);
void ngx_grapevine_site_error(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, const char *message);
void ngx_grapevine_site_redirect(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *location);
void ngx_grapevine_site_finish(ngx_grapevine_site_ctx_t *ctx,
    ngx_int_t rc);

ngx_int_t ngx_grapevine_site_status(ngx_grapevine_value_t *res);
ngx_grapevine_value_t *ngx_grapevine_site_get(ngx_grapevine_value_t *obj,
    const char *key);
ngx_int_t ngx_grapevine_site_get_str(ngx_grapevine_value_t *obj,
    const char *key, ngx_str_t *s);
ngx_int_t ngx_grapevine_site_set_error(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *field, const char *message);
ngx_int_t ngx_grapevine_site_token(ngx_pool_t *pool, ngx_str_t *token);
ngx_int_t ngx_grapevine_site_is_token(ngx_str_t *s);
ngx_int_t ngx_grapevine_site_post_args(ngx_grapevine_site_ctx_t *ctx);
ngx_int_t ngx_grapevine_site_client_args(ngx_grapevine_site_ctx_t *ctx);

/* ngx_grapevine_site_pages.c */

extern ngx_grapevine_site_app_t  ngx_grapevine_site_app;

ngx_int_t ngx_grapevine_site_route(ngx_grapevine_site_ctx_t *ctx);
ngx_int_t ngx_grapevine_site_prefix(ngx_str_t *path, const char *p,
    ngx_str_t *rest);
ngx_int_t ngx_grapevine_site_segment(ngx_str_t *rest, ngx_str_t *segment);

/* ngx_grapevine_account.c */

void ngx_grapevine_account_sign_up(ngx_grapevine_site_ctx_t *ctx);
void ngx_grapevine_account_sign_in(ngx_grapevine_site_ctx_t *ctx);
void ngx_grapevine_account_sign_out(ngx_grapevine_site_ctx_t *ctx);
void ngx_grapevine_account_settings(ngx_grapevine_site_ctx_t *ctx);
ngx_int_t ngx_grapevine_account_password_errors(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *data,
    const char *field, ngx_str_t *password, ngx_str_t *confirmation);
void ngx_grapevine_account_pw_cleanup(ngx_grapevine_site_ctx_t *ctx);
ngx_int_t ngx_grapevine_account_hash_dummy(ngx_conf_t *cf,
    ngx_grapevine_site_conf_t *conf);

/* ngx_grapevine_register.c */

void ngx_grapevine_register_character(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *id, ngx_str_t *action);
extern ngx_grapevine_tell_handler_t  ngx_grapevine_register_tell;


#endif /* _NGX_GRAPEVINE_SITE_H_INCLUDED_ */
