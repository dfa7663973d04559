# util/lint catches each of nginx's style rules, and passes clean code.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use FindBin;

my $lint = "$FindBin::Bin/../util/lint";
my $dir = tempdir(CLEANUP => 1);

sub lint_text {
    my ($text, $path) = @_;
    my $file = "$dir/" . ($path // 'x.c');
    make_path(dirname($file));
    open my $fh, '>', $file or die $!;
    print $fh $text;
    close $fh;
    my $out = `$lint $file 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = lint_text("static int\nf(void)\n{\n    return 0; /* ok */\n}\n"
                           . "static char *u = \"http://x\";\n");
is($rc, 0, 'clean code passes') or diag($out);

my %bad = (
    'longer than 80 columns' => ('x' x 81) . "\n",
    'tab'                    => "\tint x;\n",
    'trailing whitespace'    => "int x; \n",
    'C++ comment'            => "int x; // no\n",
    'CRLF line ending'       => "int x;\r\n",
);

for my $what (sort keys %bad) {
    ($rc, $out) = lint_text($bad{$what});
    is($rc, 1, "$what fails");
    like($out, qr/x\.c:1: \Q$what\E/, "$what is named with file and line");
}

($rc, $out) = lint_text("/*\n * a // in a comment\n */\nint x;\n");
is($rc, 0, '"//" inside a block comment is fine') or diag($out);

# the arrows between the parts: a file of src/<part>/ includes the headers
# of the parts it may use, and the pure files no nginx header

my @arrows = (
    # file, header, allowed
    [ 'src/core/x.c',     'ngx_grapevine_site.h',     0 ],
    [ 'src/core/x.c',     'ngx_grapevine_backbone.h', 0 ],
    [ 'src/core/x.c',     'ngx_grapevine_pg.h',       1 ],
    [ 'src/backbone/x.c', 'ngx_grapevine_api.h',      0 ],
    [ 'src/backbone/x.c', 'ngx_grapevine_pg.h',       1 ],
    [ 'src/api/x.c',      'ngx_grapevine_site.h',     0 ],
    [ 'src/api/x.c',      'ngx_grapevine_backbone.h', 0 ],
    [ 'src/api/x.c',      'ngx_grapevine_http.h',     1 ],
    [ 'src/site/x.c',     'ngx_grapevine_api.h',      0 ],
    [ 'src/site/x.c',     'ngx_grapevine_hub.h',      0 ],
    [ 'src/site/x.c',     'ngx_grapevine_params.h',   1 ],
    [ 'src/raisin/x.c',   'ngx_grapevine_site.h',     1 ],
    [ 'src/raisin/x.c',   'ngx_grapevine_api.h',      0 ],
);

for my $a (@arrows) {
    my ($path, $h, $ok) = @$a;
    ($rc, $out) = lint_text("#include \"$h\"\n", $path);

    if ($ok) {
        is($rc, 0, "$path may include $h") or diag($out);
    } else {
        is($rc, 1, "$path may not include $h");
        like($out, qr/\Q$path\E:1: includes \Q$h\E: \w+ may not use \w+/,
             "... and the refusal names the file, the line and the arrow");
    }
}

($rc, $out) = lint_text("#include <ngx_core.h>\n",
                        'src/backbone/ngx_grapevine_protocol_x.c');
is($rc, 1, 'the protocol parser includes no nginx header');
like($out, qr/includes ngx_core\.h \(a pure file/, '... and says so');

($rc, $out) = lint_text("#include <ngx_core.h>\n",
                        'src/core/ngx_grapevine_template.c');
is($rc, 1, 'nor does the template engine');

($rc, $out) = lint_text("#include <ngx_core.h>\n", 'src/core/other.c');
is($rc, 0, 'other core files do') or diag($out);

# util/lint-sql, which util/lint runs on migrations/ and sql/: a tree of
# both, in a directory of its own
sub lint_sql {
    my (%files) = @_;
    my $tree = tempdir(CLEANUP => 1);
    mkdir "$tree/$_" for qw(migrations sql sql/site sql/raisin);
    for my $name (keys %files) {
        open my $fh, '>', "$tree/$name" or die "$name: $!";
        print $fh $files{$name};
        close $fh;
    }
    my $out = `$FindBin::Bin/../util/lint-sql $tree/migrations $tree/sql 2>&1`;
    $out =~ s/\Q$tree\E\///g;
    return ($? >> 8, $out);
}

my %good = (
    'migrations/0001_a.sql' => "-- no CREATE FUNCTION here: see sql/\n"
                               . "CREATE TABLE a (x int);\n",
    'sql/site/a.sql' => "CREATE OR REPLACE FUNCTION a() RETURNS trigger\n"
                        . "LANGUAGE plpgsql AS \$\$\n"
                        . "BEGIN DROP TABLE x; RETURN NULL; END\n\$\$;\n\n"
                        . "CREATE OR REPLACE TRIGGER a AFTER INSERT ON a\n"
                        . "    FOR EACH ROW EXECUTE FUNCTION a();\n",
    'sql/raisin/b.sql' => "CREATE OR REPLACE VIEW b AS SELECT 1 AS x;\n",
);
($rc, $out) = lint_sql(%good);
is($rc, 0, 'SQL: a clean tree passes') or diag($out);
is($out, '', 'SQL: and prints nothing');

my %bad_sql = (
    'a function in a migration' => [
        { 'migrations/0002_b.sql' => "CREATE TABLE b (x int);\n"
              . "CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
              . "    AS 'SELECT 1';\n" },
        qr{^migrations/0002_b\.sql:2: CREATE FUNCTION in a migration}m ],
    'a trigger in a migration' => [
        { 'migrations/0002_b.sql' => "\nCREATE OR REPLACE TRIGGER t AFTER "
              . "INSERT ON a FOR EACH ROW EXECUTE FUNCTION a();\n" },
        qr{^migrations/0002_b\.sql:2: CREATE TRIGGER in a migration}m ],
    'a trigger made by a DO block in a migration' => [
        { 'migrations/0002_b.sql' => "DO \$\$\nBEGIN\n    EXECUTE "
              . "'CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW "
              . "EXECUTE FUNCTION a()';\nEND\n\$\$;\n" },
        qr{^migrations/0002_b\.sql:3: CREATE TRIGGER in a migration}m ],
    'a view in a migration' => [
        { 'migrations/0002_b.sql' => "CREATE VIEW v AS SELECT 1;\n" },
        qr{^migrations/0002_b\.sql:1: CREATE VIEW in a migration}m ],
    'a function defined in two files' => [
        { 'sql/raisin/c.sql' => "-- a copy\nCREATE OR REPLACE FUNCTION "
              . "public.A(x int) RETURNS int LANGUAGE sql AS 'SELECT x';\n" },
        qr{^sql/raisin/c\.sql:2:\ function\ a\ is\ defined\ in
           \ sql/raisin/c\.sql\ and\ sql/site/a\.sql:\ one\ file\ each$}mx ],
    'CREATE FUNCTION without OR REPLACE in sql/' => [
        { 'sql/raisin/c.sql' => "CREATE FUNCTION c() RETURNS int "
              . "LANGUAGE sql AS 'SELECT 1';\n" },
        qr{^sql/raisin/c\.sql:1: CREATE FUNCTION without OR REPLACE}m ],
    'a DROP in sql/' => [
        { 'sql/raisin/c.sql' => "DROP FUNCTION IF EXISTS c();\n" },
        qr{^sql/raisin/c\.sql:1: DROP FUNCTION in sql/}m ],
);

for my $what (sort keys %bad_sql) {
    my ($files, $re) = @{ $bad_sql{$what} };
    ($rc, $out) = lint_sql(%good, %$files);
    is($rc, 1, "SQL: $what fails");
    like($out, $re, "SQL: $what is named with file and line");
}

($rc, $out) = `$lint 2>&1`;
is($? >> 8, 0, 'the project itself is clean') or diag($rc);

done_testing();
