# util/migrate: in order, once, in one transaction for the whole run, safe
# when run concurrently, and a failing file changes nothing.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use File::Temp qw(tempdir);

my $root = root();
my $db = db();

sub migrate {
    my ($dir) = @_;
    local $ENV{PGDATABASE} = $db;
    local $ENV{GRAPEVINE_MIGRATIONS} = $dir if $dir;
    my $out = `$root/util/migrate 2>&1`;
    return ($? >> 8, $out);
}

# the template is migrated: nothing left to do
my ($rc, $out) = migrate();
is($rc, 0, 'migrate on a current database succeeds');
is($out, '', 'and applies nothing');

my @files = glob "$root/migrations/[0-9][0-9][0-9][0-9]_*.sql";
is_deeply(sql_rows('SELECT count(*) FROM schema_migrations'),
          [[scalar @files]], 'every migration file is recorded');

# a fresh, empty database, migrated by two runs at once
sql('DROP SCHEMA public CASCADE');
sql('CREATE SCHEMA public');

my @pids;
for my $i (1, 2) {
    my $pid = fork // die;
    if ($pid == 0) {
        local $ENV{PGDATABASE} = $db;
        exec "$root/util/migrate > /dev/null 2>&1";
    }
    push @pids, $pid;
}
my @codes = map { waitpid($_, 0); $? >> 8 } @pids;
is_deeply(\@codes, [0, 0], 'two concurrent runs both succeed');
is_deeply(sql_rows('SELECT count(*), count(DISTINCT version) '
                   . 'FROM schema_migrations'),
          [[scalar @files, scalar @files]], 'each file applied once');

# a directory with a good file and a failing one
my $dir = tempdir(CLEANUP => 1);
sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die $!;
    print $fh $text;
}
write_file('9001_good.sql', "CREATE TABLE t_good (x int);\n");
write_file('9002_bad.sql', "CREATE TABLE t_bad (x int);\nSELECT 1/0;\n");
write_file('9003_after.sql', "CREATE TABLE t_after (x int);\n");

($rc, $out) = migrate($dir);
isnt($rc, 0, 'a failing migration fails the run');
like($out, qr/division by zero/, 'and says why');
is_deeply(sql_rows("SELECT version FROM schema_migrations WHERE version > 9000"),
          [], 'the run is one transaction: not even the good file before '
              . 'the bad one is recorded');
is_deeply(sql_rows("SELECT to_regclass('t_good') IS NULL, "
                   . "to_regclass('t_bad') IS NULL, "
                   . "to_regclass('t_after') IS NULL"),
          [[1, 1, 1]], 'the run left nothing behind');

unlink "$dir/9002_bad.sql";
($rc, $out) = migrate($dir);
is($rc, 0, 'without the failing file the run succeeds') or diag($out);
like($out, qr/^applying 9001_good\napplying 9003_after\n/,
     'and says what it applied');
is_deeply(sql_rows("SELECT version FROM schema_migrations WHERE version > 9000 "
                   . "ORDER BY version"),
          [[9001], [9003]], 'both are recorded');

done_testing();
Grapevine::Test::cleanup();
