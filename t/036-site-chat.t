# Web chat against a real hub: a signed-in player sends to a channel from
# /chat/{channel} (a form with its CSRF token, post-redirect-get; JSON for
# a client with a session).  The message is in the channel's history at
# once, as username@<grapevine_hub_name>, and goes to the hub as
# channels/send (name = the username) through the outbox; while the hub is
# away it waits, the page says so, and it goes out on reconnect.  Every
# refusal (empty, too long, hidden or unknown channel, muted, suspended,
# too fast, no token, signed out) answers clearly and changes nothing in
# the database or the outbox.  Raisin hides and audits web messages.  A
# burst of 50 messages reaches the hub in order, paced below its rate
# limit (10 at once, 2 a second): the socket is never refused or closed.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Grapevine::Raisin;

plan(skip_all => 'Raisin is not built') unless part_built('raisin');

my %seed = (
    games => [{ game => 'ExVenture', display_name => 'ExVenture' }],
    channels => [{ name => 'gossip', description => 'General chat',
                   hidden => JSON::PP::false },
                 { name => 'secret', description => 'staff',
                   hidden => JSON::PP::true }],
    players => { ExVenture => [qw(Zed)] },
);

start_hub(seed => { %seed }, heartbeat => 1);
my $hub_port = hub_port();

start_nginx(
    http_config => hub_http_config(extra => join "\n",
        'grapevine_password_hash ops=1 memory=8m;',
        'grapevine_chat_max_length 50;',
        'grapevine_chat_rate 1r/s burst=4;',
        'grapevine_sign_up_throttle address=100;'),
    config => <<'CONF');
location / { grapevine_site; }
location /raisin/ { raisin; }
CONF

ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM channels')->[0][0] == 2
       && hub_app_online()
   }, 20, 0.2), 'the hub is synced and system@Grapevine is online');

# what a refusal must leave as it was: the history, the outbox, the
# throttle
sub state {
    return json_encode({
        messages => sql_rows('SELECT id, player_name, message, hidden '
                             . 'FROM channel_messages ORDER BY id'),
        outbox => sql_rows('SELECT id, frame::text FROM hub_outbox '
                           . 'ORDER BY id'),
        senders => sql_rows('SELECT user_id, excess, at::text '
                            . 'FROM chat_senders ORDER BY user_id'),
    });
}

# channels/send frames the hub received from the application
sub hub_sends {
    return grep { ($_->{frame}{event} // '') eq 'channels/send' }
           @{ hub_api(GET => '/frames') };
}

sub app_connections {
    return grep { ($_->{kind} // '') eq 'app' }
           @{ hub_api(GET => '/connections') };
}

my %b = browsers_with_roles(user => [qw(alice bob mutey sus)],
                            moderator => ['moddy']);
my $alice = $b{alice};
my $res;

# ------------------------------------------------------------ the form

$res = $alice->get('/chat/gossip');
is($res->{status}, 200, 'the channel page');
like($res->{body},
     qr{<form[^>]*method="post"[^>]*action="/chat/gossip"(?:(?!</form>).)*name="_csrf" value="[0-9a-f]{64}"(?:(?!</form>).)*name="text"}s,
     'a signed-in player gets the send form, with the token');
unlike($res->{body}, qr/out of reach/, 'the hub is there: no notice');

my $anon = Grapevine::SiteClient->new;
$res = $anon->get('/chat/gossip');
unlike($res->{body}, qr{name="text"}, 'a signed-out visitor gets no form');
like($res->{body}, qr{href="/sign-in\?next=/chat/gossip"},
     '... but a link to sign in');

# ------------------------------------------------------------ sending

hub_api(DELETE => '/frames');

$res = $alice->post('/chat/gossip', { text => "  Hello <b>world</b>\t" });
is($res->{status}, 303, 'a message: 303');
is(Grapevine::SiteClient::location_path($res), '/chat/gossip',
   '... back to the channel (post, redirect, get)');

my $row = sql_rows(q{SELECT m.id, m.channel_name, m.game_name,
                            m.player_name, m.message, u.username, m.hidden
                     FROM channel_messages m JOIN users u ON u.id = m.user_id
                     ORDER BY m.id DESC LIMIT 1})->[0];
my $hello = $row->[0];
is_deeply([ @$row[1 .. 6] ],
          [ 'gossip', 'Grapevine', 'alice', 'Hello world', 'alice', 0 ],
          'stored at once in the channel\'s history as alice@Grapevine, '
          . 'trimmed and without tags, with her account');

my $frame = json_decode(sql_rows('SELECT frame::text FROM hub_outbox '
                                 . 'ORDER BY id DESC LIMIT 1')->[0][0]);
is_deeply($frame->{payload},
          { channel => 'gossip', name => 'alice', message => 'Hello world' },
          'queued as channels/send, name = the username');
like($frame->{ref}, qr/^[0-9a-f-]{36}$/, '... with a ref');

my @sent;
ok(wait_until(sub { @sent = hub_sends(); @sent >= 1 }, 10, 0.1),
   'the hub gets it');
is_deeply($sent[0]{frame}, $frame, '... the frame queued');
ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM hub_outbox WHERE sent_at IS NULL')
           ->[0][0] == 0
   }, 10, 0.1), '... and the outbox marks it sent');

$res = $alice->get('/chat/gossip');
like($res->{body}, qr{alice\@Grapevine</span>\s*<span class="text">Hello world</span>},
     'the page shows it after the redirect');
like($anon->get('/chat/gossip')->{body}, qr{Hello world},
     'so does everyone\'s');

# JSON for a client with a session: the token in X-CSRF-Token

sleep 1.1;
my $token = $alice->csrf;
$res = $alice->post_json('/chat/gossip', { text => 'from a tool' },
                         csrf => $token);
is($res->{status}, 200, 'JSON: 200');
is($res->{json}{message}{text}, 'from a tool', 'JSON: the message stored');
is($res->{json}{message}{name}, 'alice', 'JSON: as alice');
is($res->{json}{message}{game}, 'Grapevine', 'JSON: of the site');
ok($res->{json}{message}{id} > $hello, 'JSON: its id');
ok($res->{json}{hub_connected}, 'JSON: the hub is connected');
is(sql_rows('SELECT message FROM channel_messages WHERE id = ?',
            $res->{json}{message}{id})->[0][0], 'from a tool',
   'JSON: in the history');

$res = $alice->post_form_json('/chat/gossip',
                              { text => 'form, JSON answer',
                                _csrf => $token });
is($res->{status}, 200, 'a form asking for JSON: 200');

$res = $alice->post_json('/chat/gossip', { text => "two\r\nlines\tand\x{7f}more" },
                         csrf => $token);
is($res->{json}{message}{text}, 'two lines and more',
   'a message is one line: control characters become spaces');

# ------------------------------------------------------------ refusals

sleep 2;

sub refused {
    my ($label, $c, $path, $form, $status, $re, %opt) = @_;
    my $before = state();
    my $r = $opt{json}
        ? $c->post_json($path, $form, csrf => $opt{csrf} // $c->csrf)
        : $c->post($path, $form);
    is($r->{status}, $status, "$label: $status");
    like($opt{json} ? ($r->{body} // '') : ($r->{body} // ''), $re,
         "$label: says why") if $re;
    is(state(), $before, "$label: nothing stored, queued or counted");
    return $r;
}

$alice->get('/chat/gossip');

$res = refused('empty', $alice, '/chat/gossip', { text => '' }, 422,
               qr/Write something to send\./);
like($res->{body}, qr{<form[^>]*action="/chat/gossip"},
     'empty: the form again');
refused('white space only', $alice, '/chat/gossip',
        { text => " \t \x{3000} " }, 422, qr/Write something to send\./);
refused('tags only', $alice, '/chat/gossip', { text => '<b></b>' }, 422,
        qr/Write something to send\./);
refused('no text field', $alice, '/chat/gossip', {}, 422,
        qr/Write something to send\./);
$res = refused('51 characters (grapevine_chat_max_length 50)', $alice,
               '/chat/gossip', { text => 'x' x 51 }, 422,
               qr/The message is too long\./);
like($res->{body}, qr{value="x{51}"}, 'too long: the text is kept in the form');
refused('51 characters of 3 bytes', $alice, '/chat/gossip',
        { text => "\x{263a}" x 51 }, 422, qr/too long/);
refused('unknown channel', $alice, '/chat/nowhere', { text => 'hi' }, 404,
        qr/no such channel/);
refused('hidden channel', $alice, '/chat/secret', { text => 'hi' }, 404,
        qr/no such channel/);
refused('no CSRF token', $alice, '/chat/gossip',
        { text => 'hi', _csrf => undef }, 403, qr/expired/);
refused('a wrong CSRF token', $alice, '/chat/gossip',
        { text => 'hi', _csrf => 'a' x 64 }, 403, qr/expired/);
$res = refused('signed out', $anon, '/chat/gossip', { text => 'hi' }, 303);
like($res->{headers}{location} // '', qr{/sign-in}, 'signed out: to sign in');

$res = refused('JSON, empty', $alice, '/chat/gossip', { text => ' ' }, 422,
               qr/"invalid"/, json => 1);
is_deeply($res->{json}{error}{fields}, { text => ['Write something to send.'] },
          'JSON, empty: the field and its problem');
$res = refused('JSON, hidden channel', $alice, '/chat/secret',
               { text => 'hi' }, 404, qr/"not_found"/, json => 1);

my $tool = Grapevine::SiteClient->new;
$res = $tool->post_json('/chat/gossip', { text => 'hi' }, csrf => 'x');
is($res->{status}, 401, 'JSON, no session: 401');

# ...... a sender muted by Raisin: mutes apply to username@<site name>

my $mod = $b{moddy};
$mod->get('/raisin/mutes');
$res = $mod->post('/raisin/mutes', { sender => 'mutey@Grapevine',
                                     duration => '1h', reason => 'spam' },
                  headers => "Referer: http://localhost/raisin/mutes\n");
is($res->{status}, 303, 'a moderator mutes mutey@Grapevine');
$b{mutey}->get('/chat/gossip');
refused('muted', $b{mutey}, '/chat/gossip', { text => 'let me speak' }, 403,
        qr/You are muted on the network until \d{4}-/);
$b{bob}->get('/chat/gossip');
$res = $b{bob}->post('/chat/gossip', { text => 'bob is not muted' });
is($res->{status}, 303, 'another player is not muted');

# ...... a suspended account: its sessions end, and the function refuses

$b{sus}->get('/chat/gossip');
$mod->get('/raisin/users/sus');
$res = $mod->post('/raisin/users/sus/suspend', { reason => 'abuse' },
                  headers => "Referer: http://localhost/raisin/users/sus\n");
is($res->{status}, 303, 'a moderator suspends sus');
$res = refused('suspended', $b{sus}, '/chat/gossip', { text => 'still here' },
               303);
like($res->{headers}{location} // '', qr{/sign-in}, 'suspended: signed out');
my $sus_id = sql_rows(q{SELECT id FROM users WHERE username = 'sus'})->[0][0];
my $before = state();
my $answer = json_decode(sql_rows(
    q{SELECT site_chat_send(jsonb_build_object('id', ?::bigint),
                            '{"channel": "gossip", "text": "hi",
                              "max_length": 50, "rate": 1000, "burst": 4,
                              "site_name": "Grapevine"}')::text},
    $sus_id)->[0][0]);
is_deeply($answer, { status => 403, error => 'chat_suspended' },
          'suspended: site_chat_send() itself refuses');
is(state(), $before, 'suspended: nothing stored, queued or counted');

# ...... too fast: grapevine_chat_rate 1r/s burst=4 takes 5 at once

my $carol = Grapevine::SiteClient->new;
is($carol->sign_up('carol')->{status}, 303, 'carol signs up');
$carol->get('/chat/gossip');
my $ok = 0;
for my $i (1 .. 5) {
    $ok++ if $carol->post('/chat/gossip', { text => "quick $i" })->{status}
             == 303;
}
is($ok, 5, 'five messages at once are taken (burst=4)');
$res = refused('the sixth at once', $carol, '/chat/gossip',
               { text => 'quick 6' }, 429,
               qr/You are sending messages too fast\. Please wait \d+ s/);
like($res->{headers}{'retry-after'} // '', qr/^[1-9][0-9]*$/,
     'the sixth at once: Retry-After');
$res = refused('JSON, too fast', $carol, '/chat/gossip',
               { text => 'quick 7' }, 429, qr/"too_many_requests"/,
               json => 1);
sleep 1.2;
is($carol->post('/chat/gossip', { text => 'quick 8' })->{status}, 303,
   'a second later one more is taken');

# ------------------------------------------------------------ Raisin

my $n = audit_count();
$mod->get('/raisin/channels/gossip');
$res = $mod->post("/raisin/messages/$hello/hide", { reason => 'off topic' },
                  headers => "Referer: http://localhost/raisin/channels/gossip\n");
is($res->{status}, 303, 'a moderator hides alice\'s web message');
is(sql_rows('SELECT hidden::int FROM channel_messages WHERE id = ?', $hello)
   ->[0][0], 1, '... it is hidden');
is(audit_count(), $n + 1, '... with one audit row');
like(sql_rows('SELECT action || \' \' || target || \' \' || details::text '
              . 'FROM raisin_audit ORDER BY id DESC LIMIT 1')->[0][0],
     qr/^message\.hide .*\b$hello\b.*Hello world/,
     '... naming the message and its text');
unlike($anon->get('/chat/gossip')->{body}, qr{Hello world},
       '... and it leaves the public page');
like($mod->get('/raisin/channels/gossip')->{body}, qr{Hello world},
     'Raisin still shows it, as a hidden message');

# ------------------------------------------------------------ hub away

stop_hub();
ok(wait_until(sub {
       !sql_rows('SELECT site_hub_connected()')->[0][0]
   }, 20, 0.1), 'the hub is gone, the link says so');

$res = $alice->get('/chat/gossip');
like($res->{body}, qr{The network is out of reach right now},
     'the page says that what is sent waits');
$res = $alice->post('/chat/gossip', { text => 'while away' });
is($res->{status}, 303, 'a message while the hub is away: 303');
is(sql_rows(q{SELECT count(*) FROM channel_messages
              WHERE message = 'while away'})->[0][0], 1,
   '... in the history at once');
is(sql_rows(q{SELECT count(*) FROM hub_outbox
              WHERE sent_at IS NULL
                AND frame -> 'payload' ->> 'message' = 'while away'})
   ->[0][0], 1, '... waiting in the outbox');
like($alice->get('/chat/gossip')->{body},
     qr{out of reach right now.*\(\d+ waiting\)}s,
     '... and the page counts what waits');

start_hub(seed => { %seed }, heartbeat => 1, port => $hub_port);
ok(wait_until(sub {
       grep { $_->{frame}{payload}{message} eq 'while away' } hub_sends()
   }, 30, 0.2), 'it goes out when the hub is back');
ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM hub_outbox WHERE sent_at IS NULL')
           ->[0][0] == 0
   }, 10, 0.1), '... and nothing waits any more');
ok(wait_until(sub { $alice->get('/chat/gossip')->{body} !~ /out of reach/ },
              10, 0.2), 'the notice is gone');

# ------------------------------------------------------------ a burst

# 50 messages from 10 players, 5 each (the throttle's burst), as fast as
# they come: the outbox sends 8 at once then 2 a second, below the hub's
# 10 and 2 a second, so every one arrives, in order, on the one socket

my @players = map { Grapevine::SiteClient->new } 1 .. 10;
for my $i (0 .. 9) {
    $players[$i]->sign_up("burst$i");
    $players[$i]->get('/chat/gossip');
}
ok(wait_until(sub { app_connections() == 1 }, 10, 0.1),
   'one application socket');
my ($conn) = app_connections();
hub_api(DELETE => '/frames');

my @posted;
my $accepted = 0;
for my $round (1 .. 5) {
    for my $i (0 .. 9) {
        my $text = "burst $round.$i";
        $accepted++ if $players[$i]->post('/chat/gossip', { text => $text })
                       ->{status} == 303;
        push @posted, $text;
    }
}
is($accepted, 50, '50 messages taken at once');

my @got;
ok(wait_until(sub {
       @got = map { $_->{frame}{payload}{message} } hub_sends();
       @got >= 50
   }, 60, 0.25), 'all 50 arrive at the hub');
is_deeply(\@got, \@posted, '... in the order they were sent');
my ($after) = app_connections();
is($after->{id}, $conn->{id}, 'the socket was never closed');
is($after->{rate_limited}, 0, 'the hub refused none of them');
is(sql_rows('SELECT count(*) FROM hub_outbox WHERE sent_at IS NULL')->[0][0],
   0, 'the outbox is empty');

Grapevine::Test::cleanup();
done_testing();
