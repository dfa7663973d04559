
/*
 * Copyright (C) The ngx_grapevine authors
 */


#ifndef _NGX_GRAPEVINE_API_H_INCLUDED_
#define _NGX_GRAPEVINE_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine.h"
#include "ngx_grapevine_params.h"


/* path segments after the location's prefix: the longest route has 3 */
#define NGX_GRAPEVINE_API_MAX_SEGMENTS  4

/* the route's statements (ngx_grapevine_api_stmts) */
#define NGX_GRAPEVINE_API_STMTS         8


extern ngx_module_t  ngx_http_grapevine_api_module;


/* the OpenAPI document, with the location's prefix between the parts */
extern const char  ngx_grapevine_openapi_head[];
extern const char  ngx_grapevine_openapi_tail[];


#endif /* _NGX_GRAPEVINE_API_H_INCLUDED_ */
