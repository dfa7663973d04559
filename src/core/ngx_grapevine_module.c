
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_template.h"
#include "ngx_grapevine_cache.h"
#include "ngx_grapevine_listen.h"
#include "ngx_grapevine_metrics.h"


#define NGX_GRAPEVINE_POOL_DEFAULT     4
#define NGX_GRAPEVINE_QUEUE_DEFAULT    256
#define NGX_GRAPEVINE_CONNECT_DEFAULT  3000
#define NGX_GRAPEVINE_QUERY_DEFAULT    10000

#ifndef NGX_GRAPEVINE_TEMPLATES
#define NGX_GRAPEVINE_TEMPLATES  "conf/templates"
#endif


static ngx_int_t ngx_grapevine_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_grapevine_postconfiguration(ngx_conf_t *cf);
static void *ngx_grapevine_create_main_conf(ngx_conf_t *cf);
static char *ngx_grapevine_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_grapevine_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_grapevine_templates_load(ngx_conf_t *cf,
    ngx_grapevine_main_conf_t *gmcf);
static void *ngx_grapevine_conf_alloc(void *ctx, size_t size);
static ngx_int_t ngx_grapevine_init_process(ngx_cycle_t *cycle);
static void ngx_grapevine_exit_process(ngx_cycle_t *cycle);
static void ngx_grapevine_schema_check(ngx_grapevine_pg_conn_t *pc);
static void ngx_grapevine_schema_checked(ngx_grapevine_pg_query_t *q,
    PGresult *res);


ngx_grapevine_worker_t  ngx_grapevine_worker;


/* the levels of grapevine_unavailable_log_level, as limit_req_log_level's */

static ngx_conf_enum_t  ngx_grapevine_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_grapevine_commands[] = {

    { ngx_string("grapevine_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_grapevine_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_templates"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_main_conf_t, templates),
      NULL },

    { ngx_string("grapevine_unavailable_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_main_conf_t, unavailable_log_level),
      &ngx_grapevine_log_levels },

    { ngx_string("grapevine_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_grapevine_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_main_conf_t, metrics_zone),
      NULL },

    { ngx_string("grapevine_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_grapevine_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_stream_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_main_conf_t, stream_max),
      NULL },

    { ngx_string("grapevine_stream_heartbeat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_main_conf_t, stream_heartbeat),
      NULL },

    { ngx_string("grapevine_stream_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_main_conf_t, stream_buffer),
      NULL },

    { ngx_string("grapevine_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_grapevine_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_grapevine_module_ctx = {
    ngx_grapevine_preconfiguration,        /* preconfiguration */
    ngx_grapevine_postconfiguration,       /* postconfiguration */

    ngx_grapevine_create_main_conf,        /* create main configuration */
    ngx_grapevine_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_grapevine_module = {
    NGX_MODULE_V1,
    &ngx_grapevine_module_ctx,             /* module context */
    ngx_grapevine_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_grapevine_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_grapevine_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_grapevine_pg_query_t  ngx_grapevine_schema_query;


static ngx_int_t
ngx_grapevine_preconfiguration(ngx_conf_t *cf)
{
    /* static state survives reloads in the master: start afresh */
    ngx_memzero(&ngx_grapevine_worker, sizeof(ngx_grapevine_worker_t));

    return NGX_OK;
}


static ngx_int_t
ngx_grapevine_postconfiguration(ngx_conf_t *cf)
{
    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module);

    if (gmcf->used && gmcf->db == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\" in %s:%ui needs the database: add "
                      "\"grapevine_database\" to the http block",
                      gmcf->used_by, gmcf->used_file, gmcf->used_line);
        return NGX_ERROR;
    }

    /* core's metrics: the pool's and the answer cache's */

    if (gmcf->db && ngx_grapevine_pg_metrics_register(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_grapevine_templates_load(cf, gmcf);
}


static void *
ngx_grapevine_create_main_conf(ngx_conf_t *cf)
{
    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gmcf->db = NULL;
     *     gmcf->name = { 0, NULL };
     *     gmcf->templates = { 0, NULL };
     *     gmcf->template_set = NULL;
     *     gmcf->used = 0;
     */

    if (ngx_array_init(&gmcf->stmts, cf->pool, 16,
                       sizeof(ngx_grapevine_pg_stmt_t *))
        != NGX_OK
        || ngx_array_init(&gmcf->reporters, cf->pool, 4,
                          sizeof(ngx_grapevine_status_reporter_t *))
           != NGX_OK
        || ngx_array_init(&gmcf->tells, cf->pool, 2,
                          sizeof(ngx_grapevine_tell_handler_t *))
           != NGX_OK
        || ngx_array_init(&gmcf->template_needs, cf->pool, 32,
                          sizeof(ngx_grapevine_template_need_t))
           != NGX_OK)
    {
        return NULL;
    }

    gmcf->unavailable_log_level = NGX_CONF_UNSET_UINT;
    gmcf->cache_size = NGX_CONF_UNSET_SIZE;
    gmcf->cache_max_entry = NGX_CONF_UNSET_SIZE;
    gmcf->metrics_zone = NGX_CONF_UNSET;
    gmcf->stream_max = NGX_CONF_UNSET_UINT;
    gmcf->stream_heartbeat = NGX_CONF_UNSET_MSEC;
    gmcf->stream_buffer = NGX_CONF_UNSET_SIZE;

    return gmcf;
}


static char *
ngx_grapevine_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_grapevine_main_conf_t *gmcf = conf;

    if (gmcf->name.data == NULL) {
        ngx_str_set(&gmcf->name, NGX_GRAPEVINE_NAME_DEFAULT);
    }

    ngx_conf_init_uint_value(gmcf->unavailable_log_level, NGX_LOG_INFO);
    ngx_conf_init_size_value(gmcf->cache_size, NGX_GRAPEVINE_CACHE_SIZE);

    /* an answer takes at most a quarter of a small zone */
    ngx_conf_init_size_value(gmcf->cache_max_entry,
                             ngx_min(NGX_GRAPEVINE_CACHE_MAX_ENTRY,
                                     gmcf->cache_size / 4));

    if (gmcf->metrics_zone == NGX_CONF_UNSET) {
        gmcf->metrics_zone = (gmcf->db != NULL);
    }

    /* ngx_grapevine_stream.h */
    ngx_conf_init_uint_value(gmcf->stream_max, 1024);
    ngx_conf_init_msec_value(gmcf->stream_heartbeat, 15000);
    ngx_conf_init_size_value(gmcf->stream_buffer, 64 * 1024);

    if (gmcf->stream_heartbeat == 0 || gmcf->stream_buffer < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_stream_heartbeat\" must be more "
                           "than 0 and \"grapevine_stream_buffer\" at "
                           "least 1k");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * grapevine_database "<conninfo>" [pool=N] [queue=N] [connect_timeout=T]
 *                    [timeout=T];
 */

static char *
ngx_grapevine_database(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_main_conf_t *gmcf = conf;

    ngx_int_t                 n;
    ngx_str_t                *value, s;
    ngx_uint_t                i;
    ngx_msec_t                ms;
    ngx_grapevine_db_conf_t  *db;

    if (gmcf->db) {
        return "is duplicate";
    }

    db = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_db_conf_t));
    if (db == NULL) {
        return NGX_CONF_ERROR;
    }

    db->pool_size = NGX_GRAPEVINE_POOL_DEFAULT;
    db->queue_size = NGX_GRAPEVINE_QUEUE_DEFAULT;
    db->connect_timeout = NGX_GRAPEVINE_CONNECT_DEFAULT;
    db->query_timeout = NGX_GRAPEVINE_QUERY_DEFAULT;

    value = cf->args->elts;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "pool=", 5) == 0) {
            n = ngx_atoi(value[i].data + 5, value[i].len - 5);
            if (n < 1 || n > 1024) {
                goto invalid;
            }

            db->pool_size = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "queue=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n < 0 || n > 1000000) {
                goto invalid;
            }

            db->queue_size = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0) {
            s.data = value[i].data + 16;
            s.len = value[i].len - 16;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                goto invalid;
            }

            db->connect_timeout = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                goto invalid;
            }

            db->query_timeout = ms;
            continue;
        }

        goto invalid;
    }

    db->conninfo = value[1];

    if (ngx_grapevine_conninfo_parse(cf, db, &value[1]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    gmcf->db = db;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"grapevine_database\": invalid parameter \"%V\" "
                       "(expected pool=N, queue=N, connect_timeout=TIME or "
                       "timeout=TIME)", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * A rate and a burst, as limit_req's: "RATE [burst=N]", the rate "Nr/s" or
 * "Nr/m", kept in thousandths of a message a second; for the directive of
 * cf->args.
 */

char *
ngx_grapevine_conf_rate(ngx_conf_t *cf, ngx_uint_t *rate, ngx_uint_t *burst,
    ngx_uint_t max_burst)
{
    u_char      *p;
    size_t       len;
    ngx_int_t    n, scale;
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n == NGX_ERROR || (ngx_uint_t) n > max_burst) {
                goto invalid;
            }

            *burst = n;
            continue;
        }

        len = value[i].len;
        p = value[i].data + len - 3;
        scale = 1;

        if (len > 3 && ngx_strncmp(p, "r/s", 3) == 0) {
            len -= 3;

        } else if (len > 3 && ngx_strncmp(p, "r/m", 3) == 0) {
            scale = 60;
            len -= 3;

        } else {
            goto invalid;
        }

        n = ngx_atoi(value[i].data, len);
        if (n <= 0 || n > 1000000) {
            goto invalid;
        }

        *rate = n * 1000 / scale;

        if (*rate == 0) {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": invalid parameter "
                       "\"%V\" (a rate is \"Nr/s\" or \"Nr/m\", then "
                       "\"burst=N\", N at most %ui)", &value[0], &value[i],
                       max_burst);

    return NGX_CONF_ERROR;
}


void
ngx_grapevine_mark_used(ngx_conf_t *cf, const char *directive)
{
    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module);

    if (!gmcf->used) {
        gmcf->used = 1;
        gmcf->used_by = directive;
        gmcf->used_file = cf->conf_file->file.name.data;
        gmcf->used_line = cf->conf_file->line;
    }
}


/*
 * A statement that the workers' pools prepare on every connection; a
 * directive that uses one registers it.  Registering one twice is fine.
 */

ngx_int_t
ngx_grapevine_prepare(ngx_conf_t *cf, ngx_grapevine_pg_stmt_t *stmt)
{
    ngx_uint_t                  i;
    ngx_grapevine_pg_stmt_t   **s;
    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module);

    s = gmcf->stmts.elts;

    for (i = 0; i < gmcf->stmts.nelts; i++) {
        if (s[i] == stmt) {
            return NGX_OK;
        }

        if (ngx_strcmp(s[i]->name, stmt->name) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "grapevine: two statements named \"%s\"",
                               stmt->name);
            return NGX_ERROR;
        }
    }

    if (gmcf->stmts.nelts == NGX_GRAPEVINE_PG_STMTS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "grapevine: more than %d prepared statements",
                           NGX_GRAPEVINE_PG_STMTS_MAX);
        return NGX_ERROR;
    }

    s = ngx_array_push(&gmcf->stmts);
    if (s == NULL) {
        return NGX_ERROR;
    }

    *s = stmt;

    return NGX_OK;
}


/* a member of /_status written by another module */

ngx_int_t
ngx_grapevine_add_status(ngx_conf_t *cf,
    ngx_grapevine_status_reporter_t *reporter)
{
    ngx_grapevine_main_conf_t         *gmcf;
    ngx_grapevine_status_reporter_t  **r;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module);

    r = ngx_array_push(&gmcf->reporters);
    if (r == NULL) {
        return NGX_ERROR;
    }

    *r = reporter;

    return NGX_OK;
}


ngx_int_t
ngx_grapevine_add_tell_handler(ngx_conf_t *cf,
    ngx_grapevine_tell_handler_t *handler)
{
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_tell_handler_t  **h;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module);

    h = ngx_array_push(&gmcf->tells);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = handler;

    return NGX_OK;
}


/* the deployment's name on the network (grapevine_hub_name) */

ngx_int_t
ngx_grapevine_set_name(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module);

    if (gmcf->name.data) {
        return NGX_DECLINED;
    }

    gmcf->name = *name;

    return NGX_OK;
}


/*
 * Templates a directive needs (names: NULL-terminated), checked once the
 * http block is read: a missing one fails "nginx -t", naming the
 * directive and where it is.
 */

ngx_int_t
ngx_grapevine_need_templates(ngx_conf_t *cf, const char *who,
    const char **names)
{
    ngx_grapevine_main_conf_t      *gmcf;
    ngx_grapevine_template_need_t  *need;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_grapevine_module);

    for ( /* void */ ; *names; names++) {
        need = ngx_array_push(&gmcf->template_needs);
        if (need == NULL) {
            return NGX_ERROR;
        }

        need->name = *names;
        need->who = who;
        need->file = cf->conf_file->file.name.data;
        need->line = cf->conf_file->line;
    }

    return NGX_OK;
}


/*
 * Loads the templates of grapevine_templates (or the shipped ones) when a
 * module needs them or the directive is set, and checks that every one
 * needed is there.  Edits are picked up by a reload.
 */

static ngx_int_t
ngx_grapevine_templates_load(ngx_conf_t *cf, ngx_grapevine_main_conf_t *gmcf)
{
    u_char                         *dir;
    ngx_uint_t                      i;
    ngx_grapevine_arena_t           arena;
    ngx_grapevine_template_set_t   *set;
    ngx_grapevine_template_err_t    err;
    ngx_grapevine_template_need_t  *need;

    if (gmcf->templates.data == NULL) {
        if (gmcf->template_needs.nelts == 0) {
            return NGX_OK;
        }

        ngx_str_set(&gmcf->templates, NGX_GRAPEVINE_TEMPLATES);
    }

    if (ngx_conf_full_name(cf->cycle, &gmcf->templates, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    dir = ngx_pnalloc(cf->pool, gmcf->templates.len + 1);
    if (dir == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dir, gmcf->templates.data, gmcf->templates.len);
    dir[gmcf->templates.len] = '\0';

    arena.alloc = ngx_grapevine_conf_alloc;
    arena.ctx = cf->pool;

    set = ngx_grapevine_template_set_create(&arena);
    if (set == NULL) {
        return NGX_ERROR;
    }

    if (ngx_grapevine_template_set_load_dir(&arena, set, (char *) dir, &err)
        != NGX_GRAPEVINE_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "grapevine_templates: %s", err.msg);
        return NGX_ERROR;
    }

    need = gmcf->template_needs.elts;

    for (i = 0; i < gmcf->template_needs.nelts; i++) {
        if (ngx_grapevine_template_set_find(set, (u_char *) need[i].name,
                                            ngx_strlen(need[i].name))
            == NULL)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "grapevine_templates: %s/%s%s is missing "
                          "(%s in %s:%ui needs it)",
                          dir, need[i].name, NGX_GRAPEVINE_TEMPLATE_EXT,
                          need[i].who, need[i].file, need[i].line);
            return NGX_ERROR;
        }
    }

    gmcf->template_set = set;

    return NGX_OK;
}


static void *
ngx_grapevine_conf_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


static ngx_int_t
ngx_grapevine_init_process(ngx_cycle_t *cycle)
{
    ngx_grapevine_main_conf_t  *gmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ngx_memzero(&ngx_grapevine_worker, sizeof(ngx_grapevine_worker_t));

    /* the metrics first: the others count from their start */

    if (ngx_grapevine_metrics_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    gmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_grapevine_module);
    if (gmcf == NULL || gmcf->db == NULL) {
        return NGX_OK;
    }

    ngx_grapevine_worker.pool = ngx_grapevine_pg_pool_create(cycle, gmcf->db,
                                                      gmcf->db->pool_size,
                                                      &gmcf->stmts);
    if (ngx_grapevine_worker.pool == NULL) {
        return NGX_ERROR;
    }

    ngx_grapevine_worker.pool->on_connect = ngx_grapevine_schema_check;
    ngx_grapevine_worker.pool->metrics = 1;
    ngx_grapevine_pg_pool_start(ngx_grapevine_worker.pool);

    /* the cache first: the listening connection tells it when it listens */

    if (ngx_grapevine_cache_init(cycle) != NGX_OK
        || ngx_grapevine_listen_init(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* this worker's gauges from its start, not a second later */

    ngx_grapevine_metrics_collect(cycle);

    return NGX_OK;
}


static void
ngx_grapevine_exit_process(ngx_cycle_t *cycle)
{
    ngx_grapevine_metrics_exit(cycle);
    ngx_grapevine_listen_exit(cycle);
    ngx_grapevine_cache_exit(cycle);

    if (ngx_grapevine_worker.pool) {
        ngx_grapevine_pg_pool_destroy(ngx_grapevine_worker.pool);
        ngx_grapevine_worker.pool = NULL;
    }
}


/*
 * Once per worker, on the first connection that comes up: compare the
 * database's schema (its version, and the checksum of its SQL source) with
 * the one this build expects, and say so once.
 */

static void
ngx_grapevine_schema_check(ngx_grapevine_pg_conn_t *pc)
{
    ngx_grapevine_pg_query_t  *q;

    if (ngx_grapevine_worker.schema_checked
        || ngx_grapevine_worker.schema_checking)
    {
        return;
    }

    q = &ngx_grapevine_schema_query;
    ngx_memzero(q, sizeof(ngx_grapevine_pg_query_t));
    ngx_memzero(&ngx_grapevine_worker.schema, sizeof(ngx_grapevine_schema_t));

    q->sql = NGX_GRAPEVINE_SCHEMA_SQL;
    q->handler = ngx_grapevine_schema_checked;
    q->pool = pc->pool;

    ngx_str_null(&q->error);

    if (ngx_grapevine_pg_send(pc, q) == NGX_OK) {
        ngx_grapevine_worker.schema_checking = 1;
    }
}


static void
ngx_grapevine_schema_checked(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    ngx_int_t                rc;
    ngx_grapevine_schema_t  *schema;

    schema = &ngx_grapevine_worker.schema;

    ngx_grapevine_worker.schema_checking = 0;

    rc = ngx_grapevine_schema_read(res, schema);

    if (rc == NGX_DECLINED && !schema->old) {

        /* a database migrated before schema_sql: its version alone */

        schema->old = 1;
        q->sql = NGX_GRAPEVINE_SCHEMA_OLD_SQL;

        rc = ngx_grapevine_pg_query(q->pool, q);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            ngx_grapevine_worker.schema_checking = 1;
        }

        return;
    }

    if (rc == NGX_DECLINED) {
        schema->version = 0;    /* schema_migrations is missing too */

    } else if (rc == NGX_ERROR) {
        if (q->unavailable) {
            return;     /* checked again on the next connection */
        }

        ngx_log_error(NGX_LOG_ERR, q->pool->log, 0,
                      "grapevine: could not read the schema version: %V",
                      &q->error);
        ngx_grapevine_worker.schema_checked = 1;
        return;
    }

    ngx_grapevine_worker.schema_checked = 1;

    if ((ngx_uint_t) schema->version < NGX_GRAPEVINE_SCHEMA_VERSION) {
        ngx_log_error(NGX_LOG_ERR, q->pool->log, 0,
                      "grapevine: the database schema is at version %i, "
                      "this module needs version %d: apply the migrations "
                      "(\"make migrate\")",
                      schema->version, NGX_GRAPEVINE_SCHEMA_VERSION);
        return;
    }

    if ((ngx_uint_t) schema->version > NGX_GRAPEVINE_SCHEMA_VERSION) {

        if (!ngx_grapevine_schema_serves(schema)) {
            ngx_log_error(NGX_LOG_ERR, q->pool->log, 0,
                          "grapevine: the database schema is at version "
                          "%i, which a module of schema %i or newer serves; "
                          "this module is of schema %d: install the newer "
                          "module and restart nginx",
                          schema->version, schema->compatible,
                          NGX_GRAPEVINE_SCHEMA_VERSION);
            return;
        }

        /* expanded by a newer release's migrations: served as it is */

        ngx_log_error(NGX_LOG_NOTICE, q->pool->log, 0,
                      "grapevine: the database schema is at version %i, "
                      "newer than this module's %d, and still serves it "
                      "(modules of schema %i and newer); its SQL functions "
                      "are the newer release's (checksum \"%s\")",
                      schema->version, NGX_GRAPEVINE_SCHEMA_VERSION,
                      schema->compatible,
                      schema->checksum[0] ? schema->checksum
                                          : (u_char *) "none");
        return;
    }

    if (ngx_strcmp(schema->checksum, NGX_GRAPEVINE_SQL_CHECKSUM) != 0) {
        ngx_log_error(NGX_LOG_ERR, q->pool->log, 0,
                      "grapevine: the database's SQL functions (sql/, "
                      "checksum \"%s\") are not this module's (\"%s\"): "
                      "apply the migrations (\"make migrate\")",
                      schema->old ? (u_char *) "none" : schema->checksum,
                      NGX_GRAPEVINE_SQL_CHECKSUM);
    }
}


/*
 * What NGX_GRAPEVINE_SCHEMA_SQL (or _OLD_SQL) found.  NGX_DECLINED: a table
 * it reads is missing (schema_sql: ask _OLD_SQL; schema_migrations: the
 * database was never migrated); NGX_ERROR: the query failed.
 */

ngx_int_t
ngx_grapevine_schema_read(PGresult *res, ngx_grapevine_schema_t *schema)
{
    char    *v;
    size_t   len;

    schema->version = NGX_ERROR;
    schema->compatible = NGX_ERROR;
    schema->checksum[0] = '\0';

    if (res == NULL) {
        return NGX_ERROR;
    }

    if (ngx_grapevine_pg_sqlstate(res, "42P01")) {
        return NGX_DECLINED;    /* undefined_table */
    }

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1
        || PQnfields(res) != 3)
    {
        return NGX_ERROR;
    }

    v = PQgetvalue(res, 0, 0);
    schema->version = ngx_atoi((u_char *) v, ngx_strlen(v));

    v = PQgetvalue(res, 0, 2);
    schema->compatible = ngx_atoi((u_char *) v, ngx_strlen(v));

    if (!PQgetisnull(res, 0, 1)) {
        v = PQgetvalue(res, 0, 1);
        len = ngx_min(ngx_strlen(v), sizeof(schema->checksum) - 1);

        ngx_memcpy(schema->checksum, v, len);
        schema->checksum[len] = '\0';
    }

    return NGX_OK;
}


/* the schema is the one this build was made for: version and SQL */

ngx_uint_t
ngx_grapevine_schema_current(ngx_grapevine_schema_t *schema)
{
    return schema->version == NGX_GRAPEVINE_SCHEMA_VERSION
           && ngx_strcmp(schema->checksum, NGX_GRAPEVINE_SQL_CHECKSUM) == 0;
}


/*
 * This module serves the schema: it is the one the module was built for,
 * or a newer one that newer releases' migrations have only expanded (the
 * oldest module schema it serves is this one's or older); the SQL
 * functions are then the newer release's, and their checksum is reported,
 * not compared.
 */

ngx_uint_t
ngx_grapevine_schema_serves(ngx_grapevine_schema_t *schema)
{
    if (schema->version == NGX_ERROR
        || (ngx_uint_t) schema->version <= NGX_GRAPEVINE_SCHEMA_VERSION)
    {
        return ngx_grapevine_schema_current(schema);
    }

    return schema->compatible != NGX_ERROR
           && (ngx_uint_t) schema->compatible <= NGX_GRAPEVINE_SCHEMA_VERSION;
}
