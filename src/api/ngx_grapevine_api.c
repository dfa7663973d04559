
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_http.h"
#include "ngx_grapevine_cache.h"
#include "ngx_grapevine_listen.h"
#include "ngx_grapevine_api.h"


/*
 * grapevine_api: Grapevine's JSON API, read from PostgreSQL.
 *
 * One parameterised query per request; its rows are streamed straight
 * into yajl.  A one-to-many part (a game's connections, a user's
 * characters by game) comes as a LEFT JOIN whose rows the writer groups;
 * the game page's several lists come as one UNION ALL of tagged rows.
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
 * Every response carries a strong ETag (a 64-bit hash of the body);
 * nginx's not_modified filter answers If-None-Match with 304.
 *
 * Unless grapevine_api_cache is off, the 200 answers are kept in core's
 * answer cache (ngx_grapevine_cache.h), keyed by the location's prefix and
 * the URI as sent: the API registers the tables it reads, whose triggers
 * announce every change on the channel grapevine_api, and each
 * statement's tables are found in its text.  A request first waits for
 * the listening connection's round trip, then is answered from the cache
 * or runs its query.
 */


#define NGX_GRAPEVINE_API_CHANNEL        "grapevine_api"


#define NGX_GRAPEVINE_API_PAGE_SIZE      25
#define NGX_GRAPEVINE_API_PAGE_MAX       10000
#define NGX_GRAPEVINE_API_LIMIT_DEFAULT  25
#define NGX_GRAPEVINE_API_LIMIT_MAX      100
#define NGX_GRAPEVINE_API_NAME_MAX       100     /* characters */
#define NGX_GRAPEVINE_API_ID_MAX         0x7fffffffffffffffULL

#define NGX_GRAPEVINE_API_CACHE          "public, max-age=10"
#define NGX_GRAPEVINE_API_CACHE_STATIC   "public, max-age=3600"
#define NGX_GRAPEVINE_API_METHODS        "GET, HEAD, OPTIONS"

#define NGX_GRAPEVINE_API_TIME(col)                                           \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* whether a character is online, NULL when its game hides its players */
#define NGX_GRAPEVINE_API_ONLINE                                              \
    "CASE WHEN g.display_players THEN EXISTS (SELECT 1 "                      \
    "FROM players_online p WHERE p.game_id = g.id "                           \
    "AND lower(p.name) = lower(c.name)) END"


/* $1 online: all|yes|no, $2 name filter or '', $3 offset */

#define NGX_GRAPEVINE_API_GAMES_SQL                                           \
    "SELECT g.id, g.short_name, g.name, g.description, g.homepage_url, "      \
    "g.user_agent, g.online, c.type, c.url, c.host, c.port "                  \
    "FROM (SELECT id, short_name, name, description, homepage_url, "          \
    "user_agent, online FROM games "                                          \
    "WHERE display AND ($1::text = 'all' OR online = ($1::text = 'yes')) "    \
    "AND ($2::text = '' OR strpos(lower(name), lower($2::text)) > 0 "         \
    "OR strpos(lower(short_name), lower($2::text)) > 0) "                     \
    "ORDER BY lower(name), id LIMIT 26 OFFSET $3::int) g "                    \
    "LEFT JOIN game_connections c ON c.game_id = g.id "                       \
    "ORDER BY lower(g.name), g.id, c.id"

#define NGX_GRAPEVINE_API_ONLINE_SQL                                          \
    "SELECT g.id, g.short_name, g.name, g.homepage_url, p.name "              \
    "FROM games g LEFT JOIN players_online p "                                \
    "ON p.game_id = g.id AND g.display_players "                              \
    "WHERE g.display AND g.online "                                           \
    "ORDER BY lower(g.name), g.id, lower(p.name)"

/*
 * $1 short name.  Rows tagged by kind (0 the game, 1 its connections,
 * 2 players online, 3 upcoming events), in order.
 */

#define NGX_GRAPEVINE_API_GAME_SQL                                            \
    "WITH g AS (SELECT id, short_name, name, description, homepage_url, "     \
    "user_agent, user_agent_url, online, display_players, last_seen_at "      \
    "FROM games WHERE display AND lower(short_name) = lower($1::text)) "      \
    "SELECT 0, 0::bigint, short_name, name, description, homepage_url, "      \
    "user_agent, user_agent_url, online::text, display_players::text, "       \
    NGX_GRAPEVINE_API_TIME("last_seen_at") ", "                               \
    "(SELECT count(*) FROM achievements a WHERE a.game_id = g.id "            \
    "AND a.display AND NOT a.is_deleted)::text FROM g "                       \
    "UNION ALL "                                                              \
    "SELECT 1, c.id, c.type, c.url, c.host, c.port::text, NULL, NULL, "       \
    "NULL, NULL, NULL, NULL "                                                 \
    "FROM g JOIN game_connections c ON c.game_id = g.id "                     \
    "UNION ALL "                                                              \
    "SELECT 2, row_number() OVER (ORDER BY lower(p.name)), p.name, NULL, "    \
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL "                         \
    "FROM g JOIN players_online p ON p.game_id = g.id "                       \
    "WHERE g.display_players "                                                \
    "UNION ALL "                                                              \
    "(SELECT 3, row_number() OVER (ORDER BY e.start_date, e.id), e.title, "   \
    "e.description, to_char(e.start_date, 'YYYY-MM-DD'), "                    \
    "to_char(e.end_date, 'YYYY-MM-DD'), NULL, NULL, NULL, NULL, NULL, NULL "  \
    "FROM g JOIN events e ON e.game_id = g.id "                               \
    "WHERE NOT e.is_deleted "                                                 \
    "AND coalesce(e.end_date, e.start_date) >= current_date "                 \
    "ORDER BY e.start_date, e.id LIMIT 10) "                                  \
    "ORDER BY 1, 2"

/*
 * $1 short name, $2 offset: a page of characters and one more, to know
 * whether there is a next page; one row with NULL characters when the
 * page is empty.
 */

#define NGX_GRAPEVINE_API_GAME_CHARACTERS_SQL                                 \
    "SELECT g.short_name, g.name, page.name, page.username, "                 \
    "page.registered_at, page.online "                                        \
    "FROM games g LEFT JOIN LATERAL (SELECT c.id, c.name, u.username, "       \
    NGX_GRAPEVINE_API_TIME("c.inserted_at") " AS registered_at, "             \
    NGX_GRAPEVINE_API_ONLINE " AS online "                                    \
    "FROM characters c JOIN users u "                                         \
    "ON u.id = c.user_id AND u.suspended_at IS NULL "                         \
    "WHERE c.game_id = g.id AND c.state = 'approved' "                        \
    "ORDER BY lower(c.name), c.id LIMIT 26 OFFSET $2::int) page ON true "     \
    "WHERE g.display AND lower(g.short_name) = lower($1::text) "              \
    "ORDER BY lower(page.name), page.id"

/* $1 game's short name, $2 character name */

#define NGX_GRAPEVINE_API_CHARACTER_SQL                                       \
    "SELECT c.name, g.short_name, g.name, u.username, "                       \
    NGX_GRAPEVINE_API_TIME("c.inserted_at") ", "                              \
    NGX_GRAPEVINE_API_ONLINE " "                                              \
    "FROM characters c JOIN games g ON g.id = c.game_id "                     \
    "JOIN users u ON u.id = c.user_id "                                       \
    "WHERE g.display AND lower(g.short_name) = lower($1::text) "              \
    "AND lower(c.name) = lower($2::text) AND c.state = 'approved' "           \
    "AND u.suspended_at IS NULL"

/*
 * $1 username, $2 offset: a page of characters (by game, then name) and
 * one more; one row with NULL games when the page is empty.
 */

#define NGX_GRAPEVINE_API_USER_SQL                                            \
    "SELECT u.username, page.short_name, page.game_name, page.name, "         \
    "page.registered_at, page.online "                                        \
    "FROM users u LEFT JOIN LATERAL (SELECT g.id AS game_id, g.short_name, "  \
    "g.name AS game_name, c.id, c.name, "                                     \
    NGX_GRAPEVINE_API_TIME("c.inserted_at") " AS registered_at, "             \
    NGX_GRAPEVINE_API_ONLINE " AS online "                                    \
    "FROM characters c JOIN games g ON g.id = c.game_id AND g.display "       \
    "WHERE c.user_id = u.id AND c.state = 'approved' "                        \
    "ORDER BY lower(g.name), g.id, lower(c.name), c.id "                      \
    "LIMIT 26 OFFSET $2::int) page ON true "                                  \
    "WHERE lower(u.username) = lower($1::text) "                              \
    "AND u.suspended_at IS NULL "                                             \
    "ORDER BY lower(page.game_name), page.game_id, lower(page.name), page.id"

#define NGX_GRAPEVINE_API_CHANNELS_SQL                                        \
    "SELECT name, description FROM channels WHERE NOT hidden "                \
    "ORDER BY lower(name)"

/*
 * $1 channel, $2 messages below this id, $3 how many (one more than the
 * page, to know whether there is a next one).  One row with NULL message
 * fields when the page is empty.
 */

#define NGX_GRAPEVINE_API_MESSAGES_SQL                                        \
    "SELECT c.name, c.description, m.id, m.game_name, m.player_name, "        \
    "m.message, " NGX_GRAPEVINE_API_TIME("m.inserted_at") " "                 \
    "FROM channels c LEFT JOIN LATERAL (SELECT id, game_name, player_name, "  \
    "message, inserted_at FROM channel_messages "                             \
    "WHERE channel_id = c.id AND NOT hidden AND id < $2::bigint "             \
    "ORDER BY id DESC LIMIT $3::int) m ON true "                              \
    "WHERE lower(c.name) = lower($1::text) AND NOT c.hidden "                 \
    "ORDER BY m.id DESC"


typedef struct ngx_grapevine_api_ctx_s  ngx_grapevine_api_ctx_t;

typedef ngx_int_t (*ngx_grapevine_api_args_pt)(ngx_grapevine_api_ctx_t *ctx);
typedef ngx_int_t (*ngx_grapevine_api_write_pt)(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);


typedef struct {
    ngx_uint_t                    nsegs;
    const char                   *segs[NGX_GRAPEVINE_API_MAX_SEGMENTS];
                                             /* NULL: a parameter */
    const char                   *params[2]; /* their names, in order */
    ngx_grapevine_pg_stmt_t      *stmt;      /* NULL: the OpenAPI document */
    ngx_grapevine_api_args_pt     args;
    ngx_grapevine_api_write_pt    write;
    const char                   *what;      /* for 404 messages */
} ngx_grapevine_api_route_t;


struct ngx_grapevine_api_ctx_s {
    ngx_grapevine_pg_query_t      q;         /* first: the handler casts */
    ngx_http_request_t           *r;
    ngx_grapevine_api_route_t    *route;
    ngx_grapevine_json_t         *j;

    ngx_str_t                     prefix;    /* the location's, ending "/" */
    ngx_str_t                     path[2];   /* path parameters */
    const char                   *values[3];

    ngx_str_t                     online;    /* query parameters */
    ngx_str_t                     name;
    ngx_uint_t                    page;
    ngx_uint_t                    limit;
    uint64_t                      before;
    unsigned                      has_limit:1;

    u_char                       *href;      /* links are built here */
    size_t                        href_len;
    size_t                        href_size;

    ngx_grapevine_listen_wait_t   wait;      /* for the cache */
    ngx_str_t                     key;
    ngx_grapevine_cache_tables_t  tables;    /* what the query reads */
    uint64_t                      gen;
    unsigned                      cache:1;
    unsigned                      cacheable:1;
};


typedef struct {
    ngx_flag_t                    cache;     /* grapevine_api_cache */
    ngx_uint_t                    used;      /* grapevine_api is set */
    ngx_grapevine_cache_tables_t  tables[NGX_GRAPEVINE_API_STMTS];
} ngx_grapevine_api_main_conf_t;


static void *ngx_grapevine_api_create_main_conf(ngx_conf_t *cf);
static char *ngx_grapevine_api_init_main_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_grapevine_api_postconfiguration(ngx_conf_t *cf);
static char *ngx_grapevine_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_grapevine_api_handler(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_api_query(ngx_grapevine_api_ctx_t *ctx);
static void ngx_grapevine_api_crossed(ngx_grapevine_listen_wait_t *w,
    ngx_uint_t ok);
static void ngx_grapevine_api_unwait(void *data);
static ngx_int_t ngx_grapevine_api_cached(ngx_grapevine_api_ctx_t *ctx,
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
static ngx_int_t ngx_grapevine_api_bad(ngx_grapevine_api_ctx_t *ctx,
    const char *fmt, const char *name);
static void ngx_grapevine_api_done(ngx_grapevine_pg_query_t *q,
    PGresult *res);
static ngx_int_t ngx_grapevine_api_failed(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);

static ngx_int_t ngx_grapevine_api_games(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_grapevine_api_online(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_grapevine_api_game(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_grapevine_api_game_characters(
    ngx_grapevine_api_ctx_t *ctx, PGresult *res);
static ngx_int_t ngx_grapevine_api_character(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_grapevine_api_user(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_grapevine_api_channels(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
static ngx_int_t ngx_grapevine_api_messages(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);

static void ngx_grapevine_api_connection(ngx_grapevine_json_t *j,
    PGresult *res, int row, int col);
static void ngx_grapevine_api_kstr(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col);
static void ngx_grapevine_api_kbool(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col);
static void ngx_grapevine_api_knum(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col);
static ngx_str_t ngx_grapevine_api_value(PGresult *res, int row, int col);
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

static ngx_int_t ngx_grapevine_api_openapi(ngx_grapevine_api_ctx_t *ctx);
static ngx_int_t ngx_grapevine_api_send(ngx_http_request_t *r,
    ngx_chain_t *out, size_t size, const char *cache);
static ngx_int_t ngx_grapevine_api_headers(ngx_http_request_t *r,
    const char *cache);
static ngx_int_t ngx_grapevine_api_preflight(ngx_http_request_t *r);
static ngx_int_t ngx_grapevine_api_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, ngx_str_t *message);


/* each route's query, prepared on the pool's connections */

static ngx_grapevine_pg_stmt_t  ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMTS]
    = {
    { "grapevine_api_games", NGX_GRAPEVINE_API_GAMES_SQL },
    { "grapevine_api_online", NGX_GRAPEVINE_API_ONLINE_SQL },
    { "grapevine_api_game", NGX_GRAPEVINE_API_GAME_SQL },
    { "grapevine_api_game_characters",
      NGX_GRAPEVINE_API_GAME_CHARACTERS_SQL },
    { "grapevine_api_character", NGX_GRAPEVINE_API_CHARACTER_SQL },
    { "grapevine_api_user", NGX_GRAPEVINE_API_USER_SQL },
    { "grapevine_api_channels", NGX_GRAPEVINE_API_CHANNELS_SQL },
    { "grapevine_api_messages", NGX_GRAPEVINE_API_MESSAGES_SQL }
};

/*
 * The tables the API reads, for the cache: the trigger function
 * api_changed() announces every change to them on the channel
 * grapevine_api, with the table's name.  A statement's tables are found
 * in its text: it must name every table it reads, never through a
 * function or a view, or the cache would not see their changes.
 */

static const char  *ngx_grapevine_api_cache_tables[] = {
    "games", "game_connections", "players_online", "events", "achievements",
    "users", "characters", "channels", "channel_messages", NULL
};


/* the cache's member of /_status: this worker's figures */

static ngx_grapevine_status_reporter_t  ngx_grapevine_api_cache_reporter = {
    "api_cache", NULL, 0, ngx_grapevine_cache_status, NULL
};


static ngx_grapevine_api_route_t  ngx_grapevine_api_routes[] = {

    { 1, { "games" }, { NULL },
      &ngx_grapevine_api_stmts[0], ngx_grapevine_api_games_args,
      ngx_grapevine_api_games, NULL },

    { 2, { "games", "online" }, { NULL },
      &ngx_grapevine_api_stmts[1], NULL,
      ngx_grapevine_api_online, NULL },

    { 2, { "games", NULL }, { "game" },
      &ngx_grapevine_api_stmts[2], NULL,
      ngx_grapevine_api_game, "game" },

    { 3, { "games", NULL, "characters" }, { "game" },
      &ngx_grapevine_api_stmts[3], ngx_grapevine_api_page_args,
      ngx_grapevine_api_game_characters, "game" },

    { 3, { "characters", NULL, NULL }, { "game", "name" },
      &ngx_grapevine_api_stmts[4], NULL,
      ngx_grapevine_api_character, "character" },

    { 2, { "users", NULL }, { "username" },
      &ngx_grapevine_api_stmts[5], ngx_grapevine_api_page_args,
      ngx_grapevine_api_user, "user" },

    { 1, { "channels" }, { NULL },
      &ngx_grapevine_api_stmts[6], NULL,
      ngx_grapevine_api_channels, NULL },

    { 3, { "channels", NULL, "messages" }, { "channel" },
      &ngx_grapevine_api_stmts[7], ngx_grapevine_api_messages_args,
      ngx_grapevine_api_messages, "channel" },

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

      ngx_null_command
};


static ngx_http_module_t  ngx_grapevine_api_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_grapevine_api_postconfiguration,   /* postconfiguration */

    ngx_grapevine_api_create_main_conf,    /* create main configuration */
    ngx_grapevine_api_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
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

    return amcf;
}


static char *
ngx_grapevine_api_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_grapevine_api_main_conf_t *amcf = conf;

    ngx_conf_init_value(amcf->cache, 1);

    return NGX_CONF_OK;
}


/*
 * With the cache on (grapevine_api_cache, known only once the http block
 * is read): the API's tables and its member of /_status.
 */

static ngx_int_t
ngx_grapevine_api_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                      i;
    ngx_grapevine_api_main_conf_t  *amcf;

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_grapevine_api_module);

    if (!amcf->used || !amcf->cache) {
        return NGX_OK;
    }

    if (ngx_grapevine_add_cache_tables(cf, NGX_GRAPEVINE_API_CHANNEL,
                                       ngx_grapevine_api_cache_tables)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_GRAPEVINE_API_STMTS; i++) {
        amcf->tables[i] = ngx_grapevine_cache_tables(cf,
                                             ngx_grapevine_api_stmts[i].sql);
    }

    return ngx_grapevine_add_status(cf, &ngx_grapevine_api_cache_reporter);
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

    ctx->q.stmt = ctx->route->stmt;
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
    ctx->tables = amcf->tables[ctx->route->stmt - ngx_grapevine_api_stmts];

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

    if (ngx_grapevine_listen_wait(&ctx->wait) == NGX_AGAIN) {
        cln->handler = ngx_grapevine_api_unwait;
        cln->data = ctx;

        r->main->count++;
        r->read_event_handler = ngx_http_test_reading;

        return NGX_DONE;
    }

    return ngx_grapevine_api_query(ctx);
}


static ngx_int_t
ngx_grapevine_api_query(ngx_grapevine_api_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->r;

    /* an answer is stored with the generation read before its query */

    ctx->cacheable = ctx->cache && ctx->key.len
                     && ngx_grapevine_cache_generation(ctx->tables, &ctx->gen)
                        == NGX_OK;

    rc = ngx_grapevine_http_query(r, &ctx->q);

    if (rc == NGX_DONE) {
        /* notice a client that goes away while the query runs */
        r->read_event_handler = ngx_http_test_reading;
        return NGX_DONE;
    }

    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_grapevine_api_headers(r, "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_grapevine_http_unavailable(r, &ctx->q);
}


/* the round trip is back: every earlier change is accounted for */

static void
ngx_grapevine_api_crossed(ngx_grapevine_listen_wait_t *w, ngx_uint_t ok)
{
    ngx_str_t                 body;
    ngx_grapevine_api_ctx_t  *ctx;

    ctx = w->data;

    if (ok && ngx_grapevine_cache_get(&ctx->key, &body) == NGX_OK) {
        ngx_grapevine_http_finalize(ctx->r,
                                    ngx_grapevine_api_cached(ctx, &body));
        return;
    }

    ngx_grapevine_http_finalize(ctx->r, ngx_grapevine_api_query(ctx));
}


static void
ngx_grapevine_api_unwait(void *data)
{
    ngx_grapevine_api_ctx_t  *ctx = data;

    ngx_grapevine_listen_cancel(&ctx->wait);
}


static ngx_int_t
ngx_grapevine_api_cached(ngx_grapevine_api_ctx_t *ctx, ngx_str_t *body)
{
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r;

    r = ctx->r;

    b = ngx_create_temp_buf(r->pool, body->len);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, body->data, body->len);
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
        ngx_grapevine_http_finalize(r, ngx_grapevine_api_failed(ctx, res));
        return;
    }

    ctx->j = ngx_grapevine_json_create(r->pool);
    if (ctx->j == NULL) {
        ngx_grapevine_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ctx->route->write(ctx, res);

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

    out = (rc == NGX_OK) ? ngx_grapevine_json_finish(ctx->j) : NULL;

    if (out == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "grapevine: could not write the API response");
        ngx_grapevine_http_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->cacheable) {
        ngx_grapevine_cache_put(&ctx->key, ctx->gen, ctx->tables, out,
                                ctx->j->size);

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


static ngx_int_t
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
 * {"items": [{"short_name", "name", "description", "homepage_url",
 *             "user_agent", "online", "connections": [...], "links"}],
 *  "links": [self, next, prev]}
 */

static ngx_int_t
ngx_grapevine_api_games(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows, first;
    ngx_str_t              short_name;
    ngx_uint_t             ngames, more;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);
    ngames = 0;
    more = 0;

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "items");
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
        ngx_grapevine_api_kstr(j, "short_name", res, row, 1);
        ngx_grapevine_api_kstr(j, "name", res, row, 2);
        ngx_grapevine_api_kstr(j, "description", res, row, 3);
        ngx_grapevine_api_kstr(j, "homepage_url", res, row, 4);
        ngx_grapevine_api_kstr(j, "user_agent", res, row, 5);
        ngx_grapevine_api_kbool(j, "online", res, row, 6);

        ngx_grapevine_json_key(j, "connections");
        ngx_grapevine_json_array(j);

        while (row < nrows && ngx_grapevine_api_same(res, row, first, 0)) {
            if (!PQgetisnull(res, row, 7)) {
                ngx_grapevine_api_connection(j, res, row, 7);
            }

            row++;
        }

        ngx_grapevine_json_array_end(j);

        short_name = ngx_grapevine_api_value(res, first, 1);

        ngx_grapevine_json_key(j, "links");
        ngx_grapevine_json_array(j);
        ngx_grapevine_api_link_to(ctx, "self", "games/", &short_name,
                                  NULL, NULL, NULL);
        ngx_grapevine_json_array_end(j);

        ngx_grapevine_json_map_end(j);
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
 *                  "players": ["name", ...]}]}
 */

static ngx_int_t
ngx_grapevine_api_online(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows, first;
    ngx_str_t              s;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);

    ngx_grapevine_json_map(j);
    ngx_grapevine_json_key(j, "collection");
    ngx_grapevine_json_array(j);

    row = 0;

    while (row < nrows) {
        first = row;

        ngx_grapevine_json_map(j);

        ngx_grapevine_json_key(j, "game");
        ngx_grapevine_json_map(j);
        ngx_grapevine_api_kstr(j, "short_name", res, row, 1);
        ngx_grapevine_api_kstr(j, "name", res, row, 2);
        ngx_grapevine_api_kstr(j, "homepage_url", res, row, 3);

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
    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"short_name", "name", "description", "homepage_url", "user_agent",
 *  "user_agent_url", "online", "last_seen_at", "connections": [...],
 *  "players": [...] or null, "events": [...], "achievements_count",
 *  "links"}
 */

#define NGX_GRAPEVINE_F  2      /* the first field after kind and order */

static ngx_int_t
ngx_grapevine_api_game(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows;
    ngx_str_t              s;
    ngx_uint_t             players;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);

    if (nrows == 0 || PQgetvalue(res, 0, 0)[0] != '0') {
        return NGX_DECLINED;
    }

    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "short_name", res, 0, NGX_GRAPEVINE_F);
    ngx_grapevine_api_kstr(j, "name", res, 0, NGX_GRAPEVINE_F + 1);
    ngx_grapevine_api_kstr(j, "description", res, 0, NGX_GRAPEVINE_F + 2);
    ngx_grapevine_api_kstr(j, "homepage_url", res, 0, NGX_GRAPEVINE_F + 3);
    ngx_grapevine_api_kstr(j, "user_agent", res, 0, NGX_GRAPEVINE_F + 4);
    ngx_grapevine_api_kstr(j, "user_agent_url", res, 0, NGX_GRAPEVINE_F + 5);
    ngx_grapevine_api_kbool(j, "online", res, 0, NGX_GRAPEVINE_F + 6);
    ngx_grapevine_api_kstr(j, "last_seen_at", res, 0, NGX_GRAPEVINE_F + 8);

    players = (PQgetvalue(res, 0, NGX_GRAPEVINE_F + 7)[0] == 't');

    row = 1;

    ngx_grapevine_json_key(j, "connections");
    ngx_grapevine_json_array(j);

    for ( /* void */ ; row < nrows && PQgetvalue(res, row, 0)[0] == '1';
         row++)
    {
        ngx_grapevine_api_connection(j, res, row, NGX_GRAPEVINE_F);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_key(j, "players");

    if (players) {
        ngx_grapevine_json_array(j);

    } else {
        ngx_grapevine_json_null(j);
    }

    for ( /* void */ ; row < nrows && PQgetvalue(res, row, 0)[0] == '2';
         row++)
    {
        s = ngx_grapevine_api_value(res, row, NGX_GRAPEVINE_F);
        ngx_grapevine_json_str(j, &s);
    }

    if (players) {
        ngx_grapevine_json_array_end(j);
    }

    ngx_grapevine_json_key(j, "events");
    ngx_grapevine_json_array(j);

    for ( /* void */ ; row < nrows && PQgetvalue(res, row, 0)[0] == '3';
         row++)
    {
        ngx_grapevine_json_map(j);
        ngx_grapevine_api_kstr(j, "title", res, row, NGX_GRAPEVINE_F);
        ngx_grapevine_api_kstr(j, "description", res, row,
                               NGX_GRAPEVINE_F + 1);
        ngx_grapevine_api_kstr(j, "start_date", res, row,
                               NGX_GRAPEVINE_F + 2);
        ngx_grapevine_api_kstr(j, "end_date", res, row, NGX_GRAPEVINE_F + 3);
        ngx_grapevine_json_map_end(j);
    }

    ngx_grapevine_json_array_end(j);

    ngx_grapevine_api_knum(j, "achievements_count", res, 0,
                           NGX_GRAPEVINE_F + 9);

    s = ngx_grapevine_api_value(res, 0, NGX_GRAPEVINE_F);

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);
    ngx_grapevine_api_link_to(ctx, "self", "games/", &s, NULL, NULL, NULL);
    ngx_grapevine_api_link_to(ctx, "characters", "games/", &s,
                              "/characters", NULL, NULL);
    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"game": {"short_name", "name"},
 *  "items": [{"name", "username", "registered_at", "online", "links"}],
 *  "links": [self, game]}
 */

static ngx_int_t
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

static ngx_int_t
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

static ngx_int_t
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


/* {"items": [{"name", "description", "links": [messages]}], "links"} */

static ngx_int_t
ngx_grapevine_api_channels(ngx_grapevine_api_ctx_t *ctx, PGresult *res)
{
    int                    row, nrows;
    ngx_str_t              name;
    ngx_grapevine_json_t  *j;

    j = ctx->j;
    nrows = PQntuples(res);

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

    ngx_grapevine_json_key(j, "links");
    ngx_grapevine_json_array(j);
    ngx_grapevine_api_link_to(ctx, "self", "channels", NULL, NULL, NULL,
                              NULL);
    ngx_grapevine_json_array_end(j);

    ngx_grapevine_json_map_end(j);

    return NGX_OK;
}


/*
 * {"channel": {"name", "description"},
 *  "items": [{"id", "game", "name", "text", "inserted_at"}],
 *  "links": [self, next]}, newest first; "next" pages to older messages
 */

static ngx_int_t
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


/* {"type", then "url" or "host" and "port" as given} */

static void
ngx_grapevine_api_connection(ngx_grapevine_json_t *j, PGresult *res,
    int row, int col)
{
    ngx_grapevine_json_map(j);
    ngx_grapevine_api_kstr(j, "type", res, row, col);

    if (!PQgetisnull(res, row, col + 1)) {
        ngx_grapevine_api_kstr(j, "url", res, row, col + 1);
    }

    if (!PQgetisnull(res, row, col + 2)) {
        ngx_grapevine_api_kstr(j, "host", res, row, col + 2);
    }

    if (!PQgetisnull(res, row, col + 3)) {
        ngx_grapevine_api_knum(j, "port", res, row, col + 3);
    }

    ngx_grapevine_json_map_end(j);
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


/* an integer column: PostgreSQL's text is a JSON number as it is */

static void
ngx_grapevine_api_knum(ngx_grapevine_json_t *j, const char *key,
    PGresult *res, int row, int col)
{
    ngx_grapevine_json_key(j, key);

    if (PQgetisnull(res, row, col)) {
        ngx_grapevine_json_null(j);
        return;
    }

    if (yajl_gen_number(j->gen, PQgetvalue(res, row, col),
                        PQgetlength(res, row, col))
        != yajl_gen_status_ok)
    {
        j->failed = 1;
    }
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


/* a 200 with its ETag; nginx's not_modified filter may make it a 304 */

static ngx_int_t
ngx_grapevine_api_send(ngx_http_request_t *r, ngx_chain_t *out, size_t size,
    const char *cache)
{
    u_char                  *p;
    ngx_int_t                rc;
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

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "ETag");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "\"%016xL\"",
                               ngx_grapevine_hash64_final(&hs)) - p;
    r->headers_out.etag = h;

    if (ngx_grapevine_api_headers(r, cache) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = size;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.charset.len = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/* on every API response: CORS and caching */

static ngx_int_t
ngx_grapevine_api_headers(ngx_http_request_t *r, const char *cache)
{
    if (ngx_grapevine_http_add_header(r, "Access-Control-Allow-Origin", "*")
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

static ngx_int_t
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

