
/*
 * Copyright (C) Grapevine contributors
 */


#ifndef _NGX_GRAPEVINE_TEMPLATE_H_INCLUDED_
#define _NGX_GRAPEVINE_TEMPLATE_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>

#include "ngx_grapevine_arena.h"
#include "ngx_grapevine_value.h"


/*
 * Logic-less mustache templates (the mustache spec without lambdas):
 * {{name}} (HTML-escaped), {{{name}}}, {{& name}}, dotted names, {{.}},
 * {{#section}}, {{^inverted}}, {{! comment }}, {{> partial}} and
 * {{=<% %>=}}, with the spec's standalone-line and partial indentation
 * rules; and its optional inheritance (~inheritance.json): parents
 * {{<layout}}...{{/layout}} that pass blocks {{$title}}...{{/title}} to
 * the template they name, in which blocks have default contents.
 *
 * Inheritance: a parent renders like a partial, its blocks (arguments) in
 * force while it does; a block outside a parent renders the argument of
 * its name passed by the outermost parent tag in force, else its own
 * content.  In a parent, outside its blocks, text is ignored and other
 * tags than comments and delimiters are compile errors; a block passed
 * twice to one parent is too.  Blocks are reindented as the spec's pull
 * request 131 has it (intrinsic indentation).
 *
 * Values render as: strings and number texts as they are (HTML-escaped:
 * & < > " ' in {{name}}), integers in decimal, booleans as "true" and
 * "false", null, missing names, arrays and objects as nothing.  Sections
 * iterate arrays, push any other true value (see
 * ngx_grapevine_value_truthy(): null, false, "" and [] are false).
 *
 * A template is compiled once (at configuration time) into a flat
 * instruction list that refers to a copy of the source held in the arena;
 * a compiled template is read-only while it renders and can be rendered
 * any number of times.  Rendering allocates nothing: it needs about 7k of
 * stack, and a C frame per level of nesting, and collects its output into
 * runs of up to 4k for the caller's write callback (a literal text of 2k
 * or more goes out as one run).
 */


/*
 * The deepest nesting of sections, parents and blocks in a template, and
 * of sections, partials, parents and blocks while rendering
 */
#define NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH  64

#define NGX_GRAPEVINE_TEMPLATE_ERRLEN     512

#define NGX_GRAPEVINE_TEMPLATE_EXT        ".mustache"


typedef struct ngx_grapevine_template_s      ngx_grapevine_template_t;
typedef struct ngx_grapevine_template_set_s  ngx_grapevine_template_set_t;


/*
 * Errors: msg is a NUL-terminated message such as
 * "games.mustache: line 12: unclosed section "games""; line is the line of
 * the template it refers to, or 0.
 */

typedef struct {
    size_t                         line;
    char                           msg[NGX_GRAPEVINE_TEMPLATE_ERRLEN];
} ngx_grapevine_template_err_t;


/* finds a compiled partial by name; NULL if there is none */

typedef ngx_grapevine_template_t *(*ngx_grapevine_partial_pt)(void *ctx,
    const u_char *name, size_t len);


typedef struct {
    ngx_grapevine_write_pt         write;
    void                          *write_ctx;

    /*
     * Partials and parents not resolved by ngx_grapevine_template_set_link()
     * are looked up here at every inclusion (partial may be NULL); one
     * that is not found renders as nothing (as the spec says) or, with
     * strict_partials, fails the rendering.
     */
    ngx_grapevine_partial_pt       partial;
    void                          *partial_ctx;
    unsigned                       strict_partials:1;

    /*
     * One block apart (a page's content kept for every visitor): with
     * block_only, what is written is what the blocks of that name expand
     * to where the template expands them, and nothing else; with
     * block_fill, those blocks expand to block_text, as it is.
     */
    ngx_grapevine_str_t            block;
    ngx_grapevine_str_t            block_text;
    unsigned                       block_only:1;
    unsigned                       block_fill:1;
} ngx_grapevine_render_conf_t;


/*
 * Compiles src; name (a file name, or NULL) prefixes the error messages.
 * Returns NULL with err filled in on error (err->line is 0 when the
 * allocation failed).
 */
ngx_grapevine_template_t *ngx_grapevine_template_compile(
    ngx_grapevine_arena_t *a, const u_char *src, size_t len, const char *name,
    ngx_grapevine_template_err_t *err);

/*
 * Renders tpl with data at the bottom of the context stack.  On error
 * (write callback failure, nesting deeper than
 * NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH, more than 128 indentations in force, a
 * missing partial or parent with strict_partials) returns
 * NGX_GRAPEVINE_ERROR with err filled in; the output written so far is
 * incomplete.
 */
int ngx_grapevine_template_render(const ngx_grapevine_template_t *tpl,
    const ngx_grapevine_value_t *data, const ngx_grapevine_render_conf_t *rc,
    ngx_grapevine_template_err_t *err);

/*
 * What of data (an object) rendering tpl with rc's block_fill may read: a
 * new object of the members of data named by the first part of a name
 * that tpl, or a template it may include, uses outside the blocks named
 * rc->block (the values referenced, not copied).  NULL when that cannot be
 * told (a "." that may be the data itself, a partial or parent not found,
 * more than NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH templates) or on allocation
 * failure: then all of data may be read.
 */
ngx_grapevine_value_t *ngx_grapevine_template_rest(
    const ngx_grapevine_template_t *tpl, const ngx_grapevine_value_t *data,
    const ngx_grapevine_render_conf_t *rc, ngx_grapevine_arena_t *a);

/* the name given to ngx_grapevine_template_compile(), or "" */
const char *ngx_grapevine_template_name(const ngx_grapevine_template_t *tpl);


/*
 * A named set of templates.  Names are referenced, not copied; adding a
 * name again replaces its template.
 * _set_link() resolves every partial and parent tag of every template of
 * the set to a template of the set (so rendering does no lookups), and
 * fails naming the file and line of the first it cannot find; it also
 * fails, naming the tag, when a template includes itself whatever the data
 * (through partials and parents outside any section or block), or includes
 * templates so, more than NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH deep: rendering
 * it would always fail.  _set_lookup() can be used as
 * ngx_grapevine_render_conf_t.partial with the set as its ctx.
 */
ngx_grapevine_template_set_t *ngx_grapevine_template_set_create(
    ngx_grapevine_arena_t *a);
int ngx_grapevine_template_set_add(ngx_grapevine_arena_t *a,
    ngx_grapevine_template_set_t *set, const u_char *name, size_t len,
    ngx_grapevine_template_t *tpl);
ngx_grapevine_template_t *ngx_grapevine_template_set_find(
    const ngx_grapevine_template_set_t *set, const u_char *name, size_t len);
ngx_grapevine_template_t *ngx_grapevine_template_set_lookup(void *set,
    const u_char *name, size_t len);
size_t ngx_grapevine_template_set_count(
    const ngx_grapevine_template_set_t *set);
int ngx_grapevine_template_set_link(ngx_grapevine_template_set_t *set,
    ngx_grapevine_template_err_t *err);

/*
 * Compiles every regular file "<name>.mustache" directly in the directory
 * into set as "<name>" (in name order, file names in messages are
 * "dir/<name>.mustache"), then links the set.  Uses malloc for the
 * directory listing and for reading the files, the arena for the rest.
 */
int ngx_grapevine_template_set_load_dir(ngx_grapevine_arena_t *a,
    ngx_grapevine_template_set_t *set, const char *dir,
    ngx_grapevine_template_err_t *err);


#endif /* _NGX_GRAPEVINE_TEMPLATE_H_INCLUDED_ */
