
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_REQUEST_H_INCLUDED_
#define _NGX_GRAPEVINE_REQUEST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_pg.h"
#include "ngx_grapevine_value.h"
#include "ngx_grapevine_template.h"


/*
 * The request framework of the pages (the site, and Raisin in it): a
 * request's forms (the query string, an urlencoded body, a JSON object),
 * cookies, tokens, the statements it runs (each answers one JSON value,
 * read into a value tree), and its answer: a template rendered with that
 * data, the data as JSON, an error or a redirect, with the headers every
 * page carries.  The wording of errors comes from templates too (see
 * ngx_grapevine_req_words()).
 *
 * An application embeds ngx_grapevine_req_t first in its request context
 * and finishes every request through ngx_grapevine_req_finish() (the
 * answers below do).
 */


#define NGX_GRAPEVINE_TOKEN_LEN        64      /* 32 random bytes in hex */
#define NGX_GRAPEVINE_REQ_BODY_MAX     8192

/* how an argument of a statement is written into its JSON */
#define NGX_GRAPEVINE_ARG_STRING       0
#define NGX_GRAPEVINE_ARG_BOOL         1       /* value "1" or "" */
#define NGX_GRAPEVINE_ARG_NUMBER       2


typedef struct ngx_grapevine_req_s  ngx_grapevine_req_t;

typedef void (*ngx_grapevine_req_step_pt)(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *res);
typedef void (*ngx_grapevine_req_pt)(ngx_grapevine_req_t *rq);
typedef ngx_int_t (*ngx_grapevine_req_decorate_pt)(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_grapevine_value_t *data);
typedef void (*ngx_grapevine_req_rendered_pt)(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_chain_t *out, size_t size);


typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       value;
} ngx_grapevine_field_t;


typedef struct {
    ngx_str_t                       key;
    ngx_str_t                       value;
    ngx_uint_t                      type;
} ngx_grapevine_req_arg_t;


/* what a location's answers look like */

typedef struct {
    ngx_grapevine_template_set_t   *set;
    ngx_str_t                       site_name;
    const char                    **words;    /* templates of wording */
} ngx_grapevine_req_conf_t;


struct ngx_grapevine_req_s {
    ngx_grapevine_pg_query_t        q;         /* first: see handlers */
    ngx_http_request_t             *r;
    ngx_grapevine_req_conf_t       *conf;
    ngx_grapevine_arena_t           arena;

    ngx_array_t                     fields;    /* of _field_t */
    ngx_array_t                     args;      /* of _req_arg_t */
    const char                     *values[2];
    ngx_grapevine_pg_stmt_t        *stmt;      /* the one under way */
    ngx_grapevine_req_step_pt       next;
    ngx_grapevine_req_pt            body_read;

    /* the application's: called with every page's data before it is
     * rendered or sent as JSON; and when the request goes away */
    ngx_grapevine_req_decorate_pt   decorate;
    ngx_grapevine_req_pt            cleanup;

    /* the application's: a page's HTML, just before it is sent */
    ngx_grapevine_req_rendered_pt   rendered;

    /* the application's: a block of the page ("block") rendered as
     * block_text (kept, the same for every visitor) */
    ngx_str_t                       block;
    ngx_str_t                       block_text;

    ngx_int_t                       rc;
    unsigned                        json:1;       /* answer in JSON */
    unsigned                        json_bodies:1;
    unsigned                        no_store:1;   /* personal, or forms */
    unsigned                        sync:1;       /* in the handler */
    unsigned                        in_body:1;
    unsigned                        finished:1;
};


ngx_grapevine_req_t *ngx_grapevine_req_create(ngx_http_request_t *r,
    size_t size, ngx_grapevine_req_conf_t *conf);
ngx_int_t ngx_grapevine_req_read_body(ngx_grapevine_req_t *rq,
    ngx_grapevine_req_pt done);
ngx_int_t ngx_grapevine_req_form(ngx_grapevine_req_t *rq, u_char *p,
    u_char *end);
ngx_str_t *ngx_grapevine_req_field(ngx_grapevine_req_t *rq,
    const char *name);
ngx_str_t *ngx_grapevine_req_field_n(ngx_grapevine_req_t *rq, u_char *name,
    size_t len);
ngx_table_elt_t *ngx_grapevine_req_header(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_grapevine_req_cookie(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_uint_t ngx_grapevine_req_has_cookie(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_grapevine_req_set_cookie(ngx_grapevine_req_t *rq,
    const char *name, ngx_str_t *value, time_t max_age);

ngx_int_t ngx_grapevine_token(ngx_pool_t *pool, ngx_str_t *token);
ngx_int_t ngx_grapevine_is_token(ngx_str_t *s);
ngx_int_t ngx_grapevine_token_eq(ngx_str_t *a, ngx_str_t *b);

ngx_int_t ngx_grapevine_req_arg(ngx_grapevine_req_t *rq, const char *key,
    ngx_str_t *value, ngx_uint_t type);
ngx_int_t ngx_grapevine_req_arg_n(ngx_grapevine_req_t *rq, ngx_str_t *key,
    ngx_str_t *value, ngx_uint_t type);
ngx_int_t ngx_grapevine_req_arg_cstr(ngx_grapevine_req_t *rq,
    const char *key, const char *value, ngx_uint_t type);
ngx_int_t ngx_grapevine_req_arg_uint(ngx_grapevine_req_t *rq,
    const char *key, ngx_uint_t value);
void ngx_grapevine_req_send_page(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_str_t *html);
void ngx_grapevine_req_run(ngx_grapevine_req_t *rq,
    ngx_grapevine_pg_stmt_t *stmt, ngx_uint_t nparams, ngx_str_t *first,
    ngx_grapevine_req_step_pt next);

ngx_int_t ngx_grapevine_req_json_text(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *v, ngx_str_t *text);
ngx_grapevine_value_t *ngx_grapevine_req_get(ngx_grapevine_value_t *obj,
    const char *key);
ngx_int_t ngx_grapevine_req_get_str(ngx_grapevine_value_t *obj,
    const char *key, ngx_str_t *s);
ngx_int_t ngx_grapevine_req_status(ngx_grapevine_value_t *res);
ngx_int_t ngx_grapevine_req_set(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *obj, const char *key, ngx_grapevine_value_t *v);
ngx_int_t ngx_grapevine_req_set_str(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *obj, const char *key, ngx_str_t *s);
ngx_int_t ngx_grapevine_req_add_error(ngx_grapevine_req_t *rq,
    ngx_grapevine_value_t *data, const char *field, const char *code);
ngx_uint_t ngx_grapevine_req_has_errors(ngx_grapevine_value_t *data);

void ngx_grapevine_req_render(ngx_grapevine_req_t *rq, ngx_uint_t status,
    const char *template, ngx_grapevine_value_t *data);
ngx_int_t ngx_grapevine_req_render_block(ngx_grapevine_req_t *rq,
    ngx_uint_t status, const char *template, const char *block,
    ngx_grapevine_value_t *data, ngx_str_t *text);
ngx_grapevine_value_t *ngx_grapevine_req_block_rest(ngx_grapevine_req_t *rq,
    const char *template, const char *block, ngx_grapevine_value_t *data);
void ngx_grapevine_req_send_value(ngx_grapevine_req_t *rq,
    ngx_uint_t status, ngx_grapevine_value_t *data);
void ngx_grapevine_req_error(ngx_grapevine_req_t *rq, ngx_uint_t status,
    const char *code, ngx_grapevine_value_t *data);
void ngx_grapevine_req_redirect(ngx_grapevine_req_t *rq,
    ngx_str_t *location);
void ngx_grapevine_req_finish(ngx_grapevine_req_t *rq, ngx_int_t rc);


#endif /* _NGX_GRAPEVINE_REQUEST_H_INCLUDED_ */
