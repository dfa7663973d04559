
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <libpq-fe.h>

#include "ngx_grapevine.h"


/*
 * The conninfo of "grapevine_database" is parsed by libpq itself at
 * configuration time, so that a mistake fails "nginx -t".  A host name is
 * resolved here, once, and handed to libpq as "hostaddr" (the name stays in
 * "host" for TLS verification): workers never block on DNS.
 */


#define NGX_GRAPEVINE_CONNINFO_MAX  64


static char *ngx_grapevine_conninfo_resolve(ngx_conf_t *cf,
    ngx_grapevine_db_conf_t *db, const char *host, const char *port,
    const char **hostaddr);
static char *ngx_grapevine_strdup(ngx_pool_t *pool, const char *s);


char *
ngx_grapevine_conninfo_parse(ngx_conf_t *cf, ngx_grapevine_db_conf_t *db,
    ngx_str_t *conninfo)
{
    char               *err, *s, *cstr;
    size_t              len;
    u_char             *p;
    ngx_uint_t          n, i;
    const char         *host, *hostaddr, *port, *dbname, *options;
    const char        **kw, **val;
    PQconninfoOption   *opts, *o;

    cstr = (char *) ngx_pnalloc(cf->pool, conninfo->len + 1);
    if (cstr == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn((u_char *) cstr, conninfo->data, conninfo->len + 1);

    if (ngx_strlen(cstr) != conninfo->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_database\": the conninfo contains "
                           "a NUL byte");
        return NGX_CONF_ERROR;
    }

    err = NULL;
    opts = PQconninfoParse(cstr, &err);

    if (opts == NULL) {
        if (err) {
            len = ngx_strlen(err);
            while (len && err[len - 1] == '\n') {
                len--;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"grapevine_database\": invalid conninfo: %*s",
                               len, err);
            PQfreemem(err);

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"grapevine_database\": out of memory "
                               "parsing the conninfo");
        }

        return NGX_CONF_ERROR;
    }

    kw = ngx_pcalloc(cf->pool, NGX_GRAPEVINE_CONNINFO_MAX * sizeof(char *));
    val = ngx_pcalloc(cf->pool, NGX_GRAPEVINE_CONNINFO_MAX * sizeof(char *));

    if (kw == NULL || val == NULL) {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    host = NULL;
    hostaddr = NULL;
    port = NULL;
    dbname = NULL;
    options = NULL;
    n = 0;

    for (o = opts; o->keyword; o++) {

        if (o->val == NULL) {
            continue;
        }

        if (n >= NGX_GRAPEVINE_CONNINFO_MAX - 8) {
            break;
        }

        s = ngx_grapevine_strdup(cf->pool, o->val);
        if (s == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        if (ngx_strcmp(o->keyword, "host") == 0) {
            host = s;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = s;

        } else if (ngx_strcmp(o->keyword, "port") == 0) {
            port = s;

        } else if (ngx_strcmp(o->keyword, "dbname") == 0) {
            dbname = s;

        } else if (ngx_strcmp(o->keyword, "options") == 0) {
            options = s;
            continue;       /* rewritten below */
        }

        /* the keyword strings belong to libpq's array: copy them */
        kw[n] = ngx_grapevine_strdup(cf->pool, o->keyword);
        val[n] = s;

        if (kw[n] == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        n++;
    }

    PQconninfoFree(opts);

    if (dbname == NULL || dbname[0] == '\0') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_database\": the conninfo names no "
                           "database (add dbname=...)");
        return NGX_CONF_ERROR;
    }

    if ((host && ngx_strchr(host, ',')) || (hostaddr
                                            && ngx_strchr(hostaddr, ',')))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_database\": several hosts are not "
                           "supported, name one");
        return NGX_CONF_ERROR;
    }

    if (port) {
        for (p = (u_char *) port; *p; p++) {
            if (*p < '0' || *p > '9') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"grapevine_database\": invalid port "
                                   "\"%s\"", port);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (host && host[0] != '/' && host[0] != '@' && hostaddr == NULL) {
        if (ngx_grapevine_conninfo_resolve(cf, db, host, port, &hostaddr)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        kw[n] = "hostaddr";
        val[n] = hostaddr;
        n++;
    }

    /* defaults that keep connecting non-blocking and results UTF-8 */

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(kw[i], "gssencmode") == 0) {
            break;
        }
    }

    if (i == n) {
        kw[n] = "gssencmode";
        val[n] = "disable";
        n++;
    }

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(kw[i], "application_name") == 0) {
            break;
        }
    }

    if (i == n) {
        kw[n] = "application_name";
        val[n] = "ngx_grapevine";
        n++;
    }

    kw[n] = "client_encoding";
    val[n] = "UTF8";
    n++;

    /* the server-side guard against runaway queries */

    len = sizeof("-c statement_timeout=") - 1 + NGX_INT_T_LEN + 1
          + (options ? ngx_strlen(options) : 0) + 1;

    s = ngx_pnalloc(cf->pool, len);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_sprintf((u_char *) s, "-c statement_timeout=%M%s%s",
                    db->query_timeout, options ? " " : "",
                    options ? options : "");
    *p = '\0';

    kw[n] = "options";
    val[n] = s;
    n++;

    kw[n] = NULL;
    val[n] = NULL;

    db->keywords = kw;
    db->values = val;

    if (host && host[0] != '/' && host[0] != '@') {
        db->target.len = ngx_strlen(host) + 1
                         + (port ? ngx_strlen(port) : 4);
        db->target.data = ngx_pnalloc(cf->pool, db->target.len);
        if (db->target.data == NULL) {
            return NGX_CONF_ERROR;
        }

        p = ngx_sprintf(db->target.data, "%s:%s", host,
                        port ? port : "5432");
        db->target.len = p - db->target.data;

    } else if (host) {
        db->target.data = (u_char *) host;
        db->target.len = ngx_strlen(host);

    } else {
        ngx_str_set(&db->target, "default socket");
    }

    return NGX_CONF_OK;
}


static char *
ngx_grapevine_conninfo_resolve(ngx_conf_t *cf, ngx_grapevine_db_conf_t *db,
    const char *host, const char *port, const char **hostaddr)
{
    u_char     *p;
    ngx_url_t   u;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = (u_char *) host;
    u.url.len = ngx_strlen(host);
    u.default_port = (in_port_t) (port ? ngx_atoi((u_char *) port,
                                                  ngx_strlen(port))
                                       : 5432);
    u.no_port = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_database\": %s in host \"%s\"",
                           u.err ? u.err : "invalid address", host);
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"grapevine_database\": host \"%s\" has no "
                           "address", host);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    p[ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, p,
                    NGX_SOCKADDR_STRLEN, 0)] = '\0';

    *hostaddr = (const char *) p;

    return NGX_CONF_OK;
}


static char *
ngx_grapevine_strdup(ngx_pool_t *pool, const char *s)
{
    size_t   len;
    char    *d;

    len = ngx_strlen(s) + 1;

    d = ngx_pnalloc(pool, len);
    if (d == NULL) {
        return NULL;
    }

    ngx_memcpy(d, s, len);

    return d;
}
