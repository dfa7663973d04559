
/*
 * Copyright (C) Grapevine contributors
 */


#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#include "ngx_grapevine_template.h"


#define NGX_GRAPEVINE_RENDER_BUFSIZE    4096
#define NGX_GRAPEVINE_TEMPLATE_MAXFILE  (16 * 1024 * 1024)

/* indentation strings in force at once while rendering */
#define NGX_GRAPEVINE_RENDER_MAXINDENT  (2 * NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH)

/*
 * Parents and blocks are rendered out of ngx_grapevine_render_ops():
 * inlined there, they cost every page 1.6% more instructions (callgrind,
 * t/unit/bench_template.c), for the registers its loop loses.
 */

#if defined(__GNUC__)
#define NGX_GRAPEVINE_NOINLINE  __attribute__ ((noinline))
#else
#define NGX_GRAPEVINE_NOINLINE
#endif


typedef enum {
    NGX_GRAPEVINE_OP_TEXT = 0,
    NGX_GRAPEVINE_OP_ESCAPED,
    NGX_GRAPEVINE_OP_RAW,
    NGX_GRAPEVINE_OP_SECTION,
    NGX_GRAPEVINE_OP_INVERTED,
    NGX_GRAPEVINE_OP_PARTIAL,
    NGX_GRAPEVINE_OP_PARENT,
    NGX_GRAPEVINE_OP_BLOCK
} ngx_grapevine_op_type_e;


/*
 * One instruction.  A section's body is the instructions that follow it up
 * to "end"; so are a parent's (its blocks, the arguments it passes) and a
 * block's (its content).  line_start marks an instruction that begins a
 * line of the source: inside an indented partial the indentation is
 * written before it.
 *
 * A PARENT, and a BLOCK outside a parent, is standalone when its line
 * goes: "indent" is then the indentation of what it expands to; otherwise
 * "indent" is the whitespace before it on its line, written as text.
 */

typedef struct {
    ngx_grapevine_op_type_e        type;
    unsigned                       line_start:1;
    unsigned                       standalone:1;
    unsigned                       argument:1;  /* BLOCK in a parent */
    unsigned                       dedented:1;  /* argument: see
                                                   ..._render_block() */
    size_t                         line;
    ngx_grapevine_str_t            text;     /* TEXT: text; others: name */
    ngx_grapevine_str_t           *parts;    /* dotted name, 0 parts: "." */

    /* a union: 8 bytes more per op cost a page 0.6% more instructions */

    union {
        size_t                     nparts;
        size_t                     next;     /* PARENT: its first argument,
                                                argument: the next; or 0 */
    } u;
    size_t                         end;      /* SECTION ... BLOCK */
    ngx_grapevine_str_t            indent;   /* PARTIAL, PARENT, BLOCK */
    ngx_grapevine_template_t      *target;   /* PARTIAL, PARENT once linked */
} ngx_grapevine_template_op_t;


struct ngx_grapevine_template_s {
    const char                    *name;
    ngx_grapevine_template_op_t   *ops;
    size_t                         nops;
    size_t                         nalloc;
    u_char                        *src;
    size_t                         len;
    unsigned                       visiting:1;   /* set_link's loop check */
    unsigned                       checked:1;
};


typedef struct {
    ngx_grapevine_str_t            name;
    ngx_grapevine_template_t      *tpl;
} ngx_grapevine_template_entry_t;


struct ngx_grapevine_template_set_s {
    ngx_grapevine_template_entry_t  *elts;
    size_t                           nelts;
    size_t                           nalloc;
};


/*
 * An open section, parent or block while compiling.  "held": the start of
 * the whitespace before a parent's or block's opening tag, kept out of the
 * text until the closing tag tells whether the pair is standalone (NULL
 * if the tag does not begin its line).  "dedent": a block's intrinsic
 * indentation, removed from the start of each line of its content.
 */

typedef struct {
    size_t                         op;
    size_t                         line;
    size_t                         last;     /* PARENT: its last argument */
    u_char                        *held;
    u_char                        *next;     /* the end of the opening tag */
    ngx_grapevine_str_t            dedent;
} ngx_grapevine_compile_section_t;


typedef struct {
    ngx_grapevine_arena_t         *arena;
    ngx_grapevine_template_t      *tpl;
    ngx_grapevine_template_err_t  *err;
    u_char                        *start;
    u_char                        *end;
    u_char                        *otag;
    size_t                         olen;
    u_char                        *ctag;
    size_t                         clen;
    u_char                        *bol;      /* a line's start, dedented */
    size_t                         ndedent;
    size_t                         nsections;
    ngx_grapevine_compile_section_t
                       sections[NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH];
} ngx_grapevine_compile_t;


/* what the whitespace around a tag is (ngx_grapevine_compile_clear()) */

#define NGX_GRAPEVINE_LCLEAR  0x01   /* only whitespace before it on its line */
#define NGX_GRAPEVINE_RCLEAR  0x02   /* only whitespace after it, a line end */
#define NGX_GRAPEVINE_CUT     0x04   /* the whitespace before it goes */
#define NGX_GRAPEVINE_EAT     0x08   /* and the rest of its line */
#define NGX_GRAPEVINE_PAIR    0x10   /* {{/b}} of "  {{$b}}{{/b}}\n" */


/*
 * A parent tag being rendered: the arguments it passes, and the
 * indentation in force where it is (for the lines of its arguments).
 */

typedef struct ngx_grapevine_render_frame_s  ngx_grapevine_render_frame_t;

struct ngx_grapevine_render_frame_s {
    const ngx_grapevine_template_t     *tpl;
    const ngx_grapevine_template_op_t  *op;
    size_t                              ibase;
    size_t                              nindent;
    ngx_grapevine_render_frame_t       *outer;
};


typedef struct {
    const ngx_grapevine_render_conf_t  *conf;
    ngx_grapevine_template_err_t       *err;
    const ngx_grapevine_template_t     *top;
    ngx_grapevine_render_frame_t       *frames;
    size_t                              depth;
    size_t                              nstack;
    size_t                              ibase;
    size_t                              nindent;
    size_t                              pos;
    unsigned                            quiet:1;   /* block_only */
    const ngx_grapevine_value_t
                        *stack[NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH + 1];
    ngx_grapevine_str_t  indent[NGX_GRAPEVINE_RENDER_MAXINDENT];
    u_char               buf[NGX_GRAPEVINE_RENDER_BUFSIZE];
} ngx_grapevine_render_t;


/*
 * ngx_grapevine_template_rest(): the templates walked (each once), and the
 * members of the data kept.
 */

typedef struct {
    const ngx_grapevine_render_conf_t  *conf;
    const ngx_grapevine_value_t        *data;
    ngx_grapevine_value_t              *rest;
    ngx_grapevine_arena_t              *arena;
    size_t                              nseen;
    const ngx_grapevine_template_t
                        *seen[NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH];
} ngx_grapevine_rest_t;


static void ngx_grapevine_template_error(ngx_grapevine_template_err_t *err,
    const char *name, size_t line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__ ((format (printf, 4, 5)))
#endif
    ;
static u_char *ngx_grapevine_find(u_char *p, u_char *last, u_char *s,
    size_t n);
static size_t ngx_grapevine_count_lines(u_char *p, u_char *last);
static ngx_grapevine_template_op_t *ngx_grapevine_compile_op(
    ngx_grapevine_compile_t *c, ngx_grapevine_op_type_e type, u_char *pos,
    size_t line);
static int ngx_grapevine_compile_text(ngx_grapevine_compile_t *c,
    u_char *p, u_char *last, size_t line);
static u_char *ngx_grapevine_compile_dedent(ngx_grapevine_compile_t *c,
    u_char *p, u_char *last);
static int ngx_grapevine_compile_bol(ngx_grapevine_compile_t *c, u_char *p);
static unsigned ngx_grapevine_compile_clear(ngx_grapevine_compile_t *c,
    u_char type, u_char *text, u_char *tag, u_char **ls, u_char **next,
    size_t *nl);
static int ngx_grapevine_compile_name(ngx_grapevine_compile_t *c,
    ngx_grapevine_template_op_t *op, u_char *p, u_char *last);
static int ngx_grapevine_compile_plain_name(ngx_grapevine_compile_t *c,
    const char *what, u_char *p, u_char *last, size_t line,
    ngx_grapevine_str_t *name);
static int ngx_grapevine_compile_delimiters(ngx_grapevine_compile_t *c,
    u_char *p, u_char *last, size_t line);
static int ngx_grapevine_compile_tag(ngx_grapevine_compile_t *c, u_char type,
    u_char *tag, u_char *p, u_char *last, size_t line, u_char *ls,
    u_char *next, unsigned how);
static int ngx_grapevine_compile_open(ngx_grapevine_compile_t *c,
    ngx_grapevine_template_op_t *op, size_t line, u_char *held, u_char *next,
    u_char *dedent);
static int ngx_grapevine_compile_block(ngx_grapevine_compile_t *c,
    u_char *tag, u_char *p, u_char *last, size_t line, u_char *ls,
    u_char *next, unsigned how);
static int ngx_grapevine_compile_close(ngx_grapevine_compile_t *c,
    u_char *p, u_char *last, size_t line, unsigned how);
static int ngx_grapevine_render_ops(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl, size_t from, size_t to);
static const ngx_grapevine_value_t *ngx_grapevine_render_lookup(
    ngx_grapevine_render_t *r, const ngx_grapevine_template_op_t *op);
static int ngx_grapevine_render_value(ngx_grapevine_render_t *r,
    const ngx_grapevine_value_t *v, int escape);
static int ngx_grapevine_render_escape(ngx_grapevine_render_t *r,
    const u_char *p, size_t n);
static int ngx_grapevine_render_text(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_op_t *op);
static int ngx_grapevine_render_indent(ngx_grapevine_render_t *r);
static int ngx_grapevine_render_out(ngx_grapevine_render_t *r,
    const u_char *p, size_t n);
static int ngx_grapevine_render_flush(ngx_grapevine_render_t *r);
static int ngx_grapevine_render_depth(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl,
    const ngx_grapevine_template_op_t *op);
static int ngx_grapevine_render_push(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl,
    const ngx_grapevine_template_op_t *op, const ngx_grapevine_str_t *s,
    size_t n);
static int ngx_grapevine_render_parent(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl,
    const ngx_grapevine_template_op_t *op) NGX_GRAPEVINE_NOINLINE;
static int ngx_grapevine_render_block(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl, size_t i) NGX_GRAPEVINE_NOINLINE;
static int ngx_grapevine_rest_ops(ngx_grapevine_rest_t *w,
    const ngx_grapevine_template_t *tpl);
static int ngx_grapevine_rest_include(ngx_grapevine_rest_t *w,
    const ngx_grapevine_template_op_t *op);
static int ngx_grapevine_template_check_loops(ngx_grapevine_template_t *tpl,
    size_t depth, ngx_grapevine_template_err_t *err);
static int ngx_grapevine_template_load_file(ngx_grapevine_arena_t *a,
    ngx_grapevine_template_set_t *set, const char *dir, const char *file,
    ngx_grapevine_template_err_t *err);
static int ngx_grapevine_template_cmp_names(const void *one,
    const void *two);


static const ngx_grapevine_value_t  ngx_grapevine_null_value;


#define ngx_grapevine_is_space(c)                                             \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')


/* 0: as is; else the index of the entity in ngx_grapevine_html_entities */

static const u_char  ngx_grapevine_html_escape[256] = {
    ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5
};


static const ngx_grapevine_str_t  ngx_grapevine_html_entities[] = {
    { 0, NULL },
    { 5, (u_char *) "&amp;" },
    { 4, (u_char *) "&lt;" },
    { 4, (u_char *) "&gt;" },
    { 6, (u_char *) "&quot;" },
    { 5, (u_char *) "&#39;" }
};


static void
ngx_grapevine_template_error(ngx_grapevine_template_err_t *err,
    const char *name, size_t line, const char *fmt, ...)
{
    int      n;
    size_t   len;
    va_list  args;

    if (err == NULL) {
        return;
    }

    err->line = line;
    len = 0;

    if (name != NULL && name[0] != '\0') {
        n = snprintf(err->msg, sizeof(err->msg), "%s: ", name);
        if (n > 0) {
            len = (size_t) n;
        }
    }

    if (line != 0 && len < sizeof(err->msg)) {
        n = snprintf(err->msg + len, sizeof(err->msg) - len, "line %lu: ",
                     (unsigned long) line);
        if (n > 0) {
            len += (size_t) n;
        }
    }

    if (len < sizeof(err->msg)) {
        va_start(args, fmt);
        vsnprintf(err->msg + len, sizeof(err->msg) - len, fmt, args);
        va_end(args);
    }
}


static u_char *
ngx_grapevine_find(u_char *p, u_char *last, u_char *s, size_t n)
{
    while ((size_t) (last - p) >= n) {
        p = memchr(p, s[0], last - p - n + 1);
        if (p == NULL) {
            return NULL;
        }

        if (memcmp(p + 1, s + 1, n - 1) == 0) {
            return p;
        }

        p++;
    }

    return NULL;
}


static size_t
ngx_grapevine_count_lines(u_char *p, u_char *last)
{
    size_t  n;

    n = 0;

    while (p < last) {
        p = memchr(p, '\n', last - p);
        if (p == NULL) {
            break;
        }

        n++;
        p++;
    }

    return n;
}


ngx_grapevine_template_t *
ngx_grapevine_template_compile(ngx_grapevine_arena_t *a, const u_char *src,
    size_t len, const char *name, ngx_grapevine_template_err_t *err)
{
    u_char                    *text, *tag, *p, *s, *e, *close, *next, *ls;
    u_char                     type;
    size_t                     line, tag_line, nl, n;
    unsigned                   how;
    const char                *what;
    ngx_grapevine_template_t  *tpl;
    ngx_grapevine_compile_t    c;

    if (name == NULL) {
        name = "";
    }

    tpl = ngx_grapevine_arena_alloc(a, sizeof(ngx_grapevine_template_t));
    if (tpl == NULL) {
        goto nomem;
    }

    memset(tpl, 0, sizeof(ngx_grapevine_template_t));

    n = strlen(name);

    tpl->name = (char *) ngx_grapevine_arena_copy(a, (u_char *) name, n + 1);
    if (tpl->name == NULL) {
        goto nomem;
    }

    tpl->src = ngx_grapevine_arena_copy(a, src, len);
    if (tpl->src == NULL) {
        goto nomem;
    }

    tpl->len = len;

    memset(&c, 0, sizeof(ngx_grapevine_compile_t));

    c.arena = a;
    c.tpl = tpl;
    c.err = err;
    c.start = tpl->src;
    c.end = tpl->src + len;
    c.otag = (u_char *) "{{";
    c.olen = 2;
    c.ctag = (u_char *) "}}";
    c.clen = 2;

    text = c.start;
    line = 1;

    for ( ;; ) {

        tag = ngx_grapevine_find(text, c.end, c.otag, c.olen);

        if (tag == NULL) {
            if (ngx_grapevine_compile_text(&c, text, c.end, line)
                != NGX_GRAPEVINE_OK)
            {
                return NULL;
            }

            break;
        }

        tag_line = line + ngx_grapevine_count_lines(text, tag);

        /* the tag's type, content and end */

        s = tag + c.olen;

        if (s == c.end) {
            ngx_grapevine_template_error(err, name, tag_line,
                                         "unclosed tag \"%.*s\"",
                                         (int) c.olen, c.otag);
            return NULL;
        }

        type = *s;

        switch (type) {
        case '{':
        case '=':
        case '&':
        case '#':
        case '^':
        case '/':
        case '!':
        case '>':
        case '<':
        case '$':
            s++;
            break;

        default:
            type = 'v';
        }

        p = s;

        for ( ;; ) {
            close = ngx_grapevine_find(p, c.end, c.ctag, c.clen);

            if (close == NULL) {
                break;
            }

            if (type != '{' && type != '=') {
                break;
            }

            /* "}}}" and "=}}" */

            if (close > s && close[-1] == (type == '{' ? '}' : '=')) {
                break;
            }

            p = close + 1;
        }

        if (close == NULL) {
            ngx_grapevine_template_error(err, name, tag_line,
                                         "unclosed tag \"%.*s\"",
                                         (int) c.olen, c.otag);
            return NULL;
        }

        next = close + c.clen;
        e = (type == '{' || type == '=') ? close - 1 : close;

        if (type != '!' && ngx_grapevine_find(s, e, c.otag, c.olen) != NULL) {
            ngx_grapevine_template_error(err, name, tag_line,
                                         "unclosed tag \"%.*s\"",
                                         (int) c.olen, c.otag);
            return NULL;
        }

        /* the spec's standalone lines: only whitespace around the tag */

        how = ngx_grapevine_compile_clear(&c, type, text, tag, &ls, &next,
                                          &nl);

        if (ngx_grapevine_compile_text(&c, text,
                                       (how & NGX_GRAPEVINE_CUT) ? ls : tag,
                                       line)
            != NGX_GRAPEVINE_OK)
        {
            return NULL;
        }

        if (ngx_grapevine_compile_tag(&c, type, tag, s, e, tag_line, ls,
                                      next, how)
            != NGX_GRAPEVINE_OK)
        {
            return NULL;
        }

        line = tag_line + ngx_grapevine_count_lines(tag, close) + nl;
        text = next;
    }

    if (c.nsections) {
        n = c.sections[c.nsections - 1].op;

        switch (tpl->ops[n].type) {
        case NGX_GRAPEVINE_OP_PARENT:
            what = "parent";
            break;
        case NGX_GRAPEVINE_OP_BLOCK:
            what = "block";
            break;
        default:
            what = "section";
        }

        ngx_grapevine_template_error(err, name,
                                     c.sections[c.nsections - 1].line,
                                     "unclosed %s \"%.*s\"", what,
                                     (int) tpl->ops[n].text.len,
                                     tpl->ops[n].text.data);
        return NULL;
    }

    return tpl;

nomem:

    ngx_grapevine_template_error(err, name, 0, "out of memory");

    return NULL;
}


static ngx_grapevine_template_op_t *
ngx_grapevine_compile_op(ngx_grapevine_compile_t *c,
    ngx_grapevine_op_type_e type, u_char *pos, size_t line)
{
    void                         *ops;
    ngx_grapevine_template_t     *tpl;
    ngx_grapevine_template_op_t  *op;

    tpl = c->tpl;

    if (tpl->nops == tpl->nalloc) {
        ops = ngx_grapevine_arena_grow(c->arena, tpl->ops, tpl->nops,
                                       &tpl->nalloc,
                                       sizeof(ngx_grapevine_template_op_t));
        if (ops == NULL) {
            ngx_grapevine_template_error(c->err, tpl->name, 0,
                                         "out of memory");
            return NULL;
        }

        tpl->ops = ops;
    }

    op = &tpl->ops[tpl->nops++];

    memset(op, 0, sizeof(ngx_grapevine_template_op_t));

    op->type = type;
    op->line = line;
    op->line_start = ngx_grapevine_compile_bol(c, pos);

    return op;
}


/* at the start of a line: only what the dedent removes before p */

static int
ngx_grapevine_compile_bol(ngx_grapevine_compile_t *c, u_char *p)
{
    return p == c->start || p[-1] == '\n' || p == c->bol;
}


/*
 * The text between two tags.  In a parent it is ignored; in a block with
 * an intrinsic indentation, it goes one op per line, without the
 * indentation the dedent removes.
 */

static int
ngx_grapevine_compile_text(ngx_grapevine_compile_t *c, u_char *p,
    u_char *last, size_t line)
{
    u_char                       *nl, *e;
    ngx_grapevine_template_op_t  *op;

    if (p == last) {
        return NGX_GRAPEVINE_OK;
    }

    if (c->nsections
        && c->tpl->ops[c->sections[c->nsections - 1].op].type
           == NGX_GRAPEVINE_OP_PARENT)
    {
        return NGX_GRAPEVINE_OK;
    }

    if (c->ndedent == 0) {
        op = ngx_grapevine_compile_op(c, NGX_GRAPEVINE_OP_TEXT, p, line);
        if (op == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        op->text.data = p;
        op->text.len = last - p;

        return NGX_GRAPEVINE_OK;
    }

    for ( ;; ) {

        if (p == c->start || p[-1] == '\n') {
            p = ngx_grapevine_compile_dedent(c, p, last);
            c->bol = p;

            if (p == last) {
                return NGX_GRAPEVINE_OK;
            }
        }

        nl = memchr(p, '\n', last - p);
        e = nl ? nl + 1 : last;

        op = ngx_grapevine_compile_op(c, NGX_GRAPEVINE_OP_TEXT, p, line);
        if (op == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        op->text.data = p;
        op->text.len = e - p;

        if (e == last) {
            return NGX_GRAPEVINE_OK;
        }

        p = e;
        line++;
    }
}


/*
 * p at the start of a line: past the intrinsic indentation of each open
 * block, outermost first, as far as the line's whitespace matches it.
 */

static u_char *
ngx_grapevine_compile_dedent(ngx_grapevine_compile_t *c, u_char *p,
    u_char *last)
{
    size_t                i, k;
    ngx_grapevine_str_t  *d;

    for (i = 0; i < c->nsections; i++) {
        d = &c->sections[i].dedent;

        for (k = 0; k < d->len && p < last && *p == d->data[k]; k++) {
            p++;
        }
    }

    return p;
}


/*
 * The spec's standalone lines: a tag that renders nothing and is alone on
 * its line with whitespace takes the line with it.  Returns what the
 * whitespace around the tag is and what goes (NGX_GRAPEVINE_CUT: the text
 * before the tag ends at *ls; NGX_GRAPEVINE_EAT: the text after it begins
 * at *next, past the line end, and *nl is 1).
 *
 * Parents and blocks (mustache/spec's ~inheritance, with the rules of its
 * pull request 131):
 *  - a parent's tags are standalone as a pair: the opening tag begins its
 *    line and the closing tag ends its line, whatever is between;
 *  - a block passed to a parent (an argument) keeps none of the whitespace
 *    around it: the line end after its opening tag and the whitespace
 *    before its closing tag are not its content;
 *  - other blocks are standalone as single tags are, and "{{$b}}{{/b}}"
 *    alone on a line is standalone as a pair, but keeps its line end.
 */

static unsigned
ngx_grapevine_compile_clear(ngx_grapevine_compile_t *c, u_char type,
    u_char *text, u_char *tag, u_char **ls, u_char **next, size_t *nl)
{
    u_char                           *p;
    size_t                            n;
    unsigned                          how;
    ngx_grapevine_op_type_e           top;
    ngx_grapevine_template_op_t      *open;
    ngx_grapevine_compile_section_t  *sec;

    *ls = tag;
    *nl = 0;

    if (type == 'v' || type == '{' || type == '&') {
        return 0;
    }

    how = 0;
    n = 0;
    p = tag;

    while (p > text && (p[-1] == ' ' || p[-1] == '\t')) {
        p--;
    }

    if (p > text ? p[-1] == '\n' : (text == c->start || text[-1] == '\n')) {
        how |= NGX_GRAPEVINE_LCLEAR;
        *ls = p;
    }

    p = *next;

    while (p < c->end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p == c->end) {
        how |= NGX_GRAPEVINE_RCLEAR;

    } else if (*p == '\n') {
        how |= NGX_GRAPEVINE_RCLEAR;
        n = 1;
        p++;

    } else if (*p == '\r' && p + 1 < c->end && p[1] == '\n') {
        how |= NGX_GRAPEVINE_RCLEAR;
        n = 1;
        p += 2;
    }

    /* what is open: TEXT for nothing */

    sec = NULL;
    open = NULL;
    top = NGX_GRAPEVINE_OP_TEXT;

    if (c->nsections) {
        sec = &c->sections[c->nsections - 1];
        open = &c->tpl->ops[sec->op];
        top = open->type;
    }

    switch (type) {

    case '<':
        /* the line end, if the closing tag is standalone */

        if (how & NGX_GRAPEVINE_LCLEAR) {
            how |= NGX_GRAPEVINE_CUT;
        }

        break;

    case '$':
        if (top == NGX_GRAPEVINE_OP_PARENT) {
            if (how & NGX_GRAPEVINE_RCLEAR) {
                how |= NGX_GRAPEVINE_EAT;
            }

            break;
        }

        if (how & NGX_GRAPEVINE_LCLEAR) {
            how |= NGX_GRAPEVINE_CUT;

            if (how & NGX_GRAPEVINE_RCLEAR) {
                how |= NGX_GRAPEVINE_EAT;
            }
        }

        break;

    case '/':
        if (top == NGX_GRAPEVINE_OP_PARENT) {
            if (sec->held && (how & NGX_GRAPEVINE_RCLEAR)) {
                how |= NGX_GRAPEVINE_EAT;
            }

            break;
        }

        if (top == NGX_GRAPEVINE_OP_BLOCK) {

            if (open->argument) {
                if (how & NGX_GRAPEVINE_LCLEAR) {
                    how |= NGX_GRAPEVINE_CUT;
                }

                break;
            }

            if (sec->held && tag == sec->next
                && (how & NGX_GRAPEVINE_RCLEAR))
            {
                how |= NGX_GRAPEVINE_PAIR;
                break;
            }
        }

        /* fall through */

    default:
        if ((how & NGX_GRAPEVINE_LCLEAR) && (how & NGX_GRAPEVINE_RCLEAR)) {
            how |= NGX_GRAPEVINE_CUT|NGX_GRAPEVINE_EAT;
        }
    }

    if (how & NGX_GRAPEVINE_EAT) {
        *next = p;
        *nl = n;
    }

    if (!(how & NGX_GRAPEVINE_CUT)) {
        *ls = tag;
    }

    return how;
}


static int
ngx_grapevine_compile_tag(ngx_grapevine_compile_t *c, u_char type,
    u_char *tag, u_char *p, u_char *last, size_t line, u_char *ls,
    u_char *next, unsigned how)
{
    const char                   *what;
    ngx_grapevine_str_t           name;
    ngx_grapevine_template_op_t  *op, *parent;

    if (c->nsections
        && c->tpl->ops[c->sections[c->nsections - 1].op].type
           == NGX_GRAPEVINE_OP_PARENT)
    {
        parent = &c->tpl->ops[c->sections[c->nsections - 1].op];

        switch (type) {
        case '!':
        case '=':
        case '$':
        case '/':
            break;

        default:
            switch (type) {
            case '#':
                what = "section";
                break;
            case '^':
                what = "inverted section";
                break;
            case '>':
                what = "partial";
                break;
            case '<':
                what = "parent";
                break;
            default:
                what = "variable";
            }

            while (p < last && ngx_grapevine_is_space(*p)) {
                p++;
            }

            while (last > p && ngx_grapevine_is_space(last[-1])) {
                last--;
            }

            ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                         "%s \"%.*s\" in parent \"%.*s\" is "
                                         "outside any block", what,
                                         (int) (last - p), p,
                                         (int) parent->text.len,
                                         parent->text.data);
            return NGX_GRAPEVINE_ERROR;
        }

    } else if (!(how & NGX_GRAPEVINE_CUT)
               && (type == '!' || type == '=' || type == '/')
               && ngx_grapevine_compile_bol(c, tag))
    {
        /*
         * an empty text that begins the line, for the indentation of what
         * follows on it (inside an indented partial)
         */

        op = ngx_grapevine_compile_op(c, NGX_GRAPEVINE_OP_TEXT, tag, line);
        if (op == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        op->text.data = tag;
    }

    switch (type) {

    case '!':
        return NGX_GRAPEVINE_OK;

    case '=':
        return ngx_grapevine_compile_delimiters(c, p, last, line);

    case '/':
        return ngx_grapevine_compile_close(c, p, last, line, how);

    case '$':
        return ngx_grapevine_compile_block(c, tag, p, last, line, ls, next,
                                           how);

    case '>':
    case '<':
        if (ngx_grapevine_compile_plain_name(c, type == '>' ? "partial"
                                                            : "parent",
                                             p, last, line, &name)
            != NGX_GRAPEVINE_OK)
        {
            return NGX_GRAPEVINE_ERROR;
        }

        op = ngx_grapevine_compile_op(c, type == '>'
                                         ? NGX_GRAPEVINE_OP_PARTIAL
                                         : NGX_GRAPEVINE_OP_PARENT,
                                      ls, line);
        if (op == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        op->text = name;

        if (how & NGX_GRAPEVINE_CUT) {
            /* a partial's indentation, or a parent's, held until its end */

            op->indent.data = ngx_grapevine_compile_dedent(c, ls, tag);
            op->indent.len = tag - op->indent.data;
        }

        if (type == '<') {
            return ngx_grapevine_compile_open(c, op, line,
                                              (how & NGX_GRAPEVINE_CUT)
                                              ? ls : NULL,
                                              next, NULL);
        }

        if (how & NGX_GRAPEVINE_CUT) {
            op->line_start = 0;
            op->standalone = 1;
        }

        return NGX_GRAPEVINE_OK;

    case '#':
    case '^':
        op = ngx_grapevine_compile_op(c, type == '#'
                                         ? NGX_GRAPEVINE_OP_SECTION
                                         : NGX_GRAPEVINE_OP_INVERTED,
                                      tag, line);
        break;

    case '{':
    case '&':
        op = ngx_grapevine_compile_op(c, NGX_GRAPEVINE_OP_RAW, tag, line);
        break;

    default: /* 'v' */
        op = ngx_grapevine_compile_op(c, NGX_GRAPEVINE_OP_ESCAPED, tag, line);
        break;
    }

    if (op == NULL) {
        return NGX_GRAPEVINE_ERROR;
    }

    if (how & NGX_GRAPEVINE_CUT) {
        /* the line is removed: no indentation for it */
        op->line_start = 0;
    }

    if (ngx_grapevine_compile_name(c, op, p, last) != NGX_GRAPEVINE_OK) {
        return NGX_GRAPEVINE_ERROR;
    }

    if (type == '#' || type == '^') {
        return ngx_grapevine_compile_open(c, op, line, NULL, next, NULL);
    }

    return NGX_GRAPEVINE_OK;
}


/*
 * Opens a section, parent or block; dedent: the start of the first line
 * of a block's content, whose whitespace is its intrinsic indentation.
 */

static int
ngx_grapevine_compile_open(ngx_grapevine_compile_t *c,
    ngx_grapevine_template_op_t *op, size_t line, u_char *held, u_char *next,
    u_char *dedent)
{
    u_char                           *p;
    ngx_grapevine_compile_section_t  *sec;

    if (c->nsections == NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH) {
        ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                     "sections nested deeper than %d",
                                     NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH);
        return NGX_GRAPEVINE_ERROR;
    }

    sec = &c->sections[c->nsections];

    sec->op = op - c->tpl->ops;
    sec->line = line;
    sec->last = 0;
    sec->held = held;
    sec->next = next;
    sec->dedent.data = NULL;
    sec->dedent.len = 0;

    if (dedent != NULL) {
        dedent = ngx_grapevine_compile_dedent(c, dedent, c->end);

        for (p = dedent; p < c->end && (*p == ' ' || *p == '\t'); p++) {
            /* void */
        }

        sec->dedent.data = dedent;
        sec->dedent.len = p - dedent;

        if (sec->dedent.len) {
            c->ndedent++;
        }
    }

    c->nsections++;

    return NGX_GRAPEVINE_OK;
}


/*
 * {{$name}}: in a parent, an argument, chained to the parent's others;
 * elsewhere, a block whose content is its default.  Either has its
 * content dedented when its opening tag ends its line.
 */

static int
ngx_grapevine_compile_block(ngx_grapevine_compile_t *c, u_char *tag,
    u_char *p, u_char *last, size_t line, u_char *ls, u_char *next,
    unsigned how)
{
    size_t                            k;
    ngx_grapevine_str_t               name;
    ngx_grapevine_template_op_t      *op, *parent, *arg;
    ngx_grapevine_compile_section_t  *sec;

    if (ngx_grapevine_compile_plain_name(c, "block", p, last, line, &name)
        != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    sec = c->nsections ? &c->sections[c->nsections - 1] : NULL;

    if (sec == NULL || c->tpl->ops[sec->op].type != NGX_GRAPEVINE_OP_PARENT) {

        op = ngx_grapevine_compile_op(c, NGX_GRAPEVINE_OP_BLOCK, ls, line);
        if (op == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        op->text = name;

        if (how & NGX_GRAPEVINE_CUT) {
            op->indent.data = ngx_grapevine_compile_dedent(c, ls, tag);
            op->indent.len = tag - op->indent.data;
        }

        if (how & NGX_GRAPEVINE_EAT) {
            op->line_start = 0;
            op->standalone = 1;

            return ngx_grapevine_compile_open(c, op, line, NULL, next, next);
        }

        return ngx_grapevine_compile_open(c, op, line,
                                          (how & NGX_GRAPEVINE_CUT)
                                          ? ls : NULL,
                                          next, NULL);
    }

    parent = &c->tpl->ops[sec->op];

    for (k = parent->u.next; k; k = c->tpl->ops[k].u.next) {
        arg = &c->tpl->ops[k];

        if (arg->text.len == name.len
            && memcmp(arg->text.data, name.data, name.len) == 0)
        {
            ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                         "block \"%.*s\" passed twice to "
                                         "parent \"%.*s\" (first on line "
                                         "%lu)", (int) name.len, name.data,
                                         (int) parent->text.len,
                                         parent->text.data,
                                         (unsigned long) arg->line);
            return NGX_GRAPEVINE_ERROR;
        }
    }

    k = sec->last;

    op = ngx_grapevine_compile_op(c, NGX_GRAPEVINE_OP_BLOCK, tag, line);
    if (op == NULL) {
        return NGX_GRAPEVINE_ERROR;
    }

    /* the ops may have moved */

    parent = &c->tpl->ops[sec->op];

    op->text = name;
    op->argument = 1;
    op->line_start = 0;

    if (k) {
        c->tpl->ops[k].u.next = op - c->tpl->ops;

    } else {
        parent->u.next = op - c->tpl->ops;
    }

    sec->last = op - c->tpl->ops;

    if (how & NGX_GRAPEVINE_EAT) {
        op->dedented = 1;
        return ngx_grapevine_compile_open(c, op, line, NULL, next, next);
    }

    return ngx_grapevine_compile_open(c, op, line, NULL, next, NULL);
}


static int
ngx_grapevine_compile_close(ngx_grapevine_compile_t *c, u_char *p,
    u_char *last, size_t line, unsigned how)
{
    ngx_grapevine_str_t               name;
    ngx_grapevine_template_op_t      *open, tmp;
    ngx_grapevine_compile_section_t  *sec;

    sec = c->nsections ? &c->sections[c->nsections - 1] : NULL;
    open = sec ? &c->tpl->ops[sec->op] : NULL;

    if (open == NULL
        || open->type == NGX_GRAPEVINE_OP_SECTION
        || open->type == NGX_GRAPEVINE_OP_INVERTED)
    {
        memset(&tmp, 0, sizeof(ngx_grapevine_template_op_t));
        tmp.line = line;

        if (ngx_grapevine_compile_name(c, &tmp, p, last) != NGX_GRAPEVINE_OK) {
            return NGX_GRAPEVINE_ERROR;
        }

        name = tmp.text;

    } else if (ngx_grapevine_compile_plain_name(c, NULL, p, last, line,
                                                &name)
               != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    if (open == NULL) {
        ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                     "close of unopened section \"%.*s\"",
                                     (int) name.len, name.data);
        return NGX_GRAPEVINE_ERROR;
    }

    if (open->text.len != name.len
        || memcmp(open->text.data, name.data, name.len) != 0)
    {
        ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                     "mismatched close \"%.*s\", expected "
                                     "\"%.*s\" (opened on line %lu)",
                                     (int) name.len, name.data,
                                     (int) open->text.len, open->text.data,
                                     (unsigned long) sec->line);
        return NGX_GRAPEVINE_ERROR;
    }

    open->end = c->tpl->nops;

    switch (open->type) {

    case NGX_GRAPEVINE_OP_PARENT:
        if (how & NGX_GRAPEVINE_EAT) {
            /* standalone: "indent" is the indentation of the parent */
            open->line_start = 0;
            open->standalone = 1;
        }

        break;

    case NGX_GRAPEVINE_OP_BLOCK:
        if (open->argument) {
            break;
        }

        if (open->standalone) {
            /*
             * the opening tag's line is gone: the block is indented as its
             * content is, or, without content, as the tag is
             */

            if (open->end > sec->op + 1) {
                open->indent = sec->dedent;
            }

        } else if (how & NGX_GRAPEVINE_PAIR) {
            open->line_start = 0;
            open->standalone = 1;
        }

        break;

    default:
        break;
    }

    if (sec->dedent.len) {
        c->ndedent--;
    }

    c->nsections--;

    return NGX_GRAPEVINE_OK;
}


/* a partial's, parent's or block's name: no whitespace in it */

static int
ngx_grapevine_compile_plain_name(ngx_grapevine_compile_t *c,
    const char *what, u_char *p, u_char *last, size_t line,
    ngx_grapevine_str_t *name)
{
    u_char  *s;

    while (p < last && ngx_grapevine_is_space(*p)) {
        p++;
    }

    while (last > p && ngx_grapevine_is_space(last[-1])) {
        last--;
    }

    for (s = p; s < last; s++) {
        if (ngx_grapevine_is_space(*s)) {
            break;
        }
    }

    if (p == last && what == NULL) {
        ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                     "empty tag");
        return NGX_GRAPEVINE_ERROR;
    }

    if (p == last || s != last) {
        ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                     "invalid %s name \"%.*s\"",
                                     what ? what : "closing", (int) (last - p),
                                     p);
        return NGX_GRAPEVINE_ERROR;
    }

    name->data = p;
    name->len = last - p;

    return NGX_GRAPEVINE_OK;
}


/* "name", "a.b.c" or "." */

static int
ngx_grapevine_compile_name(ngx_grapevine_compile_t *c,
    ngx_grapevine_template_op_t *op, u_char *p, u_char *last)
{
    size_t                n;
    u_char               *s, *dot;
    ngx_grapevine_str_t  *part;

    while (p < last && ngx_grapevine_is_space(*p)) {
        p++;
    }

    while (last > p && ngx_grapevine_is_space(last[-1])) {
        last--;
    }

    op->text.data = p;
    op->text.len = last - p;

    if (p == last) {
        ngx_grapevine_template_error(c->err, c->tpl->name, op->line,
                                     "empty tag");
        return NGX_GRAPEVINE_ERROR;
    }

    if (last - p == 1 && *p == '.') {
        op->u.nparts = 0;
        return NGX_GRAPEVINE_OK;
    }

    n = 1;

    for (s = p; s < last; s++) {

        if (ngx_grapevine_is_space(*s)
            || (*s == '.' && (s == p || s + 1 == last || s[1] == '.')))
        {
            ngx_grapevine_template_error(c->err, c->tpl->name, op->line,
                                         "invalid name \"%.*s\"",
                                         (int) (last - p), p);
            return NGX_GRAPEVINE_ERROR;
        }

        if (*s == '.') {
            n++;
        }
    }

    part = ngx_grapevine_arena_alloc(c->arena,
                                     n * sizeof(ngx_grapevine_str_t));
    if (part == NULL) {
        ngx_grapevine_template_error(c->err, c->tpl->name, 0,
                                     "out of memory");
        return NGX_GRAPEVINE_ERROR;
    }

    op->parts = part;
    op->u.nparts = n;

    for ( ;; ) {
        dot = memchr(p, '.', last - p);

        part->data = p;
        part->len = (dot ? dot : last) - p;

        if (dot == NULL) {
            break;
        }

        part++;
        p = dot + 1;
    }

    return NGX_GRAPEVINE_OK;
}


/* "<% %>" of {{=<% %>=}} */

static int
ngx_grapevine_compile_delimiters(ngx_grapevine_compile_t *c, u_char *p,
    u_char *last, size_t line)
{
    u_char  *start, *end, *o, *oe, *t, *te;

    start = p;
    end = last;

    while (p < last && ngx_grapevine_is_space(*p)) {
        p++;
    }

    while (last > p && ngx_grapevine_is_space(last[-1])) {
        last--;
    }

    o = p;

    while (p < last && !ngx_grapevine_is_space(*p)) {
        p++;
    }

    oe = p;

    while (p < last && ngx_grapevine_is_space(*p)) {
        p++;
    }

    t = p;

    while (p < last && !ngx_grapevine_is_space(*p)) {
        p++;
    }

    te = p;

    if (o == oe || t == te || te != last
        || memchr(o, '=', oe - o) != NULL || memchr(t, '=', te - t) != NULL)
    {
        ngx_grapevine_template_error(c->err, c->tpl->name, line,
                                     "invalid delimiters \"%.*s\"",
                                     (int) (end - start), start);
        return NGX_GRAPEVINE_ERROR;
    }

    c->otag = o;
    c->olen = oe - o;
    c->ctag = t;
    c->clen = te - t;

    return NGX_GRAPEVINE_OK;
}


const char *
ngx_grapevine_template_name(const ngx_grapevine_template_t *tpl)
{
    return tpl->name;
}


int
ngx_grapevine_template_render(const ngx_grapevine_template_t *tpl,
    const ngx_grapevine_value_t *data, const ngx_grapevine_render_conf_t *rc,
    ngx_grapevine_template_err_t *err)
{
    ngx_grapevine_render_t  r;

    r.conf = rc;
    r.err = err;
    r.top = tpl;
    r.frames = NULL;
    r.depth = 0;
    r.nstack = 1;
    r.ibase = 0;
    r.nindent = 0;
    r.pos = 0;
    r.quiet = rc->block_only;
    r.stack[0] = data ? data : &ngx_grapevine_null_value;

    if (ngx_grapevine_render_ops(&r, tpl, 0, tpl->nops) != NGX_GRAPEVINE_OK) {
        return NGX_GRAPEVINE_ERROR;
    }

    return ngx_grapevine_render_flush(&r);
}


/*
 * The members of data that rendering tpl with rc->block filled may read:
 * the first part of every name outside the blocks of that name, in tpl and
 * in every partial and parent it may include, whatever the data.  A name
 * in a section may be found in the section's value instead: it is kept all
 * the same.
 */

ngx_grapevine_value_t *
ngx_grapevine_template_rest(const ngx_grapevine_template_t *tpl,
    const ngx_grapevine_value_t *data, const ngx_grapevine_render_conf_t *rc,
    ngx_grapevine_arena_t *a)
{
    ngx_grapevine_rest_t  w;

    if (data == NULL || data->type != NGX_GRAPEVINE_VALUE_OBJECT) {
        return NULL;
    }

    w.conf = rc;
    w.data = data;
    w.arena = a;
    w.nseen = 0;

    w.rest = ngx_grapevine_value_object(a, 8);
    if (w.rest == NULL) {
        return NULL;
    }

    w.seen[w.nseen++] = tpl;

    if (ngx_grapevine_rest_ops(&w, tpl) != NGX_GRAPEVINE_OK) {
        return NULL;
    }

    return w.rest;
}


static int
ngx_grapevine_rest_ops(ngx_grapevine_rest_t *w,
    const ngx_grapevine_template_t *tpl)
{
    size_t                              i, outside;
    ngx_grapevine_value_t              *v;
    const ngx_grapevine_template_op_t  *op;

    /* the ops from "outside" on are in no section of this template */

    outside = 0;
    i = 0;

    while (i < tpl->nops) {

        op = &tpl->ops[i];

        switch (op->type) {

        case NGX_GRAPEVINE_OP_TEXT:
            i++;
            continue;

        case NGX_GRAPEVINE_OP_PARTIAL:
        case NGX_GRAPEVINE_OP_PARENT:

            /* a parent's arguments are the ops that follow it */

            if (ngx_grapevine_rest_include(w, op) != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            i++;
            continue;

        case NGX_GRAPEVINE_OP_BLOCK:
            if (op->text.len == w->conf->block.len
                && memcmp(op->text.data, w->conf->block.data, op->text.len)
                   == 0)
            {
                /* written as its kept text */
                i = op->end;
                continue;
            }

            i++;
            continue;

        default: /* ESCAPED, RAW, SECTION, INVERTED */

            if (op->u.nparts == 0) {
                if (i >= outside) {
                    /* "." outside a section: the data as a whole */
                    return NGX_GRAPEVINE_ERROR;
                }

                i++;
                continue;
            }

            if ((op->type == NGX_GRAPEVINE_OP_SECTION
                 || op->type == NGX_GRAPEVINE_OP_INVERTED)
                && i >= outside)
            {
                outside = op->end;
            }

            v = ngx_grapevine_object_get(w->data, op->parts[0].data,
                                         op->parts[0].len);

            if (v != NULL
                && ngx_grapevine_object_get(w->rest, op->parts[0].data,
                                            op->parts[0].len)
                   == NULL
                && ngx_grapevine_object_add(w->arena, w->rest,
                                            op->parts[0].data,
                                            op->parts[0].len, v)
                   != NGX_GRAPEVINE_OK)
            {
                return NGX_GRAPEVINE_ERROR;
            }

            i++;
            continue;
        }
    }

    return NGX_GRAPEVINE_OK;
}


/* a partial or a parent, walked once */

static int
ngx_grapevine_rest_include(ngx_grapevine_rest_t *w,
    const ngx_grapevine_template_op_t *op)
{
    size_t                           k;
    const ngx_grapevine_template_t  *tpl;

    tpl = op->target;

    if (tpl == NULL && w->conf->partial != NULL) {
        tpl = w->conf->partial(w->conf->partial_ctx, op->text.data,
                               op->text.len);
    }

    if (tpl == NULL) {
        /* what the renderer would do with it is not told here */
        return NGX_GRAPEVINE_ERROR;
    }

    for (k = 0; k < w->nseen; k++) {
        if (w->seen[k] == tpl) {
            return NGX_GRAPEVINE_OK;
        }
    }

    if (w->nseen == NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH) {
        return NGX_GRAPEVINE_ERROR;
    }

    w->seen[w->nseen++] = tpl;

    return ngx_grapevine_rest_ops(w, tpl);
}


static int
ngx_grapevine_render_ops(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl, size_t from, size_t to)
{
    int                                 rc;
    size_t                              i, k, ibase, nindent;
    const ngx_grapevine_value_t        *v;
    const ngx_grapevine_template_t     *partial;
    const ngx_grapevine_template_op_t  *op;

    i = from;

    while (i < to) {

        op = &tpl->ops[i];

        if (op->line_start && r->nindent > r->ibase) {
            if (ngx_grapevine_render_indent(r) != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }
        }

        switch (op->type) {

        case NGX_GRAPEVINE_OP_TEXT:
            if (r->nindent > r->ibase) {
                rc = ngx_grapevine_render_text(r, op);

            } else {
                rc = ngx_grapevine_render_out(r, op->text.data, op->text.len);
            }

            if (rc != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            i++;
            break;

        case NGX_GRAPEVINE_OP_ESCAPED:
        case NGX_GRAPEVINE_OP_RAW:
            v = ngx_grapevine_render_lookup(r, op);

            if (v != NULL
                && ngx_grapevine_render_value(r, v,
                                              op->type
                                              == NGX_GRAPEVINE_OP_ESCAPED)
                   != NGX_GRAPEVINE_OK)
            {
                return NGX_GRAPEVINE_ERROR;
            }

            i++;
            break;

        case NGX_GRAPEVINE_OP_SECTION:
            v = ngx_grapevine_render_lookup(r, op);

            if (!ngx_grapevine_value_truthy(v)) {
                i = op->end;
                break;
            }

            if (ngx_grapevine_render_depth(r, tpl, op) != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            r->depth++;

            if (v->type == NGX_GRAPEVINE_VALUE_ARRAY) {

                for (k = 0; k < v->u.array.nelts; k++) {
                    r->stack[r->nstack++] = v->u.array.elts[k];
                    rc = ngx_grapevine_render_ops(r, tpl, i + 1, op->end);
                    r->nstack--;

                    if (rc != NGX_GRAPEVINE_OK) {
                        return NGX_GRAPEVINE_ERROR;
                    }
                }

            } else {
                r->stack[r->nstack++] = v;
                rc = ngx_grapevine_render_ops(r, tpl, i + 1, op->end);
                r->nstack--;

                if (rc != NGX_GRAPEVINE_OK) {
                    return NGX_GRAPEVINE_ERROR;
                }
            }

            r->depth--;

            i = op->end;
            break;

        case NGX_GRAPEVINE_OP_INVERTED:
            v = ngx_grapevine_render_lookup(r, op);

            if (ngx_grapevine_value_truthy(v)) {
                i = op->end;
                break;
            }

            if (ngx_grapevine_render_depth(r, tpl, op) != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            r->depth++;

            if (ngx_grapevine_render_ops(r, tpl, i + 1, op->end)
                != NGX_GRAPEVINE_OK)
            {
                return NGX_GRAPEVINE_ERROR;
            }

            r->depth--;

            i = op->end;
            break;

        case NGX_GRAPEVINE_OP_PARTIAL:
            i++;

            partial = op->target;

            if (partial == NULL && r->conf->partial != NULL) {
                partial = r->conf->partial(r->conf->partial_ctx,
                                           op->text.data, op->text.len);
            }

            if (partial == NULL) {
                if (r->conf->strict_partials) {
                    ngx_grapevine_template_error(r->err, tpl->name, op->line,
                                                 "partial \"%.*s\" not found",
                                                 (int) op->text.len,
                                                 op->text.data);
                    return NGX_GRAPEVINE_ERROR;
                }

                break;
            }

            if (ngx_grapevine_render_depth(r, tpl, op) != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            r->depth++;

            ibase = r->ibase;
            nindent = r->nindent;

            if (!op->standalone) {
                /* an inline partial's lines are not indented */
                r->ibase = r->nindent;

            } else if (op->indent.len
                       && ngx_grapevine_render_push(r, tpl, op, &op->indent,
                                                    1)
                          != NGX_GRAPEVINE_OK)
            {
                return NGX_GRAPEVINE_ERROR;
            }

            rc = ngx_grapevine_render_ops(r, partial, 0, partial->nops);

            r->ibase = ibase;
            r->nindent = nindent;
            r->depth--;

            if (rc != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            break;

        case NGX_GRAPEVINE_OP_PARENT:
            if (ngx_grapevine_render_parent(r, tpl, op) != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            i = op->end;
            break;

        default: /* NGX_GRAPEVINE_OP_BLOCK */
            if (ngx_grapevine_render_block(r, tpl, i) != NGX_GRAPEVINE_OK) {
                return NGX_GRAPEVINE_ERROR;
            }

            i = op->end;
            break;
        }
    }

    return NGX_GRAPEVINE_OK;
}


/*
 * {{<name}}...{{/name}}: the parent renders where the tag is, as a
 * partial would, with the tag's arguments (its blocks) in force until it
 * ends.
 */

static int
ngx_grapevine_render_parent(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl, const ngx_grapevine_template_op_t *op)
{
    int                              rc;
    size_t                           ibase, nindent;
    const ngx_grapevine_template_t  *parent;
    ngx_grapevine_render_frame_t     frame;

    if (!op->standalone && op->indent.len
        && ngx_grapevine_render_out(r, op->indent.data, op->indent.len)
           != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    parent = op->target;

    if (parent == NULL && r->conf->partial != NULL) {
        parent = r->conf->partial(r->conf->partial_ctx, op->text.data,
                                  op->text.len);
    }

    if (parent == NULL) {
        if (r->conf->strict_partials) {
            ngx_grapevine_template_error(r->err, tpl->name, op->line,
                                         "parent \"%.*s\" not found",
                                         (int) op->text.len, op->text.data);
            return NGX_GRAPEVINE_ERROR;
        }

        return NGX_GRAPEVINE_OK;
    }

    if (ngx_grapevine_render_depth(r, tpl, op) != NGX_GRAPEVINE_OK) {
        return NGX_GRAPEVINE_ERROR;
    }

    ibase = r->ibase;
    nindent = r->nindent;

    frame.tpl = tpl;
    frame.op = op;
    frame.ibase = ibase;
    frame.nindent = nindent;
    frame.outer = r->frames;

    if (!op->standalone) {
        r->ibase = r->nindent;

    } else if (op->indent.len
               && ngx_grapevine_render_push(r, tpl, op, &op->indent, 1)
                  != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    r->frames = &frame;
    r->depth++;

    rc = ngx_grapevine_render_ops(r, parent, 0, parent->nops);

    r->depth--;
    r->frames = frame.outer;
    r->ibase = ibase;
    r->nindent = nindent;

    return rc;
}


/*
 * {{$name}}...{{/name}} outside a parent: the argument of that name that
 * the outermost parent tag in force passes, else the block's own content.
 *
 * Indentation, as mustache/spec's pull request 131 has it.  A standalone
 * block indents each line of what it expands to with its "indent" (its
 * content's intrinsic indentation, which the compiler removed from that
 * content, or the tag's).  An argument whose opening tag ends its line
 * lost its own intrinsic indentation, and with it the indentation that
 * was in force where it was written; any other keeps that indentation.
 * An argument in a block that is not standalone gets none of the parent's.
 */

static int
ngx_grapevine_render_block(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl, size_t i)
{
    int                                 rc;
    size_t                              ibase, nindent, k, n;
    unsigned                            apart, quiet;
    const ngx_grapevine_template_t     *atpl;
    const ngx_grapevine_template_op_t  *op, *arg, *a;
    ngx_grapevine_render_frame_t       *f, *found;

    op = &tpl->ops[i];

    if (ngx_grapevine_render_depth(r, tpl, op) != NGX_GRAPEVINE_OK) {
        return NGX_GRAPEVINE_ERROR;
    }

    /* the block rendered apart: its text, or only it */

    apart = (r->conf->block_only || r->conf->block_fill)
            && op->text.len == r->conf->block.len
            && memcmp(op->text.data, r->conf->block.data, op->text.len) == 0;

    if (apart && r->conf->block_fill) {
        return ngx_grapevine_render_out(r, r->conf->block_text.data,
                                        r->conf->block_text.len);
    }

    quiet = r->quiet;

    if (apart) {
        r->quiet = 0;
    }

    found = NULL;
    arg = NULL;

    for (f = r->frames; f; f = f->outer) {

        for (k = f->op->u.next; k; k = a->u.next) {
            a = &f->tpl->ops[k];

            if (a->text.len == op->text.len
                && memcmp(a->text.data, op->text.data, a->text.len) == 0)
            {
                found = f;
                arg = a;
                break;
            }
        }
    }

    if (!op->standalone && op->indent.len
        && ngx_grapevine_render_out(r, op->indent.data, op->indent.len)
           != NGX_GRAPEVINE_OK)
    {
        return NGX_GRAPEVINE_ERROR;
    }

    ibase = r->ibase;
    nindent = r->nindent;

    if (op->standalone) {
        if (op->indent.len
            && ngx_grapevine_render_push(r, tpl, op, &op->indent, 1)
               != NGX_GRAPEVINE_OK)
        {
            return NGX_GRAPEVINE_ERROR;
        }

    } else if (found) {
        r->ibase = r->nindent;
    }

    r->depth++;

    if (found == NULL) {
        rc = ngx_grapevine_render_ops(r, tpl, i + 1, op->end);
        goto done;
    }

    atpl = found->tpl;
    k = arg - atpl->ops;
    rc = NGX_GRAPEVINE_OK;

    if (k + 1 == arg->end) {
        goto done;
    }

    /* each line is indented, the first too */

    if (op->standalone && !atpl->ops[k + 1].line_start
        && r->nindent > r->ibase)
    {
        rc = ngx_grapevine_render_indent(r);
    }

    n = found->nindent - found->ibase;

    if (rc == NGX_GRAPEVINE_OK && !arg->dedented && n) {
        rc = ngx_grapevine_render_push(r, tpl, op,
                                       &r->indent[found->ibase], n);
    }

    if (rc == NGX_GRAPEVINE_OK) {
        rc = ngx_grapevine_render_ops(r, atpl, k + 1, arg->end);
    }

done:

    r->depth--;
    r->ibase = ibase;
    r->nindent = nindent;
    r->quiet = quiet;

    return rc;
}


static int
ngx_grapevine_render_push(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl, const ngx_grapevine_template_op_t *op,
    const ngx_grapevine_str_t *s, size_t n)
{
    if (n > NGX_GRAPEVINE_RENDER_MAXINDENT - r->nindent) {
        ngx_grapevine_template_error(r->err, tpl->name, op->line,
                                     "indentation nested deeper than %d at "
                                     "\"%.*s\"",
                                     NGX_GRAPEVINE_RENDER_MAXINDENT,
                                     (int) op->text.len, op->text.data);
        return NGX_GRAPEVINE_ERROR;
    }

    /* s may be in r->indent, below the entries written */

    memmove(&r->indent[r->nindent], s, n * sizeof(ngx_grapevine_str_t));
    r->nindent += n;

    return NGX_GRAPEVINE_OK;
}


static int
ngx_grapevine_render_depth(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_t *tpl,
    const ngx_grapevine_template_op_t *op)
{
    if (r->depth < NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH) {
        return NGX_GRAPEVINE_OK;
    }

    ngx_grapevine_template_error(r->err, tpl->name, op->line,
                                 "sections and partials nested deeper "
                                 "than %d at \"%.*s\"",
                                 NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH,
                                 (int) op->text.len, op->text.data);

    return NGX_GRAPEVINE_ERROR;
}


/*
 * The spec's name resolution: the first part of a name is looked up in the
 * context stack from the top, the other parts in what the first found.
 */

static const ngx_grapevine_value_t *
ngx_grapevine_render_lookup(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_op_t *op)
{
    size_t                        i;
    const ngx_grapevine_str_t    *part;
    const ngx_grapevine_value_t  *v;

    if (op->u.nparts == 0) {
        return r->stack[r->nstack - 1];
    }

    part = op->parts;
    v = NULL;

    for (i = r->nstack; i > 0; i--) {
        v = ngx_grapevine_object_get(r->stack[i - 1], part->data, part->len);
        if (v != NULL) {
            break;
        }
    }

    for (i = 1; v != NULL && i < op->u.nparts; i++) {
        v = ngx_grapevine_object_get(v, op->parts[i].data, op->parts[i].len);
    }

    return v;
}


static int
ngx_grapevine_render_value(ngx_grapevine_render_t *r,
    const ngx_grapevine_value_t *v, int escape)
{
    u_char    *p;
    int64_t    n;
    uint64_t   u;
    u_char     buf[24];

    switch (v->type) {

    case NGX_GRAPEVINE_VALUE_BOOL:
        if (v->u.boolean) {
            return ngx_grapevine_render_out(r, (u_char *) "true", 4);
        }

        return ngx_grapevine_render_out(r, (u_char *) "false", 5);

    case NGX_GRAPEVINE_VALUE_INTEGER:
        n = v->u.integer;
        u = n < 0 ? (uint64_t) 0 - (uint64_t) n : (uint64_t) n;
        p = buf + sizeof(buf);

        do {
            *--p = (u_char) ('0' + u % 10);
            u /= 10;
        } while (u);

        if (n < 0) {
            *--p = '-';
        }

        return ngx_grapevine_render_out(r, p, buf + sizeof(buf) - p);

    case NGX_GRAPEVINE_VALUE_NUMBER:
    case NGX_GRAPEVINE_VALUE_STRING:
        if (escape) {
            return ngx_grapevine_render_escape(r, v->u.str.data,
                                               v->u.str.len);
        }

        return ngx_grapevine_render_out(r, v->u.str.data, v->u.str.len);

    default:
        /* null, arrays and objects render as nothing */
        return NGX_GRAPEVINE_OK;
    }
}


static int
ngx_grapevine_render_escape(ngx_grapevine_render_t *r, const u_char *p,
    size_t n)
{
    const u_char               *s, *last;
    const ngx_grapevine_str_t  *e;

    last = p + n;

    while (p < last) {

        s = p;

        while (p < last && ngx_grapevine_html_escape[*p] == 0) {
            p++;
        }

        if (p > s && ngx_grapevine_render_out(r, s, p - s) != NGX_GRAPEVINE_OK)
        {
            return NGX_GRAPEVINE_ERROR;
        }

        if (p == last) {
            break;
        }

        e = &ngx_grapevine_html_entities[ngx_grapevine_html_escape[*p++]];

        if (ngx_grapevine_render_out(r, e->data, e->len) != NGX_GRAPEVINE_OK) {
            return NGX_GRAPEVINE_ERROR;
        }
    }

    return NGX_GRAPEVINE_OK;
}


/* text inside an indented partial: the indentation after each newline */

static int
ngx_grapevine_render_text(ngx_grapevine_render_t *r,
    const ngx_grapevine_template_op_t *op)
{
    const u_char  *p, *nl, *last;

    p = op->text.data;
    last = p + op->text.len;

    for ( ;; ) {
        nl = memchr(p, '\n', last - p);

        if (nl == NULL) {
            return ngx_grapevine_render_out(r, p, last - p);
        }

        nl++;

        if (ngx_grapevine_render_out(r, p, nl - p) != NGX_GRAPEVINE_OK) {
            return NGX_GRAPEVINE_ERROR;
        }

        p = nl;

        if (p == last) {
            return NGX_GRAPEVINE_OK;
        }

        if (ngx_grapevine_render_indent(r) != NGX_GRAPEVINE_OK) {
            return NGX_GRAPEVINE_ERROR;
        }
    }
}


static int
ngx_grapevine_render_indent(ngx_grapevine_render_t *r)
{
    size_t  i;

    for (i = r->ibase; i < r->nindent; i++) {
        if (ngx_grapevine_render_out(r, r->indent[i].data, r->indent[i].len)
            != NGX_GRAPEVINE_OK)
        {
            return NGX_GRAPEVINE_ERROR;
        }
    }

    return NGX_GRAPEVINE_OK;
}


static int
ngx_grapevine_render_out(ngx_grapevine_render_t *r, const u_char *p,
    size_t n)
{
    if (r->quiet) {
        return NGX_GRAPEVINE_OK;
    }

    if (n <= NGX_GRAPEVINE_RENDER_BUFSIZE - r->pos) {
        memcpy(r->buf + r->pos, p, n);
        r->pos += n;
        return NGX_GRAPEVINE_OK;
    }

    if (ngx_grapevine_render_flush(r) != NGX_GRAPEVINE_OK) {
        return NGX_GRAPEVINE_ERROR;
    }

    if (n >= NGX_GRAPEVINE_RENDER_BUFSIZE / 2) {
        /* a long run goes out as is */

        if (r->conf->write(r->conf->write_ctx, p, n) != NGX_GRAPEVINE_OK) {
            ngx_grapevine_template_error(r->err, r->top->name, 0,
                                         "write failed");
            return NGX_GRAPEVINE_ERROR;
        }

        return NGX_GRAPEVINE_OK;
    }

    memcpy(r->buf, p, n);
    r->pos = n;

    return NGX_GRAPEVINE_OK;
}


static int
ngx_grapevine_render_flush(ngx_grapevine_render_t *r)
{
    if (r->pos == 0) {
        return NGX_GRAPEVINE_OK;
    }

    if (r->conf->write(r->conf->write_ctx, r->buf, r->pos)
        != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_template_error(r->err, r->top->name, 0,
                                     "write failed");
        return NGX_GRAPEVINE_ERROR;
    }

    r->pos = 0;

    return NGX_GRAPEVINE_OK;
}


ngx_grapevine_template_set_t *
ngx_grapevine_template_set_create(ngx_grapevine_arena_t *a)
{
    ngx_grapevine_template_set_t  *set;

    set = ngx_grapevine_arena_alloc(a, sizeof(ngx_grapevine_template_set_t));
    if (set == NULL) {
        return NULL;
    }

    memset(set, 0, sizeof(ngx_grapevine_template_set_t));

    return set;
}


int
ngx_grapevine_template_set_add(ngx_grapevine_arena_t *a,
    ngx_grapevine_template_set_t *set, const u_char *name, size_t len,
    ngx_grapevine_template_t *tpl)
{
    size_t                           i;
    void                            *elts;
    ngx_grapevine_template_entry_t  *e;

    if (tpl == NULL) {
        return NGX_GRAPEVINE_ERROR;
    }

    e = set->elts;

    for (i = 0; i < set->nelts; i++) {
        if (e[i].name.len == len && memcmp(e[i].name.data, name, len) == 0) {
            e[i].tpl = tpl;
            return NGX_GRAPEVINE_OK;
        }
    }

    if (set->nelts == set->nalloc) {
        elts = ngx_grapevine_arena_grow(a, set->elts, set->nelts,
                                        &set->nalloc,
                                        sizeof(ngx_grapevine_template_entry_t));
        if (elts == NULL) {
            return NGX_GRAPEVINE_ERROR;
        }

        set->elts = elts;
    }

    e = &set->elts[set->nelts++];

    e->name.data = (u_char *) name;
    e->name.len = len;
    e->tpl = tpl;

    return NGX_GRAPEVINE_OK;
}


ngx_grapevine_template_t *
ngx_grapevine_template_set_find(const ngx_grapevine_template_set_t *set,
    const u_char *name, size_t len)
{
    size_t                           i;
    ngx_grapevine_template_entry_t  *e;

    e = set->elts;

    for (i = 0; i < set->nelts; i++) {
        if (e[i].name.len == len && memcmp(e[i].name.data, name, len) == 0) {
            return e[i].tpl;
        }
    }

    return NULL;
}


ngx_grapevine_template_t *
ngx_grapevine_template_set_lookup(void *set, const u_char *name, size_t len)
{
    return ngx_grapevine_template_set_find(set, name, len);
}


size_t
ngx_grapevine_template_set_count(const ngx_grapevine_template_set_t *set)
{
    return set->nelts;
}


int
ngx_grapevine_template_set_link(ngx_grapevine_template_set_t *set,
    ngx_grapevine_template_err_t *err)
{
    size_t                        i, k;
    ngx_grapevine_template_t     *tpl;
    ngx_grapevine_template_op_t  *op;

    for (i = 0; i < set->nelts; i++) {
        tpl = set->elts[i].tpl;

        tpl->visiting = 0;
        tpl->checked = 0;

        for (k = 0; k < tpl->nops; k++) {
            op = &tpl->ops[k];

            if (op->type != NGX_GRAPEVINE_OP_PARTIAL
                && op->type != NGX_GRAPEVINE_OP_PARENT)
            {
                continue;
            }

            op->target = ngx_grapevine_template_set_find(set, op->text.data,
                                                         op->text.len);
            if (op->target == NULL) {
                ngx_grapevine_template_error(err, tpl->name, op->line,
                                             "%s \"%.*s\" not found",
                                             op->type
                                             == NGX_GRAPEVINE_OP_PARTIAL
                                             ? "partial" : "parent",
                                             (int) op->text.len,
                                             op->text.data);
                return NGX_GRAPEVINE_ERROR;
            }
        }
    }

    for (i = 0; i < set->nelts; i++) {
        if (ngx_grapevine_template_check_loops(set->elts[i].tpl, 0, err)
            != NGX_GRAPEVINE_OK)
        {
            return NGX_GRAPEVINE_ERROR;
        }
    }

    return NGX_GRAPEVINE_OK;
}


/*
 * A template that includes itself whatever the data, through partials and
 * parents outside any section or block, would fail each rendering: it
 * fails the link instead.  So does a chain of such inclusions deeper than
 * rendering allows.  Depth-first, recursion bounded by that depth.
 */

static int
ngx_grapevine_template_check_loops(ngx_grapevine_template_t *tpl,
    size_t depth, ngx_grapevine_template_err_t *err)
{
    size_t                        k;
    ngx_grapevine_template_op_t  *op;

    if (tpl->checked) {
        return NGX_GRAPEVINE_OK;
    }

    tpl->visiting = 1;

    k = 0;

    while (k < tpl->nops) {
        op = &tpl->ops[k];

        switch (op->type) {

        case NGX_GRAPEVINE_OP_SECTION:
        case NGX_GRAPEVINE_OP_INVERTED:
        case NGX_GRAPEVINE_OP_BLOCK:
            k = op->end;
            continue;

        case NGX_GRAPEVINE_OP_PARTIAL:
        case NGX_GRAPEVINE_OP_PARENT:
            if (op->target->visiting) {
                ngx_grapevine_template_error(err, tpl->name, op->line,
                                             "%s \"%.*s\" includes itself, "
                                             "whatever the data",
                                             op->type
                                             == NGX_GRAPEVINE_OP_PARTIAL
                                             ? "partial" : "parent",
                                             (int) op->text.len,
                                             op->text.data);
                return NGX_GRAPEVINE_ERROR;
            }

            if (depth == NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH) {
                ngx_grapevine_template_error(err, tpl->name, op->line,
                                             "partials and parents nested "
                                             "deeper than %d at \"%.*s\", "
                                             "whatever the data",
                                             NGX_GRAPEVINE_TEMPLATE_MAX_DEPTH,
                                             (int) op->text.len,
                                             op->text.data);
                return NGX_GRAPEVINE_ERROR;
            }

            if (ngx_grapevine_template_check_loops(op->target, depth + 1, err)
                != NGX_GRAPEVINE_OK)
            {
                return NGX_GRAPEVINE_ERROR;
            }

            k = (op->type == NGX_GRAPEVINE_OP_PARENT) ? op->end : k + 1;
            continue;

        default:
            k++;
        }
    }

    tpl->visiting = 0;
    tpl->checked = 1;

    return NGX_GRAPEVINE_OK;
}


int
ngx_grapevine_template_set_load_dir(ngx_grapevine_arena_t *a,
    ngx_grapevine_template_set_t *set, const char *dir,
    ngx_grapevine_template_err_t *err)
{
    int             rc;
    DIR            *d;
    char          **names, **new;
    size_t          i, n, nalloc, len, elen;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        ngx_grapevine_template_error(err, dir, 0,
                                     "cannot open directory: %s",
                                     strerror(errno));
        return NGX_GRAPEVINE_ERROR;
    }

    names = NULL;
    n = 0;
    nalloc = 0;
    rc = NGX_GRAPEVINE_OK;
    elen = sizeof(NGX_GRAPEVINE_TEMPLATE_EXT) - 1;

    for ( ;; ) {
        errno = 0;

        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                ngx_grapevine_template_error(err, dir, 0,
                                             "cannot read directory: %s",
                                             strerror(errno));
                rc = NGX_GRAPEVINE_ERROR;
            }

            break;
        }

        len = strlen(de->d_name);

        if (len <= elen
            || de->d_name[0] == '.'
            || memcmp(de->d_name + len - elen, NGX_GRAPEVINE_TEMPLATE_EXT,
                      elen) != 0)
        {
            continue;
        }

        if (n == nalloc) {
            nalloc = nalloc ? nalloc * 2 : 16;

            new = realloc(names, nalloc * sizeof(char *));
            if (new == NULL) {
                ngx_grapevine_template_error(err, dir, 0, "out of memory");
                rc = NGX_GRAPEVINE_ERROR;
                break;
            }

            names = new;
        }

        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            ngx_grapevine_template_error(err, dir, 0, "out of memory");
            rc = NGX_GRAPEVINE_ERROR;
            break;
        }

        n++;
    }

    closedir(d);

    if (rc == NGX_GRAPEVINE_OK && n > 1) {
        qsort(names, n, sizeof(char *), ngx_grapevine_template_cmp_names);
    }

    for (i = 0; i < n; i++) {
        if (rc == NGX_GRAPEVINE_OK) {
            rc = ngx_grapevine_template_load_file(a, set, dir, names[i], err);
        }

        free(names[i]);
    }

    free(names);

    if (rc != NGX_GRAPEVINE_OK) {
        return NGX_GRAPEVINE_ERROR;
    }

    return ngx_grapevine_template_set_link(set, err);
}


static int
ngx_grapevine_template_cmp_names(const void *one, const void *two)
{
    return strcmp(*(char * const *) one, *(char * const *) two);
}


static int
ngx_grapevine_template_load_file(ngx_grapevine_arena_t *a,
    ngx_grapevine_template_set_t *set, const char *dir, const char *file,
    ngx_grapevine_template_err_t *err)
{
    int                        fd, rc;
    char                      *path;
    u_char                    *buf, *key;
    size_t                     dlen, flen, size, got;
    ssize_t                    n;
    struct stat                st;
    ngx_grapevine_template_t  *tpl;

    dlen = strlen(dir);
    flen = strlen(file);

    while (dlen > 1 && dir[dlen - 1] == '/') {
        dlen--;
    }

    path = malloc(dlen + 1 + flen + 1);
    if (path == NULL) {
        ngx_grapevine_template_error(err, file, 0, "out of memory");
        return NGX_GRAPEVINE_ERROR;
    }

    memcpy(path, dir, dlen);
    path[dlen] = '/';
    memcpy(path + dlen + 1, file, flen + 1);

    if (dlen == 1 && dir[0] == '/') {
        memmove(path + 1, path + 2, flen + 1);
    }

    buf = NULL;
    fd = -1;
    rc = NGX_GRAPEVINE_ERROR;

    if (stat(path, &st) == -1) {
        ngx_grapevine_template_error(err, path, 0, "cannot stat: %s",
                                     strerror(errno));
        goto done;
    }

    if (!S_ISREG(st.st_mode)) {
        rc = NGX_GRAPEVINE_OK;
        goto done;
    }

    if (st.st_size > NGX_GRAPEVINE_TEMPLATE_MAXFILE) {
        ngx_grapevine_template_error(err, path, 0, "larger than %d bytes",
                                     NGX_GRAPEVINE_TEMPLATE_MAXFILE);
        goto done;
    }

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        ngx_grapevine_template_error(err, path, 0, "cannot open: %s",
                                     strerror(errno));
        goto done;
    }

    size = (size_t) st.st_size;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        ngx_grapevine_template_error(err, path, 0, "out of memory");
        goto done;
    }

    got = 0;

    while (got < size) {
        n = read(fd, buf + got, size - got);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            ngx_grapevine_template_error(err, path, 0, "cannot read: %s",
                                         strerror(errno));
            goto done;
        }

        if (n == 0) {
            break;
        }

        got += (size_t) n;
    }

    tpl = ngx_grapevine_template_compile(a, buf, got, path, err);
    if (tpl == NULL) {
        goto done;
    }

    key = ngx_grapevine_arena_copy(a, (u_char *) file,
                                   flen - (sizeof(NGX_GRAPEVINE_TEMPLATE_EXT)
                                           - 1));
    if (key == NULL
        || ngx_grapevine_template_set_add(a, set, key,
                                          flen
                                          - (sizeof(NGX_GRAPEVINE_TEMPLATE_EXT)
                                             - 1),
                                          tpl)
           != NGX_GRAPEVINE_OK)
    {
        ngx_grapevine_template_error(err, path, 0, "out of memory");
        goto done;
    }

    rc = NGX_GRAPEVINE_OK;

done:

    if (fd != -1) {
        close(fd);
    }

    free(buf);
    free(path);

    return rc;
}
