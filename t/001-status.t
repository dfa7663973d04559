# grapevine_status: the health report, with the database up, down, behind.
use lib 't/lib';
use Grapevine::Test;

run_tests();

__DATA__

=== TEST 1: status with the database up and the schema current
--- config
location = /_status { grapevine_status; }
--- request
GET /_status
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_json
{"module": "ngx_grapevine", "version": "~ ^\\d+\\.\\d+\\.\\d+$",
 "nginx": "1.22.1", "pid": "~ ^\\d+$", "worker": "~ ^[01]$",
 "healthy": true,
 "database": {"reachable": true, "error": null, "answered_503": 0,
              "target": "$TEST_NGINX_PGHOST",
              "pool": {"size": 4, "connected": "~ ^[1-4]$",
                       "connecting": "~ ^\\d$", "idle": "~ ^[1-4]$",
                       "waiting": 0, "statements": 0, "prepared": 0,
                       "unprepared": []}},
 "schema": {"expected": $TEST_NGINX_SCHEMA, "found": $TEST_NGINX_SCHEMA, "current": true,
            "compatible": $TEST_NGINX_SCHEMA_COMPATIBLE, "serves": true,
            "sql": {"expected": "~ ^[0-9a-f]{64}$", "found": "~ ^[0-9a-f]{64}$"}},
 "instance": {
   "grapevine_database_wait_seconds": [{"count": "~ ^\\d+$", "sum": "~ ^\\d+(\\.\\d+)?$"}],
   "grapevine_database_query_duration_seconds": [{"count": "~ ^\\d+$", "sum": "~ ^\\d+(\\.\\d+)?$"}],
   "grapevine_database_query_errors_total": [{"value": 0}],
   "grapevine_database_queue_rejections_total": [{"value": 0}],
   "grapevine_database_unavailable_total": [{"value": 0}],
   "grapevine_database_statements_prepared_total": [{"value": 0}],
   "grapevine_database_statements_failed_total": [{"value": 0}],
   "grapevine_database_statements_unprepared_total": [{"value": 0}],
   "grapevine_database_connections": [{"state": "idle", "value": "~ ^\\d$"},
                                      {"state": "busy", "value": "~ ^\\d$"},
                                      {"state": "connecting", "value": "~ ^\\d$"},
                                      {"state": "down", "value": "~ ^\\d$"}],
   "grapevine_database_waiting_queries": [{"value": 0}]}}
--- no_error_log
[error]

=== TEST 2: a host name is resolved at configuration time (hostaddr)
--- http_config
grapevine_database "host=localhost port=$TEST_NGINX_PGPORT dbname=$TEST_NGINX_DB_NAME user=grapevine sslmode=disable" pool=2;
--- config
location = /_status { grapevine_status; }
--- request
GET /_status
--- response_json
{"module": "ngx_grapevine", "version": "~ ^\\d+\\.\\d+\\.\\d+$",
 "nginx": "1.22.1", "pid": "~ ^\\d+$", "worker": "~ ^[01]$", "healthy": true,
 "database": {"reachable": true, "error": null, "answered_503": 0,
              "target": "localhost:$TEST_NGINX_PGPORT",
              "pool": {"size": 2, "connected": "~ ^[12]$",
                       "connecting": "~ ^\\d$", "idle": "~ ^[12]$",
                       "waiting": 0, "statements": 0, "prepared": 0,
                       "unprepared": []}},
 "schema": {"expected": $TEST_NGINX_SCHEMA, "found": $TEST_NGINX_SCHEMA, "current": true,
            "compatible": $TEST_NGINX_SCHEMA_COMPATIBLE, "serves": true,
            "sql": {"expected": "~ ^[0-9a-f]{64}$", "found": "~ ^[0-9a-f]{64}$"}},
 "instance": {
   "grapevine_database_wait_seconds": [{"count": "~ ^\\d+$", "sum": "~ ^\\d+(\\.\\d+)?$"}],
   "grapevine_database_query_duration_seconds": [{"count": "~ ^\\d+$", "sum": "~ ^\\d+(\\.\\d+)?$"}],
   "grapevine_database_query_errors_total": [{"value": 0}],
   "grapevine_database_queue_rejections_total": [{"value": 0}],
   "grapevine_database_unavailable_total": [{"value": 0}],
   "grapevine_database_statements_prepared_total": [{"value": 0}],
   "grapevine_database_statements_failed_total": [{"value": 0}],
   "grapevine_database_statements_unprepared_total": [{"value": 0}],
   "grapevine_database_connections": [{"state": "idle", "value": "~ ^\\d$"},
                                      {"state": "busy", "value": "~ ^\\d$"},
                                      {"state": "connecting", "value": "~ ^\\d$"},
                                      {"state": "down", "value": "~ ^\\d$"}],
   "grapevine_database_waiting_queries": [{"value": 0}]}}

=== TEST 3: the database is down: 503 at once, and it says so
--- http_config
grapevine_database "host=127.0.0.1 port=$TEST_NGINX_DEAD_PORT dbname=x user=grapevine sslmode=disable";
--- config
location = /_status { grapevine_status; }
--- request
GET /_status
--- error_code: 503
--- max_time: 2
--- response_headers
Retry-After: 5
--- response_json
{"module": "ngx_grapevine", "version": "~ ^\\d+\\.\\d+\\.\\d+$",
 "nginx": "1.22.1", "pid": "~ ^\\d+$", "worker": "~ ^[01]$", "healthy": false,
 "database": {"reachable": false, "answered_503": 0,
              "error": "~ (?i)connection refused",
              "target": "127.0.0.1:$TEST_NGINX_DEAD_PORT",
              "pool": {"size": 4, "connected": 0,
                       "connecting": 0, "idle": 0, "waiting": 0,
                       "statements": 0, "prepared": 0, "unprepared": []}},
 "schema": {"expected": $TEST_NGINX_SCHEMA, "found": null, "current": false,
            "compatible": null, "serves": false,
            "sql": {"expected": "~ ^[0-9a-f]{64}$", "found": null}},
 "instance": {
   "grapevine_database_wait_seconds": [{"count": "~ ^\\d+$", "sum": "~ ^\\d+(\\.\\d+)?$"}],
   "grapevine_database_query_duration_seconds": [{"count": "~ ^\\d+$", "sum": "~ ^\\d+(\\.\\d+)?$"}],
   "grapevine_database_query_errors_total": [{"value": 0}],
   "grapevine_database_queue_rejections_total": [{"value": 0}],
   "grapevine_database_unavailable_total": [{"value": 0}],
   "grapevine_database_statements_prepared_total": [{"value": 0}],
   "grapevine_database_statements_failed_total": [{"value": 0}],
   "grapevine_database_statements_unprepared_total": [{"value": 0}],
   "grapevine_database_connections": [{"state": "idle", "value": "0"},
                                      {"state": "busy", "value": "0"},
                                      {"state": "connecting", "value": "~ ^\\d$"},
                                      {"state": "down", "value": "~ ^[1-8]$"}],
   "grapevine_database_waiting_queries": [{"value": 0}]}}

=== TEST 4: a database behind the module's schema is reported
--- sql_setup
DELETE FROM schema_migrations;
--- restart
--- wait: 0.5
--- config
location = /_status { grapevine_status; }
--- request
GET /_status
--- error_code: 503
--- response_like
"schema":\{"expected":$TEST_NGINX_SCHEMA,"found":0,"current":false,"compatible":0,"serves":false,"sql":\{"expected":"[0-9a-f]{64}","found":"[0-9a-f]{64}"\}\}
--- error_log
the database schema is at version 0, this module needs version $TEST_NGINX_SCHEMA

=== TEST 5: SQL functions that are not the module's are reported
--- sql_setup
INSERT INTO schema_migrations (version, name)
SELECT v, 'restored' FROM generate_series(1, $TEST_NGINX_SCHEMA) AS v
ON CONFLICT DO NOTHING;
CREATE TABLE saved_schema_sql AS SELECT * FROM schema_sql;
UPDATE schema_sql SET checksum = repeat('0', 64);
--- restart
--- wait: 0.5
--- config
location = /_status { grapevine_status; }
--- request
GET /_status
--- error_code: 503
--- response_like
"schema":\{"expected":$TEST_NGINX_SCHEMA,"found":$TEST_NGINX_SCHEMA,"current":false,"compatible":$TEST_NGINX_SCHEMA,"serves":false,"sql":\{"expected":"[0-9a-f]{64}","found":"0{64}"\}\}
--- error_log
the database's SQL functions (sql/, checksum "0000000000000000000000000000000000000000000000000000000000000000") are not this module's

=== TEST 6: a database migrated before the checksum was recorded
--- sql_setup
DROP TABLE schema_sql;
--- restart
--- wait: 0.5
--- config
location = /_status { grapevine_status; }
--- request
GET /_status
--- error_code: 503
--- response_like
"schema":\{"expected":$TEST_NGINX_SCHEMA,"found":$TEST_NGINX_SCHEMA,"current":false,"compatible":$TEST_NGINX_SCHEMA,"serves":false,"sql":\{"expected":"[0-9a-f]{64}","found":null\}\}
--- error_log
the database's SQL functions (sql/, checksum "none") are not this module's

=== TEST 7: only GET and HEAD
--- sql_setup
CREATE TABLE schema_sql AS SELECT * FROM saved_schema_sql;
--- config
location = /_status { grapevine_status; }
--- request
POST /_status
x=1
--- error_code: 405

=== TEST 8: HEAD has the headers and no body
--- config
location = /_status { grapevine_status; }
--- request
HEAD /_status
--- response_headers
Content-Type: application/json
--- response_body chomp

=== TEST 9: the shipped locations: /_status answers %{who} with %{code}
--- part: raisin
--- cases
who                        | address    | code
this machine (IPv4)        | 127.0.0.1  | 200
this machine (IPv6)        | ::1        | 200
another loopback address   | 127.0.0.2  | 403
anyone else                | 192.0.2.10 | 403
--- config
# the client's address from X-Real-IP, as behind a proxy (realip)
set_real_ip_from 127.0.0.1;
real_ip_header X-Real-IP;
include $TEST_NGINX_ROOT/conf/grapevine-locations.conf;
--- request
GET /_status
--- more_headers
X-Real-IP: %{address}
--- error_code: %{code}
