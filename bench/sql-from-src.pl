#!/usr/bin/env perl
# Prints the SQL an API endpoint sends, taken from the C source: the
# expansion of the string macro MACRO (e.g. NGX_GRAPEVINE_API_GAME_SQL)
# defined in one of FILES, through the C preprocessor, so macros built from
# other macros come out as the module sees them.  Adjacent literals are
# joined and C escapes undone.  Exits 1, printing nothing, when no file
# defines MACRO.
#
#   bench/sql-from-src.pl MACRO FILE...
use strict;
use warnings;
use File::Temp qw(tempfile);

my ($macro, @files) = @ARGV;
die "usage: $0 MACRO FILE...\n" unless $macro && @files;

my $defs = '';
my $found = 0;
for my $file (@files) {
    open my $fh, '<', $file or next;
    my $src = do { local $/; <$fh> };
    # every #define with its continuation lines, nothing else
    while ($src =~ /^([ \t]*#[ \t]*define[ \t]+(\w+)(?:[^\n]*\\\n)*[^\n]*)$/mg) {
        $defs .= "$1\n";
        $found = 1 if $2 eq $macro;
    }
}
exit 1 unless $found;

my ($tfh, $tmp) = tempfile(SUFFIX => '.c', UNLINK => 1);
print $tfh $defs, "\n__BENCH_SQL__ ", $macro, "\n";
close $tfh;

my $out = `cpp -P -w "$tmp" 2>/dev/null`;
die "cpp failed on the definitions of $macro\n" if $?;
$out =~ /__BENCH_SQL__\s*(.*)\z/s or die "cpp: no expansion of $macro\n";
my $exp = $1;

my $sql = '';
while ($exp =~ /\G\s*"((?:[^"\\\n]|\\.)*)"/gc) {
    my $lit = $1;
    $lit =~ s/\\(n|t|"|\\|')/$1 eq 'n' ? "\n" : $1 eq 't' ? "\t" : $1/ge;
    $sql .= $lit;
}
$exp =~ /\G\s*\z/gc or die "$macro is not a string literal: $exp\n";
print "$sql\n";
