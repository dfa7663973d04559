
/*
 * Copyright (C) The ngx_grapevine authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_grapevine_api.h"


/*
 * The API's queries: one a route, its parameters bound ($1, $2, ...) and
 * never part of the text.  Their rows are what ngx_grapevine_api_rows.c
 * writes: the games list's and a game's are JSON the database keeps
 * ready (migrations/0011_api_fragments.sql and 0016_api_records.sql,
 * sql/api/); the others' one-to-many parts (a
 * user's characters by game) come as a LEFT JOIN whose rows the writer
 * groups.
 *
 * util/bench runs the same text with pgbench: bench/sql-from-src.pl
 * expands these macros with the C preprocessor over the files of
 * src/api/, so each stays a string macro built only from macros there.
 */


#define NGX_GRAPEVINE_API_TIME(col)                                           \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* whether a character is online, NULL when its game hides its players */
#define NGX_GRAPEVINE_API_ONLINE                                              \
    "CASE WHEN g.display_players THEN EXISTS (SELECT 1 "                      \
    "FROM players_online p WHERE p.game_id = g.id "                           \
    "AND lower(p.name) = lower(c.name)) END"


/* a part of a name: a LIKE pattern of $2, "%", "_" and "\" as themselves */
#define NGX_GRAPEVINE_API_LIKE_NAME                                           \
    "'%' || replace(replace(replace(lower($2::text), '\\', '\\\\'), "         \
    "'%', '\\%'), '_', '\\_') || '%'"

/*
 * The games list: $1 online (all|yes|no), $2 name filter (or ''), $3
 * offset; a page of ids and one more, then their kept JSON by key (a join
 * PostgreSQL would make by reading every game).
 * Three statements, one for each kind of list, so that each one's plan
 * is its own index's, whatever the parameters (the request's arguments
 * choose; each also checks them, so none answers a list not its own):
 * all games by name (games_name_idx), those online or not by name
 * (games_list_idx), those whose name or short name holds $2 (the trigram
 * index of both, games_names_trgm_idx, then the condition itself, then
 * sorted).  A deep page's offset is counted in the index alone.  The
 * page is ordered by the ids' own columns, the order their index gives:
 * the join keeps it, so no sort is made of the rows (a third of the
 * database's time for a page).
 */

#define NGX_GRAPEVINE_API_GAMES_ROWS                                          \
    "CROSS JOIN LATERAL (SELECT api_item FROM games "                         \
    "WHERE id = p.id LIMIT 1) g "                                             \
    "ORDER BY p.lname, p.id"

/* a game of the list: its JSON kept ready, whole (chr(1) for the prefix) */

#define NGX_GRAPEVINE_API_GAMES_COLUMNS                                       \
    "SELECT g.api_item "

#define NGX_GRAPEVINE_API_GAMES_SQL                                           \
    NGX_GRAPEVINE_API_GAMES_COLUMNS                                           \
    "FROM (SELECT id, lower(name) AS lname FROM games "                       \
    "WHERE display AND $1::text = 'all' AND $2::text = '' "                   \
    "ORDER BY lower(name), id LIMIT 26 OFFSET $3::int) p "                    \
    NGX_GRAPEVINE_API_GAMES_ROWS

#define NGX_GRAPEVINE_API_GAMES_BY_ONLINE_SQL                                 \
    NGX_GRAPEVINE_API_GAMES_COLUMNS                                           \
    "FROM (SELECT id, lower(name) AS lname FROM games "                       \
    "WHERE display AND online = ($1::text = 'yes') AND $2::text = '' "        \
    "ORDER BY lower(name), id LIMIT 26 OFFSET $3::int) p "                    \
    NGX_GRAPEVINE_API_GAMES_ROWS

#define NGX_GRAPEVINE_API_GAMES_BY_NAME_SQL                                   \
    NGX_GRAPEVINE_API_GAMES_COLUMNS                                           \
    "FROM (SELECT id, lower(name) AS lname FROM games "                       \
    "WHERE display AND ($1::text = 'all' OR online = ($1::text = 'yes')) "    \
    "AND (lower(name) || E'\\n' || lower(short_name)) LIKE "                  \
    NGX_GRAPEVINE_API_LIKE_NAME " "                                           \
    "AND (lower(name) LIKE " NGX_GRAPEVINE_API_LIKE_NAME " "                  \
    "OR lower(short_name) LIKE " NGX_GRAPEVINE_API_LIKE_NAME ") "             \
    "ORDER BY lower(name), id LIMIT 26 OFFSET $3::int) p "                    \
    NGX_GRAPEVINE_API_GAMES_ROWS

/*
 * $1 offset: a page of the games online and one more, by name, each with
 * its first 100 players (when it shows them)
 */

#define NGX_GRAPEVINE_API_ONLINE_SQL                                          \
    "SELECT g.id, g.short_name, g.name, g.homepage_url, p.name "              \
    "FROM (SELECT id, short_name, name, homepage_url, display_players "       \
    "FROM games WHERE display AND online "                                    \
    "ORDER BY lower(name), id LIMIT 26 OFFSET $1::int) g "                    \
    "LEFT JOIN LATERAL (SELECT name FROM players_online "                     \
    "WHERE game_id = g.id AND g.display_players "                             \
    "ORDER BY lower(name) LIMIT 100) p ON true "                              \
    "ORDER BY lower(g.name), g.id, lower(p.name)"

/*
 * $1 short name: one row, the game's JSON as the database keeps it whole
 * (migrations/0016_api_records.sql, sql/api/api_game_record.sql), written
 * by the statements that change what it shows.  Its upcoming events are
 * those of the days it was written for: on another day it is made afresh
 * here, as its trigger would make it.  chr(1) stands for the location's
 * prefix.
 */

#define NGX_GRAPEVINE_API_GAME_SQL                                            \
    "SELECT CASE WHEN current_date >= g.api_record_date "                     \
    "AND current_date < g.api_record_until THEN g.api_record "                \
    "ELSE (api_game_record_render(g)).api_record END "                        \
    "FROM games g "                                                           \
    "WHERE g.display AND lower(g.short_name) = lower($1::text)"

/*
 * $1 short name, $2 offset: a page of characters and one more, to know
 * whether there is a next page; one row with NULL characters when the
 * page is empty.  The page's names are found in characters_list_idx
 * alone, the few suspended accounts in a hash, so that a deep page's
 * offset is counted in the index; then its rows are read by name.
 */

#define NGX_GRAPEVINE_API_GAME_CHARACTERS_SQL                                 \
    "SELECT g.short_name, g.name, page.name, page.username, "                 \
    "page.registered_at, page.online "                                        \
    "FROM games g LEFT JOIN LATERAL (SELECT c.id, c.name, u.username, "       \
    NGX_GRAPEVINE_API_TIME("c.inserted_at") " AS registered_at, "             \
    NGX_GRAPEVINE_API_ONLINE " AS online "                                    \
    "FROM (SELECT lower(name) AS lname FROM characters "                      \
    "WHERE game_id = g.id AND state = 'approved' "                            \
    "AND user_id NOT IN (SELECT id FROM users "                               \
    "WHERE suspended_at IS NOT NULL) "                                        \
    "ORDER BY lower(name) LIMIT 26 OFFSET $2::int) k "                        \
    "JOIN characters c ON c.game_id = g.id AND lower(c.name) = k.lname "      \
    "JOIN users u ON u.id = c.user_id) page ON true "                         \
    "WHERE g.display AND lower(g.short_name) = lower($1::text) "              \
    "ORDER BY lower(page.name), page.id"

/* $1 game's short name, $2 character name */

#define NGX_GRAPEVINE_API_CHARACTER_SQL                                       \
    "SELECT c.name, g.short_name, g.name, u.username, "                       \
    NGX_GRAPEVINE_API_TIME("c.inserted_at") ", "                              \
    NGX_GRAPEVINE_API_ONLINE " "                                              \
    "FROM characters c JOIN games g ON g.id = c.game_id "                     \
    "JOIN users u ON u.id = c.user_id "                                       \
    "WHERE g.display AND lower(g.short_name) = lower($1::text) "              \
    "AND lower(c.name) = lower($2::text) AND c.state = 'approved' "           \
    "AND u.suspended_at IS NULL"

/*
 * $1 username, $2 offset: a page of characters (by game, then name) and
 * one more; one row with NULL games when the page is empty.
 */

#define NGX_GRAPEVINE_API_USER_SQL                                            \
    "SELECT u.username, page.short_name, page.game_name, page.name, "         \
    "page.registered_at, page.online "                                        \
    "FROM users u LEFT JOIN LATERAL (SELECT g.id AS game_id, g.short_name, "  \
    "g.name AS game_name, c.id, c.name, "                                     \
    NGX_GRAPEVINE_API_TIME("c.inserted_at") " AS registered_at, "             \
    NGX_GRAPEVINE_API_ONLINE " AS online "                                    \
    "FROM characters c JOIN games g ON g.id = c.game_id AND g.display "       \
    "WHERE c.user_id = u.id AND c.state = 'approved' "                        \
    "ORDER BY lower(g.name), g.id, lower(c.name), c.id "                      \
    "LIMIT 26 OFFSET $2::int) page ON true "                                  \
    "WHERE lower(u.username) = lower($1::text) "                              \
    "AND u.suspended_at IS NULL "                                             \
    "ORDER BY lower(page.game_name), page.game_id, lower(page.name), page.id"

/* $1 offset: a page of the visible channels and one more, by name */

#define NGX_GRAPEVINE_API_CHANNELS_SQL                                        \
    "SELECT name, description FROM channels WHERE NOT hidden "                \
    "ORDER BY lower(name) LIMIT 26 OFFSET $1::int"

/*
 * $1 channel, $2 messages below this id, $3 how many (one more than the
 * page, to know whether there is a next one).  One row with NULL message
 * fields when the page is empty.  A message's text is cut at 2,048
 * characters (the hub link stores none over 2,048 bytes, but one stored
 * before may be: a page holds at most 100 x 8 KB of text, whatever is
 * stored), and the last column says whether it was.
 *
 * The messages are a range of one channel, (channel_id, id) from (c, $2)
 * down, in that order: only channel_messages_public_idx has it, so no
 * plan, the generic one included, can walk the primary key backwards over
 * every channel's messages (as it did for "channel_id = c ORDER BY id",
 * for a quiet channel, from an estimate of how common the channel is).
 */

#define NGX_GRAPEVINE_API_MESSAGES_SQL                                        \
    "SELECT c.name, c.description, m.id, m.game_name, m.player_name, "        \
    "left(m.message, 2048), " NGX_GRAPEVINE_API_TIME("m.inserted_at") ", "    \
    "length(left(m.message, 2049)) > 2048 "                                   \
    "FROM channels c LEFT JOIN LATERAL (SELECT id, game_name, player_name, "  \
    "message, inserted_at FROM channel_messages "                             \
    "WHERE channel_id >= c.id AND channel_id <= c.id AND NOT hidden "         \
    "AND id < $2::bigint "                                                    \
    "ORDER BY channel_id DESC, id DESC LIMIT $3::int) m ON true "             \
    "WHERE lower(c.name) = lower($1::text) AND NOT c.hidden "                 \
    "ORDER BY m.id DESC"


/*
 * Players online over a period ($2 for a game, $1 for the network: 48h,
 * 7d, 30d or 1y, checked by the route), a row a point, by time, from
 * statistics_points() (sql/backbone/statistics_points.sql: the points of
 * statistics_series(), kept ready by the hub link's owner for 48h, 7d and
 * 30d, computed from the rows otherwise; the gaps as NULL).  A game that
 * hides its players has one row with NULL points; an unknown game none.
 */

#define NGX_GRAPEVINE_API_POINTS(game, period)                                \
    "SELECT p.first + (u.i - 1) * p.step AS t, u.players "                    \
    "FROM statistics_points(" game ", " period ") p, "                        \
    "unnest(p.points) WITH ORDINALITY AS u(players, i)"

#define NGX_GRAPEVINE_API_STATISTICS_SQL                                      \
    "SELECT g.short_name, g.name, g.display_players::text, "                  \
    NGX_GRAPEVINE_API_TIME("s.t") ", s.players "                              \
    "FROM games g LEFT JOIN LATERAL ("                                        \
    NGX_GRAPEVINE_API_POINTS("g.id", "$2::text")                              \
    " WHERE g.display_players) s ON true "                                    \
    "WHERE g.display AND lower(g.short_name) = lower($1::text) "              \
    "ORDER BY s.t"

#define NGX_GRAPEVINE_API_NETWORK_STATISTICS_SQL                              \
    "SELECT " NGX_GRAPEVINE_API_TIME("s.t") ", s.players "                    \
    "FROM (" NGX_GRAPEVINE_API_POINTS("0", "$1::text") ") s ORDER BY s.t"


/*
 * A message as a stream's event: its JSON, as the messages route writes
 * it (ngx_grapevine_api_stream.c).
 */

#define NGX_GRAPEVINE_API_EVENT_JSON                                          \
    "json_build_object('id', m.id, 'channel', c.name, "                       \
    "'game', m.game_name, 'name', m.player_name, "                            \
    "'text', left(m.message, 2048), "                                         \
    "'truncated', length(left(m.message, 2049)) > 2048, "                     \
    "'inserted_at', " NGX_GRAPEVINE_API_TIME("m.inserted_at") ")::text"

/*
 * $1 channel, $2 the last event the client has (NULL: none): the
 * channel's lowered name, then the next 101 messages after $2, oldest
 * first (one row with NULL message fields when there is none).
 */

#define NGX_GRAPEVINE_API_EVENTS_SQL                                          \
    "SELECT lower(c.name), m.id, m.data FROM channels c "                     \
    "LEFT JOIN LATERAL (SELECT m.id, " NGX_GRAPEVINE_API_EVENT_JSON           \
    " AS data FROM channel_messages m "                                       \
    "WHERE m.channel_id >= c.id AND m.channel_id <= c.id AND NOT m.hidden "   \
    "AND m.id > $2::bigint "                                                  \
    "ORDER BY m.channel_id, m.id LIMIT 101) m ON true "                       \
    "WHERE lower(c.name) = lower($1::text) AND NOT c.hidden "                 \
    "ORDER BY m.id"

/* $1 the ids announced, '{1,2}': those still shown, by channel */

#define NGX_GRAPEVINE_API_NEWS_SQL                                            \
    "SELECT lower(c.name), m.id, " NGX_GRAPEVINE_API_EVENT_JSON " "           \
    "FROM channel_messages m JOIN channels c ON c.id = m.channel_id "         \
    "WHERE m.id = ANY ($1::bigint[]) AND NOT m.hidden AND NOT c.hidden "      \
    "ORDER BY m.id"


/*
 * $1 the games announced, '{1,2}': those listed, as a presence event's
 * data (players: NULL when the game hides them)
 */

#define NGX_GRAPEVINE_API_PRESENCE_SQL                                        \
    "SELECT json_build_object('game', g.short_name, 'online', g.online, "     \
    "'players', CASE WHEN g.display_players THEN (SELECT count(*) "           \
    "FROM players_online p WHERE p.game_id = g.id) END)::text "               \
    "FROM games g WHERE g.id = ANY ($1::bigint[]) AND g.display "             \
    "ORDER BY g.id"


/*
 * Each route's query, prepared on the pool's connections, in the order
 * of ngx_grapevine_api_stmt_e.
 */

ngx_grapevine_pg_stmt_t  ngx_grapevine_api_stmts[NGX_GRAPEVINE_API_STMTS] = {
    { "grapevine_api_games", NGX_GRAPEVINE_API_GAMES_SQL },
    { "grapevine_api_online", NGX_GRAPEVINE_API_ONLINE_SQL },
    { "grapevine_api_game", NGX_GRAPEVINE_API_GAME_SQL },
    { "grapevine_api_game_characters",
      NGX_GRAPEVINE_API_GAME_CHARACTERS_SQL },
    { "grapevine_api_character", NGX_GRAPEVINE_API_CHARACTER_SQL },
    { "grapevine_api_user", NGX_GRAPEVINE_API_USER_SQL },
    { "grapevine_api_channels", NGX_GRAPEVINE_API_CHANNELS_SQL },
    { "grapevine_api_messages", NGX_GRAPEVINE_API_MESSAGES_SQL },
    { "grapevine_api_games_by_online",
      NGX_GRAPEVINE_API_GAMES_BY_ONLINE_SQL },
    { "grapevine_api_games_by_name", NGX_GRAPEVINE_API_GAMES_BY_NAME_SQL },
    { "grapevine_api_statistics", NGX_GRAPEVINE_API_STATISTICS_SQL },
    { "grapevine_api_network_statistics",
      NGX_GRAPEVINE_API_NETWORK_STATISTICS_SQL },
    { "grapevine_api_events", NGX_GRAPEVINE_API_EVENTS_SQL },
    { "grapevine_api_news", NGX_GRAPEVINE_API_NEWS_SQL },
    { "grapevine_api_presence", NGX_GRAPEVINE_API_PRESENCE_SQL }
};


/*
 * The tables the API reads, for the cache: the trigger function
 * api_changed() (sql/api/api_changed.sql) announces every change to them
 * on the channel grapevine_api, with the table's name.  A statement's
 * tables are found in its text: it must name every table it reads, never
 * through a function or a view, or the cache would not see their changes.
 */

const char  *ngx_grapevine_api_tables[] = {
    "games", "game_connections", "players_online", "events", "achievements",
    "users", "characters", "channels", "channel_messages", "statistics",
    "statistics_hourly", NULL
};


/*
 * The one function the API's statements call that reads tables, and the
 * tables it reads (its points are computed in one place, for the API and
 * the site's charts): a statement that names it reads them too.  Its kept
 * points (statistics_kept) change with those tables, in the transaction
 * that writes them, and are always what the tables give.
 */

const char  *ngx_grapevine_api_function_tables[] = {
    "statistics_points", "statistics statistics_hourly", NULL
};
