# Raisin's actions against a real hub, and what each one does to the public
# pages (/chat, /users, /games), the JSON API and Raisin's own pages: hide
# and unhide a message; mute a sender (their new messages are stored
# hidden), lift a mute; suspend and restore an account; remove a character
# (the name can be registered again); change roles (admins only, never
# one's own); util/make-admin.  Each action writes exactly one audit row
# (actor, action, target, reason, details) in the transaction of its
# effect: a failure leaves neither.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Grapevine::Raisin;

# a module built without Raisin (make GRAPEVINE_PARTS=…) has none to test
plan(skip_all => 'Raisin is not built') unless part_built('raisin');

start_hub(seed => {
    games => [{ game => 'ExVenture', display_name => 'ExVenture' },
              { game => 'MidMUD', display_name => 'MidMUD' }],
    channels => [{ name => 'gossip', description => 'General chat',
                   hidden => JSON::PP::false },
                 { name => 'secret', description => 'staff',
                   hidden => JSON::PP::true }],
    players => { ExVenture => [qw(Zed Amy Bo)], MidMUD => [qw(Zed)] },
}, heartbeat => 1, sync => 'versions');

start_nginx(
    http_config => hub_http_config(
        extra => 'grapevine_password_hash ops=1 memory=8m;'),
    config => <<'CONF');
location / { grapevine_site; }
location /api/ { grapevine_api; }
location /raisin/ { raisin; }
CONF

ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM games WHERE online')->[0][0] == 2
       && sql_rows('SELECT count(*) FROM channels')->[0][0] == 2
       && hub_app_online()
   }, 20, 0.2), 'the hub is synced and system@Grapevine is online');

sub hidden_of {
    sql_rows('SELECT hidden::int FROM channel_messages WHERE id = ?', $_[0])
        ->[0][0];
}

sub last_audit {
    my $r = sql_rows(q{SELECT id, actor_id, actor, action, target, reason,
                              details::text, at > now() - interval '1 minute'
                       FROM raisin_audit ORDER BY id DESC LIMIT 1})->[0]
            // [];
    my %row;
    @row{qw(id actor_id actor action target reason details recent)} = @$r;
    return \%row;
}

sub user_id {
    sql_rows('SELECT id FROM users WHERE username = ?', $_[0])->[0][0];
}

# The action wrote one audit row, as wanted: actor, action, target (a
# regex), reason, and patterns its details must hold.
sub check_audit {
    my ($label, $before, %want) = @_;
    is(audit_count(), $before + 1, "$label: exactly one audit row");
    my $row = last_audit();
    is($row->{actor}, $want{actor}, "$label: audit actor $want{actor}");
    if ($want{actor} eq 'command line') {
        ok(!defined $row->{actor_id}, "$label: no actor id");
    } else {
        is($row->{actor_id}, user_id($want{actor}),
           "$label: audit actor_id is $want{actor}'s");
    }
    is($row->{action}, $want{action}, "$label: audit action $want{action}");
    like($row->{target} // '', $want{target}, "$label: audit target");
    is($row->{reason}, $want{reason}, "$label: audit reason")
        if exists $want{reason};
    ok($row->{recent}, "$label: audit time is now");
    for my $re (@{ $want{details} // [] }) {
        like($row->{details} // '', $re, "$label: audit details have $re");
    }
    return $row;
}

sub public_chat { http_get('/chat/gossip')->{body} }
sub api_ids {
    my $res = http_get('/api/channels/gossip/messages?limit=100');
    my $j = eval { json_decode($res->{body}) } // {};
    return map { $_->{id} } @{ $j->{items} // [] };
}

sub raisin_message {
    my ($c, $id) = @_;
    my $res = $c->get_json('/raisin/channels/gossip');
    my ($m) = grep { $_->{id} == $id }
              @{ (eval { $res->{json}{messages} }) // [] };
    return $m;
}

my %b = browsers_with_roles(user => [qw(victim plain)],
                            moderator => [qw(moddy mod2)],
                            admin => ['admina']);
sql(<<'SQL');
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, v.n, v.s
FROM users u, games g, (VALUES ('Amy', 'approved'), ('Bo', 'pending'))
     AS v (n, s)
WHERE u.username = 'victim' AND g.short_name = 'ExVenture';
SQL

my $mod = $b{moddy};
my $adm = $b{admina};
my $res;

# posts a Raisin form in HTML as a browser would: from its page
sub act {
    my ($c, $page, $path, $form) = @_;
    $c->get($page);
    return $c->post($path, $form,
                    headers => "Referer: http://localhost$page\n");
}

# ------------------------------------------------------- hide and unhide

my $spam = say_on_hub('ExVenture', 'Amy', 'buy gold at example.com');
my $hello = say_on_hub('ExVenture', 'Amy', 'hello all');

like(public_chat(), qr/buy gold at example\.com/, 'the spam is public');
ok((grep { $_ == $spam } api_ids()), '... and in the API');

$res = $mod->get('/raisin/channels/gossip');
is($res->{status}, 200, 'the moderator opens the channel in Raisin');
like($res->{body},
     qr{<form[^>]*\bmethod="post"[^>]*\baction="/raisin/messages/$spam/hide"(?:(?!</form>).)*name="_csrf" value="[0-9a-f]{64}"}s,
     'a hide form for the message, with the token');
like($res->{body},
     qr{action="/raisin/messages/$spam/hide"(?:(?!</form>).)*name="reason"}s,
     '... and a reason');

sub chat_count {
    my ($count) = http_get('/chat')->{body}
                  =~ m{href="/chat/gossip">#gossip</a>.*?(\d+) message\(s\)}s;
    return $count // -1;
}
my $count = chat_count();
cmp_ok($count, '>=', 2, '/chat counts gossip\'s messages');

my $n = audit_count();
$res = act($mod, '/raisin/channels/gossip', "/raisin/messages/$spam/hide",
           { reason => 'gold spam' });
is($res->{status}, 303, 'hide: 303');
is(Grapevine::SiteClient::location_path($res), '/raisin/channels/gossip',
   'hide: back to the channel');
is(hidden_of($spam), 1, 'hide: the message is hidden');
my $row = check_audit('hide', $n, actor => 'moddy', action => 'message.hide',
                      target => qr/\b$spam\b/, reason => 'gold spam',
                      details => [qr/buy gold at example\.com/]);

unlike(public_chat(), qr/buy gold/, 'hide: gone from /chat/gossip');
is(chat_count(), $count - 1, 'hide: /chat counts one message less');
like(public_chat(), qr/hello all/, 'hide: the other message stays');
ok(!(grep { $_ == $spam } api_ids()), 'hide: gone from the API');
ok((grep { $_ == $hello } api_ids()), 'hide: the other one is in the API');
is(http_get('/api/channels/gossip/messages?before=' . ($spam + 1)
            . '&limit=1')->{body} =~ /buy gold/ ? 1 : 0, 0,
   'hide: not even on an older page of the API');

my $m = raisin_message($mod, $spam);
ok($m, 'hide: still in Raisin\'s log');
is($m && $m->{text}, 'buy gold at example.com', 'hide: with its text');
ok($m && $m->{hidden} && !$m->{muted}, 'hide: marked hidden, not muted');
$res = $mod->get('/raisin/channels/gossip');
like($res->{body}, qr/buy gold at example\.com/,
     'hide: the HTML log shows it');
like($res->{body}, qr{action="/raisin/messages/$spam/unhide"},
     'hide: with an unhide form in place of hide');
unlike($res->{body}, qr{action="/raisin/messages/$spam/hide"},
       'hide: and no hide form');

$res = $mod->get_json('/raisin/');
my ($gossip) = grep { $_->{name} eq 'gossip' }
               @{ (eval { $res->{json}{channels} }) // [] };
is($gossip && $gossip->{hidden_messages}, 1,
   '/raisin/: one hidden message counted');
my $total = sql_rows("SELECT count(*) FROM channel_messages WHERE "
                     . "channel_name = 'gossip'")->[0][0];
ok($gossip && ($gossip->{messages} == $total
               || $gossip->{messages} == $total - 1),
   '/raisin/: the messages counted');
is(eval { $res->{json}{audit}[0]{id} }, $row->{id},
   '/raisin/: the latest audit row first');
is(eval { $res->{json}{audit}[0]{reason} }, 'gold spam', '... its reason');

$n = audit_count();
$res = act($mod, '/raisin/channels/gossip', "/raisin/messages/$spam/hide",
           { reason => 'again' });
is($res->{status}, 409, 'hide a hidden message: 409');
$mod->raisin_csrf;
$res = $mod->post_json("/raisin/messages/$spam/hide", { reason => 'again' });
is($res->{status}, 409, 'hide a hidden message (JSON): 409');
is(eval { $res->{json}{error}{code} }, 'conflict', '... conflict');
is(audit_count(), $n, '... no audit row');

$res = $mod->post_json("/raisin/messages/$spam/unhide",
                       { reason => 'not spam after all' });
is($res->{status}, 200, 'unhide (JSON): 200');
is(hidden_of($spam), 0, 'unhide: visible again');
$row = check_audit('unhide', $n, actor => 'moddy', action => 'message.unhide',
                   target => qr/\b$spam\b/, reason => 'not spam after all',
                   details => [qr/buy gold at example\.com/]);
is(eval { $res->{json}{audit}{id} }, $row->{id},
   'unhide: the answer names the audit row');
is(eval { $res->{json}{audit}{reason} }, 'not spam after all',
   '... with its reason');
like(public_chat(), qr/buy gold at example\.com/, 'unhide: back on /chat');
ok((grep { $_ == $spam } api_ids()), 'unhide: back in the API');

$n = audit_count();
$res = $mod->post_json("/raisin/messages/$spam/unhide", { reason => 'x' });
is($res->{status}, 409, 'unhide a visible message: 409');
is(audit_count(), $n, '... no audit row');

# a message of a hidden channel can be hidden too
my $psst = say_on_hub('ExVenture', 'Bo', 'psst', 'secret');
$res = $mod->post_json("/raisin/messages/$psst/hide", { reason => 'leak' });
is($res->{status}, 200, 'hide a message of a hidden channel');
is(hidden_of($psst), 1, '... hidden');

# ---------------------------------------------------------------- mutes

my $z0 = say_on_hub('ExVenture', 'Zed', 'before the mute');

$res = $mod->get('/raisin/mutes');
like($res->{body},
     qr{<form[^>]*method="post"[^>]*action="/raisin/mutes"(?:(?!</form>).)*name="sender"(?:(?!</form>).)*</form>}s,
     'the mutes page has a form with a sender');
like($res->{body},
     qr{action="/raisin/mutes"(?:(?!</form>).)*name="duration"(?:(?!</form>).)*name="reason"|action="/raisin/mutes"(?:(?!</form>).)*name="reason"(?:(?!</form>).)*name="duration"}s,
     '... a duration and a reason');

$n = audit_count();
$res = act($mod, '/raisin/mutes', '/raisin/mutes',
           { sender => 'Zed@ExVenture', duration => '1h',
             reason => 'flooding' });
is($res->{status}, 303, 'mute Zed@ExVenture for 1h: 303');
is(Grapevine::SiteClient::location_path($res), '/raisin/mutes',
   'mute: back to the mutes');
my $mute = sql_rows(q{SELECT id, player, game, reason, lifted_at IS NULL,
                             abs(extract(epoch FROM "until"
                                         - (now() + interval '1 hour'))) < 60
                      FROM raisin_mutes ORDER BY id DESC LIMIT 1})->[0] // [];
is($mute->[1], 'Zed', 'mute: the player');
is($mute->[2], 'ExVenture', 'mute: the game');
is($mute->[3], 'flooding', 'mute: the reason');
ok($mute->[4], 'mute: not lifted');
ok($mute->[5], 'mute: until an hour from now');
my $mute_id = $mute->[0] // 0;
$row = check_audit('mute', $n, actor => 'moddy', action => 'sender.mute',
                   target => qr/\bZed\@ExVenture\b/, reason => 'flooding');
is(sql_rows(q{SELECT count(*) FROM raisin_audit a,
                     jsonb_each_text(a.details) d, raisin_mutes m
              WHERE a.id = $1 AND m.id = $2 AND d.value ~ '^\d{4}-\d\d-\d\d'
                AND abs(extract(epoch FROM d.value::timestamptz
                                           - m."until")) < 1},
            $row->{id}, $mute_id)->[0][0], 1,
   'mute: the details hold the mute\'s end');

my $z1 = say_on_hub('ExVenture', 'Zed', 'muted words');
my $a1 = say_on_hub('ExVenture', 'Amy', 'amy is not muted');
my $z2 = say_on_hub('MidMUD', 'Zed', 'the other zed is not muted');

is(hidden_of($z1), 1, 'mute: Zed\'s new message is stored, hidden');
is(sql_rows('SELECT mute_id FROM channel_messages WHERE id = ?', $z1)
   ->[0][0], $mute_id, 'mute: ... and tied to the mute');
is(hidden_of($a1), 0, 'mute: Amy of the same game is not muted');
is(hidden_of($z2), 0, 'mute: Zed of another game is not muted');
is(hidden_of($z0), 0, 'mute: Zed\'s older message stays public');

my $chat = public_chat();
unlike($chat, qr/muted words/, 'mute: the new message is not on /chat');
like($chat, qr/amy is not muted/, 'mute: Amy\'s is');
like($chat, qr/the other zed is not muted/, 'mute: the other Zed\'s is');
like($chat, qr/before the mute/, 'mute: the old one is');
my @ids = api_ids();
ok(!(grep { $_ == $z1 } @ids), 'mute: not in the API');
ok((grep { $_ == $a1 } @ids) && (grep { $_ == $z2 } @ids),
   'mute: the others are');

$m = raisin_message($mod, $z1);
ok($m && $m->{hidden} && $m->{muted}, 'mute: in Raisin, marked muted and '
                                      . 'hidden');
is($m && $m->{player}, 'Zed', 'mute: ... by Zed');
is($m && $m->{game}, 'ExVenture', 'mute: ... of ExVenture');
$m = raisin_message($mod, $z0);
ok($m && !$m->{hidden} && !$m->{muted}, 'mute: the older one is neither');
like($mod->get('/raisin/channels/gossip')->{body}, qr/muted words/,
     'mute: the HTML log shows the muted message');

$res = $mod->get_json('/raisin/mutes');
my ($mj) = grep { $_->{id} == $mute_id }
           @{ (eval { $res->{json}{mutes} }) // [] };
ok($mj, '/raisin/mutes lists the mute');
is($mj && $mj->{sender}, 'Zed@ExVenture', '... its sender');
ok($mj && $mj->{active} && !$mj->{lifted}, '... active');
is($mj && $mj->{by}, 'moddy', '... by the moderator');
is($mj && $mj->{reason}, 'flooding', '... why');
$res = $mod->get_json('/raisin/');
ok((grep { $_->{id} == $mute_id } @{ (eval { $res->{json}{mutes} }) // [] }),
   '/raisin/ lists the active mute');
like($mod->get('/raisin/mutes')->{body},
     qr{action="/raisin/mutes/$mute_id/lift"}, 'the mutes page has a lift '
                                              . 'form for it');

# lift
$n = audit_count();
$res = act($mod, '/raisin/mutes', "/raisin/mutes/$mute_id/lift",
           { reason => 'calmed down' });
is($res->{status}, 303, 'lift: 303');
is(Grapevine::SiteClient::location_path($res), '/raisin/mutes',
   'lift: back to the mutes');
ok(sql_rows('SELECT lifted_at IS NOT NULL FROM raisin_mutes WHERE id = ?',
            $mute_id)->[0][0], 'lift: the mute is lifted');
check_audit('lift', $n, actor => 'moddy', action => 'mute.lift',
            target => qr/\b$mute_id\b|Zed\@ExVenture/,
            reason => 'calmed down');
is(hidden_of($z1), 1, 'lift: the message hidden while it lasted stays '
                      . 'hidden');
my $z3 = say_on_hub('ExVenture', 'Zed', 'free to speak');
is(hidden_of($z3), 0, 'lift: Zed\'s next message is public');
like(public_chat(), qr/free to speak/, 'lift: on /chat');

$n = audit_count();
$res = act($mod, '/raisin/mutes', "/raisin/mutes/$mute_id/lift",
           { reason => 'again' });
is($res->{status}, 409, 'lift a lifted mute: 409');
is(audit_count(), $n, '... no audit row');

$res = $mod->get_json('/raisin/mutes');
($mj) = grep { $_->{id} == $mute_id } @{ (eval { $res->{json}{mutes} }) // [] };
ok($mj && !$mj->{active} && $mj->{lifted}, 'the lifted mute is listed, '
                                            . 'inactive and lifted');

# a mute that ran out: over, not lifted
$mod->raisin_csrf;
$res = $mod->post_json('/raisin/mutes', { sender => 'Amy@ExVenture',
                                          duration => '1m',
                                          reason => 'short one' });
is($res->{status}, 200, 'mute Amy for a minute (JSON)');
is(eval { $res->{json}{audit}{action} }, 'sender.mute', '... sender.mute');
my $amy_mute = sql_rows('SELECT max(id) FROM raisin_mutes')->[0][0];
$res = $mod->post_json('/raisin/mutes', { sender => 'Zed@MidMUD',
                                          duration => '2d',
                                          reason => 'another' });
is($res->{status}, 200, 'mute Zed@MidMUD for 2 days');
my $a2 = say_on_hub('ExVenture', 'Amy', 'amy while muted');
is(hidden_of($a2), 1, 'Amy\'s message during her mute is hidden');
sql(q{UPDATE raisin_mutes SET "until" = now() - interval '1 second'
      WHERE id = ?}, $amy_mute);
my $a3 = say_on_hub('ExVenture', 'Amy', 'amy after her mute');
is(hidden_of($a3), 0, 'after the mute ran out, Amy is public again');
$n = audit_count();
$res = $mod->post_json("/raisin/mutes/$amy_mute/lift", { reason => 'x' });
is($res->{status}, 409, 'lift a mute that is over: 409');
is(eval { $res->{json}{error}{code} }, 'conflict', '... conflict');
is(audit_count(), $n, '... no audit row');

$res = $mod->get_json('/raisin/mutes');
my @mutes = @{ (eval { $res->{json}{mutes} }) // [] };
my @active = map { $_->{active} ? 1 : 0 } @mutes;
is(join('', @active), '1' . ('0' x (@mutes - 1)),
   '/raisin/mutes: the active mute first, then the others');
is(scalar(@mutes), 3, '... three mutes in all');
$res = $mod->get_json('/raisin/');
is(join(',', map { $_->{sender} } @{ (eval { $res->{json}{mutes} }) // [] }),
   'Zed@MidMUD', '/raisin/ lists only the active mute');

# names in a mute match without regard to case
$mod->raisin_csrf;
$res = $mod->post_json('/raisin/mutes', { sender => 'bo@exventure',
                                          duration => '1h',
                                          reason => 'lower case' });
is($res->{status}, 200, 'mute bo@exventure');
my $bo_mute = sql_rows('SELECT max(id) FROM raisin_mutes')->[0][0];
my $b1 = say_on_hub('ExVenture', 'Bo', 'bo speaks while muted');
is(hidden_of($b1), 1, 'Bo@ExVenture is muted by a mute of bo@exventure');
$res = $mod->post_json("/raisin/mutes/$bo_mute/lift", { reason => 'done' });
is($res->{status}, 200, '... lifted');

# ---------------------------------------------------------- suspension

my $victim = $b{victim};
sub sessions_of {
    sql_rows('SELECT count(*) FROM sessions s JOIN users u ON '
             . 'u.id = s.user_id WHERE u.username = ?', $_[0])->[0][0];
}
is(sessions_of('victim'), 1, 'the victim is signed in');
like(http_get('/users/victim')->{body}, qr{<h3>Amy</h3>},
     'the victim\'s profile shows Amy');
is(http_get('/api/users/victim')->{status}, 200, 'the API knows the victim');
is(http_get('/api/characters/ExVenture/Amy')->{status}, 200,
   '... and Amy');
like(http_get('/games/ExVenture')->{body}, qr{\(victim\)},
     'the game page lists Amy of victim');

$res = $mod->get('/raisin/users/victim');
like($res->{body},
     qr{<form[^>]*method="post"[^>]*action="/raisin/users/victim/suspend"(?:(?!</form>).)*name="reason"}s,
     'the account page has a suspend form with a reason');
like($res->{body}, qr{>Amy<.*>Bo<|>Bo<.*>Amy<}s,
     'the account page lists every character, pending ones too');

$n = audit_count();
$res = act($mod, '/raisin/users/victim', '/raisin/users/victim/suspend',
           { reason => 'harassment' });
is($res->{status}, 303, 'suspend: 303');
is(Grapevine::SiteClient::location_path($res), '/raisin/users/victim',
   'suspend: back to the account');
ok(sql_rows("SELECT suspended_at IS NOT NULL FROM users WHERE username = "
            . "'victim'")->[0][0], 'suspend: suspended');
check_audit('suspend', $n, actor => 'moddy', action => 'user.suspend',
            target => qr/\bvictim\b/, reason => 'harassment');
is(sessions_of('victim'), 0, 'suspend: the victim\'s sessions end at once');

$res = $victim->get('/manage/characters');
is($res->{status}, 303, 'suspend: the victim\'s browser is signed out');
$res = (Grapevine::SiteClient->new)->sign_in('victim',
                                              'correct horse battery');
isnt($res->{status}, 303, 'suspend: signing in fails');
ok(!$res->{cookies}{_grapevine_key}, 'suspend: ... no session');
is(sessions_of('victim'), 0, 'suspend: ... none stored');
is($res->{status}, 403, 'suspend: the right password gets 403');
like($res->{body}, qr/This account is suspended/,
     'suspend: ... which says why');
$res = (Grapevine::SiteClient->new)->sign_in('victim', 'wrong password!!');
is($res->{status}, 401, 'suspend: a wrong password is just wrong');
unlike($res->{body}, qr/suspended/,
       'suspend: ... and does not tell who is suspended');
is(sessions_of('victim'), 0, 'suspend: ... still no session');

is(http_get('/users/victim')->{status}, 404, 'suspend: the profile is gone');
is(http_get('/api/users/victim')->{status}, 404,
   'suspend: the API does not know the account');
is(http_get('/api/characters/ExVenture/Amy')->{status}, 404,
   'suspend: nor its character');
unlike(http_get('/api/games/ExVenture/characters')->{body}, qr/"Amy"/,
       'suspend: the game\'s characters in the API lack it');
unlike(http_get('/games/ExVenture')->{body}, qr{\(victim\)},
       'suspend: the game page no longer lists it');

$res = $mod->get_json('/raisin/users/victim');
is($res->{status}, 200, 'Raisin still shows the suspended account');
ok(eval { $res->{json}{user}{suspended} }, '... suspended');
is(join(',', sort map { $_->{name} }
                  @{ (eval { $res->{json}{characters} }) // [] }),
   'Amy,Bo', '... with every character');
is(eval { $res->{json}{audit}[0]{action} }, 'user.suspend',
   '... and its audit rows');
$res = $mod->get_json('/raisin/users?q=victim');
my ($uj) = grep { $_->{username} eq 'victim' }
           @{ (eval { $res->{json}{users} }) // [] };
ok($uj && $uj->{suspended}, '/raisin/users marks it suspended');

$n = audit_count();
$res = $mod->post_json('/raisin/users/victim/suspend', { reason => 'x' });
is($res->{status}, 409, 'suspend a suspended account: 409');
is(audit_count(), $n, '... no audit row');

$res = act($mod, '/raisin/users/victim', '/raisin/users/victim/unsuspend',
           { reason => 'apologised' });
is($res->{status}, 303, 'unsuspend: 303');
is(Grapevine::SiteClient::location_path($res), '/raisin/users/victim',
   'unsuspend: back to the account');
check_audit('unsuspend', $n, actor => 'moddy', action => 'user.unsuspend',
            target => qr/\bvictim\b/, reason => 'apologised');
is(http_get('/users/victim')->{status}, 200, 'unsuspend: the profile is back');
is(http_get('/api/users/victim')->{status}, 200, 'unsuspend: in the API');
is(http_get('/api/characters/ExVenture/Amy')->{status}, 200,
   'unsuspend: Amy too');
is($victim->sign_in('victim', 'correct horse battery')->{status}, 303,
   'unsuspend: the victim signs in again');

$n = audit_count();
$res = $mod->post_json('/raisin/users/victim/unsuspend', { reason => 'x' });
is($res->{status}, 409, 'unsuspend an account that is not suspended: 409');
is(audit_count(), $n, '... no audit row');

# who may suspend whom
for my $case (['moddy', 'mod2', 403, 'a moderator suspends a moderator'],
              ['moddy', 'admina', 403, 'a moderator suspends an admin'],
              ['admina', 'admina', 409, 'an admin suspends themself'])
{
    my ($who, $whom, $code, $label) = @$case;
    $n = audit_count();
    $b{$who}->raisin_csrf;
    $res = $b{$who}->post_json("/raisin/users/$whom/suspend",
                               { reason => 'x' });
    is($res->{status}, $code, "$label: $code");
    is(eval { $res->{json}{error}{code} },
       $code == 403 ? 'forbidden' : 'conflict', "$label: the error code");
    ok(!sql_rows('SELECT suspended_at IS NOT NULL FROM users WHERE '
                 . 'username = ?', $whom)->[0][0], "$label: not suspended");
    is(audit_count(), $n, "$label: no audit row");
}
{
    $n = audit_count();
    $res = $mod->post_json('/raisin/users/moddy/suspend', { reason => 'x' });
    ok($res->{status} == 409 || $res->{status} == 403,
       'a moderator suspends themself: refused (409, or 403 as a '
       . 'moderator)') or diag("status $res->{status}");
    is(sessions_of('moddy') > 0 ? 1 : 0, 1, '... still signed in');
    is(audit_count(), $n, '... no audit row');
}

$n = audit_count();
$adm->raisin_csrf;
$res = $adm->post_json('/raisin/users/mod2/suspend', { reason => 'rogue' });
is($res->{status}, 200, 'an admin suspends a moderator');
check_audit('admin suspends', $n, actor => 'admina', action => 'user.suspend',
            target => qr/\bmod2\b/, reason => 'rogue');
is($b{mod2}->get('/raisin/')->{status}, 303,
   '... who is signed out of Raisin');
$n = audit_count();
$mod->raisin_csrf;
$res = $mod->post_json('/raisin/users/mod2/unsuspend', { reason => 'mate' });
is($res->{status}, 403, 'a moderator cannot restore a moderator: 403');
ok(sql_rows("SELECT suspended_at IS NOT NULL FROM users WHERE username = "
            . "'mod2'")->[0][0], '... still suspended');
is(audit_count(), $n, '... no audit row');
$res = $adm->post_json('/raisin/users/mod2/unsuspend', { reason => 'ok' });
is($res->{status}, 200, 'the admin restores them');
is($b{mod2}->sign_in('mod2', 'correct horse battery')->{status}, 303,
   '... and they sign in again');
is($b{mod2}->get('/raisin/')->{status}, 200, '... into Raisin');

# --------------------------------------------------------------- roles

$n = audit_count();
$res = act($adm, '/raisin/users/victim', '/raisin/users/victim/role',
           { role => 'moderator', reason => 'trusted' });
is($res->{status}, 303, 'an admin makes victim a moderator: 303');
is(Grapevine::SiteClient::location_path($res), '/raisin/users/victim',
   '... back to the account');
is(sql_rows("SELECT role FROM users WHERE username = 'victim'")->[0][0],
   'moderator', '... the role changed');
check_audit('role', $n, actor => 'admina', action => 'user.role',
            target => qr/\bvictim\b/, reason => 'trusted',
            details => [qr/"user"/, qr/"moderator"/]);
is($victim->get('/raisin/')->{status}, 200,
   'the new moderator opens Raisin at once');
like($victim->get('/')->{body}, qr{href="/raisin/"},
     '... and has the link');

$res = $adm->post_json('/raisin/users/victim/role',
                       { role => 'admin', reason => 'very trusted' });
is($res->{status}, 200, 'an admin makes victim an admin');
like(json_encode(eval { $res->{json}{audit}{details} } // {}),
     qr/"moderator".*"admin"|"admin".*"moderator"/,
     '... the details name the old and new roles');

$n = audit_count();
$res = $adm->post_json('/raisin/users/admina/role',
                       { role => 'user', reason => 'retire' });
is($res->{status}, 409, 'an admin cannot change their own role: 409');
is(eval { $res->{json}{error}{code} }, 'conflict', '... conflict');
is(sql_rows("SELECT role FROM users WHERE username = 'admina'")->[0][0],
   'admin', '... still an admin');
is(audit_count(), $n, '... no audit row');

$res = $adm->post_json('/raisin/users/victim/role',
                       { role => 'superuser', reason => 'x' });
is($res->{status}, 422, 'an unknown role: 422');
ok(eval { $res->{json}{error}{fields}{role} }, '... named next to the field');
$res = $adm->post_json('/raisin/users/victim/role', { reason => 'x' });
is($res->{status}, 422, 'no role: 422');
is(audit_count(), $n, '... no audit row');

$mod->raisin_csrf;
$res = $mod->post_json('/raisin/users/plain/role',
                       { role => 'moderator', reason => 'x' });
is($res->{status}, 403, 'a moderator cannot change a role: 403');
is(audit_count(), $n, '... no audit row');

$res = $adm->post_json('/raisin/users/victim/role',
                       { role => 'user', reason => 'enough' });
is($res->{status}, 200, 'the admin demotes the other admin');
is($victim->get('/raisin/')->{status}, 403,
   'a moderator made a user again: 403 at once');
$res = $adm->post_json('/raisin/users/victim/role',
                       { role => 'user', reason => 'same' });
ok($res->{status} == 409 || $res->{status} == 200,
   'setting the same role again: a conflict or a no-op');

# ---------------------------------------------------- remove a character

my $amy = sql_rows("SELECT id FROM characters WHERE name = 'Amy'")->[0][0];
my $bo = sql_rows("SELECT id FROM characters WHERE name = 'Bo'")->[0][0];
like($mod->get('/raisin/users/victim')->{body},
     qr{action="/raisin/characters/$amy/remove"},
     'the account page has a remove form for each character');

$n = audit_count();
$res = act($mod, '/raisin/users/victim', "/raisin/characters/$amy/remove",
           { reason => 'impersonation' });
is($res->{status}, 303, 'remove a character: 303');
is(Grapevine::SiteClient::location_path($res), '/raisin/users/victim',
   'remove: back to the account');
is(sql_rows('SELECT count(*) FROM characters WHERE id = ?', $amy)->[0][0], 0,
   'remove: the registration is gone');
check_audit('remove', $n, actor => 'moddy', action => 'character.remove',
            target => qr/Amy/, reason => 'impersonation',
            details => [qr/Amy/, qr/ExVenture/]);
unlike(http_get('/users/victim')->{body}, qr{<h3>Amy</h3>},
       'remove: gone from the profile');
is(http_get('/api/characters/ExVenture/Amy')->{status}, 404,
   'remove: gone from the API');
unlike(http_get('/games/ExVenture')->{body}, qr{\(victim\)},
       'remove: gone from the game page');
$res = $mod->get_json('/raisin/users/victim');
is(join(',', map { $_->{name} } @{ (eval { $res->{json}{characters} }) // [] }),
   'Bo', 'remove: Raisin lists the rest');
is(eval { $res->{json}{audit}[0]{action} }, 'character.remove',
   'remove: the account\'s audit rows have it');

$n = audit_count();
$res = $mod->post_json("/raisin/characters/$amy/remove", { reason => 'x' });
is($res->{status}, 404, 'remove it again: 404');
is(audit_count(), $n, '... no audit row');

$res = $mod->post_json("/raisin/characters/$bo/remove", { reason => 'pend' });
is($res->{status}, 200, 'a pending character can be removed');

# the name can be registered again
my $key = sql_rows("SELECT registration_key FROM users WHERE username = "
                   . "'plain'")->[0][0];
my (undef, $st) = hub_api(POST => '/tell', {
    from_game => 'ExVenture', from_name => 'Amy', to_game => 'Grapevine',
    to_name => 'system', message => "register $key" });
is($st, 200, 'Amy tells system@Grapevine to register for plain');
ok(wait_until(sub {
       sql_rows("SELECT count(*) FROM characters c JOIN users u ON "
                . "u.id = c.user_id WHERE c.name = 'Amy' AND u.username = "
                . "'plain'")->[0][0]
   }, 10, 0.1), 'the removed name is registered again');

# ------------------------------------------------ one transaction for both

# the audit row cannot be written: the effect does not happen either
sql(<<'SQL');
CREATE FUNCTION t_no_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit refused by the test';
END $$;
CREATE TRIGGER t_no_audit BEFORE INSERT ON raisin_audit
    FOR EACH ROW EXECUTE FUNCTION t_no_audit();
SQL

my $probe = say_on_hub('ExVenture', 'Bo', 'the probe');
is(hidden_of($probe), 0, 'the probe is public');
my $mutes = sql_rows('SELECT count(*) FROM raisin_mutes')->[0][0];
my $chars = sql_rows('SELECT count(*) FROM characters')->[0][0];
$n = audit_count();
$mod->raisin_csrf;
$res = $mod->post_json("/raisin/messages/$probe/hide", { reason => 'x' });
cmp_ok($res->{status}, '>=', 500, 'hide while the audit row fails: an error');
is(hidden_of($probe), 0, '... and the message is not hidden');
$res = $mod->post_json('/raisin/mutes', { sender => 'Bo@ExVenture',
                                          duration => '1h', reason => 'x' });
cmp_ok($res->{status}, '>=', 500, 'mute while the audit row fails: an error');
is(sql_rows('SELECT count(*) FROM raisin_mutes')->[0][0], $mutes,
   '... and no mute');
$res = $mod->post_json('/raisin/users/plain/suspend', { reason => 'x' });
cmp_ok($res->{status}, '>=', 500, 'suspend while the audit row fails: an '
                                  . 'error');
ok(!sql_rows("SELECT suspended_at IS NOT NULL FROM users WHERE username = "
             . "'plain'")->[0][0], '... not suspended');
is(sessions_of('plain'), 1, '... still signed in');
my $pc = sql_rows("SELECT max(id) FROM characters")->[0][0];
$res = $mod->post_json("/raisin/characters/$pc/remove", { reason => 'x' });
cmp_ok($res->{status}, '>=', 500, 'remove while the audit row fails: an '
                                  . 'error');
is(sql_rows('SELECT count(*) FROM characters')->[0][0], $chars,
   '... still there');
$adm->raisin_csrf;
$res = $adm->post_json('/raisin/users/plain/role',
                       { role => 'moderator', reason => 'x' });
cmp_ok($res->{status}, '>=', 500, 'a role change while the audit row fails: '
                                  . 'an error');
is(sql_rows("SELECT role FROM users WHERE username = 'plain'")->[0][0],
   'user', '... the role did not change');
is(audit_count(), $n, 'no audit row');
sql('DROP TRIGGER t_no_audit ON raisin_audit');

# the effect cannot be written: no audit row either
sql(<<'SQL');
CREATE FUNCTION t_no_hide() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hiding refused by the test';
END $$;
CREATE TRIGGER t_no_hide BEFORE UPDATE ON channel_messages
    FOR EACH ROW EXECUTE FUNCTION t_no_hide();
CREATE TRIGGER t_no_suspend BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION t_no_hide();
SQL
$n = audit_count();
$res = $mod->post_json("/raisin/messages/$probe/hide", { reason => 'x' });
cmp_ok($res->{status}, '>=', 500, 'hide while the update fails: an error');
$res = $mod->post_json('/raisin/users/plain/suspend', { reason => 'x' });
cmp_ok($res->{status}, '>=', 500, 'suspend while the update fails: an error');
is(audit_count(), $n, '... no audit row without its effect');
is(sessions_of('plain'), 1, '... and the sessions stay');
sql('DROP TRIGGER t_no_hide ON channel_messages');
sql('DROP TRIGGER t_no_suspend ON users');

$res = $mod->post_json("/raisin/messages/$probe/hide", { reason => 'now' });
is($res->{status}, 200, 'with the database well again, hide works');

# ------------------------------------------------------ util/make-admin

{
    my $tool = root() . '/util/make-admin';
    my $ci = conninfo();
    $n = audit_count();
    my $err = servroot() . '/make-admin.err';
    my $out = `'$tool' '$ci' plain 2>'$err'`;
    is($? >> 8, 0, 'util/make-admin plain: exit 0')
        or diag($out, `cat '$err'`);
    is(sql_rows("SELECT role FROM users WHERE username = 'plain'")->[0][0],
       'admin', '... plain is an admin');
    check_audit('make-admin', $n, actor => 'command line',
                action => 'user.role', target => qr/\bplain\b/,
                details => [qr/"user"/, qr/"admin"/]);
    is($b{plain}->get('/raisin/')->{status}, 200, '... and opens Raisin');

    $n = audit_count();
    my $roles = json_encode(sql_rows('SELECT username, role FROM users '
                                     . 'ORDER BY id'));
    $out = `'$tool' '$ci' nobody-here 2>'$err'`;
    isnt($? >> 8, 0, 'util/make-admin of an unknown user: an error');
    my $stderr = do { local (@ARGV, $/) = ($err); <> } // '';
    like($stderr, qr/nobody-here/, '... which names the user on stderr');
    is(audit_count(), $n, '... no audit row');
    is(json_encode(sql_rows('SELECT username, role FROM users ORDER BY id')),
       $roles, '... no role changed');
}

# ------------------------------------------------------- every row, once

is(sql_rows(q{SELECT count(*) FROM raisin_audit
              WHERE actor IS NULL OR action IS NULL OR target IS NULL
                 OR at IS NULL})->[0][0], 0,
   'every audit row says who, what, on what and when');
is(sql_rows(q{SELECT string_agg(DISTINCT action, ',' ORDER BY action)
              FROM raisin_audit})->[0][0],
   'character.remove,message.hide,message.unhide,mute.lift,sender.mute,'
   . 'user.role,user.suspend,user.unsuspend', 'every kind of action');

Grapevine::Test::cleanup();
done_testing();
