# Expand-then-contract (README.md, "Migrations"): a module keeps serving a
# database that a newer release's migrations have only expanded (each
# records the oldest module schema it still serves, "-- compatible: N"),
# with the newer release's SQL functions; once a migration contracts the
# schema past it, /_status answers 503 and the log says what to do.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);

my $root = root();
my $db = db();
my $n = Grapevine::Test::schema_version();
my ($expand, $contract) = ($n + 1, $n + 2);

# the next release's tree: this one's migrations and SQL, one migration
# more that only adds (a table), and one more function
my $next = tempdir(CLEANUP => 1);
make_path("$next/migrations", "$next/sql");
copy($_, "$next/migrations/") or die $!
    for glob "$root/migrations/[0-9]*_*.sql";
system('cp', '-R', glob("$root/sql/*"), "$next/sql/") == 0 or die;

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

write_file(sprintf("%s/migrations/%04d_expand.sql", $next, $expand),
           "-- compatible: $n\n"
           . "CREATE TABLE expanded (id integer PRIMARY KEY);\n");
write_file("$next/sql/api/expanded_count.sql",
           "CREATE OR REPLACE FUNCTION expanded_count() RETURNS bigint\n"
           . "LANGUAGE sql STABLE AS \$\$ SELECT count(*) FROM expanded \$\$;\n");

sub migrate {
    local $ENV{PGDATABASE} = $db;
    local $ENV{GRAPEVINE_MIGRATIONS} = "$next/migrations";
    local $ENV{GRAPEVINE_SQL} = "$next/sql";
    my $out = `$root/util/migrate 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = migrate();
is($rc, 0, 'the next release migrates the database') or diag($out);
like($out, qr/applying 0*${expand}_expand/, 'with its expanding migration');
is_deeply(sql_rows('SELECT version, compatible FROM schema_migrations '
                   . 'WHERE version >= ? ORDER BY version', $n),
          [[$n, Grapevine::Test::schema_compatible()], [$expand, $n]],
          'each migration records the oldest module schema it serves: '
          . 'its "-- compatible:" line, or its own');

my $config = <<'CONF';
location = /_status { grapevine_status; }
location /api/ { grapevine_api; }
location / { grapevine_site; }
CONF

start_nginx(config => $config);

my $status;
wait_until(sub {
    $status = http_get('/_status');
    my $s = eval { json_decode($status->{body}) };
    return $s && defined $s->{schema}{found};
}, 10);

is($status->{status}, 200, 'this module serves the expanded schema: '
                           . '/_status answers 200');
my $s = json_decode($status->{body});
is_deeply([@{ $s->{schema} }{qw(expected found compatible)}],
          [$n, $expand, $n], 'it shows the schema found and the oldest '
                             . 'module schema it serves');
ok(!$s->{schema}{current} && $s->{schema}{serves} && $s->{healthy},
   'not current, but served: healthy');
isnt($s->{schema}{sql}{found}, $s->{schema}{sql}{expected},
     'the newer SQL functions are reported (their checksum), not fatal');

is(http_get('/api/games')->{status}, 200, 'the API answers');
is(http_get('/api/channels')->{status}, 200, 'and its other lists');
is(http_get('/')->{status}, 200, 'the site answers');
is(http_get('/games')->{status}, 200, 'and its pages');

ok(wait_until(sub {
       error_log_since(0) =~ /the database schema is at version $expand, newer than this module's $n, and still serves it \(modules of schema $n and newer\)/
   }, 5), 'the log says the schema is newer and served');
unlike(error_log_since(0), qr/\[error\]/, 'and logs no error');

stop_nginx();

# a release that contracts: modules before it no longer serve the database
unlink "$next/sql/api/expanded_count.sql";
write_file(sprintf("%s/migrations/%04d_contract.sql", $next, $contract),
           "-- compatible: $contract\n"
           . "DROP FUNCTION IF EXISTS expanded_count();\n"
           . "DROP TABLE expanded;\n");

($rc, $out) = migrate();
is($rc, 0, 'the contracting release migrates the database') or diag($out);
is_deeply(sql_rows('SELECT compatible FROM schema_migrations '
                   . 'WHERE version = ?', $contract),
          [[$contract]], 'and records that it serves modules of its schema '
                         . 'only');

start_nginx(config => $config);

wait_until(sub {
    $status = http_get('/_status');
    my $s = eval { json_decode($status->{body}) };
    return $s && defined $s->{schema}{found};
}, 10);

is($status->{status}, 503, 'this module does not serve the contracted '
                           . 'schema: /_status answers 503');
$s = json_decode($status->{body});
is_deeply([@{ $s->{schema} }{qw(found compatible)}, $s->{healthy} ? 1 : 0,
           $s->{schema}{serves} ? 1 : 0],
          [$contract, $contract, 0, 0], 'and says why');
ok(wait_until(sub {
       error_log_since(0) =~ /\[error\].*the database schema is at version $contract, which a module of schema $contract or newer serves; this module is of schema $n: install the newer module and restart nginx/
   }, 5), 'the log says what to do');

stop_nginx();

# util/lint-sql holds the rule: a value between the previous migration's
# and the file's own number
write_file(sprintf("%s/migrations/%04d_bad.sql", $next, $contract + 1),
           "-- compatible: $n\nSELECT 1;\n");
my $lint = `$root/util/lint-sql $next/migrations $next/sql 2>&1`;
isnt($? >> 8, 0, 'a migration that would serve modules older than the '
                 . 'previous one allows fails the lint');
like($lint, qr/_bad\.sql:1: compatible: $n:/, 'naming the file and line');

done_testing();
Grapevine::Test::cleanup();
