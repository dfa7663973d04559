
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_backbone.h"


/*
 * ngx_http_grapevine_backbone_module: the hub link's directives (parsed
 * and checked at "nginx -t") and its process hooks.
 */


#define NGX_GRAPEVINE_HUB_DEFAULT_CA  "/etc/ssl/certs/ca-certificates.crt"

static void *ngx_grapevine_backbone_create_conf(ngx_conf_t *cf);
static char *ngx_grapevine_backbone_init_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_grapevine_backbone_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_grapevine_backbone_module_init_process(
    ngx_cycle_t *cycle);
static void ngx_grapevine_backbone_module_exit_process(ngx_cycle_t *cycle);

static char *ngx_grapevine_hub_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_hub_client_id(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_hub_secret_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_grapevine_hub_ca_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_hub_name(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_hub_max_frame(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_grapevine_hub_heartbeat(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_grapevine_hub_send_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_grapevine_hub_max_message(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_grapevine_statistics_interval(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_grapevine_statistics_keep(ngx_conf_t *cf, void *post,
    void *data);

static ngx_int_t ngx_grapevine_hub_uuid(ngx_str_t *s);
static char *ngx_grapevine_hub_read_secret(ngx_conf_t *cf,
    ngx_grapevine_hub_conf_t *hc, ngx_str_t *file);
static char *ngx_grapevine_hub_cstr(ngx_conf_t *cf, ngx_str_t *dst,
    u_char *data, size_t len);


static ngx_conf_enum_t  ngx_grapevine_hub_sync_modes[] = {
    { ngx_string("auto"), NGX_GRAPEVINE_HUB_SYNC_AUTO },
    { ngx_string("push"), NGX_GRAPEVINE_HUB_SYNC_PUSH },
    { ngx_string("versions"), NGX_GRAPEVINE_HUB_SYNC_VERSIONS },
    { ngx_null_string, 0 }
};

static ngx_conf_post_t  ngx_grapevine_hub_max_frame_post = {
    ngx_grapevine_hub_max_frame
};

static ngx_conf_post_t  ngx_grapevine_hub_heartbeat_post = {
    ngx_grapevine_hub_heartbeat
};

static ngx_conf_post_t  ngx_grapevine_hub_max_message_post = {
    ngx_grapevine_hub_max_message
};

static ngx_conf_post_t  ngx_grapevine_statistics_interval_post = {
    ngx_grapevine_statistics_interval
};

static ngx_conf_post_t  ngx_grapevine_statistics_keep_post = {
    ngx_grapevine_statistics_keep
};


static ngx_command_t  ngx_grapevine_backbone_commands[] = {

    { ngx_string("grapevine_hub"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_grapevine_hub_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_hub_client_id"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_grapevine_hub_client_id,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_hub_client_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_grapevine_hub_secret_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_hub_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_grapevine_hub_ca_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_hub_sync"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_hub_conf_t, sync),
      &ngx_grapevine_hub_sync_modes },

    { ngx_string("grapevine_hub_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_grapevine_hub_name,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_hub_max_frame"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_hub_conf_t, max_frame),
      &ngx_grapevine_hub_max_frame_post },

    { ngx_string("grapevine_hub_heartbeat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_hub_conf_t, heartbeat),
      &ngx_grapevine_hub_heartbeat_post },

    { ngx_string("grapevine_hub_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_hub_conf_t, max_message),
      &ngx_grapevine_hub_max_message_post },

    { ngx_string("grapevine_hub_send_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_grapevine_hub_send_rate,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("grapevine_statistics_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_hub_conf_t, stats_interval),
      &ngx_grapevine_statistics_interval_post },

    { ngx_string("grapevine_statistics_keep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_hub_conf_t, stats_keep),
      &ngx_grapevine_statistics_keep_post },

    { ngx_string("grapevine_statistics_keep_hourly"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_grapevine_hub_conf_t, stats_keep_hourly),
      &ngx_grapevine_statistics_keep_post },

      ngx_null_command
};


static ngx_http_module_t  ngx_grapevine_backbone_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_grapevine_backbone_postconfiguration, /* postconfiguration */

    ngx_grapevine_backbone_create_conf,    /* create main configuration */
    ngx_grapevine_backbone_init_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_grapevine_backbone_module = {
    NGX_MODULE_V1,
    &ngx_grapevine_backbone_module_ctx,    /* module context */
    ngx_grapevine_backbone_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_grapevine_backbone_module_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_grapevine_backbone_module_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_grapevine_backbone_create_conf(ngx_conf_t *cf)
{
    ngx_grapevine_hub_conf_t  *hc;

    hc = ngx_pcalloc(cf->pool, sizeof(ngx_grapevine_hub_conf_t));
    if (hc == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hc->url = { 0, NULL };
     *     hc->client_id = { 0, NULL };
     *     hc->client_secret = { 0, NULL };
     *     hc->ca_file = { 0, NULL };
     *     hc->name = { 0, NULL };
     */

    hc->sync = NGX_CONF_UNSET_UINT;
    hc->max_frame = NGX_CONF_UNSET_SIZE;
    hc->max_message = NGX_CONF_UNSET_SIZE;
    hc->heartbeat = NGX_CONF_UNSET_MSEC;
    hc->send_rate = NGX_CONF_UNSET_UINT;
    hc->send_burst = NGX_CONF_UNSET_UINT;
    hc->stats_interval = NGX_CONF_UNSET;
    hc->stats_keep = NGX_CONF_UNSET;
    hc->stats_keep_hourly = NGX_CONF_UNSET;

    return hc;
}


/* after the http block: defaults, and what must go together */

static char *
ngx_grapevine_backbone_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_grapevine_hub_conf_t *hc = conf;

    ngx_grapevine_main_conf_t  *gmcf;

    if (hc->url.data == NULL) {
        if (hc->client_id.data || hc->client_secret.data
            || hc->ca_file.data || hc->name.data
            || hc->sync != NGX_CONF_UNSET_UINT
            || hc->max_frame != NGX_CONF_UNSET_SIZE
            || hc->max_message != NGX_CONF_UNSET_SIZE
            || hc->heartbeat != NGX_CONF_UNSET_MSEC
            || hc->send_rate != NGX_CONF_UNSET_UINT)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "grapevine_hub_* directives are set but "
                          "\"grapevine_hub\" is not");
            return NGX_CONF_ERROR;
        }

        if (hc->stats_interval != NGX_CONF_UNSET
            || hc->stats_keep != NGX_CONF_UNSET
            || hc->stats_keep_hourly != NGX_CONF_UNSET)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "grapevine_statistics_* directives are set but "
                          "\"grapevine_hub\" is not (the owner of the hub "
                          "link records the statistics)");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (hc->client_id.data == NULL || hc->client_secret.data == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"grapevine_hub\" needs \"grapevine_hub_client_id\" "
                      "and \"grapevine_hub_client_secret_file\"");
        return NGX_CONF_ERROR;
    }

    gmcf = ngx_grapevine_conf(cf);

    if (gmcf->db == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"grapevine_hub\" needs the database: add "
                      "\"grapevine_database\" to the http block");
        return NGX_CONF_ERROR;
    }

    if (hc->ca_file.data == NULL) {
        ngx_str_set(&hc->ca_file, NGX_GRAPEVINE_HUB_DEFAULT_CA);
    }

    if (hc->tls && access((char *) hc->ca_file.data, R_OK) != 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "\"grapevine_hub_ca_file\": cannot read \"%V\"",
                      &hc->ca_file);
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_uint_value(hc->sync, NGX_GRAPEVINE_HUB_SYNC_AUTO);
    ngx_conf_init_size_value(hc->max_frame, 1024 * 1024);
    ngx_conf_init_size_value(hc->max_message,
                             NGX_GRAPEVINE_PROTO_MAX_MESSAGE);
    ngx_conf_init_msec_value(hc->heartbeat, 15000);
    ngx_conf_init_uint_value(hc->send_rate, NGX_GRAPEVINE_OUTBOX_RATE);
    ngx_conf_init_uint_value(hc->send_burst, NGX_GRAPEVINE_OUTBOX_BURST);
    ngx_conf_init_value(hc->stats_interval, 15 * 60);
    ngx_conf_init_value(hc->stats_keep, 30 * 86400);
    ngx_conf_init_value(hc->stats_keep_hourly, 2 * 365 * 86400);

    if (hc->stats_keep_hourly < hc->stats_keep) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"grapevine_statistics_keep_hourly\" must be at "
                      "least \"grapevine_statistics_keep\"");
        return NGX_CONF_ERROR;
    }

    /* core's: the default when grapevine_hub_name is not set */
    hc->name = gmcf->name;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_grapevine_backbone_postconfiguration(ngx_conf_t *cf)
{
    ngx_grapevine_hub_conf_t  *hc;

    hc = ngx_http_conf_get_module_main_conf(cf,
                                           ngx_http_grapevine_backbone_module);

    if (hc->url.data == NULL) {
        return NGX_OK;
    }

    if (ngx_grapevine_backbone_metrics(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_grapevine_backbone_add_status(cf, hc);
}


static ngx_int_t
ngx_grapevine_backbone_module_init_process(ngx_cycle_t *cycle)
{
    ngx_grapevine_hub_conf_t  *hc;

    hc = ngx_http_cycle_get_module_main_conf(cycle,
                                           ngx_http_grapevine_backbone_module);

    if (hc == NULL || hc->url.data == NULL) {
        return NGX_OK;
    }

    return ngx_grapevine_backbone_init_process(cycle, hc);
}


static void
ngx_grapevine_backbone_module_exit_process(ngx_cycle_t *cycle)
{
    ngx_grapevine_backbone_exit_process(cycle);
}


/* grapevine_hub ws[s]://host[:port]/path; */

static char *
ngx_grapevine_hub_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_hub_conf_t *hc = conf;

    u_char     *p;
    size_t      skip;
    ngx_url_t   u;
    ngx_str_t  *value;

    if (hc->url.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    hc->url = value[1];

    if (value[1].len > 6
        && ngx_strncasecmp(value[1].data, (u_char *) "wss://", 6) == 0)
    {
        hc->tls = 1;
        skip = 6;

    } else if (value[1].len > 5
               && ngx_strncasecmp(value[1].data, (u_char *) "ws://", 5) == 0)
    {
        hc->tls = 0;
        skip = 5;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_hub\": \"%V\" is not a ws:// or "
                           "wss:// URL", &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = value[1].data + skip;
    u.url.len = value[1].len - skip;
    u.default_port = hc->tls ? 443 : 80;
    u.uri_part = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_hub\": %s in \"%V\"",
                           u.err ? u.err : "invalid URL", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_hub\": host \"%V\" has no address",
                           &u.host);
        return NGX_CONF_ERROR;
    }

    if (ngx_grapevine_hub_cstr(cf, &hc->host, u.host.data, u.host.len)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* an IPv6 literal comes with its brackets */

    if (hc->host.len > 2 && hc->host.data[0] == '[') {
        hc->host.data++;
        hc->host.len -= 2;
        hc->host.data[hc->host.len] = '\0';
    }

    hc->port = u.port ? u.port : u.default_port;

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    hc->address.data = p;
    hc->address.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                    p, NGX_SOCKADDR_STRLEN, 0);
    p[hc->address.len] = '\0';

    if (u.uri.len == 0) {
        ngx_str_set(&hc->path, "/");

    } else if (ngx_grapevine_hub_cstr(cf, &hc->path, u.uri.data, u.uri.len)
               != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_grapevine_hub_client_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_hub_conf_t *hc = conf;

    ngx_str_t  *value;

    if (hc->client_id.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_grapevine_hub_uuid(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_hub_client_id\": \"%V\" is not "
                           "a UUID", &value[1]);
        return NGX_CONF_ERROR;
    }

    hc->client_id = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_grapevine_hub_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_grapevine_hub_conf_t *hc = conf;

    ngx_str_t  *value;

    if (hc->client_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_grapevine_hub_read_secret(cf, hc, &value[1]);
}


static char *
ngx_grapevine_hub_ca_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_hub_conf_t *hc = conf;

    ngx_str_t  *value;

    if (hc->ca_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_grapevine_hub_cstr(cf, &hc->ca_file, value[1].data,
                                  value[1].len);
}


/* the site's name on the network: its system player is system@<name> */

static char *
ngx_grapevine_hub_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_hub_conf_t *hc = conf;

    ngx_str_t  *value;

    if (hc->name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 15) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_hub_name\": \"%V\" must be 1 to "
                           "15 characters", &value[1]);
        return NGX_CONF_ERROR;
    }

    hc->name = value[1];

    if (ngx_grapevine_set_name(cf, &value[1]) == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_grapevine_hub_max_frame(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 1024 || *sp > 64 * 1024 * 1024) {
        return "must be a size from 1k to 64m";
    }

    return NGX_CONF_OK;
}


/*
 * Chat from the hub is stored and shown 100 messages a page: a bound on a
 * message is what bounds a page.  64k keeps a page within a few MB
 * whatever an operator sets.
 */

static char *
ngx_grapevine_hub_max_message(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 1 || *sp > 64 * 1024) {
        return "must be a size from 1 to 64k";
    }

    return NGX_CONF_OK;
}


static char *
ngx_grapevine_hub_heartbeat(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *mp = data;

    if (*mp < 100) {
        return "must be a time of at least 100ms";
    }

    return NGX_CONF_OK;
}


/*
 * A slot starts at a multiple of the interval since the epoch: an
 * interval that divides an hour gives the same slots every hour, and the
 * hourly maxima whole slots.
 */

static char *
ngx_grapevine_statistics_interval(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *tp = data;

    if (*tp < 1 || *tp > 3600 || 3600 % *tp != 0) {
        return "must be a time from 1s to 1h that divides an hour "
               "(5m, 10m, 15m, 20m, 30m, 1h, ...)";
    }

    return NGX_CONF_OK;
}


static char *
ngx_grapevine_statistics_keep(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *tp = data;

    if (*tp < 3600) {
        return "must be a time of at least 1h";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_grapevine_hub_uuid(ngx_str_t *s)
{
    ngx_uint_t  i;

    if (s->len != 36) {
        return NGX_ERROR;
    }

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s->data[i] != '-') {
                return NGX_ERROR;
            }

            continue;
        }

        if (!isxdigit(s->data[i])) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static char *
ngx_grapevine_hub_read_secret(ngx_conf_t *cf, ngx_grapevine_hub_conf_t *hc,
    ngx_str_t *file)
{
    u_char           buf[256];
    ssize_t          n;
    ngx_str_t        s;
    ngx_file_t       f;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));

    f.name = *file;
    f.log = cf->log;
    f.fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (f.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"grapevine_hub_client_secret_file\": cannot "
                           "open \"%V\"", file);
        return NGX_CONF_ERROR;
    }

    n = NGX_ERROR;

    if (ngx_fd_info(f.fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) < (off_t) sizeof(buf))
    {
        n = ngx_read_file(&f, buf, sizeof(buf), 0);
    }

    (void) ngx_close_file(f.fd);

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_hub_client_secret_file\": cannot "
                           "read \"%V\" (or it is larger than a secret)",
                           file);
        return NGX_CONF_ERROR;
    }

    s.data = buf;
    s.len = n;

    while (s.len && isspace(s.data[s.len - 1])) {
        s.len--;
    }

    while (s.len && isspace(s.data[0])) {
        s.data++;
        s.len--;
    }

    /* the secret itself is never logged */

    if (ngx_grapevine_hub_uuid(&s) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_hub_client_secret_file\": \"%V\" "
                           "does not hold a UUID", file);
        return NGX_CONF_ERROR;
    }

    return ngx_grapevine_hub_cstr(cf, &hc->client_secret, s.data, s.len);
}


static char *
ngx_grapevine_hub_cstr(ngx_conf_t *cf, ngx_str_t *dst, u_char *data,
    size_t len)
{
    dst->data = ngx_pnalloc(cf->pool, len + 1);
    if (dst->data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(dst->data, data, len);
    dst->data[len] = '\0';
    dst->len = len;

    return NGX_CONF_OK;
}


/*
 * grapevine_hub_send_rate RATE [burst=N]; how fast the outbox sends
 * channels/send: the hub takes 10 at once and 2 a second after (reference
 * section 1.7), and closes a socket that keeps sending more.
 */

static char *
ngx_grapevine_hub_send_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_grapevine_hub_conf_t *hc = conf;

    if (hc->send_rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    hc->send_rate = NGX_GRAPEVINE_OUTBOX_RATE;
    hc->send_burst = NGX_GRAPEVINE_OUTBOX_BURST;

    if (ngx_grapevine_conf_rate(cf, &hc->send_rate, &hc->send_burst, 1000)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (hc->send_burst == 0) {
        return "needs a burst of at least 1";
    }

    return NGX_CONF_OK;
}
