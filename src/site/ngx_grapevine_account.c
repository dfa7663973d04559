
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sodium.h>

#include "ngx_grapevine_site.h"


/*
 * Accounts: sign up, sign in, sign out and settings.  Each form is a few
 * steps: site_request() checks the CSRF token and looks things up, the
 * password is hashed or verified with argon2id in the thread pool (never
 * on the event loop), and site_request() writes the outcome.  Bad input
 * re-renders the form with every problem named and changes nothing.
 */


typedef void (*ngx_grapevine_account_pw_pt)(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw);

typedef struct {
    ngx_grapevine_site_pw_t       pw;
    ngx_grapevine_account_pw_pt   done;
} ngx_grapevine_account_job_t;


static ngx_str_t *ngx_grapevine_account_field(ngx_grapevine_site_ctx_t *ctx,
    const char *name, ngx_uint_t trim);
static ngx_int_t ngx_grapevine_account_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *name, ngx_str_t *value);
static ngx_int_t ngx_grapevine_account_set(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *key, const char *value);
static ngx_uint_t ngx_grapevine_account_has_errors(
    ngx_grapevine_value_t *data);
static ngx_int_t ngx_grapevine_account_pw_start(
    ngx_grapevine_site_ctx_t *ctx, ngx_str_t *verify, ngx_str_t *hash,
    ngx_str_t *password, ngx_grapevine_account_pw_pt done);
static void ngx_grapevine_account_pw_thread(void *data, ngx_log_t *log);
static void ngx_grapevine_account_pw_event(ngx_event_t *ev);
static ngx_int_t ngx_grapevine_account_session(ngx_grapevine_site_ctx_t *ctx);

static void ngx_grapevine_account_sign_up_checked(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_up_hashed(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_site_pw_t *pw);
static void ngx_grapevine_account_sign_up_done(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_up_form(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *data);

static void ngx_grapevine_account_sign_in_begun(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_in_verified(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_site_pw_t *pw);
static void ngx_grapevine_account_sign_in_done(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_in_failed(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_in_form(
    ngx_grapevine_site_ctx_t *ctx, ngx_uint_t status,
    ngx_grapevine_value_t *res, const char *error);

static void ngx_grapevine_account_sign_out_done(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);

static void ngx_grapevine_account_settings_begun(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_settings_verified(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_site_pw_t *pw);
static void ngx_grapevine_account_settings_wrong(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_settings_done(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *res);
static void ngx_grapevine_account_settings_form(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *data);


/* ------------------------------------------------------------- helpers */


/* a form field (trimmed of white space when asked), "" when absent */

static ngx_str_t *
ngx_grapevine_account_field(ngx_grapevine_site_ctx_t *ctx, const char *name,
    ngx_uint_t trim)
{
    ngx_str_t  *v;

    static ngx_str_t  empty = ngx_null_string;

    v = ngx_grapevine_site_field(ctx, name);

    if (v == NULL) {
        return &empty;
    }

    if (trim) {
        while (v->len && (v->data[0] == ' ' || v->data[0] == '\t'
                          || v->data[0] == '\r' || v->data[0] == '\n'))
        {
            v->data++;
            v->len--;
        }

        while (v->len && (v->data[v->len - 1] == ' '
                          || v->data[v->len - 1] == '\t'
                          || v->data[v->len - 1] == '\r'
                          || v->data[v->len - 1] == '\n'))
        {
            v->len--;
        }
    }

    return v;
}


/* data.form.<name> = value (for a form shown again) */

static ngx_int_t
ngx_grapevine_account_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *name, ngx_str_t *value)
{
    ngx_grapevine_arena_t  *a;
    ngx_grapevine_value_t  *form;

    a = &ctx->arena;

    form = ngx_grapevine_site_get(data, "form");

    if (form == NULL || form->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        form = ngx_grapevine_value_object(a, 4);

        if (form == NULL
            || ngx_grapevine_object_set(a, data, (u_char *) "form", 4, form)
               != NGX_GRAPEVINE_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_grapevine_object_set(a, form, (u_char *) name, ngx_strlen(name),
            ngx_grapevine_value_string(a, value->data, value->len))
        != NGX_GRAPEVINE_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_grapevine_account_set(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *key, const char *value)
{
    ngx_grapevine_value_t  *v;

    if (value == NULL) {
        v = ngx_grapevine_value_bool(&ctx->arena, 1);

    } else {
        v = ngx_grapevine_value_string(&ctx->arena, (u_char *) value,
                                       ngx_strlen(value));
    }

    if (ngx_grapevine_object_set(&ctx->arena, data, (u_char *) key,
                                 ngx_strlen(key), v)
        != NGX_GRAPEVINE_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_grapevine_account_has_errors(ngx_grapevine_value_t *data)
{
    ngx_grapevine_value_t  *errors;

    errors = ngx_grapevine_site_get(data, "errors");

    return errors && errors->type == NGX_GRAPEVINE_VALUE_OBJECT
           && errors->u.object.nelts;
}


/*
 * The password rules: at least NGX_GRAPEVINE_SITE_PASSWORD_MIN characters
 * (UTF-8 code points), at most NGX_GRAPEVINE_SITE_PASSWORD_MAX bytes, and
 * the confirmation (when the form has one) must be equal.  Problems go
 * into data.errors; returns NGX_ERROR only when out of memory.
 */

ngx_int_t
ngx_grapevine_account_password_errors(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *field, ngx_str_t *password,
    ngx_str_t *confirmation)
{
    size_t       chars;
    ngx_uint_t   i;
    const char  *msg;

    chars = 0;

    for (i = 0; i < password->len; i++) {
        if ((password->data[i] & 0xc0) != 0x80) {
            chars++;
        }
    }

    msg = NULL;

    if (password->len == 0) {
        msg = "Choose a password.";

    } else if (chars < NGX_GRAPEVINE_SITE_PASSWORD_MIN) {
        msg = "A password has at least 10 characters.";

    } else if (password->len > NGX_GRAPEVINE_SITE_PASSWORD_MAX) {
        msg = "A password has at most 1024 bytes.";
    }

    if (msg && ngx_grapevine_site_set_error(ctx, data, field, msg)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (confirmation
        && (confirmation->len != password->len
            || ngx_strncmp(confirmation->data, password->data,
                           password->len)
               != 0)
        && ngx_grapevine_site_set_error(ctx, data, "password_confirmation",
                                        "The two passwords differ.")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a new session token and CSRF token for site_new_session() */

static ngx_int_t
ngx_grapevine_account_session(ngx_grapevine_site_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   token, csrf, ttl;

    if (ngx_grapevine_site_token(ctx->r->pool, &token) != NGX_OK
        || ngx_grapevine_site_token(ctx->r->pool, &csrf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(ctx->r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ttl.data = p;
    ttl.len = ngx_sprintf(p, "%T", ctx->conf->session_ttl) - p;

    if (ngx_grapevine_site_arg(ctx, "new_token", &token,
                               NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_site_arg(ctx, "new_csrf", &csrf,
                                  NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_site_arg(ctx, "session_ttl", &ttl,
                                  NGX_GRAPEVINE_SITE_ARG_NUMBER)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->new_session = token;

    return NGX_OK;
}


/* ------------------------------------------------------ password jobs */


/*
 * At configuration time: a hash of the configured cost to verify against
 * when nobody has the login, so that an unknown login takes as long as a
 * wrong password.
 */

ngx_int_t
ngx_grapevine_account_hash_dummy(ngx_conf_t *cf,
    ngx_grapevine_site_conf_t *conf)
{
    u_char  random[16];

    conf->dummy_hash = ngx_pnalloc(cf->pool, crypto_pwhash_STRBYTES);
    if (conf->dummy_hash == NULL) {
        return NGX_ERROR;
    }

    randombytes_buf(random, sizeof(random));

    if (crypto_pwhash_str((char *) conf->dummy_hash, (char *) random,
                          sizeof(random), conf->pw_ops, conf->pw_memory)
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "grapevine_password_hash: argon2id with ops=%ui "
                      "memory=%uz failed (out of memory?)",
                      conf->pw_ops, conf->pw_memory);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Posts a job to the thread pool: verify "verify" against "hash" (when
 * given), then hash "password" (when given, and when the verification, if
 * any, succeeded).  The job copies what it needs into a pool of its own
 * and wipes the passwords; done runs on the event loop unless the request
 * went away first.  Returns NGX_ERROR when the job could not be posted
 * (the caller answers).
 */

static ngx_int_t
ngx_grapevine_account_pw_start(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *verify, ngx_str_t *hash, ngx_str_t *password,
    ngx_grapevine_account_pw_pt done)
{
#if (NGX_THREADS)

    ngx_pool_t                   *pool;
    ngx_thread_task_t            *task;
    ngx_grapevine_site_pw_t      *pw;
    ngx_grapevine_account_job_t  *job;

    pw = NULL;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    task = ngx_thread_task_alloc(pool, sizeof(ngx_grapevine_account_job_t));
    if (task == NULL) {
        goto failed;
    }

    job = task->ctx;
    pw = &job->pw;

    pw->ctx = ctx;
    pw->pool = pool;
    pw->ops = ctx->conf->pw_ops;
    pw->memory = ctx->conf->pw_memory;
    job->done = done;

    if (verify) {
        pw->verify = ngx_pnalloc(pool, verify->len + 1);
        pw->hash = ngx_pnalloc(pool, hash->len + 1);

        if (pw->verify == NULL || pw->hash == NULL) {
            goto failed;
        }

        ngx_memcpy(pw->verify, verify->data, verify->len);
        pw->verify[verify->len] = '\0';
        pw->verify_len = verify->len;

        ngx_memcpy(pw->hash, hash->data, hash->len);
        pw->hash[hash->len] = '\0';

        sodium_memzero(verify->data, verify->len);
    }

    if (password) {
        pw->password = ngx_pnalloc(pool, password->len + 1);
        pw->new_hash = ngx_pcalloc(pool, crypto_pwhash_STRBYTES);

        if (pw->password == NULL || pw->new_hash == NULL) {
            goto failed;
        }

        ngx_memcpy(pw->password, password->data, password->len);
        pw->password[password->len] = '\0';
        pw->password_len = password->len;

        sodium_memzero(password->data, password->len);
    }

    task->handler = ngx_grapevine_account_pw_thread;
    task->event.handler = ngx_grapevine_account_pw_event;
    task->event.data = job;

    if (ngx_thread_task_post(ctx->conf->thread_pool, task) != NGX_OK) {
        goto failed;
    }

    ctx->pw = pw;

    return NGX_OK;

failed:

    if (pw && pw->verify) {
        sodium_memzero(pw->verify, pw->verify_len);
    }

    if (pw && pw->password) {
        sodium_memzero(pw->password, pw->password_len);
    }

    ngx_destroy_pool(pool);

    return NGX_ERROR;

#else

    return NGX_ERROR;

#endif
}


/* in a thread of the pool */

static void
ngx_grapevine_account_pw_thread(void *data, ngx_log_t *log)
{
    ngx_grapevine_site_pw_t  *pw = data;

    if (pw->verify) {
        pw->verified = (crypto_pwhash_str_verify((char *) pw->hash,
                                                 (char *) pw->verify,
                                                 pw->verify_len)
                        == 0);

        sodium_memzero(pw->verify, pw->verify_len);
    }

    if (pw->password && (pw->verify == NULL || pw->verified)) {
        if (crypto_pwhash_str((char *) pw->new_hash, (char *) pw->password,
                              pw->password_len, pw->ops, pw->memory)
            != 0)
        {
            pw->failed = 1;
        }

        sodium_memzero(pw->password, pw->password_len);
    }
}


/* back on the event loop */

static void
ngx_grapevine_account_pw_event(ngx_event_t *ev)
{
    ngx_pool_t                   *pool;
    ngx_grapevine_site_ctx_t     *ctx;
    ngx_grapevine_account_job_t  *job;

    job = ev->data;
    pool = job->pw.pool;
    ctx = job->pw.ctx;

    if (ctx) {
        ctx->pw = NULL;

        job->done(ctx, &job->pw);
    }

    ngx_destroy_pool(pool);
}


/* the request goes away while its job runs: the job forgets it */

void
ngx_grapevine_account_pw_cleanup(ngx_grapevine_site_ctx_t *ctx)
{
    if (ctx->pw) {
        ctx->pw->ctx = NULL;
        ctx->pw = NULL;
    }
}


/* ------------------------------------------------------------- sign up */


void
ngx_grapevine_account_sign_up(ngx_grapevine_site_ctx_t *ctx)
{
    ctx->template = "register";

    if (ngx_grapevine_site_arg(ctx, "username",
            ngx_grapevine_account_field(ctx, "username", 1),
            NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_site_arg(ctx, "email",
               ngx_grapevine_account_field(ctx, "email", 1),
               NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_site_post_args(ctx) != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:sign_up_check",
                             ngx_grapevine_account_sign_up_checked);
}


static void
ngx_grapevine_account_sign_up_checked(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    ngx_str_t  *password;

    if (ngx_grapevine_site_status(res) != NGX_HTTP_OK) {
        ngx_grapevine_site_page(ctx, res);
        return;
    }

    password = ngx_grapevine_account_field(ctx, "password", 0);

    if (ngx_grapevine_account_password_errors(ctx, res, "password", password,
            ngx_grapevine_account_field(ctx, "password_confirmation", 0))
        != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_grapevine_account_has_errors(res)) {
        ngx_grapevine_account_sign_up_form(ctx, res);
        return;
    }

    if (ngx_grapevine_account_pw_start(ctx, NULL, NULL, password,
                                       ngx_grapevine_account_sign_up_hashed)
        != NGX_OK)
    {
        ngx_grapevine_site_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "The site is busy. Please try again.");
    }
}


static void
ngx_grapevine_account_sign_up_hashed(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw)
{
    ngx_str_t  hash;

    if (pw->failed) {
        ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                      "grapevine site: hashing a password failed");
        ngx_grapevine_site_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    hash.len = ngx_strlen(pw->new_hash);
    hash.data = ngx_pnalloc(ctx->r->pool, hash.len);
    if (hash.data == NULL) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(hash.data, pw->new_hash, hash.len);

    ctx->args.nelts = 0;

    if (ngx_grapevine_site_arg(ctx, "username",
            ngx_grapevine_account_field(ctx, "username", 1),
            NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_site_arg(ctx, "email",
               ngx_grapevine_account_field(ctx, "email", 1),
               NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_site_arg(ctx, "password_hash", &hash,
                                  NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_account_session(ctx) != NGX_OK
        || ngx_grapevine_site_client_args(ctx) != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:sign_up",
                             ngx_grapevine_account_sign_up_done);
}


static void
ngx_grapevine_account_sign_up_done(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    if (ngx_grapevine_site_status(res) == NGX_HTTP_SEE_OTHER) {
        ngx_grapevine_site_page(ctx, res);
        return;
    }

    /* taken meanwhile */

    ngx_str_null(&ctx->new_session);

    if (ngx_grapevine_account_has_errors(res)) {
        ngx_grapevine_account_sign_up_form(ctx, res);
        return;
    }

    ngx_grapevine_site_page(ctx, res);
}


static void
ngx_grapevine_account_sign_up_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data)
{
    if (ngx_grapevine_account_form(ctx, data, "username",
            ngx_grapevine_account_field(ctx, "username", 1))
        != NGX_OK
        || ngx_grapevine_account_form(ctx, data, "email",
               ngx_grapevine_account_field(ctx, "email", 1))
           != NGX_OK
        || ngx_grapevine_account_set(ctx, data, "title", "Sign up")
           != NGX_OK
        || ngx_grapevine_account_set(ctx, data, "nav_register", NULL)
           != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_render(ctx, 422, "register", data);
}


/* ------------------------------------------------------------- sign in */


void
ngx_grapevine_account_sign_in(ngx_grapevine_site_ctx_t *ctx)
{
    if (ngx_grapevine_site_arg(ctx, "login",
            ngx_grapevine_account_field(ctx, "login", 1),
            NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_site_post_args(ctx) != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:sign_in_begin",
                             ngx_grapevine_account_sign_in_begun);
}


static void
ngx_grapevine_account_sign_in_begun(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    ngx_int_t   status;
    ngx_str_t   hash, *login, *password;

    status = ngx_grapevine_site_status(res);

    if (status == 429) {
        ngx_grapevine_account_sign_in_form(ctx, 429, res,
            "Too many failed attempts to sign in. Please wait a few "
            "minutes and try again.");
        return;
    }

    if (status != NGX_HTTP_OK) {
        ngx_grapevine_site_page(ctx, res);
        return;
    }

    login = ngx_grapevine_account_field(ctx, "login", 1);
    password = ngx_grapevine_account_field(ctx, "password", 0);

    if (login->len == 0 || password->len == 0) {
        ngx_grapevine_account_sign_in_form(ctx, 422, res,
            "Enter your username or email address and your password.");
        return;
    }

    if (password->len > NGX_GRAPEVINE_SITE_PASSWORD_MAX) {
        ngx_grapevine_account_sign_in_form(ctx, 422, res,
            "A password has at most 1024 bytes.");
        return;
    }

    if (ngx_grapevine_site_get_str(res, "password_hash", &hash) != NGX_OK) {
        hash.data = ctx->conf->dummy_hash;
        hash.len = ngx_strlen(hash.data);
    }

    ctx->data = res;

    if (ngx_grapevine_account_pw_start(ctx, password, &hash, NULL,
                                   ngx_grapevine_account_sign_in_verified)
        != NGX_OK)
    {
        ngx_grapevine_site_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "The site is busy. Please try again.");
    }
}


static void
ngx_grapevine_account_sign_in_verified(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw)
{
    ngx_str_t   user, account, *next;

    ctx->args.nelts = 0;

    if (pw->verified
        && ngx_grapevine_site_get_str(ctx->data, "user_id", &user) == NGX_OK)
    {
        next = ngx_grapevine_site_field(ctx, "next");

        if (ngx_grapevine_site_arg(ctx, "user_id", &user,
                                   NGX_GRAPEVINE_SITE_ARG_NUMBER)
            != NGX_OK
            || (next && ngx_grapevine_site_arg(ctx, "next", next,
                                               NGX_GRAPEVINE_SITE_ARG_STRING)
                        != NGX_OK)
            || ngx_grapevine_account_session(ctx) != NGX_OK
            || ngx_grapevine_site_client_args(ctx) != NGX_OK)
        {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_site_query(ctx, "post:sign_in_ok",
                                 ngx_grapevine_account_sign_in_done);
        return;
    }

    if (pw->verified
        && ngx_grapevine_site_get_str(ctx->data, "password_hash", &account)
           == NGX_OK)
    {
        /* the right password of a suspended account: no session, and why */

        ngx_grapevine_account_sign_in_form(ctx, NGX_HTTP_FORBIDDEN, ctx->data,
            "This account is suspended. Its owner cannot sign in.");
        return;
    }

    if (ngx_grapevine_site_get_str(ctx->data, "account", &account) != NGX_OK
        || ngx_grapevine_site_arg(ctx, "account", &account,
                                  NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_site_client_args(ctx) != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:sign_in_failed",
                             ngx_grapevine_account_sign_in_failed);
}


static void
ngx_grapevine_account_sign_in_done(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    if (ngx_grapevine_site_status(res) != NGX_HTTP_SEE_OTHER) {
        ngx_str_null(&ctx->new_session);
    }

    ngx_grapevine_site_page(ctx, res);
}


static void
ngx_grapevine_account_sign_in_failed(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    ngx_grapevine_account_sign_in_form(ctx, NGX_HTTP_UNAUTHORIZED, res,
        "Wrong username, email address or password.");
}


static void
ngx_grapevine_account_sign_in_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, ngx_grapevine_value_t *res, const char *error)
{
    ngx_str_t              *next;
    ngx_grapevine_value_t  *data, *me;

    data = ngx_grapevine_value_object(&ctx->arena, 8);
    if (data == NULL) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    me = ngx_grapevine_site_get(res, "me");

    if (me && ngx_grapevine_object_set(&ctx->arena, data, (u_char *) "me", 2,
                                       me)
              != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    next = ngx_grapevine_site_field(ctx, "next");

    if (ngx_grapevine_account_form(ctx, data, "login",
            ngx_grapevine_account_field(ctx, "login", 1))
        != NGX_OK
        || (next && ngx_grapevine_account_form(ctx, data, "next", next)
                    != NGX_OK)
        || ngx_grapevine_account_set(ctx, data, "error", error) != NGX_OK
        || ngx_grapevine_account_set(ctx, data, "title", "Sign in") != NGX_OK
        || ngx_grapevine_account_set(ctx, data, "nav_sign_in", NULL)
           != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_render(ctx, status, "sign-in", data);
}


/* ------------------------------------------------------------ sign out */


void
ngx_grapevine_account_sign_out(ngx_grapevine_site_ctx_t *ctx)
{
    if (ngx_grapevine_site_post_args(ctx) != NGX_OK) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:sign_out",
                             ngx_grapevine_account_sign_out_done);
}


static void
ngx_grapevine_account_sign_out_done(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    if (ngx_grapevine_site_status(res) == NGX_HTTP_SEE_OTHER) {
        ctx->clear_session = 1;
    }

    ngx_grapevine_site_page(ctx, res);
}


/* ------------------------------------------------------------ settings */


void
ngx_grapevine_account_settings(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t  *change;

    change = ngx_grapevine_account_field(ctx, "change", 1);

    if (change->len == 5 && ngx_strncmp(change->data, "email", 5) == 0
        && ngx_grapevine_site_arg(ctx, "email",
               ngx_grapevine_account_field(ctx, "email", 1),
               NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_grapevine_site_post_args(ctx) != NGX_OK) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:settings_begin",
                             ngx_grapevine_account_settings_begun);
}


static void
ngx_grapevine_account_settings_begun(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    ngx_int_t               status;
    ngx_str_t              *change, *current, *password, hash;
    ngx_uint_t              email;
    ngx_grapevine_value_t  *v;

    status = ngx_grapevine_site_status(res);

    if (status == 429) {
        ngx_grapevine_site_error(ctx, 429,
            "Too many wrong passwords. Please wait a few minutes and try "
            "again.");
        return;
    }

    if (status != NGX_HTTP_OK) {
        ngx_grapevine_site_page(ctx, res);
        return;
    }

    if (ngx_grapevine_site_get_str(res, "password_hash", &hash) != NGX_OK) {
        ngx_grapevine_site_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    /* the hash stays out of the page */

    v = ngx_grapevine_value_null(&ctx->arena);
    if (v == NULL
        || ngx_grapevine_object_set(&ctx->arena, res,
                                    (u_char *) "password_hash", 13, v)
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->data = res;

    change = ngx_grapevine_account_field(ctx, "change", 1);
    current = ngx_grapevine_account_field(ctx, "current_password", 0);
    password = NULL;

    email = (change->len == 5 && ngx_strncmp(change->data, "email", 5) == 0);

    if (!email) {
        if (change->len != 8
            || ngx_strncmp(change->data, "password", 8) != 0)
        {
            ngx_grapevine_site_error(ctx, NGX_HTTP_BAD_REQUEST,
                                     "The form does not say what to "
                                     "change.");
            return;
        }

        password = ngx_grapevine_account_field(ctx, "password", 0);

        if (ngx_grapevine_account_password_errors(ctx, res, "password",
                password,
                ngx_grapevine_account_field(ctx, "password_confirmation", 0))
            != NGX_OK)
        {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (current->len == 0
        && ngx_grapevine_site_set_error(ctx, res, "current_password",
                                        "Enter your current password.")
           != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (current->len > NGX_GRAPEVINE_SITE_PASSWORD_MAX
        && ngx_grapevine_site_set_error(ctx, res, "current_password",
                                        "A password has at most 1024 bytes.")
           != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_grapevine_account_has_errors(res)) {
        ngx_grapevine_account_settings_form(ctx, res);
        return;
    }

    if (ngx_grapevine_account_pw_start(ctx, current, &hash, password,
                                   ngx_grapevine_account_settings_verified)
        != NGX_OK)
    {
        ngx_grapevine_site_error(ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "The site is busy. Please try again.");
    }
}


static void
ngx_grapevine_account_settings_verified(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw)
{
    ngx_str_t  account, hash, *change;

    ctx->args.nelts = 0;

    if (!pw->verified) {
        if (ngx_grapevine_site_get_str(ctx->data, "account", &account)
            != NGX_OK
            || ngx_grapevine_site_arg(ctx, "account", &account,
                                      NGX_GRAPEVINE_SITE_ARG_STRING)
               != NGX_OK
            || ngx_grapevine_site_client_args(ctx) != NGX_OK)
        {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_site_query(ctx, "post:sign_in_failed",
                                 ngx_grapevine_account_settings_wrong);
        return;
    }

    change = ngx_grapevine_account_field(ctx, "change", 1);

    if (change->len == 5) {
        if (ngx_grapevine_site_arg(ctx, "email",
                ngx_grapevine_account_field(ctx, "email", 1),
                NGX_GRAPEVINE_SITE_ARG_STRING)
            != NGX_OK)
        {
            ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_site_query(ctx, "post:settings_email",
                                 ngx_grapevine_account_settings_done);
        return;
    }

    if (pw->failed) {
        ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                      "grapevine site: hashing a password failed");
        ngx_grapevine_site_error(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    hash.len = ngx_strlen(pw->new_hash);
    hash.data = ngx_pnalloc(ctx->r->pool, hash.len);
    if (hash.data == NULL) {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(hash.data, pw->new_hash, hash.len);

    if (ngx_grapevine_site_arg(ctx, "password_hash", &hash,
                               NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:settings_password",
                             ngx_grapevine_account_settings_done);
}


static void
ngx_grapevine_account_settings_wrong(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    if (ngx_grapevine_site_set_error(ctx, ctx->data, "current_password",
                                     "Your current password is not right.")
        != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_account_settings_form(ctx, ctx->data);
}


static void
ngx_grapevine_account_settings_done(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    if (ngx_grapevine_site_status(res) == NGX_HTTP_OK
        && ngx_grapevine_account_has_errors(res))
    {
        ngx_grapevine_account_settings_form(ctx, res);
        return;
    }

    ngx_grapevine_site_page(ctx, res);
}


static void
ngx_grapevine_account_settings_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data)
{
    ngx_str_t  *change;

    change = ngx_grapevine_account_field(ctx, "change", 1);

    if ((change->len == 5
         && (ngx_grapevine_account_form(ctx, data, "email",
                 ngx_grapevine_account_field(ctx, "email", 1))
             != NGX_OK
             || ngx_grapevine_account_set(ctx, data, "change_email", NULL)
                != NGX_OK))
        || (change->len != 5
            && ngx_grapevine_account_set(ctx, data, "change_password", NULL)
               != NGX_OK))
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_render(ctx, 422, "settings", data);
}
