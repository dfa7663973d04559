# Reloads under load leave exactly one hub link, every time: the new
# worker 0 takes the advisory lock whether its database connection comes up
# at once or later, and keeps trying until the old owner lets go.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my $RELOADS = 20;

start_hub(seed => {
    games => [map { { game => "G$_", display_name => "Game $_" } } 1 .. 5],
}, heartbeat => 1, sync => 'push');

start_nginx(http_config => hub_http_config(),
            config => "location = /_status { grapevine_status; }\n"
                      . "location = /ok { return 204; }");

sub links {
    return [grep { ($_->{kind} // '') eq 'app' && $_->{authenticated} }
            @{ hub_api(GET => '/connections') }];
}

sub owner {
    my $r = sql_rows('SELECT owner_pid, floor(extract(epoch FROM '
                     . 'now() - updated_at)) FROM hub_status');
    return @$r ? @{ $r->[0] } : (0, 1e9);
}

ok(wait_until(sub { @{ links() } == 1 }, 15, 0.1), 'one link at start');

# load: the status page, which takes a database connection each time, on
# 16 connections for as long as the reloads last
my $port = server_port();
my $load = fork // die "fork: $!";
if ($load == 0) {
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    exec 'wrk', '-t', '1', '-c', '16', '-d', '600s',
         "http://127.0.0.1:$port/_status";
    exit 127;
}

my ($prev) = owner();
my $prev_link = links()->[0]{id};
my @late;

for my $i (1 .. $RELOADS) {
    reload_nginx();
    my $t0 = time;

    # a new owner (the old worker 0 exits with the reload) holding the
    # one link, a new one (the old owner's may still be closing), and the
    # row it keeps fresh
    my ($pid, $age, $l);
    my $ok = wait_until(sub {
        ($pid, $age) = owner();
        $l = links();
        $pid && $pid != $prev && kill(0, $pid) && $age < 5
            && @$l == 1 && $l->[0]{id} != $prev_link
    }, 15, 0.1);

    ok($ok, "reload $i: a new owner holds the one link")
        or diag("owner $pid, row age $age s, links "
                . scalar @{ links() });
    push @late, sprintf('%.1f', time - $t0);

    my $max = 0;
    my $end = time + 0.5;
    while (time < $end) {
        my $n = @{ links() };
        $max = $n if $n > $max;
        sleep 0.05;
    }
    is($max, 1, "reload $i: never two links");

    $prev = $pid;
    $prev_link = $l->[0]{id} if @$l;
}

note("seconds to a new owner after each reload: @late");

kill 'TERM', $load;
waitpid($load, 0);

# the load was served all along
my $res = http_get("/ok");
is($res->{status}, 204, 'nginx answers after the reloads');

Grapevine::Test::cleanup();
done_testing();
