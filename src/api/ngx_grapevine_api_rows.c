
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_api.h"


/*
 * The API's row writers: a route's result, rows as PostgreSQL sends them
 * (ngx_grapevine_api_queries.c), streamed straight into yajl, and the
 * links of what they write.
 *
 * How the JSON is built was measured on the /games query (page 1 of 200
 * games with two connections each, 25 a page), as PostgreSQL backend CPU
 * time per query (pgbench -c 1, reading /proc/PID/stat, which is not
 * skewed by other load on the machine), with the unnamed statements the
 * pool sends (-M extended) and, for reference, prepared ones:
 *
 *     rows + LEFT JOIN, grouped in C           446 us    prepared 220 us
 *     rows + a json_agg() per game for the
 *       connections, passed through              740 us    prepared 713 us
 *     the whole body from json_agg() and
 *       json_build_object()                      800 us    prepared 443 us
 *
 * PostgreSQL builds JSON slower than it sends rows, and the database is
 * what the API waits on, so the rows are streamed into yajl here.  A value
 * tree first (ngx_grapevine_value.h) would only add allocations and a
 * second pass in the worker; the HTML site can build its tree from the
 * same rows.  End to end (wrk against a static file and pgbench, README
 * "JSON API"), the API reaches 0.78 to 0.87 of the ceiling of both on
 * two cores.  Planning is half the cost of an unnamed statement, so
 * every route's query is a statement the pool prepares on each of its
 * connections (ngx_grapevine_prepare()).
 *
 * The games list and a game's record are past that: the database keeps
 * each game's JSON ready, written by the statement that changes the game
 * (migrations/0011_api_fragments.sql), and their rows are that JSON,
 * written as it is (ngx_grapevine_api_fragment()).
 */


static void ngx_grapevine_api_fragment(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res, int row, int col);
static ngx_int_t ngx_grapevine_api_json_prefix(ngx_grapevine_api_ctx_t *ctx);
static void ngx_grapevine_api_kurl(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col);
static void ngx_grapevine_api_kstr(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col);
static void ngx_grapevine_api_kbool(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col);
static void ngx_grapevine_api_knum(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col);
static ngx_str_t ngx_grapevine_api_value(PGresult *res, int row, int col);
static void ngx_grapevine_api_points(ngx_grapevine_json_t *j, PGresult *res,
    int col);
static void ngx_grapevine_api_statistics_link(ngx_grapevine_api_ctx_t *ctx,
    const char *rel, ngx_str_t *game);
static ngx_uint_t ngx_grapevine_api_same(PGresult *res, int row1, int row2,
    int col);

static void ngx_grapevine_api_href_start(ngx_grapevine_api_ctx_t *ctx);
static void ngx_grapevine_api_href_add(ngx_grapevine_api_ctx_t *ctx,
    const u_char *p, size_t n);
static void ngx_grapevine_api_href_seg(ngx_grapevine_api_ctx_t *ctx,
    ngx_str_t *s);
static void ngx_grapevine_api_href_arg(ngx_grapevine_api_ctx_t *ctx,
    const char *name, ngx_str_t *value);
static void ngx_grapevine_api_href_num(ngx_grapevine_api_ctx_t *ctx,
    const char *name, uint64_t n);
static void ngx_grapevine_api_link(ngx_grapevine_api_ctx_t *ctx,
    const char *rel);
static void ngx_grapevine_api_link_to(ngx_grapevine_api_ctx_t *ctx,
    const char *rel, const char *a, ngx_str_t *s1, const char *b,
    ngx_str_t *s2, const char *c);
static void ngx_grapevine_api_games_link(ngx_grapevine_api_ctx_t *ctx,
    const char *rel, ngx_uint_t page);
static void ngx_grapevine_api_page_link(ngx_grapevine_api_ctx_t *ctx,
    const char *rel, const char *a, ngx_str_t *s, const char *b,
    ngx_uint_t page);
static void ngx_grapevine_api_pages(ngx_grapevine_api_ctx_t *ctx,
    const char *path, ngx_uint_t more);


/*
 * {"items": [{"short_name", "name", "description", "homepage_url",
 *             "user_agent", "online", "connections": [...], "links"}],
 *  "links": [self, next, prev]}
 *
 * Each game is a row of one column, its JSON as the database keeps it
 * (migrations/0011_api_fragments.sql), a page of them and one more.
 */

ngx_int_t
ngx_grapevine_api_games(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows;
    ngx_uint_t             more;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);
    more = 0;

    if (nrows > NGX_GRAPEVINE_API_PAGE_SIZE) {
        more = 1;
        nrows = NGX_GRAPEVINE_API_PAGE_SIZE;
    }

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "items");
    ngx_grapevine_json_array(j);

    for (row = 0; row < nrows; row++) {
        ngx_grapevine_api_fragment(ctx, res, row, 0);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);

    ngx_grapevine_api_games_link(ctx, "self", ctx->page);

    if (more) {
        ngx_grapevine_api_games_link(ctx, "next", ctx->page + 1);
    }

    if (ctx->page > 1) {
        ngx_grapevine_api_games_link(ctx, "prev", ctx->page - 1);
    }

    ngx_grapevine_json_array_end(j);
    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"collection": [{"game": {"short_name", "name", "homepage_url",
 *                           "links"},
 *                  "players": ["name", ...]}],
 *  "links": [self, next, prev]}
 */

ngx_int_t
ngx_grapevine_api_online(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows, first;
    ngx_str_t              s;
    ngx_uint_t             ngames, more;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);
    ngames = 0;
    more = 0;

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "collection");
    ngx_grapevine_json_array(j);

    row = 0;

    while (row < nrows) {

        if (ngames == NGX_GRAPEVINE_API_PAGE_SIZE) {
            more = 1;
            break;
        }

        first = row;
        ngames++;

        ngx_grapevine_json_map(j);

        ngx_grapevine_json_key(j, "game");
        ngx_grapevine_json_map(j);
        ngx_grapevine_api_kstr(j, "short_name", res, row, 1);
        ngx_grapevine_api_kstr(j, "name", res, row, 2);
        ngx_grapevine_api_kurl(j, "homepage_url", res, row, 3);

        s = ngx_grapevine_api_value(res, row, 1);

        ngx_grapevine_json_key(j, "links");
        ngx_grapevine_json_array(j);
        ngx_grapevine_api_link_to(ctx, "self", "games/", &s, NULL, NULL,
                                  NULL);
        ngx_grapevine_json_array_end(j);
        ngx_grapevine_json_map_end(j);

        ngx_grapevine_json_key(j, "players");
        ngx_grapevine_json_array(j);

        while (row < nrows && ngx_grapevine_api_same(res, row, first, 0)) {
            if (!PQgetisnull(res, row, 4)) {
                s = ngx_grapevine_api_value(res, row, 4);
                ngx_grapevine_json_str(j, &s);
            }

            row++;
        }

        ngx_grapevine_json_array_end(j);
        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_api_pages(ctx, "games/online", more);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"short_name", "name", "description", "homepage_url", "user_agent",
 *  "user_agent_url", "online", "last_seen_at", "connections": [...],
 *  "players": [...] or null, "events": [...], "achievements_count",
 *  "links"}, one row of one column, made by the database of what it keeps
 */

ngx_int_t
ngx_grapevine_api_game(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    if (PQntuples(res) == 0) {
        return NGX_DECLINED;
    }

    ngx_grapevine_api_fragment(ctx, res, 0, 0);

    return NGX_OK;
}


/*
 * {"game": {"short_name", "name"},
 *  "items": [{"name", "username", "registered_at", "online", "links"}],
 *  "links": [self, game]}
 */

ngx_int_t
ngx_grapevine_api_game_characters(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res)
{
    int                    row, nrows;
    ngx_str_t              game, name, user;
    ngx_uint_t             more;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);

    if (nrows == 0) {
        return NGX_DECLINED;
    }

    more = 0;

    if (nrows > NGX_GRAPEVINE_API_PAGE_SIZE) {
        more = 1;
        nrows = NGX_GRAPEVINE_API_PAGE_SIZE;
    }

    game = ngx_grapevine_api_value(res, 0, 0);

    ngx_grapevine_json_map(j);

    ngx_grapevine_json_key(j, "game");
    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "short_name", res, 0, 0);
    ngx_grapevine_api_kstr(j, "name", res, 0, 1);
    ngx_grapevine_json_map_end(j);

    ngx_grapevine_json_key(j, "items");
    ngx_grapevine_json_array(j);

    for (row = 0; row < nrows; row++) {
        if (PQgetisnull(res, row, 2)) {
            continue;
        }

        name = ngx_grapevine_api_value(res, row, 2);
        user = ngx_grapevine_api_value(res, row, 3);

        ngx_grapevine_json_map(j);
        ngx_grapevine_api_kstr(j, "name", res, row, 2);
        ngx_grapevine_api_kstr(j, "username", res, row, 3);
        ngx_grapevine_api_kstr(j, "registered_at", res, row, 4);
        ngx_grapevine_api_kbool(j, "online", res, row, 5);

        ngx_grapevine_json_key(j, "links");
        ngx_grapevine_json_array(j);
        ngx_grapevine_api_link_to(ctx, "self", "characters/", &game, "/",
                                  &name, NULL);
        ngx_grapevine_api_link_to(ctx, "user", "users/", &user, NULL, NULL,
                                  NULL);
        ngx_grapevine_json_array_end(j);

        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);

    ngx_grapevine_api_page_link(ctx, "self", "games/", &game, "/characters",
                                ctx->page);

    if (more) {
        ngx_grapevine_api_page_link(ctx, "next", "games/", &game,
                                    "/characters", ctx->page + 1);
    }

    if (ctx->page > 1) {
        ngx_grapevine_api_page_link(ctx, "prev", "games/", &game,
                                    "/characters", ctx->page - 1);
    }

    ngx_grapevine_api_link_to(ctx, "game", "games/", &game, NULL, NULL,
                              NULL);
    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"name", "game": {"short_name", "name"}, "username", "registered_at",
 *  "online", "links": [self, game, user]}
 */

ngx_int_t
ngx_grapevine_api_character(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    ngx_str_t              name, game, user;
    ngx_grapevine_json_t  *j;

    j = ctx->j;

    if (PQntuples(res) != 1) {
        return NGX_DECLINED;
    }

    name = ngx_grapevine_api_value(res, 0, 0);
    game = ngx_grapevine_api_value(res, 0, 1);
    user = ngx_grapevine_api_value(res, 0, 3);

    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "name", res, 0, 0);

    ngx_grapevine_json_key(j, "game");
    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "short_name", res, 0, 1);
    ngx_grapevine_api_kstr(j, "name", res, 0, 2);
    ngx_grapevine_json_map_end(j);

    ngx_grapevine_api_kstr(j, "username", res, 0, 3);
    ngx_grapevine_api_kstr(j, "registered_at", res, 0, 4);
    ngx_grapevine_api_kbool(j, "online", res, 0, 5);

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);
    ngx_grapevine_api_link_to(ctx, "self", "characters/", &game, "/", &name,
                              NULL);
    ngx_grapevine_api_link_to(ctx, "game", "games/", &game, NULL, NULL,
                              NULL);
    ngx_grapevine_api_link_to(ctx, "user", "users/", &user, NULL, NULL,
                              NULL);
    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"username",
 *  "games": [{"short_name", "name",
 *             "characters": [{"name", "registered_at", "online"}]}],
 *  "links": [self]}
 */

ngx_int_t
ngx_grapevine_api_user(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows, first;
    ngx_str_t              user;
    ngx_uint_t             more;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);

    if (nrows == 0) {
        return NGX_DECLINED;
    }

    more = 0;

    if (nrows > NGX_GRAPEVINE_API_PAGE_SIZE) {
        more = 1;
        nrows = NGX_GRAPEVINE_API_PAGE_SIZE;
    }

    user = ngx_grapevine_api_value(res, 0, 0);

    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "username", res, 0, 0);

    ngx_grapevine_json_key(j, "games");
    ngx_grapevine_json_array(j);

    row = 0;

    while (row < nrows) {

        if (PQgetisnull(res, row, 1)) {
            row++;
            continue;
        }

        first = row;

        ngx_grapevine_json_map(j);
        ngx_grapevine_api_kstr(j, "short_name", res, row, 1);
        ngx_grapevine_api_kstr(j, "name", res, row, 2);

        ngx_grapevine_json_key(j, "characters");
        ngx_grapevine_json_array(j);

        while (row < nrows && ngx_grapevine_api_same(res, row, first, 1)) {
            ngx_grapevine_json_map(j);
            ngx_grapevine_api_kstr(j, "name", res, row, 3);
            ngx_grapevine_api_kstr(j, "registered_at", res, row, 4);
            ngx_grapevine_api_kbool(j, "online", res, row, 5);
            ngx_grapevine_json_map_end(j);
            row++;
        }

        ngx_grapevine_json_array_end(j);
        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);

    ngx_grapevine_api_page_link(ctx, "self", "users/", &user, NULL,
                                ctx->page);

    if (more) {
        ngx_grapevine_api_page_link(ctx, "next", "users/", &user, NULL,
                                    ctx->page + 1);
    }

    if (ctx->page > 1) {
        ngx_grapevine_api_page_link(ctx, "prev", "users/", &user, NULL,
                                    ctx->page - 1);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"items": [{"name", "description", "links": [messages]}],
 *  "links": [self, next, prev]}
 */

ngx_int_t
ngx_grapevine_api_channels(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows;
    ngx_str_t              name;
    ngx_uint_t             more;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);
    more = 0;

    if (nrows > NGX_GRAPEVINE_API_PAGE_SIZE) {
        more = 1;
        nrows = NGX_GRAPEVINE_API_PAGE_SIZE;
    }

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "items");
    ngx_grapevine_json_array(j);

    for (row = 0; row < nrows; row++) {
        name = ngx_grapevine_api_value(res, row, 0);

        ngx_grapevine_json_map(j);
        ngx_grapevine_api_kstr(j, "name", res, row, 0);
        ngx_grapevine_api_kstr(j, "description", res, row, 1);

        ngx_grapevine_json_key(j, "links");
        ngx_grapevine_json_array(j);
        ngx_grapevine_api_link_to(ctx, "messages", "channels/", &name,
                                  "/messages", NULL, NULL);
        ngx_grapevine_json_array_end(j);

        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_api_pages(ctx, "channels", more);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"channel": {"name", "description"},
 *  "items": [{"id", "game", "name", "text", "truncated", "inserted_at"}],
 *  "links": [self, next]}, newest first; "next" pages to older messages;
 * "truncated": the text is the message's first 2,048 characters
 */

ngx_int_t
ngx_grapevine_api_messages(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows, last;
    ngx_str_t              channel, v;
    ngx_uint_t             n, more;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);

    if (nrows == 0) {
        return NGX_DECLINED;
    }

    channel = ngx_grapevine_api_value(res, 0, 0);

    ngx_grapevine_json_map(j);

    ngx_grapevine_json_key(j, "channel");
    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "name", res, 0, 0);
    ngx_grapevine_api_kstr(j, "description", res, 0, 1);
    ngx_grapevine_json_map_end(j);

    ngx_grapevine_json_key(j, "items");
    ngx_grapevine_json_array(j);

    n = 0;
    more = 0;
    last = -1;

    for (row = 0; row < nrows; row++) {
        if (PQgetisnull(res, row, 2)) {
            continue;
        }

        if (n == ctx->limit) {
            more = 1;
            break;
        }

        n++;
        last = row;

        ngx_grapevine_json_map(j);
        ngx_grapevine_api_knum(j, "id", res, row, 2);
        ngx_grapevine_api_kstr(j, "game", res, row, 3);
        ngx_grapevine_api_kstr(j, "name", res, row, 4);
        ngx_grapevine_api_kstr(j, "text", res, row, 5);
        ngx_grapevine_api_kbool(j, "truncated", res, row, 7);
        ngx_grapevine_api_kstr(j, "inserted_at", res, row, 6);
        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);

    ngx_grapevine_api_href_start(ctx);
    ngx_grapevine_api_href_add(ctx, (u_char *) "channels/", 9);
    ngx_grapevine_api_href_seg(ctx, &channel);
    ngx_grapevine_api_href_add(ctx, (u_char *) "/messages", 9);

    if (ctx->before) {
        ngx_grapevine_api_href_num(ctx, "before", ctx->before);
    }

    if (ctx->has_limit) {
        ngx_grapevine_api_href_num(ctx, "limit", ctx->limit);
    }

    ngx_grapevine_api_link(ctx, "self");

    if (more && last >= 0) {
        v = ngx_grapevine_api_value(res, last, 2);

        ngx_grapevine_api_href_start(ctx);
        ngx_grapevine_api_href_add(ctx, (u_char *) "channels/", 9);
        ngx_grapevine_api_href_seg(ctx, &channel);
        ngx_grapevine_api_href_add(ctx, (u_char *) "/messages", 9);
        ngx_grapevine_api_href_arg(ctx, "before", &v);

        if (ctx->has_limit) {
            ngx_grapevine_api_href_num(ctx, "limit", ctx->limit);
        }

        ngx_grapevine_api_link(ctx, "next");
    }

    ngx_grapevine_json_array_end(j);
    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * A JSON value the database keeps ready (migrations/0011_api_fragments.sql,
 * sql/api/api_json.sql), written as it is, but for each chr(1) in it:
 * a link's place for the location's prefix, which a kept value cannot
 * know.  A value that is not there (rows written with the triggers off,
 * and not rendered since: api_render_all()) is a 500, never a broken body.
 */

static void
ngx_grapevine_api_fragment(ngx_grapevine_api_ctx_t *ctx, PGresult *res,
    int row, int col)
{
    u_char     *p, *one, *last, *dst;
    size_t      n;
    ngx_str_t   v, s;

    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) == 0) {
        ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                      "grapevine: a record's kept JSON is missing (rows "
                      "written with the triggers off?): "
                      "SELECT api_render_all() writes it");
        ctx->j->failed = 1;
        return;
    }

    v = ngx_grapevine_api_value(res, row, col);
    last = v.data + v.len;

    /*
     * memchr(), not a loop over the bytes: a page of games is 11 KB of
     * them, and a loop was a fifth of the worker's time
     */

    n = 0;

    for (p = v.data; p < last; p++) {
        p = memchr(p, '\1', last - p);
        if (p == NULL) {
            break;
        }

        n++;
    }

    if (n == 0) {
        ngx_grapevine_json_raw(ctx->j, &v);
        return;
    }

    if (ngx_grapevine_api_json_prefix(ctx) != NGX_OK) {
        ctx->j->failed = 1;
        return;
    }

    s.len = v.len - n + n * ctx->prefix_json.len;
    s.data = ngx_pnalloc(ctx->r->pool, s.len);
    if (s.data == NULL) {
        ctx->j->failed = 1;
        return;
    }

    dst = s.data;

    for (p = v.data; p < last; p = one + 1) {
        one = memchr(p, '\1', last - p);
        if (one == NULL) {
            dst = ngx_cpymem(dst, p, last - p);
            break;
        }

        dst = ngx_cpymem(dst, p, one - p);
        dst = ngx_cpymem(dst, ctx->prefix_json.data, ctx->prefix_json.len);
    }

    ngx_grapevine_json_raw(ctx->j, &s);
}


/*
 * The location's prefix as a JSON string's content, escaped as yajl
 * escapes it: once a request, in ctx->prefix_json
 */

static ngx_int_t
ngx_grapevine_api_json_prefix(ngx_grapevine_api_ctx_t *ctx)
{
    u_char      c, *p, *last, *dst;
    size_t      n;
    ngx_uint_t  pass;

    static const u_char  hex[] = "0123456789ABCDEF";
    static const u_char  brief[] = "btn\0fr";  /* \\b, \\t ... of 8 to 13 */

    if (ctx->prefix_json.data) {
        return NGX_OK;
    }

    last = ctx->prefix.data + ctx->prefix.len;
    dst = NULL;
    n = 0;

    for (pass = 0; pass < 2; pass++) {

        for (p = ctx->prefix.data; p < last; p++) {
            c = *p;

            if (c == '"' || c == '\\') {
                n += 2;

                if (dst) {
                    *dst++ = '\\';
                    *dst++ = c;
                }

            } else if (c >= 8 && c <= 13 && brief[c - 8]) {
                n += 2;

                if (dst) {
                    *dst++ = '\\';
                    *dst++ = brief[c - 8];
                }

            } else if (c < 0x20) {
                n += 6;

                if (dst) {
                    dst = ngx_cpymem(dst, "\\u00", 4);
                    *dst++ = hex[c >> 4];
                    *dst++ = hex[c & 0xf];
                }

            } else {
                n++;

                if (dst) {
                    *dst++ = c;
                }
            }
        }

        if (pass == 0) {
            dst = ngx_pnalloc(ctx->r->pool, n);
            if (dst == NULL) {
                return NGX_ERROR;
            }

            ctx->prefix_json.data = dst;
            ctx->prefix_json.len = n;
        }
    }

    return NGX_OK;
}


/*
 * A link from the hub (a homepage, a web client): only an http(s) URL
 * without white space, quotes or angle brackets, as the site's
 * site_safe_url(); anything else (javascript:, data:, ...) is null.
 */

static void
ngx_grapevine_api_kurl(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col)
{
    u_char     *p, *last;
    ngx_str_t   s;

    if (!PQgetisnull(res, row, col)) {
        s = ngx_grapevine_api_value(res, row, col);

        p = s.data;
        last = s.data + s.len;

        if (s.len > 5 && ngx_strncasecmp(p, (u_char *) "http", 4) == 0) {
            p += 4;

            if (*p == 's' || *p == 'S') {
                p++;
            }

            if (last - p > 3 && ngx_strncmp(p, "://", 3) == 0) {

                for (p += 3; p < last; p++) {
                    if (*p <= ' ' || *p == '"' || *p == '<' || *p == '>'
                        || *p == 0x7f)
                    {
                        break;
                    }
                }

                if (p == last) {
                    ngx_grapevine_api_kstr(j, key, res, row, col);
                    return;
                }
            }
        }
    }

    ngx_grapevine_json_key(j, key);
    ngx_grapevine_json_null(j);
}


static void
ngx_grapevine_api_kstr(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col)
{
    ngx_str_t  s;

    ngx_grapevine_json_key(j, key);

    if (PQgetisnull(res, row, col)) {
        ngx_grapevine_json_null(j);
        return;
    }

    s = ngx_grapevine_api_value(res, row, col);
    ngx_grapevine_json_str(j, &s);
}


static void
ngx_grapevine_api_kbool(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col)
{
    ngx_grapevine_json_key(j, key);

    if (PQgetisnull(res, row, col)) {
        ngx_grapevine_json_null(j);
        return;
    }

    ngx_grapevine_json_bool(j, PQgetvalue(res, row, col)[0] == 't');
}


/*
 * {"game": {"short_name", "name"}, "period",
 *  "items": [{"time", "players"}] (null when the game hides its players),
 *  "links": [self, game]}
 */

ngx_int_t
ngx_grapevine_api_game_statistics(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res)
{
    ngx_str_t              game;
    ngx_grapevine_json_t  *j;

    if (PQntuples(res) == 0) {
        return NGX_DECLINED;
    }

    j = ctx->j;
    game = ngx_grapevine_api_value(res, 0, 0);

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "game");
    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "short_name", res, 0, 0);
    ngx_grapevine_api_kstr(j, "name", res, 0, 1);
    ngx_grapevine_json_map_end(j);

    ngx_grapevine_json_key(j, "period");
    ngx_grapevine_json_str(j, &ctx->period);

    ngx_grapevine_json_key(j, "items");

    if (PQgetvalue(res, 0, 2)[0] == 't') {
        ngx_grapevine_api_points(j, res, 3);

    } else {
        ngx_grapevine_json_null(j);
    }

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);
    ngx_grapevine_api_statistics_link(ctx, "self", &game);
    ngx_grapevine_api_link_to(ctx, "game", "games/", &game, NULL, NULL, NULL);
    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/* {"period", "items": [{"time", "players"}], "links": [self]} */

ngx_int_t
ngx_grapevine_api_network_statistics(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res)
{
    ngx_grapevine_json_t  *j;

    j = ctx->j;

    ngx_grapevine_json_map(j);

    ngx_grapevine_json_key(j, "period");
    ngx_grapevine_json_str(j, &ctx->period);

    ngx_grapevine_json_key(j, "items");
    ngx_grapevine_api_points(j, res, 0);

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);
    ngx_grapevine_api_statistics_link(ctx, "self", NULL);
    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * The points of a period, by time, from columns col (the time) and col + 1
 * (the players, null in a gap); a row without a time holds none.
 */

static void
ngx_grapevine_api_points(ngx_grapevine_json_t *j, PGresult *res, int col)
{
    int  row, nrows;

    nrows = PQntuples(res);

    ngx_grapevine_json_array(j);

    for (row = 0; row < nrows; row++) {
        if (PQgetisnull(res, row, col)) {
            continue;
        }

        ngx_grapevine_json_map(j);
        ngx_grapevine_api_kstr(j, "time", res, row, col);
        ngx_grapevine_api_knum(j, "players", res, row, col + 1);
        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_array_end(j);
}


/* games/GAME/statistics or statistics, with "?period=" when not 48h */

static void
ngx_grapevine_api_statistics_link(ngx_grapevine_api_ctx_t *ctx,
    const char *rel, ngx_str_t *game)
{
    ngx_grapevine_api_href_start(ctx);

    if (game) {
        ngx_grapevine_api_href_add(ctx, (u_char *) "games/", 6);
        ngx_grapevine_api_href_seg(ctx, game);
        ngx_grapevine_api_href_add(ctx, (u_char *) "/", 1);
    }

    ngx_grapevine_api_href_add(ctx, (u_char *) "statistics", 10);

    if (ctx->period.len != 3
        || ngx_strncmp(ctx->period.data, "48h", 3) != 0)
    {
        ngx_grapevine_api_href_arg(ctx, "period", &ctx->period);
    }

    ngx_grapevine_api_link(ctx, rel);
}


/* an integer column: PostgreSQL's text is a JSON number as it is */

static void
ngx_grapevine_api_knum(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col)
{
    ngx_str_t  v;

    ngx_grapevine_json_key(j, key);

    if (PQgetisnull(res, row, col)) {
        ngx_grapevine_json_null(j);
        return;
    }

    v.data = (u_char *) PQgetvalue(res, row, col);
    v.len = PQgetlength(res, row, col);

    ngx_grapevine_json_raw(j, &v);
}


static ngx_str_t
ngx_grapevine_api_value(PGresult *res, int row, int col)
{
    ngx_str_t  s;

    s.data = (u_char *) PQgetvalue(res, row, col);
    s.len = PQgetlength(res, row, col);

    return s;
}


/* whether two rows have the same (non-NULL) value in a column */

static ngx_uint_t
ngx_grapevine_api_same(PGresult *res, int row1, int row2, int col)
{
    if (PQgetisnull(res, row1, col) || PQgetisnull(res, row2, col)) {
        return 0;
    }

    return PQgetlength(res, row1, col) == PQgetlength(res, row2, col)
           && ngx_strcmp(PQgetvalue(res, row1, col),
                         PQgetvalue(res, row2, col)) == 0;
}


/*
 * Links are paths from the server's root: the location's prefix, then
 * the resource, with names percent-encoded.  A failure to allocate marks
 * the JSON as failed (a 500).
 */

static void
ngx_grapevine_api_href_start(ngx_grapevine_api_ctx_t *ctx)
{
    ctx->href_len = 0;
    ngx_grapevine_api_href_add(ctx, ctx->prefix.data, ctx->prefix.len);
}


static void
ngx_grapevine_api_href_add(ngx_grapevine_api_ctx_t *ctx, const u_char *p,
    size_t n)
{
    u_char  *nb;
    size_t   size;

    if (ctx->href_len + n > ctx->href_size) {
        size = ngx_max(2 * ctx->href_size, ctx->href_len + n);
        size = ngx_max(size, 256);

        nb = ngx_pnalloc(ctx->r->pool, size);
        if (nb == NULL) {
            ctx->j->failed = 1;
            return;
        }

        if (ctx->href_len) {
            ngx_memcpy(nb, ctx->href, ctx->href_len);
        }

        ctx->href = nb;
        ctx->href_size = size;
    }

    ngx_memcpy(ctx->href + ctx->href_len, p, n);
    ctx->href_len += n;
}


static void
ngx_grapevine_api_href_seg(ngx_grapevine_api_ctx_t *ctx, ngx_str_t *s)
{
    u_char  *p, buf[128];
    size_t   len;

    len = ngx_grapevine_escape_len(s);

    if (len <= sizeof(buf)) {
        ngx_grapevine_escape(buf, s);
        ngx_grapevine_api_href_add(ctx, buf, len);
        return;
    }

    p = ngx_pnalloc(ctx->r->pool, len);
    if (p == NULL) {
        ctx->j->failed = 1;
        return;
    }

    ngx_grapevine_escape(p, s);
    ngx_grapevine_api_href_add(ctx, p, len);
}


/* "?name=value" or "&name=value" */

static void
ngx_grapevine_api_href_arg(ngx_grapevine_api_ctx_t *ctx, const char *name,
    ngx_str_t *value)
{
    ngx_uint_t   i;
    const char  *sep;

    for (i = ctx->prefix.len; i < ctx->href_len; i++) {
        if (ctx->href[i] == '?') {
            break;
        }
    }

    sep = (i < ctx->href_len) ? "&" : "?";

    ngx_grapevine_api_href_add(ctx, (u_char *) sep, 1);
    ngx_grapevine_api_href_add(ctx, (u_char *) name, ngx_strlen(name));
    ngx_grapevine_api_href_add(ctx, (u_char *) "=", 1);
    ngx_grapevine_api_href_seg(ctx, value);
}


static void
ngx_grapevine_api_href_num(ngx_grapevine_api_ctx_t *ctx, const char *name,
    uint64_t n)
{
    u_char     buf[NGX_INT64_LEN];
    ngx_str_t  s;

    s.data = buf;
    s.len = ngx_sprintf(buf, "%uL", n) - buf;

    ngx_grapevine_api_href_arg(ctx, name, &s);
}


/* {"rel": rel, "href": the link built} */

static void
ngx_grapevine_api_link(ngx_grapevine_api_ctx_t *ctx, const char *rel)
{
    ngx_str_t              s;
    ngx_grapevine_json_t  *j;

    j = ctx->j;

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "rel");
    ngx_grapevine_json_cstr(j, rel);
    ngx_grapevine_json_key(j, "href");

    s.data = ctx->href;
    s.len = ctx->href_len;

    if (s.data == NULL) {
        j->failed = 1;

    } else {
        ngx_grapevine_json_str(j, &s);
    }

    ngx_grapevine_json_map_end(j);
}


/* a link to prefix + a + s1 + b + s2 + c; NULL parts are left out */

static void
ngx_grapevine_api_link_to(ngx_grapevine_api_ctx_t *ctx, const char *rel,
    const char *a, ngx_str_t *s1, const char *b, ngx_str_t *s2,
    const char *c)
{
    ngx_grapevine_api_href_start(ctx);

    if (a) {
        ngx_grapevine_api_href_add(ctx, (u_char *) a, ngx_strlen(a));
    }

    if (s1) {
        ngx_grapevine_api_href_seg(ctx, s1);
    }

    if (b) {
        ngx_grapevine_api_href_add(ctx, (u_char *) b, ngx_strlen(b));
    }

    if (s2) {
        ngx_grapevine_api_href_seg(ctx, s2);
    }

    if (c) {
        ngx_grapevine_api_href_add(ctx, (u_char *) c, ngx_strlen(c));
    }

    ngx_grapevine_api_link(ctx, rel);
}


/* games with the request's filters, on a page */

static void
ngx_grapevine_api_games_link(ngx_grapevine_api_ctx_t *ctx, const char *rel,
    ngx_uint_t page)
{
    ngx_grapevine_api_href_start(ctx);
    ngx_grapevine_api_href_add(ctx, (u_char *) "games", 5);

    if (ctx->online.len != 3 || ngx_strncmp(ctx->online.data, "all", 3)) {
        ngx_grapevine_api_href_arg(ctx, "online", &ctx->online);
    }

    if (ctx->name.len) {
        ngx_grapevine_api_href_arg(ctx, "name", &ctx->name);
    }

    if (page > 1) {
        ngx_grapevine_api_href_num(ctx, "page", page);
    }

    ngx_grapevine_api_link(ctx, rel);
}


/* prefix + a + s + b, and "?page=N" after the first page */

static void
ngx_grapevine_api_page_link(ngx_grapevine_api_ctx_t *ctx, const char *rel,
    const char *a, ngx_str_t *s, const char *b, ngx_uint_t page)
{
    ngx_grapevine_api_href_start(ctx);
    ngx_grapevine_api_href_add(ctx, (u_char *) a, ngx_strlen(a));
    ngx_grapevine_api_href_seg(ctx, s);

    if (b) {
        ngx_grapevine_api_href_add(ctx, (u_char *) b, ngx_strlen(b));
    }

    if (page > 1) {
        ngx_grapevine_api_href_num(ctx, "page", page);
    }

    ngx_grapevine_api_link(ctx, rel);
}


/* "links": self, next and prev of a paged list at prefix + path */

static void
ngx_grapevine_api_pages(ngx_grapevine_api_ctx_t *ctx, const char *path,
    ngx_uint_t more)
{
    ngx_str_t  none;

    ngx_str_null(&none);

    ngx_grapevine_json_key(ctx->j, "links");
    ngx_grapevine_json_array(ctx->j);

    ngx_grapevine_api_page_link(ctx, "self", path, &none, NULL, ctx->page);

    if (more) {
        ngx_grapevine_api_page_link(ctx, "next", path, &none, NULL,
                                    ctx->page + 1);
    }

    if (ctx->page > 1) {
        ngx_grapevine_api_page_link(ctx, "prev", path, &none, NULL,
                                    ctx->page - 1);
    }

    ngx_grapevine_json_array_end(ctx->j);
}
