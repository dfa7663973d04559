#!/usr/bin/env perl
# Replays hub frames into the database the way the module stores them, and
# reports the wall time and where PostgreSQL spent it:
# pg_stat_user_functions (track_functions = all) and pg_stat_statements
# when the extension is loaded.  Used for the findings in bench/README.md;
# util/bench does not run it.
#
#   bench/profile-ingest.pl DBNAME FRAMES.jsonl [SQL]
#   bench/profile-ingest.pl DBNAME UPSERT.sql
#
# The module parses each sync/* frame and sends its valid records, one
# "SELECT * FROM backbone_sync($1, $2::jsonb)" per frame ($1 the kind,
# $2 the records as ngx_grapevine_proto_records_json() writes them), text
# parameters, autocommit, one connection.  This script turns the frames
# (util/bench writes them, all valid) into the same calls before it starts
# the clock: a v1 payload's list as it is, a v2 version's record with its
# "logged_at" and "deleted" (the keys the module leaves out, such as
# nulls, are NULL to jsonb_to_recordset() all the same).  SQL, when given,
# replaces the statement.  The second form runs a psql baseline script of
# bench/gen-ingest.pl statement by statement instead (as psql -f does), for
# its backend CPU time.  libpq's environment (PGHOST, PGPORT, PGUSER) names
# the cluster.
use strict;
use warnings;
use DBI;
use JSON::PP qw(decode_json encode_json);
use Time::HiRes qw(time);

my ($db, $file, $sql) = @ARGV;
die "usage: $0 DBNAME FRAMES.jsonl [SQL]\n" unless $db && $file;
$sql //= 'SELECT * FROM backbone_sync($1, $2::jsonb)';

open my $fh, '<:raw', $file or die "$file: $!\n";
my @frames;
my $script = $file =~ /\.sql\z/;
if ($script) {
    my $text = do { local $/; <$fh> };
    @frames = grep { /\S/ && !/^\s*\\/ } split /;\n/, $text;
    $sql = undef;
}
else {
    for my $line (<$fh>) {
        my $f = decode_json($line);
        my ($kind) = ($f->{event} // '') =~ m{^sync/(\w+)$} or next;
        my $p = $f->{payload};
        my $recs = ref $p eq 'HASH' ? $p->{$kind} : [map {
            { %{ $_->{payload} },
              ($_->{logged_at} ? (logged_at => $_->{logged_at}) : ()),
              ($_->{action} eq 'delete' ? (deleted => JSON::PP::true) : ()) }
        } @$p];
        push @frames, [$kind, encode_json($recs)];
    }
}

my $dbh = DBI->connect("dbi:Pg:dbname=$db", '', '',
                       {RaiseError => 1, AutoCommit => 1, PrintError => 0});
$dbh->do(q{SET track_functions = 'all'});
$dbh->do('SELECT pg_stat_reset()');
$dbh->{pg_server_prepare} = 0;      # PQexecParams, as the module does

# the backend's CPU time: steadier than wall time on a busy machine
my ($bpid) = $dbh->selectrow_array('SELECT pg_backend_pid()');
sub cpu {
    open my $st, '<', "/proc/$bpid/stat" or return 0;
    my @f = split ' ', (<$st> =~ s/^.*\) //r);
    return ($f[11] + $f[12]) / 100;     # utime + stime, in ticks of 10 ms
}

my ($n, $skipped) = (0, 0);
my $c0 = cpu();
my $t0 = time;
for my $f (@frames) {
    if ($script) {
        $dbh->do($f);
    }
    else {
        my $rows = $dbh->selectall_arrayref($sql, undef, @$f);
        $skipped += @$rows;
    }
    $n++;
}
my $dt = time - $t0;
my $dc = cpu() - $c0;

$dbh->do('SELECT pg_stat_force_next_flush()');
$dbh->do('SELECT 1');
$dbh->do('SELECT pg_stat_clear_snapshot()');

printf "%d %s in %.3f s (%.2f ms each), backend CPU %.2f s, "
       . "%d rows returned\n", $n, $script ? 'statements' : 'frames', $dt,
       1000 * $dt / $n, $dc, $skipped;

my $fns = $dbh->selectall_arrayref(q{
    SELECT funcname, calls, round(total_time::numeric, 1),
           round(self_time::numeric, 1)
    FROM pg_stat_user_functions ORDER BY self_time DESC});
printf "%-24s %9s %10s %10s\n", 'function', 'calls', 'total ms', 'self ms';
printf "%-24s %9d %10.1f %10.1f\n", @$_ for @$fns;
