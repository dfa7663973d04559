# The hub link's life: versions sync with "since", refused credentials back
# off, a silent hub is detected, "restart" is honoured, TLS is verified.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use JSON::PP ();
use Time::HiRes qw(time sleep);

my $seed = {
    games => [map { { game => "G$_", display_name => "Game $_" } } 1 .. 12],
    channels => [map { { name => "chan-$_", hidden => JSON::PP::false } }
                 qw(a b c)],
    events => [{ game => 'G1', title => 'Feast', start_date => '2030-01-01',
                 end_date => '2030-01-02' }],
    achievements => [{ game => 'G2', title => 'Explorer', points => 5 }],
};

sub count { sql_rows("SELECT count(*) FROM $_[0]")->[0][0] }

sub connections {
    return [grep { ($_->{kind} // '') eq 'app' }
            @{ hub_api(GET => '/connections') }];
}

# ------------------------------------------------ versions, and "since"

start_hub(seed => $seed, heartbeat => 1, sync => 'versions');
start_nginx(http_config => hub_http_config(),
            config => 'location = /_status { grapevine_status; }');

ok(wait_until(sub {
       count('games') == 12 && count('channels') == 3 && count('events') == 1
       && count('achievements') == 1
   }, 15, 0.2), 'versions sync: every kind of record lands');

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

my $offset = -s error_log_path();
ok(wait_until(sub {
       error_log_since($offset) =~ /refused our credentials/
   }, 10, 0.1), 'a refused authentication is logged');
like(error_log_since($offset), qr/check grapevine_hub_client_id/,
     'with what to check');
unlike(error_log_since(0), qr/00000000-0000-4000-8000-00000000dead/,
       'the secret is never logged');

# the module's own account of its attempts: none in the 4 s after the
# refusal (the hub's log could lag under load)
my $refused = -s error_log_path();
sleep 4;
unlike(error_log_since($refused), qr/grapevine hub: connecting to/,
       'no reconnect within 4 s of a refused authentication (backoff)');
like(error_log_since($offset), qr/reconnecting in (2[4-9]|3\d)\d{3} ms/,
     'the next attempt is about 30 s away');

my $st = json_decode(http_get('/_status')->{body});
wait_until(sub {
    $st = json_decode(http_get('/_status')->{body});
    ($st->{hub}{last_error} // '') =~ /authentication failed/;
}, 10, 0.2);
like($st->{hub}{last_error} // '', qr/authentication failed/,
     'status shows the last error');
is($st->{hub}{state}, 'backoff', 'status: backoff');

stop_nginx();
stop_hub();

# ---------------------------------------------- a silent hub; a restart

start_hub(seed => $seed, heartbeat => 1, sync => 'push');
start_nginx(http_config => hub_http_config(),
            config => 'location = /_status { grapevine_status; }');

ok(wait_until(sub { @{ connections() } == 1 }, 10, 0.1), 'linked');
my $first = connections()->[0]{id};

$offset = -s error_log_path();
hub_api(POST => '/silence', { heartbeats => JSON::PP::false,
                              answer => JSON::PP::false });
my $t0 = time;
ok(wait_until(sub {
       error_log_since($offset) =~ /the hub stopped sending heartbeats/
   }, 10, 0.1), 'a silent hub is noticed');
my $noticed = time - $t0;
cmp_ok($noticed, '>=', 2, 'not before about three heartbeat intervals');
cmp_ok($noticed, '<', 8, 'and not much later');

hub_api(POST => '/silence', { heartbeats => JSON::PP::true,
                              answer => JSON::PP::true });
ok(wait_until(sub {
       my $c = connections();
       @$c == 1 && $c->[0]{id} != $first && $c->[0]{authenticated}
   }, 10, 0.1), 'and the link comes back');

# restart: the hub says it will be away for 3 s, then drops the link
$first = connections()->[0]{id};
hub_api(POST => '/restart', { downtime => 3, jitter => 0 });
sleep 0.3;
my $dropped = time;
hub_api(POST => '/drop');
ok(wait_until(sub {
       my $c = connections();
       @$c == 1 && $c->[0]{id} != $first
   }, 15, 0.1), 'after a restart the module reconnects');
my $after = time - $dropped;
cmp_ok($after, '>=', 2.2, 'about the announced downtime later, not at once');
like(error_log_since(0), qr/the hub restarts, reconnecting in about 3 s/,
     'the restart is logged');

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
