#!/usr/bin/env perl
# Publishes one message "bench <microseconds>" to nchan's publisher
# location: the connection is made first, the time taken just before the
# request is written, so that it counts from the publication as the
# module's INSERT counts from clock_timestamp().
#
#   publish.pl HOST PORT PATH
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time);

my ($host, $port, $path) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                              Proto => 'tcp') or die "connect: $!";
my $body = sprintf 'bench %.0f', time * 1e6;
print $s "POST $path HTTP/1.1\r\nHost: $host\r\nContent-Type: text/plain\r\n"
         . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n"
         . $body;
my $status = <$s> // '';
$status =~ m{^HTTP/1\.\d (\d+)} && $1 < 300 or die "publish: $status";
