package Grapevine::Stream;

# A Server-Sent Events client for the tests: one HTTP/1.1 connection,
# the status and headers read, then the chunked body parsed into events
# ({ id, event, data, comment }) as they come.
#
#   my $s = Grapevine::Stream->open($port, '/api/channels/gossip/events',
#                                   'Last-Event-ID' => 5);
#   $s->{status}; $s->{headers}{'content-type'};
#   my @ev = $s->events(1.0, sub { grep { $_->{event} eq 'message' } @_ });

use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF pack_sockaddr_in inet_aton);
use IO::Select;
use Time::HiRes qw(time);

sub open {
    my ($class, $port, $path, %headers) = @_;

    # a small receive window (before it is agreed): a client that lags
    my $rcvbuf = delete $headers{rcvbuf};
    my $sock = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $rcvbuf) if $rcvbuf;
    $sock->connect(pack_sockaddr_in($port, inet_aton('127.0.0.1')))
        or die "connect: $!";
    $sock->autoflush(1);

    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n"
              . "Accept: text/event-stream\r\n";
    $req .= "$_: $headers{$_}\r\n" for sort keys %headers;
    print $sock "$req\r\n";

    my $self = bless { sock => $sock, raw => '', body => '', events => [],
                       eof => 0, headers => {} }, $class;
    $self->_head(5);
    return $self;
}

# reads what is there, waiting up to $wait seconds for something
sub _read {
    my ($self, $wait) = @_;

    return 0 if $self->{eof};
    my $sel = IO::Select->new($self->{sock});
    return 0 unless $sel->can_read($wait);
    my $n = sysread($self->{sock}, my $buf, 65536);
    if (!$n) {
        $self->{eof} = 1;
        return 0;
    }
    $self->{raw} .= $buf;
    return $n;
}

sub _head {
    my ($self, $wait) = @_;
    my $deadline = time + $wait;

    while ($self->{raw} !~ /\r\n\r\n/) {
        last if time > $deadline || $self->{eof};
        $self->_read(0.2);
    }
    $self->{raw} =~ s/^(.*?)\r\n\r\n//s or die "no response head";
    my ($status, @lines) = split /\r\n/, $1;
    ($self->{status}) = $status =~ /^HTTP\/1\.\d (\d+)/;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $self->{headers}{lc $k} = $v;
    }
    $self->{chunked} =
        ($self->{headers}{'transfer-encoding'} // '') =~ /chunked/i;
}

# the chunks read so far into the body, the body into events
sub _parse {
    my ($self) = @_;

    if ($self->{chunked}) {
        while ($self->{raw} =~ /^([0-9a-fA-F]+)\r\n/) {
            my $size = hex $1;
            my $need = length($1) + 2 + $size + 2;
            last if length($self->{raw}) < $need;
            $self->{body} .= substr($self->{raw}, length($1) + 2, $size);
            substr($self->{raw}, 0, $need) = '';
            $self->{ended} = 1 if $size == 0;
        }
    } else {
        $self->{body} .= $self->{raw};
        $self->{raw} = '';
    }

    while ($self->{body} =~ s/^(.*?)\n\n//s) {
        my %ev;
        for my $line (split /\n/, $1) {
            if ($line =~ /^:(.*)$/) {
                $ev{comment} = $1;
            } elsif ($line =~ /^(\w+): ?(.*)$/) {
                $ev{$1} = defined $ev{$1} && $1 eq 'data'
                          ? "$ev{$1}\n$2" : $2;
            }
        }
        $ev{event} //= 'message' if defined $ev{data};
        push @{$self->{events}}, \%ev;
    }
}

# every event so far, after waiting up to $wait seconds for $want (a
# sub given the events, true when enough) or for the end of the stream
sub events {
    my ($self, $wait, $want) = @_;
    my $deadline = time + $wait;

    while (1) {
        $self->_parse;
        last if $want && $want->(@{$self->{events}});
        last if $self->{eof};
        my $left = $deadline - time;
        last if $left <= 0;
        $self->_read($left > 0.1 ? 0.1 : $left);
    }
    return @{$self->{events}};
}

# the messages so far ({ id, data } with data decoded)
sub messages {
    my ($self) = @_;
    require JSON::PP;
    return map { { id => $_->{id},
                   %{ JSON::PP->new->utf8->decode($_->{data}) } } }
           grep { ($_->{event} // '') eq 'message' } @{$self->{events}};
}

sub last_id {
    my ($self) = @_;
    my @ids = grep { defined } map { $_->{id} } @{$self->{events}};
    return $ids[-1];
}

# whether the server closed the stream (waiting up to $wait seconds)
sub closed {
    my ($self, $wait) = @_;
    $self->events($wait, sub { 0 }) unless $self->{eof};
    return $self->{eof};
}

# takes what the server sent so far, without waiting
sub pump {
    my ($self) = @_;
    1 while $self->_read(0) > 0;
    $self->_parse;
}

sub sock { $_[0]{sock} }

sub close {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    $self->{eof} = 1;
}

1;
