
/*
 * Copyright (C) Grapevine contributors
 */


#ifndef _NGX_GRAPEVINE_ARENA_H_INCLUDED_
#define _NGX_GRAPEVINE_ARENA_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>


#ifndef NGX_GRAPEVINE_OK
#define NGX_GRAPEVINE_OK     0
#endif

#ifndef NGX_GRAPEVINE_ERROR
#define NGX_GRAPEVINE_ERROR  -1
#endif


/*
 * An allocator without free: in nginx, alloc is ngx_palloc() on a pool and
 * everything goes away with the pool.  The returned memory must be aligned
 * for any object (as ngx_palloc() memory is); alloc returns NULL on failure.
 */

typedef struct {
    void     *(*alloc)(void *ctx, size_t size);
    void       *ctx;
} ngx_grapevine_arena_t;


/*
 * An output sink: called with runs of bytes, p is valid only during the
 * call; returns NGX_GRAPEVINE_OK (0), or anything else to abort the output.
 */

typedef int (*ngx_grapevine_write_pt)(void *ctx, const u_char *p, size_t n);


#define ngx_grapevine_arena_alloc(a, size)  (a)->alloc((a)->ctx, size)


#endif /* _NGX_GRAPEVINE_ARENA_H_INCLUDED_ */
