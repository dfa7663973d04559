#!/usr/bin/env perl
# A do-nothing Gossip application: connects to the hub, authenticates, and
# counts the sync/* frames and records the hub pushes until RECORDS records
# arrived (or TIMEOUT seconds passed).  It stores nothing, so the time from
# the authentication reply to the last record is the hub's own cost of
# pushing everything (encoding, logging, the socket), with the client's
# JSON decoding on top.
#
#   bench/hub-client.pl ws://127.0.0.1:PORT/socket RECORDS [TIMEOUT [DUMP]]
#
# With DUMP, every sync/* frame is also written to that file, one a line
# (bench/profile-ingest replays them).
# Prints one line:  frames=N records=N auth=EPOCH first=EPOCH last=EPOCH
# (EPOCH: seconds since the epoch, microseconds).
use strict;
use warnings;

BEGIN { $ENV{MOJO_REACTOR} = 'Mojo::Reactor::Poll' }

use Mojo::IOLoop;
use Mojo::JSON qw(decode_json encode_json);
use Mojo::UserAgent;
use Time::HiRes qw(time);

my ($url, $want, $timeout, $dump) = @ARGV;
die "usage: $0 URL RECORDS [TIMEOUT]\n" unless $url && $want;
$timeout //= 60;

my ($frames, $records, $auth, $first, $last) = (0, 0);
my $ua = Mojo::UserAgent->new(max_response_size => 0);
$ua->websocket_client->max_websocket_size(16 * 1024 * 1024)
    if $ua->can('websocket_client');

my ($failed, $dumpfh);
if ($dump) {
    open $dumpfh, '>:raw', $dump or die "$dump: $!\n";
}
Mojo::IOLoop->timer($timeout => sub { $failed = 'timeout'; Mojo::IOLoop->stop });

$ua->websocket($url => sub {
    my ($ua, $tx) = @_;
    unless ($tx->is_websocket) {
        $failed = 'handshake failed';
        return Mojo::IOLoop->stop;
    }
    $tx->max_websocket_size(16 * 1024 * 1024);
    $tx->on(finish => sub { $failed //= 'closed by the hub'; Mojo::IOLoop->stop });
    $tx->on(text => sub {
        my ($tx, $bytes) = @_;
        my $now = time;
        my $f = decode_json($bytes);
        my $ev = $f->{event} // '';
        if ($ev eq 'authenticate') {
            $auth = $now;
            if (($f->{status} // '') ne 'success') {
                $failed = 'authentication refused';
                Mojo::IOLoop->stop;
            }
        }
        elsif ($ev =~ m{\Async/(\w+)\z}) {
            my $kind = $1;
            my $p = $f->{payload};
            my $n = ref $p eq 'ARRAY' ? @$p
                  : ref $p eq 'HASH' && ref $p->{$kind} eq 'ARRAY'
                  ? @{$p->{$kind}} : 0;
            print {$dumpfh} $bytes, "\n" if $dumpfh;
            $frames++;
            $records += $n;
            $first //= $now;
            $last = $now;
            if ($records >= $want) {
                $tx->finish(1000);
                Mojo::IOLoop->stop;
            }
        }
        elsif ($ev eq 'heartbeat') {
            $tx->send(encode_json({event => 'heartbeat',
                                   payload => {players => []}}));
        }
    });
    $tx->send(encode_json({event => 'authenticate', payload => {
        client_id     => '00000000-0000-4000-8000-000000000001',
        client_secret => '00000000-0000-4000-8000-000000000002',
        supports      => [qw(channels players tells games)],
        channels      => [],
        user_agent    => 'bench-null-client',
    }}));
});

Mojo::IOLoop->start;
close $dumpfh if $dumpfh;

if ($failed && $records < $want) {
    printf STDERR "hub-client: %s after %d frames, %d records\n",
        $failed, $frames, $records;
    exit 1;
}

printf "frames=%d records=%d auth=%.6f first=%.6f last=%.6f\n",
    $frames, $records, $auth, $first, $last;
