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
