# Raisin's permissions: every route, for a signed-out browser (HTML: to the
# sign-in page and back; JSON: 401), a player (403 on every path), a
# moderator and an admin (200; actions answer 303, or 200 with the audit
# row in JSON); only admins change roles; wrong methods get 405, unknown
# paths 404; an action without the session's CSRF token (none, a forged
# one, the anonymous cookie's, another session's) gets 403 and changes
# nothing, not even the audit log.  Only moderators and admins see the
# "Raisin" link in the site's header.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Grapevine::Raisin;

# a module built without Raisin (make GRAPEVINE_PARTS=…) has none to test
plan(skip_all => 'Raisin is not built') unless part_built('raisin');

my $conf = <<'CONF';
location / { grapevine_site; }
location /api/ { grapevine_api; }
location /raisin/ { raisin; }
CONF

start_nginx(http_config => Grapevine::Test::expand_vars(
                'grapevine_database "$TEST_NGINX_DB_CONNINFO";' . "\n"
                . 'grapevine_password_hash ops=1 memory=8m;'),
            config => $conf);

# ----------------------------------------------------------- fixtures

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, online)
VALUES (1, 'ExVenture', 'ExVenture', true), (2, 'MidMUD', 'MidMUD', true);

INSERT INTO channels (remote_id, name, description, hidden)
VALUES (1, 'gossip', 'General chat', false), (2, 'secret', 'staff', true);

INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message, inserted_at)
SELECT i, CASE WHEN i = 20 THEN 2 ELSE 1 END,
       CASE WHEN i = 20 THEN 'secret' ELSE 'gossip' END,
       'ExVenture', 'Zed', 'message ' || i,
       now() - interval '1 hour' + i * interval '1 second'
FROM generate_series(1, 20) AS i;
SELECT setval('channel_messages_id_seq', 100);
SQL

my %b = browsers_with_roles(user => [qw(plain victim)],
                            moderator => ['moddy'], admin => ['admina']);

sql(<<'SQL');
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, n, 'approved'
FROM users u, games g, unnest(ARRAY['Ca', 'Cb', 'Cc', 'Cd', 'Ce']) AS n
WHERE u.username = 'victim' AND g.short_name = 'ExVenture';
SQL

sub char_id {
    sql_rows('SELECT id FROM characters WHERE name = ?', $_[0])->[0][0];
}

my $res;

# an active mute to try to lift: made by the admin, in JSON
ok($b{admina}->raisin_csrf, 'the admin gets a CSRF token from GET /raisin/');
$res = $b{admina}->post_json('/raisin/mutes',
    { sender => 'Nobody@ExVenture', duration => '2h', reason => 'setup' });
is($res->{status}, 200, 'the admin mutes Nobody@ExVenture (JSON)')
    or diag($res->{body});
my $mute0 = sql_rows("SELECT max(id) FROM raisin_mutes")->[0][0];
ok($mute0, 'the mute is stored');
is(audit_count(), 1, 'with its audit row');

my @pages = ('/raisin/', '/raisin/channels/gossip', '/raisin/channels/secret',
             '/raisin/mutes', '/raisin/users', '/raisin/users/victim',
             '/raisin/audit', '/raisin/channels/gossip?q=message&before=10',
             '/raisin/users?q=vic', '/raisin/audit?action=sender.mute');

my $ca = char_id('Ca');
my @actions = (
    ['/raisin/messages/1/hide', { reason => 'r' }],
    ['/raisin/messages/2/unhide', { reason => 'r' }],
    ['/raisin/mutes', { sender => 'Zed@ExVenture', duration => '1h',
                        reason => 'r' }],
    ["/raisin/mutes/$mute0/lift", { reason => 'r' }],
    ['/raisin/users/victim/suspend', { reason => 'r' }],
    ['/raisin/users/victim/unsuspend', { reason => 'r' }],
    ['/raisin/users/victim/role', { role => 'admin', reason => 'r' }],
    ["/raisin/characters/$ca/remove", { reason => 'r' }],
);
sql('UPDATE channel_messages SET hidden = true WHERE id = 2');

sub percent { Grapevine::SiteClient::urlencode($_[0]) }

# ----------------------------------------------------------- signed out

my $before = raisin_state();
{
    my $anon = Grapevine::SiteClient->new;
    $anon->get('/sign-in');     # a browser with an anonymous CSRF token
    ok($anon->csrf, 'a signed-out browser has an anonymous CSRF token');

    for my $path (@pages, '/raisin/nope', '/raisin/messages/1') {
        $res = $anon->get($path);
        is($res->{status}, 303, "signed out, GET $path: 303");
        my ($bare, $query) = split /\?/, $path, 2;
        my $want = '/sign-in?next=' . percent($bare);
        if (defined $query) {
            # the query may come along, or not
            like(Grapevine::SiteClient::location_path($res) // '',
                 qr{^\Q$want\E(?:$|%3F)}, "signed out, GET $path: to $want");
        } else {
            is(Grapevine::SiteClient::location_path($res), $want,
               "signed out, GET $path: to $want");
        }

        $res = $anon->get_json($path);
        json_error_is($res, 401, 'unauthorized',
                      "signed out, GET $path as JSON");
        ok(!$res->{headers}{location}, "signed out, GET $path as JSON: "
                                        . 'no redirect');
    }

    for my $a (@actions) {
        my ($path, $form) = @$a;
        $res = $anon->post($path, $form);
        ok($res->{status} == 403
           || ($res->{status} == 303
               && (Grapevine::SiteClient::location_path($res) // '')
                  =~ m{^/sign-in\b}),
           "signed out, POST $path: refused (403, or to the sign-in page)")
            or diag("status $res->{status} "
                    . ($res->{headers}{location} // ''));

        $res = $anon->post_json($path, $form, csrf => $anon->csrf);
        json_error_is($res, 401, 'unauthorized',
                      "signed out, POST $path as JSON");
    }

}
is(raisin_state(), $before, 'nothing changed by signed-out requests');

# and back after signing in
{
    my $anon = Grapevine::SiteClient->new;
    $res = $anon->get('/raisin/channels/gossip');
    my $next = Grapevine::SiteClient::location_path($res);
    $res = $anon->get($next);
    is($res->{status}, 200, 'the sign-in page of the redirect');
    like($res->{body},
         qr{<input type="hidden" name="next" value="/raisin/channels/gossip">},
         '... remembers the Raisin page');
    $res = $anon->post('/sign-in', { login => 'moddy',
                                     password => 'correct horse battery',
                                     next => '/raisin/channels/gossip' });
    is($res->{status}, 303, 'the moderator signs in from there');
    is(Grapevine::SiteClient::location_path($res), '/raisin/channels/gossip',
       '... and comes back to the Raisin page');
    is($anon->get('/raisin/channels/gossip')->{status}, 200,
       '... which now opens');
    $anon->post('/sign-out', {});
}
$before = raisin_state();

# -------------------------------------------------------------- a player

{
    my $p = $b{plain};
    $p->get('/manage/settings');
    my $token = $p->csrf;
    ok($token, 'the player has a session CSRF token');

    for my $path (@pages, '/raisin/nope', '/raisin/channels/nosuch',
                  '/raisin/users/nobody')
    {
        $res = $p->get($path);
        is($res->{status}, 403, "a player, GET $path: 403");
        like($res->{body}, qr{<header class="top">},
             "a player, GET $path: the site's page");
        unlike($res->{body}, qr{message 1\b|victim\@example}, "a player, "
               . "GET $path: no moderation data");

        $res = $p->get_json($path);
        json_error_is($res, 403, 'forbidden', "a player, GET $path as JSON");
        ok(!exists(($res->{json} // {})->{csrf}),
           "a player, GET $path as JSON: no token");
    }

    for my $a (@actions) {
        my ($path, $form) = @$a;
        $res = $p->post($path, { %$form, _csrf => $token });
        is($res->{status}, 403, "a player, POST $path with a good token: 403");

        $res = $p->post_json($path, $form, csrf => $token);
        json_error_is($res, 403, 'forbidden', "a player, POST $path as JSON");
    }
}
is(raisin_state(), $before, 'nothing changed by a player');

# ----------------------------------------------------- the header's link

like($b{moddy}->get('/')->{body}, qr{<a href="/raisin/"[^>]*>Raisin</a>},
     'a moderator has a Raisin link in the header');
like($b{admina}->get('/games')->{body}, qr{<a href="/raisin/"[^>]*>Raisin</a>},
     'an admin too');
unlike($b{plain}->get('/')->{body}, qr{/raisin/|>Raisin<},
       'a player has none');
unlike(http_get('/')->{body}, qr{/raisin/|>Raisin<},
       'a visitor has none');

# ------------------------------------------------- moderators and admins

sub check_pages {
    my ($who) = @_;
    my $c = $b{$who};
    for my $path (@pages) {
        $res = $c->get($path);
        is($res->{status}, 200, "$who, GET $path: 200");
        like($res->{headers}{'content-type'} // '', qr{^text/html},
             "$who, GET $path: HTML");
        like($res->{body}, qr{<header class="top">},
             "$who, GET $path: in the site's style");
        is($res->{headers}{'cache-control'}, 'no-store',
           "$who, GET $path: not stored (personal)");
        is($res->{headers}{'x-frame-options'}, 'DENY',
           "$who, GET $path: not framed");

        $res = $c->get_json($path);
        is($res->{status}, 200, "$who, GET $path as JSON: 200");
        like($res->{headers}{'content-type'} // '', qr{^application/json},
             "$who, GET $path as JSON: JSON");
        is(ref $res->{json}, 'HASH', "$who, GET $path as JSON: an object")
            or diag(substr($res->{body} // '', 0, 500));
        is($res->{headers}{'cache-control'}, 'no-store',
           "$who, GET $path as JSON: not stored");
    }

    $res = $c->get_json('/raisin/');
    is(eval { $res->{json}{me}{username} }, $who,
       "$who: /raisin/ says who is signed in");
    like(eval { $res->{json}{csrf} } // '', qr/^[0-9a-f]{64}$/,
         "$who: /raisin/ gives the CSRF token");
    is($res->{json}{csrf},
       sql_rows('SELECT csrf_token FROM sessions WHERE token_hash = '
                . "sha256(decode(?, 'hex'))", $c->cookie('_grapevine_key'))
           ->[0][0],
       "$who: the session's own token");

    # the secret channel is there and its message too
    $res = $c->get_json('/raisin/channels/secret');
    ok((grep { $_->{text} eq 'message 20' }
        @{ (eval { $res->{json}{messages} }) // [] }),
       "$who: a hidden channel's log");
}

check_pages('moddy');
check_pages('admina');

# Every action, for one identity, in HTML (303 back to its page) or JSON
# (200 {"ok": true, "audit": {...}}); returns the number of actions done.
sub run_actions {
    my ($who, $json, $msg, $char) = @_;
    my $c = $b{$who};
    my $kind = $json ? 'JSON' : 'HTML';
    my $n = 0;

    my $act = sub {
        my ($path, $form, $page, $action) = @_;
        my $count = audit_count();
        if ($json) {
            $c->raisin_csrf;
            $res = $c->post_json($path, $form);
            is($res->{status}, 200, "$who, POST $path ($kind): 200")
                or diag($res->{body});
            is(eval { $res->{json}{ok} } ? 1 : 0, 1,
               "$who, POST $path ($kind): ok");
            is(eval { $res->{json}{audit}{action} }, $action,
               "$who, POST $path ($kind): its audit entry");
            is(eval { $res->{json}{audit}{actor} }, $who,
               "$who, POST $path ($kind): by $who");
        } else {
            $c->get($page);
            $res = $c->post($path, $form,
                            headers => "Referer: http://localhost$page\n");
            is($res->{status}, 303, "$who, POST $path ($kind): 303")
                or diag(substr($res->{body} // '', 0, 1000));
            is(Grapevine::SiteClient::location_path($res), $page,
               "$who, POST $path ($kind): back to $page");
        }
        is(audit_count(), $count + 1,
           "$who, POST $path ($kind): one audit row");
        is(sql_rows('SELECT action, actor FROM raisin_audit ORDER BY id '
                    . 'DESC LIMIT 1')->[0][0] // '', $action,
           "$who, POST $path ($kind): the row is $action");
        $n++;
    };

    $act->("/raisin/messages/$msg/hide", { reason => "spam ($kind)" },
           '/raisin/channels/gossip', 'message.hide');
    $act->("/raisin/messages/$msg/unhide", { reason => "ok ($kind)" },
           '/raisin/channels/gossip', 'message.unhide');
    $act->('/raisin/mutes', { sender => 'Zed@ExVenture', duration => '1h',
                              reason => "loud ($kind)" },
           '/raisin/mutes', 'sender.mute');
    my $m = sql_rows('SELECT max(id) FROM raisin_mutes')->[0][0];
    $act->("/raisin/mutes/$m/lift", { reason => "quiet ($kind)" },
           '/raisin/mutes', 'mute.lift');
    $act->('/raisin/users/victim/suspend', { reason => "bad ($kind)" },
           '/raisin/users/victim', 'user.suspend');
    $act->('/raisin/users/victim/unsuspend', { reason => "good ($kind)" },
           '/raisin/users/victim', 'user.unsuspend');
    $act->("/raisin/characters/$char/remove", { reason => "gone ($kind)" },
           '/raisin/users/victim', 'character.remove');
    return $n;
}

run_actions('moddy', 0, 3, char_id('Cb'));
run_actions('moddy', 1, 4, char_id('Cc'));
run_actions('admina', 0, 5, char_id('Cd'));
run_actions('admina', 1, 6, char_id('Ce'));

# roles: admins only
{
    my $n = audit_count();
    $b{moddy}->get('/raisin/users/victim');
    $res = $b{moddy}->post('/raisin/users/victim/role',
                           { role => 'moderator', reason => 'promote' });
    is($res->{status}, 403, 'a moderator cannot change a role (HTML): 403');
    $b{moddy}->raisin_csrf;
    $res = $b{moddy}->post_json('/raisin/users/victim/role',
                                { role => 'moderator', reason => 'promote' });
    json_error_is($res, 403, 'forbidden',
                  'a moderator cannot change a role (JSON)');
    is(sql_rows("SELECT role FROM users WHERE username = 'victim'")->[0][0],
       'user', '... the role did not change');
    is(audit_count(), $n, '... and nothing was written to the audit log');

    $b{admina}->get('/raisin/users/victim');
    $res = $b{admina}->post('/raisin/users/victim/role',
                            { role => 'moderator', reason => 'promote' },
                            headers => "Referer: http://localhost"
                                       . "/raisin/users/victim\n");
    is($res->{status}, 303, 'an admin changes a role (HTML): 303');
    is(Grapevine::SiteClient::location_path($res), '/raisin/users/victim',
       '... back to the account');
    is(sql_rows("SELECT role FROM users WHERE username = 'victim'")->[0][0],
       'moderator', '... the role changed');
    $b{admina}->raisin_csrf;
    $res = $b{admina}->post_json('/raisin/users/victim/role',
                                 { role => 'user', reason => 'demote' });
    is($res->{status}, 200, 'an admin changes a role (JSON): 200');
    is(eval { $res->{json}{audit}{action} }, 'user.role', '... user.role');
    is(sql_rows("SELECT role FROM users WHERE username = 'victim'")->[0][0],
       'user', '... back to user');
    is(audit_count(), $n + 2, 'two audit rows');
}

# ---------------------------------------------------------- methods, 404

{
    my $c = $b{moddy};
    my $token = $c->raisin_csrf;

    for my $a (@actions) {
        my ($path) = @$a;
        next if $path eq '/raisin/mutes';       # a page too
        $res = $c->get($path);
        is($res->{status}, 405, "GET $path: 405");
        like($res->{headers}{allow} // '', qr/\bPOST\b/, "GET $path: Allow POST");
        unlike($res->{headers}{allow} // '', qr/\bGET\b/,
               "GET $path: GET not allowed");
        $res = $c->get_json($path);
        json_error_is($res, 405, 'method_not_allowed', "GET $path as JSON");
    }

    for my $case (['POST', '/raisin/'], ['POST', '/raisin/channels/gossip'],
                  ['POST', '/raisin/users'], ['POST', '/raisin/users/victim'],
                  ['POST', '/raisin/audit'], ['PUT', '/raisin/mutes'],
                  ['DELETE', '/raisin/audit'], ['DELETE', '/raisin/mutes'],
                  ['PUT', '/raisin/'], ['PATCH', '/raisin/users/victim'])
    {
        my ($method, $path) = @$case;
        my $before = raisin_state();
        $res = $c->request($method => $path, body => '{"reason":"x"}',
                           headers => "X-CSRF-Token: $token\n"
                                      . "Content-Type: application/json\n"
                                      . "Accept: application/json\n");
        is($res->{status}, 405, "$method $path: 405");
        ok(length($res->{headers}{allow} // ''), "$method $path: an Allow "
                                                  . 'header');
        unlike($res->{headers}{allow} // '', qr/\b\Q$method\E\b/,
               "$method $path: which does not name $method");
        is(raisin_state(), $before, "$method $path: nothing changed");
    }
    like($c->request(POST => '/raisin/', body => '_csrf=' . $c->raisin_csrf,
                     headers => "Content-Type: application/x-www-form-urlencoded\n")
         ->{headers}{allow} // '', qr/\bGET\b/, 'POST /raisin/: Allow GET');
    like($c->request(PUT => '/raisin/mutes')->{headers}{allow} // '',
         qr/^(?=.*\bGET\b)(?=.*\bPOST\b)/, 'PUT /raisin/mutes: Allow GET and '
                                           . 'POST');

    for my $path ('/raisin/nope', '/raisin/channels/nosuch',
                  '/raisin/users/nobody', '/raisin/messages/1',
                  '/raisin/messages', '/raisin/mutes/1',
                  '/raisin/audit/1', '/raisin/characters/1',
                  '/raisin/channels/', '/raisin/users/victim/extra',
                  '/raisin/channels/gossip/more',
                  '/raisin/audit/1/edit')
    {
        $res = $c->get($path);
        is($res->{status}, 404, "GET $path: 404");
        like($res->{body}, qr{<h1>Page not found</h1>},
             "GET $path: the site's 404 page");
        $res = $c->get_json($path);
        json_error_is($res, 404, 'not_found', "GET $path as JSON");
    }

    for my $path ('/raisin/messages/1/delete', '/raisin/messages/1/edit',
                  '/raisin/audit/1/delete', '/raisin/users/victim/delete',
                  '/raisin/characters/1/approve', '/raisin/nope')
    {
        my $before = raisin_state();
        $res = $c->post_json($path, { reason => 'x' });
        json_error_is($res, 404, 'not_found', "POST $path");
        is(raisin_state(), $before, "POST $path: nothing changed");
    }
}

# ----------------------------------------------------------------- CSRF

{
    my $mod = $b{moddy};
    my $other = $b{admina};
    my $token_other = $other->raisin_csrf;

    # the same moderator in another browser: another session, another token
    my $second = Grapevine::SiteClient->new;
    is($second->sign_in('moddy', 'correct horse battery')->{status}, 303,
       'the moderator signs in on a second browser');
    my $token_second = $second->raisin_csrf;
    my $token = $mod->raisin_csrf;
    ok($token && $token_second && $token ne $token_second,
       'each session has its own token');

    my $anon_token = $mod->cookie('_grapevine_csrf');
    like($anon_token // '', qr/^[0-9a-f]{64}$/,
         'the moderator\'s browser also holds an anonymous CSRF token');

    my $before = raisin_state();
    my @forged = (['no token', undef], ['a forged token', 'f' x 64],
                  ['an empty token', ''], ['another account\'s token',
                                           $token_other],
                  ['the same account\'s other session\'s token',
                   $token_second],
                  ['a token of another length', substr($token, 0, 32)]);
    push @forged, ['the anonymous cookie\'s token', $anon_token];

    for my $f (@forged) {
        my ($what, $t) = @$f;
        for my $a (@actions) {
            my ($path, $form) = @$a;
            $mod->get('/raisin/');
            $res = $mod->post($path, { %$form, _csrf => $t });
            is($res->{status}, 403, "POST $path with $what: 403");
            like($res->{body}, qr{<header class="top">},
                 "POST $path with $what: the site's page");

            $res = $mod->post_json($path, $form, csrf => $t);
            json_error_is($res, 403, 'forbidden',
                          "POST $path as JSON with $what");

            $res = $mod->post_form_json($path, { %$form, _csrf => $t });
            is($res->{status}, 403, "POST $path as a form asking JSON with "
                                    . "$what: 403");
        }
    }

    # a token in the query string is not a token
    $res = $mod->post_json('/raisin/messages/7/hide?_csrf=' . $token,
                           { reason => 'x' }, csrf => undef);
    is($res->{status}, 403, 'a token in the query string does not count');

    is(raisin_state(), $before, 'no forged request changed anything, nor wrote an '
                         . 'audit row');

    # the right token still works
    $res = $second->post_json('/raisin/messages/7/hide', { reason => 'ok' });
    is($res->{status}, 200, 'the second session, with its own token: 200');
    is(sql_rows('SELECT hidden FROM channel_messages WHERE id = 7')->[0][0],
       1, '... and the message is hidden');

    # a signed-out session's token is worthless
    $second->post('/sign-out', { _csrf => $token_second });
    $res = $second->post_json('/raisin/messages/7/unhide', { reason => 'x' },
                              csrf => $token_second);
    is($res->{status}, 401, 'after signing out, the old token: 401');
    is(sql_rows('SELECT hidden FROM channel_messages WHERE id = 7')->[0][0],
       1, '... nothing changed');
}

# a moderator demoted to user loses access at once
{
    sql("UPDATE users SET role = 'user' WHERE username = 'moddy'");
    is($b{moddy}->get('/raisin/')->{status}, 403,
       'a moderator made a user: 403 at once');
    my $n = audit_count();
    $res = $b{moddy}->post_json('/raisin/messages/8/hide', { reason => 'x' });
    is($res->{status}, 403, '... and their actions too');
    is(audit_count(), $n, '... nothing written');
    sql("UPDATE users SET role = 'moderator' WHERE username = 'moddy'");
}

Grapevine::Test::cleanup();
done_testing();
