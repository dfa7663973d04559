# The hub link's life: versions sync with "since", refused credentials back
# off, a silent hub is detected, "restart" is honoured, TLS is verified.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);

my $seed = {
    games => [map { { game => "G$_", display_name => "Game $_" } } 1 .. 12],
    channels => [map { { name => "chan-$_", hidden => JSON::PP::false } }
                 qw(a b c)],
    events => [{ game => 'G1', title => 'Feast', start_date => '2030-01-01',
                 end_date => '2030-01-02' }],
    achievements => [{ game => 'G2', title => 'Explorer', points => 5 }],
};

sub count { sql_rows("SELECT count(*) FROM $_[0]")->[0][0] }

# the hub link as /_status shows it (the owner's hub_status row)
sub hub_status { json_decode(http_get('/_status')->{body})->{hub} }

# an ISO-8601 UTC time of /_status, in seconds since the epoch
sub epoch_of {
    my ($y, $m, $d, $hh, $mm, $ss, $ms) =
        ($_[0] // '') =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z$/
        or return undef;
    return timegm($ss, $mm, $hh, $d, $m - 1, $y) + ('0.' . ($ms // 0));
}

sub connections {
    return [grep { ($_->{kind} // '') eq 'app' }
            @{ hub_api(GET => '/connections') }];
}

# ------------------------------------------------ versions, and "since"

# a second log at the debug level (Debian's nginx is built --with-debug)
my $debug_log = servroot() . '/logs/debug.log';

start_hub(seed => $seed, heartbeat => 1, sync => 'versions');
start_nginx(main_config => "error_log $debug_log debug;",
            http_config => hub_http_config(),
            config => 'location = /_status { grapevine_status; }');

ok(wait_until(sub {
       count('games') == 12 && count('channels') == 3 && count('events') == 1
       && count('achievements') == 1
   }, 15, 0.2), 'versions sync: every kind of record lands');

# the link's state changes are logged at the debug level, and only there
ok(wait_until(sub { hub_status()->{state} eq 'live' }, 10, 0.1),
   'status: live');
my $debug = do { local (@ARGV, $/) = ($debug_log); <> } // '';
like($debug, qr/\[debug\].*grapevine hub: this process owns the hub link/,
     'debug: the owner gained');
like($debug, qr/grapevine hub: idle -> connecting.*\n(?s:.*)connecting -> authenticating.*\n(?s:.*)authenticating -> syncing.*\n(?s:.*)syncing -> live/,
     'debug: connecting, authenticating, syncing, live, in order');
like($debug, qr/\[debug\].*grapevine hub: resync since the beginning/,
     'debug: the resync');
unlike(error_log_since(0), qr/grapevine hub: (?:connecting|connected|authenticated|live|this process)/,
       'none of it in the info log');

my $frames = hub_api(GET => '/frames');
my ($sync) = grep { ($_->{frame}{event} // '') eq 'sync' } @$frames;
ok($sync, 'the module asked for a sync');
is($sync->{frame}{payload}{since}, undef, 'since null the first time');

# a version older than what is stored is ignored: versions replay safely
my $g1 = sql_rows("SELECT name, remote_logged_at FROM games "
                  . "WHERE short_name = 'G1'")->[0];
hub_api(POST => '/raw', { frame => json_encode({
    event => 'sync/games', payload => [{
        action => 'update', logged_at => '2001-01-01T00:00:00Z',
        payload => { id => 1, game => 'G1', display_name => 'Ancient' } }] }) });

hub_api(PUT => '/channels/chan-a', { description => 'changed' });
ok(wait_until(sub {
       (sql_rows("SELECT description FROM channels WHERE name = 'chan-a'")
           ->[0][0] // '') eq 'changed'
   }, 10, 0.1), 'a live version lands');
is_deeply(sql_rows("SELECT name, remote_logged_at FROM games "
                   . "WHERE short_name = 'G1'")->[0], $g1,
          'an older version did not overwrite a newer one');

# nginx restarts: the next sync asks only for what is newer
stop_nginx();
hub_api(DELETE => '/frames');
hub_api(POST => '/games', { game => 'Late', display_name => 'Late game' });
start_nginx(http_config => hub_http_config(),
            config => 'location = /_status { grapevine_status; }');

ok(wait_until(sub { count('games') == 13 }, 15, 0.2),
   'what changed while away is synced on reconnect');
($sync) = grep { ($_->{frame}{event} // '') eq 'sync' }
          @{ hub_api(GET => '/frames') };
like($sync->{frame}{payload}{since} // '', qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/,
     'since is the stored high-water mark');

stop_nginx();
stop_hub();

# -------------------------------------------------- refused credentials

start_hub(seed => $seed, heartbeat => 1, sync => 'push');
start_nginx(http_config => hub_http_config(
                secret => '00000000-0000-4000-8000-00000000dead'),
            config => 'location = /_status { grapevine_status; }');

my $st;
ok(wait_until(sub {
       $st = hub_status();
       ($st->{last_error} // '') =~ /authentication failed/
           && $st->{state} eq 'backoff'
   }, 10, 0.1), 'status: a refused authentication, and backoff')
    or diag(json_encode($st));
like(error_log_since(0), qr/refused our credentials/,
     'a refused authentication is logged');
like(error_log_since(0), qr/check grapevine_hub_client_id/,
     'with what to check');
unlike(error_log_since(0), qr/00000000-0000-4000-8000-00000000dead/,
       'the secret is never logged');

# the module's own count of its attempts: none in the 4 s after the
# refusal (each attempt that fails ends in a new backoff, counted)
my $attempts = $st->{reconnects};
my ($again, $links) = (0, 0);
my $end = time + 4;
while (time < $end) {
    my $now = hub_status();
    $again++ if $now->{reconnects} != $attempts || $now->{state} ne 'backoff';
    $links += @{ connections() };
    sleep 0.2;
}
is($again, 0, 'no reconnect within 4 s of a refused authentication '
              . '(status: still backoff, no new attempt counted)');
is($links, 0, 'and the hub saw no connection meanwhile');

# when the next attempt is due: 30 s after the refusal, give or take 20%
# (24 to 36 s), and the refusal was 4 to 6 s ago
my $retry = epoch_of(hub_status()->{retry_at});
ok(defined $retry, 'status: the next attempt\'s time')
    or diag(json_encode(hub_status()));
cmp_ok(($retry // 0) - time, '>', 24 - 10, 'status: the next attempt is '
       . 'about 30 s after the refusal');
cmp_ok(($retry // 0) - time, '<', 36 - 4 + 1, 'and not later');

stop_nginx();
stop_hub();

# ---------------------------------------------- a silent hub; a restart

start_hub(seed => $seed, heartbeat => 1, sync => 'push');
start_nginx(http_config => hub_http_config(),
            config => 'location = /_status { grapevine_status; }');

ok(wait_until(sub { @{ connections() } == 1 }, 10, 0.1), 'linked');
my $first = connections()->[0]{id};

ok(wait_until(sub { hub_status()->{state} eq 'live' }, 10, 0.1),
   'status: live') or diag(json_encode(hub_status()));
my $reconnects = hub_status()->{reconnects};

my $offset = -s error_log_path();
hub_api(POST => '/silence', { heartbeats => JSON::PP::false,
                              answer => JSON::PP::false });
my $t0 = time;
ok(wait_until(sub {
       $st = hub_status();
       ($st->{last_error} // '') =~ /the hub was silent for \d+ ms/
   }, 10, 0.1), 'status: a silent hub is noticed') or diag(json_encode($st));
my $noticed = time - $t0;
cmp_ok($noticed, '>=', 2, 'not before about three heartbeat intervals');
cmp_ok($noticed, '<', 8, 'and not much later');
like(error_log_since($offset), qr/the hub sent nothing for \d+ ms/,
     'the operator is told (a warning)');

hub_api(POST => '/silence', { heartbeats => JSON::PP::true,
                              answer => JSON::PP::true });
ok(wait_until(sub {
       my $c = connections();
       @$c == 1 && $c->[0]{id} != $first && $c->[0]{authenticated}
   }, 10, 0.1), 'and the link comes back');
ok(wait_until(sub {
       $st = hub_status();
       $st->{state} eq 'live' && $st->{reconnects} > $reconnects
   }, 10, 0.1), 'status: live again, the reconnect counted')
    or diag(json_encode($st));
is($st->{last_error}, undef,
   'status: the error is cleared once the link is live again')
    or diag(json_encode($st));

# An authenticate reply the link did not ask for (a failure, and a
# success) while it is live: ignored and logged, the link stays as it is.
$first = connections()->[0]{id};
$reconnects = hub_status()->{reconnects};
$offset = -s error_log_path();
hub_api(DELETE => '/frames');
hub_api(POST => '/raw', { frame => json_encode({
    event => 'authenticate', status => 'failure',
    error => 'invalid credentials' }) });
hub_api(POST => '/raw', { frame => json_encode({
    event => 'authenticate', status => 'success',
    payload => { unicode => "\x{2714}\x{fe0f}", version => '2.3.0' } }) });
my ($kept, $stayed) = (1, 1);
my $until = time + 3;
while (time < $until) {
    my $c = connections();
    $kept = 0 unless @$c == 1 && $c->[0]{id} == $first;
    $stayed = 0 unless hub_status()->{state} eq 'live';
    sleep 0.1;
}
ok($kept, 'an authenticate failure while live keeps the link');
ok($stayed, 'status: live all along');
is(hub_status()->{reconnects}, $reconnects, 'status: no reconnect counted');
my $log = error_log_since($offset);
like($log, qr/\[warn\].*grapevine hub: an authenticate reply the link did not ask for \(failure: invalid credentials\), ignored/,
     'the unsolicited failure is logged');
like($log, qr/\[warn\].*grapevine hub: an authenticate reply the link did not ask for \(success\), ignored/,
     'and the unsolicited success');
unlike($log, qr/refused our credentials/, 'neither is taken for a refusal');
is_deeply([grep { ($_->{frame}{event} // '') =~ /^(?:sync|players\/status)$/ }
           @{ hub_api(GET => '/frames') }], [],
          'nor for a new login: no sync, no presence asked for');

# restart: the hub says it will be away for 3 s, then drops the link.
# Right after the owner's periodic refresh of its row (every 5 s), so that
# /_status shows the change only if it is written when it happens.
$first = connections()->[0]{id};
my $refreshed = hub_status()->{updated_at};
ok(wait_until(sub { hub_status()->{updated_at} ne $refreshed }, 8, 0.05),
   'status: the owner refreshes its row');
hub_api(POST => '/restart', { downtime => 3, jitter => 0 });
sleep 0.3;
my $dropped = time;
hub_api(POST => '/drop');
ok(wait_until(sub {
       $st = hub_status();
       $st->{state} eq 'backoff' && $st->{retry_at}
   }, 2, 0.05), 'status: backoff at once after the drop, not at the next '
                . 'refresh') or diag(json_encode($st));
my $due = (epoch_of($st->{retry_at}) // 0) - $dropped;
cmp_ok($due, '>=', 2, 'status: the next attempt is the announced downtime '
       . '(3 s, give or take 20%) after the drop');
cmp_ok($due, '<', 4.5, 'not the usual backoff');
ok(wait_until(sub {
       my $c = connections();
       @$c == 1 && $c->[0]{id} != $first
   }, 15, 0.1), 'after a restart the module reconnects');
my $after = time - $dropped;
cmp_ok($after, '>=', 2.2, 'about the announced downtime later, not at once');
ok(wait_until(sub { !hub_status()->{retry_at} }, 10, 0.1),
   'status: no next attempt once linked');

stop_nginx();
stop_hub();

# ----------------------------------------------------------------- TLS

my $dir = servroot() . '/tls';
system("mkdir -p $dir && cd $dir && "
       . "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=Test CA' "
       . "-keyout ca.key -out ca.crt 2>/dev/null && "
       . "openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' "
       . "-keyout hub.key -out hub.csr 2>/dev/null && "
       . "printf 'subjectAltName=DNS:localhost\\n' > ext.cnf && "
       . "openssl x509 -req -in hub.csr -CA ca.crt -CAkey ca.key "
       . "-CAcreateserial -days 2 -extfile ext.cnf -out hub.crt 2>/dev/null")
    == 0 or die "openssl failed";

start_hub(seed => $seed, heartbeat => 1, sync => 'push',
          tls_cert => "$dir/hub.crt", tls_key => "$dir/hub.key");

start_nginx(http_config => hub_http_config(tls => 1, host => 'localhost',
                                           ca_file => "$dir/ca.crt"),
            config => 'location = /_status { grapevine_status; }');
ok(wait_until(sub {
       my $c = connections();
       @$c == 1 && $c->[0]{authenticated}
   }, 10, 0.1), 'wss: a certificate from the configured CA is accepted');
stop_nginx();

# the same certificate, reached by a name it does not carry: once the
# module has tried and failed, the hub has no link
$offset = -s error_log_path();
start_nginx(http_config => hub_http_config(tls => 1, host => '127.0.0.1',
                                           ca_file => "$dir/ca.crt"),
            config => 'location = /_status { grapevine_status; }');
ok(wait_until(sub {
       my $log = error_log_since($offset);
       $log =~ /SSL error: IP address mismatch/
       && $log =~ m{wss://127\.0\.0\.1:\d+/socket: connection failed}
   }, 10, 0.1), 'wss: the failure is logged: the name does not match');
is(scalar @{ connections() }, 0, 'wss: a wrong host name is refused');
ok(wait_until(sub { (hub_status()->{last_error} // '') =~ /connection failed/ },
              5, 0.2), 'status: the last error says so')
    or diag(json_encode(hub_status()));
stop_nginx();

# an unknown CA
$offset = -s error_log_path();
start_nginx(http_config => hub_http_config(tls => 1, host => 'localhost'),
            config => 'location = /_status { grapevine_status; }');
ok(wait_until(sub {
       my $log = error_log_since($offset);
       $log =~ /SSL error: unable to get local issuer certificate/
       && $log =~ m{wss://localhost:\d+/socket: connection failed}
   }, 10, 0.1), 'wss: the failure is logged: no known issuer');
is(scalar @{ connections() }, 0,
   'wss: a certificate from an unknown CA is refused');

Grapevine::Test::cleanup();
done_testing();
