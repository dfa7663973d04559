# The site's accounts: sign up, sign in, sign out, settings; sessions in
# PostgreSQL (256-bit tokens, HttpOnly/SameSite cookies, a new token at
# sign-in), the CSRF token of every form, sign-in throttling, and argon2id
# hashing in the thread pool (the event loop keeps answering meanwhile).
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use IO::Select;
use File::Temp ();
use List::Util ();
use POSIX ();
use Test::TCP ();

my $site = <<'CONF';
location / { grapevine_site; }
location /static/ { alias $TEST_NGINX_ROOT/conf/static/; }
CONF

sub http_config {
    my (%opt) = @_;
    return join "\n",
        'grapevine_database "$TEST_NGINX_DB_CONNINFO";',
        'grapevine_password_hash ' . ($opt{hash} // 'ops=1 memory=8m') . ';',
        ($opt{throttle} ? "grapevine_sign_in_throttle $opt{throttle};" : ()),
        ($opt{extra} // ());
}

sub start {
    my (%opt) = @_;
    start_nginx(http_config => Grapevine::Test::expand_vars(http_config(%opt)),
                config => Grapevine::Test::expand_vars(
                    $site . ($opt{server} // '')));
}

sub users { sql_rows('SELECT count(*) FROM users')->[0][0] }
sub sessions_of {
    sql_rows('SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id '
             . 'WHERE u.username = ?', $_[0])->[0][0];
}

start();

# ------------------------------------------------------------- sign up

my $b = Grapevine::SiteClient->new;

my $res = $b->get('/register');
is($res->{status}, 200, 'GET /register');
like($res->{body}, qr{<form class="stack" method="post" action="/register"},
     'the sign-up form');
like($res->{headers}{'content-type'}, qr{^text/html; charset=utf-8},
     'HTML in UTF-8');
my $csrf_cookie = $res->{cookies}{_grapevine_csrf};
ok($csrf_cookie && $csrf_cookie->{value} =~ /^[0-9a-f]{64}$/,
   'an anonymous CSRF cookie of 256 bits');
ok($csrf_cookie->{attrs}{httponly} && lc($csrf_cookie->{attrs}{samesite})
   eq 'lax', 'the CSRF cookie is HttpOnly and SameSite=Lax');
is($b->csrf, $csrf_cookie->{value}, 'the form carries the same token');
like($res->{headers}{'content-security-policy'}, qr/script-src 'self';/,
     'no script may run on the site but its own files (no inline script)');
unlike($res->{headers}{'content-security-policy'}, qr/unsafe-|\*/,
       '... nothing inline, evaluated or from anywhere');
is($res->{headers}{'x-frame-options'}, 'DENY', 'not framed');
is($res->{headers}{'cache-control'}, 'no-store', 'a form page is not stored');

$res = $b->post('/register', { username => 'Alice', email => 'alice@example.org',
                               password => 'correct horse',
                               password_confirmation => 'correct horse' });
is($res->{status}, 303, 'signing up redirects');
like($res->{headers}{location}, qr{/manage/characters\?welcome=1$},
     '... to the characters page');
my $session = $res->{cookies}{_grapevine_key};
ok($session && $session->{value} =~ /^[0-9a-f]{64}$/,
   'signing up signs in: a session cookie of 256 bits');
ok($session->{attrs}{httponly}, 'the session cookie is HttpOnly');
is(lc $session->{attrs}{samesite}, 'lax', 'the session cookie is SameSite=Lax');
ok(!exists $session->{attrs}{secure}, 'no Secure flag over plain http');
is($session->{attrs}{path}, '/', 'the session cookie covers the site');
ok($session->{attrs}{'max-age'} > 86400, 'the session cookie lasts');

my $row = sql_rows('SELECT username, email, password_hash FROM users')->[0];
is($row->[0], 'Alice', 'the user is stored');
like($row->[2], qr/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/,
     'the password is hashed with argon2id at the configured cost');
is(sql_rows('SELECT count(*) FROM sessions WHERE token_hash = '
            . "sha256(decode(?, 'hex'))", $session->{value})->[0][0], 1,
   'the session is stored as the SHA-256 of its token');
is(sql_rows('SELECT count(*) FROM sessions WHERE encode(token_hash, '
            . "'hex') = ?", $session->{value})->[0][0], 0,
   'the token itself is not stored');

$res = $b->get('/manage/characters?welcome=1');
is($res->{status}, 200, 'the characters page for the new user');
like($res->{body}, qr/Welcome, Alice!/, 'welcomed');
like($res->{body}, qr{href="/users/Alice">Alice</a>}, 'signed in as Alice');
like($res->{body}, qr{<form class="inline" method="post" action="/sign-out">},
     'a sign-out form');
my $key = sql_rows('SELECT registration_key FROM users')->[0][0];
like($res->{body}, qr/\Qtell system\E\@Grapevine register \Q$key\E/,
     'the key and the in-game instruction');
is($b->csrf, sql_rows('SELECT csrf_token FROM sessions')->[0][0],
   'a signed-in form carries the session\'s CSRF token');

# ------------------------------------------------------ sign-up errors

my @bad = (
    [ { username => 'al' }, 'username', 'A username has 3 to 50 characters.' ],
    [ { username => 'x' x 51 }, 'username',
      'A username has 3 to 50 characters.' ],
    [ { username => 'bad name' }, 'username',
      'A username may only hold letters, digits and dashes.' ],
    [ { username => 'b\'ob<' }, 'username',
      'A username may only hold letters, digits and dashes.' ],
    [ { username => 'ALICE' }, 'username', 'This username is taken.' ],
    [ { username => '' }, 'username', 'Choose a username.' ],
    [ { email => 'not-an-email' }, 'email', 'This is not an email address.' ],
    [ { email => 'ALICE@Example.org' }, 'email',
      'This email address is already in use.' ],
    [ { email => '' }, 'email', 'Enter your email address.' ],
    [ { password => 'short', password_confirmation => 'short' }, 'password',
      'A password has at least 10 characters.' ],
    [ { password => "\x{e9}\x{e9}\x{e9}\x{e9}\x{e9}",
        password_confirmation => "\x{e9}\x{e9}\x{e9}\x{e9}\x{e9}" },
      'password', 'A password has at least 10 characters.' ],
    [ { password => 'long enough password', password_confirmation => 'other' },
      'password_confirmation', 'The two passwords differ.' ],
    [ { password => '', password_confirmation => '' }, 'password',
      'Choose a password.' ],
);

for my $case (@bad) {
    my ($change, $field, $msg) = @$case;
    my $c = Grapevine::SiteClient->new;
    $c->get('/register');
    my %form = (username => 'bob', email => 'bob@example.org',
                password => 'long enough password',
                password_confirmation => 'long enough password', %$change);
    $res = $c->post('/register', \%form);
    my $label = "sign-up with $field " . json_encode($change->{$field} // '');
    is($res->{status}, 422, "$label: 422");
    like($res->{body}, qr/\Q$msg\E/, "$label: \"$msg\"");
    ok(!$res->{cookies}{_grapevine_key}, "$label: not signed in");
    if ($field ne 'username' && length $form{username}
        && $form{username} =~ /^[a-z]+$/)
    {
        like($res->{body}, qr/name="username" value="\Q$form{username}\E"/,
             "$label: the form keeps the username");
    }
    # what was typed in the password fields, as it would come back (a
    # case that typed none has nothing to send back)
    my @typed = map { my $p = $_; utf8::encode($p); quotemeta $p }
                grep { length } @form{qw(password password_confirmation)};
    unlike($res->{body}, qr/@{[ join '|', @typed ]}/,
           "$label: the password is not sent back") if @typed;
}

is(users(), 1, 'no bad sign-up created a user');

# several problems at once are all named
$res = do {
    my $c = Grapevine::SiteClient->new;
    $c->get('/register');
    $c->post('/register', { username => 'x', email => 'y',
                            password => 'z', password_confirmation => 'w' });
};
is($res->{status}, 422, 'every problem at once: 422');
like($res->{body}, qr/3 to 50 characters.*not an email address.*at least 10 characters.*two passwords differ/s,
     'every problem is named, field by field');

# a password of 10 characters that are not ASCII is long enough
{
    my $c = Grapevine::SiteClient->new;
    $res = $c->sign_up('Elodie', password => "\x{e9}" x 10);
    is($res->{status}, 303, '10 non-ASCII characters are a valid password');
}

# ------------------------------------------------------ sign out, in

$res = $b->post('/sign-out', {});
is($res->{status}, 303, 'signing out redirects');
like($res->{headers}{location}, qr{/$}, '... home');
is($res->{cookies}{_grapevine_key}{attrs}{'max-age'}, '0',
   'the session cookie is deleted');
is(sessions_of('Alice'), 0, 'the session row is gone');

# the old cookie is worthless now
{
    my $old = Grapevine::SiteClient->new;
    $old->cookie(_grapevine_key => $session->{value});
    $res = $old->get('/manage/characters');
    is($res->{status}, 303, 'a signed-out token no longer signs in');
    like($res->{headers}{location},
         qr{/sign-in\?next=%2Fmanage%2Fcharacters$},
         '... to the sign-in page, and back after it');
    $res = $old->get($res->{headers}{location} =~ s{^https?://[^/]+}{}r);
    like($res->{body}, qr{<input type="hidden" name="next" value="/manage/characters">},
         '... which the sign-in form remembers');
    $old->cookie(_grapevine_key => undef);
    $old->get('/sign-in');
    $res = $old->post('/sign-in', { login => 'Alice',
                                    password => 'correct horse',
                                    next => '/manage/settings' });
    like($res->{headers}{location}, qr{/manage/settings$},
         'signing in goes where the player was going');
    $old->get('/');
    is($old->post('/sign-out', {})->{status}, 303, '... and signs out');
    $old->get('/sign-in');
    $res = $old->post('/sign-in', { login => 'Alice',
                                    password => 'correct horse',
                                    next => '//evil.example/' });
    like($res->{headers}{location}, qr{^http://[^/]+/manage/characters$},
         '... but never to another site');
    $old->get('/');
    is($old->post('/sign-out', {})->{status}, 303, '... signed out again');
}

$res = $b->sign_in('alice', 'correct horse');
is($res->{status}, 303, 'sign in by username (any case)');
my $s2 = $res->{cookies}{_grapevine_key}{value};
ok($s2 && $s2 ne $session->{value}, 'a new token at sign-in');

$res = (Grapevine::SiteClient->new)->sign_in('Alice@EXAMPLE.org',
                                              'correct horse');
is($res->{status}, 303, 'sign in by email address (any case)');
is(sessions_of('Alice'), 2, 'one session per browser');

$res = $b->get('/users/Alice');
like($res->{body}, qr{Sign out}, 'signed in again');

# session fixation: a token planted before sign-in is never signed in
{
    my $victim = Grapevine::SiteClient->new;
    my $planted = 'ab' x 32;
    $victim->cookie(_grapevine_key => $planted);
    $res = $victim->sign_in('Alice', 'correct horse');
    is($res->{status}, 303, 'sign in with a planted session cookie');
    my $issued = $res->{cookies}{_grapevine_key}{value};
    isnt($issued, $planted, 'the planted token is replaced');
    is(sql_rows("SELECT count(*) FROM sessions WHERE token_hash = "
                . "sha256(decode(?, 'hex'))", $planted)->[0][0], 0,
       'the planted token never becomes a session');

    # and the session the browser had before is dropped at a new sign-in
    my $before = $issued;
    $res = $victim->sign_in('Alice', 'correct horse');
    isnt($res->{cookies}{_grapevine_key}{value}, $before,
         'signing in again issues another token');
    is(sql_rows("SELECT count(*) FROM sessions WHERE token_hash = "
                . "sha256(decode(?, 'hex'))", $before)->[0][0], 0,
       '... and ends the previous session of that browser');
}

# a session id in any other form is ignored, not an error
{
    my $c = Grapevine::SiteClient->new;
    $c->cookie(_grapevine_key => "'; DROP TABLE users; --");
    $res = $c->get('/');
    is($res->{status}, 200, 'a malformed session cookie is ignored');
    like($res->{body}, qr{href="/sign-in"}, '... as signed out');
}

# wrong passwords and unknown logins get the same answer
for my $case (['Alice', 'wrong password'], ['nobody', 'correct horse'],
              ['nobody@example.org', 'x' x 12])
{
    my $c = Grapevine::SiteClient->new;
    $res = $c->sign_in(@$case);
    is($res->{status}, 401, "sign in as $case->[0] with a wrong password: 401");
    like($res->{body}, qr/Wrong username, email address or password\./,
         '... one message for both');
    like($res->{body}, qr/name="login" value="\Q$case->[0]\E"/,
         '... the login is kept');
    ok(!$res->{cookies}{_grapevine_key}, '... no session');
}

{
    my $c = Grapevine::SiteClient->new;
    $c->get('/sign-in');
    $res = $c->post('/sign-in', { login => '', password => '' });
    is($res->{status}, 422, 'an empty sign-in form: 422');
    like($res->{body}, qr/Enter your username or email address and your password/,
         '... says what is missing');
}

# --------------------------------------------------------------- CSRF

{
    my $c = Grapevine::SiteClient->new;
    $c->get('/register');
    my $n = users();

    $res = $c->post('/register', { _csrf => undef, username => 'mallory',
                                   email => 'm@example.org',
                                   password => 'long enough password',
                                   password_confirmation =>
                                       'long enough password' });
    is($res->{status}, 403, 'sign up without a CSRF token: 403');
    like($res->{body}, qr/did not come from this site/, '... explained');

    $res = $c->post('/register', { _csrf => 'f' x 64, username => 'mallory',
                                   email => 'm@example.org',
                                   password => 'long enough password',
                                   password_confirmation =>
                                       'long enough password' });
    is($res->{status}, 403, 'sign up with a forged CSRF token: 403');

    # a page of another site can post, but has no token and no cookie
    my $other = Grapevine::SiteClient->new;
    $res = $other->post('/register', { _csrf => $c->csrf, username => 'mallory',
                                       email => 'm@example.org',
                                       password => 'long enough password',
                                       password_confirmation =>
                                           'long enough password' });
    is($res->{status}, 403, 'a token without its cookie: 403');
    is(users(), $n, 'no user was created by a forged form');

    $res = $other->post('/sign-in', { _csrf => undef, login => 'Alice',
                                      password => 'correct horse' });
    is($res->{status}, 403, 'sign in without a CSRF token: 403');
    ok(!$res->{cookies}{_grapevine_key}, '... and no session');
}

# signed in, the session's token counts, not the anonymous cookie's
{
    my $n = sessions_of('Alice');
    my $anon = $b->cookie('_grapevine_csrf');
    $res = $b->post('/sign-out', { _csrf => $anon });
    is($res->{status}, 403, 'signed in, the anonymous token does not count');
    $res = $b->post('/sign-out', { _csrf => undef });
    is($res->{status}, 403, 'sign out without a token: 403');
    is(sessions_of('Alice'), $n, '... still signed in');
    $res = $b->get('/manage/settings');
    is($res->{status}, 200, '... and the session works');
}

# ----------------------------------------------------------- settings

$res = $b->get('/manage/settings');
like($res->{body}, qr/alice\@example\.org/, 'settings show the email address');

$res = $b->post('/manage/settings', { change => 'email',
                                      email => 'new@example.org',
                                      current_password => 'wrong one!' });
is($res->{status}, 422, 'change email with a wrong current password: 422');
like($res->{body}, qr/Your current password is not right\./, '... explained');
is(sql_rows("SELECT email FROM users WHERE username = 'Alice'")->[0][0],
   'alice@example.org', '... nothing changed');

$res = $b->post('/manage/settings', { change => 'email',
                                      email => 'ELODIE@example.org',
                                      current_password => 'correct horse' });
is($res->{status}, 422, 'change email to a taken address: 422');
like($res->{body}, qr/already in use/, '... explained');

$res = $b->post('/manage/settings', { change => 'email', email => 'nope',
                                      current_password => 'correct horse' });
is($res->{status}, 422, 'change email to something else: 422');
like($res->{body}, qr/This is not an email address\./, '... explained');

$res = $b->post('/manage/settings', { change => 'email',
                                      email => 'alice@new.example',
                                      current_password => 'correct horse' });
is($res->{status}, 303, 'change email');
like($res->{headers}{location}, qr{/manage/settings\?saved=email$},
     '... back to the settings');
is(sql_rows("SELECT email FROM users WHERE username = 'Alice'")->[0][0],
   'alice@new.example', '... changed');
like($b->get('/manage/settings?saved=email')->{body},
     qr/Your email address was changed\./, '... and said so');

$res = $b->post('/manage/settings', { change => 'password',
                                      current_password => 'correct horse',
                                      password => 'short',
                                      password_confirmation => 'short' });
is($res->{status}, 422, 'a new password too short: 422');
like($res->{body}, qr/at least 10 characters/, '... explained');

$res = $b->post('/manage/settings', { change => 'password',
                                      current_password => 'correct horse',
                                      password => 'a new long password',
                                      password_confirmation => 'another' });
is($res->{status}, 422, 'new passwords that differ: 422');

$res = $b->post('/manage/settings', { change => 'password',
                                      current_password => '',
                                      password => 'a new long password',
                                      password_confirmation =>
                                          'a new long password' });
is($res->{status}, 422, 'no current password: 422');
like($res->{body}, qr/Enter your current password\./, '... explained');

my $hash = sql_rows("SELECT password_hash FROM users WHERE username = 'Alice'")
    ->[0][0];
ok(sessions_of('Alice') > 1, 'Alice has other sessions');

$res = $b->post('/manage/settings', { change => 'password',
                                      current_password => 'correct horse',
                                      password => 'a new long password',
                                      password_confirmation =>
                                          'a new long password' });
is($res->{status}, 303, 'change password');
isnt(sql_rows("SELECT password_hash FROM users WHERE username = 'Alice'")
     ->[0][0], $hash, '... the hash changed');
is(sessions_of('Alice'), 1, '... other browsers are signed out');
is($b->get('/manage/settings')->{status}, 200, '... this one is not');

is((Grapevine::SiteClient->new)->sign_in('Alice', 'correct horse')
   ->{status}, 401, 'the old password no longer works');
is((Grapevine::SiteClient->new)->sign_in('Alice', 'a new long password')
   ->{status}, 303, 'the new one does');

{
    my $c = Grapevine::SiteClient->new;
    $res = $c->get('/manage/settings');
    is($res->{status}, 303, 'settings need a session');
    $c->get('/sign-in');
    $res = $c->post('/manage/settings', { change => 'email',
                                          email => 'x@example.org',
                                          current_password => 'whatever' });
    is($res->{status}, 303, 'a settings form without a session goes to '
                            . 'the sign-in page');
    like($res->{headers}{location}, qr{/sign-in$}, '... which it names');
}

# ----------------------------------------------------------- throttling

# per account: 5 failures within the period, then even the right
# password is refused
{
    for my $i (1 .. 5) {
        my $c = Grapevine::SiteClient->new;
        $res = $c->sign_in('Elodie', "wrong password $i");
        is($res->{status}, 401, "wrong password $i for Elodie: 401");
    }

    my $c = Grapevine::SiteClient->new;
    $res = $c->sign_in('elodie', "\x{e9}" x 10);
    is($res->{status}, 429, 'the 6th try, with the right password: 429');
    like($res->{body}, qr/Too many failed attempts/, '... explained');
    ok(!$res->{cookies}{_grapevine_key}, '... no session');

    $res = $c->sign_in('elodie@example.org', "\x{e9}" x 10);
    is($res->{status}, 429, '... by email address too');

    # the period passes
    sql("UPDATE sign_in_failures SET at = at - interval '1 hour'");
    $res = $c->sign_in('elodie', "\x{e9}" x 10);
    is($res->{status}, 303, 'after the period the right password works');
    is(sql_rows("SELECT count(*) FROM sign_in_failures WHERE account = "
                . "'user:' || (SELECT id FROM users WHERE username = 'Elodie')"
                . " AND at > now() - interval '1 minute'")->[0][0], 0,
       '... and a success clears the account\'s failures');
}

# per address: limits from grapevine_sign_in_throttle
start(throttle => 'account=100 address=3 period=10m');
sql('DELETE FROM sign_in_failures');
{
    for my $who (qw(x1 x2 x3)) {
        $res = (Grapevine::SiteClient->new)->sign_in($who, 'wrong password!');
        is($res->{status}, 401, "address: failure as $who");
    }
    $res = (Grapevine::SiteClient->new)->sign_in('Alice',
                                                 'a new long password');
    is($res->{status}, 429, 'the address is throttled for every account');
    is(sql_rows('SELECT count(DISTINCT address) FROM sign_in_failures')
       ->[0][0], 1, 'failures are counted per address');
}

# ------------------------------------------------------ directives

my $bad = sub {
    my ($http, $re, $name) = @_;
    my $conf = Grapevine::Test::nginx_conf(
        http_config => Grapevine::Test::expand_vars($http),
        config => Grapevine::Test::expand_vars($site));
    stop_nginx();
    my ($rc, $out) = Grapevine::Test::nginx_test_conf($conf);
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $re, "$name: says why");
};

$bad->(http_config(extra => 'grapevine_thread_pool nosuchpool;'),
       qr/unknown thread pool "nosuchpool"/, 'an unknown thread pool');
$bad->(http_config(hash => 'ops=0'),
       qr/"grapevine_password_hash": invalid parameter "ops=0"/,
       'ops=0');
$bad->(http_config(hash => 'memory=1k'),
       qr/invalid parameter "memory=1k"/, 'too little memory');
$bad->(http_config(throttle => 'account=0'),
       qr/invalid parameter "account=0"/, 'a throttle of 0');
$bad->(http_config(extra => 'grapevine_session_lifetime 5s;'),
       qr/"grapevine_session_lifetime" directive must be a time between 1m and 366d/, 'a session of 5 s');
$bad->('grapevine_password_hash ops=1 memory=8m;',
       qr/"grapevine_site" in .* needs the database/, 'no database');

# a thread pool of one's own
{
    my $conf = Grapevine::Test::nginx_conf(
        main_config => 'thread_pool hashing threads=2;',
        http_config => Grapevine::Test::expand_vars(
            http_config(extra => 'grapevine_thread_pool hashing;')),
        config => Grapevine::Test::expand_vars($site));
    start_nginx(conf_text => $conf);
    $res = (Grapevine::SiteClient->new)->sign_up('Pooled');
    is($res->{status}, 303, 'signing up with a named thread pool');
}

# -------------------------------------- the event loop is never blocked

# Costly hashes (about a second each) in flight on both workers; the
# pages keep coming quickly meanwhile.
start(hash => 'ops=4 memory=128m');
{
    my @socks;
    for my $i (1 .. 4) {
        my $c = Grapevine::SiteClient->new;

        # every worker's pool is up (a loaded machine connects slowly)
        wait_until(sub { $c->get('/register'); defined $c->csrf }, 20, 0.2)
            or die "no sign-up form";
        my $body = join '&', map { "$_->[0]=$_->[1]" }
            ([_csrf => $c->csrf], [username => "slow$i"],
             [email => "slow$i\@example.org"],
             [password => 'slow+password+here'],
             [password_confirmation => 'slow+password+here']);
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . server_port())
            or die $!;
        print $s "POST /register HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n" . $c->cookie_header =~ s/\n/\r\n/r
                 . "Content-Type: application/x-www-form-urlencoded\r\n"
                 . "Content-Length: " . length($body) . "\r\n\r\n$body";
        push @socks, $s;
    }

    my $started = time;
    my ($slowest, $n) = (0, 0);
    while (time - $started < 0.8) {
        my $t = time;
        my $r = http_get('/chat');
        $n++;
        $slowest = time - $t if time - $t > $slowest;
        is($r->{status}, 200, "a page while hashing ($n)") if $n <= 3;
    }
    my $done = 0;
    for my $s (@socks) {
        local $/;
        my $raw = <$s>;
        $done++ if $raw =~ m{^HTTP/1.1 303};
    }
    is($done, 4, 'the four costly sign-ups finished');
    my $took = time - $started;

    # on the event loop, a page would wait for a whole hash (a worker has
    # two of the four to do)
    cmp_ok($slowest, '<', $took / 4,
           sprintf('%d pages while four hashes ran for %.2f s, the slowest '
                   . 'in %.3f s', $n, $took, $slowest));
}


# ===================================================== hardening (issue 11)

# Requests sent at once, each on a connection of its own, all written
# before any answer is read; read_all() then reads every answer:
# http_request()'s answers in order, each with "time", the seconds from
# the sending of the first request to its answer's end.
sub send_all {
    my (@reqs) = @_;
    my @sent;
    my $start = time;
    for my $q (@reqs) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . server_port(),
                                      Timeout => 10);
        if (!$s) {
            push @sent, { raw => '', error => "connect: $!" };
            next;
        }
        my $body = $q->{body} // '';
        (my $h = $q->{headers} // '') =~ s/(?<!\r)\n/\r\n/g;
        print $s "$q->{method} $q->{path} HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n$h"
                 . (length $body ? 'Content-Length: ' . length($body) . "\r\n"
                                 : '')
                 . "\r\n$body";
        push @sent, { sock => $s, raw => '' };
    }
    return { start => $start, sent => \@sent };
}

sub read_all {
    my ($batch) = @_;
    my @socks = grep { $_->{sock} } @{ $batch->{sent} };
    my %of = map { fileno($_->{sock}) => $_ } @socks;
    my $sel = IO::Select->new(map { $_->{sock} } @socks);
    my $deadline = time + 120;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $one = $of{fileno $s};
            my $n = sysread($s, my $buf, 65536);
            if ($n) {
                $one->{raw} .= $buf;
                next;
            }
            $one->{time} = time - $batch->{start};
            $sel->remove($s);
            close $s;
        }
    }
    return map {
        my $r = Grapevine::Test::parse_response($_->{raw}, 'POST');
        $r->{time} = $_->{time} // 999;
        $r;
    } @{ $batch->{sent} };
}

sub concurrently { return read_all(send_all(@_)) }

# a POST of a form as the browser $c would send it (its cookies, token)
sub form_request {
    my ($c, $path, $form, $headers) = @_;
    my %f = (_csrf => $c->csrf, %$form);
    my $body = join '&', map { Grapevine::SiteClient::urlencode($_) . '='
                               . Grapevine::SiteClient::urlencode($f{$_}) }
                         sort keys %f;
    return { method => 'POST', path => $path, body => $body,
             headers => $c->cookie_header . "Content-Type: application/"
                        . "x-www-form-urlencoded\n" . ($headers // '') };
}

sub statuses {
    my %n;
    $n{$_->{status}}++ for @_;
    return join ', ', map { "$n{$_} x $_" } sort keys %n;
}

sub median {
    # ($::b: the file's lexical $b is a browser)
    my @v = sort { $a <=> $::b } @_;
    return @v ? $v[$#v / 2] : 0;
}

# behind a proxy: nginx's realip module gives the client's address
my $realip = "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;";
sub from { return "X-Forwarded-For: $_[0]\n" }

sub sign_in_from {
    my ($addr, $login, $password, %form) = @_;
    my $c = Grapevine::SiteClient->new;
    $c->get('/sign-in', headers => from($addr));
    return $c->post('/sign-in', { login => $login, password => $password,
                                  %form }, headers => from($addr));
}

sub sign_up_from {
    my ($addr, $username, %opt) = @_;
    my $c = $opt{client} // Grapevine::SiteClient->new;
    $c->get('/register', headers => from($addr));
    return $c->post('/register', {
        username => $username,
        email => $opt{email} // lc($username) . '@example.org',
        password => 'correct horse battery',
        password_confirmation => 'correct horse battery',
    }, headers => from($addr));
}

sub failures_of {
    return sql_rows("SELECT count(*) FROM sign_in_failures WHERE account = "
                    . "'user:' || (SELECT id FROM users WHERE username = ?)",
                    $_[0])->[0][0];
}

my $alice_password = 'a new long password';
my $elodie_password = "\x{e9}" x 10;

# ------------------------------------ the throttle holds under concurrency

# 60 wrong passwords for one account at once: each attempt is counted
# before its password is checked, so no more than the limit are checked
# (401); the others are refused (429, or 503 past the worker's hashing
# capacity) without a hash.
start(hash => 'ops=1 memory=32m',
      throttle => 'account=5 address=1000 period=15m');
sql('DELETE FROM sign_in_failures');
{
    my $c = Grapevine::SiteClient->new;
    $c->get('/sign-in');
    my @res = concurrently(map {
        form_request($c, '/sign-in', { login => 'Alice',
                                       password => "wrong password $_" })
    } 1 .. 60);
    my $checked = grep { $_->{status} == 401 } @res;
    cmp_ok($checked, '<=', 5, '60 wrong passwords at once for one account: '
           . 'at most 5 checked (' . statuses(@res) . ')');
    is(scalar(grep { $_->{status} !~ /^(?:401|429|503)$/ } @res), 0,
       '... the others refused');
    cmp_ok(failures_of('Alice'), '<=', 5, '... at most 5 failures counted');
    is((Grapevine::SiteClient->new)->sign_in('Alice', $alice_password)
       ->{status}, 429, '... and the account is throttled now');

    # the settings' current password shares the throttle
    sql('DELETE FROM sign_in_failures');
    my $e = Grapevine::SiteClient->new;
    is($e->sign_in('Elodie', $elodie_password)->{status}, 303,
       'Elodie signs in');
    $e->get('/manage/settings');
    @res = concurrently(map {
        form_request($e, '/manage/settings',
                     { change => 'email', email => "e$_\@example.org",
                       current_password => "wrong password $_" })
    } 1 .. 30);
    $checked = grep { $_->{status} == 422 } @res;
    cmp_ok($checked, '<=', 5, '30 wrong current passwords at once in the '
           . 'settings: at most 5 checked (' . statuses(@res) . ')');
    is(scalar(grep { $_->{status} !~ /^(?:422|429|503)$/ } @res), 0,
       '... the others refused');
    is(sql_rows("SELECT email FROM users WHERE username = 'Elodie'")->[0][0],
       'elodie@example.org', '... nothing changed');
    is((Grapevine::SiteClient->new)->sign_in('Elodie', $elodie_password)
       ->{status}, 429, '... and signing in is throttled with them');
}

# --------------------------- one account, many addresses: who is locked

# Failures lock an account for the address they come from; a slower
# backstop counts the account's failures from every address.
start(throttle => 'account=3 address=100 period=15m', extra => $realip);
sql('DELETE FROM sign_in_failures');
{
    for my $i (1 .. 3) {
        is(sign_in_from('10.0.0.1', 'Elodie', "wrong password $i")->{status},
           401, "10.0.0.1: wrong password $i for Elodie");
    }
    is(sign_in_from('10.0.0.1', 'Elodie', $elodie_password)->{status}, 429,
       '10.0.0.1 is locked out of Elodie\'s account, even with the right '
       . 'password');
    is(sql_rows("SELECT string_agg(DISTINCT address, ',') "
                . "FROM sign_in_failures")->[0][0], '10.0.0.1',
       '... the address behind the proxy is counted (real_ip)');
    $res = sign_in_from('10.0.0.2', 'Elodie', $elodie_password);
    is($res->{status}, 303, 'Elodie signs in from another address');
    is(sign_in_from('10.0.0.1', 'Elodie', $elodie_password)->{status}, 429,
       '... which does not unlock the address that failed');
}

# the backstop: 7 failures from three addresses lock the account for all
ok(eval {
       start(throttle => 'account=3 address=100 backstop=7 period=15m',
             extra => $realip);
       1;
   }, 'grapevine_sign_in_throttle takes backstop=') or diag($@);
sql('DELETE FROM sign_in_failures');
{
    my @from = (('10.0.1.1') x 3, ('10.0.1.2') x 3, '10.0.1.3');
    for my $i (0 .. $#from) {
        is(sign_in_from($from[$i], 'Elodie', "wrong password $i")->{status},
           401, "$from[$i]: wrong password $i for Elodie");
    }
    $res = sign_in_from('10.0.1.9', 'Elodie', $elodie_password);
    is($res->{status}, 429, 'past the backstop, every address is locked out');
    like($res->{body}, qr/Too many failed attempts/, '... and told so');
    sql("UPDATE sign_in_failures SET at = at - interval '1 hour'");
    is(sign_in_from('10.0.1.9', 'Elodie', $elodie_password)->{status}, 303,
       '... until the period has passed');
}

# ------------------------------------ the password hashes a worker runs

sub worker_pids {
    my $master = nginx_pid();
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @pids, $1 if $line =~ /^(\d+) \(.*\) \S+ (\d+) / && $2 == $master;
    }
    return sort { $a <=> $::b } @pids;
}

# the most memory a process has held (kB)
sub peak_rss {
    open my $fh, '<', "/proc/$_[0]/status" or return 0;
    while (my $line = <$fh>) {
        return $1 if $line =~ /^VmHWM:\s+(\d+) kB/;
    }
    return 0;
}

# Pages fetched, one after the other, from a process of its own while
# the parent waits for a storm: stop() returns their statuses and times.
sub pages_meanwhile {
    my ($path) = @_;
    pipe(my $r, my $w) or die $!;
    my $pid = fork // die $!;
    if (!$pid) {
        close $r;
        $w->autoflush(1);
        my $until = time + 60;
        while (time < $until) {
            my $t = time;
            my $res = http_get($path);
            printf $w "%d %.4f\n", $res->{status}, time - $t;
        }
        POSIX::_exit(0);
    }
    close $w;
    return sub {
        kill 'TERM', $pid;
        waitpid $pid, 0;
        return map { [split ' '] } <$r>;
    };
}

# 60 sign-ins at once for logins nobody has: each is checked against the
# dummy hash, with argon2id's memory.  A worker runs at most "running"
# of them at once (default 2) and queues a few more (queue=, default 16);
# past that the answer is a quick 503.  Its memory stays bounded, and the
# pages stay quick meanwhile.
start(hash => 'ops=1 memory=32m',
      throttle => 'account=5 address=100000 period=15m');
{
    my $c = Grapevine::SiteClient->new;
    wait_until(sub { $c->get('/sign-in'); defined $c->csrf }, 20, 0.2);
    # each worker at work once (its connections made, its code paged in)
    http_get('/games') for 1 .. 4;
    my @workers = worker_pids();
    is(scalar @workers, 2, 'two workers');
    my %before = map { $_ => peak_rss($_) } @workers;

    my $stop = pages_meanwhile('/games');
    my @res = read_all(send_all(map {
        form_request($c, '/sign-in', { login => "ghost$_",
                                       password => 'not the password' })
    } 1 .. 60));
    my @pages = $stop->();

    for my $pid (@workers) {
        my $grew = (peak_rss($pid) - $before{$pid}) / 1024;
        cmp_ok($grew, '<', 3 * 32, sprintf('worker %d: its memory grew by '
               . '%.0f MiB at most, under three hashes of 32 MiB', $pid,
               $grew));
    }

    my @busy = grep { $_->{status} == 503 } @res;
    my @checked = grep { $_->{status} == 401 } @res;
    ok(@busy > 0, 'past the hashing capacity: 503 (' . statuses(@res) . ')');
    is(@busy + @checked, 60, '... the others were checked (401)');
    is(scalar(grep { ($_->{headers}{'retry-after'} // '') =~ /^\d+$/ }
              @busy), scalar @busy, '... every 503 with Retry-After');
    is(scalar(grep { $_->{body} =~ /The site is busy/ } @busy), scalar @busy,
       '... and a page that says so');
    my $slowest_busy = List::Util::max(map { $_->{time} } @busy);
    cmp_ok($slowest_busy // 999, '<', median(map { $_->{time} } @checked),
           sprintf('... at once: the slowest 503 in %.3f s, before the '
                   . 'median sign-in (%.3f s)', $slowest_busy // 999,
                   median(map { $_->{time} } @checked)));

    ok(@pages >= 3, scalar(@pages) . ' pages fetched meanwhile');
    is(scalar(grep { $_->[0] != 200 } @pages), 0, '... all of them 200');
    my $slowest_page = List::Util::max(map { $_->[1] } @pages) // 999;
    cmp_ok($slowest_page, '<', median(map { $_->{time} } @checked),
           sprintf('... the slowest in %.3f s, quicker than the median '
                   . 'sign-in (%.3f s)', $slowest_page,
                   median(map { $_->{time} } @checked)));
}

# the capacity is grapevine_password_hash's, and /_status shows it
ok(eval {
       start(hash => 'ops=1 memory=16m running=1 queue=2',
             throttle => 'account=5 address=100000 period=15m',
             server => "location = /_status { grapevine_status; }\n");
       1;
   }, 'grapevine_password_hash takes running= and queue=') or diag($@);
{
    my $c = Grapevine::SiteClient->new;
    wait_until(sub { $c->get('/sign-in'); defined $c->csrf }, 20, 0.2);
    my @res = concurrently(map {
        form_request($c, '/sign-in', { login => "ghost$_",
                                       password => 'not the password' })
    } 1 .. 40);
    ok(scalar(grep { $_->{status} == 503 } @res), '40 sign-ins at once with '
       . 'running=1 queue=2: some are refused (' . statuses(@res) . ')');
    my %seen;
    for (1 .. 20) {
        my $st = eval { json_decode(http_get('/_status')->{body}) } or next;
        $seen{$st->{pid}} = $st->{password_hashes};
    }
    ok(%seen, '/_status has the password hashes of ' . scalar(keys %seen)
       . ' worker(s)');
    for my $pid (sort keys %seen) {
        my $h = $seen{$pid} // {};
        is_deeply([ @$h{qw(running_max queue_max running waiting)} ],
                  [1, 2, 0, 0], "worker $pid: the capacity, and nothing "
                                . 'running once the storm is over');
        cmp_ok($h->{peak_running} // 99, '<=', 1,
               "worker $pid: never more than 1 hash running");
        cmp_ok($h->{peak_waiting} // 99, '<=', 2,
               "worker $pid: never more than 2 waiting");
    }
    my $refused = 0;
    $refused += $_->{refused} // 0 for values %seen;
    ok($refused > 0, "... and $refused refused");
}

# ------------------------------------------------------------- sign up

# sign-ups are throttled per address: 10 an hour by default
start(extra => $realip);
{
    my $n = users();
    for my $i (1 .. 10) {
        is(sign_up_from('10.0.5.1', "Many$i")->{status}, 303,
           "10.0.5.1 signs up Many$i");
    }
    $res = sign_up_from('10.0.5.1', 'Many11');
    is($res->{status}, 429, 'the 11th sign-up within the hour: 429');
    like($res->{body}, qr/Too many accounts were made from your address/,
         '... explained');
    ok(!$res->{cookies}{_grapevine_key}, '... not signed in');
    is(users(), $n + 10, '... and no account made');
    is(sign_up_from('10.0.5.2', 'Many11')->{status}, 303,
       'another address signs up');
}

# A name or an address being signed up is taken before its password is
# hashed: of 20 sign-ups of one name at once, one is hashed and made,
# and the others are refused at once, before it is done.
start(hash => 'ops=2 memory=64m queue=40', extra => $realip);
for my $case (['username', 20, sub { ('Samename', "same$_[0]\@example.org") },
               'This username is taken.'],
              ['email', 10, sub { ("Sharer$_[0]", 'shared@example.org') },
               'This email address is already in use.'])
{
    my ($what, $n, $fields, $msg) = @$case;
    my $users = users();
    my @res = concurrently(map {
        my $c = Grapevine::SiteClient->new;
        $c->get('/register', headers => from("10.0.6.$_"));
        my ($username, $email) = $fields->($_);
        form_request($c, '/register', {
            username => $username, email => $email,
            password => 'correct horse battery',
            password_confirmation => 'correct horse battery' },
            from("10.0.6.$_"));
    } 1 .. $n);
    my @made = grep { $_->{status} == 303 } @res;
    my @taken = grep { $_->{status} == 422 && $_->{body} =~ /\Q$msg\E/ } @res;
    is(scalar @made, 1, "$n sign-ups of one $what at once: one made");
    is(scalar @taken, $n - 1, "... the others told \"$msg\" ("
       . statuses(@res) . ')');
    my $late = grep { $_->{time} >= ($made[0]{time} // 0) } @taken;
    is($late, 0, '... each before the one made was done: their passwords '
       . 'were not hashed');
    is(users(), $users + 1, '... one account made');
}

# ------------------------------------------- a User-Agent of any bytes

# the browser's User-Agent is kept with its session: bytes that are not
# UTF-8 (or control characters) are replaced, never a reason to fail
start(extra => $realip);
{
    my $c = Grapevine::SiteClient->new(
        agent => "Bad\xff\xfeAgent/1.0 \xc0\xaf\x01(x)");
    $res = sign_up_from('10.0.7.1', 'Agent', client => $c);
    is($res->{status}, 303, 'signing up with a User-Agent that is not UTF-8');
    $c->get('/', headers => from('10.0.7.1'));
    is($c->post('/sign-out', {})->{status}, 303, '... signing out');
    $c->get('/sign-in', headers => from('10.0.7.1'));
    $res = $c->post('/sign-in', { login => 'Agent',
                                  password => 'correct horse battery' },
                    headers => from('10.0.7.1'));
    is($res->{status}, 303, '... and signing in');
    my $ua = sql_rows('SELECT user_agent FROM sessions s JOIN users u '
                      . 'ON u.id = s.user_id WHERE u.username = ?', 'Agent')
        ->[0][0] // '';
    like($ua, qr{^Bad.+Agent/1\.0 .+\(x\)$}, "... the agent kept, cleaned: "
         . json_encode($ua));
    unlike($ua, qr/[\x00-\x1f\x7f\x{80}-\x{ff}]/,
           '... without the bytes that were no text');
}

# ----------------------------------------------- next= stays on the site

# With absolute_redirect off, Location is what the site says: "//host"
# would be another site
start(extra => $realip, server => "absolute_redirect off;\n");
sql('DELETE FROM sign_in_failures');
{
    for my $next ('//evilexample/path', '///evilexample', '//evil-example') {
        my $c = Grapevine::SiteClient->new;
        $res = $c->get('/sign-in?next=' . Grapevine::SiteClient::urlencode(
                           $next), headers => from('10.0.8.1'));
        unlike($res->{body}, qr/name="next"/,
               "the sign-in form does not carry next=$next");
        $res = $c->post('/sign-in', { login => 'Alice',
                                      password => $alice_password,
                                      next => $next },
                        headers => from('10.0.8.1'));
        is($res->{headers}{location}, '/manage/characters',
           "signed in, next=$next is not followed off the site");
    }
    $res = sign_in_from('10.0.8.1', 'Alice', $alice_password,
                        next => '/manage/settings');
    is($res->{headers}{location}, '/manage/settings',
       'a path of the site is followed');
}

# ------------------------------------------------- names of the site's

{
    my $n = users();
    for my $name (qw(admin ADMIN Administrator system root Moderator
                     grapevine GrapeVine raisin sign-in SIGN-IN sign-out
                     register manage settings support))
    {
        $res = sign_up_from('10.0.9.1', $name);
        is($res->{status}, 422, "the username $name is reserved: 422");
        like($res->{body}, qr/This username is reserved\./, '... explained');
    }
    is(users(), $n, 'no reserved name was taken');
    is(sign_up_from('10.0.9.2', 'admina')->{status}, 303,
       'a name that merely begins like one is free');
}

# ---------------------------------------- cookies over https: __Host-

# Over https the cookies are __Host-grapevine_key and __Host-grapevine_csrf
# (Secure, Path=/, no Domain: a sibling subdomain cannot set or toss
# them).  The names of before do not count there, and are deleted.
my $tls = File::Temp::tempdir(CLEANUP => 1);
system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
       . "'/CN=localhost' -keyout $tls/key.pem -out $tls/cert.pem "
       . '>/dev/null 2>&1') == 0 or die 'openssl failed';
my $https_port = Test::TCP::empty_port();
start(extra => $realip,
      server => "listen 127.0.0.1:$https_port ssl;\n"
                . "ssl_certificate $tls/cert.pem;\n"
                . "ssl_certificate_key $tls/key.pem;\n");
sql('DELETE FROM sign_in_failures');
{
    my $s = Grapevine::SiteClient->new(port => $https_port, ssl => 1);
    $res = $s->get('/register');
    is($res->{status}, 200, 'https: the sign-up form');
    my $cc = $res->{cookies}{'__Host-grapevine_csrf'};
    ok($cc && $cc->{value} =~ /^[0-9a-f]{64}$/,
       'https: the CSRF cookie is __Host-grapevine_csrf');
    ok($cc && $cc->{attrs}{secure} && ($cc->{attrs}{path} // '') eq '/'
       && !exists $cc->{attrs}{domain} && $cc->{attrs}{httponly},
       '... Secure, Path=/, no Domain, HttpOnly');
    ok(!$res->{cookies}{_grapevine_csrf}, '... and there is no other');

    $res = $s->post('/register', { username => 'Secure',
                                   email => 'secure@example.org',
                                   password => 'correct horse battery',
                                   password_confirmation =>
                                       'correct horse battery' });
    is($res->{status}, 303, 'https: signing up');
    my $sk = $res->{cookies}{'__Host-grapevine_key'};
    ok($sk && $sk->{value} =~ /^[0-9a-f]{64}$/,
       '... the session cookie is __Host-grapevine_key');
    ok($sk && $sk->{attrs}{secure} && ($sk->{attrs}{path} // '') eq '/'
       && !exists $sk->{attrs}{domain} && $sk->{attrs}{httponly}
       && lc($sk->{attrs}{samesite} // '') eq 'lax',
       '... Secure, Path=/, no Domain, HttpOnly, SameSite=Lax');
    ok(!$res->{cookies}{_grapevine_key}, '... and there is no other');
    $res = $s->get('/manage/characters');
    is($res->{status}, 200, '... which signs in');
    like($res->{body}, qr{href="/users/Secure">Secure</a>}, '... as Secure');

    # a session cookie without the prefix (set before, or by a sibling
    # subdomain) does not sign in over https, and is deleted
    my $plain = Grapevine::SiteClient->new;
    is($plain->sign_in('Alice', $alice_password)->{status}, 303,
       'http: Alice signs in');
    my $old = Grapevine::SiteClient->new(port => $https_port, ssl => 1);
    $old->cookie(_grapevine_key => $plain->cookie('_grapevine_key'));
    $res = $old->get('/manage/characters');
    is($res->{status}, 303, 'https: a session cookie without the prefix '
       . 'does not sign in');
    is($res->{cookies}{_grapevine_key}{attrs}{'max-age'}, '0',
       '... and is deleted');
    ok(!$old->cookie('_grapevine_key'), '... from the browser');
    is($plain->get('/manage/characters')->{status}, 200,
       '... while http goes on with it');

    # nor does an anonymous token without the prefix
    my $t = Grapevine::SiteClient->new(port => $https_port, ssl => 1);
    $t->cookie(_grapevine_csrf => 'ab' x 32);
    $res = $t->post('/sign-in', { _csrf => 'ab' x 32, login => 'Secure',
                                  password => 'correct horse battery' });
    is($res->{status}, 403, 'https: a CSRF cookie without the prefix does not '
       . 'count');
    is($res->{cookies}{_grapevine_csrf}{attrs}{'max-age'}, '0',
       '... and is deleted');
    is($t->sign_in('Secure', 'correct horse battery')->{status}, 303,
       '... the form with its own cookie signs in');

    $res = $s->post('/sign-out', {});
    is($res->{status}, 303, 'https: signing out');
    is($res->{cookies}{'__Host-grapevine_key'}{attrs}{'max-age'}, '0',
       '... deletes the __Host- session cookie');
}

Grapevine::Test::cleanup();
done_testing();
