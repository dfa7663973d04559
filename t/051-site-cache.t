# The site's pages from the instance's cache (two workers): a signed-out
# page is the same for every signed-out visitor, kept as its HTML, and
# never older than the database: every page, changed by every kind of hub
# event (a game, presence, chat, events, characters, channels,
# connections) and by a site action (signing up), is seen at once by
# requests landing on both workers.  A signed-in visitor gets the page's
# kept data made personal, never the kept HTML, never another visitor's
# name or token, and never stale data; the forms' pages are not kept and
# still set their own CSRF cookie.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, description, online, display)
VALUES (1, 'ExVenture', 'ExVenture', 'A MUD.', true, true),
       (2, 'MidMUD', 'Mid MUD', 'Another.', true, true);
INSERT INTO players_online (game_id, name)
SELECT id, 'Amy' FROM games WHERE short_name = 'ExVenture';
INSERT INTO channels (remote_id, name, description) VALUES (1, 'gossip', 'General chat');
INSERT INTO users (username, email, password_hash)
VALUES ('eric', 'eric@example.org', 'x');
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, 'Ericson', 'approved' FROM users u, games g
WHERE u.username = 'eric' AND g.short_name = 'ExVenture';
SQL

start_nginx(http_config => 'grapevine_database "' . conninfo() . '";'
                           . "\ngrapevine_password_hash ops=1 memory=8m;",
            config => "location / { grapevine_site; "
                      . "add_header X-Worker \$pid always; }\n"
                      . "location = /_status { grapevine_status; }");

sub listeners {
    sql_rows("SELECT count(*) FROM pg_stat_activity "
             . "WHERE application_name = 'ngx_grapevine listen' "
             . "AND datname = current_database()")->[0][0];
}

ok(wait_until(sub { listeners() == 2 }, 10, 0.1),
   'each worker has its listening connection');

# a signed-out GET on a connection of its own: (cache, worker, response)
sub page {
    my $res = http_get($_[0]);
    return ($res->{headers}{'x-grapevine-cache'} // 'none',
            $res->{headers}{'x-worker'} // 0, $res);
}

# ----------------------------------------------- kept, for everyone alike

my @pages = ('/', '/games', '/games/ExVenture', '/users/eric', '/chat',
             '/chat/gossip');

for my $path (@pages) {
    my ($first, $hit);
    ok(wait_until(sub { ($first) = page($path); ($hit) = page($path);
                        $hit eq 'HIT' }, 5, 0.02),
       "$path: a second request is a hit");
    my (undef, undef, $a) = page($path);
    my (undef, undef, $b) = page($path);
    is($a->{status}, 200, "$path: 200");
    is($a->{headers}{'cache-control'}, 'private, no-cache',
       "$path: Cache-Control as any page (no shared cache keeps it)");
    ok(!exists $a->{headers}{'set-cookie'}, "$path: no cookie set");
    unlike($a->{body}, qr/name="_csrf"/, "$path: no form token in it");
}

# a visitor's CSRF cookie changes nothing in a kept page
my $visitor = Grapevine::SiteClient->new;
$visitor->get('/sign-in');
ok($visitor->cookie('_grapevine_csrf'), 'a visitor has a CSRF cookie');
my $plain = http_get('/games')->{body};
my $res = $visitor->get('/games');
is($res->{body}, $plain, 'with a CSRF cookie: the same page as without');
my $token = $visitor->cookie('_grapevine_csrf');
unlike($res->{body}, qr/\Q$token\E/, '... which does not hold the token');

# the forms' pages: never kept, each sets its own cookie
for my $path ('/sign-in', '/register') {
    my @c = map { page($path) } 1 .. 2;
    is($c[0], 'none', "$path: not kept");
    like($c[2]{headers}{'set-cookie'} // '', qr/_grapevine_csrf=[0-9a-f]{64}/,
         "$path: sets the visitor's CSRF cookie");
    is($c[2]{headers}{'cache-control'}, 'no-store', "$path: no-store");
}

# ---------------------------- every change seen at once, on both workers

my $n = 0;
my @changes = (
    [ 'a game\'s description (games)',
      sub { "UPDATE games SET description = 'Desc $_[0]' "
            . "WHERE short_name = 'ExVenture'" },
      [ '/games/ExVenture', '/games' ], sub { "Desc $_[0]" } ],
    [ 'presence: a player signs in (players_online)',
      sub { "INSERT INTO players_online (game_id, name) SELECT id, "
            . "'Player$_[0]' FROM games WHERE short_name = 'ExVenture'" },
      [ '/games/ExVenture' ], sub { "Player$_[0]" } ],
    [ 'presence: the figures of the home page (game_counts, site_counts)',
      sub { "INSERT INTO players_online (game_id, name) SELECT id, "
            . "'Home$_[0]' FROM games WHERE short_name = 'MidMUD'" },
      [ '/' ], sub {
          my $p = sql_rows("SELECT (site_home(NULL, '{}') "
                           . "-> 'figures' ->> 'players_online')")->[0][0];
          qr{<span class="number">$p</span><span class="label">players online} } ],
    [ 'chat: a message (channel_messages)',
      sub { "INSERT INTO channel_messages (id, channel_id, channel_name, "
            . "game_name, player_name, message) SELECT 9000 + $_[0], id, "
            . "name, 'ExVenture', 'Amy', 'hello $_[0]' FROM channels "
            . "WHERE name = 'gossip'" },
      [ '/chat/gossip' ], sub { "hello $_[0]" } ],
    [ 'a channel\'s description (channels)',
      sub { "UPDATE channels SET description = 'Topic $_[0]' "
            . "WHERE name = 'gossip'" },
      [ '/chat', '/chat/gossip' ], sub { "Topic $_[0]" } ],
    [ 'an event (events)',
      sub { "INSERT INTO events (remote_id, game_id, title, start_date) "
            . "SELECT 100 + $_[0], id, 'Event $_[0]', current_date + 1 "
            . "FROM games WHERE short_name = 'ExVenture'" },
      [ '/games/ExVenture' ], sub { "Event $_[0]" } ],
    [ 'a character (characters)',
      sub { "UPDATE characters SET name = 'Hero$_[0]' "
            . "WHERE user_id = (SELECT id FROM users "
            . "WHERE username = 'eric')" },
      [ '/users/eric', '/games/ExVenture' ], sub { "Hero$_[0]" } ],
    [ 'a connection (game_connections)',
      sub { "INSERT INTO game_connections (game_id, remote_key, type, "
            . "host, port) SELECT id, 'k$_[0]', 'telnet', "
            . "'host$_[0].example.org', 4000 FROM games "
            . "WHERE short_name = 'ExVenture'" },
      [ '/games/ExVenture' ], sub { "host$_[0].example.org" } ],
);

for my $c (@changes) {
    my ($what, $change, $paths, $expect) = @$c;
    my (@stale, %workers, %hits);
    for my $round (1 .. 4) {
        my $i = ++$n;
        for my $path (@$paths) {
            page($path) for 1 .. 2;         # kept, likely
        }
        sql($change->($i));
        my $want = $expect->($i);
        for my $path (@$paths) {
            for my $k (1 .. 3) {
                my ($cache, $pid, $r) = page($path);
                $workers{$pid}++;
                $hits{$cache}++;
                push @stale, "$round $path on $pid ($cache)"
                    unless $r->{status} == 200 && $r->{body} =~ $want;
            }
        }
    }
    is_deeply(\@stale, [], "$what: seen at once on every page that shows it")
        or diag(join "\n", @stale);
    is(scalar keys %workers, 2, "$what: ... answered by both workers")
        or diag(join ' ', %workers);
}

# a site action: signing up moves the home page's count of players
my $before = sql_rows("SELECT count(*) FROM users")->[0][0];
page('/') for 1 .. 2;
my $signer = Grapevine::SiteClient->new;
is($signer->sign_up('Newcomer')->{status}, 303, 'a visitor signs up');
my $users = $before + 1;
my @seen = map { (page('/'))[2]{body} =~
                 m{<span class="number">(\d+)</span><span class="label">players signed up} ? $1 : 'none' }
           1 .. 4;
is_deeply(\@seen, [($users) x 4],
          'signing up: the home page counts the new player at once');
my ($cache, undef, $profile) = page('/users/Newcomer');
is($profile->{status}, 200, '... and the new profile is there');

# ------------------------- signed in: never a kept page, never another's

my $alice = Grapevine::SiteClient->new;
is($alice->sign_up('Alice')->{status}, 303, 'Alice signs up');
my $bob = Grapevine::SiteClient->new;
is($bob->sign_up('Bobby')->{status}, 303, 'Bobby signs up');

my @wrong;
for my $round (1 .. 10) {
    for my $path (@pages) {
        page($path);
        for ([$alice, 'Alice', 'Bobby'], [$bob, 'Bobby', 'Alice']) {
            my ($who, $me, $other) = @$_;
            my $r = $who->get($path);
            my $tok = $who->csrf // '';
            push @wrong, "$me $path: no name"
                unless $r->{body} =~ /\b\Q$me\E\b/;
            push @wrong, "$me $path: $other\'s name"
                if $r->{body} =~ /\b\Q$other\E\b/ && $path !~ m{^/users/};
            push @wrong, "$me $path: kept"
                if $r->{headers}{'x-grapevine-cache'};
            push @wrong, "$me $path: not no-store"
                unless ($r->{headers}{'cache-control'} // '') eq 'no-store';
        }
    }
}
is_deeply(\@wrong, [], 'signed in: 10 rounds of every page, each visitor '
                       . 'sees only their own name, never the kept HTML')
    or diag(join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);

# signed in, the page's data comes from the cache
sub hits { (eval { json_decode(http_get('/_status')->{body}) } // {})
           ->{cache}{hits} // 0 }
$alice->get('/games/ExVenture') for 1 .. 2;
my $h0 = hits();
$alice->get('/games/ExVenture') for 1 .. 10;
cmp_ok(hits() - $h0, '>=', 9,
       'signed in: the page\'s data is read from the cache (hits)');

# ... and never older than the database
@wrong = ();
for my $i (1 .. 10) {
    sql("UPDATE games SET description = 'Signed $i' "
        . "WHERE short_name = 'ExVenture'");
    for my $who ($alice, $bob) {
        my $r = $who->get('/games/ExVenture');
        push @wrong, "$i" unless $r->{body} =~ /Signed $i\b/;
    }
}
is_deeply(\@wrong, [], 'signed in: 10 changes, each seen at once');

# the personal part of a profile: "Manage your characters" on one's own
like($alice->get('/users/Alice')->{body}, qr/Manage your characters/,
     'signed in: one\'s own profile is one\'s own');
unlike($bob->get('/users/Alice')->{body}, qr/Manage your characters/,
       '... another\'s is not');
unlike(http_get('/users/Alice')->{body}, qr/Manage your characters/,
       '... nor signed out');

my $ra = $alice->get('/games');
my $rb = $bob->get('/games');
my ($ta) = $ra->{body} =~ /name="_csrf" value="([0-9a-f]+)"/;
my ($tb) = $rb->{body} =~ /name="_csrf" value="([0-9a-f]+)"/;
ok($ta && $tb && $ta ne $tb, 'signed in: each page holds its visitor\'s '
                             . 'own token');
my $out = http_get('/games')->{body};
ok($out !~ /\Q$ta\E/ && $out !~ /\Q$tb\E/ && $out !~ /Alice|Bobby/,
   'signed out afterwards: nobody\'s name or token');

# ------------------------------- signed in: only the personal part rendered

# the content of a kept page is the signed-out visitors' content; what is
# personal is around it
{
    my $r = $alice->get('/games/ExVenture');
    my $o = http_get('/games/ExVenture')->{body};
    my ($ci) = $r->{body} =~ m{</header>\s*<main class="wrap">(.*)</main>}s;
    my ($co) = $o =~ m{</header>\s*<main class="wrap">(.*)</main>}s;
    s/\s+\z// for $ci, $co;
    is($ci, $co, 'signed in: the content is the same HTML as signed out');
    unlike($ci // '', qr/Alice|_csrf/, '... with nobody\'s name or token');
}

# the channel page's send form says whether the hub is away, which no
# table's change announces: read afresh for each signed-in visitor
sql("DELETE FROM hub_status");
$alice->get('/chat/gossip') for 1 .. 2;
like($alice->get('/chat/gossip')->{body}, qr/out of reach right now/,
     'signed in: the channel page says the hub is away');
sql("INSERT INTO hub_status (id, state, updated_at) VALUES (1, 'live', now())");
@wrong = grep { $alice->get('/chat/gossip')->{body} =~ /out of reach/ } 1 .. 4;
is(scalar @wrong, 0, '... and no more once it is back, at once');
like($alice->get('/chat/gossip')->{body},
     qr/Say something on #gossip as Alice\@/, '... with Alice\'s send form');
sql("UPDATE hub_status SET state = 'disconnected'");
@wrong = grep { $alice->get('/chat/gossip')->{body} !~ /out of reach/ } 1 .. 4;
is(scalar @wrong, 0, 'the hub away again: said at once');
# a link whose owner stopped reporting is away 15 s after its last report,
# which no change announces
sql("UPDATE hub_status SET state = 'live', "
    . "updated_at = now() - interval '13 seconds'");
@wrong = grep { $alice->get('/chat/gossip')->{body} =~ /out of reach/ } 1 .. 4;
is(scalar @wrong, 0, 'the hub back');
sleep 3;
@wrong = grep { $alice->get('/chat/gossip')->{body} !~ /out of reach/ } 1 .. 4;
is(scalar @wrong, 0, 'its owner silent for 15 s: the hub is away');
sql("UPDATE hub_status SET updated_at = now()");
@wrong = grep { $alice->get('/chat/gossip')->{body} =~ /out of reach/ } 1 .. 4;
is(scalar @wrong, 0, 'its owner reports again: the hub is back at once');
sql("DELETE FROM hub_status");
my $waiting = sql_rows("SELECT count(*) FROM hub_outbox "
                       . "WHERE sent_at IS NULL")->[0][0];
$alice->get('/chat/gossip') for 1 .. 2;
sql("INSERT INTO hub_outbox (frame) VALUES ('{}')");
$waiting++;
@wrong = grep { $alice->get('/chat/gossip')->{body} !~ /\($waiting waiting\)/ }
         1 .. 4;
is(scalar @wrong, 0, 'the hub away: what waits to go out, counted at once');
sql("DELETE FROM hub_outbox WHERE frame = '{}'");

# ------------------------------------- sessions from the cache, kept exact

# a copy of a browser's session cookie: another browser with that session
sub twin {
    my $t = Grapevine::SiteClient->new;
    $t->cookie($_, $_[0]->cookie($_)) for keys %{ $_[0]{jar} };
    return $t;
}

# signed in as NAME? (12 requests or more, until both workers answered
# one: "in" or "out" each, and how many workers answered them)
sub signed_in_as {
    my ($who, $name) = @_;
    my (%seen, @r);
    while (@r < 12 || (keys %seen < 2 && @r < 60)) {
        my $r = $who->get('/games');
        my $in = $r->{body} =~ m{<a href="/users/\Q$name\E">} ? 'in' : 'out';
        $in = 'error' unless $r->{status} == 200;
        $seen{$r->{headers}{'x-worker'} // 0} = 1;
        push @r, $in;
    }
    my %u = map { $_ => 1 } @r;
    return (join(' ', sort keys %u), scalar keys %seen);
}

sub fills { (eval { json_decode(http_get('/_status')->{body}) } // {})
            ->{cache}{fills} // 0 }
$alice->get('/games') for 1 .. 2;
$h0 = hits();
my $f0 = fills();
$alice->get('/games') for 1 .. 10;
cmp_ok(hits() - $h0, '>=', 19,
       'signed in: the session and the page\'s data both read from the '
       . 'cache (hits)');
is(fills() - $f0, 0, '... and neither read again from the database (no fill)');

my $carol = Grapevine::SiteClient->new;
is($carol->sign_up('Carol')->{status}, 303, 'Carol signs up');
my $carol2 = twin($carol);
my ($seen, $nw) = signed_in_as($carol2, 'Carol');
is($seen, 'in', 'the same session in another browser: signed in');
$carol->get('/games');
is($carol->post('/sign-out', {})->{status}, 303, 'Carol signs out');
($seen, $nw) = signed_in_as($carol2, 'Carol');
is($seen, 'out', 'signing out: at once, the session is no '
                              . 'one\'s ...');
is($nw, 2, '... on both workers');

my $dave = Grapevine::SiteClient->new;
is($dave->sign_up('Dave')->{status}, 303, 'Dave signs up');
($seen) = signed_in_as($dave, 'Dave');
is($seen, 'in', 'Dave is signed in');
sql("UPDATE users SET suspended_at = now() "
    . "WHERE username = 'Dave'");
($seen, $nw) = signed_in_as($dave, 'Dave');
is($seen, 'out', 'suspended: signed out at once ...');
is($nw, 2, '... on both workers');

my $erin = Grapevine::SiteClient->new;
is($erin->sign_up('Erin', password => 'correct horse battery')->{status},
   303, 'Erin signs up');
my $erin2 = Grapevine::SiteClient->new;
is($erin2->sign_in('Erin', 'correct horse battery')->{status}, 303,
   '... and signs in in another browser');
($seen) = signed_in_as($erin2, 'Erin');
is($seen, 'in', '... where she is signed in');
$erin->get('/manage/settings');
is($erin->post('/manage/settings', {
       change => 'password', current_password => 'correct horse battery',
       password => 'a new long password',
       password_confirmation => 'a new long password' })->{status},
   303, 'a new password');
($seen, $nw) = signed_in_as($erin2, 'Erin');
is($seen, 'out', '... ends the other browser\'s session at '
                              . 'once ...');
is($nw, 2, '... on both workers');
($seen) = signed_in_as($erin, 'Erin');
is($seen, 'in', '... not this one\'s');

# last_seen_at being written drops nothing; a kept session read again
# writes it
$alice->get('/games') for 1 .. 2;
sql("UPDATE sessions SET last_seen_at = now() - interval '1 hour' "
    . "WHERE user_id = (SELECT id FROM users WHERE username = 'Alice')");
$h0 = hits();
$alice->get('/games') for 1 .. 10;
cmp_ok(hits() - $h0, '>=', 19, 'last_seen_at written: the kept session '
                               . 'still used');
sql("UPDATE sessions SET expires_at = expires_at WHERE false");
$alice->get('/games');
ok(sql_rows("SELECT bool_and(last_seen_at > now() - interval '1 minute') "
            . "FROM sessions WHERE user_id = (SELECT id FROM users "
            . "WHERE username = 'Alice')")->[0][0],
   'a session read again writes last_seen_at');

# a token of no session: signed out, every time
my $forger = Grapevine::SiteClient->new;
$forger->cookie('_grapevine_key', 'ab' x 32);
($seen) = signed_in_as($forger, 'Alice');
is($seen, 'out', 'a token of no session: signed out');

# ------------------- signed in: the kept data holds all the rest reads

# only what the page reads around its content is kept with it: a page
# made from it is the page made from the whole statement (compared below,
# with the cache off), with Frank's name, her token and the hub's notice
my $frank = Grapevine::SiteClient->new;
is($frank->sign_up('Frank')->{status}, 303, 'Frank signs up');
my @kept_pages = (@pages, '/users/Frank');
my %kept;
for my $path (@kept_pages) {
    $frank->get($path) for 1 .. 2;
    $kept{$path} = $frank->get($path);
}
$h0 = hits();
$frank->get($_) for @kept_pages;
cmp_ok(hits() - $h0, '>=', 2 * @kept_pages,
       'signed in, Frank: every page from the kept data (hits)');
@wrong = ();
for my $path (@kept_pages) {
    my $b = $kept{$path}{body} // '';
    my $tok = $frank->csrf // 'none';
    push @wrong, "$path: $kept{$path}{status}"
        unless $kept{$path}{status} == 200;
    push @wrong, "$path: no name" unless $b =~ m{<a href="/users/Frank">};
    push @wrong, "$path: no token" unless $b =~ /value="\Q$tok\E"/;
}
is_deeply(\@wrong, [], '... each with her name and her token')
    or diag(join "\n", @wrong);
like($kept{'/chat/gossip'}{body}, qr/Say something on #gossip as Frank\@/,
     '... the channel page with Frank\'s send form');
like($kept{'/chat/gossip'}{body}, qr/out of reach right now/,
     '... and the hub\'s notice');
like($kept{'/users/Frank'}{body}, qr/Manage your characters/,
     '... her profile, her own');

# --------------------------------------------------- the zone's figures

my $st = eval { json_decode(http_get('/_status')->{body}) } // {};
cmp_ok($st->{cache}{hits} // 0, '>', 0, '/_status: cache hits');
cmp_ok($st->{cache}{fills} // 0, '>', 0, '/_status: cache fills');

# ------------------------------------------------ grapevine_site_cache off

start_nginx(http_config => 'grapevine_database "' . conninfo() . '";'
                           . "\ngrapevine_password_hash ops=1 memory=8m;"
                           . "\ngrapevine_site_cache off;",
            config => "location / { grapevine_site; }");
ok(wait_until(sub { listeners() == 0 }, 5, 0.1),
   'off: no listening connection');
is_deeply([map { (page('/games'))[0] } 1 .. 4], [('none') x 4],
          'off: every page is made afresh');

# (the content rendered apart ends with a blank line more: layout only)
sub lines { my $t = $_[0] // ''; $t =~ s/\n\s*\n/\n/g; $t }
@wrong = ();
for my $path (@kept_pages) {
    my $r = $frank->get($path);
    push @wrong, $path unless $r->{status} == 200
                              && lines($r->{body})
                                 eq lines($kept{$path}{body});
}
is_deeply(\@wrong, [], 'off: each page signed in, made from the whole '
                       . 'statement, is the page made from the kept data')
    or diag(join "\n", @wrong);

stop_nginx();
Grapevine::Test::cleanup();
done_testing();
