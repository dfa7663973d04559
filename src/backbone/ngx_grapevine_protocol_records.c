
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * A sync event's valid records as the database's ingest takes them: the
 * parser has checked every field, so the ingest stores what it gets
 * (sql/backbone/backbone_sync.sql reads it with jsonb_to_recordset()).
 * The fields are written as the record tables of the schema list them,
 * so a field added there reaches the database without a change here.
 */


#include <string.h>

#include <yajl/yajl_gen.h>

#include "ngx_grapevine_protocol_schema.h"


static int ngx_grapevine_proto_record_json(yajl_gen g,
    const ngx_grapevine_proto_schema_t *schema, const void *target);
static int ngx_grapevine_proto_field_json(yajl_gen g,
    const ngx_grapevine_proto_field_t *fd, const void *target);
static int ngx_grapevine_proto_key_json(yajl_gen g, const char *key);


int
ngx_grapevine_proto_records_json(ngx_grapevine_arena_t *arena,
    const ngx_grapevine_proto_sync_t *sync, ngx_grapevine_proto_str_t *out,
    ngx_grapevine_proto_error_t *err)
{
    int                                  ok, rc;
    size_t                               i, len;
    u_char                              *data;
    yajl_gen                             g;
    const u_char                        *buf;
    const ngx_grapevine_proto_record_t  *rec;
    const ngx_grapevine_proto_schema_t  *schema;

    schema = ngx_grapevine_proto_schema_get(NGX_GRAPEVINE_PROTO_S_RECORD
                                            + sync->kind);

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        ngx_grapevine_proto_set_error(err, NGX_GRAPEVINE_PROTO_ENOMEM,
                                      "out of memory");
        return NGX_GRAPEVINE_PROTO_ENOMEM;
    }

    ok = yajl_gen_config(g, yajl_gen_validate_utf8, 1)
         && yajl_gen_array_open(g) == yajl_gen_status_ok;

    for (i = 0; ok && i < sync->nrecords; i++) {
        rec = &sync->records[i];

        if (rec->invalid) {
            continue;
        }

        ok = yajl_gen_map_open(g) == yajl_gen_status_ok
             && ngx_grapevine_proto_record_json(g, schema, &rec->u);

        if (ok && rec->logged_at.state == NGX_GRAPEVINE_PROTO_SET) {
            ok = ngx_grapevine_proto_key_json(g, "logged_at")
                 && yajl_gen_string(g, rec->logged_at.data,
                                    rec->logged_at.len)
                    == yajl_gen_status_ok;
        }

        if (ok && rec->action == NGX_GRAPEVINE_PROTO_ACTION_DELETE) {
            ok = ngx_grapevine_proto_key_json(g, "deleted")
                 && yajl_gen_bool(g, 1) == yajl_gen_status_ok;
        }

        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
    }

    ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok
         && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok;

    if (!ok) {
        /* the parser checked every string: only memory can run out */
        yajl_gen_free(g);
        ngx_grapevine_proto_set_error(err, NGX_GRAPEVINE_PROTO_ENOMEM,
                                      "cannot write the records");
        return NGX_GRAPEVINE_PROTO_ENOMEM;
    }

    data = ngx_grapevine_proto_strdup(arena, buf, len);

    yajl_gen_free(g);

    if (data == NULL) {
        ngx_grapevine_proto_set_error(err, NGX_GRAPEVINE_PROTO_ENOMEM,
                                      "out of memory");
        return NGX_GRAPEVINE_PROTO_ENOMEM;
    }

    out->len = len;
    out->data = data;

    rc = NGX_GRAPEVINE_PROTO_OK;
    ngx_grapevine_proto_set_error(err, rc, NULL);

    return rc;
}


/* the fields of a record (or a connection) that are SET */

static int
ngx_grapevine_proto_record_json(yajl_gen g,
    const ngx_grapevine_proto_schema_t *schema, const void *target)
{
    size_t  i;

    for (i = 0; i < schema->nfields; i++) {
        if (!ngx_grapevine_proto_field_json(g, &schema->fields[i], target)) {
            return 0;
        }
    }

    return 1;
}


static int
ngx_grapevine_proto_field_json(yajl_gen g,
    const ngx_grapevine_proto_field_t *fd, const void *target)
{
    size_t                                    i;
    const u_char                             *p;
    const ngx_grapevine_proto_opt_int_t      *oi;
    const ngx_grapevine_proto_opt_str_t      *os;
    const ngx_grapevine_proto_opt_bool_t     *ob;
    const ngx_grapevine_proto_str_array_t    *sa;
    const ngx_grapevine_proto_schema_t       *conn;
    const ngx_grapevine_proto_connections_t  *conns;

    p = (const u_char *) target + fd->offset;

    switch (fd->type) {

    case NGX_GRAPEVINE_PROTO_F_STR:
    case NGX_GRAPEVINE_PROTO_F_TIME:
    case NGX_GRAPEVINE_PROTO_F_DATE:
        os = (const ngx_grapevine_proto_opt_str_t *) p;

        if (os->state != NGX_GRAPEVINE_PROTO_SET) {
            return 1;
        }

        return ngx_grapevine_proto_key_json(g, fd->name)
               && yajl_gen_string(g, os->data, os->len)
                  == yajl_gen_status_ok;

    case NGX_GRAPEVINE_PROTO_F_INT:
        oi = (const ngx_grapevine_proto_opt_int_t *) p;

        if (oi->state != NGX_GRAPEVINE_PROTO_SET) {
            return 1;
        }

        return ngx_grapevine_proto_key_json(g, fd->name)
               && yajl_gen_integer(g, (long long) oi->value)
                  == yajl_gen_status_ok;

    case NGX_GRAPEVINE_PROTO_F_BOOL:
        ob = (const ngx_grapevine_proto_opt_bool_t *) p;

        if (ob->state != NGX_GRAPEVINE_PROTO_SET) {
            return 1;
        }

        return ngx_grapevine_proto_key_json(g, fd->name)
               && yajl_gen_bool(g, ob->value) == yajl_gen_status_ok;

    case NGX_GRAPEVINE_PROTO_F_STRS:
        sa = (const ngx_grapevine_proto_str_array_t *) p;

        if (sa->state != NGX_GRAPEVINE_PROTO_SET) {
            return 1;
        }

        if (!ngx_grapevine_proto_key_json(g, fd->name)
            || yajl_gen_array_open(g) != yajl_gen_status_ok)
        {
            return 0;
        }

        for (i = 0; i < sa->nelts; i++) {
            if (yajl_gen_string(g, sa->elts[i].data, sa->elts[i].len)
                != yajl_gen_status_ok)
            {
                return 0;
            }
        }

        return yajl_gen_array_close(g) == yajl_gen_status_ok;

    case NGX_GRAPEVINE_PROTO_F_CONNS:
        conns = (const ngx_grapevine_proto_connections_t *) p;

        if (conns->state != NGX_GRAPEVINE_PROTO_SET) {
            return 1;
        }

        conn = ngx_grapevine_proto_schema_get(NGX_GRAPEVINE_PROTO_S_CONN);

        if (!ngx_grapevine_proto_key_json(g, fd->name)
            || yajl_gen_array_open(g) != yajl_gen_status_ok)
        {
            return 0;
        }

        for (i = 0; i < conns->nelts; i++) {
            if (yajl_gen_map_open(g) != yajl_gen_status_ok
                || !ngx_grapevine_proto_record_json(g, conn,
                                                    &conns->elts[i])
                || yajl_gen_map_close(g) != yajl_gen_status_ok)
            {
                return 0;
            }
        }

        return yajl_gen_array_close(g) == yajl_gen_status_ok;

    default:
        /* no record holds the other types */
        return 1;
    }
}


static int
ngx_grapevine_proto_key_json(yajl_gen g, const char *key)
{
    return yajl_gen_string(g, (const u_char *) key, strlen(key))
           == yajl_gen_status_ok;
}
