# Exactly one hub link per deployment: after kill -9 of the owner, after a
# reload, and with a second nginx instance on the same database.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use File::Path qw(make_path remove_tree);
use JSON::PP ();
use Test::TCP qw(empty_port);
use Time::HiRes qw(time sleep);

my $seed = {
    games => [map { { game => "G$_", display_name => "Game $_" } } 1 .. 15],
    channels => [map { { name => "chan-$_", hidden => JSON::PP::false } }
                 qw(a b)],
};

# the master reports the worker this test kills
allow_alert(qr/worker process \d+ exited on signal 9/);

start_hub(seed => $seed, heartbeat => 1, sync => 'push');

my %conf = (http_config => hub_http_config(),
            config => 'location = /_status { grapevine_status; }');
start_nginx(%conf);

sub links {
    return [grep { ($_->{kind} // '') eq 'app' && $_->{authenticated} }
            @{ hub_api(GET => '/connections') }];
}

sub owner_pid {
    my $r = sql_rows('SELECT owner_pid FROM hub_status');
    return @$r ? $r->[0][0] : 0;
}

sub count { sql_rows("SELECT count(*) FROM $_[0]")->[0][0] }

# never more than one link while $seconds pass, and one at the end
sub watch_links {
    my ($seconds) = @_;
    my $max = 0;
    my $end = time + $seconds;
    my $n = 0;
    while (time < $end) {
        $n = @{ links() };
        $max = $n if $n > $max;
        sleep 0.1;
    }
    return ($max, $n);
}

ok(wait_until(sub { @{ links() } == 1 && count('games') == 15 }, 15, 0.1),
   'one link, synced');

my $pid = 0;
ok(wait_until(sub { $pid = owner_pid(); $pid && kill 0, $pid }, 10, 0.1),
   'the owner is recorded');

# ------------------------------------------------------------- kill -9

hub_api(POST => '/broadcast', { channel => 'chan-a', game => 'G1',
                                name => 'Ann', message => 'before' });
ok(wait_until(sub { count('channel_messages') == 1 }, 10, 0.1),
   'a message before');

# a few links end before the owner is killed: its count of them
sub hub_row {
    my $r = sql_rows('SELECT state, reconnects, last_error FROM hub_status');
    return @$r ? $r->[0] : ['', 0, undef];
}
for my $n (1 .. 2) {
    my $was = hub_row()->[1];
    my $l = links()->[0]{id};
    hub_api(POST => '/drop');
    ok(wait_until(sub {
           my $now = links();
           my $row = hub_row();
           @$now == 1 && $now->[0]{id} != $l && $row->[0] eq 'live'
               && $row->[1] > $was
       }, 15, 0.1), "dropped link $n: linked again, counted");
}
my $counted = hub_row()->[1];
cmp_ok($counted, '>=', 2, 'the owner has counted the links that ended');

my $link = links()->[0]{id};
kill 'KILL', $pid;
my $killed = time;

ok(wait_until(sub {
       my $l = links();
       @$l == 1 && $l->[0]{id} != $link
   }, 10, 0.1), 'kill -9 of the owner: a new link within 10 s');
note(sprintf('back after %.1f s', time - $killed));

my ($max, $now) = watch_links(2);
is($max, 1, 'never two links after the kill');
ok(wait_until(sub { owner_pid() != $pid }, 10, 0.2), 'a new owner');
ok(wait_until(sub { hub_row()->[0] eq 'live' }, 10, 0.1),
   'the new owner is live');
cmp_ok(hub_row()->[1], '>=', $counted + 1,
       'reconnects: the new owner goes on with the count of the deployment, '
       . 'and counts the link that died with the old one');
is(hub_row()->[2], undef, 'last_error: none while live');

hub_api(POST => '/broadcast', { channel => 'chan-a', game => 'G1',
                                name => 'Ann', message => 'after' });
ok(wait_until(sub { count('channel_messages') == 2 }, 10, 0.1),
   'messages still land');
is(count('games'), 15, 'nothing duplicated: games');
is(count('channels'), 2, 'nothing duplicated: channels');

# ---------------------------------------------------------------- reload

$link = links()->[0]{id};
$counted = hub_row()->[1];
$pid = owner_pid();
reload_nginx();
($max, $now) = watch_links(6);
is($max, 1, 'reload: never two links');
is($now, 1, 'reload: one link');
ok(wait_until(sub { owner_pid() != $pid && hub_row()->[0] eq 'live' }, 10,
              0.1), 'reload: the new owner is live');
cmp_ok(hub_row()->[1], '>=', $counted + 1,
       'reload: the count goes on, with the link the reload ended');

# -------------------------------------------------- a second instance

my $b = servroot() . '-b';
remove_tree($b);
make_path("$b/conf", "$b/logs", "$b/tmp");

my $text = Grapevine::Test::nginx_conf(%conf);
my $port = server_port();
my $port_b = empty_port();
my $a_root = servroot();
$text =~ s/\Q$a_root\E(?!-|\/hub)/$b/g;
$text =~ s/listen 127\.0\.0\.1:$port;/listen 127.0.0.1:$port_b;/;
open my $fh, '>', "$b/conf/nginx.conf" or die $!;
print $fh $text;
close $fh;

system("/usr/sbin/nginx -p $b -c $b/conf/nginx.conf") == 0
    or die "the second nginx did not start";

($max, $now) = watch_links(5);
is($max, 1, 'a second instance: still never two links');
is($now, 1, 'a second instance: one link');

# the first instance stops: the second takes over
$pid = owner_pid();
stop_nginx();
ok(wait_until(sub {
       my $l = links();
       @$l == 1 && owner_pid() != $pid
   }, 15, 0.2), 'the first instance stops: the second takes over');

hub_api(POST => '/broadcast', { channel => 'chan-b', game => 'G2',
                                name => 'Bo', message => 'to b' });
ok(wait_until(sub { count('channel_messages') == 3 }, 10, 0.1),
   'and stores what arrives');

# stop the second instance and check its log as the harness does
open my $pf, '<', "$b/logs/nginx.pid" or die $!;
my $bpid = <$pf>;
chomp $bpid;
kill 'QUIT', $bpid;
ok(wait_until(sub { !kill 0, $bpid or !-e "$b/logs/nginx.pid" }, 15, 0.05),
   'the second instance stops within 15 s of QUIT')
    or kill 'KILL', $bpid;
check_error_log("$b/logs/error.log", 'the second instance logged no alert');
remove_tree($b) unless $ENV{GRAPEVINE_TEST_KEEP};

Grapevine::Test::cleanup();
done_testing();
