
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_grapevine_site.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_json.h"


/*
 * Signed-out pages from core's answer cache (ngx_grapevine_cache.h).
 *
 * A GET of a page whose route names its tables, from a visitor without a
 * session cookie, is the same page for every such visitor: no "me", no
 * token (the pages kept have no form for the signed-out, and the page is
 * rendered with no token at all), no cookie set.  It is kept as its
 * rendered HTML, keyed by the URI as sent, exactly as the API's answers
 * are: the request first waits for the listening connection's round trip,
 * then is answered from the cache or renders the page; concurrent misses
 * for one URI in the instance share one statement.  The pages with forms
 * (sign in, register: they set the visitor's CSRF cookie) and the answers
 * other than 200 are never kept.
 *
 * A signed-in visitor's page is that visitor's (the navigation with the
 * username, the session's token): what is kept for it, under
 * "data <URI>", is the page's block "content" rendered for no one (no
 * "me", no token: the same HTML for every visitor) from the page's data,
 * the statement's answer read as if signed out, and of that data only
 * what the rest of the page reads (ngx_grapevine_req_block_rest(): on a
 * channel's page, not its messages), so that a hit parses a few hundred
 * bytes whatever the size of the page.  Only the personal
 * parts are added to the data (decorate: "me" and "csrf"; here: a
 * profile's "is_me", the one part of the pages' statements that depends
 * on who asks), and the page is rendered around the kept content (the
 * layout, the blocks "personal_top" and "personal"), so that such a page
 * costs the session's lookup and a small rendering, not the page's
 * statement nor the rendering of its lists.  A route flagged LIVE_IN
 * shows the signed-in what no table's change announces (the channel
 * page: whether the hub is away): that part is read by site_hub() and kept
 * under "hub", exact by the announced changes of the link's state and of
 * its outbox (site_hub_changed()), and while the link is up no longer than
 * its answer says (when it is up no more unless its owner reports again).
 *
 * The kept entry is "<length of the content>\n<content><the rest's data
 * as JSON>".
 *
 * A session's lookup is kept too, under "session <SHA-1 of the token>":
 * "<when it was read>\n<site_session_entry()>", after the same round trip
 * of the listening connection (which the page then does not wait for
 * again), exact by the changes of the users and sessions tables
 * (site_session_changed(): an ended session is announced, last_seen_at
 * being written is not), and used for at most
 * NGX_GRAPEVINE_SITE_CACHE_SESSION seconds, never past the session's end:
 * then it is read again, which writes last_seen_at.  A token without a
 * session is not kept: it asks the database every time.
 */


/*
 * the channels of the tables the pages read: the API's (its tables,
 * sql/api/api_changed.sql), the site's (the counts it keeps,
 * sql/site/site_changed.sql)
 */
#define NGX_GRAPEVINE_SITE_CACHE_API      "grapevine_api"
#define NGX_GRAPEVINE_SITE_CACHE_CHANNEL  "grapevine_site"
#define NGX_GRAPEVINE_SITE_CACHE_LOCK     5000       /* ms */

/* how long a kept session is used before it is read again */
#define NGX_GRAPEVINE_SITE_CACHE_SESSION  60         /* s */

/* the block of a page that is the same for every visitor */
#define NGX_GRAPEVINE_SITE_CACHE_CONTENT  "content"


static void ngx_grapevine_site_cache_crossed(ngx_grapevine_listen_wait_t *w,
    ngx_uint_t ok);
static void ngx_grapevine_site_cache_miss(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_site_cache_locked(ngx_grapevine_cache_wait_t *w,
    ngx_chain_t *out, size_t size);
static void ngx_grapevine_site_cache_run(ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_site_cache_rendered(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_chain_t *out, size_t size);
static void ngx_grapevine_site_cache_hit(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *html);
static void ngx_grapevine_site_cache_data(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
static void ngx_grapevine_site_cache_data_hit(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *json);
static void ngx_grapevine_site_cache_live(ngx_grapevine_site_ctx_t *ctx);
static time_t ngx_grapevine_site_cache_hub_until(
    ngx_grapevine_value_t *hub);
static void ngx_grapevine_site_cache_hub(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *hub);
static void ngx_grapevine_site_cache_personal(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res);
static ngx_int_t ngx_grapevine_site_cache_cleanup_add(
    ngx_grapevine_site_ctx_t *ctx);
static void ngx_grapevine_site_cache_cleanup(void *data);
static void ngx_grapevine_site_cache_session_crossed(
    ngx_grapevine_listen_wait_t *w, ngx_uint_t ok);
static void ngx_grapevine_site_cache_session_read(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);


/* every table a kept page reads, by the channel that announces it */

static const char  *ngx_grapevine_site_cache_api_tables[] = {
    "games", "game_connections", "players_online", "events", "achievements",
    "users", "characters", "channels", "channel_messages", "statistics",
    "statistics_hourly", NULL
};

static const char  *ngx_grapevine_site_cache_tables[] = {
    "game_counts", "site_counts", "chat_minutes", "channel_counts",
    "sessions", "hub_status", "hub_outbox", NULL
};


/* what a LIVE_IN page shows the signed-in afresh: the hub link's state */

static ngx_grapevine_pg_stmt_t  ngx_grapevine_site_cache_hub_stmt = {
    "grapevine_site_hub", "SELECT site_hub()"
};


/* postconfiguration: the tables, and each kept page's */

ngx_int_t
ngx_grapevine_site_cache_conf(ngx_conf_t *cf, ngx_grapevine_site_conf_t *sc)
{
    ngx_uint_t                   i, n;
    ngx_grapevine_site_route_t  *route;

    if (!sc->cache) {
        return NGX_OK;
    }

    if (ngx_grapevine_add_cache_tables(cf, NGX_GRAPEVINE_SITE_CACHE_API,
                                       ngx_grapevine_site_cache_api_tables)
        != NGX_OK
        || ngx_grapevine_add_cache_tables(cf,
                                          NGX_GRAPEVINE_SITE_CACHE_CHANNEL,
                                          ngx_grapevine_site_cache_tables)
           != NGX_OK
        || ngx_grapevine_prepare(cf, &ngx_grapevine_site_cache_hub_stmt)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (n = 0, route = ngx_grapevine_site_app.routes; route->method;
         route++)
    {
        n++;
    }

    sc->session_tables = ngx_grapevine_cache_tables(cf, "sessions users");
    sc->hub_tables = ngx_grapevine_cache_tables(cf, "hub_status hub_outbox");

    sc->page_tables = ngx_pcalloc(cf->pool,
                                  n * sizeof(ngx_grapevine_cache_tables_t));
    if (sc->page_tables == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        route = &ngx_grapevine_site_app.routes[i];

        if (route->tables && route->method == NGX_HTTP_GET && route->stmt) {
            sc->page_tables[i] = ngx_grapevine_cache_tables(cf,
                                                            route->tables);
        }
    }

    return NGX_OK;
}


/*
 * A route's page, its arguments read: from the cache when it is the same
 * for everyone, else its statement.
 */

void
ngx_grapevine_site_cache_page(ngx_grapevine_site_ctx_t *ctx)
{
    u_char                      *p;
    ngx_str_t                    prefix;
    ngx_http_request_t          *r;
    ngx_grapevine_site_conf_t   *sc;
    ngx_grapevine_site_route_t  *route;

    r = ctx->rq.r;
    sc = ctx->conf;
    route = ctx->route;

    if (!sc->cache
        || sc->page_tables == NULL
        || ctx->app != &ngx_grapevine_site_app
        || route->tables == NULL
        || sc->page_tables[route - ngx_grapevine_site_app.routes] == 0
        || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        || (ctx->session.len && ctx->me == NULL)
        || ctx->old_session
        || ctx->old_csrf
        || ctx->rq.json
        || ctx->rq.no_store
        || r != r->main
        || r->internal
        || !r->valid_unparsed_uri)
    {
        ngx_grapevine_site_run(ctx, route->stmt, ngx_grapevine_site_page);
        return;
    }

    ctx->cache_tables = sc->page_tables[route - ngx_grapevine_site_app.routes];

    if (!ngx_grapevine_cache_ready(ctx->cache_tables)) {
        ngx_grapevine_site_run(ctx, route->stmt, ngx_grapevine_site_page);
        return;
    }

    /*
     * signed out, nothing of the visitor's in the page: the page is kept;
     * signed in, its data
     */

    if (ctx->me) {
        ctx->cache_data = 1;
        ngx_str_set(&prefix, "data ");

    } else {
        ctx->cache_page = 1;
        ngx_str_set(&prefix, "site ");
    }

    ctx->cache_key.len = prefix.len + r->unparsed_uri.len;
    ctx->cache_key.data = ngx_pnalloc(r->pool, ctx->cache_key.len);

    if (ctx->cache_key.data == NULL
        || ngx_grapevine_site_cache_cleanup_add(ctx) != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(ctx->cache_key.data, prefix.data, prefix.len);
    ngx_memcpy(p, r->unparsed_uri.data, r->unparsed_uri.len);

    if (ctx->cache_crossed) {
        /* the session's lookup waited for the round trip already */
        ngx_grapevine_site_cache_crossed(&ctx->cache_wait, 1);
        return;
    }

    ctx->cache_wait.handler = ngx_grapevine_site_cache_crossed;
    ctx->cache_wait.data = ctx;

    if (ngx_grapevine_listen_wait(&ctx->cache_wait) == NGX_AGAIN) {
        return;
    }

    ngx_grapevine_site_cache_miss(ctx);
}


/* the round trip is back: every earlier change is accounted for */

static void
ngx_grapevine_site_cache_crossed(ngx_grapevine_listen_wait_t *w,
    ngx_uint_t ok)
{
    ngx_str_t                  html;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = w->data;

    if (ok
        && ngx_grapevine_cache_get(&ctx->cache_key, ctx->cache_tables,
                                   ctx->rq.r->pool, &html)
           == NGX_OK)
    {
        if (ctx->cache_data) {
            ngx_grapevine_site_cache_data_hit(ctx, &html);
            return;
        }

        ngx_grapevine_site_cache_hit(ctx, &html);
        return;
    }

    ngx_grapevine_site_cache_miss(ctx);
}


/* a miss: the first for the URI renders it, the others wait for it */

static void
ngx_grapevine_site_cache_miss(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ngx_grapevine_cache_generation(ctx->cache_tables, &ctx->cache_gen)
        != NGX_OK)
    {
        ngx_grapevine_site_cache_run(ctx);
        return;
    }

    ctx->cache_lock.handler = ngx_grapevine_site_cache_locked;
    ctx->cache_lock.data = ctx;

    rc = ngx_grapevine_cache_lock(&ctx->cache_key, ctx->cache_tables,
                                  ctx->cache_gen,
                                  NGX_GRAPEVINE_SITE_CACHE_LOCK,
                                  &ctx->cache_lock);

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_grapevine_site_cache_run(ctx);
}


/* the holder's page (a hit), or render it (as the new holder, or alone) */

static void
ngx_grapevine_site_cache_locked(ngx_grapevine_cache_wait_t *w,
    ngx_chain_t *out, size_t size)
{
    u_char                    *p;
    ngx_str_t                  html;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = w->data;

    if (out == NULL) {
        ngx_grapevine_site_cache_run(ctx);
        return;
    }

    p = ngx_pnalloc(ctx->rq.r->pool, size ? size : 1);
    if (p == NULL) {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    html.data = p;

    for ( /* void */ ; out; out = out->next) {
        p = ngx_cpymem(p, out->buf->pos, out->buf->last - out->buf->pos);
    }

    html.len = p - html.data;

    if (ctx->cache_data) {
        ngx_grapevine_site_cache_data_hit(ctx, &html);
        return;
    }

    ngx_grapevine_site_cache_hit(ctx, &html);
}


/* the statement, its page kept when it is a 200 read under the tag */

static void
ngx_grapevine_site_cache_run(ngx_grapevine_site_ctx_t *ctx)
{
    ctx->cacheable = (ngx_grapevine_cache_generation(ctx->cache_tables,
                                                     &ctx->cache_gen)
                      == NGX_OK);

    if (ctx->cache_data) {
        /* the data as anyone signed out reads it: $1 NULL */
        ngx_grapevine_req_run(&ctx->rq, ctx->route->stmt, 2, NULL,
                              ngx_grapevine_site_cache_data);
        return;
    }

    ctx->rq.rendered = ngx_grapevine_site_cache_rendered;

    ngx_grapevine_site_run(ctx, ctx->route->stmt, ngx_grapevine_site_page);
}


/*
 * a signed-in visitor's miss: the data and its content kept (a 200's),
 * then the page
 */

static void
ngx_grapevine_site_cache_data(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    u_char                    *p;
    size_t                     size;
    ngx_buf_t                  b;
    ngx_str_t                  text, html, csrf;
    ngx_chain_t                cl, *out;
    ngx_grapevine_value_t     *rest;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    out = NULL;
    size = 0;
    ngx_str_null(&csrf);

    /*
     * what the rest of the page reads is kept, the content as anyone's:
     * no one's name, no token
     */

    if (res->type == NGX_GRAPEVINE_VALUE_OBJECT
        && ngx_grapevine_req_status(res) == NGX_HTTP_OK
        && (rest = ngx_grapevine_req_block_rest(rq, ctx->route->template,
                                              NGX_GRAPEVINE_SITE_CACHE_CONTENT,
                                              res))
           != NULL
        && ngx_grapevine_req_json_text(rq, rest, &text) == NGX_OK
        && ngx_grapevine_req_set(rq, res, "me",
                                 ngx_grapevine_value_null(&rq->arena))
           == NGX_OK
        && ngx_grapevine_req_set_str(rq, res, "csrf", &csrf) == NGX_OK
        && ngx_grapevine_req_render_block(rq, NGX_HTTP_OK,
                                          ctx->route->template,
                                          NGX_GRAPEVINE_SITE_CACHE_CONTENT,
                                          res, &html)
           == NGX_OK)
    {
        size = NGX_SIZE_T_LEN + 1 + html.len + text.len;

        p = ngx_pnalloc(rq->r->pool, size);
        if (p == NULL) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memzero(&b, sizeof(ngx_buf_t));
        b.pos = p;

        p = ngx_sprintf(p, "%uz\n", html.len);
        p = ngx_cpymem(p, html.data, html.len);
        p = ngx_cpymem(p, text.data, text.len);

        b.last = p;
        size = p - b.pos;
        b.memory = 1;
        cl.buf = &b;
        cl.next = NULL;
        out = &cl;

        if (ctx->cacheable) {
            ngx_grapevine_cache_put(&ctx->cache_key, ctx->cache_gen,
                                    ctx->cache_tables, out, size);
        }

        ngx_str_set(&rq->block, NGX_GRAPEVINE_SITE_CACHE_CONTENT);
        rq->block_text = html;
    }

    if (ctx->cache_lock.lock && ctx->cache_lock.holder) {
        ngx_grapevine_cache_unlock(&ctx->cache_lock, out, size);
    }

    ngx_grapevine_site_cache_personal(ctx, res);

    ngx_grapevine_site_page(rq, res);
}


/*
 * a signed-in visitor's hit: the kept data, made personal, rendered
 * around the kept content
 */

static void
ngx_grapevine_site_cache_data_hit(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *kept)
{
    u_char                 *p, *last;
    size_t                  len;
    ngx_int_t               n;
    ngx_grapevine_value_t  *res;

    p = kept->data;
    last = kept->data + kept->len;

    len = 0;
    res = NULL;

    p = ngx_strlchr(p, last, '\n');

    if (p != NULL) {
        n = ngx_atosz(kept->data, p - kept->data);
        p++;

        if (n != NGX_ERROR && (size_t) n <= (size_t) (last - p)) {
            len = n;
            res = ngx_grapevine_json_parse(&ctx->rq.arena, p + len,
                                           last - p - len);
        }
    }

    if (res == NULL || res->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        ngx_log_error(NGX_LOG_ALERT, ctx->rq.r->connection->log, 0,
                      "grapevine site: a kept page's data is damaged");
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_str_set(&ctx->rq.block, NGX_GRAPEVINE_SITE_CACHE_CONTENT);
    ctx->rq.block_text.data = p;
    ctx->rq.block_text.len = len;

    if (ctx->route->flags & NGX_GRAPEVINE_SITE_LIVE_IN) {
        ctx->cache_res = res;
        ngx_grapevine_site_cache_live(ctx);
        return;
    }

    ngx_grapevine_site_cache_personal(ctx, res);

    ngx_grapevine_site_page(&ctx->rq, res);
}


/*
 * A LIVE_IN page's hub link, as it is now: the kept answer while it says
 * the link is up and its time has not come, else site_hub() (kept when
 * the link is up).
 */

static void
ngx_grapevine_site_cache_live(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_str_t               key, kept;
    ngx_grapevine_value_t  *hub;

    ngx_str_set(&key, "hub");

    ctx->hub_kept = (ctx->conf->hub_tables
                     && ngx_grapevine_cache_generation(ctx->conf->hub_tables,
                                                       &ctx->hub_gen)
                        == NGX_OK);

    if (ctx->hub_kept
        && ngx_grapevine_cache_get(&key, ctx->conf->hub_tables,
                                   ctx->rq.r->pool, &kept)
           == NGX_OK)
    {
        hub = ngx_grapevine_json_parse(&ctx->rq.arena, kept.data, kept.len);

        if (hub && ngx_grapevine_site_cache_hub_until(hub) > ngx_time()) {
            ctx->hub_kept = 0;
            ngx_grapevine_site_cache_hub(&ctx->rq, hub);
            return;
        }
    }

    ngx_grapevine_req_run(&ctx->rq, &ngx_grapevine_site_cache_hub_stmt, 0,
                          NULL, ngx_grapevine_site_cache_hub);
}


/*
 * until when a site_hub() answer may be used (until a change is announced):
 * a link that is up, until its "until"; one that is down, as long as
 * nothing changes; 0: not at all
 */

static time_t
ngx_grapevine_site_cache_hub_until(ngx_grapevine_value_t *hub)
{
    time_t                  until;
    ngx_grapevine_value_t  *v;

    if (hub->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        return 0;
    }

    v = ngx_grapevine_req_get(hub, "connected");

    if (v == NULL || v->type != NGX_GRAPEVINE_VALUE_BOOL) {
        return 0;
    }

    if (!v->u.boolean) {
        return NGX_MAX_TIME_T_VALUE;
    }

    /* a number read from JSON is its text */

    v = ngx_grapevine_req_get(hub, "until");

    if (v == NULL || v->type != NGX_GRAPEVINE_VALUE_NUMBER) {
        return 0;
    }

    until = ngx_atotm(v->u.str.data, v->u.str.len);

    return (until == NGX_ERROR) ? 0 : until;
}


static void
ngx_grapevine_site_cache_hub(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *hub)
{
    ngx_str_t                  key, text;
    ngx_buf_t                  b;
    ngx_chain_t                cl;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (ctx->hub_kept
        && ngx_grapevine_site_cache_hub_until(hub) > ngx_time()
        && ngx_grapevine_req_json_text(rq, hub, &text) == NGX_OK)
    {
        ngx_str_set(&key, "hub");

        ngx_memzero(&b, sizeof(ngx_buf_t));
        b.pos = text.data;
        b.last = text.data + text.len;
        b.memory = 1;
        cl.buf = &b;
        cl.next = NULL;

        ngx_grapevine_cache_put(&key, ctx->hub_gen, ctx->conf->hub_tables,
                                &cl, text.len);
    }

    if (ngx_grapevine_req_set(rq, ctx->cache_res, "hub", hub) != NGX_OK) {
        ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_cache_personal(ctx, ctx->cache_res);

    ngx_grapevine_site_page(rq, ctx->cache_res);
}


/* what in a page's data depends on who asks: a profile's "is_me" */

static void
ngx_grapevine_site_cache_personal(ngx_grapevine_site_ctx_t *ctx,
    ngx_grapevine_value_t *res)
{
    ngx_str_t               name, mine;
    ngx_grapevine_value_t  *user;

    user = ngx_grapevine_req_get(res, "user");

    if (user == NULL || user->type != NGX_GRAPEVINE_VALUE_OBJECT
        || ngx_grapevine_req_get_str(user, "username", &name) != NGX_OK
        || ngx_grapevine_req_get_str(ctx->me, "username", &mine) != NGX_OK
        || name.len != mine.len
        || ngx_strncmp(name.data, mine.data, name.len) != 0)
    {
        return;
    }

    (void) ngx_grapevine_req_set(&ctx->rq, user, "is_me",
                              ngx_grapevine_value_bool(&ctx->rq.arena, 1));
}


static void
ngx_grapevine_site_cache_rendered(ngx_grapevine_req_t *rq, ngx_uint_t status,
    ngx_chain_t *out, size_t size)
{
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (status != NGX_HTTP_OK) {
        out = NULL;
    }

    if (out && ctx->cacheable) {
        ngx_grapevine_cache_put(&ctx->cache_key, ctx->cache_gen,
                                ctx->cache_tables, out, size);

        (void) ngx_grapevine_http_add_header(rq->r, "X-Grapevine-Cache",
                                             "MISS");
    }

    if (ctx->cache_lock.lock && ctx->cache_lock.holder) {
        ngx_grapevine_cache_unlock(&ctx->cache_lock, out, size);
    }
}


static void
ngx_grapevine_site_cache_hit(ngx_grapevine_site_ctx_t *ctx, ngx_str_t *html)
{
    if (ngx_grapevine_http_add_header(ctx->rq.r, "X-Grapevine-Cache", "HIT")
        != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_req_send_page(&ctx->rq, NGX_HTTP_OK, html);
}


static ngx_int_t
ngx_grapevine_site_cache_cleanup_add(ngx_grapevine_site_ctx_t *ctx)
{
    ngx_http_cleanup_t  *cln;

    if (ctx->cache_cleanup) {
        return NGX_OK;
    }

    cln = ngx_http_cleanup_add(ctx->rq.r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_grapevine_site_cache_cleanup;
    cln->data = ctx;

    ctx->cache_cleanup = 1;

    return NGX_OK;
}


static void
ngx_grapevine_site_cache_cleanup(void *data)
{
    ngx_grapevine_site_ctx_t  *ctx = data;

    ngx_grapevine_listen_cancel(&ctx->cache_wait);
    ngx_grapevine_cache_lock_cancel(&ctx->cache_lock);
}


/*
 * A request's session from the cache, after the round trip: NGX_DECLINED
 * when it is not kept (the caller asks the database).
 */

ngx_int_t
ngx_grapevine_site_cache_session(ngx_grapevine_site_ctx_t *ctx)
{
    u_char                      *p;
    u_char                       hash[20];
    ngx_sha1_t                   sha1;
    ngx_grapevine_site_conf_t   *sc;

    sc = ctx->conf;

    if (!sc->cache
        || sc->page_tables == NULL
        || sc->session_tables == 0
        || ctx->app != &ngx_grapevine_site_app
        || !ngx_grapevine_cache_ready(sc->session_tables))
    {
        return NGX_DECLINED;
    }

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, ctx->session.data, ctx->session.len);
    ngx_sha1_final(hash, &sha1);

    ctx->session_key.len = sizeof("session ") - 1 + 2 * sizeof(hash);
    ctx->session_key.data = ngx_pnalloc(ctx->rq.r->pool,
                                        ctx->session_key.len);

    if (ctx->session_key.data == NULL
        || ngx_grapevine_site_cache_cleanup_add(ctx) != NGX_OK)
    {
        ngx_grapevine_req_finish(&ctx->rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NGX_OK;
    }

    p = ngx_cpymem(ctx->session_key.data, "session ", sizeof("session ") - 1);
    (void) ngx_hex_dump(p, hash, sizeof(hash));

    ctx->cache_wait.handler = ngx_grapevine_site_cache_session_crossed;
    ctx->cache_wait.data = ctx;

    if (ngx_grapevine_listen_wait(&ctx->cache_wait) == NGX_AGAIN) {
        return NGX_OK;
    }

    /* no round trip: the database is asked, nothing is kept */

    ngx_grapevine_req_run(&ctx->rq, &ngx_grapevine_site_session_stmt, 1,
                          &ctx->session, ngx_grapevine_site_session);

    return NGX_OK;
}


static void
ngx_grapevine_site_cache_session_crossed(ngx_grapevine_listen_wait_t *w,
    ngx_uint_t ok)
{
    u_char                    *p, *last;
    time_t                     read_at, expires;
    ngx_str_t                  kept;
    ngx_grapevine_value_t     *res, *v;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = w->data;

    if (!ok) {
        ngx_grapevine_req_run(&ctx->rq, &ngx_grapevine_site_session_stmt, 1,
                              &ctx->session, ngx_grapevine_site_session);
        return;
    }

    ctx->cache_crossed = 1;

    /* the generation first: an entry read later is not older than it */

    ctx->session_kept = (ngx_grapevine_cache_generation(
                             ctx->conf->session_tables, &ctx->session_gen)
                         == NGX_OK);

    if (ngx_grapevine_cache_get(&ctx->session_key, ctx->conf->session_tables,
                                ctx->rq.r->pool, &kept)
        == NGX_OK)
    {
        last = kept.data + kept.len;
        p = ngx_strlchr(kept.data, last, '\n');

        read_at = (p == NULL) ? NGX_ERROR
                              : ngx_atotm(kept.data, p - kept.data);

        if (read_at != NGX_ERROR
            && ngx_time() - read_at < NGX_GRAPEVINE_SITE_CACHE_SESSION)
        {
            p++;
            res = ngx_grapevine_json_parse(&ctx->rq.arena, p, last - p);

            /* a number read from JSON is its text */

            v = res ? ngx_grapevine_req_get(res, "expires") : NULL;
            expires = (v && v->type == NGX_GRAPEVINE_VALUE_NUMBER)
                      ? ngx_atotm(v->u.str.data, v->u.str.len) : NGX_ERROR;

            if (expires != NGX_ERROR && expires > ngx_time()) {
                ngx_grapevine_site_session(&ctx->rq, res);
                return;
            }
        }
    }

    ngx_grapevine_req_run(&ctx->rq, &ngx_grapevine_site_session_stmt, 1,
                          &ctx->session, ngx_grapevine_site_cache_session_read);
}


/* a session read: kept (when there is one), then the request goes on */

static void
ngx_grapevine_site_cache_session_read(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res)
{
    u_char                    *p;
    size_t                     size;
    ngx_buf_t                  b;
    ngx_str_t                  text;
    ngx_chain_t                cl;
    ngx_grapevine_site_ctx_t  *ctx;

    ctx = (ngx_grapevine_site_ctx_t *) rq;

    if (ctx->session_kept
        && res->type == NGX_GRAPEVINE_VALUE_OBJECT
        && ngx_grapevine_req_json_text(rq, res, &text) == NGX_OK)
    {
        p = ngx_pnalloc(rq->r->pool, NGX_TIME_T_LEN + 1 + text.len);
        if (p == NULL) {
            ngx_grapevine_req_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memzero(&b, sizeof(ngx_buf_t));
        b.pos = p;

        p = ngx_sprintf(p, "%T\n", ngx_time());
        p = ngx_cpymem(p, text.data, text.len);

        b.last = p;
        b.memory = 1;
        size = p - b.pos;

        cl.buf = &b;
        cl.next = NULL;

        ngx_grapevine_cache_put(&ctx->session_key, ctx->session_gen,
                                ctx->conf->session_tables, &cl, size);
    }

    ngx_grapevine_site_session(rq, res);
}
