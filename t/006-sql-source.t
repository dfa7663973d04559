# sql/ as source: util/migrate applies sql/ after the migrations in one
# transaction and records its checksum; a database of schema 6 (made before
# sql/ existed, t/fixtures/schema-6.sql) upgrades to exactly the schema of
# a fresh one, its data intact; applying again changes nothing; a broken
# file, or a function no file defines any more, leaves the database as it
# was.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use DBI;
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);

my $root = root();
my $tmp = tempdir(CLEANUP => 1);
my @dbs;

sub admin {
    my $dbh = DBI->connect("dbi:Pg:dbname=postgres", '', '',
                           { RaiseError => 1, PrintError => 0,
                             AutoCommit => 1 });
    $dbh->do("SET client_min_messages = warning");
    return $dbh;
}

# an empty database of this file's own
sub new_db {
    my ($name) = @_;
    $name = db() . "_$name";
    my $dbh = admin();
    $dbh->do(qq{DROP DATABASE IF EXISTS "$name"});
    $dbh->do(qq{CREATE DATABASE "$name" TEMPLATE template0});
    $dbh->disconnect;
    push @dbs, $name;
    return $name;
}

sub rows {
    my ($name, $stmt) = @_;
    my $dbh = DBI->connect("dbi:Pg:dbname=$name", '', '',
                           { RaiseError => 1, PrintError => 0,
                             AutoCommit => 1 });
    my $rows = $dbh->selectall_arrayref($stmt);
    $dbh->disconnect;
    return $rows;
}

sub run_sql {
    my ($name, $stmt) = @_;
    my $dbh = DBI->connect("dbi:Pg:dbname=$name", '', '',
                           { RaiseError => 1, PrintError => 0,
                             AutoCommit => 1 });
    $dbh->do("SET client_min_messages = warning");
    $dbh->do($stmt);
    $dbh->disconnect;
}

# util/migrate on a database; %env: GRAPEVINE_SQL, GRAPEVINE_MIGRATIONS
sub migrate {
    my ($name, %env) = @_;
    local $ENV{PGDATABASE} = $name;
    local @ENV{keys %env} = values %env;
    my $out = `$root/util/migrate 2>&1`;
    return ($? >> 8, $out);
}

sub checksum {
    my ($dir) = @_;
    my $sum = `$root/util/sql-checksum $dir`;
    die "util/sql-checksum failed\n" if $?;
    chomp $sum;
    return $sum;
}

# pg_dump's text, without the random key of \restrict
sub dump_db {
    my ($name, @opts) = @_;
    my $text = `pg_dump --no-owner --no-privileges @opts $name`;
    die "pg_dump $name failed\n" if $?;
    $text =~ s/^\\(?:un)?restrict .*\n//mg;
    return $text;
}

sub schema { dump_db($_[0], '--schema-only') }

# Every row of every table but the two of util/migrate, as text: in the
# columns each table had in $before (from an earlier call), so that a
# migration's new column does not count as a changed row.  Returns
# { text, columns }.
sub table_rows {
    my ($name, $before) = @_;
    my $dbh = DBI->connect("dbi:Pg:dbname=$name", '', '',
                           { RaiseError => 1, PrintError => 0,
                             AutoCommit => 1 });
    my $columns = $before ? $before->{columns} : {};
    if (!$before) {
        for my $r (@{ $dbh->selectall_arrayref(q{
                SELECT table_name, string_agg(quote_ident(column_name), ', '
                                              ORDER BY ordinal_position)
                FROM information_schema.columns
                WHERE table_schema = 'public'
                  AND table_name NOT IN ('schema_migrations', 'schema_sql')
                  AND table_name IN (SELECT table_name
                                     FROM information_schema.tables
                                     WHERE table_type = 'BASE TABLE')
                GROUP BY table_name}) })
        {
            $columns->{ $r->[0] } = $r->[1];
        }
    }
    my $text = '';
    for my $t (sort keys %$columns) {
        my $rows = $dbh->selectcol_arrayref(
            "SELECT ROW($columns->{$t})::text AS r FROM $t ORDER BY r");
        $text .= join '', map { "$t: $_\n" } @$rows;
    }
    $dbh->disconnect;
    return { text => $text, columns => $columns };
}

# the lines of two texts that differ, for a failure's diagnostics
sub difference {
    my ($a, $b) = @_;
    my %in_b = map { $_ => 1 } split /\n/, $b;
    my %in_a = map { $_ => 1 } split /\n/, $a;
    my @only_a = grep { !$in_b{$_} } split /\n/, $a;
    my @only_b = grep { !$in_a{$_} } split /\n/, $b;
    $#only_a = 19 if @only_a > 20;
    $#only_b = 19 if @only_b > 20;
    return join "\n", (map { "- $_" } @only_a), (map { "+ $_" } @only_b);
}

# a copy of a directory tree, to break
sub copy_tree {
    my ($from, $to) = @_;
    make_path($to);
    for my $f (glob "$from/*") {
        (my $base = $f) =~ s{.*/}{};
        if (-d $f) {
            copy_tree($f, "$to/$base");
        } else {
            copy($f, "$to/$base") or die "$f: $!";
        }
    }
}

sub edit {
    my ($file, $code) = @_;
    open my $in, '<', $file or die "$file: $!";
    my $text = do { local $/; <$in> };
    close $in;
    local $_ = $text;
    $code->();
    die "$file: the edit changed nothing\n" if $_ eq $text;
    open my $out, '>', $file or die "$file: $!";
    print $out $_;
    close $out;
}

my $tree_sum = checksum("$root/sql");
like($tree_sum, qr/^[0-9a-f]{64}$/, 'util/sql-checksum prints 64 hex digits');


# ------------------------------------------------------------ a fresh one

my $fresh = new_db('fresh');
my ($rc, $out) = migrate($fresh);
is($rc, 0, 'a fresh database migrates') or diag($out);
my @files = split /\n/, `$root/util/sql-checksum --list $root/sql`;
my $n = @files;
like($out, qr/^applying sql\/: $n files, checksum $tree_sum \(was none\)$/m,
     'it says it applied sql/, how many files and the checksum');
is_deeply(rows($fresh, 'SELECT checksum FROM schema_sql'), [[$tree_sum]],
          'the recorded checksum is util/sql-checksum\'s');
ok(@{ rows($fresh, "SELECT 1 FROM pg_proc WHERE proname = 'backbone_sync'") }
   && @{ rows($fresh, "SELECT 1 FROM pg_trigger "
                      . "WHERE tgname = 'channels_api_changed'") },
   'the functions and triggers of sql/ are there');

# applied twice: the second run has nothing to do and writes nothing
my $before = dump_db($fresh);
($rc, $out) = migrate($fresh);
is($rc, 0, 'a second run succeeds');
is($out, '', 'and says nothing');
my $after = dump_db($fresh);
ok($after eq $before, 'and changes nothing: schema and rows')
    or diag(difference($before, $after));

# re-applied over itself (as when the checksum differs): the same schema
my $schema_fresh = schema($fresh);
run_sql($fresh, "UPDATE schema_sql SET checksum = 'stale'");
($rc, $out) = migrate($fresh);
is($rc, 0, 'a run with another checksum recorded succeeds') or diag($out);
like($out, qr/^applying sql\/: .* \(was stale\)$/m, 'and re-applies sql/');
my $schema_again = schema($fresh);
ok($schema_again eq $schema_fresh,
   'applying sql/ over itself leaves the schema as it was')
    or diag(difference($schema_fresh, $schema_again));
is_deeply(rows($fresh, 'SELECT checksum FROM schema_sql'), [[$tree_sum]],
          'and records the checksum again');


# ------------------------------------------- a database made at schema 6

my $old = new_db('schema6');
{
    local $ENV{PGDATABASE} = $old;
    my $log = `psql -X -q -v ON_ERROR_STOP=1 \\
                    -f $root/t/fixtures/schema-6.sql 2>&1`;
    is($? >> 8, 0, 'the schema-6 fixture restores') or diag($log);
}
is_deeply(rows($old, 'SELECT max(version) FROM schema_migrations'), [[6]],
          'it is at schema 6');
is_deeply(rows($old, "SELECT to_regclass('schema_sql') IS NULL"), [[1]],
          'and has no schema_sql');
my $data6 = table_rows($old);
my $versions6 = rows($old, 'SELECT version, name FROM schema_migrations '
                           . 'ORDER BY version');

# the migrations made after schema 6, in order
my $newer = join '', map { "applying $_\n" }
                     grep { /^(\d{4})_/ && $1 > 6 }
                     map { m{([^/]+)\.sql$} } sort glob "$root/migrations/*.sql";

($rc, $out) = migrate($old);
is($rc, 0, 'util/migrate upgrades it') or diag($out);
like($out, qr/\A\Q$newer\Eapplying sql\/: \d+ files, checksum $tree_sum \(was none\)\n\z/,
     'the migrations after 6 are applied, then sql/');
my $schema_old = schema($old);
ok($schema_old eq $schema_fresh,
   'its schema is now exactly a fresh database\'s')
    or diag(difference($schema_fresh, $schema_old));
my $data_up = table_rows($old, $data6);
ok($data_up->{text} eq $data6->{text},
   'and every row it held is as it was (in the columns it had: a later '
   . 'migration may add some)')
    or diag(difference($data6->{text}, $data_up->{text}));
is_deeply(rows($old, 'SELECT version, name FROM schema_migrations '
                     . 'WHERE version <= 6 ORDER BY version'),
          $versions6, 'its migrations are recorded as they were');
is_deeply(rows($old, 'SELECT checksum FROM schema_sql'), [[$tree_sum]],
          'the checksum is recorded');

# the upgraded functions and triggers work on the old rows
is_deeply(rows($old, "SELECT site_game(NULL, "
                     . "'{\"short_name\": \"ExVenture\"}') -> 'characters'"),
          [[ '[{"name": "Zed", "username": "alice", '
             . '"user_path": "/users/alice"}]' ]],
          'site_game() reads the old rows');
run_sql($old, q{SELECT backbone_broadcast('gossip', 'Sled', 'Ann',
                                          'still muted', 'r9')});
is_deeply(rows($old, "SELECT hidden, mute_id IS NOT NULL "
                     . "FROM channel_messages WHERE hub_ref = 'r9'"),
          [[1, 1]], 'the old mute still hides a new message (a trigger)');
ok(!eval { run_sql($old, 'DELETE FROM raisin_audit'); 1 }
   && $@ =~ /append-only/, 'the audit log is still append-only (a trigger)');


# --------------------------------------------------- a broken run changes
# nothing: a pending migration, then a file of sql/ with a syntax error

my $sql_copy = "$tmp/sql-broken";
my $mig_copy = "$tmp/migrations-pending";
copy_tree("$root/sql", $sql_copy);
copy_tree("$root/migrations", $mig_copy);
open my $fh, '>', "$mig_copy/9001_pending.sql" or die $!;
print $fh "CREATE TABLE t_pending (x int);\n";
close $fh;
edit("$sql_copy/site/site_time.sql",
     sub { s/^(CREATE OR REPLACE) FUNCTION site_time/$1 FUNCTON site_time/m });

$before = dump_db($fresh);
($rc, $out) = migrate($fresh, GRAPEVINE_SQL => $sql_copy,
                      GRAPEVINE_MIGRATIONS => $mig_copy);
isnt($rc, 0, 'a syntax error in a file of sql/ fails the run');
like($out,
     qr{site/site_time\.sql:\d+: ERROR:  syntax error at or near "FUNCTON"},
     'naming the file and the line');
like($out, qr/^applying 9001_pending$/m, 'after the pending migration ran');
$after = dump_db($fresh);
ok($after eq $before, 'the database is exactly as it was: no t_pending, '
                      . 'no row for 9001, the same checksum')
    or diag(difference($before, $after));
is_deeply(rows($fresh, "SELECT to_regclass('t_pending') IS NULL, "
                       . "(SELECT count(*) FROM schema_migrations "
                       . " WHERE version = 9001), "
                       . "(SELECT checksum FROM schema_sql)"),
          [[1, 0, $tree_sum]], 'the pending migration is not recorded and '
                               . 'the checksum is the old one');

# a body that does not compile is found too, though files are read with
# check_function_bodies off
copy("$root/sql/site/site_time.sql", "$sql_copy/site/site_time.sql") or die;
edit("$sql_copy/backbone/backbone_sign_in.sql",
     sub { s/^    RETURN true;$/    RETURN true +;/m });
($rc, $out) = migrate($fresh, GRAPEVINE_SQL => $sql_copy,
                      GRAPEVINE_MIGRATIONS => $mig_copy);
isnt($rc, 0, 'a function body that does not compile fails the run');
like($out, qr/the body of function backbone_sign_in\(text,text\) is wrong/,
     'naming the function');
$after = dump_db($fresh);
ok($after eq $before, 'and changes nothing')
    or diag(difference($before, $after));

# a function may call one of a later file (bodies are checked at the end)
copy("$root/sql/backbone/backbone_sign_in.sql",
     "$sql_copy/backbone/backbone_sign_in.sql") or die;
make_path("$sql_copy/core");
open $fh, '>', "$sql_copy/core/t_first.sql" or die $!;
print $fh "CREATE OR REPLACE FUNCTION t_first() RETURNS integer\n"
          . "LANGUAGE sql AS \$\$ SELECT t_second() + 1 \$\$;\n";
close $fh;
open $fh, '>', "$sql_copy/raisin/t_second.sql" or die $!;
print $fh "CREATE OR REPLACE FUNCTION t_second() RETURNS integer\n"
          . "LANGUAGE sql AS \$\$ SELECT 41 \$\$;\n";
close $fh;
my $copy_sum = checksum($sql_copy);
isnt($copy_sum, $tree_sum, 'another tree, another checksum');
($rc, $out) = migrate($fresh, GRAPEVINE_SQL => $sql_copy,
                      GRAPEVINE_MIGRATIONS => $mig_copy);
is($rc, 0, 'a function of core/ may call one of raisin/') or diag($out);
is_deeply(rows($fresh, 'SELECT t_first(), checksum FROM schema_sql'),
          [[42, $copy_sum]], 'both are in, and the checksum is recorded');
is_deeply(rows($fresh, 'SELECT count(*) FROM schema_migrations '
                       . 'WHERE version = 9001'),
          [[1]], 'with the pending migration');


# ------------------------------------ a function no file defines any more

unlink "$sql_copy/raisin/t_second.sql" or die;
edit("$sql_copy/core/t_first.sql", sub { s/t_second\(\) \+ 1/42/ });
$before = dump_db($fresh);
($rc, $out) = migrate($fresh, GRAPEVINE_SQL => $sql_copy,
                      GRAPEVINE_MIGRATIONS => $mig_copy);
isnt($rc, 0, 'a function left behind by a removed file fails the run');
like($out, qr/no file of sql\/ defines function t_second\(\)/,
     'naming it');
$after = dump_db($fresh);
ok($after eq $before, 'and changes nothing')
    or diag(difference($before, $after));

open $fh, '>', "$mig_copy/9002_drop_t_second.sql" or die $!;
print $fh "DROP FUNCTION IF EXISTS t_second();\n";
close $fh;
($rc, $out) = migrate($fresh, GRAPEVINE_SQL => $sql_copy,
                      GRAPEVINE_MIGRATIONS => $mig_copy);
is($rc, 0, 'a migration that drops it lets the run through') or diag($out);
is_deeply(rows($fresh, "SELECT to_regproc('t_second') IS NULL, t_first()"),
          [[1, 42]], 'the obsolete function is gone');

# the rule holds in the schema the files create into: an operator's own
# function in a schema of its own is not Grapevine's
run_sql($fresh, 'CREATE SCHEMA ops; CREATE FUNCTION ops.mine() '
                . "RETURNS integer LANGUAGE sql AS 'SELECT 7'; "
                . "UPDATE schema_sql SET checksum = 'stale'");
($rc, $out) = migrate($fresh, GRAPEVINE_SQL => $sql_copy,
                      GRAPEVINE_MIGRATIONS => $mig_copy);
is($rc, 0, 'a function of another schema is left alone') or diag($out);
is_deeply(rows($fresh, 'SELECT ops.mine()'), [[7]], 'and stays');

# the same rule for a trigger whose file is gone: api_changed's file
# without the trigger on games
edit("$sql_copy/api/api_changed.sql",
     sub { s/CREATE OR REPLACE TRIGGER games_api_changed\n[^;]*;\n//s });
($rc, $out) = migrate($fresh, GRAPEVINE_SQL => $sql_copy,
                      GRAPEVINE_MIGRATIONS => $mig_copy);
isnt($rc, 0, 'a trigger no file defines any more fails the run too');
like($out, qr/no file of sql\/ defines trigger games_api_changed on games/,
     'naming it');


# ------------------------------------------------------ util/sql-checksum

my $sum_dir = "$tmp/sum";
copy_tree("$root/sql", $sum_dir);
is(checksum($sum_dir), $tree_sum, 'a copy of sql/ has the same checksum');
my $listing = join '', map { `cd $sum_dir && sha256sum $_` }
                       sort split /\n/, `cd $sum_dir && ls */*.sql`;
open $fh, '>', "$tmp/listing" or die $!;
print $fh $listing;
close $fh;
my ($by_hand) = split ' ', `sha256sum $tmp/listing`;
is($tree_sum, $by_hand, 'the checksum is the SHA-256 of sha256sum\'s '
                        . 'listing of the sorted paths');
edit("$sum_dir/site/site_time.sql", sub { s/\z/\n/ });
isnt(checksum($sum_dir), $tree_sum, 'an edit changes it');
copy("$root/sql/site/site_time.sql", "$sum_dir/site/site_time.sql") or die;
rename "$sum_dir/site/site_time.sql", "$sum_dir/site/site_times.sql" or die;
isnt(checksum($sum_dir), $tree_sum, 'a rename changes it');
rename "$sum_dir/site/site_times.sql", "$sum_dir/site/site_time.sql" or die;
copy("$root/sql/site/site_time.sql", "$sum_dir/site/site_time.sql~") or die;
is(checksum($sum_dir), $tree_sum, 'a backup file~ is not part of the tree');
make_path("$sum_dir/stats");
my $err = `$root/util/sql-checksum $sum_dir 2>&1`;
isnt($? >> 8, 0, 'a directory that is not a part is refused');
like($err, qr/stats: not a part/, 'by name');

my $admin = admin();
$admin->do(qq{DROP DATABASE IF EXISTS "$_" WITH (FORCE)}) for @dbs;
$admin->disconnect;

done_testing();
Grapevine::Test::cleanup();
