# Character registration against a real hub: a player's tell
# "register <key>" to system@Grapevine creates a pending character and
# rotates the key; the system player answers through the outbox with the
# reference's texts; the owner approves, denies or removes on the web;
# approved characters appear on the profile, the game page and the API.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use POSIX qw(strftime);

start_hub(seed => {
    games => [
        { game => 'ExVenture', display_name => 'ExVenture',
          description => 'A MUD in Elixir' },
        { game => 'Closed', display_name => 'Closed Game',
          allow_character_registration => JSON::PP::false },
        { game => 'Sleepy', display_name => 'Sleepy Game' },
    ],
    players => { ExVenture => [qw(Zed Amy Bo Cy Dee Eve)],
                 Closed => ['Zed'] },
}, heartbeat => 1);

start_nginx(
    http_config => hub_http_config(
        extra => 'grapevine_password_hash ops=1 memory=8m;'),
    config => <<'CONF');
location / { grapevine_site; }
location /api/ { grapevine_api; }
CONF

ok(wait_until(sub {
       sql_rows("SELECT count(*) FROM games WHERE online")->[0][0] == 2
   }, 20, 0.1), 'the hub\'s games are synced, two of them online');

# the application is online with its system player once it heartbeats
ok(wait_until(\&hub_app_online, 10, 0.2), 'system@Grapevine is online');

hub_api(DELETE => '/frames');

sub hub_tell {
    my ($game, $name, $message) = @_;
    my (undef, $status) = hub_api(POST => '/tell', {
        from_game => $game, from_name => $name, to_game => 'Grapevine',
        to_name => 'system', message => $message });
    return $status;
}

# tells/send frames the module sent to a player, in order
sub replies_to {
    my ($game, $name) = @_;
    return map { $_->{frame}{payload}{message} }
           grep { ($_->{frame}{event} // '') eq 'tells/send'
                  && $_->{frame}{payload}{to_name} eq $name
                  && $_->{frame}{payload}{to_game} eq $game }
           @{ hub_api(GET => '/frames') };
}

sub wait_replies {
    my ($game, $name, $n) = @_;
    my @r;
    wait_until(sub { @r = replies_to($game, $name); @r >= $n }, 10, 0.1);
    return @r;
}

sub key_of {
    sql_rows('SELECT registration_key FROM users WHERE username = ?', $_[0])
        ->[0][0];
}

sub characters {
    return join ', ', map { join ':', @$_ } @{ sql_rows(
        'SELECT c.name, g.short_name, u.username, c.state FROM characters c '
        . 'JOIN games g ON g.id = c.game_id JOIN users u ON u.id = c.user_id '
        . 'ORDER BY c.id') };
}

my $alice = Grapevine::SiteClient->new;
is($alice->sign_up('alice')->{status}, 303, 'alice signs up');

my $page = $alice->get('/manage/characters')->{body};
my ($key) = $page =~ m{id="registration-key">([0-9a-f-]{36})<};
is($key, key_of('alice'), 'the page shows alice\'s key');
like($page, qr{<pre class="instruction" id="instruction">tell system\@Grapevine register \Q$key\E</pre>},
     'and the exact in-game instruction');

# ------------------------------------------------------------- success

is(hub_tell('ExVenture', 'Zed', "register $key"), 200, 'Zed tells system');

is(join('|', wait_replies('ExVenture', 'Zed', 1)),
   'User registration initiated. Check your profile to complete '
   . 'registration!', 'the success reply reaches Zed through the hub');
is(characters(), 'Zed:ExVenture:alice:pending', 'a pending character');
isnt(key_of('alice'), $key, 'the key was replaced at once');

ok(wait_until(sub {
       !sql_rows('SELECT count(*) FROM hub_outbox WHERE sent_at IS NULL')
           ->[0][0]
   }, 5, 0.1), 'the reply went through the outbox and was sent');

my ($frame) = grep { ($_->{frame}{event} // '') eq 'tells/send' }
              @{ hub_api(GET => '/frames') };
is($frame->{frame}{payload}{from_name}, 'system', 'from the system player');
like($frame->{frame}{ref}, qr/^[0-9a-f-]{36}$/, 'with a ref');

$page = $alice->get('/manage/characters')->{body};
like($page, qr{<ul class="rows" id="pending">\s*<li class="row">\s*<span class="grow"><strong class="character">Zed</strong> in ExVenture},
     'the pending character is on alice\'s page');
my $new_key = key_of('alice');
like($page, qr/register \Q$new_key\E/, 'with the new key');

# ---------------------------------------------------------- every reply

is(hub_tell('ExVenture', 'Amy', "register $key"), 200, 'Amy reuses the old key');
is((wait_replies('ExVenture', 'Amy', 1))[0], 'Unknown registration key.',
   'a key reused after it rotated is unknown');

is(hub_tell('ExVenture', 'Bo', 'register 8a4e5f6a-1b2c-4d3e-8f90-0123456789ab'),
   200, 'Bo sends a key nobody has');
is((wait_replies('ExVenture', 'Bo', 1))[0], 'Unknown registration key.',
   'a wrong key is unknown');

is(hub_tell('ExVenture', 'Cy', 'register not-a-key'), 200, 'Cy sends garbage');
is((wait_replies('ExVenture', 'Cy', 1))[0], 'Unknown registration key.',
   'a key that is no UUID is unknown');

is(hub_tell('ExVenture', 'Dee', 'hello there'), 200, 'Dee says hello');
is((wait_replies('ExVenture', 'Dee', 1))[0],
   'Hello! This is Grapevine. Please checkout https://grapevine.haus/ for '
   . 'information on how to register a character.',
   'any other message gets the help reply');

is(hub_tell('Closed', 'Zed', "register $new_key"), 200,
   'Zed of a game that disallows registration');
is((wait_replies('Closed', 'Zed', 1))[0],
   'Your game does not allow registering characters on Grapevine. Sorry :(',
   'the game must allow registration');
is(key_of('alice'), $new_key, '... and the key is still good');

my $bob = Grapevine::SiteClient->new;
$bob->sign_up('bob');
my $bob_key = key_of('bob');

is(hub_tell('ExVenture', 'Zed', "register $bob_key"), 200,
   'Zed again, with bob\'s key');
is(join('|', (wait_replies('ExVenture', 'Zed', 3))[1, 2]),
   'This character is already registered.|Please check your Grapevine '
   . 'profile.', 'a (game, name) pair is registered once');
is(characters(), 'Zed:ExVenture:alice:pending', '... nothing new');

is(hub_tell('ExVenture', 'Eve', "  REGISTER   $new_key  "), 200,
   'Eve, in capitals and with spaces');
is((wait_replies('ExVenture', 'Eve', 1))[0],
   'User registration initiated. Check your profile to complete '
   . 'registration!', 'the word and the spaces do not matter');

# ------------------------------- offline or unknown games, other players

sub raw_tell {
    my ($game, $name, $to, $message) = @_;
    hub_api(POST => '/raw', { frame => json_encode({
        event => 'tells/receive', ref => 'raw-' . rand(),
        payload => { from_game => $game, from_name => $name,
                     to_name => $to, to_game => 'Grapevine',
                     sent_at => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime),
                     message => $message } }) });
}

my $k = key_of('alice');
my $before = characters();
my $outbox = sql_rows('SELECT count(*) FROM hub_outbox')->[0][0];

raw_tell('Sleepy', 'Zed', 'system', "register $k");
raw_tell('Nowhere', 'Zed', 'system', "register $k");
raw_tell('ExVenture', 'Amy', 'someone', "register $k");

ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM hub_outbox')->[0][0] >= $outbox + 2
   }, 10, 0.1), 'tells from an offline and an unknown game are answered');
is_deeply([ map { $_->[0] } @{ sql_rows(
              "SELECT frame #>> '{payload,message}' FROM hub_outbox "
              . 'WHERE id > (SELECT max(id) - 2 FROM hub_outbox) ORDER BY id') } ],
          [ ('An unknown error occurred. Please try again') x 2 ],
          '... with the unknown error');
sleep 0.5;
is(characters(), $before, 'no character from an offline or unknown game, '
                          . 'or from a tell to someone else');
is(key_of('alice'), $k, 'and the key was not used');
is(sql_rows('SELECT count(*) FROM hub_outbox')->[0][0], $outbox + 2,
   'a tell to another player of Grapevine is not answered');

# ------------------------------------------------------- on the web

my ($zed) = map { $_->[0] } @{ sql_rows(
    "SELECT id FROM characters WHERE name = 'Zed'") };
my ($eve) = map { $_->[0] } @{ sql_rows(
    "SELECT id FROM characters WHERE name = 'Eve'") };

# not while signed out (who asks comes first: sent to sign in), not
# without the form's token, not someone else's
my $res = (Grapevine::SiteClient->new)->post(
    "/manage/characters/$zed/approve", {});
is($res->{status}, 303, 'approve without a session: 303');
like($res->{headers}{location}, qr{^(?:https?://[^/]+)?/sign-in$},
     '... to the sign-in page');

$alice->get('/manage/characters');
$res = $alice->post("/manage/characters/$zed/approve", { _csrf => undef });
is($res->{status}, 403, 'approve without the form\'s token: 403');
$res = $alice->post("/manage/characters/$zed/approve",
                    { _csrf => $alice->cookie('_grapevine_csrf') });
is($res->{status}, 403, 'approve with the anonymous token: 403');

$bob->get('/manage/characters');
$res = $bob->post("/manage/characters/$zed/approve", {});
is($res->{status}, 404, 'bob cannot approve alice\'s character');
$res = $bob->post("/manage/characters/$zed/remove", {});
is($res->{status}, 404, '... nor remove it');
is(characters(), 'Zed:ExVenture:alice:pending, Eve:ExVenture:alice:pending',
   'nothing changed');

$res = $alice->get('/manage/characters/1/approve');
is($res->{status}, 405, 'GET on an action: 405');
$res = $alice->post('/manage/characters/x/approve', {});
is($res->{status}, 404, 'an id that is no number: 404');
$res = $alice->post("/manage/characters/$zed/promote", {});
is($res->{status}, 404, 'an unknown action: 404');

$alice->get('/manage/characters');
$res = $alice->post("/manage/characters/$zed/approve", {});
is($res->{status}, 303, 'alice approves Zed');
like($res->{headers}{location}, qr{/manage/characters$}, '... and is back');
$res = $alice->post("/manage/characters/$eve/deny", {});
is($res->{status}, 303, 'alice denies Eve');
is(characters(), 'Zed:ExVenture:alice:approved, Eve:ExVenture:alice:denied',
   'the states changed');

$res = $alice->post("/manage/characters/$zed/deny", {});
is($res->{status}, 409, 'an approved character is no longer pending: 409');

$page = $alice->get('/manage/characters')->{body};
like($page, qr{id="approved">\s*<li class="row">\s*<span class="grow"><strong class="character">Zed</strong>},
     'Zed is approved on the page');
like($page, qr{id="denied">\s*<li class="row">\s*<span class="grow"><strong class="character">Eve</strong>},
     'Eve is denied');

# the public pages
$res = http_get('/users/alice');
is($res->{status}, 200, 'alice\'s public profile');
like($res->{body}, qr{<h3>Zed</h3>\s*<p class="small">in <a href="/games/ExVenture">ExVenture</a>},
     'shows the approved character');
unlike($res->{body}, qr{<h3>Eve</h3>}, 'but not the denied one');

$res = http_get('/games/ExVenture');
like($res->{body}, qr{<li>Zed <a class="small muted" href="/users/alice">\(alice\)</a></li>},
     'the game page lists the registered character');

$res = http_get('/api/characters/ExVenture/Zed');
is($res->{status}, 200, 'the API knows the character');
my $json = eval { json_decode($res->{body}) } // {};
like(json_encode($json), qr/"alice"/, '... and its player');

$res = http_get('/api/characters/ExVenture/Eve');
is($res->{status}, 404, 'the API does not show a denied character');

# a denied name stays taken until it is removed
is(hub_tell('ExVenture', 'Eve', 'register ' . key_of('bob')), 200,
   'Eve, denied, registers again with bob\'s key');
is((wait_replies('ExVenture', 'Eve', 3))[1],
   'This character is already registered.', 'the denied name is taken');

$res = $alice->post("/manage/characters/$eve/remove", {});
is($res->{status}, 303, 'alice removes Eve');
is(hub_tell('ExVenture', 'Eve', 'register ' . key_of('bob')), 200,
   'then Eve registers with bob\'s key');
is((wait_replies('ExVenture', 'Eve', 4))[3],
   'User registration initiated. Check your profile to complete '
   . 'registration!', 'and it works');
is(characters(), 'Zed:ExVenture:alice:approved, Eve:ExVenture:bob:pending',
   'Eve is bob\'s now');

Grapevine::Test::cleanup();
done_testing();
