
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sodium.h>

#include "ngx_grapevine_site.h"
#include "ngx_grapevine_json.h"


/*
 * Accounts: sign up, sign in, sign out and settings.  Each form is a few
 * steps, each a statement of its own (sql/site/site_sign_up.sql, …): one
 * looks things up, the password is hashed or verified with argon2id in the
 * thread pool (never on the event loop), the next writes the outcome.  The
 * router has checked the CSRF token before the first.  Bad input shows the
 * form again with the code of every problem (the templates word them) and
 * changes nothing.
 *
 * What costs: a hash.  A form that will need one takes a place among the
 * worker's hashes first (grapevine_password_hash running= and queue=), or
 * is answered 503 at once; the first statement then counts the attempt
 * (signing in, the settings' current password: the throttle) or takes the
 * name and the address (signing up), before the password is hashed.
 */


ngx_grapevine_pg_stmt_t  ngx_grapevine_account_stmts[] = {
    ngx_grapevine_site_stmt("sign_up_check"),
    ngx_grapevine_site_stmt("sign_up"),
    ngx_grapevine_site_stmt("sign_in_begin"),
    ngx_grapevine_site_stmt("sign_in_ok"),
    ngx_grapevine_site_stmt("sign_out"),
    ngx_grapevine_site_stmt("settings_begin"),
    ngx_grapevine_site_stmt("settings_email"),
    ngx_grapevine_site_stmt("settings_password"),
    { NULL, NULL }
};

#define NGX_GRAPEVINE_ACCOUNT_SIGN_UP_CHECK   0
#define NGX_GRAPEVINE_ACCOUNT_SIGN_UP         1
#define NGX_GRAPEVINE_ACCOUNT_SIGN_IN_BEGIN   2
#define NGX_GRAPEVINE_ACCOUNT_SIGN_IN_OK      3
#define NGX_GRAPEVINE_ACCOUNT_SIGN_OUT        4
#define NGX_GRAPEVINE_ACCOUNT_SETTINGS_BEGIN  5
#define NGX_GRAPEVINE_ACCOUNT_EMAIL           6
#define NGX_GRAPEVINE_ACCOUNT_PASSWORD        7

#define ngx_grapevine_account_run(ctx, n, next)                               \
    ngx_grapevine_site_run(ctx, &ngx_grapevine_account_stmts[n], next)


typedef void (*ngx_grapevine_account_pw_pt)(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw);

typedef struct {
    ngx_grapevine_site_pw_t       pw;              /* first: ctx->pw */
    ngx_grapevine_account_pw_pt   done;
    ngx_thread_task_t            *task;
#if (NGX_THREADS)
    ngx_thread_pool_t            *thread_pool;
#endif
    ngx_queue_t                   queue;           /* while it waits */
    ngx_uint_t                    running_max;
    unsigned                      posted:1;
} ngx_grapevine_account_job_t;


/*
 * The worker's password hashes: "admitted" places given (to forms about
 * to hash, and to the jobs running or waiting), at most running= plus
 * queue=; at most running= jobs in the thread pool at once, the others
 * waiting in order.  So argon2id's memory in a worker is at most running=
 * times memory=, whatever the traffic.
 */

typedef struct {
    ngx_uint_t                    admitted;
    ngx_uint_t                    running;
    ngx_uint_t                    waiting;
    ngx_queue_t                   queue;
    ngx_uint_t                    peak_running;
    ngx_uint_t                    peak_waiting;
    ngx_uint_t                    refused;
    ngx_uint_t                    done;
} ngx_grapevine_account_hashes_t;


static ngx_grapevine_account_hashes_t  ngx_grapevine_account_hashes;


static ngx_str_t *ngx_grapevine_account_field(ngx_grapevine_site_ctx_t *ctx,
    const char *name, ngx_uint_t trim);
static ngx_int_t ngx_grapevine_account_arg(ngx_grapevine_site_ctx_t *ctx,
    const char *name);
static ngx_int_t ngx_grapevine_account_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *name, ngx_str_t *value);
static ngx_int_t ngx_grapevine_account_flag(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *key);
static ngx_int_t ngx_grapevine_account_password_errors(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *data,
    const char *field, ngx_str_t *password, ngx_str_t *confirmation);
static ngx_int_t ngx_grapevine_account_password_ok(
    ngx_grapevine_site_ctx_t *ctx, ngx_str_t *password,
    ngx_str_t *confirmation);
static ngx_int_t ngx_grapevine_account_session(ngx_grapevine_site_ctx_t *ctx);
static ngx_int_t ngx_grapevine_account_hash(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw);
static ngx_int_t ngx_grapevine_account_keep(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res, const char *key, ngx_str_t *s);

static ngx_int_t ngx_grapevine_account_admit(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_account_busy(ngx_grapevine_site_ctx_t *ctx);
static ngx_int_t ngx_grapevine_account_pw_start(
    ngx_grapevine_site_ctx_t *ctx, ngx_str_t *verify, ngx_str_t *hash,
    ngx_str_t *password, ngx_grapevine_account_pw_pt done);
static void ngx_grapevine_account_pw_thread(void *data, ngx_log_t *log);
static void ngx_grapevine_account_pw_event(ngx_event_t *ev);
static void ngx_grapevine_account_pw_next(void);
static void ngx_grapevine_account_pw_drop(ngx_grapevine_account_job_t *job);

static void ngx_grapevine_account_sign_up_checked(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_up_hashed(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_site_pw_t *pw);
static void ngx_grapevine_account_sign_up_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_up_form(
    ngx_grapevine_site_ctx_t *ctx, ngx_uint_t status,
    ngx_grapevine_value_t *data);

static void ngx_grapevine_account_sign_in_begun(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_in_verified(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_site_pw_t *pw);
static void ngx_grapevine_account_sign_in_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static void ngx_grapevine_account_sign_in_form(
    ngx_grapevine_site_ctx_t *ctx, ngx_uint_t status, const char *error);

static void ngx_grapevine_account_sign_out_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);

static ngx_int_t ngx_grapevine_account_settings_errors(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *data);
static void ngx_grapevine_account_settings_begun(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static void ngx_grapevine_account_settings_verified(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_site_pw_t *pw);
static void ngx_grapevine_account_settings_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static void ngx_grapevine_account_settings_form(
    ngx_grapevine_site_ctx_t *ctx, ngx_grapevine_value_t *data);


/* the hashes of this worker, running in the thread pool or waiting */

static void ngx_grapevine_account_collect(ngx_grapevine_metric_t *m);

static const char *const  ngx_grapevine_account_hash_states[] = {
    "running", "queued", NULL
};

static ngx_grapevine_metric_t  ngx_grapevine_account_hashes_metric = {
    "password_hashes",
    "Password hashes (sign-ups, sign-ins, changes) running or queued now.",
    NGX_GRAPEVINE_METRIC_WORKER_GAUGE, NULL, NULL, "state",
    ngx_grapevine_account_hash_states, NULL, ngx_grapevine_account_collect,
    NULL, 0, 0, 0, NULL
};


ngx_int_t
ngx_grapevine_account_metrics(ngx_conf_t *cf)
{
    return ngx_grapevine_metric_register(cf,
                                         &ngx_grapevine_account_hashes_metric);
}


static void
ngx_grapevine_account_collect(ngx_grapevine_metric_t *m)
{
    ngx_grapevine_metric_set(m, 0, ngx_grapevine_account_hashes.running);
    ngx_grapevine_metric_set(m, 1, ngx_grapevine_account_hashes.waiting);
}


/* the steps' statements, prepared on every connection */

ngx_int_t
ngx_grapevine_account_prepare(ngx_conf_t *cf)
{
    ngx_grapevine_pg_stmt_t  *stmt;

    for (stmt = ngx_grapevine_account_stmts; stmt->name; stmt++) {
        if (ngx_grapevine_prepare(cf, stmt) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* ------------------------------------------------------------- helpers */


/* a form field (trimmed of white space when asked), "" when absent */

static ngx_str_t *
ngx_grapevine_account_field(ngx_grapevine_site_ctx_t *ctx, const char *name,
    ngx_uint_t trim)
{
    ngx_str_t  *v;

    static ngx_str_t  empty = ngx_null_string;

    v = ngx_grapevine_req_field(&ctx->rq, name);

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


/* a form field, trimmed, as the statement's argument of the same name */

static ngx_int_t
ngx_grapevine_account_arg(ngx_grapevine_site_ctx_t *ctx, const char *name)
{
    return ngx_grapevine_req_arg(&ctx->rq, name,
                                 ngx_grapevine_account_field(ctx, name, 1),
                                 NGX_GRAPEVINE_ARG_STRING);
}


/* data.form.<name> = value (for a form shown again) */

static ngx_int_t
ngx_grapevine_account_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *name, ngx_str_t *value)
{
    ngx_grapevine_value_t  *form;

    form = ngx_grapevine_req_get(data, "form");

    if (form == NULL || form->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        form = ngx_grapevine_value_object(&ctx->rq.arena, 4);

        if (ngx_grapevine_req_set(&ctx->rq, data, "form", form) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_grapevine_req_set_str(&ctx->rq, form, name, value);
}


static ngx_int_t
ngx_grapevine_account_flag(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *key)
{
    return ngx_grapevine_req_set(&ctx->rq, data, key,
                                 ngx_grapevine_value_bool(&ctx->rq.arena, 1));
}


/*
 * The password rules: at least NGX_GRAPEVINE_SITE_PASSWORD_MIN characters
 * (UTF-8 code points), at most NGX_GRAPEVINE_SITE_PASSWORD_MAX bytes, and
 * the confirmation (when the form has one) must be equal.  Problems go
 * into data.errors; returns NGX_ERROR only when out of memory.
 */

static ngx_int_t
ngx_grapevine_account_password_errors(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data, const char *field, ngx_str_t *password,
    ngx_str_t *confirmation)
{
    size_t       chars;
    ngx_uint_t   i;
    const char  *code;

    chars = 0;

    for (i = 0; i < password->len; i++) {
        if ((password->data[i] & 0xc0) != 0x80) {
            chars++;
        }
    }

    code = NULL;

    if (password->len == 0) {
        code = "password_missing";

    } else if (chars < NGX_GRAPEVINE_SITE_PASSWORD_MIN) {
        code = "password_short";

    } else if (password->len > NGX_GRAPEVINE_SITE_PASSWORD_MAX) {
        code = "password_long";
    }

    if (code && ngx_grapevine_req_add_error(&ctx->rq, data, field, code)
                != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (confirmation
        && (confirmation->len != password->len
            || ngx_strncmp(confirmation->data, password->data,
                           password->len)
               != 0)
        && ngx_grapevine_req_add_error(&ctx->rq, data,
                                       "password_confirmation",
                                       "password_differs")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A new session for the statement that opens it: its token (the cookie
 * set with the answer), its CSRF token, its lifetime, the browser's old
 * session to end, and who the browser is.
 */

static ngx_int_t
ngx_grapevine_account_session(ngx_grapevine_site_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   token, csrf, ttl;

    if (ngx_grapevine_token(ctx->rq.r->pool, &token) != NGX_OK
        || ngx_grapevine_token(ctx->rq.r->pool, &csrf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(ctx->rq.r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ttl.data = p;
    ttl.len = ngx_sprintf(p, "%T", ctx->conf->session_ttl) - p;

    if (ngx_grapevine_req_arg(&ctx->rq, "new_token", &token,
                              NGX_GRAPEVINE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_req_arg(&ctx->rq, "new_csrf", &csrf,
                                 NGX_GRAPEVINE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_req_arg(&ctx->rq, "session_ttl", &ttl,
                                 NGX_GRAPEVINE_ARG_NUMBER)
           != NGX_OK
        || (ctx->session.len
            && ngx_grapevine_req_arg(&ctx->rq, "old_token", &ctx->session,
                                     NGX_GRAPEVINE_ARG_STRING)
               != NGX_OK)
        || ngx_grapevine_site_client_args(ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->new_session = token;

    return NGX_OK;
}


/* a new hash as the statement's "password_hash" */

static ngx_int_t
ngx_grapevine_account_hash(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw)
{
    ngx_str_t  hash;

    hash.len = ngx_strlen(pw->new_hash);
    hash.data = ngx_pnalloc(ctx->rq.r->pool, hash.len);
    if (hash.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(hash.data, pw->new_hash, hash.len);

    return ngx_grapevine_req_arg(&ctx->rq, "password_hash", &hash,
                                 NGX_GRAPEVINE_ARG_STRING);
}

/* whether a new password (and its confirmation) breaks no rule */

static ngx_int_t
ngx_grapevine_account_password_ok(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *password, ngx_str_t *confirmation)
{
    ngx_grapevine_value_t  *scratch;

    scratch = ngx_grapevine_value_object(&ctx->rq.arena, 2);
    if (scratch == NULL) {
        return NGX_ERROR;
    }

    if (ngx_grapevine_account_password_errors(ctx, scratch, "password",
                                              password, confirmation)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_grapevine_req_has_errors(scratch) ? NGX_DECLINED : NGX_OK;
}


/*
 * Keeps a member of a step's answer that the next step needs (the attempt
 * counted, the sign-up's claim) in the request's memory, and takes it out
 * of the data that a page may show.
 */

static ngx_int_t
ngx_grapevine_account_keep(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res, const char *key, ngx_str_t *s)
{
    ngx_str_t  v;

    if (ngx_grapevine_req_get_str(res, key, &v) != NGX_OK) {
        ngx_str_null(s);
        return NGX_DECLINED;
    }

    s->data = ngx_pnalloc(ctx->rq.r->pool, v.len);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->data, v.data, v.len);
    s->len = v.len;

    return ngx_grapevine_req_set(&ctx->rq, res, key,
                                 ngx_grapevine_value_null(&ctx->rq.arena));
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
 * A place among the worker's hashes for a form that will hash or verify
 * a password, taken before its first statement; NGX_DECLINED when the
 * worker has none (the caller answers 503 at once).  The place goes with
 * the hash's job, or with the request when it hashes nothing after all.
 */

static ngx_int_t
ngx_grapevine_account_admit(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_grapevine_account_hashes_t  *h;

    h = &ngx_grapevine_account_hashes;

    if (ctx->ticket) {
        return NGX_OK;
    }

    if (h->admitted >= ctx->conf->pw_running + ctx->conf->pw_queue) {
        h->refused++;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ctx->rq.r->connection->log, 0,
                       "grapevine site: %ui password hashes under way, "
                       "answering 503", h->admitted);
        return NGX_DECLINED;
    }

    h->admitted++;
    ctx->ticket = 1;

    return NGX_OK;
}


static void
ngx_grapevine_account_busy(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_SERVICE_UNAVAILABLE, "busy",
                            NULL);
}


/*
 * Starts a job: verify "verify" against "hash" (when given), then hash
 * "password" (when given, and when the verification, if any, succeeded).
 * The job copies what it needs into a pool of its own and wipes the
 * passwords; it runs in the thread pool at once when fewer than running=
 * jobs do, or waits for one of them to end; done runs on the event loop
 * unless the request went away first.  Returns NGX_ERROR when the job
 * could not start (the caller answers).
 */

static ngx_int_t
ngx_grapevine_account_pw_start(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *verify, ngx_str_t *hash, ngx_str_t *password,
    ngx_grapevine_account_pw_pt done)
{
#if (NGX_THREADS)

    ngx_pool_t                      *pool;
    ngx_thread_task_t               *task;
    ngx_grapevine_site_pw_t         *pw;
    ngx_grapevine_account_job_t     *job;
    ngx_grapevine_account_hashes_t  *h;

    h = &ngx_grapevine_account_hashes;
    pw = NULL;

    if (h->queue.next == NULL) {
        ngx_queue_init(&h->queue);
    }

    if (ngx_grapevine_account_admit(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        goto failed;
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
    job->task = task;
    job->thread_pool = ctx->conf->thread_pool;
    job->running_max = ctx->conf->pw_running;

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

    if (h->running < job->running_max) {
        if (ngx_thread_task_post(job->thread_pool, task) != NGX_OK) {
            goto failed;
        }

        job->posted = 1;
        h->running++;

        if (h->running > h->peak_running) {
            h->peak_running = h->running;
        }

    } else {
        ngx_queue_insert_tail(&h->queue, &job->queue);
        h->waiting++;

        if (h->waiting > h->peak_waiting) {
            h->peak_waiting = h->waiting;
        }
    }

    /* the place is the job's now */

    ctx->ticket = 0;
    ctx->pw = pw;

    return NGX_OK;

failed:

    if (pw && pw->verify) {
        sodium_memzero(pw->verify, pw->verify_len);
    }

    if (pw && pw->password) {
        sodium_memzero(pw->password, pw->password_len);
    }

    if (pool) {
        ngx_destroy_pool(pool);
    }

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


/* back on the event loop: the next job in, then this one's request */

static void
ngx_grapevine_account_pw_event(ngx_event_t *ev)
{
    ngx_pool_t                      *pool;
    ngx_grapevine_site_ctx_t        *ctx;
    ngx_grapevine_account_job_t     *job;
    ngx_grapevine_account_hashes_t  *h;

    h = &ngx_grapevine_account_hashes;

    job = ev->data;
    pool = job->pw.pool;
    ctx = job->pw.ctx;

    h->running--;
    h->admitted--;
    h->done++;

    ngx_grapevine_account_pw_next();

    if (ctx) {
        ctx->pw = NULL;

        job->done(ctx, &job->pw);
    }

    ngx_destroy_pool(pool);
}


/* waiting jobs into the thread pool, while fewer than running= run */

static void
ngx_grapevine_account_pw_next(void)
{
#if (NGX_THREADS)

    ngx_queue_t                     *q;
    ngx_grapevine_site_ctx_t        *ctx;
    ngx_grapevine_account_job_t     *job;
    ngx_grapevine_account_hashes_t  *h;

    h = &ngx_grapevine_account_hashes;

    while (!ngx_queue_empty(&h->queue)) {
        q = ngx_queue_head(&h->queue);
        job = ngx_queue_data(q, ngx_grapevine_account_job_t, queue);

        if (h->running >= job->running_max) {
            return;
        }

        ngx_queue_remove(q);
        h->waiting--;

        if (ngx_thread_task_post(job->thread_pool, job->task) == NGX_OK) {
            job->posted = 1;
            h->running++;
            continue;
        }

        /* the thread pool's own queue is full: this one is refused */

        ctx = job->pw.ctx;

        ngx_grapevine_account_pw_drop(job);

        if (ctx) {
            ctx->pw = NULL;
            ngx_grapevine_account_busy(ctx);
        }
    }

#endif
}


/* a job that waited and will not run: its place and memory are given up */

static void
ngx_grapevine_account_pw_drop(ngx_grapevine_account_job_t *job)
{
    ngx_grapevine_site_pw_t  *pw;

    pw = &job->pw;

    if (pw->verify) {
        sodium_memzero(pw->verify, pw->verify_len);
    }

    if (pw->password) {
        sodium_memzero(pw->password, pw->password_len);
    }

    ngx_grapevine_account_hashes.admitted--;

    ngx_destroy_pool(pw->pool);
}


/*
 * The request goes away: its place is given up, a job of it that waits is
 * dropped, and one that runs forgets it (its place is given up when it
 * ends, as its memory is).
 */

void
ngx_grapevine_account_pw_cleanup(ngx_grapevine_req_t *rq)
{
    ngx_grapevine_site_ctx_t        *ctx;
    ngx_grapevine_account_job_t     *job;
    ngx_grapevine_account_hashes_t  *h;

    ctx = (ngx_grapevine_site_ctx_t *) rq;
    h = &ngx_grapevine_account_hashes;

    if (ctx->ticket) {
        ctx->ticket = 0;
        h->admitted--;
    }

    if (ctx->pw == NULL) {
        return;
    }

    job = (ngx_grapevine_account_job_t *) ctx->pw;

    ctx->pw->ctx = NULL;
    ctx->pw = NULL;

    if (!job->posted) {
        ngx_queue_remove(&job->queue);
        h->waiting--;

        ngx_grapevine_account_pw_drop(job);
    }
}


/* the worker's member of /_status: its password hashes */

void
ngx_grapevine_account_status(void *json, PGresult *res, void *data)
{
    ngx_grapevine_json_t            *j = json;
    ngx_grapevine_site_conf_t       *sc;
    ngx_grapevine_account_hashes_t  *h;

    h = &ngx_grapevine_account_hashes;
    sc = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                             ngx_http_grapevine_site_module);

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "running");
    ngx_grapevine_json_int(j, h->running);
    ngx_grapevine_json_key(j, "waiting");
    ngx_grapevine_json_int(j, h->waiting);
    ngx_grapevine_json_key(j, "running_max");
    ngx_grapevine_json_int(j, sc ? sc->pw_running : 0);
    ngx_grapevine_json_key(j, "queue_max");
    ngx_grapevine_json_int(j, sc ? sc->pw_queue : 0);
    ngx_grapevine_json_key(j, "peak_running");
    ngx_grapevine_json_int(j, h->peak_running);
    ngx_grapevine_json_key(j, "peak_waiting");
    ngx_grapevine_json_int(j, h->peak_waiting);
    ngx_grapevine_json_key(j, "done");
    ngx_grapevine_json_int(j, h->done);
    ngx_grapevine_json_key(j, "refused");
    ngx_grapevine_json_int(j, h->refused);
    ngx_grapevine_json_map_end(j);
}


/* ------------------------------------------------------------- sign up */


/*
 * The username and the address are checked, and when the form has no
 * problem taken for this sign-up (so that no concurrent one hashes for
 * them), before the password is hashed.
 */

void
ngx_grapevine_account_sign_up(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  claim;

    rc = ngx_grapevine_account_password_ok(ctx,
             ngx_grapevine_account_field(ctx, "password", 0),
             ngx_grapevine_account_field(ctx, "password_confirmation", 0));

    if (rc == NGX_ERROR) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_OK && ngx_grapevine_account_admit(ctx) != NGX_OK) {
        ngx_grapevine_account_busy(ctx);
        return;
    }

    ngx_str_set(&claim, "1");

    if (ngx_grapevine_account_arg(ctx, "username") != NGX_OK
        || ngx_grapevine_account_arg(ctx, "email") != NGX_OK
        || (rc == NGX_OK
            && ngx_grapevine_req_arg(&ctx->rq, "claim", &claim,
                                     NGX_GRAPEVINE_ARG_BOOL)
               != NGX_OK)
        || ngx_grapevine_site_client_args(ctx) != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_SIGN_UP_CHECK,
                              ngx_grapevine_account_sign_up_checked);
}


static void
ngx_grapevine_account_sign_up_checked(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    ngx_int_t                  status;
    ngx_str_t                  code, *password;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    status = ngx_grapevine_req_status(res);

    if (status == 429) {
        ngx_str_set(&code, "sign_up_throttled");

        if (ngx_grapevine_req_set_str(rq, res, "error", &code) != NGX_OK) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_account_sign_up_form(ctx, 429, res);
        return;
    }

    if (status != NGX_HTTP_OK) {
        ngx_grapevine_site_page(rq, res);
        return;
    }

    password = ngx_grapevine_account_field(ctx, "password", 0);

    if (ngx_grapevine_account_password_errors(ctx, res, "password", password,
            ngx_grapevine_account_field(ctx, "password_confirmation", 0))
        != NGX_OK
        || ngx_grapevine_account_keep(ctx, res, "claim", &ctx->claim)
           == NGX_ERROR)
    {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_grapevine_req_has_errors(res) || ctx->claim.len == 0) {
        ngx_grapevine_account_sign_up_form(ctx, 422, res);
        return;
    }

    if (ngx_grapevine_account_pw_start(ctx, NULL, NULL, password,
                                       ngx_grapevine_account_sign_up_hashed)
        != NGX_OK)
    {
        ngx_grapevine_account_busy(ctx);
    }
}


static void
ngx_grapevine_account_sign_up_hashed(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw)
{
    if (pw->failed) {
        ngx_log_error(NGX_LOG_ERR, ctx->rq.r->connection->log, 0,
                      "grapevine site: hashing a password failed");
        ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                NULL, NULL);
        return;
    }

    if (ngx_grapevine_account_arg(ctx, "username") != NGX_OK
        || ngx_grapevine_account_arg(ctx, "email") != NGX_OK
        || ngx_grapevine_req_arg(&ctx->rq, "claim", &ctx->claim,
                                 NGX_GRAPEVINE_ARG_NUMBER)
           != NGX_OK
        || ngx_grapevine_account_hash(ctx, pw) != NGX_OK
        || ngx_grapevine_account_session(ctx) != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_SIGN_UP,
                              ngx_grapevine_account_sign_up_done);
}


static void
ngx_grapevine_account_sign_up_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (ngx_grapevine_req_status(res) == NGX_HTTP_SEE_OTHER) {
        ngx_grapevine_site_page(rq, res);
        return;
    }

    /* taken meanwhile */

    ngx_str_null(&ctx->new_session);

    if (ngx_grapevine_req_has_errors(res)) {
        ngx_grapevine_account_sign_up_form(ctx, 422, res);
        return;
    }

    ngx_grapevine_site_page(rq, res);
}


static void
ngx_grapevine_account_sign_up_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, ngx_grapevine_value_t *data)
{
    if (ngx_grapevine_account_form(ctx, data, "username",
            ngx_grapevine_account_field(ctx, "username", 1))
        != NGX_OK
        || ngx_grapevine_account_form(ctx, data, "email",
               ngx_grapevine_account_field(ctx, "email", 1))
           != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_req_render(&ctx->rq, status, "register", data);
}


/* ------------------------------------------------------------- sign in */


/*
 * The form's own problems first (no statement, no hash); then a place
 * among the worker's hashes; then the attempt is counted (or refused by
 * the throttle), and only then is the password verified.  A wrong one
 * needs no further step: it was counted as a failure when tried.
 */

void
ngx_grapevine_account_sign_in(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t  *login, *password;

    login = ngx_grapevine_account_field(ctx, "login", 1);
    password = ngx_grapevine_account_field(ctx, "password", 0);

    if (login->len == 0 || password->len == 0) {
        ngx_grapevine_account_sign_in_form(ctx, 422, "sign_in_empty");
        return;
    }

    if (password->len > NGX_GRAPEVINE_SITE_PASSWORD_MAX) {
        ngx_grapevine_account_sign_in_form(ctx, 422, "password_long");
        return;
    }

    if (ngx_grapevine_account_admit(ctx) != NGX_OK) {
        ngx_grapevine_account_busy(ctx);
        return;
    }

    if (ngx_grapevine_account_arg(ctx, "login") != NGX_OK
        || ngx_grapevine_site_client_args(ctx) != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_SIGN_IN_BEGIN,
                              ngx_grapevine_account_sign_in_begun);
}


static void
ngx_grapevine_account_sign_in_begun(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    ngx_int_t                  status;
    ngx_str_t                  hash;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    status = ngx_grapevine_req_status(res);

    if (status == 429) {
        ngx_grapevine_account_sign_in_form(ctx, 429, "sign_in_throttled");
        return;
    }

    if (status != NGX_HTTP_OK) {
        ngx_grapevine_site_page(rq, res);
        return;
    }

    if (ngx_grapevine_account_keep(ctx, res, "attempt", &ctx->attempt)
        != NGX_OK)
    {
        ngx_grapevine_req_error(rq, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                                NULL);
        return;
    }

    if (ngx_grapevine_req_get_str(res, "password_hash", &hash) != NGX_OK) {
        hash.data = ctx->conf->dummy_hash;
        hash.len = ngx_strlen(hash.data);
    }

    ctx->data = res;

    if (ngx_grapevine_account_pw_start(ctx,
                                   ngx_grapevine_account_field(ctx,
                                                           "password", 0),
                                   &hash, NULL,
                                   ngx_grapevine_account_sign_in_verified)
        != NGX_OK)
    {
        ngx_grapevine_account_busy(ctx);
    }
}


static void
ngx_grapevine_account_sign_in_verified(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw)
{
    ngx_str_t   user, account, *next;

    if (pw->verified
        && ngx_grapevine_req_get_str(ctx->data, "user_id", &user) == NGX_OK)
    {
        /* where to go on: a path of the site only */

        next = ngx_grapevine_req_field(&ctx->rq, "next");

        if (next && ngx_grapevine_site_safe_path(next) != NGX_OK) {
            next = NULL;
        }

        if (ngx_grapevine_req_arg(&ctx->rq, "user_id", &user,
                                  NGX_GRAPEVINE_ARG_NUMBER)
            != NGX_OK
            || ngx_grapevine_req_arg(&ctx->rq, "attempt", &ctx->attempt,
                                     NGX_GRAPEVINE_ARG_NUMBER)
               != NGX_OK
            || (next && ngx_grapevine_req_arg(&ctx->rq, "next", next,
                                              NGX_GRAPEVINE_ARG_STRING)
                        != NGX_OK)
            || ngx_grapevine_account_session(ctx) != NGX_OK)
        {
            ngx_grapevine_req_finish(&ctx->rq,
                                     NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_SIGN_IN_OK,
                                  ngx_grapevine_account_sign_in_done);
        return;
    }

    if (pw->verified
        && ngx_grapevine_req_get_str(ctx->data, "password_hash", &account)
           == NGX_OK)
    {
        /* the right password of a suspended account: no session, and why */

        ngx_grapevine_account_sign_in_form(ctx, NGX_HTTP_FORBIDDEN,
                                           "account_suspended");
        return;
    }

    /* wrong (or nobody's): counted already, when it was tried */

    ngx_grapevine_account_sign_in_form(ctx, NGX_HTTP_UNAUTHORIZED,
                                       "sign_in_wrong");
}


static void
ngx_grapevine_account_sign_in_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (ngx_grapevine_req_status(res) != NGX_HTTP_SEE_OTHER) {
        ngx_str_null(&ctx->new_session);
    }

    ngx_grapevine_site_page(rq, res);
}


/* the sign-in form again: what was typed, and why it did not work */

static void
ngx_grapevine_account_sign_in_form(ngx_grapevine_site_ctx_t *ctx,
    ngx_uint_t status, const char *error)
{
    ngx_str_t              *next, code;
    ngx_grapevine_value_t  *data;

    data = ngx_grapevine_value_object(&ctx->rq.arena, 8);
    if (data == NULL) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    next = ngx_grapevine_req_field(&ctx->rq, "next");

    if (next && ngx_grapevine_site_safe_path(next) != NGX_OK) {
        next = NULL;
    }

    code.data = (u_char *) error;
    code.len = ngx_strlen(error);

    if (ngx_grapevine_account_form(ctx, data, "login",
            ngx_grapevine_account_field(ctx, "login", 1))
        != NGX_OK
        || (next && ngx_grapevine_account_form(ctx, data, "next", next)
                    != NGX_OK)
        || ngx_grapevine_req_set_str(&ctx->rq, data, "error", &code)
           != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_req_render(&ctx->rq, status, "sign-in", data);
}


/* ------------------------------------------------------------ sign out */


void
ngx_grapevine_account_sign_out(ngx_grapevine_site_ctx_t *ctx)
{
    if (ctx->session.len
        && ngx_grapevine_req_arg(&ctx->rq, "token", &ctx->session,
                                 NGX_GRAPEVINE_ARG_STRING)
           != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_SIGN_OUT,
                              ngx_grapevine_account_sign_out_done);
}


static void
ngx_grapevine_account_sign_out_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (ngx_grapevine_req_status(res) == NGX_HTTP_SEE_OTHER) {
        ctx->clear_session = 1;
    }

    ngx_grapevine_site_page(rq, res);
}


/* ------------------------------------------------------------ settings */


/*
 * A change of email address or password, confirmed with the current
 * password: the form's own problems are known before any statement; when
 * it has none, a place among the worker's hashes is taken and the first
 * statement counts the attempt (the sign-in throttle's), or refuses it.
 */

void
ngx_grapevine_account_settings(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_str_t              *change, check;
    ngx_grapevine_value_t  *scratch;

    change = ngx_grapevine_account_field(ctx, "change", 1);

    if (!(change->len == 5 && ngx_strncmp(change->data, "email", 5) == 0)
        && !(change->len == 8
             && ngx_strncmp(change->data, "password", 8) == 0))
    {
        ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_BAD_REQUEST,
                                "change_what", NULL);
        return;
    }

    scratch = ngx_grapevine_value_object(&ctx->rq.arena, 4);
    if (scratch == NULL) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_grapevine_account_settings_errors(ctx, scratch) != NGX_OK) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_grapevine_req_has_errors(scratch) ? NGX_DECLINED : NGX_OK;

    if (rc == NGX_OK && ngx_grapevine_account_admit(ctx) != NGX_OK) {
        ngx_grapevine_account_busy(ctx);
        return;
    }

    ngx_str_set(&check, "1");

    if ((change->len == 5 && ngx_grapevine_account_arg(ctx, "email")
                             != NGX_OK)
        || (rc == NGX_OK
            && ngx_grapevine_req_arg(&ctx->rq, "check", &check,
                                     NGX_GRAPEVINE_ARG_BOOL)
               != NGX_OK)
        || ngx_grapevine_site_client_args(ctx) != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_SETTINGS_BEGIN,
                              ngx_grapevine_account_settings_begun);
}


/* the problems of the settings form that need no database, into data */

static ngx_int_t
ngx_grapevine_account_settings_errors(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *data)
{
    ngx_str_t  *change, *current;

    change = ngx_grapevine_account_field(ctx, "change", 1);
    current = ngx_grapevine_account_field(ctx, "current_password", 0);

    if (change->len == 8
        && ngx_grapevine_account_password_errors(ctx, data, "password",
               ngx_grapevine_account_field(ctx, "password", 0),
               ngx_grapevine_account_field(ctx, "password_confirmation", 0))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (current->len == 0
        && ngx_grapevine_req_add_error(&ctx->rq, data, "current_password",
                                       "current_missing")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (current->len > NGX_GRAPEVINE_SITE_PASSWORD_MAX
        && ngx_grapevine_req_add_error(&ctx->rq, data, "current_password",
                                       "password_long")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_grapevine_account_settings_begun(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    ngx_int_t                  status;
    ngx_str_t                 *change, *password, hash;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    status = ngx_grapevine_req_status(res);

    if (status == 429) {
        ngx_grapevine_req_error(rq, 429, "settings_throttled", NULL);
        return;
    }

    if (status != NGX_HTTP_OK) {
        ngx_grapevine_site_page(rq, res);
        return;
    }

    if (ngx_grapevine_account_settings_errors(ctx, res) != NGX_OK) {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_grapevine_req_has_errors(res)) {
        ngx_grapevine_account_settings_form(ctx, res);
        return;
    }

    if (ngx_grapevine_req_get_str(res, "password_hash", &hash) != NGX_OK
        || ngx_grapevine_account_keep(ctx, res, "attempt", &ctx->attempt)
           != NGX_OK)
    {
        ngx_grapevine_req_error(rq, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                                NULL);
        return;
    }

    /* the hash stays out of the page */

    if (ngx_grapevine_req_set(rq, res, "password_hash",
                              ngx_grapevine_value_null(&rq->arena))
        != NGX_OK)
    {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->data = res;

    change = ngx_grapevine_account_field(ctx, "change", 1);
    password = NULL;

    if (change->len == 8) {
        password = ngx_grapevine_account_field(ctx, "password", 0);
    }

    if (ngx_grapevine_account_pw_start(ctx,
            ngx_grapevine_account_field(ctx, "current_password", 0), &hash,
            password, ngx_grapevine_account_settings_verified)
        != NGX_OK)
    {
        ngx_grapevine_account_busy(ctx);
    }
}


static void
ngx_grapevine_account_settings_verified(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_site_pw_t *pw)
{
    ngx_str_t  *change;

    if (!pw->verified) {

        /* counted already, when it was tried */

        if (ngx_grapevine_req_add_error(&ctx->rq, ctx->data,
                                        "current_password", "current_wrong")
            != NGX_OK)
        {
            ngx_grapevine_req_finish(&ctx->rq,
                                     NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_account_settings_form(ctx, ctx->data);
        return;
    }

    if (ngx_grapevine_req_arg(&ctx->rq, "attempt", &ctx->attempt,
                              NGX_GRAPEVINE_ARG_NUMBER)
        != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    change = ngx_grapevine_account_field(ctx, "change", 1);

    if (change->len == 5) {
        if (ngx_grapevine_account_arg(ctx, "email") != NGX_OK) {
            ngx_grapevine_req_finish(&ctx->rq,
                                     NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_EMAIL,
                                  ngx_grapevine_account_settings_done);
        return;
    }

    if (pw->failed) {
        ngx_log_error(NGX_LOG_ERR, ctx->rq.r->connection->log, 0,
                      "grapevine site: hashing a password failed");
        ngx_grapevine_req_error(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                NULL, NULL);
        return;
    }

    if (ngx_grapevine_account_hash(ctx, pw) != NGX_OK
        || (ctx->session.len
            && ngx_grapevine_req_arg(&ctx->rq, "token", &ctx->session,
                                     NGX_GRAPEVINE_ARG_STRING)
               != NGX_OK))
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_account_run(ctx, NGX_GRAPEVINE_ACCOUNT_PASSWORD,
                              ngx_grapevine_account_settings_done);
}


static void
ngx_grapevine_account_settings_done(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    if (ngx_grapevine_req_status(res) == NGX_HTTP_OK
        && ngx_grapevine_req_has_errors(res))
    {
        ngx_grapevine_account_settings_form((ngx_grapevine_site_ctx_t *) rq,
                                            res);
        return;
    }

    ngx_grapevine_site_page(rq, res);
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
             || ngx_grapevine_account_flag(ctx, data, "change_email")
                != NGX_OK))
        || (change->len != 5
            && ngx_grapevine_account_flag(ctx, data, "change_password")
               != NGX_OK))
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_req_render(&ctx->rq, 422, "settings", data);
}
