
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_H_INCLUDED_
#define _NGX_GRAPEVINE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>


/*
 * Core of ngx_grapevine (ngx_http_grapevine_module, the first of the
 * modules of the .so): the database pool, the listening connection and
 * the answer cache, /_status, the templates, the value tree and JSON, the
 * request helpers and the request framework of the pages.  The other
 * modules (the Backbone, the API, the site, Raisin) register with core
 * while the configuration is read: their prepared statements, their
 * /_status members, the templates they need, their tell handlers, their
 * LISTEN channels (ngx_grapevine_listen.h) and the tables of the answer
 * cache (ngx_grapevine_cache.h).  Core includes no header of theirs.
 */


/*
 * The release: the one place the version is written ("make deb" derives
 * the package's version from it; config may override it for a package
 * build, see GRAPEVINE_VERSION there).
 */
#ifndef NGX_GRAPEVINE_VERSION
#define NGX_GRAPEVINE_VERSION         "0.1.0"
#endif

/*
 * The schema this build was written for: the number of the newest file in
 * migrations/.  "make lint" checks that the two agree.
 */
#define NGX_GRAPEVINE_SCHEMA_VERSION  15

/*
 * The schema's version (the newest migration applied) and the checksum of
 * the SQL source applied with it (util/migrate records it in schema_sql;
 * the build knows its own, NGX_GRAPEVINE_SQL_CHECKSUM, from util/
 * sql-checksum).  A database migrated before schema_sql existed has only
 * the version: the second query.
 */

#define NGX_GRAPEVINE_SCHEMA_SQL                                              \
    "SELECT v.version, s.checksum, v.compatible "                             \
    "FROM (" NGX_GRAPEVINE_SCHEMA_VERSIONS ") v "                             \
    "LEFT JOIN schema_sql s ON true"

#define NGX_GRAPEVINE_SCHEMA_OLD_SQL                                          \
    "SELECT v.version, NULL, v.compatible "                                   \
    "FROM (" NGX_GRAPEVINE_SCHEMA_VERSIONS ") v"

/*
 * The version, and the oldest module schema that still serves the database
 * (the expand-then-contract rule: each migration records the value in
 * schema_migrations.compatible, see "Migrations" in README.md; a row from
 * before the rule, or a database migrated before the column existed, has
 * its own version).  to_jsonb() reads the column whether it exists or not.
 */
#define NGX_GRAPEVINE_SCHEMA_VERSIONS                                         \
    "SELECT coalesce(max(m.version), 0) AS version, "                         \
    "coalesce(max(coalesce((to_jsonb(m) ->> 'compatible')::integer, "         \
    "m.version)), 0) AS compatible FROM schema_migrations m"

#ifndef NGX_GRAPEVINE_SQL_CHECKSUM
#define NGX_GRAPEVINE_SQL_CHECKSUM    "unknown"
#endif

/* the deployment's name on the network, unless grapevine_hub_name says */
#define NGX_GRAPEVINE_NAME_DEFAULT    "Grapevine"


typedef struct ngx_grapevine_pg_pool_s    ngx_grapevine_pg_pool_t;
typedef struct ngx_grapevine_pg_stmt_s    ngx_grapevine_pg_stmt_t;


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


/*
 * A member of /_status that a module writes.  When sql is set it runs on
 * the worker's pool (once the schema is at least "schema") and write gets
 * its result, or NULL when it could not run; otherwise write gets NULL.
 * The writer is a ngx_grapevine_json_t (ngx_grapevine_json.h).
 */

typedef void (*ngx_grapevine_status_write_pt)(void *json, PGresult *res,
    void *data);

typedef struct {
    const char                      *name;
    const char                      *sql;
    ngx_uint_t                       schema;
    ngx_grapevine_status_write_pt    write;
    void                            *data;
} ngx_grapevine_status_reporter_t;


/*
 * A tell to a player of this deployment (tells/receive from the hub),
 * handled where the hub link is: "sql" runs on the hub link's own
 * database connection, in order with what the hub sent before the tell,
 * with $1 the sender's game, $2 the sender's name, $3 the message and $4
 * the deployment's name on the network.  Its rows (say, the replies it
 * queued) are logged at the debug level.
 */

typedef struct {
    ngx_str_t                        to;     /* the player told, any case */
    const char                      *sql;
    const char                      *who;    /* for messages */
} ngx_grapevine_tell_handler_t;


/* a template a module needs, and where the need was configured */

typedef struct {
    const char                      *name;
    const char                      *who;    /* the directive */
    u_char                          *file;
    ngx_uint_t                       line;
} ngx_grapevine_template_need_t;


typedef struct {
    ngx_grapevine_db_conf_t         *db;     /* NULL: no database */
    ngx_array_t                      stmts;  /* ngx_grapevine_pg_stmt_t * */
    ngx_array_t                      reporters;
    ngx_array_t                      tells;  /* ngx_grapevine_tell_handler_t */

    ngx_str_t                        name;   /* on the network */

    ngx_str_t                        templates;    /* directory */
    ngx_array_t                      template_needs;
    struct ngx_grapevine_template_set_s  *template_set;

    ngx_uint_t                       unavailable_log_level;  /* of a 503 */

    ngx_uint_t                       stream_max;     /* a worker's */
    ngx_msec_t                       stream_heartbeat;
    size_t                           stream_buffer;  /* a stream's */

    ngx_uint_t                       used;   /* a location needs the db */
    const char                      *used_by;
    u_char                          *used_file;
    ngx_uint_t                       used_line;

    /*
     * The worker's listening connection and the answer cache: what the
     * modules registered (ngx_grapevine_listen.h, ngx_grapevine_cache.h,
     * which declare the registration points); NULL until the first.
     */
    ngx_array_t                     *listens;       /* listen_t * */
    ngx_array_t                     *cache_tables;  /* cache_table_t */

    /* grapevine_cache_zone, and the zone once a table is registered */
    size_t                           cache_size;
    size_t                           cache_max_entry;
    ngx_shm_zone_t                  *cache_zone;
    /*
     * The metrics zone (ngx_grapevine_metrics.h): on unless
     * grapevine_metrics_zone is off; the metrics registered, their slots
     * and the layout's signature; the zone's memory once it is made.
     */
    ngx_flag_t                       metrics_zone;
    ngx_array_t                     *metrics;       /* metrics_entry_t */
    ngx_uint_t                       metrics_nslots;
    uint32_t                         metrics_signature;
    ngx_shm_zone_t                  *metrics_shm;
    void                            *metrics_sh;
} ngx_grapevine_main_conf_t;


/* what a database's schema is, as NGX_GRAPEVINE_SCHEMA_SQL reads it */

typedef struct {
    ngx_int_t                        version;   /* NGX_ERROR: unknown */
    ngx_int_t                        compatible;    /* oldest module */
    u_char                           checksum[65];  /* "" when none */
    unsigned                         old:1;     /* no schema_sql yet */
} ngx_grapevine_schema_t;


typedef struct {
    ngx_grapevine_pg_pool_t         *pool;   /* this worker's pool */
    ngx_grapevine_schema_t           schema;
    unsigned                         schema_checked:1;
    unsigned                         schema_checking:1;
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


#define ngx_grapevine_conf(cf)                                                \
    ((ngx_grapevine_main_conf_t *)                                            \
     ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module))

#define ngx_grapevine_cycle_conf(cycle)                                       \
    ((ngx_grapevine_main_conf_t *)                                            \
     ngx_http_cycle_get_module_main_conf(cycle, ngx_http_grapevine_module))


/* registration, while the configuration is read */

void ngx_grapevine_mark_used(ngx_conf_t *cf, const char *directive);
ngx_int_t ngx_grapevine_prepare(ngx_conf_t *cf,
    ngx_grapevine_pg_stmt_t *stmt);
ngx_int_t ngx_grapevine_add_status(ngx_conf_t *cf,
    ngx_grapevine_status_reporter_t *reporter);
ngx_int_t ngx_grapevine_add_tell_handler(ngx_conf_t *cf,
    ngx_grapevine_tell_handler_t *handler);
ngx_int_t ngx_grapevine_need_templates(ngx_conf_t *cf, const char *who,
    const char **names);
ngx_int_t ngx_grapevine_set_name(ngx_conf_t *cf, ngx_str_t *name);
char *ngx_grapevine_conf_rate(ngx_conf_t *cf, ngx_uint_t *rate,
    ngx_uint_t *burst, ngx_uint_t max_burst);

char *ngx_grapevine_conninfo_parse(ngx_conf_t *cf,
    ngx_grapevine_db_conf_t *db, ngx_str_t *conninfo);
ngx_int_t ngx_grapevine_schema_read(PGresult *res,
    ngx_grapevine_schema_t *schema);
ngx_uint_t ngx_grapevine_schema_current(ngx_grapevine_schema_t *schema);
ngx_uint_t ngx_grapevine_schema_serves(ngx_grapevine_schema_t *schema);

char *ngx_grapevine_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


#endif /* _NGX_GRAPEVINE_H_INCLUDED_ */
