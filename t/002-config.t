# grapevine_database is checked when the configuration is loaded: each
# mistake fails "nginx -t" with a message naming the directive.
use lib 't/lib';
use Grapevine::Test;

run_tests();

__DATA__

=== TEST 1: malformed conninfo
--- http_config
grapevine_database "host=/tmp dbname";
--- must_die
--- error_log
"grapevine_database": invalid conninfo: missing "=" after "dbname"

=== TEST 2: unknown conninfo keyword
--- http_config
grapevine_database "dbname=x colour=blue";
--- must_die
--- error_log
"grapevine_database": invalid conninfo: invalid connection option "colour"

=== TEST 3: no database named
--- http_config
grapevine_database "host=/tmp user=grapevine";
--- must_die
--- error_log
"grapevine_database": the conninfo names no database

=== TEST 4: a host that does not resolve
--- http_config
grapevine_database "host=no-such-host.invalid dbname=x";
--- must_die
--- error_log
"grapevine_database": host not found in host "no-such-host.invalid"

=== TEST 5: several hosts
--- http_config
grapevine_database "host=a,b dbname=x";
--- must_die
--- error_log
"grapevine_database": several hosts are not supported

=== TEST 6: a bad pool size
--- http_config
grapevine_database "dbname=x" pool=0;
--- must_die
--- error_log
"grapevine_database": invalid parameter "pool=0"

=== TEST 7: an unknown parameter
--- http_config
grapevine_database "dbname=x" pooll=3;
--- must_die
--- error_log
"grapevine_database": invalid parameter "pooll=3"

=== TEST 8: a bad timeout
--- http_config
grapevine_database "dbname=x" timeout=soon;
--- must_die
--- error_log
invalid parameter "timeout=soon"

=== TEST 9: set twice
--- http_config
grapevine_database "dbname=x";
grapevine_database "dbname=y";
--- must_die
--- error_log
"grapevine_database" directive is duplicate

=== TEST 10: a location that needs the database, and none configured
--- http_config
--- config
location = /_status { grapevine_status; }
--- must_die
--- error_log
"grapevine_status" in
needs the database: add "grapevine_database" to the http block

=== TEST 11: not allowed inside a server
--- http_config
--- config
grapevine_database "dbname=x";
--- must_die
--- error_log
"grapevine_database" directive is not allowed here

=== TEST 12: a bad port
--- http_config
grapevine_database "host=127.0.0.1 port=54x dbname=x";
--- must_die
--- error_log
"grapevine_database": invalid port "54x"

=== TEST 13: a good configuration passes nginx -t, with all parameters
--- http_config
grapevine_database "host=127.0.0.1 port=5432 dbname=x" pool=8 queue=10 connect_timeout=2s timeout=30s;
--- config
location = /_status { grapevine_status; }
--- request
GET /_status
--- error_code: 503

=== TEST 14: grapevine_hub: not a WebSocket URL
--- http_config
grapevine_database "dbname=x";
grapevine_hub http://127.0.0.1/socket;
--- must_die
--- error_log
"grapevine_hub": "http://127.0.0.1/socket" is not a ws:// or wss:// URL

=== TEST 15: grapevine_hub: a host that does not resolve
--- http_config
grapevine_database "dbname=x";
grapevine_hub wss://no-such-hub.invalid/socket;
--- must_die
--- error_log
"grapevine_hub": host not found in "wss://no-such-hub.invalid/socket"

=== TEST 16: grapevine_hub_client_id must be a UUID
--- http_config
grapevine_database "dbname=x";
grapevine_hub ws://127.0.0.1:4001/socket;
grapevine_hub_client_id not-a-uuid;
--- must_die
--- error_log
"grapevine_hub_client_id": "not-a-uuid" is not a UUID

=== TEST 17: the secret file must exist
--- http_config
grapevine_database "dbname=x";
grapevine_hub ws://127.0.0.1:4001/socket;
grapevine_hub_client_id 00000000-0000-4000-8000-000000000001;
grapevine_hub_client_secret_file /nonexistent/secret;
--- must_die
--- error_log
"grapevine_hub_client_secret_file": cannot open "/nonexistent/secret"

=== TEST 18: the secret file must hold a UUID, which is never echoed
--- http_config
grapevine_database "dbname=x";
grapevine_hub ws://127.0.0.1:4001/socket;
grapevine_hub_client_id 00000000-0000-4000-8000-000000000001;
grapevine_hub_client_secret_file $TEST_NGINX_ROOT/t/fixtures/not-a-secret;
--- must_die
--- error_log
"grapevine_hub_client_secret_file": "$TEST_NGINX_ROOT/t/fixtures/not-a-secret" does not hold a UUID
--- no_error_log
this is not a uuid

=== TEST 19: the hub needs its credentials
--- http_config
grapevine_database "dbname=x";
grapevine_hub ws://127.0.0.1:4001/socket;
--- must_die
--- error_log
"grapevine_hub" needs "grapevine_hub_client_id" and "grapevine_hub_client_secret_file"

=== TEST 20: hub settings without a hub
--- http_config
grapevine_database "dbname=x";
grapevine_hub_sync push;
--- must_die
--- error_log
grapevine_hub_* directives are set but "grapevine_hub" is not

=== TEST 21: a bad sync mode
--- http_config
grapevine_database "dbname=x";
grapevine_hub_sync sometimes;
--- must_die
--- error_log
invalid value "sometimes" in

=== TEST 22: a hub name too long
--- http_config
grapevine_hub_name ThisNameIsFarTooLong;
--- must_die
--- error_log
"grapevine_hub_name": "ThisNameIsFarTooLong" must be 1 to 15 characters

=== TEST 23: a bad frame limit
--- http_config
grapevine_hub_max_frame 10;
--- must_die
--- error_log
"grapevine_hub_max_frame" directive must be a size from 1k to 64m in

=== TEST 24: a bad heartbeat
--- http_config
grapevine_hub_heartbeat 5ms;
--- must_die
--- error_log
"grapevine_hub_heartbeat" directive must be a time of at least 100ms in

=== TEST 25: wss needs a readable CA file
--- http_config
grapevine_database "dbname=x";
grapevine_hub wss://127.0.0.1:4001/socket;
grapevine_hub_client_id 00000000-0000-4000-8000-000000000001;
grapevine_hub_client_secret_file $TEST_NGINX_ROOT/t/fixtures/hub-secret;
grapevine_hub_ca_file /nonexistent/ca.pem;
--- must_die
--- error_log
"grapevine_hub_ca_file": cannot read "/nonexistent/ca.pem"

=== TEST 26: the hub needs the database
--- http_config
grapevine_hub ws://127.0.0.1:4001/socket;
grapevine_hub_client_id 00000000-0000-4000-8000-000000000001;
grapevine_hub_client_secret_file $TEST_NGINX_ROOT/t/fixtures/hub-secret;
--- must_die
--- error_log
"grapevine_hub" needs the database

=== TEST 27: raisin signs in through the site, so it needs grapevine_site
--- part: raisin
--- http_config
grapevine_database "dbname=x";
--- config
location /raisin/ { raisin; }
--- must_die
--- error_log
needs grapevine_site in the same http block (its sign-in and sessions)

=== TEST 28: raisin needs the database
--- part: raisin
--- http_config
--- config
location /raisin/ { raisin; }
location / { grapevine_site; }
--- must_die
--- error_log
"raisin" in
needs the database: add "grapevine_database" to the http block

=== TEST 29: %{directive} %{value}: nginx -t names the parameter
--- cases
directive                  | value                  | message
grapevine_password_hash    | running=0              | "grapevine_password_hash": invalid parameter "running=0"
grapevine_password_hash    | running=1025           | "grapevine_password_hash": invalid parameter "running=1025"
grapevine_password_hash    | queue=-1               | "grapevine_password_hash": invalid parameter "queue=-1"
grapevine_password_hash    | queue=many             | "grapevine_password_hash": invalid parameter "queue=many"
grapevine_sign_in_throttle | backstop=0             | "grapevine_sign_in_throttle": invalid parameter "backstop=0"
grapevine_sign_in_throttle | account=10 backstop=5  | "grapevine_sign_in_throttle": backstop=5 must be at least account=10
grapevine_sign_up_throttle | address=0              | "grapevine_sign_up_throttle": invalid parameter "address=0"
grapevine_sign_up_throttle | period=0s              | "grapevine_sign_up_throttle": invalid parameter "period=0s"
grapevine_sign_up_throttle | account=3              | "grapevine_sign_up_throttle": invalid parameter "account=3"
--- http_config
grapevine_database "dbname=x";
%{directive} %{value};
--- config
location / { grapevine_site; }
--- must_die
--- error_log
%{message}

=== TEST 30: grapevine_sign_up_throttle set twice
--- http_config
grapevine_database "dbname=x";
grapevine_sign_up_throttle address=5;
grapevine_sign_up_throttle address=6;
--- config
location / { grapevine_site; }
--- must_die
--- error_log
"grapevine_sign_up_throttle" directive is duplicate

=== TEST 31: a bad message limit
--- http_config
grapevine_hub_max_message 65537;
--- must_die
--- error_log
"grapevine_hub_max_message" directive must be a size from 1 to 64k in

=== TEST 32: a message limit of nothing
--- http_config
grapevine_hub_max_message 0;
--- must_die
--- error_log
"grapevine_hub_max_message" directive must be a size from 1 to 64k in

=== TEST 33: a message limit without a hub
--- http_config
grapevine_database "dbname=x";
grapevine_hub_max_message 4k;
--- must_die
--- error_log
grapevine_hub_* directives are set but "grapevine_hub" is not

=== TEST 34: %{directive} %{value}: a chat limit nginx -t refuses
--- cases
directive                 | value               | message
grapevine_chat_rate       | 0r/s                | "grapevine_chat_rate": invalid parameter "0r/s" (a rate is "Nr/s" or "Nr/m", then "burst=N", N at most 1000)
grapevine_chat_rate       | 5                   | "grapevine_chat_rate": invalid parameter "5"
grapevine_chat_rate       | 1r/h                | "grapevine_chat_rate": invalid parameter "1r/h"
grapevine_chat_rate       | 1r/s burst=1001     | "grapevine_chat_rate": invalid parameter "burst=1001"
grapevine_chat_rate       | 1r/s burst=-1       | "grapevine_chat_rate": invalid parameter "burst=-1"
grapevine_chat_max_length | 0                   | "grapevine_chat_max_length" directive must be a number of characters from 1 to 2048
grapevine_chat_max_length | 2049                | "grapevine_chat_max_length" directive must be a number of characters from 1 to 2048
grapevine_hub_send_rate   | 2r/s burst=0        | "grapevine_hub_send_rate" directive needs a burst of at least 1
grapevine_hub_send_rate   | fast                | "grapevine_hub_send_rate": invalid parameter "fast"
--- http_config
grapevine_database "dbname=x";
%{directive} %{value};
--- config
location / { grapevine_site; }
--- must_die
--- error_log
%{message}

=== TEST 35: grapevine_chat_rate set twice
--- http_config
grapevine_database "dbname=x";
grapevine_chat_rate 1r/s;
grapevine_chat_rate 2r/s;
--- config
location / { grapevine_site; }
--- must_die
--- error_log
"grapevine_chat_rate" directive is duplicate

=== TEST 36: the hub's send rate without a hub
--- http_config
grapevine_database "dbname=x";
grapevine_hub_send_rate 1r/s burst=5;
--- must_die
--- error_log
grapevine_hub_* directives are set but "grapevine_hub" is not
