# Raisin's JSON interface and hostile input: the shape of every page's JSON,
# actions with JSON bodies and X-CSRF-Token (or _csrf), errors as
# {"error": {"code", "message"}} (422 names the field); searches with
# LIKE and regex metacharacters, quotes, backslashes and SQL; invalid
# UTF-8; long queries; reasons too long or empty; unknown ids; bad
# durations and senders; keyset paging that returns each row once; the
# audit log that nobody edits.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Grapevine::Raisin;
use JSON::PP ();

# a module built without Raisin (make GRAPEVINE_PARTS=…) has none to test
plan(skip_all => 'Raisin is not built') unless part_built('raisin');

start_nginx(http_config => Grapevine::Test::expand_vars(
                'grapevine_database "$TEST_NGINX_DB_CONNINFO";' . "\n"
                . 'grapevine_password_hash ops=1 memory=8m;'),
            config => <<'CONF');
location / { grapevine_site; }
location /api/ { grapevine_api; }
location /raisin/ { raisin; }
CONF

# ------------------------------------------------------------- fixtures

my @special = (
    [s_pct   => 'a 100% sure thing'],
    [s_und   => 'snake_case here'],
    [s_und2  => 'snakeXcase is not it'],
    [s_q1    => q{it's "quoted"}],
    [s_bs    => 'C:\\path\\file'],
    [s_sql   => q{x'); DROP TABLE users; --}],
    [s_hi1   => 'Hello World'],
    [s_hi2   => 'well, hello again'],
    [s_100   => 'a hundred: 100 percent'],
    [s_dot   => 'nothing special'],
    [s_xss   => '<script>alert(1)</script> & more'],
);

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, online)
VALUES (1, 'ExVenture', 'ExVenture', true),
       (2, 'ExVenture2', 'ExVenture Two', true),
       (3, 'MidMUD', 'MidMUD', true);

INSERT INTO channels (remote_id, name, description, hidden)
VALUES (1, 'gossip', 'General chat', false), (2, 'secret', 'staff', true),
       (3, 'quiet', NULL, false);

INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message, hidden, inserted_at)
SELECT 1, 'gossip',
       CASE WHEN i % 10 = 0 THEN 'MidMUD' ELSE 'ExVenture' END,
       CASE WHEN i % 2 = 0 THEN 'Zed' ELSE 'Amy' END,
       'line ' || i, i % 7 = 0,
       now() - interval '1 day' + i * interval '1 second'
FROM generate_series(1, 130) AS i;

INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
VALUES (1, 'gossip', 'ExVenture', 'Zedd', 'from zedd'),
       (1, 'gossip', 'ExVenture2', 'Zed', 'from the other exventure'),
       (1, 'gossip', 'MidMUD', 'zed', 'from lower zed'),
       (2, 'secret', 'ExVenture', 'Mod', 'hush');
SQL

my %id;
for my $s (@special) {
    $id{ $s->[0] } = sql_rows(
        q{INSERT INTO channel_messages (channel_id, channel_name, game_name,
                                        player_name, message)
          VALUES (1, 'gossip', 'ExVenture', 'Quinn', $1) RETURNING id},
        $s->[1])->[0][0];
}

my $mod = Grapevine::SiteClient->new;
is($mod->sign_up('moddy')->{status}, 303, 'moddy signs up');
my $victim = Grapevine::SiteClient->new;
is($victim->sign_up('victim', email => 'per%cent@example.org')->{status},
   303, 'victim signs up, with a % in the email address');
my $other = Grapevine::SiteClient->new;
is($other->sign_up('Under-Dog', email => 'under_dog@example.org')->{status},
   303, 'Under-Dog signs up, with a _ in the email address');
sql("UPDATE users SET role = 'moderator' WHERE username = 'moddy'");
sql(<<'SQL');
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, v.n, v.s
FROM users u, games g, (VALUES ('Vee', 'approved'), ('Pen', 'pending'),
                               ('Den', 'denied')) AS v (n, s)
WHERE u.username = 'victim' AND g.short_name = 'ExVenture';
SQL

my $res;
my $token = $mod->raisin_csrf;
like($token // '', qr/^[0-9a-f]{64}$/, 'the token from GET /raisin/');

sub is_bool { JSON::PP::is_bool($_[0]) }

# the keys an object must have (more are allowed)
sub has_keys {
    my ($obj, $keys, $label) = @_;
    my @missing = grep { !(ref $obj eq 'HASH' && exists $obj->{$_}) } @$keys;
    ok(!@missing, "$label: has " . join(', ', @$keys))
        or diag('missing ' . join(', ', @missing) . ' in '
                . json_encode($obj));
}

sub field_error {
    my ($res, $field, $label) = @_;
    json_error_is($res, 422, 'invalid', $label);
    my $f = eval { $res->{json}{error}{fields}{$field} };
    ok(ref $f eq 'ARRAY' && @$f && !ref $f->[0] && length $f->[0],
       "$label: a message for \"$field\"")
        or diag(substr($res->{body} // '', 0, 300));
}

# ----------------------------------------------------------- JSON shapes

my @entry_keys = qw(id at actor action target reason details);

# an action first, so that lists are not empty
$res = $mod->post_json("/raisin/messages/$id{s_dot}/hide",
                       { reason => 'shape' });
is($res->{status}, 200, 'hide (JSON body, X-CSRF-Token): 200');
is_deeply([ sort keys %{ $res->{json} // {} } ], [qw(audit ok)],
          'the answer is {"ok", "audit"}');
ok(is_bool($res->{json}{ok}) && $res->{json}{ok}, '"ok": true');
has_keys($res->{json}{audit}, \@entry_keys, 'the answer\'s audit entry');
is($res->{json}{audit}{action}, 'message.hide', '... message.hide');
is($res->{json}{audit}{actor}, 'moddy', '... by moddy');
is($res->{json}{audit}{reason}, 'shape', '... its reason');
is(ref $res->{json}{audit}{details}, 'HASH', '... details, an object');
like($res->{json}{audit}{at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d/,
     '... at, an ISO time');
is($res->{json}{audit}{id},
   sql_rows('SELECT max(id) FROM raisin_audit')->[0][0],
   '... the id of the stored row');
like($res->{json}{audit}{summary} // '', qr/^Quinn\@ExVenture on #gossip: /,
     '... and a summary of the details for the pages');

$res = $mod->post_json('/raisin/mutes', { sender => 'Zed@ExVenture',
                                          duration => '2h',
                                          reason => 'shape' });
is($res->{status}, 200, 'mute (JSON): 200');

$res = $mod->get_json('/raisin/');
is($res->{status}, 200, 'GET /raisin/ (JSON)');
has_keys($res->{json}, [qw(csrf me channels mutes audit)], '/raisin/');
has_keys($res->{json}{me}, [qw(username role)], '/raisin/ me');
is($res->{json}{me}{role}, 'moderator', '/raisin/ me.role');
my %ch = map { $_->{name} => $_ } @{ $res->{json}{channels} // [] };
is(join(',', sort keys %ch), 'gossip,quiet,secret',
   '/raisin/: every channel, the hidden one too');
has_keys($ch{gossip}, [qw(name description hidden messages hidden_messages)],
         '/raisin/ channels[]');
ok(is_bool($ch{secret}{hidden}) && $ch{secret}{hidden}, 'secret is hidden');
ok(is_bool($ch{gossip}{hidden}) && !$ch{gossip}{hidden}, 'gossip is not');
is($ch{gossip}{hidden_messages}, 19, 'gossip\'s hidden messages counted');
is($ch{quiet}{messages}, 0, 'quiet has no message');
is($ch{quiet}{hidden_messages}, 0, '... none hidden');
has_keys($res->{json}{mutes}[0], [qw(id sender player game until active
                                     lifted reason by at)],
         '/raisin/ mutes[]');
has_keys($res->{json}{audit}[0], \@entry_keys, '/raisin/ audit[]');

$res = $mod->get_json('/raisin/channels/GOSSIP');
is($res->{status}, 200, 'a channel, any case (JSON)');
has_keys($res->{json}, [qw(channel messages older)], 'channel page');
has_keys($res->{json}{channel}, [qw(name description hidden)],
         'channel page: channel');
is($res->{json}{channel}{name}, 'gossip', '... its name');
is(scalar @{ $res->{json}{messages} // [] }, 50, '50 messages a page');
has_keys($res->{json}{messages}[0], [qw(id at game player text hidden muted)],
         'channel page: messages[]');

ok(is_bool($res->{json}{messages}[0]{hidden})
   && is_bool($res->{json}{messages}[0]{muted}), 'hidden and muted are '
                                                 . 'booleans');
my ($dot) = grep { $_->{id} == $id{s_dot} } @{ $res->{json}{messages} };
ok($dot && $dot->{hidden}, 'the hidden message is there, marked');
like($res->{json}{older} // '', qr{^/raisin/channels/gossip\?(?:.*&)?before=\d+},
     'a link to older messages');

# a sender's account, when a player registered the character (approved)
sql(<<'SQL');
INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
VALUES (1, 'gossip', 'exventure', 'VEE', 'registered'),
       (1, 'gossip', 'ExVenture', 'Pen', 'pending only');
SQL
$res = $mod->get_json('/raisin/channels/gossip?q=registered');
is($res->{json}{messages}[0]{account}, 'victim',
   'a registered sender names its account (any case)');
$res = $mod->get_json('/raisin/channels/gossip?q=pending+only');
ok(exists $res->{json}{messages}[0]{account}
   && !defined $res->{json}{messages}[0]{account},
   '... a pending registration names none');
like($mod->get('/raisin/channels/gossip?q=registered')->{body},
     qr{href="/raisin/users/victim"}, '... and the page links to it');
sql("DELETE FROM channel_messages WHERE message IN ('registered', "
    . "'pending only')");

$res = $mod->get_json('/raisin/channels/secret');
ok(eval { $res->{json}{channel}{hidden} }, 'a hidden channel says so');
is(join(',', map { $_->{text} } @{ (eval { $res->{json}{messages} }) // [] }),
   'hush', '... with its messages');
is(eval { $res->{json}{older} }, undef, '... and no older page');

$res = $mod->get_json('/raisin/mutes');
has_keys($res->{json}, ['mutes'], '/raisin/mutes');
my $mu = eval { $res->{json}{mutes}[0] } // {};
has_keys($mu, [qw(id sender player game until active lifted reason by at)],
         '/raisin/mutes mutes[]');
is("$mu->{sender}|$mu->{player}|$mu->{game}|$mu->{by}|$mu->{reason}",
   'Zed@ExVenture|Zed|ExVenture|moddy|shape', '... its values');
ok(is_bool($mu->{active}) && $mu->{active}, '... active, a boolean');
like($mu->{until} // '', qr/^\d{4}-\d\d-\d\dT/, '... until, an ISO time');

$res = $mod->get_json('/raisin/users');
has_keys($res->{json}, ['users'], '/raisin/users');
my ($vu) = grep { $_->{username} eq 'victim' } @{ $res->{json}{users} // [] };
has_keys($vu, [qw(username email role suspended characters)],
         '/raisin/users users[]');
is($vu && $vu->{email}, 'per%cent@example.org', '... the email address');
is($vu && $vu->{role}, 'user', '... the role');
ok($vu && !$vu->{suspended}, '... not suspended');

$res = $mod->get_json('/raisin/users/VICTIM');
is($res->{status}, 200, 'an account, any case (JSON)');
has_keys($res->{json}, [qw(user characters audit)], '/raisin/users/{name}');
has_keys($res->{json}{user}, [qw(username email role suspended)],
         '/raisin/users/{name} user');
is(eval { $res->{json}{user}{username} }, 'victim', '... the right one');
has_keys($res->{json}{characters}[0], [qw(id name game state)],
         '/raisin/users/{name} characters[]');
is(join(',', sort map { "$_->{name}:$_->{state}" }
                  @{ $res->{json}{characters} // [] }),
   'Den:denied,Pen:pending,Vee:approved', '... every character, any state');
is(ref $res->{json}{audit}, 'ARRAY', '... an audit list');

$res = $mod->get_json('/raisin/audit');
has_keys($res->{json}, [qw(entries older)], '/raisin/audit');
has_keys($res->{json}{entries}[0], \@entry_keys, '/raisin/audit entries[]');
is(eval { $res->{json}{entries}[0]{action} }, 'sender.mute',
   '... newest first');
is(eval { $res->{json}{older} }, undef, '... one page: no older link');

# ------------------------------------------------- JSON bodies and tokens

$res = $mod->post_form_json("/raisin/messages/$id{s_dot}/unhide",
                            { reason => 'form body' });
is($res->{status}, 200, 'a form body with _csrf, asking JSON: 200');
is(eval { $res->{json}{audit}{action} }, 'message.unhide',
   '... unhide done');

$res = $mod->post_json("/raisin/messages/$id{s_dot}/hide",
                       { reason => 'csrf in body', _csrf => $token },
                       csrf => undef);
is($res->{status}, 200, 'a JSON body with _csrf and no header: 200');
$mod->post_json("/raisin/messages/$id{s_dot}/unhide", { reason => 'back' });

$res = $mod->request(POST => "/raisin/messages/$id{s_dot}/hide",
                     body => '{"reason": "accept list"}',
                     headers => "Accept: text/html, application/json;q=0.9\n"
                                . "Content-Type: application/json\n"
                                . "X-CSRF-Token: $token\n");
is($res->{status}, 200, 'an Accept header naming application/json among '
                        . 'others: JSON');
like($res->{headers}{'content-type'} // '', qr{^application/json},
     '... JSON indeed');
$mod->post_json("/raisin/messages/$id{s_dot}/unhide", { reason => 'back' });

$res = $mod->request(POST => "/raisin/messages/$id{s_dot}/hide",
                     body => '{"reason": "json, html asked"}',
                     headers => "Content-Type: application/json\n"
                                . "X-CSRF-Token: $token\n");
is($res->{status}, 303, 'a JSON body from a tool that asks no JSON: the '
                        . 'HTML answer (303)');
$mod->post_json("/raisin/messages/$id{s_dot}/unhide", { reason => 'back' });

my $before = raisin_state();
for my $case (['text/plain', 'reason=x'],
              ['multipart/form-data; boundary=xx',
               "--xx\r\nContent-Disposition: form-data; name=\"reason\"\r\n"
               . "\r\nx\r\n--xx--\r\n"],
              ['application/xml', '<reason>x</reason>'])
{
    $res = $mod->post_json("/raisin/messages/$id{s_hi1}/hide", undef,
                           raw => $case->[1], content_type => $case->[0]);
    json_error_is($res, 415, 'unsupported_media_type', "a body of $case->[0]");
}

for my $case (['{"reason": ', 'malformed JSON'],
              ['[]', 'a JSON array'], ['"spam"', 'a JSON string'],
              ['{"reason": ["a"]}', 'an array for the reason'],
              ['{"reason": null}', 'null for the reason'],
              ['{"reason": {"a": "b"}}', 'an object for the reason'])
{
    $res = $mod->post_json("/raisin/messages/$id{s_hi1}/hide", undef,
                           raw => $case->[0]);
    ok($res->{status} == 400 || $res->{status} == 422,
       "$case->[1]: 400 or 422") or diag("status $res->{status}");
    ok(eval { $res->{json}{error}{code} }, "$case->[1]: a JSON error");
}
is(raisin_state(), $before, 'no bad body changed anything');

# a number is not a string: refused, or taken as its text
$res = $mod->post_json("/raisin/messages/$id{s_hi1}/hide", undef,
                       raw => '{"reason": 5}');
if ($res->{status} == 200) {
    is(sql_rows('SELECT reason FROM raisin_audit ORDER BY id DESC LIMIT 1')
       ->[0][0], '5', 'a number for the reason: taken as its text');
    $mod->post_json("/raisin/messages/$id{s_hi1}/unhide", { reason => 'back' });
} else {
    ok($res->{status} == 400 || $res->{status} == 422,
       'a number for the reason: 400 or 422') or diag("status $res->{status}");
}
sql('UPDATE channel_messages SET hidden = false WHERE id = ?', $id{s_hi1});

# --------------------------------------------------------------- reasons

my $hide = "/raisin/messages/$id{s_hi1}/hide";
# "\x{e9}" as a character string (two bytes in UTF-8 on the wire)
my $e_acute = "\x{e9}";
utf8::upgrade($e_acute);
my $unhide = "/raisin/messages/$id{s_hi1}/unhide";

$res = $mod->post_json($hide, { reason => 'x' x 500 });
is($res->{status}, 200, 'a reason of 500 characters: 200');
is(length(sql_rows('SELECT reason FROM raisin_audit ORDER BY id DESC LIMIT 1')
          ->[0][0]), 500, '... stored whole');
$res = $mod->post_json($unhide, { reason => $e_acute x 500 });
is($res->{status}, 200, 'a reason of 500 characters of two bytes each: 200');
is(sql_rows('SELECT reason FROM raisin_audit ORDER BY id DESC LIMIT 1')
   ->[0][0], "\x{e9}" x 500, '... stored as UTF-8 text');

$before = raisin_state();
for my $case ([{ reason => 'x' x 501 }, '501 characters'],
              [{ reason => $e_acute x 501 }, '501 two-byte characters'],
              [{ reason => 'y' x 600 }, '600 characters'],
              [{ reason => '' }, 'an empty reason'],
              [{ reason => '   ' }, 'a reason of spaces'],
              [{ reason => " \t\n " }, 'a reason of whitespace'],
              [{}, 'no reason'])
{
    $res = $mod->post_json($hide, $case->[0]);
    field_error($res, 'reason', "JSON, $case->[1]");
    sql('UPDATE channel_messages SET hidden = false WHERE id = ?', $id{s_hi1});
    $mod->get('/raisin/channels/gossip');
    $res = $mod->post($hide, $case->[0]);
    is($res->{status}, 422, "HTML, $case->[1]: 422");
    like($res->{body}, qr{<header class="top">}, "HTML, $case->[1]: a page");
    # (should a case wrongly hide it, the next case starts over)
    sql('UPDATE channel_messages SET hidden = false WHERE id = ?', $id{s_hi1});
}
is(raisin_state(), $before, 'no bad reason changed anything or wrote a row');
$before = raisin_state();

$res = $mod->post_json($hide, { reason => 'z' x (100 * 1024) });
json_error_is($res, 413, 'too_large', 'a reason of 100 KB');
$res = $mod->post_json($hide, { reason => 'z' x 8200 });
json_error_is($res, 413, 'too_large', 'a body over 8 KB');
$mod->get('/raisin/channels/gossip');
$res = $mod->post($hide, { reason => 'z' x 9000 });
is($res->{status}, 413, 'a form over 8 KB: 413');
is(raisin_state(), $before, '... nothing changed');

$res = $mod->post_json($hide, undef, raw => "{\"reason\": \"bad \xff\xfe\"}");
is($res->{status}, 400, 'a JSON body that is not UTF-8: 400');
$res = $mod->post_form_json($hide, { reason => "a\x00b" });
is($res->{status}, 400, 'a NUL in a reason: 400');

# a NUL escaped inside a JSON string is a NUL too: refused, never cut to
# what comes before it (the text stored would not be the text sent)
for my $raw ('{"reason": "a\u0000b"}', '{"reason": "\u0000"}',
             '{"reason": "spam", "x": "\u0000"}',
             '{"rea\u0000son": "spam"}')
{
    $res = $mod->post_json($hide, undef, raw => $raw);
    json_error_is($res, 400, 'bad_request', "a JSON body $raw");
}

# only application/json is JSON (with its parameters), not a type that
# merely begins so; and only a form is a form
for my $type ('application/jsonp', 'application/json-patch+json',
              'application/jsonx; charset=utf-8',
              'application/x-www-form-urlencodedx')
{
    $res = $mod->post_json($hide, { reason => 'a type of its own' },
                           content_type => $type);
    json_error_is($res, 415, 'unsupported_media_type',
                  "a body of $type");
}
is(raisin_state(), $before, '... none of them changed anything');
for my $type ('application/json; charset=utf-8', 'Application/JSON',
              'application/json ; charset=UTF-8')
{
    sql('UPDATE channel_messages SET hidden = false WHERE id = ?',
        $id{s_hi1});
    $res = $mod->post_json($hide, { reason => "as $type" },
                           content_type => $type);
    is($res->{status}, 200, "a body of $type is JSON: 200")
        or diag(substr($res->{body} // '', 0, 300));
    sql('UPDATE channel_messages SET hidden = false WHERE id = ?',
        $id{s_hi1});
}
$before = raisin_state();
$res = $mod->request(POST => $hide, body => "_csrf=$token&reason=%FF%FE",
                     headers => "Content-Type: application/x-www-form-"
                                . "urlencoded\nAccept: application/json\n");
is($res->{status}, 400, 'a form reason that is not UTF-8: 400');
for my $bytes ('%ED%A0%80', '%C0%AF', '%F4%90%80%80') {
    $res = $mod->request(POST => $hide, body => "_csrf=$token&reason=$bytes",
                         headers => "Content-Type: application/x-www-form-"
                                    . "urlencoded\nAccept: application/json\n");
    is($res->{status}, 400, "a form reason of $bytes (no UTF-8): 400");
}
is(raisin_state(), $before, '... nothing changed');

# hostile text is shown inert on Raisin's own pages
sql('UPDATE channel_messages SET hidden = false WHERE id = ?', $id{s_hi1});
$res = $mod->post_json($hide, { reason => '<script>alert("r")</script>' });
is($res->{status}, 200, 'a reason with markup is a reason');
$res = $mod->get('/raisin/audit');
like($res->{body}, qr{&lt;script&gt;alert\(&quot;r&quot;\)&lt;/script&gt;},
     '... shown escaped in the audit log');
unlike($res->{body}, qr{<script>}, '... never as markup');
$res = $mod->get('/raisin/channels/gossip?q=script');
like($res->{body}, qr{&lt;script&gt;alert\(1\)&lt;/script&gt; &amp; more},
     'a message with markup is shown escaped in the log');
unlike($res->{body}, qr{<script>}, '... never as markup');
like($res->{headers}{'content-security-policy'} // '', qr/script-src 'self';/,
     'Raisin pages forbid scripts but the site\'s own files too');
$mod->post_json($unhide, { reason => 'back' });

# ------------------------------------------------- back, never elsewhere

# "redirects back to the page it came from": never to another site
for my $back ('https://evil.example/', '//evil.example/x', '/\\evil.example',
              'javascript:alert(1)', "/raisin/\r\nSet-Cookie: x=y",
              'http://localhost.evil.example/raisin/')
{
    for my $how ('form', 'referer') {
        $mod->get('/raisin/channels/gossip');
        $res = $how eq 'form'
            ? $mod->post($hide, { reason => 'back', back => $back })
            : $mod->post($hide, { reason => 'back' },
                         headers => 'Referer: ' . ($back =~ s/[\r\n]//gr)
                                    . "\n");
        is($res->{status}, 303, "hide with $how " . json_encode($back)
                                . ': 303');
        my $loc = $res->{headers}{location} // '';
        like($loc, qr{^(?:https?://(?:localhost|127\.0\.0\.1)(?::\d+)?)?/(?![/\\])},
             "hide with $how " . json_encode($back) . ': back to this site')
            or diag("Location: $loc");
        unlike($loc, qr/evil|javascript|[\r\n]/,
               "hide with $how " . json_encode($back) . ': not elsewhere');
        ok(!exists $res->{cookies}{x}, "hide with $how "
                                       . json_encode($back) . ': no header '
                                       . 'injected');
        sql('UPDATE channel_messages SET hidden = false WHERE id = ?',
            $id{s_hi1});
    }
}
$before = raisin_state();

# ----------------------------------------------------------- unknown ids

$before = raisin_state();
my @bad_ids = ('999999999', '-1', 'abc', '99999999999999999999999', '0',
               '1.5', '1e3', '9223372036854775807', '9223372036854775808',
               '%20', '0x10', '+1');
for my $bad (@bad_ids) {
    for my $path ("/raisin/messages/$bad/hide", "/raisin/messages/$bad/unhide",
                  "/raisin/mutes/$bad/lift",
                  "/raisin/characters/$bad/remove")
    {
        $res = $mod->post_json($path, { reason => 'x' });
        json_error_is($res, 404, 'not_found', "POST $path");
    }
}
for my $name ('nobody', 'x' x 51, '%27%3B--', 'a%00b', '%FF', 'vic%25',
              'vic_im')
{
    for my $path ("/raisin/users/$name/suspend",
                  "/raisin/users/$name/unsuspend")
    {
        $res = $mod->post_json($path, { reason => 'x' });
        ok($res->{status} == 404 || $res->{status} == 400,
           "POST $path: 404 (or 400 for bytes that are no name)")
            or diag("status $res->{status}");
        # (a NUL in a path is refused by nginx itself, before the module)
        ok(eval { $res->{json}{error}{code} }, "POST $path: a JSON error")
            unless $name =~ /%00/;
    }
    $res = $mod->get_json("/raisin/users/$name");
    ok($res->{status} == 404 || $res->{status} == 400, "GET /raisin/users/"
       . "$name: 404 (or 400)") or diag("status $res->{status}");
}
is($mod->get_json('/raisin/users/nobody')->{status}, 404,
   'an unknown account: 404');
for my $path ('/raisin/messages/999999999/hide', '/raisin/mutes/abc/lift',
              '/raisin/characters/-1/remove', '/raisin/users/nobody/suspend')
{
    $mod->get('/raisin/');
    $res = $mod->post($path, { reason => 'x' });
    is($res->{status}, 404, "POST $path (HTML): 404");
    like($res->{body}, qr{<h1>Page not found</h1>},
         "POST $path (HTML): the site's 404 page");
}
is($mod->get_json('/raisin/channels/nosuch')->{status}, 404,
   'an unknown channel: 404');
is(raisin_state(), $before, 'no unknown id changed anything');

# the message of an unknown id is checked before the reason? either way,
# nothing happens; and a known id with a bad reason is a 422
$res = $mod->post_json('/raisin/messages/999999999/hide', { reason => '' });
ok($res->{status} == 404 || $res->{status} == 422,
   'an unknown message and no reason: 404 or 422');

# --------------------------------------------------- durations, senders

my $mutes = sql_rows('SELECT count(*) FROM raisin_mutes')->[0][0];
$before = raisin_state();
for my $d ('0m', '0h', '0d', '366d', '8761h', '525601m', '1y', '1w', '1s',
           '-5m', '5', 'm', '', ' ', '1.5h', '1hm', 'h1', '1m1h', '--1m',
           '99999999999999999999m', '9223372036854775807d', '1e3m', '0x10m',
           'forever')
{
    $res = $mod->post_json('/raisin/mutes', { sender => 'Amy@ExVenture',
                                              duration => $d,
                                              reason => 'x' });
    field_error($res, 'duration', 'duration ' . json_encode($d));
}
$res = $mod->post_json('/raisin/mutes', { sender => 'Amy@ExVenture',
                                          reason => 'x' });
field_error($res, 'duration', 'no duration');

for my $s ('Zed', '@ExVenture', 'Zed@', '', '@', ' ', ' @ ',
           ('x' x 101) . '@ExVenture', 'Zed@' . ('g' x 101))
{
    $res = $mod->post_json('/raisin/mutes', { sender => $s, duration => '1h',
                                              reason => 'x' });
    field_error($res, 'sender', 'sender ' . json_encode($s));
}
$res = $mod->post_json('/raisin/mutes', { duration => '1h', reason => 'x' });
field_error($res, 'sender', 'no sender');

$res = $mod->post_json('/raisin/mutes', { sender => 'nope', duration => '0m',
                                          reason => '' });
is($res->{status}, 422, 'three problems at once: 422');
ok((grep { eval { $res->{json}{error}{fields}{$_} } }
    qw(sender duration reason)), '... at least one is named');

$mod->get('/raisin/mutes');
$res = $mod->post('/raisin/mutes', { sender => 'nope', duration => '1y',
                                     reason => 'x' });
is($res->{status}, 422, 'a bad mute form (HTML): 422');
like($res->{body}, qr{name\@game}, '... says what is wrong');
like($res->{body}, qr{name="sender"}, '... next to the field: the form again');
is(raisin_state(), $before, 'no bad mute was stored or audited');
is(sql_rows('SELECT count(*) FROM raisin_mutes')->[0][0], $mutes,
   '... no mute at all');

for my $case (['1m', 60], ['90m', 5400], ['1h', 3600], ['24h', 86400],
              ['8760h', 365 * 86400], ['525600m', 365 * 86400],
              ['365d', 365 * 86400], ['7d', 7 * 86400],
              ["1h\n", 3600], ["\t2h ", 7200])
{
    my ($d, $secs) = @$case;
    $res = $mod->post_json('/raisin/mutes', { sender => 'Amy@MidMUD',
                                              duration => $d,
                                              reason => "for $d" });
    (my $name = $d) =~ s/\s/ /g;
    is($res->{status}, 200, "duration '$name': 200") or diag($res->{body});
    ok(sql_rows(q{SELECT abs(extract(epoch FROM "until" - now()) - $1) < 30
                  FROM raisin_mutes ORDER BY id DESC LIMIT 1}, $secs)
       ->[0][0], "duration '$name': until $secs s from now");
    my $mid = sql_rows('SELECT max(id) FROM raisin_mutes')->[0][0];
    $mod->post_json("/raisin/mutes/$mid/lift", { reason => 'next' });
}

# --------------------------------------------------------------- search

sub texts {
    my ($query) = @_;
    my $r = $mod->get_json("/raisin/channels/gossip?$query");
    is($r->{status}, 200, "search $query: 200") or diag($r->{body});
    return join '|', sort map { $_->{text} }
                          @{ (eval { $r->{json}{messages} }) // [] };
}
sub enc { Grapevine::SiteClient::urlencode($_[0]) }
my %t = map { $_->[0] => $_->[1] } @special;

is(texts('q=' . enc('%')), $t{s_pct}, 'q=%: only the message with a %');
is(texts('q=' . enc('100%')), $t{s_pct}, 'q=100%: a literal %');
is(texts('q=' . enc('_')), $t{s_und}, 'q=_: only the message with a _');
is(texts('q=' . enc('snake_case')), $t{s_und},
   'q=snake_case: _ is no wildcard');
is(texts('q=' . enc(q{'})), join('|', sort $t{s_q1}, $t{s_sql}),
   'q=\': the messages with a quote');
is(texts('q=' . enc(q{"quoted"})), $t{s_q1}, 'q="quoted": double quotes');
is(texts('q=' . enc('\\')), $t{s_bs}, 'q=\\: the message with a backslash');
is(texts('q=' . enc('C:\\path')), $t{s_bs}, 'q=C:\\path: a literal '
                                             . 'backslash');
is(texts('q=' . enc('\\p')), $t{s_bs}, 'q=\\p: no escape sequence');
is(texts('q=' . enc(q{'); DROP TABLE users; --})), $t{s_sql},
   'q=SQL: searched for, as text');
is(sql_rows('SELECT count(*) FROM users')->[0][0], 3, 'the users are all '
                                                       . 'there');
is(texts('q=' . enc(q{' OR '1'='1})), '', q{q=' OR '1'='1: nothing});
is(texts('q=' . enc('.*')), '', 'q=.*: no regular expression');
is(texts('q=' . enc('[a-z]')), '', 'q=[a-z]: no regular expression');
is(texts('q=' . enc('HELLO')), join('|', sort $t{s_hi1}, $t{s_hi2}),
   'q=HELLO: without regard to case');
is(texts('q=' . enc('<script>')), $t{s_xss}, 'q=<script>: found, as text');
is(texts('q=from&player=ZED'),
   join('|', sort 'from the other exventure', 'from lower zed'),
   'player=ZED: exact name, any case (not Zedd)');
is(texts('q=from&game=exventure'), 'from zedd',
   'game=exventure: exact name, any case (not ExVenture2)');
is(texts('q=from&game=MidMUD&player=zed'), 'from lower zed',
   'game and player together');
is(texts('player=Zedd'), 'from zedd', 'player alone');
is(texts('q=line+13'), join('|', sort 'line 13', 'line 130'),
   'q with a space');
is(texts('player=' . enc('%')), '', 'player=%: no wildcard');
is(texts('game=' . enc('Ex%')), '', 'game=Ex%: no wildcard');
is(texts('game=' . enc('_xVenture')), '', 'game=_xVenture: no wildcard');

# bytes that are no UTF-8: invalid, truncated, a surrogate (ED A0 80), an
# overlong "/" (C0 AF), past U+10FFFF (F4 90 80 80); and a NUL
for my $q ('%FF%FE', 'a%00b', '%C3%28', '%E2%82', '%ED%A0%80', '%C0%AF',
           '%F4%90%80%80')
{
    $res = $mod->get_json("/raisin/channels/gossip?q=$q");
    is($res->{status}, 400, "q=$q (not UTF-8, or a NUL): 400");
    $res = $mod->get("/raisin/channels/gossip?q=$q");
    is($res->{status}, 400, "q=$q in HTML: 400");
}
$res = $mod->get_json('/raisin/users?q=%FF');
is($res->{status}, 400, 'users q=%FF: 400');
$res = $mod->get_json('/raisin/audit?actor=%FF');
is($res->{status}, 400, 'audit actor=%FF: 400');

$res = $mod->get_json('/raisin/channels/gossip?q=' . ('a' x 200));
is($res->{status}, 200, 'q of 200 characters: 200');
for my $len (201, 1000, 4000) {
    $res = $mod->get_json('/raisin/channels/gossip?q=' . ('a' x $len));
    is($res->{status}, 400, "q of $len characters: 400");
    like(eval { $res->{json}{error}{message} } // '',
         qr/^q has at most 200 characters/, '... naming q');
}
$res = $mod->get_json('/raisin/channels/gossip?player=' . ('p' x 101));
like(eval { $res->{json}{error}{message} } // '', qr/^player has at most/,
     'player of 101 characters: 400 naming player');
$res = $mod->get_json('/raisin/users?q=' . ('u' x 255));
is($res->{status}, 400, 'users q of 255 characters: 400');
$res = $mod->get_json('/raisin/audit?actor=' . ('a' x 101));
like(eval { $res->{json}{error}{message} } // '', qr/^actor has at most/,
     'audit actor of 101 characters: 400 naming actor');
$res = $mod->get_json('/raisin/channels/gossip?q=' . ('a' x (10 * 1024)));
ok($res->{status} == 400 || $res->{status} == 414,
   'a query of 10 KB: 400 or nginx\'s 414, not a failure')
    or diag("status $res->{status}");
is($mod->get_json('/raisin/')->{status}, 200, 'and Raisin still answers');

$res = $mod->get('/raisin/channels/gossip?q=' . enc('<b>"x"</b>'));
is($res->{status}, 200, 'a search with markup (HTML)');
like($res->{body}, qr{value="&lt;b&gt;&quot;x&quot;&lt;/b&gt;"},
     '... shown escaped in the form');
unlike($res->{body}, qr{<b>"x"</b>}, '... never as markup');

for my $bad ('before=abc', 'before=-1', 'before=99999999999999999999999',
             'before=', 'before=1&before=2', 'q=a&q=b')
{
    $res = $mod->get_json("/raisin/channels/gossip?$bad");
    ok($res->{status} == 200 || $res->{status} == 400,
       "$bad: 200 or 400, not a failure") or diag("status $res->{status}");
}
$res = $mod->get_json('/raisin/channels/gossip?before=1');
is(eval { scalar @{ $res->{json}{messages} } }, 0, 'before=1: nothing older');

# users: q= searches usernames and email addresses, literally
sub usernames {
    my ($query) = @_;
    my $r = $mod->get_json("/raisin/users?$query");
    is($r->{status}, 200, "users $query: 200");
    return join '|', sort map { $_->{username} }
                          @{ (eval { $r->{json}{users} }) // [] };
}
is(usernames('q=' . enc('%')), 'victim', 'users q=%: a literal %');
is(usernames('q=' . enc('_')), 'Under-Dog', 'users q=_: a literal _');
is(usernames('q=VICT'), 'victim', 'users q=VICT: any case');
is(usernames('q=under_dog%40'), 'Under-Dog', 'users q: an email address');
is(usernames('q=' . enc(q{' OR 1=1 --})), '', q{users q=' OR 1=1: nothing});
is(usernames(''), 'Under-Dog|moddy|victim', 'users without q: every account');

# ------------------------------------------------------- keyset paging

sub walk {
    my ($start, $list_key) = @_;
    my (@ids, @urls);
    my $url = $start;
    my $pages = 0;
    while (defined $url && $pages < 20) {
        my $r = $mod->get_json($url);
        is($r->{status}, 200, "page $url: 200") or last;
        my $items = eval { $r->{json}{$list_key} } // [];
        ok(@$items <= 50, "page $url: at most 50");
        push @ids, map { $_->{id} } @$items;
        $url = eval { $r->{json}{older} };
        push @urls, $url if defined $url;
        $pages++;
    }
    return (\@ids, \@urls);
}

my ($ids, $urls) = walk('/raisin/channels/gossip', 'messages');
my $all = [ map { $_->[0] } @{ sql_rows(
    "SELECT id FROM channel_messages WHERE channel_name = 'gossip' "
    . 'ORDER BY id DESC') } ];
cmp_ok(scalar @$all, '>', 100, 'more than two pages of messages');
is(join(',', @$ids), join(',', @$all),
   'paging the log: every message once, newest first, hidden ones too');
is(scalar @$urls, int((@$all - 1) / 50), '... one older link per full page');

($ids, $urls) = walk('/raisin/channels/gossip?player=zed', 'messages');
$all = [ map { $_->[0] } @{ sql_rows(
    "SELECT id FROM channel_messages WHERE channel_name = 'gossip' "
    . "AND lower(player_name) = 'zed' ORDER BY id DESC") } ];
cmp_ok(scalar @$all, '>', 50, 'a filter matching more than a page');
is(join(',', @$ids), join(',', @$all),
   'paging a filtered log: the filter is kept, every match once');
like($urls->[0] // '', qr/player=zed/i, '... the older link keeps it');

# the audit log: over 50 rows
for my $i (1 .. 55) {
    $mod->post_json("/raisin/messages/$id{s_hi2}/hide", { reason => "h$i" });
    $mod->post_json("/raisin/messages/$id{s_hi2}/unhide", { reason => "u$i" });
}
($ids, $urls) = walk('/raisin/audit', 'entries');
$all = [ map { $_->[0] } @{ sql_rows(
    'SELECT id FROM raisin_audit ORDER BY id DESC') } ];
cmp_ok(scalar @$all, '>', 60, 'over 60 audit rows');
is(join(',', @$ids), join(',', @$all),
   'paging the audit log: every row once, newest first');
like($urls->[0] // '', qr{^/raisin/audit\?(?:.*&)?before=\d+},
     '... by before=');

($ids) = walk('/raisin/audit?action=message.hide', 'entries');
$all = [ map { $_->[0] } @{ sql_rows(
    "SELECT id FROM raisin_audit WHERE action = 'message.hide' "
    . 'ORDER BY id DESC') } ];
cmp_ok(scalar @$all, '>', 50, 'more than a page of message.hide rows');
is(join(',', @$ids), join(',', @$all),
   'action=message.hide: those rows, paged');
$res = $mod->get_json('/raisin/audit?actor=nobody');
is(scalar @{ (eval { $res->{json}{entries} }) // [1] }, 0,
   'actor=nobody: none');
$res = $mod->get_json('/raisin/audit?actor=moddy');
is(scalar @{ (eval { $res->{json}{entries} }) // [] }, 50,
   'actor=moddy: a full page');
$res = $mod->get_json('/raisin/audit?action=' . enc('%'));
is(scalar @{ (eval { $res->{json}{entries} }) // [1] }, 0,
   'action=%: no wildcard');

# ------------------------------------------------- the audit log is kept

my $rows = json_encode(sql_rows('SELECT * FROM raisin_audit ORDER BY id'));

for my $case (['POST', '/raisin/audit'], ['PUT', '/raisin/audit'],
              ['DELETE', '/raisin/audit'], ['PATCH', '/raisin/audit'])
{
    $res = $mod->request($case->[0] => $case->[1], body => '{}',
                         headers => "Accept: application/json\n"
                                    . "Content-Type: application/json\n"
                                    . "X-CSRF-Token: $token\n");
    is($res->{status}, 405, "$case->[0] $case->[1]: 405");
}
my $first = sql_rows('SELECT min(id) FROM raisin_audit')->[0][0];
for my $path ("/raisin/audit/$first", "/raisin/audit/$first/delete",
              "/raisin/audit/$first/edit", "/raisin/audit/$first/hide")
{
    for my $method (qw(POST DELETE PUT)) {
        $res = $mod->request($method => $path, body => '{"reason": "x"}',
                             headers => "Accept: application/json\n"
                                        . "Content-Type: application/json\n"
                                        . "X-CSRF-Token: $token\n");
        ok($res->{status} == 404 || $res->{status} == 405,
           "$method $path: no such route (404 or 405)")
            or diag("status $res->{status}");
    }
}

ok(!eval { sql(q{UPDATE raisin_audit SET reason = 'edited'
                 WHERE id = (SELECT min(id) FROM raisin_audit)}); 1 },
   'the database refuses UPDATE on raisin_audit');
ok(!eval { sql('DELETE FROM raisin_audit WHERE id = '
               . '(SELECT min(id) FROM raisin_audit)'); 1 },
   'the database refuses DELETE on raisin_audit');
ok(!eval { sql('DELETE FROM raisin_audit'); 1 },
   'the database refuses DELETE of every row');
is(json_encode(sql_rows('SELECT * FROM raisin_audit ORDER BY id')), $rows,
   'the audit log is as it was');

# the JSON entries are the stored rows
{
    my $r = $mod->get_json('/raisin/audit');
    my @entries = @{ (eval { $r->{json}{entries} }) // [] };
    my $db = sql_rows(q{SELECT id, actor, action, target, reason, details::text
                        FROM raisin_audit ORDER BY id DESC LIMIT 50});
    is(scalar @entries, scalar @$db, 'the audit page has 50 entries');
    my @bad;
    for my $i (0 .. $#$db) {
        my ($id, $actor, $action, $target, $reason, $details) = @{ $db->[$i] };
        my $e = $entries[$i] // {};
        push @bad, $id unless ($e->{id} // '') eq $id
            && ($e->{actor} // '') eq $actor
            && ($e->{action} // '') eq $action
            && ($e->{target} // '') eq $target
            && ($e->{reason} // '') eq $reason
            && json_encode($e->{details})
               eq json_encode(json_decode(do { utf8::encode(my $d = $details);
                                               $d }));
    }
    ok(!@bad, 'each entry is its stored row: id, actor, action, target, '
              . 'reason, details') or diag('differ: ' . join(',', @bad));
}

# ------------------------------------------------------ database away

start_nginx(http_config => Grapevine::Test::expand_vars(
                'grapevine_database "host=127.0.0.1 port=$TEST_NGINX_DEAD_PORT '
                . 'dbname=x user=grapevine sslmode=disable";'),
            config => "location / { grapevine_site; }\n"
                      . "location /raisin/ { raisin; }");
$res = $mod->get_json('/raisin/');
json_error_is($res, 503, 'unavailable',
              'the database away, GET /raisin/ (JSON)');
is($res->{headers}{'retry-after'}, '5', '... with Retry-After');
$res = $mod->post_json("/raisin/messages/$id{s_hi1}/hide", { reason => 'x' });
json_error_is($res, 503, 'unavailable', 'the database away, an action (JSON)');
$res = $mod->get('/raisin/channels/gossip');
is($res->{status}, 503, 'the database away, a page (HTML): 503');
like($res->{body}, qr{<header class="top">}, '... the site\'s 503 page');

Grapevine::Test::cleanup();
done_testing();
