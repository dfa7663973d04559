#!/usr/bin/env perl
# The scale benchmark's measurement (bench/README.md, "3. Scale"): every
# route of bench/scale/routes, one request at a time, alternately on the
# demo network's nginx and on the large network's, ROUNDS timed requests
# each after WARM untimed ones; prints one line a route:
#
#   PATH|DEMO_MS|LARGE_MS|DEMO_STATUS|LARGE_STATUS|DEMO_BYTES|LARGE_BYTES
#
# (the medians, in milliseconds).  A route's {name} placeholders are filled
# from each network's variables, given as name=value arguments after the
# base URLs (demo first, then "--", then the large network's).
#
#   measure.pl ROUTES ROUNDS WARM COOKIE DEMO_URL LARGE_URL \
#       name=value ... -- name=value ...

use strict;
use warnings;

use HTTP::Tiny;
use Time::HiRes qw(time);

my ($routes, $rounds, $warm, $cookie, @rest) = @ARGV;
my ($demo_url, $large_url) = splice @rest, 0, 2;
die "usage: measure.pl ROUTES ROUNDS WARM COOKIE DEMO LARGE VARS -- VARS\n"
    unless defined $large_url;

my (%vars, $side);
$side = 'demo';
for my $arg (@rest) {
    if ($arg eq '--') { $side = 'large'; next }
    my ($k, $v) = split /=/, $arg, 2;
    $vars{$side}{$k} = $v;
}

my %base = (demo => $demo_url, large => $large_url);
my $http = HTTP::Tiny->new(timeout => 60, keep_alive => 1);

sub fill {
    my ($path, $net) = @_;
    $path =~ s/\{(\w+)\}/
        defined $vars{$net}{$1} ? $vars{$net}{$1}
            : die "measure.pl: no value of {$1} for the $net network\n"/ge;
    return $path;
}

sub median {
    my @s = sort { $a <=> $b } @_;
    return $s[int($#s / 2)];
}

open my $fh, '<', $routes or die "measure.pl: $routes: $!\n";

while (my $line = <$fh>) {
    chomp $line;
    next if $line =~ /^\s*(#|$)/;

    my ($kind, $path) = split ' ', $line;
    my %headers;
    $headers{Cookie} = $cookie if $kind eq 'me';
    $headers{Accept} = 'application/json' if $kind eq 'json';

    my (%t, %status, %bytes);

    for my $i (1 .. $warm + $rounds) {
        for my $net ('demo', 'large') {
            my $url = $base{$net} . fill($path, $net);
            my $t0 = time;
            my $res = $http->get($url, { headers => \%headers });
            my $dt = (time - $t0) * 1000;

            die "measure.pl: $url: $res->{status} $res->{content}\n"
                if $res->{status} == 599;

            $status{$net} = $res->{status};
            $bytes{$net} = length($res->{content} // '');
            push @{ $t{$net} }, $dt if $i > $warm;
        }
    }

    printf "%s|%.2f|%.2f|%s|%s|%d|%d\n", $path, median(@{ $t{demo} }),
        median(@{ $t{large} }), $status{demo}, $status{large}, $bytes{demo},
        $bytes{large};
}
