
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_API_H_INCLUDED_
#define _NGX_GRAPEVINE_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_json.h"
#include "ngx_grapevine_params.h"
#include "ngx_grapevine_cache.h"
#include "ngx_grapevine_listen.h"


/*
 * The JSON API (ngx_http_grapevine_api_module), in three files:
 *
 *   ngx_grapevine_api.c          the module, its routes and the request:
 *                                parameters, the cache, the HTTP answer
 *   ngx_grapevine_api_queries.c  each route's SQL, the statements the
 *                                pool prepares, the tables they read
 *   ngx_grapevine_api_rows.c     a result's rows written as JSON, with
 *                                their links
 */


/* path segments after the location's prefix: the longest route has 3 */
#define NGX_GRAPEVINE_API_MAX_SEGMENTS  4

#define NGX_GRAPEVINE_API_PAGE_SIZE     25


/* the statements, in the order of ngx_grapevine_api_stmts[] */

typedef enum {
    NGX_GRAPEVINE_API_STMT_GAMES = 0,
    NGX_GRAPEVINE_API_STMT_ONLINE,
    NGX_GRAPEVINE_API_STMT_GAME,
    NGX_GRAPEVINE_API_STMT_GAME_CHARACTERS,
    NGX_GRAPEVINE_API_STMT_CHARACTER,
    NGX_GRAPEVINE_API_STMT_USER,
    NGX_GRAPEVINE_API_STMT_CHANNELS,
    NGX_GRAPEVINE_API_STMT_MESSAGES,
    NGX_GRAPEVINE_API_STMT_GAMES_BY_ONLINE,  /* games?online=yes|no */
    NGX_GRAPEVINE_API_STMT_GAMES_BY_NAME,    /* games?name=... */
    NGX_GRAPEVINE_API_STMT_STATISTICS,
    NGX_GRAPEVINE_API_STMT_NETWORK_STATISTICS,
    NGX_GRAPEVINE_API_STMT_EVENTS,           /* a stream's catching up */
    NGX_GRAPEVINE_API_STMT_NEWS,             /* the messages announced */
    NGX_GRAPEVINE_API_STMT_PRESENCE,         /* the games announced */
    NGX_GRAPEVINE_API_STMTS
} ngx_grapevine_api_stmt_e;


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
} ngx_grapevine_api_route_t;             /* write NULL: a stream */


struct ngx_grapevine_api_ctx_s {
    ngx_grapevine_pg_query_t      q;         /* first: the handler casts */
    ngx_http_request_t           *r;
    ngx_grapevine_api_route_t    *route;
    ngx_grapevine_pg_stmt_t      *stmt;      /* the args' choice, or NULL:
                                                the route's */
    ngx_grapevine_json_t         *j;

    ngx_str_t                     prefix;    /* the location's, ending "/" */
    ngx_str_t                     prefix_json; /* as a JSON string's content:
                                                  kept JSON's links */
    ngx_str_t                     path[2];   /* path parameters */
    const char                   *values[3];

    ngx_str_t                     online;    /* query parameters */
    ngx_str_t                     name;
    ngx_str_t                     period;    /* statistics: 48h by default */
    ngx_uint_t                    page;
    ngx_uint_t                    limit;
    uint64_t                      before;
    uint64_t                      after;     /* a stream's last event */
    unsigned                      has_after:1;
    unsigned                      has_limit:1;

    u_char                       *href;      /* links are built here */
    size_t                        href_len;
    size_t                        href_size;

    ngx_grapevine_listen_wait_t   wait;      /* for the cache */
    ngx_grapevine_cache_wait_t    lock;
    ngx_str_t                     key;
    ngx_grapevine_cache_tables_t  tables;    /* what the query reads */
    uint64_t                      gen;
    unsigned                      cache:1;
    unsigned                      cacheable:1;
};


/* ngx_grapevine_api_queries.c */

extern ngx_grapevine_pg_stmt_t  ngx_grapevine_api_stmts[];
extern const char              *ngx_grapevine_api_tables[];
extern const char              *ngx_grapevine_api_function_tables[];


/* ngx_grapevine_api.c */

#define NGX_GRAPEVINE_API_ID_MAX         0x7fffffffffffffffULL

ngx_int_t ngx_grapevine_api_failed(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_headers(ngx_http_request_t *r,
    const char *cache);
ngx_int_t ngx_grapevine_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *message);


/* ngx_grapevine_api_stream.c: channels/{channel}/events */

ngx_int_t ngx_grapevine_api_stream_conf(ngx_conf_t *cf);
ngx_int_t ngx_grapevine_api_stream_args(ngx_grapevine_api_ctx_t *ctx);
ngx_int_t ngx_grapevine_api_stream(ngx_grapevine_api_ctx_t *ctx);


/* ngx_grapevine_api_rows.c: a route's rows as JSON, NGX_DECLINED a 404 */

ngx_int_t ngx_grapevine_api_games(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_online(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_game(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_game_characters(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_character(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_user(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_channels(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_messages(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_game_statistics(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);
ngx_int_t ngx_grapevine_api_network_statistics(ngx_grapevine_api_ctx_t *ctx,
    PGresult *res);


extern ngx_module_t  ngx_http_grapevine_api_module;


/* the OpenAPI document, with the location's prefix between the parts */
extern const char  ngx_grapevine_openapi_head[];
extern const char  ngx_grapevine_openapi_tail[];


#endif /* _NGX_GRAPEVINE_API_H_INCLUDED_ */
