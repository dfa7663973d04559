# The site on a network larger than a page (issue 11, "Scale"): every list
# a page shows is bounded (the online games on the home page, a game's
# players, achievements and connections, one's own characters) or paged
# (a game's characters, a profile, the channels, a channel's history); a
# stored message of any size makes a bounded page; the figures pages show
# are kept by the statements that change them, and stay right through
# every kind of change; every link's path segment is percent-encoded, and
# following it reaches the page it names.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;

my $site = <<'CONF';
location / { grapevine_site; }
CONF

start_nginx(http_config => Grapevine::Test::expand_vars(
                'grapevine_database "$TEST_NGINX_DB_CONNINFO";' . "\n"
                . 'grapevine_password_hash ops=1 memory=8m;'),
            config => $site);

sub page { http_get($_[0]) }

# the hrefs of a page, as written (HTML-escaped)
sub hrefs { [ $_[0]{body} =~ m{href="([^"]*)"}g ] }

sub unescape {
    my ($s) = @_;
    $s =~ s/&amp;/&/g;
    $s =~ s/&#x27;|&#39;/'/g;
    $s =~ s/&quot;/"/g;
    return $s;
}

# ------------------------------------------------------------- fixtures

sql(<<'SQL');
-- short names a link must encode; ".." can be no path segment at all
INSERT INTO games (remote_id, short_name, name, online)
VALUES (1, 'a/b', 'Slash', true), (2, 'a?b#c', 'Query', true),
       (3, 'x%2Fy', 'Percent', true), (4, '..', 'Dots', true),
       (5, 'sp ace', 'Space', true), (6, 'Busy', 'Busy', true);

-- 40 more online games, Online01 with the most players, then by name;
-- the first five have two players each
INSERT INTO games (remote_id, short_name, name, online)
SELECT 100 + i, 'Online' || lpad(i::text, 2, '0'),
       'Online ' || lpad(i::text, 2, '0'), true
FROM generate_series(1, 40) AS i;

INSERT INTO players_online (game_id, name)
SELECT g.id, 'P' || k FROM games g, generate_series(1, 5) AS k
WHERE g.short_name = 'Online01'
UNION ALL
SELECT g.id, 'R' || k FROM games g, generate_series(1, 2) AS k
WHERE g.remote_id <= 5
UNION ALL
SELECT g.id, 'Q' || k FROM games g, generate_series(1, 3) AS k
WHERE g.short_name IN ('Online02', 'Online03');

-- the busy game: 150 players, 130 achievements, 30 connections
INSERT INTO players_online (game_id, name)
SELECT id, 'Player' || lpad(k::text, 3, '0') FROM games,
       generate_series(1, 150) AS k WHERE short_name = 'Busy';

INSERT INTO achievements (remote_id, game_id, title, points)
SELECT k, id, 'Feat ' || lpad(k::text, 3, '0'), 1000 - k FROM games,
       generate_series(1, 130) AS k WHERE short_name = 'Busy';

INSERT INTO game_connections (game_id, remote_key, type, host, port)
SELECT id, 'k' || k, 'telnet', 'busy.example.org', 4000 + k FROM games,
       generate_series(1, 30) AS k WHERE short_name = 'Busy';

INSERT INTO users (username, email, password_hash)
SELECT 'user' || lpad(k::text, 3, '0'), 'user' || k || '@example.org', 'x'
FROM generate_series(1, 130) AS k;

-- 120 approved characters in Busy, of 120 players; one's player is
-- suspended later; and a pending and a denied one
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, 'Char' || lpad(k::text, 3, '0'), 'approved'
FROM generate_series(1, 120) AS k
JOIN users u ON u.username = 'user' || lpad(k::text, 3, '0')
JOIN games g ON g.short_name = 'Busy';

INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, n, s
FROM (VALUES ('Waiting', 'pending'), ('Refused', 'denied')) AS v (n, s)
JOIN users u ON u.username = 'user001'
JOIN games g ON g.short_name = 'Busy';

-- user130 plays the 45 other games, 60 characters: a profile of two pages
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, 'Hero' || lpad(k::text, 2, '0'), 'approved'
FROM generate_series(1, 60) AS k
JOIN users u ON u.username = 'user130'
JOIN games g ON g.id = (SELECT id FROM games WHERE short_name <> 'Busy'
                        ORDER BY id OFFSET (k - 1) % 45 LIMIT 1);

-- 120 public channels, one named like a path, and a hidden one
INSERT INTO channels (remote_id, name, description, hidden)
SELECT k, 'chan' || lpad(k::text, 3, '0'), NULL, false
FROM generate_series(1, 118) AS k;
INSERT INTO channels (remote_id, name, description, hidden)
VALUES (1000, 'gossip', 'General chat', false),
       (1001, 'a/b?c', 'a name that needs encoding', false),
       (1002, 'secret', 'staff', true);

-- gossip: 150 messages, one hidden, two of yesterday; one very long
INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message, hidden, inserted_at)
SELECT c.id, 'gossip', 'Busy', 'Zed', 'message ' || k, k = 7,
       CASE WHEN k <= 2 THEN now() - interval '2 days'
            ELSE now() - interval '1 hour' END
FROM channels c, generate_series(1, 150) AS k WHERE c.name = 'gossip';

INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
SELECT id, 'gossip', 'Busy', 'Spammer', 'long ' || repeat('x', 4995)
FROM channels WHERE name = 'gossip';

INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
SELECT id, name, 'Busy', 'Zed', 'psst' FROM channels
WHERE name IN ('secret', 'a/b?c');
SQL

# ------------------------------------------------------------ links

my $res = page('/');
is($res->{status}, 200, 'home');
my %home = map { $_ => 1 } @{ hrefs($res) };
ok($home{'/games/a%2Fb'}, 'home: a short name with a slash is one segment')
    or diag(join ' ', sort keys %home);
ok($home{'/games/a%3Fb%23c'}, 'home: "?" and "#" are encoded');
ok($home{'/games/x%252Fy'}, 'home: "%" is encoded');
ok($home{'/games/sp%20ace'}, 'home: a space is encoded');
ok(!(grep { m{^/games/\.\.?$} } keys %home),
   'home: no link to ".." (no path can name it)');
like($res->{body}, qr{>Dots<}, 'home: "Dots" is shown, without a link');

for my $case (['a%2Fb', 'Slash'], ['a%3Fb%23c', 'Query'],
              ['x%252Fy', 'Percent'], ['sp%20ace', 'Space'])
{
    my ($seg, $name) = @$case;
    $res = page("/games/$seg");
    is($res->{status}, 200, "/games/$seg: the link leads to a page");
    like($res->{body}, qr{<h1>\Q$name\E</h1>}, "/games/$seg: the page of $name");
}

$res = page('/games?games%5Bonline%5D=yes&page=2');
my %list = map { $_ => 1 } @{ hrefs($res) };
ok($list{'/games/a%2Fb'} && $list{'/games/x%252Fy'},
   '/games: the links are encoded');

$res = page('/users/user130?page=2');
like($res->{body}, qr{href="/games/a%2Fb"}, 'a profile: the game links too')
    or diag($res->{body});

$res = page('/chat');
my ($chan) = grep { /^\/chat\/a/ } @{ hrefs($res) };
is($chan, '/chat/a%2Fb%3Fc', '/chat: a channel\'s link is encoded');
$res = page($chan // '/chat/none');
is($res->{status}, 200, '... and leads to the channel');
like($res->{body}, qr{<h1>#a/b\?c</h1>}, '... its history');

# ------------------------------------------------------------- home

$res = page('/');
my @online = $res->{body} =~ m{<li class="card">\s*<h3>}g;
is(scalar @online, 24, 'home: 24 online games at most (of 46)');
my @first = $res->{body} =~ m{<h3>(?:<a href="[^"]*">)?([^<]+)}g;
is(join(',', @first[0 .. 3]), 'Busy,Online 01,Online 02,Online 03',
   'home: the most played first');
like($res->{body}, qr{href="/games\?games%5Bonline%5D=yes"[^>]*>[^<]*46},
     'home: a link to all 46 online games');
like($res->{body}, qr{<span class="number">46</span><span class="label">games online</span>},
     'home: games online');
like($res->{body}, qr{<span class="number">171</span><span class="label">players online</span>},
     'home: players online');
like($res->{body}, qr{<span class="number">180</span><span class="label">characters</span>},
     'home: approved characters');
like($res->{body}, qr{<span class="number">130</span><span class="label">players signed up</span>},
     'home: players signed up');
like($res->{body}, qr{<span class="number">150</span><span class="label">chat messages today</span>},
     'home: chat today (not hidden, not from two days ago)');

# ------------------------------------------------------------- a game

$res = page('/games/Busy');
my @chars = $res->{body} =~ m{<li>(Char\d+) }g;
is(scalar @chars, 50, 'a game: 50 characters a page');
is("$chars[0]-$chars[-1]", 'Char001-Char050', '... by name');
like($res->{body}, qr{href="/games/Busy\?page=2"[^>]*rel="next"},
     '... and a link to the next page');
$res = page('/games/Busy?page=3');
@chars = $res->{body} =~ m{<li>(Char\d+) }g;
is("$chars[0]-$chars[-1]", 'Char101-Char120', 'page 3: the rest');
like($res->{body}, qr{href="/games/Busy\?page=2"[^>]*rel="prev"},
     '... a link back');
unlike($res->{body}, qr{rel="next"}, '... and none further');

$res = page('/games/Busy');
my @players = $res->{body} =~ m{<li>(Player\d+)</li>}g;
is(scalar @players, 100, 'a game: 100 players online at most');
like($res->{body}, qr{and 50 more}, '... and how many more');
my @feats = $res->{body} =~ m{<h3>Feat}g;
is(scalar @feats, 100, 'a game: 100 achievements at most');
like($res->{body}, qr{and 30 more achievements}, '... and how many more');
my @conns = $res->{body} =~ m{<code>busy\.example\.org}g;
is(scalar @conns, 20, 'a game: 20 connections at most');

# ----------------------------------------------------------- a profile

$res = page('/users/user130');
my @heroes = $res->{body} =~ m{<h3>(Hero\d+)</h3>}g;
is(scalar @heroes, 50, 'a profile: 50 characters a page');
like($res->{body}, qr{href="/users/user130\?page=2"[^>]*rel="next"},
     '... and the next page');
$res = page('/users/user130?page=2');
@heroes = $res->{body} =~ m{<h3>(Hero\d+)</h3>}g;
is(scalar @heroes, 10, 'page 2: the rest');

# ------------------------------------------------------------- chat

$res = page('/chat');
my @chans = $res->{body} =~ m{<h3><a href="[^"]*">#([^<]+)</a></h3>}g;
is(scalar @chans, 100, '/chat: 100 channels a page');
unlike($res->{body}, qr{#secret}, '... not hidden ones');
like($res->{body}, qr{href="/chat\?page=2"[^>]*rel="next"}, '... paged');
$res = page('/chat?page=2');
@chans = $res->{body} =~ m{<h3><a href="[^"]*">#([^<]+)</a></h3>}g;
is(scalar @chans, 20, '/chat?page=2: the rest');
like($res->{body}, qr{#gossip</a></h3>.*?150 message\(s\)}s,
     '/chat: the count of visible messages');

$res = page('/chat/gossip');
like($res->{body}, qr{<span class="text">long x{2043}</span>},
     'a message is shown up to 2,048 characters')
    or diag(substr($res->{body}, 0, 3000));
unlike($res->{body}, qr{x{2044}}, '... and not beyond');
like($res->{body}, qr{class="truncated[ "]}, '... marked as cut');

# a page of history holds whatever is stored: 100 messages of 100 KB
sql(<<'SQL');
INSERT INTO channels (remote_id, name, hidden) VALUES (2000, 'flood', false);
INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
SELECT c.id, 'flood', 'Busy', 'Spammer', repeat('y', 102400)
FROM channels c, generate_series(1, 100) WHERE c.name = 'flood';
SQL
$res = page('/chat/flood');
is($res->{status}, 200, 'a channel of 100 messages of 100 KB');
cmp_ok(length $res->{body}, '<', 300_000,
       '... is a page of less than 300 KB');

# ------------------------------------------------ figures kept up to date
#
# Every kind of change, then the home page's figures and /chat's counts
# again: each equals a count from scratch (the queries the pages ran
# before the counts were kept), and the ones the change concerns moved.

my %oracle = (
    'games' => 'SELECT count(*) FROM games WHERE display',
    'games online' => 'SELECT count(*) FROM games WHERE display AND online',
    'players online' => 'SELECT count(*) FROM players_online p
                         JOIN games g ON g.id = p.game_id
                         WHERE g.display AND g.display_players',
    'players signed up' => 'SELECT count(*) FROM users',
    'characters' => "SELECT count(*) FROM characters
                     WHERE state = 'approved'",
    'chat messages today' => "SELECT count(*) FROM channel_messages
                              WHERE NOT hidden
                                AND inserted_at > now() - interval '1 day'",
);

sub figures {
    my $body = page('/')->{body};
    my %f;
    for my $label (keys %oracle) {
        $f{$label} = $body =~ m{<span class="number">(\d+)</span><span class="label">\Q$label\E</span>}
                     ? $1 : undef;
    }
    my $chat = page('/chat')->{body} . page('/chat?page=2')->{body};
    while ($chat =~ m{#([^<]+)</a></h3>.*?(\d+) message\(s\)(?: · last ([^<]+))?</p>}gs) {
        $f{"#$1"} = $2;
        $f{"#$1 last"} = $3 // 'never';
    }
    return \%f;
}

sub counted {
    my %f = map { $_ => sql_rows($oracle{$_})->[0][0] } keys %oracle;
    # (the last: when the newest message was said)
    for my $row (@{ sql_rows("SELECT c.name, count(m.id),
                                     coalesce(site_time((array_agg(
                                         m.inserted_at ORDER BY m.id DESC)
                                         FILTER (WHERE m.id IS NOT NULL))[1]),
                                              'never')
                              FROM channels c LEFT JOIN channel_messages m
                              ON m.channel_id = c.id AND NOT m.hidden
                              WHERE NOT c.hidden GROUP BY c.name") })
    {
        $f{"#$row->[0]"} = $row->[1];
        $f{"#$row->[0] last"} = $row->[2];
    }
    return \%f;
}

my @changes = (
    ['a game goes offline', "UPDATE games SET online = false "
        . "WHERE short_name = 'Online40'", 'games online'],
    ['a game is no longer listed', "UPDATE games SET display = false "
        . "WHERE short_name = 'Online01'",
     'games online', 'games', 'players online'],
    ['a game hides its players', "UPDATE games SET display_players = false "
        . "WHERE short_name = 'Online02'", 'players online'],
    ['it shows them again', "UPDATE games SET display_players = true "
        . "WHERE short_name = 'Online02'", 'players online'],
    ['players sign in', "INSERT INTO players_online (game_id, name) "
        . "SELECT id, 'New' || k FROM games, generate_series(1, 4) AS k "
        . "WHERE short_name IN ('Online05', 'Online01')", 'players online'],
    ['players sign out', "DELETE FROM players_online WHERE name = 'Q1'",
     'players online'],
    ['a player moves to another game', "UPDATE players_online SET "
        . "game_id = (SELECT id FROM games WHERE short_name = 'Online01') "
        . "WHERE name = 'Q2' AND game_id = (SELECT id FROM games "
        . "WHERE short_name = 'Online02')", 'players online'],
    ['a game and its players are deleted', "DELETE FROM games "
        . "WHERE short_name = 'Online03'",
     'games online', 'games', 'players online', 'characters'],
    ['a game comes', "INSERT INTO games (remote_id, short_name, name, "
        . "online) VALUES (9999, 'Late', 'Late', true)",
     'games online', 'games'],
    ['a character is approved', "UPDATE characters SET state = 'approved' "
        . "WHERE name = 'Waiting'", 'characters'],
    ['characters are removed', "DELETE FROM characters "
        . "WHERE name IN ('Char001', 'Refused', 'Hero01')", 'characters'],
    ['an account is deleted', "DELETE FROM users WHERE username = 'user002'",
     'players signed up', 'characters'],
    ['an account signs up', "INSERT INTO users (username, email, "
        . "password_hash) VALUES ('late', 'late\@example.org', 'x')",
     'players signed up'],
    ['a message is hidden', "UPDATE channel_messages SET hidden = true "
        . "WHERE message = 'message 100'", 'chat messages today', '#gossip'],
    ['messages are said', "INSERT INTO channel_messages (channel_id, "
        . "channel_name, game_name, player_name, message) "
        . "SELECT id, name, 'Busy', 'Zed', 'hi' FROM channels "
        . "WHERE name IN ('gossip', 'chan001')",
     'chat messages today', '#gossip', '#chan001'],
    ['the only message of a channel is hidden', "UPDATE channel_messages "
        . "SET hidden = true WHERE message = 'hi' "
        . "AND channel_name = 'chan001'",
     'chat messages today', '#chan001', '#chan001 last'],
    ['a message is shown again', "UPDATE channel_messages SET hidden = false "
        . "WHERE message = 'message 7'", 'chat messages today', '#gossip'],
    ['an old message is hidden', "UPDATE channel_messages SET hidden = true "
        . "WHERE message = 'message 1'", '#gossip'],
    ['a message is deleted', "DELETE FROM channel_messages "
        . "WHERE message = 'message 150'", 'chat messages today', '#gossip'],
    ['a message comes before its channel', "INSERT INTO channel_messages "
        . "(channel_name, game_name, player_name, message) "
        . "VALUES ('newchan', 'Busy', 'Zed', 'early')",
     'chat messages today'],
    ['the channel comes', "INSERT INTO channels (remote_id, name) "
        . "VALUES (3000, 'NewChan')", '#NewChan'],
    ['a channel is deleted', "DELETE FROM channels WHERE name = 'chan001'",
     '#chan001'],
    ['who is online is emptied', 'TRUNCATE players_online',
     'players online'],
    ['the chat is emptied', 'TRUNCATE channel_messages',
     'chat messages today', '#gossip'],
);

my $before = figures();
is_deeply($before, counted(), 'the figures equal a count from scratch');

for my $change (@changes) {
    my ($what, $sql, @moved) = @$change;
    sql($sql);
    my $now = figures();
    is_deeply($now, counted(), "$what: every figure equals a count")
        or diag(json_encode({ shown => $now, counted => counted() }));
    for my $label (@moved) {
        isnt($now->{$label} // 'none', $before->{$label} // 'none',
             "$what: $label changed");
    }
    $before = $now;
}

# ------------------------------------------------- one's own characters

my $me = Grapevine::SiteClient->new;
is($me->sign_up('collector')->{status}, 303, 'a player signs up');
sql(<<'SQL');
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, 'Mine' || lpad(k::text, 3, '0'),
       CASE WHEN k <= 110 THEN 'approved' ELSE 'pending' END
FROM generate_series(1, 115) AS k
JOIN users u ON u.username = 'collector'
JOIN games g ON g.short_name = 'Busy';
SQL
$res = $me->get('/manage/characters');
is($res->{status}, 200, '/manage/characters');
my ($approved) = $res->{body} =~ m{<ul class="rows" id="approved">(.*?)</ul>}s;
my @mine = ($approved // '') =~ m{<strong class="character">(Mine\d+)</strong>}g;
is(scalar @mine, 100, 'one\'s approved characters: 100 at most');
like($res->{body}, qr{and 10 more}, '... and how many more');

Grapevine::Test::cleanup();
done_testing();
