
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_H_INCLUDED_
#define _NGX_GRAPEVINE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>


#define NGX_GRAPEVINE_VERSION         "0.1.0"

/*
 * The schema this build was written for: the number of the newest file in
 * migrations/.  "make lint" checks that the two agree.
 */
#define NGX_GRAPEVINE_SCHEMA_VERSION  6

#define NGX_GRAPEVINE_SCHEMA_SQL                                              \
    "SELECT coalesce(max(version), 0) FROM schema_migrations"


typedef struct ngx_grapevine_pg_pool_s    ngx_grapevine_pg_pool_t;
typedef struct ngx_grapevine_pg_stmt_s    ngx_grapevine_pg_stmt_t;
typedef struct ngx_grapevine_hub_conf_s   ngx_grapevine_hub_conf_t;
typedef struct ngx_grapevine_backbone_s   ngx_grapevine_backbone_t;
typedef struct ngx_grapevine_site_conf_s  ngx_grapevine_site_conf_t;


typedef struct {
    ngx_str_t                  conninfo;     /* as written, for messages */
    const char               **keywords;     /* NULL-terminated */
    const char               **values;
    ngx_str_t                  target;       /* "host:port" or socket dir */

    ngx_uint_t                 pool_size;
    ngx_uint_t                 queue_size;
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 query_timeout;

    ngx_uint_t                 line;         /* where it was configured */
    u_char                    *file;
} ngx_grapevine_db_conf_t;


typedef struct {
    ngx_grapevine_db_conf_t   *db;           /* NULL: no database */
    ngx_grapevine_hub_conf_t  *hub;          /* NULL: no hub */
    ngx_grapevine_site_conf_t *site;         /* NULL: no grapevine_site */
    ngx_array_t                stmts;        /* ngx_grapevine_pg_stmt_t * */
    ngx_uint_t                 api;          /* grapevine_api is used */
    ngx_flag_t                 api_cache;    /* grapevine_api_cache */

    ngx_uint_t                 used;         /* a location needs the db */
    const char                *used_by;
    u_char                    *used_file;
    ngx_uint_t                 used_line;
} ngx_grapevine_main_conf_t;


/*
 * Writes one part's figures into /_status as a JSON value (its writer is a
 * ngx_grapevine_json_t, see ngx_grapevine_json.h): a part that core does
 * not know (the API's answer cache) reports through it.
 */
typedef void (*ngx_grapevine_status_pt)(void *json);


typedef struct {
    ngx_grapevine_pg_pool_t   *pool;         /* this worker's pool */
    ngx_grapevine_backbone_t  *backbone;     /* hub owner candidate */
    ngx_grapevine_status_pt    cache_status; /* the API's answer cache */
    ngx_uint_t                 schema_found;
    unsigned                   schema_checked:1;
    unsigned                   schema_checking:1;
} ngx_grapevine_worker_t;


/*
 * A background timer of the module: cancelable, so that it never holds an
 * exiting worker (reloads, graceful shutdown).
 */
#define ngx_grapevine_timer_init(ev, h, d, l)                                 \
    (ev)->handler = (h);                                                      \
    (ev)->data = (d);                                                         \
    (ev)->log = (l);                                                          \
    (ev)->cancelable = 1


extern ngx_module_t            ngx_http_grapevine_module;
extern ngx_grapevine_worker_t  ngx_grapevine_worker;


char *ngx_grapevine_conninfo_parse(ngx_conf_t *cf,
    ngx_grapevine_db_conf_t *db, ngx_str_t *conninfo);
void ngx_grapevine_mark_used(ngx_conf_t *cf, const char *directive);
ngx_int_t ngx_grapevine_prepare(ngx_conf_t *cf,
    ngx_grapevine_pg_stmt_t *stmt);

ngx_int_t ngx_grapevine_schema_version(PGresult *res);

char *ngx_grapevine_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


#endif /* _NGX_GRAPEVINE_H_INCLUDED_ */
