#!/usr/bin/env perl
# Turns an endpoint's SQL (standard input) into a pgbench script (standard
# output) that sends the same statement the same way under -M extended:
# $1, $2, ... become the pgbench variables :p1, :p2, ... (pgbench binds
# them as parameters again), and a colon inside a string literal, which
# pgbench would take for a variable ('HH24:MI:SS'), is written \x3a in an
# E'' literal: the same string to PostgreSQL.  pgbench cannot hold an empty
# variable, so a parameter whose value (given as an argument) is empty is
# written as the literal '' instead; the module's unnamed statement is
# planned with its parameters' values anyway, so the plan is the same.
#
#   bench/pgbench-script.pl [VALUE1 VALUE2 ...] < endpoint.sql
use strict;
use warnings;

my $sql = do { local $/; <STDIN> };
$sql =~ s/\s*;?\s*\z//;

$sql =~ s{(E?)'((?:[^']|'')*)'}{
    my ($e, $s) = ($1, $2);
    if ($s =~ /:/) {
        $s =~ s/\\/\\\\/g unless $e;
        $s =~ s/:/\\x3a/g;
        "E'$s'";
    }
    else { "$e'$s'" }
}ge;

my @values = @ARGV;
$sql =~ s/\$(\d+)/defined $values[$1 - 1] && $values[$1 - 1] eq '' ? "''" : ":p$1"/ge;
print "$sql;\n";
