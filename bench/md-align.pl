#!/usr/bin/env perl
# Pads the columns of the Markdown tables on standard input so that they
# read as tables in a terminal too; other lines pass unchanged.
use strict;
use warnings;
use utf8;

binmode STDIN, ':encoding(UTF-8)';
binmode STDOUT, ':encoding(UTF-8)';

my @lines = <STDIN>;
my $i = 0;
while ($i < @lines) {
    if ($lines[$i] !~ /^\|/) { print $lines[$i++]; next }
    my @block;
    push @block, $lines[$i++] while $i < @lines && $lines[$i] =~ /^\|/;
    my @rows = map { chomp(my $l = $_); $l =~ s/^\|\s*//; $l =~ s/\s*\|$//;
                     [split /\s*\|\s*/, $l, -1] } @block;
    my @w;
    for my $r (@rows) {
        next if $r->[0] =~ /^:?-+:?$/;
        for my $c (0 .. $#$r) {
            my $len = length $r->[$c];
            $w[$c] = $len if !defined $w[$c] || $len > $w[$c];
        }
    }
    for my $r (@rows) {
        my @out;
        for my $c (0 .. $#$r) {
            my $w = $w[$c] // 3;
            my $v = $r->[$c];
            if ($v =~ /^(:?)-+(:?)$/) {
                $w = 3 if $w < 3;
                push @out, ($1 ? ':' : '-') . ('-' x ($w - 2)) . ($2 ? ':' : '-');
            }
            elsif ($c > 0 && $v =~ /^[\d.,]+$/) { push @out, sprintf '%*s', $w, $v }
            else                                 { push @out, sprintf '%-*s', $w, $v }
        }
        print '| ', join(' | ', @out), " |\n";
    }
}
