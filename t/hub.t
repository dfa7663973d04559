# Tests of the development/test Gossip hub (t/lib/gossip-hub) itself:
# it is started as a subprocess and driven by WebSocket clients and its
# control API.  Run: prove -I t/lib t/hub.t
use Mojo::Base -strict, -signatures;

use Test::More;
use FindBin;
use File::Temp qw(tempdir);
use Mojo::File qw(path);
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json encode_json true false);
use Mojo::UserAgent;
use Mojo::Util qw(b64_encode);
use Test::TCP qw(empty_port);
use POSIX ();
use Time::HiRes qw(sleep time);

my $HUB = "$FindBin::Bin/lib/gossip-hub";
my $TMP = tempdir(CLEANUP => 1);
my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\z/;
my $LOGGED_AT = qr/\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\z/;

# ------------------------------------------------------------------ helpers

my @HUBS;

sub start_hub (%o) {
  my $n   = @HUBS + 1;
  my $log = "$TMP/hub$n.log";
  my @cmd = ($^X, $HUB, '--listen', '127.0.0.1:' . ($o{ws_port} // 0), '--control', '127.0.0.1:0', '--log', $log,
    @{$o{args} // []});
  my $pid = open(my $out, '-|', @cmd) // die "cannot start hub: $!";
  my $line = eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 15;
    my $l = <$out>;
    alarm 0;
    $l;
  };
  unless (defined $line && $line =~ /\Agossip-hub ready ws=(\d+) control=(\d+)$/) {
    kill 'TERM', $pid;
    BAIL_OUT("hub did not start: " . ($line // 'no ready line') . "\n" . (-e $log ? path($log)->slurp : ''));
  }
  my $hub = {pid => $pid, out => $out, ws_port => $1, ws => "ws://127.0.0.1:$1/socket", ctl => "http://127.0.0.1:$2",
    log => $log};
  push @HUBS, $hub;
  return $hub;
}

# stop every hub; do not leave one behind even if it ignores TERM
END {
  for my $hub (@HUBS) {
    kill 'TERM', $hub->{pid};
    my $end = time + 3;
    sleep 0.05 until waitpid($hub->{pid}, POSIX::WNOHANG()) || time > $end;
    kill 'KILL', $hub->{pid} if kill 0, $hub->{pid};
  }
}

my $CTL = Mojo::UserAgent->new(request_timeout => 10);

# control API call => (status code, decoded JSON)
sub ctl ($hub, $method, $path, $body = undef) {
  my @body = !defined $body ? () : ref $body ? (json => $body) : ({'Content-Type' => 'application/json'} => $body);
  my $res  = $CTL->start($CTL->build_tx($method => "$hub->{ctl}$path" => @body))->result;
  return ($res->code, $res->json);
}

# run the event loop until $cond is true or $timeout passes
sub pump_until ($cond, $timeout = 3) {
  my $end = time + $timeout;
  until ($cond->()) {
    return 0 if time >= $end;
    my $t = Mojo::IOLoop->timer(0.02 => sub { });
    Mojo::IOLoop->one_tick;
    Mojo::IOLoop->remove($t);
  }
  return 1;
}

sub ev ($name) { sub ($f) { ref $f eq 'HASH' && ($f->{event} // '') eq $name } }

# a reply to the request with this ref
sub re ($ref) { sub ($f) { ref $f eq 'HASH' && defined $f->{ref} && $f->{ref} eq $ref } }

# a generic failure (no event key)
sub noev () { sub ($f) { ref $f eq 'HASH' && !exists $f->{event} && exists $f->{status} } }

package TestClient {
  use Mojo::Base -base, -signatures;

  has [qw(tx closed)];
  has frames => sub { [] };    # decoded JSON, or {__raw => bytes}
  has seen   => sub { [] };    # every frame received, in order
  has raw    => sub { [] };    # the bytes of every text frame
  has 'answer_heartbeats';     # undef, or the player list to answer with

  sub open ($class, $url, %o) {
    my $self = $class->new(%o);
    my $ua   = $self->{ua} = Mojo::UserAgent->new(insecure => 1);
    my $error;
    $ua->websocket($url => sub ($ua, $tx) {
      return $error = ($tx->error // {})->{message} // 'handshake failed' unless $tx->is_websocket;
      $self->tx($tx);
      $tx->on(text => sub ($tx, $bytes) {
        push @{$self->raw}, $bytes;
        my $f = eval { Mojo::JSON::decode_json($bytes) } // {__raw => $bytes};
        push @{$self->frames}, $f;
        push @{$self->seen},   $f;
        if (defined(my $players = $self->answer_heartbeats)) {
          $self->send({event => 'heartbeat', payload => {players => $players}})
            if ref $f eq 'HASH' && ($f->{event} // '') eq 'heartbeat';
        }
      });
      $tx->on(finish => sub ($tx, $code, $reason) { $self->closed([$code, $reason]) });
    });
    main::pump_until(sub { $self->tx || $error }, 5);
    die "websocket: " . ($error // 'timeout') unless $self->tx;
    return $self;
  }

  sub send ($self, $frame) { $self->tx->send(ref $frame ? {json => $frame} : $frame); $self }

  # the first frame matching $pred (removed from the queue), or undef
  sub next ($self, $pred, $timeout = 3) {
    my $found;
    main::pump_until(sub {
      for my $i (0 .. $#{$self->frames}) {
        next unless $pred->($self->frames->[$i]);
        $found = splice @{$self->frames}, $i, 1;
        return 1;
      }
      return 0;
    }, $timeout);
    return $found;
  }

  # the next frame, whatever it is
  sub shift_frame ($self, $timeout = 3) { $self->next(sub {1}, $timeout) }

  # every frame received during $secs (queue emptied)
  sub collect ($self, $secs = 0.3) {
    main::pump_until(sub {0}, $secs);
    my @all = @{$self->frames};
    @{$self->frames} = ();
    return \@all;
  }

  sub wait_closed ($self, $timeout = 3) { main::pump_until(sub { $self->closed }, $timeout); $self->closed }

  sub close ($self) { $self->tx->finish(1000) if $self->tx && !$self->closed; main::pump_until(sub { $self->closed }, 2) }
}

# ---------------------------------------------------------------- the seed

my %C = (
  grapevine => ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'],
  exventure => ['11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111112'],
  amud      => ['22222222-2222-4222-8222-222222222221', '22222222-2222-4222-8222-222222222222'],
  notells   => ['33333333-3333-4333-8333-333333333331', '33333333-3333-4333-8333-333333333332'],
  shy       => ['44444444-4444-4444-8444-444444444441', '44444444-4444-4444-8444-444444444442'],
);
sub creds ($who) { (client_id => $C{$who}[0], client_secret => $C{$who}[1]) }

my $seed = {
  applications => [{creds('grapevine'), short_name => 'Grapevine', name => 'Grapevine'}],
  channels     => [
    {name => 'gossip',  description => 'General', hidden => false},
    {name => 'testing', hidden => false},
    {name => 'secret',  hidden => true},
  ],
  games => [
    {
      game         => 'ExVenture',
      display_name => 'ExVenture Demo',
      homepage_url => 'https://exventure.example.org',
      connections  => [{type => 'telnet', host => 'exventure.example.org', port => 5555},
        {type => 'web', url => 'https://exventure.example.org/play'}],
      creds('exventure'),
    },
    {game => 'AMud',    creds('amud')},
    {game => 'NoTells', creds('notells')},
    {game => 'Shy',     creds('shy'), display => false},
  ],
  events       => [{game => 'ExVenture', title => 'Launch party', start_date => '2019-01-20', end_date => 'today+1'}],
  achievements => [{game => 'ExVenture', title => 'First Steps', points => 5}],
};
path("$TMP/seed.json")->spurt(encode_json($seed));

# authenticate; returns the client after the success reply and its heartbeat
sub login ($hub, $who, %o) {
  my $c = TestClient->open($hub->{ws});
  $c->send({
    event   => 'authenticate',
    payload => {
      creds($who),
      supports => $o{supports} // [qw(channels players tells games)],
      ($o{channels} ? (channels => $o{channels}) : ()),
      ($o{players}  ? (players  => $o{players})  : ()),
      ($o{user_agent} ? (user_agent => $o{user_agent}) : ()),
    }
  });
  my $r = $c->next(ev('authenticate'));
  die "login $who failed: " . encode_json($r // {}) unless $r && $r->{status} eq 'success';
  $c->next(ev('heartbeat')) or die "no heartbeat after login";
  return $c;
}

sub auth_failure ($hub, $payload, $error, $name) {
  my $c = TestClient->open($hub->{ws});
  $c->send({event => 'authenticate', ref => 'auth-ref', (defined $payload ? (payload => $payload) : ())});
  is_deeply $c->shift_frame, {event => 'authenticate', status => 'failure', error => $error}, "$name: failure reply";
  is_deeply $c->wait_closed, [4000, 'goodbye'], "$name: closed 4000 goodbye";
}

# =================================================================== hub A

my $ws_port = empty_port();
my $A       = start_hub(ws_port => $ws_port, args => ['--seed', "$TMP/seed.json"]);
is $A->{ws_port}, $ws_port, 'hub listens on the --listen port';

subtest 'authentication failures' => sub {
  my %s = (supports => ['channels']);
  auth_failure($A, {client_id => 'nope', client_secret => $C{amud}[1], %s}, 'invalid credentials', 'non-uuid id');
  auth_failure($A, {client_id => $C{amud}[0], client_secret => $C{exventure}[1], %s}, 'invalid credentials',
    'wrong secret');
  auth_failure($A, {client_id => $C{amud}[0], %s}, 'invalid credentials', 'no secret');
  auth_failure($A, {creds('amud')}, 'missing supports', 'supports absent');
  auth_failure($A, {creds('amud'), supports => []}, 'missing supports', 'supports empty');
  auth_failure($A, {creds('amud'), supports => ['players']}, 'must support channels', 'no channels flag');
  auth_failure($A, {creds('amud'), supports => ['channels', 'bogus']}, 'includes unknown supports', 'unknown flag');
  auth_failure($A, {creds('grapevine'), supports => ['players']}, 'must support channels', 'application');

  my $c = TestClient->open($A->{ws});
  $c->send({event => 'authenticate', ref => 'r0'});
  is_deeply $c->next(re('r0')),
    {event => 'authenticate', ref => 'r0', status => 'failure', error => 'an error occurred, try again'},
    'authenticate without payload is a handler error';
  ok !$c->wait_closed(0.3), '... and does not close the socket';
  $c->close;
};

subtest 'before authentication' => sub {
  my $c = TestClient->open($A->{ws});
  $c->send({event => 'heartbeat'});
  is_deeply $c->shift_frame, {status => 'failure', error => 'unauthenticated'}, 'event before auth';
  $c->send('{not json');
  is_deeply $c->shift_frame, {status => 'failure', error => 'unknown'}, 'non-JSON frame';
  $c->send('"a string"');
  is_deeply $c->shift_frame, {status => 'failure', error => 'unauthenticated'}, 'JSON non-object before auth';
  $c->close;
};

my ($code, $json);

subtest 'bulk create' => sub {
  ($code, $json) = ctl($A, POST => '/games/bulk', [{game => 'Good1'}, {game => 'bad name!'}]);
  is $code, 400, 'invalid element rejects the batch';
  is_deeply $json->{errors}, {'[1].game' => ['has invalid format']}, '... naming the element and field';
  ($code, $json) = ctl($A, POST => '/games/bulk', [map { {game => "Bulk$_", display_name => "Bulk game $_"} } 1 .. 21]);
  is $code, 201, 'bulk create of 21 games';
  is $json->{created}, 21, '... all created';
  (undef, $json) = ctl($A, GET => '/games');
  is scalar @$json, 25, 'now 25 games';
};

my $app;
subtest 'push sync on connect (v1)' => sub {
  $app = TestClient->open($A->{ws});
  $app->send({event => 'authenticate',
    payload => {creds('grapevine'), supports => [qw(channels players tells games)], players => ['system']}});
  my $frames = $app->collect(0.5);
  is_deeply $frames->[0], {event => 'authenticate', status => 'success', payload => {unicode => "\x{2714}\x{FE0F}",
    version => '2.3.0'}}, 'application authenticated';
  my @events = map { $_->{event} } @$frames;
  is_deeply \@events, [qw(authenticate sync/channels sync/games sync/games sync/games heartbeat)],
    'channels, then games in three batches, then the heartbeat';
  my @games = map { @{$_->{payload}{games}} } grep { $_->{event} eq 'sync/games' } @$frames;
  is_deeply [map { scalar @{$_->{payload}{games}} } grep { $_->{event} eq 'sync/games' } @$frames], [10, 10, 5],
    'batches of at most 10';
  is scalar(keys %{{map { $_->{id} => 1 } @games}}), 25, '25 distinct games';
  like $_->{ref}, $UUID, 'pushes carry a server uuid ref' for grep { $_->{event} =~ m{^sync/} } @$frames;
  my ($ex) = grep { $_->{game} eq 'ExVenture' } @games;
  is_deeply [sort keys %$ex],
    [sort qw(id game display_name display description homepage_url user_agent user_agent_url connections redirect_uris
      allow_character_registration client_id client_secret mssp_last_seen_at)], 'game record fields (ref 2.4)';
  is $ex->{client_secret}, $C{exventure}[1], 'secrets are synced to applications';
  is_deeply [map { [sort keys %$_] } @{$ex->{connections}}], [[qw(host id port type)], [qw(id type url)]],
    'connections carry id and type-specific fields';
  my ($channels) = grep { $_->{event} eq 'sync/channels' } @$frames;
  is_deeply [map { $_->{name} } @{$channels->{payload}{channels}}], [qw(gossip testing secret)],
    'all channels, hidden included';
  is_deeply [sort keys %{$channels->{payload}{channels}[0]}], [qw(description hidden id name)], 'v1 channel fields';
};

my $ex;
subtest 'game authentication' => sub {
  $ex = TestClient->open($A->{ws});
  $ex->send({
    event   => 'authenticate',
    ref     => 'should-not-be-echoed',
    payload => {
      creds('exventure'),
      supports   => [qw(channels players tells games achievements)],
      channels   => ['gossip', 'bad channel'],
      players    => ['Alice'],
      version    => '2.3.0',
      user_agent => 'ExVenture 0.28.0',
    }
  });
  my $frames = $ex->collect(0.3);
  is_deeply $frames,
    [
    {event => 'authenticate', status => 'success', payload => {unicode => "\x{2714}\x{FE0F}", version => '2.3.0'}},
    {event => 'channels/subscribe', status => 'failure', error => q{Could not subscribe to 'bad channel'}},
    {event => 'heartbeat'},
    ],
    'success (no ref), bad channel notice, heartbeat';
  my $push = $app->next(ev('sync/games'));
  is $push->{payload}{games}[0]{game},       'ExVenture',        'authentication pushes a game update';
  is $push->{payload}{games}[0]{user_agent}, 'ExVenture 0.28.0', '... with the new user agent';
};

my $amud;
subtest 'games/connect notice' => sub {
  $amud = login($A, 'amud');
  is_deeply [@{$ex->next(ev('games/connect'))}{qw(event payload)}], ['games/connect', {game => 'AMud'}],
    'a game that supports games hears of the connect';
  ok !$amud->next(ev('games/connect'), 0.2), 'the connecting game does not';
};

subtest 'errors while active' => sub {
  $ex->send({event => 'no/such', ref => 'x1'});
  is_deeply $ex->next(noev), {status => 'failure', error => 'unknown'}, 'unknown event (no event, no ref)';
  $ex->send('[1,2');
  is_deeply $ex->next(noev), {status => 'failure', error => 'unknown'}, 'non-JSON frame';
  $ex->send({event => 'authenticate', payload => {creds('exventure'), supports => ['channels']}});
  is_deeply $ex->next(noev), {status => 'failure', error => 'unknown'}, 'second authenticate';
  $ex->send({event => 'sync', ref => 's', payload => {since => undef}});
  is_deeply $ex->next(noev), {status => 'failure', error => 'unknown'}, 'sync from a game is refused';
  ok !$ex->next(sub ($f) { ($f->{event} // '') =~ m{^sync/} }, 0.2), '... and nothing is synced';
  $ex->send({event => 'channels/subscribe', ref => 'p1'});
  is_deeply $ex->next(re('p1')),
    {event => 'channels/subscribe', ref => 'p1', status => 'failure', error => 'an error occurred, try again'},
    'missing payload';
};

my $nt;
subtest 'support flags' => sub {
  $nt = login($A, 'notells', supports => ['channels']);
  $nt->send({event => 'players/status', ref => 'm1'});
  is_deeply $nt->next(re('m1')),
    {event => 'players/status', ref => 'm1', status => 'failure', error => 'missing support for "players"'},
    'missing flag with ref';
  $nt->send({event => 'tells/send', payload => {}});
  ok !$nt->next(ev('tells/send'), 0.2), 'missing flag without ref: silence';
};

subtest 'channels/subscribe and unsubscribe' => sub {
  $amud->send({event => 'channels/subscribe', ref => 'c1', payload => {channel => 'gossip'}});
  is_deeply $amud->next(re('c1')), {event => 'channels/subscribe', ref => 'c1', status => 'success'}, 'subscribe';
  $amud->send({event => 'channels/subscribe', ref => 'c2', payload => {channel => 'gossip'}});
  is_deeply $amud->next(re('c2')), {event => 'channels/subscribe', ref => 'c2', status => 'success'}, 'again: no-op';
  $amud->send({event => 'channels/subscribe', payload => {channel => 'testing'}});
  ok !$amud->next(ev('channels/subscribe'), 0.2), 'no ref: no reply';
  for my $bad ('no', 'has space', 'all', 'waytoolongchannelname') {
    $amud->send({event => 'channels/subscribe', ref => 'c3', payload => {channel => $bad}});
    is_deeply $amud->next(re('c3')),
      {event => 'channels/subscribe', ref => 'c3', status => 'failure', error => qq{Could not subscribe to "$bad"}},
      "bad name '$bad'";
  }
  $amud->send({event => 'channels/subscribe', ref => 'c4', payload => {channel => 'new-chan'}});
  is $amud->next(re('c4'))->{status}, 'success', 'new valid name';
  my $push = $app->next(ev('sync/channels'));
  is_deeply $push->{payload}{channels}[0]{name}, 'new-chan', 'the created channel is pushed to applications';
  is $push->{payload}{channels}[0]{hidden}, true, '... hidden';
  $amud->send({event => 'channels/unsubscribe', ref => 'c5', payload => {channel => 'testing'}});
  is_deeply $amud->next(re('c5')), {event => 'channels/unsubscribe', ref => 'c5', status => 'success'}, 'unsubscribe';
  $amud->send({event => 'channels/unsubscribe', ref => 'c6', payload => {channel => 'never'}});
  is $amud->next(re('c6'))->{status}, 'success', 'unsubscribe from a channel one is not in';
  my (undef, $conns) = ctl($A, GET => '/connections');
  my ($row) = grep { ($_->{name} // '') eq 'AMud' } @$conns;
  is_deeply $row->{channels}, [qw(gossip new-chan)], 'subscriptions as the hub sees them';
};

subtest 'channels/send and broadcast' => sub {
  $ex->send({event => 'channels/send', ref => 'b1',
    payload => {channel => 'gossip', name => 'Alice<b>', message => '<color red>Hello</color> everyone!'}});
  is_deeply $ex->next(re('b1')), {event => 'channels/send', ref => 'b1', status => 'success'}, 'send answered';
  my $b = $amud->next(ev('channels/broadcast'));
  is_deeply $b->{payload}, {channel => 'gossip', game => 'ExVenture', name => 'Alice', message => 'Hello everyone!'},
    'broadcast to a subscriber, tags stripped';
  like $b->{ref}, $UUID, '... with a server ref';
  is $app->next(ev('channels/broadcast'))->{payload}{message}, 'Hello everyone!', 'applications get it too';
  ok !$ex->next(ev('channels/broadcast'), 0.2), 'the sender does not';

  $ex->send({event => 'channels/send', ref => 'b2', payload => {channel => 'testing', name => 'A', message => 'x'}});
  is_deeply $ex->next(re('b2')), {event => 'channels/send', ref => 'b2', status => 'success'},
    'send to an unsubscribed channel: success';
  ok !$amud->next(ev('channels/broadcast'), 0.2), '... and dropped';

  ($code, $json) = ctl($A, POST => '/broadcast', {channel => 'secret', game => 'AMud', name => 'Eve', message => 'psst'});
  is $json->{delivered}, 1, 'control broadcast on a hidden channel';
  is_deeply $app->next(ev('channels/broadcast'))->{payload},
    {channel => 'secret', game => 'AMud', name => 'Eve', message => 'psst'}, '... reaches the application';
};

subtest 'channels/send rate limit (reference section 1.7)' => sub {
  my $c = login($A, 'grapevine');
  my $send = sub ($ref) {
    $c->send({event => 'channels/send', ref => $ref, payload => {channel => 'gossip', name => 'Rl', message => $ref}});
  };
  $send->("rl$_") for 1 .. 10;
  is scalar(grep { ($_->{status} // '') eq 'success' } map { $c->next(re("rl$_")) // {} } 1 .. 10), 10,
    'a burst of 10 is taken';
  $send->('rl11');
  is_deeply $c->next(re('rl11')), {event => 'channels/send', ref => 'rl11', status => 'failure',
    error => 'rate limit exceeded'}, 'the 11th at once is refused';
  sleep 0.6;
  $send->('rl12');
  is $c->next(re('rl12'))->{status}, 'success', 'the bucket leaks 2 a second';
  my (undef, $conns) = ctl($A, GET => '/connections');
  my ($row) = grep { ($_->{kind} // '') eq 'app' && $_->{rate_limited} } @$conns;
  is $row->{rate_limited}, 1, 'the connection counts the refused frame';
  $send->("rx$_") for 1 .. 9;
  is_deeply $c->next(sub ($f) { ($f->{error} // '') =~ /abuse/ }),
    {event => 'authenticate', status => 'failure', error => 'disconnected due to rate limit abuse'},
    'the tenth refused frame: the abuse notice';
  is $c->wait_closed->[0], 4000, '... and the socket is closed with 4000';
};

subtest 'players' => sub {
  $amud->send({event => 'players/sign-in', ref => 'p1', payload => {name => 'Bob'}});
  is_deeply $amud->next(re('p1')), {event => 'players/sign-in', ref => 'p1', status => 'success'}, 'sign-in';
  is_deeply $ex->next(ev('players/sign-in'))->{payload}, {game => 'AMud', name => 'Bob'}, 'others hear of it';
  $amud->send({event => 'players/sign-in', ref => 'p2', payload => {name => 'Bob'}});
  is $amud->next(re('p2'))->{status}, 'success', 'sign-in again';
  ok !$ex->next(ev('players/sign-in'), 0.2), '... is not broadcast';
  $amud->send({event => 'players/sign-out', ref => 'p3', payload => {name => 'Nobody'}});
  ok !$amud->next(ev('players/sign-out'), 0.2), 'sign-out of an unknown name: no reply even with ref';

  $ex->send({event => 'players/status', ref => 'ps1'});
  my $frames = [grep { re('ps1')->($_) } @{$ex->collect(0.3)}];
  is_deeply $frames, [{event => 'players/status', ref => 'ps1', payload => {game => 'AMud', players => ['Bob']}},
    {event => 'players/status', ref => 'ps1', payload => {game => 'NoTells', players => []}}],
    'one event per other online game, no status field';
  $ex->send({event => 'players/status', ref => 'ps2', payload => {game => 'ExVenture'}});
  is_deeply $ex->next(re('ps2')), {event => 'players/status', ref => 'ps2', payload => {game => 'ExVenture',
    players => ['Alice']}}, 'single game (self allowed)';
  $ex->send({event => 'players/status', ref => 'ps3', payload => {game => 'amud'}});
  is_deeply $ex->next(re('ps3')), {event => 'players/status', ref => 'ps3', status => 'failure', error => 'unknown game'},
    'single game is case-sensitive';
  $ex->send({event => 'players/status'});
  ok !$ex->next(ev('players/status'), 0.2), 'no ref: silence';

  $amud->send({event => 'players/sign-out', ref => 'p4', payload => {name => 'Bob'}});
  is $amud->next(re('p4'))->{status}, 'success', 'sign-out';
  is_deeply $ex->next(ev('players/sign-out'))->{payload}, {game => 'AMud', name => 'Bob'}, 'others hear of it';
  $amud->send({event => 'heartbeat', payload => {players => ['Bob', 'Carol', '']}});
  ok !$amud->next(sub { exists $_[0]{status} }, 0.2), 'client heartbeat is not answered';
  my (undef, $state) = ctl($A, GET => '/state');
  my ($online) = grep { $_->{game} eq 'AMud' } @{$state->{online}};
  is_deeply $online->{players}, ['Bob', 'Carol'], 'heartbeat replaces the player list';
};

subtest 'games/status' => sub {
  my (undef, $exrec) = ctl($A, GET => '/games/ExVenture');
  $amud->send({event => 'games/status', ref => 'g1', payload => {game => 'ExVenture'}});
  is_deeply $amud->next(re('g1')),
    {
    event   => 'games/status',
    ref     => 'g1',
    status  => 'success',
    payload => {
      game                => 'ExVenture',
      display_name        => 'ExVenture Demo',
      homepage_url        => 'https://exventure.example.org',
      user_agent          => 'ExVenture 0.28.0',
      connections         => $exrec->{connections},
      supports            => [qw(channels players tells games achievements)],
      player_online_count => 1,
    }
    },
    'single game, null fields omitted';
  $amud->send({event => 'games/status', ref => 'g2', payload => {game => 'Nowhere'}});
  is_deeply $amud->next(re('g2')), {event => 'games/status', ref => 'g2', status => 'failure', error => 'unknown game'},
    'unknown game';
  my $shy = login($A, 'shy');
  $amud->send({event => 'games/status', ref => 'g3'});
  my $frames = [grep { re('g3')->($_) } @{$amud->collect(0.3)}];
  is_deeply [map { $_->{payload}{game} } @$frames], [qw(ExVenture NoTells)], 'all: displayed games except self';
  $shy->close;
};

subtest 'tells' => sub {
  my %ok = (from_name => 'Alice', to_game => 'amud', to_name => 'BOB', sent_at => '2018-07-17T13:12:28Z',
    message => 'hi');
  my @cases = (
    [{%ok, extra => 'x'},                         'invalid payload',          'extra key'],
    [{%ok, message => 5},                         'invalid payload',          'non-string value'],
    [{%ok, sent_at => '2018-07-17T13:12:28+00:00'}, 'invalid payload',        'sent_at without Z'],
    [{%ok, sent_at => 'yesterdayZ'},              'invalid payload',          'sent_at not ISO-8601'],
    [{%ok, to_game => 'Nowhere', extra => 1},     'invalid payload',          'payload checked first'],
    [{%ok, to_game => 'Nowhere'},                 'game offline',             'receiving game offline'],
    [{%ok, to_game => 'NoTells'},                 'not supported',            'receiver without tells'],
    [{%ok, from_name => 'Ghost', to_name => 'x'}, 'sending player offline',   'sender not online'],
    [{%ok, to_name => 'Dave'},                    'receiving player offline', 'receiver not online'],
  );
  for my $case (@cases) {
    my ($payload, $error, $name) = @$case;
    $ex->send({event => 'tells/send', ref => 't1', payload => $payload});
    is_deeply $ex->next(re('t1')), {event => 'tells/send', ref => 't1', status => 'failure', error => $error}, $name;
  }
  $ex->send({event => 'tells/send', ref => 't2', payload => \%ok});
  is_deeply $ex->next(re('t2')), {event => 'tells/send', ref => 't2', status => 'success'}, 'valid tell';
  my $t = $amud->next(ev('tells/receive'));
  is_deeply $t->{payload}, {from_game => 'ExVenture', from_name => 'Alice', to_name => 'BOB',
    sent_at => '2018-07-17T13:12:28Z', message => 'hi'}, 'delivered (names matched case-insensitively)';
  like $t->{ref}, $UUID, '... with a server ref';

  ($code, $json) = ctl($A, POST => '/tell',
    {from_game => 'AMud', from_name => 'carol', to_game => 'Grapevine', to_name => 'system', message => 'register x'});
  is_deeply [$code, $json], [422, {error => 'game offline'}], 'application offline until it heartbeats';
  $app->send({event => 'heartbeat', payload => {players => ['system']}});
  $app->collect(0.1);
  ($code, $json) = ctl($A, POST => '/tell',
    {from_game => 'AMud', from_name => 'carol', to_game => 'grapevine', to_name => 'System', message => 'register x',
      sent_at => '2019-02-01T12:00:00Z'});
  is_deeply [$code, $json], [200, {status => 'success'}], 'control tell to system@Grapevine';
  is_deeply $app->next(ev('tells/receive'))->{payload}, {from_game => 'AMud', from_name => 'carol', to_name => 'System',
    sent_at => '2019-02-01T12:00:00Z', message => 'register x'}, '... reaches the application';
  ($code) = ctl($A, POST => '/tell', {from_game => 'AMud'});
  is $code, 400, 'control tell with missing fields';
};

subtest 'achievements' => sub {
  $ex->send({event => 'achievements/create', ref => 'a1', payload => {title => 'Level Up!', points => 10}});
  my $r = $ex->next(re('a1'));
  is $r->{status}, 'success', 'create';
  like $r->{payload}{key}, $UUID, '... with a key';
  is_deeply [sort keys %{$r->{payload}}],
    [sort qw(key title description display points partial_progress total_progress)], '... the reference fields';
  is $app->next(ev('sync/achievements'))->{payload}{achievements}[0]{key}, $r->{payload}{key}, 'pushed to applications';
  my $key = $r->{payload}{key};
  $ex->send({event => 'achievements/create', ref => 'a2', payload => {title => '', points => 101}});
  is_deeply $ex->next(re('a2')), {event => 'achievements/create', ref => 'a2', status => 'failure',
    payload => {errors => {title => ["can't be blank"], points => ['is invalid']}}}, 'create errors';
  $ex->send({event => 'achievements/update', ref => 'a3', payload => {key => '99999999-9999-4999-8999-999999999999', title => 'x'}});
  is_deeply $ex->next(re('a3')), {event => 'achievements/update', ref => 'a3', status => 'failure',
    payload => {errors => {key => ['not found']}}}, 'update of an unknown key';
  $ex->send({event => 'achievements/sync', ref => 'a4'});
  my $s = $ex->next(re('a4'));
  is $s->{payload}{total}, 2, 'sync total';
  is_deeply [map { $_->{title} } @{$s->{payload}{achievements}}], ['First Steps', 'Level Up!'], 'sync list';
  $ex->send({event => 'achievements/delete', ref => 'a5', payload => {key => $key}});
  is_deeply $ex->next(re('a5')), {event => 'achievements/delete', ref => 'a5', status => 'success',
    payload => {key => $key}}, 'delete';
  is $app->next(ev('sync/achievements'))->{payload}[0]{action}, 'delete', 'delete pushed in the versions shape';
};

subtest 'live pushes, push mode' => sub {
  $app->collect(0.1);
  ($code, $json) = ctl($A, POST => '/games', {game => 'Fresh', display_name => 'Fresh Game',
    connections => [{type => 'secure telnet', host => 'fresh.example.org', port => 4443}]});
  is $code, 201, 'create game';
  my $id = $json->{id};
  my $p = $app->next(ev('sync/games'));
  is_deeply [keys %{$p->{payload}}], ['games'], 'v1 shape';
  is $p->{payload}{games}[0]{display_name}, 'Fresh Game', 'created record';
  ctl($A, PUT => "/games/$id", {display_name => 'Fresher'});
  is $app->next(ev('sync/games'))->{payload}{games}[0]{display_name}, 'Fresher', 'update pushed';
  ctl($A, DELETE => "/games/$id");
  my $d = $app->next(ev('sync/games'));
  is ref $d->{payload}, 'ARRAY', 'delete: versions shape';
  is $d->{payload}[0]{action}, 'delete', '... action delete';
  is $d->{payload}[0]{payload}{id}, $id, '... of that game';
  like $d->{payload}[0]{logged_at}, $LOGGED_AT, '... with logged_at';
  $app->send({event => 'sync', ref => 'v1', payload => {since => undef}});
  is_deeply $app->next(noev), {status => 'failure', error => 'unknown'}, 'no sync request in push mode';
};

subtest 'versions sync (v2)' => sub {
  ($code, $json) = ctl($A, POST => '/sync-mode', {mode => 'versions'});
  is_deeply [$code, $json], [200, {mode => 'versions'}], 'switch to versions mode';
  my $app2 = TestClient->open($A->{ws});
  $app2->send({event => 'authenticate', payload => {creds('grapevine'), supports => ['channels']}});
  is_deeply [map { $_->{event} } @{$app2->collect(0.3)}], [qw(authenticate heartbeat)], 'nothing pushed on connect';

  my (undef, $versions) = ctl($A, GET => '/versions');
  my %count;
  $count{$_->{schema}}++ for @$versions;
  $app2->send({event => 'sync', ref => 'sy1', payload => {since => undef}});
  my $frames = $app2->collect(0.6);
  is_deeply shift(@$frames), {event => 'sync', ref => 'sy1', status => 'success'}, 'success reply first';
  my %seen;
  my @order = grep { !$seen{$_}++ } map { $_->{event} } @$frames;
  is_deeply \@order, [qw(sync/channels sync/games sync/events sync/achievements)], 'schemas in order';
  for my $schema (qw(channels games events achievements)) {
    my @f = grep { $_->{event} eq "sync/$schema" } @$frames;
    my @v = map { @{$_->{payload}} } @f;
    is scalar @v, $count{$schema}, "all $schema versions";
    ok !(grep { @{$_->{payload}} > 10 } @f), "$schema: at most 10 per event";
    my @at = map { $_->{logged_at} } @v;
    is_deeply \@at, [sort @at], "$schema: ascending";
    is scalar(grep { $_ !~ $LOGGED_AT } @at), 0, "$schema: microsecond logged_at";
    is_deeply [sort keys %{$v[0]}], [qw(action logged_at payload)], "$schema: version fields";
  }
  my @games = map { @{$_->{payload}} } grep { $_->{event} eq 'sync/games' } @$frames;
  ok((grep { $_->{action} eq 'update' && $_->{payload}{game} eq 'NoTells' } @games), 'authentications logged game updates');
  is $games[-1]{action}, 'delete', 'the deleted game is in the log';

  my $since = $games[20]{logged_at};
  $app2->send({event => 'sync', payload => {since => $since}});
  $frames = $app2->collect(0.4);
  my @later = map { @{$_->{payload}} } grep { $_->{event} eq 'sync/games' } @$frames;
  is_deeply [map { $_->{logged_at} } @later], [map { $_->{logged_at} } @games[21 .. $#games]],
    'since: only later versions';
  ok !(grep { $_->{event} eq 'sync' } @$frames), 'no reply without ref';

  $app2->send({event => 'sync'});
  is_deeply $app2->next(ev('sync')), {event => 'sync', status => 'failure', error => 'an error occurred, try again'},
    'sync without payload: failure, socket alive';
  $app2->send({event => 'sync', ref => 'sy2', payload => {since => 'last tuesday'}});
  is_deeply $app2->next(re('sy2')), {event => 'sync', ref => 'sy2', status => 'failure',
    error => 'an error occurred, try again'}, 'bad since';

  $app2->collect(0.1);
  ctl($A, POST => '/channels', {name => 'lounge', description => 'Chill', hidden => false});
  my $c = $app2->next(ev('sync/channels'));
  is scalar @{$c->{payload}}, 1, 'live create: one version';
  is $c->{payload}[0]{action}, 'create', '... create';
  is_deeply [sort keys %{$c->{payload}[0]{payload}}], [qw(description hidden id inserted_at name updated_at)],
    '... channel record fields';
  ctl($A, PUT => '/games/AMud', {description => 'A mud.'});
  my $u = $app2->next(ev('sync/games'))->{payload}[0];
  is_deeply [$u->{action}, $u->{payload}{description}], ['update', 'A mud.'], 'live update';
  (undef, my $events) = ctl($A, GET => '/events');
  ctl($A, DELETE => "/events/$events->[0]{id}");
  my $d = $app2->next(ev('sync/events'))->{payload}[0];
  is_deeply [$d->{action}, $d->{payload}{title}], ['delete', 'Launch party'], 'live delete';
  ok $app->next(ev('sync/events')), 'every application socket gets live pushes';
  $app2->close;
};

subtest 'control: raw frames, frames log, connections' => sub {
  $app->collect(0.1);
  ($code, $json) = ctl($A, POST => '/raw', {frame => '{"event": broken'});
  is $json->{sent}, 1, 'raw text sent to the application';
  is $app->next(sub { exists $_[0]{__raw} })->{__raw}, '{"event": broken', '... arrives verbatim';
  ctl($A, POST => '/raw', {frame => "caf\x{e9} \x{2714}"});
  $app->next(sub { exists $_[0]{__raw} });
  is $app->raw->[-1], "caf\xc3\xa9 \xe2\x9c\x94", 'text is sent as UTF-8';
  ctl($A, POST => '/raw', {frame_base64 => b64_encode("\xff\xfe{\"x\":1}", '')});
  $app->next(sub { exists $_[0]{__raw} });
  is $app->raw->[-1], "\xff\xfe{\"x\":1}", 'invalid UTF-8 bytes arrive verbatim';
  ok !$ex->next(sub { exists $_[0]{__raw} }, 0.2), 'game sockets do not get raw frames';

  is +(ctl($A, DELETE => '/frames'))[0], 200, 'clear frames';
  $app->send({event => 'heartbeat', payload => {players => ['system']}});
  $app->send('definitely not json');
  $app->tx->send({text => "\xff\xfe"});
  $ex->send({event => 'heartbeat', payload => {players => ['Alice']}});
  $app->collect(0.2);
  (undef, my $frames) = ctl($A, GET => '/frames');
  is scalar @$frames, 3, 'three application frames logged';
  is_deeply $frames->[0]{frame}, {event => 'heartbeat', payload => {players => ['system']}}, 'parsed JSON';
  is $frames->[1]{raw},        'definitely not json', 'raw text';
  is $frames->[2]{raw_base64}, b64_encode("\xff\xfe", ''), 'non-UTF-8 as base64';
  is $frames->[0]{kind}, 'app', 'kind';
  like $frames->[0]{at}, $LOGGED_AT, 'timestamp';
  (undef, $frames) = ctl($A, GET => '/frames?all=1');
  is scalar @$frames, 4, 'all=1 includes game sockets';

  (undef, my $conns) = ctl($A, GET => '/connections');
  my %by = map { ($_->{name} // '') => $_ } @$conns;
  is $by{Grapevine}{kind}, 'app',  'application connection listed';
  is $by{ExVenture}{kind}, 'game', 'game connection listed';
  is $by{ExVenture}{authenticated}, true, '... authenticated';
  like $by{ExVenture}{remote_port}, qr/^\d+$/, '... remote port';
};

subtest 'control: input validation' => sub {
  my @cases = (
    [POST => '/games', 'not json', 400, 'body not JSON'],
    [POST => '/games', [1], 400, 'body not an object'],
    [POST => '/games', {game => 'ExVenture'}, 400, 'duplicate short name'],
    [POST => '/games', {game => 'X', connections => [{type => 'gopher'}]}, 400, 'bad connection'],
    [POST => '/channels', {name => 'ab'}, 400, 'short channel name'],
    [POST => '/events', {title => 'x', start_date => '2019-02-30', end_date => '2019-03-01', game => 'AMud'}, 400,
      'bad date'],
    [PUT => '/games/NoSuchGame', {}, 404, 'unknown game'],
    [POST => '/sync-mode', {mode => 'pull'}, 400, 'bad sync mode'],
    [POST => '/silence', {heartbeats => 'no'}, 400, 'bad silence'],
    [POST => '/drop', {code => 999}, 400, 'bad close code'],
    [POST => '/restart', {downtime => -1}, 400, 'bad downtime'],
    [POST => '/raw', {}, 400, 'raw without frame'],
    [POST => '/players/sign-in', {game => 'AMud'}, 400, 'sign-in without name'],
    [POST => '/broadcast', {channel => 'nope', game => 'AMud', name => 'a', message => 'b'}, 404, 'unknown channel'],
    [GET => '/nothing', undef, 404, 'unknown endpoint'],
  );
  for my $case (@cases) {
    my ($method, $path, $body, $want, $name) = @$case;
    my ($got, $res) = ctl($A, $method => $path, $body);
    is $got, $want, "$name: $want";
    ok defined $res->{error}, "$name: JSON error";
  }
  (undef, my $res) = ctl($A, POST => '/games', {game => 'bad!'});
  is_deeply $res->{errors}, {game => ['has invalid format']}, 'field errors';
};

subtest 'control: simulated presence and players' => sub {
  $ex->collect(0.1);
  ($code, $json) = ctl($A, POST => '/games/Bulk1/connect', {players => ['Neo'], supports => [qw(channels players tells)]});
  is $code, 200, 'connect a simulated game';
  is_deeply $ex->next(ev('games/connect'))->{payload}, {game => 'Bulk1'}, 'games/connect sent';
  ($code) = ctl($A, POST => '/players/sign-in', {game => 'bulk1', name => 'Trin'});
  is $code, 200, 'sign-in';
  is_deeply $ex->next(ev('players/sign-in'))->{payload}, {game => 'Bulk1', name => 'Trin'}, 'players/sign-in sent';
  ($code) = ctl($A, POST => '/players/sign-out', {game => 'Bulk1', name => 'Nobody'});
  is $code, 404, 'sign-out of a player who is not signed in';
  $ex->send({event => 'tells/send', ref => 'st', payload => {from_name => 'Alice', to_game => 'bulk1', to_name => 'trin',
    sent_at => '2019-01-01T00:00:00Z', message => 'yo'}});
  is $ex->next(re('st'))->{status}, 'success', 'tell to a simulated player';
  ($code) = ctl($A, POST => '/games/Bulk1/disconnect');
  is $code, 200, 'disconnect';
  is_deeply $ex->next(ev('games/disconnect'))->{payload}, {game => 'Bulk1'}, 'games/disconnect sent';
  ($code, $json) = ctl($A, POST => '/players/sign-in', {game => 'Bulk1', name => 'Trin'});
  is_deeply [$code, $json], [409, {error => 'game offline'}], 'sign-in to an offline game';
};

subtest 'restart and drop' => sub {
  ($code, $json) = ctl($A, POST => '/restart', {downtime => 7, jitter => 0});
  ok $json->{sent} >= 4, 'restart sent';
  my $r = $amud->next(ev('restart'));
  is_deeply $r->{payload}, {downtime => 7}, 'restart payload';
  like $r->{ref}, $UUID, 'restart ref';

  ($code, $json) = ctl($A, POST => '/drop', {code => 4321, reason => 'bye now'});
  is $code, 200, 'polite drop';
  is_deeply $amud->wait_closed, [4321, 'bye now'], 'closed with the given code';
  is_deeply $nt->wait_closed, [4321, 'bye now'], 'every socket';
  $app = login($A, 'grapevine');
  ctl($A, POST => '/drop');
  is $app->wait_closed->[0], 1006, 'abrupt drop: no close frame';
  (undef, my $state) = ctl($A, GET => '/state');
  is_deeply $state->{online}, [], 'everyone offline';
};

# =================================================================== hub B

my $B = start_hub(args => ['--heartbeat', '0.2', '--offline-grace', '0.5']);
ctl($B, POST => '/games/bulk',
  [{game => 'Beat', creds('amud')}, {game => 'Watcher', creds('exventure')}, {game => 'Pulse', creds('notells')}]);

subtest 'heartbeats and 4001' => sub {
  my $t0 = time;
  my $idle = TestClient->open($B->{ws});
  my $lazy = TestClient->open($B->{ws});
  $lazy->send({event => 'authenticate', payload => {creds('amud'), supports => ['channels']}});
  my $good = TestClient->open($B->{ws}, answer_heartbeats => ['Ann']);
  $good->send({event => 'authenticate', payload => {creds('exventure'), supports => ['channels']}});

  is_deeply $lazy->wait_closed(3), [4001, 'goodbye'], 'silent active socket closed 4001 goodbye';
  is_deeply [map { $_->{event} } @{$lazy->seen}], [qw(authenticate heartbeat heartbeat heartbeat)],
    '... after three unanswered heartbeats';
  is_deeply $idle->wait_closed(3), [4001, 'goodbye'], 'unauthenticated socket closed 4001';
  ok time - $t0 >= 0.7, '... on the fourth tick';
  is scalar @{$idle->seen}, 0, '... without heartbeats';
  pump_until(sub {0}, 0.8);
  ok !$good->closed, 'a socket that answers stays open';
  ok scalar(grep { ($_->{event} // '') eq 'heartbeat' } @{$good->seen}) >= 5, '... and keeps getting heartbeats';

  ctl($B, POST => '/silence', {heartbeats => false});
  my $deaf = TestClient->open($B->{ws});
  $deaf->send({event => 'authenticate', payload => {creds('amud'), supports => ['channels', 'players']}});
  $deaf->collect(0.1);
  my $before = grep { ($_->{event} // '') eq 'heartbeat' } @{$good->seen};
  my $got    = $deaf->collect(0.9);
  is_deeply $got, [], 'silenced: no heartbeats';
  ok !$deaf->closed, '... and no 4001';
  is scalar(grep { ($_->{event} // '') eq 'heartbeat' } @{$good->seen}), $before, '... for anyone';
  ctl($B, POST => '/silence', {heartbeats => true, answer => false});
  $deaf->send({event => 'players/status', ref => 'q'});
  ok !$deaf->next(ev('players/status'), 0.3), 'answer=false: requests ignored';
  ok $deaf->next(ev('heartbeat'), 1), '... heartbeats still sent';
  ctl($B, POST => '/silence', {answer => true});
  $deaf->send({event => 'players/status', ref => 'q2'});
  ok $deaf->next(ev('players/status'), 1), 'answering again';
  $_->close for $good, $deaf;
};

subtest 'offline grace' => sub {
  my $watcher = TestClient->open($B->{ws}, answer_heartbeats => []);
  $watcher->send({event => 'authenticate', payload => {creds('exventure'), supports => ['channels', 'games']}});
  my $beat = TestClient->open($B->{ws}, answer_heartbeats => []);
  $beat->send({event => 'authenticate', payload => {creds('notells'), supports => ['channels']}});
  is_deeply $watcher->next(ev('games/connect'))->{payload}, {game => 'Pulse'}, 'connect notice';
  $beat->close;
  my $pulse_gone = sub ($f) { ev('games/disconnect')->($f) && $f->{payload}{game} eq 'Pulse' };
  my $t0 = time;
  ok !$watcher->next($pulse_gone, 0.25), 'no disconnect notice during the grace period';
  ok $watcher->next($pulse_gone, 1.5), 'disconnect notice after it';
  ok time - $t0 >= 0.4, '... not before';
  $watcher->close;
};

# =================================================================== hub C (TLS)

SKIP: {
  skip 'openssl not available', 3 unless system('openssl version >/dev/null 2>&1') == 0;
  system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $TMP/key.pem -out $TMP/cert.pem -days 2 "
      . "-subj /CN=127.0.0.1 >/dev/null 2>&1") == 0
    or skip 'cannot make a certificate', 3;
  my $C = start_hub(args => ['--tls-cert', "$TMP/cert.pem", '--tls-key', "$TMP/key.pem", '--seed', "$TMP/seed.json"]);
  (my $wss = $C->{ws}) =~ s/^ws:/wss:/;
  my $c = TestClient->open($wss);
  ok $c->tx->is_websocket, 'wss handshake';
  $c->send({event => 'authenticate', payload => {creds('amud'), supports => ['channels']}});
  is $c->next(ev('authenticate'))->{status}, 'success', 'authenticated over TLS';
  my ($code) = ctl($C, GET => '/state');
  is $code, 200, 'control API stays plain HTTP';
  $c->close;
}

# =================================================================== hub D (demo)

subtest 'demo mode' => sub {
  my $D = start_hub(args => ['--demo', '--chatter', '0.2']);
  my (undef, $state) = ctl($D, GET => '/state');
  ok @{$state->{games}} >= 12, 'a dozen games';
  my ($ex) = grep { $_->{game} eq 'ExVenture' } @{$state->{games}};
  is $ex->{allow_character_registration}, true, 'ExVenture allows character registration';
  my ($online) = grep { $_->{game} eq 'ExVenture' } @{$state->{online}};
  ok((grep { $_ eq 'Zed' } @{$online->{players}}), 'Zed is online');
  ok((grep { $_->{hidden} } @{$state->{channels}}), 'a hidden channel');
  is_deeply [map { $_->{short_name} } grep { $_->{client_id} eq '00000000-0000-4000-8000-000000000001' }
      @{$state->{applications}}], ['Grapevine'], 'the Grapevine application';
  my $site = TestClient->open($D->{ws});
  $site->send({event => 'authenticate', payload => {creds('grapevine'), supports => [qw(channels players tells games)]}});
  my $b = $site->next(ev('channels/broadcast'), 3);
  ok $b && length $b->{payload}{message}, 'chatter on a public channel';
  $site->send({event => 'heartbeat', payload => {players => ['system']}});
  $site->send({event => 'tells/send', ref => 'dt', payload => {from_name => 'system', to_game => 'ExVenture',
    to_name => 'zed', sent_at => '2019-02-01T12:00:00Z', message => 'hello'}});
  is $site->next(ev('tells/send'))->{status}, 'success', 'tell to Zed@ExVenture';
  my $reply = $site->next(ev('tells/receive'), 3);
  is_deeply [@{$reply->{payload}}{qw(from_game from_name to_name)}], ['ExVenture', 'zed', 'system'],
    'simulated players answer tells';
  $site->close;
};

done_testing;
