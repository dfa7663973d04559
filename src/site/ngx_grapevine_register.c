
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_site.h"


/*
 * Character registration (reference §4.2).  A player sends the tell
 * "register <key>" to system@<grapevine_hub_name>; wherever the hub link
 * is, the Backbone hands it to site_tell() (sql/site/site_tell.sql),
 * which creates the pending character, replaces the key and queues the
 * system player's replies in hub_outbox, all in one transaction, behind
 * the events received before the tell (a game that just connected is
 * known by then).  On the web the owner approves, denies or removes the
 * character (site_character(), a route of ngx_grapevine_site_pages.c).
 */


ngx_grapevine_tell_handler_t  ngx_grapevine_register_tell = {
    ngx_string("system"),
    "SELECT site_tell($1, $2, $3, $4)",
    "grapevine_site"
};
