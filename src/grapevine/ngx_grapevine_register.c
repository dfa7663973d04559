
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_site.h"
#include "ngx_grapevine_backbone.h"


/*
 * Character registration (reference §4.2).  A player sends the tell
 * "register <key>" to system@<grapevine_hub_name>; the hub owner's tell
 * hook hands it to site_tell() (migrations/0004_site.sql), which creates
 * the pending character, replaces the key and queues the system player's
 * replies in hub_outbox, all in one transaction.  The query runs on the
 * Backbone's own connection, behind the events received before the tell
 * (a game that just connected is known by then).  On the web the owner
 * approves, denies or removes the character.
 */


#define NGX_GRAPEVINE_REGISTER_SQL                                            \
    "SELECT site_tell($1, $2, $3, $4)"


typedef struct {
    ngx_grapevine_pg_query_t    q;
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    const char                 *values[4];
} ngx_grapevine_register_tell_t;


static void ngx_grapevine_register_tell(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_tell_t *tell);
static const char *ngx_grapevine_register_copy(ngx_pool_t *pool, u_char *p,
    size_t len);
static void ngx_grapevine_register_told(ngx_grapevine_pg_query_t *q,
    PGresult *res);


static ngx_grapevine_site_conf_t  *ngx_grapevine_register_conf;


ngx_int_t
ngx_grapevine_register_init_process(ngx_cycle_t *cycle,
    ngx_grapevine_site_conf_t *conf)
{
    ngx_grapevine_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_grapevine_module);

    if (gmcf->hub == NULL) {
        return NGX_OK;
    }

    ngx_grapevine_register_conf = conf;

    return ngx_grapevine_backbone_add_tell_hook(ngx_grapevine_register_tell);
}


/* in the process that owns the hub link, for every tells/receive */

static void
ngx_grapevine_register_tell(ngx_grapevine_backbone_t *bb,
    ngx_grapevine_proto_tell_t *tell)
{
    ngx_int_t                       rc;
    ngx_pool_t                     *pool;
    ngx_grapevine_site_conf_t      *conf;
    ngx_grapevine_register_tell_t  *t;

    conf = ngx_grapevine_register_conf;

    if (conf == NULL
        || tell->to_name.state != NGX_GRAPEVINE_PROTO_SET
        || tell->to_name.len != 6
        || ngx_strncasecmp(tell->to_name.data, (u_char *) "system", 6) != 0)
    {
        return;
    }

    if (tell->from_game.state != NGX_GRAPEVINE_PROTO_SET
        || tell->from_name.state != NGX_GRAPEVINE_PROTO_SET
        || tell->message.state != NGX_GRAPEVINE_PROTO_SET
        || tell->from_game.len == 0 || tell->from_name.len == 0)
    {
        ngx_log_error(NGX_LOG_INFO, bb->log, 0,
                      "grapevine site: a tell to system without a sender "
                      "or a message, ignored");
        return;
    }

    pool = ngx_create_pool(1024, bb->log);
    if (pool == NULL) {
        return;
    }

    t = ngx_pcalloc(pool, sizeof(ngx_grapevine_register_tell_t));
    if (t == NULL) {
        goto failed;
    }

    t->pool = pool;
    t->log = bb->log;

    t->values[0] = ngx_grapevine_register_copy(pool, tell->from_game.data,
                                               tell->from_game.len);
    t->values[1] = ngx_grapevine_register_copy(pool, tell->from_name.data,
                                               tell->from_name.len);
    t->values[2] = ngx_grapevine_register_copy(pool, tell->message.data,
                                               tell->message.len);
    t->values[3] = ngx_grapevine_register_copy(pool, conf->hub_name.data,
                                               conf->hub_name.len);

    if (t->values[0] == NULL || t->values[1] == NULL || t->values[2] == NULL
        || t->values[3] == NULL)
    {
        goto failed;
    }

    t->q.sql = NGX_GRAPEVINE_REGISTER_SQL;
    t->q.nparams = 4;
    t->q.values = t->values;
    t->q.handler = ngx_grapevine_register_told;
    t->q.data = t;

    rc = ngx_grapevine_pg_query(bb->db, &t->q);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, bb->log, 0,
                  "grapevine site: the tell from %s@%s is lost: %V",
                  t->values[1], t->values[0], &t->q.error);

failed:

    ngx_destroy_pool(pool);
}


static const char *
ngx_grapevine_register_copy(ngx_pool_t *pool, u_char *p, size_t len)
{
    u_char  *s;

    s = ngx_pnalloc(pool, len + 1);
    if (s == NULL) {
        return NULL;
    }

    ngx_memcpy(s, p, len);
    s[len] = '\0';

    return (const char *) s;
}


static void
ngx_grapevine_register_told(ngx_grapevine_pg_query_t *q, PGresult *res)
{
    int                             i, n;
    ngx_grapevine_register_tell_t  *t;

    t = q->data;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_ERR, t->log, 0,
                      "grapevine site: the tell from %s@%s failed: %V",
                      t->values[1], t->values[0], &q->error);
        ngx_destroy_pool(t->pool);
        return;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        ngx_log_error(NGX_LOG_INFO, t->log, 0,
                      "grapevine site: system answers %s@%s: %s",
                      t->values[1], t->values[0], PQgetvalue(res, i, 0));
    }

    ngx_destroy_pool(t->pool);
}


/* POST /manage/characters/{id}/{approve|deny|remove} */

void
ngx_grapevine_register_character(ngx_grapevine_site_ctx_t *ctx,
    ngx_str_t *id, ngx_str_t *action)
{
    if (ngx_grapevine_site_arg(ctx, "id", id, NGX_GRAPEVINE_SITE_ARG_STRING)
        != NGX_OK
        || ngx_grapevine_site_arg(ctx, "action", action,
                                  NGX_GRAPEVINE_SITE_ARG_STRING)
           != NGX_OK
        || ngx_grapevine_site_post_args(ctx) != NGX_OK)
    {
        ngx_grapevine_site_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_grapevine_site_query(ctx, "post:character", ngx_grapevine_site_page);
}
