# The site's public pages and its templates: grapevine_templates is loaded
# with the configuration (an error fails nginx -t naming file and line, a
# reload picks up edits); home, games (online first, filters, paging), a
# game, a profile, chat history; 404/405/413/415 in the site's style.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use File::Copy qw(copy);
use File::Path qw(make_path);

my $root = root();
my $site = <<"CONF";
location / { grapevine_site; }
location /static/ { alias $root/conf/static/; }
CONF

sub http { join "\n", 'grapevine_database "' . conninfo() . '";', @_ }

# ------------------------------------------------------------- fixtures

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, description, online,
                   homepage_url, user_agent, display)
SELECT 100 + i, 'Game' || lpad(i::text, 2, '0'), 'Game ' || lpad(i::text, 2, '0'),
       'The game number ' || i, i % 4 = 0, NULL, NULL, true
FROM generate_series(1, 30) AS i;

INSERT INTO games (remote_id, short_name, name, description, online,
                   homepage_url, user_agent, user_agent_url)
VALUES (1, 'ExVenture', 'ExVenture', E'A MUD written in Elixir.\nCome play.',
        true, 'https://exventure.org', 'ExVenture 0.30',
        'javascript:alert(1)'),
       (2, 'Hidden', 'Hidden Game', 'not listed', true, NULL, NULL, NULL);
UPDATE games SET display = false WHERE short_name = 'Hidden';
-- the list shows homepages: one that is no http(s) URL
UPDATE games SET homepage_url = 'javascript:alert(2)'
WHERE short_name = 'Game01';

INSERT INTO game_connections (game_id, remote_key, type, host, port, url)
SELECT id, k, t, h, p, u FROM games,
  (VALUES ('a', 'telnet', 'exventure.org', 5555, NULL),
          ('b', 'secure telnet', 'exventure.org', 5556, NULL),
          ('c', 'web', NULL, NULL, 'https://exventure.org/play')) AS c(k, t, h, p, u)
WHERE short_name = 'ExVenture';

INSERT INTO players_online (game_id, name)
SELECT id, n FROM games, unnest(ARRAY['Zed', 'Amy']) AS n
WHERE short_name = 'ExVenture';

INSERT INTO events (remote_id, game_id, title, description, start_date,
                    end_date, is_deleted)
SELECT 1, id, 'Double XP', 'All weekend', current_date, current_date + 2, false
FROM games WHERE short_name = 'ExVenture'
UNION ALL
SELECT 2, id, 'Long gone', 'over', current_date - 30, current_date - 29, false
FROM games WHERE short_name = 'ExVenture'
UNION ALL
SELECT 3, id, 'Cancelled', 'deleted', current_date + 1, current_date + 1, true
FROM games WHERE short_name = 'ExVenture';

INSERT INTO achievements (remote_id, game_id, title, description, points,
                          display)
SELECT 1, id, 'First blood', 'Kill a rat', 10, true FROM games
WHERE short_name = 'ExVenture'
UNION ALL
SELECT 2, id, 'Secret', 'hidden', 5, false FROM games
WHERE short_name = 'ExVenture';

INSERT INTO users (username, email, password_hash)
VALUES ('alice', 'alice@example.org', 'x'), ('bob', 'bob@example.org', 'x');

INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, c.name, c.state
FROM (VALUES ('alice', 'Zed', 'approved'), ('alice', 'Yan', 'pending'),
             ('bob', 'Xu', 'denied')) AS c(username, name, state)
JOIN users u ON u.username = c.username
JOIN games g ON g.short_name = 'ExVenture';

INSERT INTO channels (remote_id, name, description, hidden)
VALUES (1, 'gossip', 'General chat', false), (2, 'secret', 'staff', true);

INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
SELECT 1, 'gossip', 'ExVenture', 'Zed', 'message ' || i
FROM generate_series(1, 150) AS i;

INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
VALUES (2, 'secret', 'ExVenture', 'Zed', 'psst');
SQL

start_nginx(http_config => http(), config => $site);

# --------------------------------------------------------------- home

my $res = http_get('/');
is($res->{status}, 200, 'home');
like($res->{body}, qr{<title>Home · Grapevine</title>}, 'titled');
like($res->{body}, qr{<link rel="stylesheet" href="/static/site.css">},
     'styled by the static style sheet');
like($res->{body}, qr{<meta name="viewport" content="width=device-width, initial-scale=1">},
     'made for phones too');
like($res->{body}, qr{<span class="number">8</span><span class="label">games online</span>},
     'games online now (hidden ones not counted)');
like($res->{body}, qr{<span class="number">2</span><span class="label">players online</span>},
     'players online');
like($res->{body}, qr{<span class="number">31</span><span class="label">games</span>},
     'games listed');
like($res->{body}, qr{<span class="number">1</span><span class="label">characters</span>},
     'approved characters');
like($res->{body}, qr{<a href="/games/ExVenture">ExVenture</a> <span class="badge online">online</span>},
     'online games are listed');
like($res->{body}, qr{2 playing}, 'with their players');
unlike($res->{body}, qr{Hidden Game}, 'not a game that is not displayed');
like($res->{body}, qr{href="/sign-in"}, 'a visitor may sign in');
is($res->{headers}{'cache-control'}, 'private, no-cache',
   'a public page is revalidated');
ok(!$res->{headers}{'set-cookie'}, 'a page without forms sets no cookie');

$res = http_request(method => 'HEAD', path => '/');
is($res->{status}, 200, 'HEAD /');
is($res->{body}, '', '... without a body');

# -------------------------------------------------------------- games

$res = http_get('/games');
is($res->{status}, 200, '/games');
my @names = $res->{body} =~ m{<h3>\s*<a href="/games/(\w+)">}g;
is(scalar @names, 25, '25 games a page');
is(join(',', @names[0 .. 8]),
   'ExVenture,Game04,Game08,Game12,Game16,Game20,Game24,Game28,Game01',
   'online games first, then by name');
like($res->{body}, qr{31 game\(s\), page 1 of 2}, 'the count and the pages');
like($res->{body}, qr{<a class="button ghost" href="/games\?page=2" rel="next">},
     'a link to the next page');
unlike($res->{body}, qr{rel="prev"}, 'none to a previous one');
unlike($res->{body}, qr{javascript:}, 'an unsafe homepage is not linked');
like($res->{body}, qr{<a href="https://exventure.org" rel="nofollow noopener">homepage</a>},
     'a safe one is');

$res = http_get('/games?page=2');
@names = $res->{body} =~ m{<h3>\s*<a href="/games/(\w+)">}g;
is(scalar @names, 6, 'page 2 has the rest');
like($res->{body}, qr{href="/games\?page=1" rel="prev"}, 'and goes back');

$res = http_get('/games?page=99');
is($res->{status}, 200, 'a page past the end');
like($res->{body}, qr{No game matches\.}, '... is empty');

$res = http_get('/games?page=-1&games%5Bname%5D=');
is($res->{status}, 200, 'a silly page number is page 1');

$res = http_get('/games?games%5Bname%5D=game+1');
@names = $res->{body} =~ m{<h3>\s*<a href="/games/(\w+)">}g;
is(join(',', @names), 'Game12,Game16,Game10,Game11,Game13,Game14,Game15,'
                      . 'Game17,Game18,Game19',
   'games[name] filters by name (online first)');
like($res->{body}, qr{<input type="search" name="games\[name\]" value="game 1"},
     'the filter is shown');

$res = http_get('/games?games%5Bonline%5D=yes');
@names = $res->{body} =~ m{<h3>\s*<a href="/games/(\w+)">}g;
is(scalar @names, 8, 'games[online]=yes: online games only');
like($res->{body}, qr{name="games\[online\]" value="yes" checked},
     'the box is ticked');

$res = http_get('/games?name=VENTURE');
@names = $res->{body} =~ m{<h3>\s*<a href="/games/(\w+)">}g;
is(join(',', @names), 'ExVenture', 'name= works too, in any case');

$res = http_get('/games?games%5Bname%5D=%3Cb%3E');
like($res->{body}, qr{value="&lt;b&gt;"}, 'the filter is escaped');

# --------------------------------------------------------------- game

$res = http_get('/games/exventure');
is($res->{status}, 200, 'a game page, any case');
like($res->{body}, qr{<h1>ExVenture</h1>\s*<span class="badge online">online</span>},
     'name and status');
like($res->{body}, qr{<p class="description">A MUD written in Elixir.\nCome play.</p>},
     'the description');
like($res->{body}, qr{<a href="https://exventure.org" rel="nofollow noopener">Homepage</a>},
     'the homepage');
unlike($res->{body}, qr{javascript:}, 'an unsafe URL is not linked');
like($res->{body}, qr{<span class="tag">telnet</span> <code>exventure.org 5555</code>},
     'how to connect: telnet');
like($res->{body}, qr{<span class="tag">secure telnet</span> <code>exventure.org 5556</code>},
     '... secure telnet');
like($res->{body}, qr{<a class="button small" href="https://exventure.org/play"},
     '... the web client');
like($res->{body}, qr{<li>Amy</li><li>Zed</li>}, 'players online');
like($res->{body}, qr{<strong>Double XP</strong> <span class="badge online">now</span>},
     'an event under way');
unlike($res->{body}, qr{Long gone|Cancelled}, 'not past or deleted events');
like($res->{body}, qr{<h3>First blood <span class="points">10 pts</span></h3>},
     'achievements');
unlike($res->{body}, qr{Secret}, 'not hidden ones');
like($res->{body}, qr{<li>Zed <a class="small muted" href="/users/alice">\(alice\)</a></li>},
     'registered (approved) characters');
unlike($res->{body}, qr{Yan|Xu}, 'not pending or denied ones');

sql("UPDATE games SET display_players = false WHERE short_name = 'ExVenture'");
$res = http_get('/games/ExVenture');
unlike($res->{body}, qr{Players online}, 'display_players off hides players');
sql("UPDATE games SET display_players = true WHERE short_name = 'ExVenture'");

$res = http_get('/games/Game01');
like($res->{body}, qr{<span class="badge">offline</span>}, 'an offline game');
like($res->{body}, qr{This game lists no connection\.}, '... without connections');

for my $path ('/games/Hidden', '/games/Nope', '/games/ExVenture/extra',
              '/users/nobody', '/chat/secret', '/chat/nope', '/nowhere',
              '/games/' . ('x' x 101))
{
    $res = http_get($path);
    is($res->{status}, 404, "$path: 404");
    like($res->{body}, qr{<h1>Page not found</h1>}, "$path: the site's 404 page");
    like($res->{body}, qr{<header class="top">}, "$path: in the site's style");
}

# ------------------------------------------------------------ profile

$res = http_get('/users/ALICE');
is($res->{status}, 200, 'a profile, any case');
like($res->{body}, qr{<h1>alice</h1>}, 'the username');
like($res->{body}, qr{<h3>Zed</h3>\s*<p class="small">in <a href="/games/ExVenture">ExVenture</a></p>},
     'approved characters');
unlike($res->{body}, qr{Yan}, 'not pending ones');
like(http_get('/users/bob')->{body}, qr{No character registered yet\.},
     'a profile without characters');

# --------------------------------------------------------------- chat

$res = http_get('/chat');
is($res->{status}, 200, '/chat');
like($res->{body}, qr{<a href="/chat/gossip">#gossip</a>}, 'public channels');
unlike($res->{body}, qr{secret}, 'not hidden ones');
like($res->{body}, qr{150 message\(s\)}, 'with their message counts');

$res = http_get('/chat/Gossip');
is($res->{status}, 200, 'a channel\'s history');
my @msgs = $res->{body} =~ m{<span class="text">message (\d+)</span>}g;
is(scalar @msgs, 100, 'the last 100 messages');
is("$msgs[0]-$msgs[-1]", '51-150', 'oldest first');
my ($older) = $res->{body} =~ m{href="(/chat/gossip\?before=\d+)">← Older};
ok($older, 'a link to older messages');
$res = http_get($older);
@msgs = $res->{body} =~ m{<span class="text">message (\d+)</span>}g;
is("$msgs[0]-$msgs[-1]", '1-50', 'the older messages');
unlike($res->{body}, qr{Older messages}, 'and no more');
like($res->{body}, qr{<span class="who">Zed\@ExVenture</span>}, 'who said it');

# ------------------------------------------------------ methods, forms

$res = http_request(method => 'POST', path => '/', body => 'a=b',
                    headers => "Content-Type: application/x-www-form-urlencoded\n");
is($res->{status}, 405, 'POST /: 405');
like($res->{headers}{allow}, qr/GET/, 'Allow names GET');
like($res->{body}, qr{Method not allowed}, 'the site\'s page');

$res = http_get('/sign-out');
is($res->{status}, 405, 'GET /sign-out: 405');
is($res->{headers}{allow}, 'POST', 'Allow: POST');

$res = http_request(method => 'PUT', path => '/games');
is($res->{status}, 405, 'PUT: 405');

$res = http_request(method => 'POST', path => '/sign-in',
                    body => 'login=' . ('x' x 9000),
                    headers => "Content-Type: application/x-www-form-urlencoded\n");
is($res->{status}, 413, 'a form too large: 413');

$res = http_request(method => 'POST', path => '/sign-in', body => 'login=x',
                    headers => "Content-Type: multipart/form-data; boundary=x\n");
is($res->{status}, 415, 'a form that is not urlencoded: 415');

$res = http_get('/games?games%5Bname%5D=%FF%FE');
is($res->{status}, 400, 'text that is not UTF-8: 400');
like($res->{body}, qr{not valid UTF-8}, '... explained');

# what yajl lets through but PostgreSQL refuses: a surrogate, an overlong
# form, a code point above U+10FFFF
for my $bad ('%ED%A0%80', '%C0%AF', '%F4%90%80%80') {
    $res = http_get("/games?games%5Bname%5D=$bad");
    is($res->{status}, 400, "strict UTF-8: $bad is refused with 400");
}

$res = http_get('/games?games%5Bname%5D=a%00b');
is($res->{status}, 400, 'a NUL: 400');

# the form's token first (the router checks it before anything else)
my $nul = Grapevine::SiteClient->new;
$nul->get('/sign-in');
$res = $nul->request(POST => '/sign-in',
                     body => 'login=a%00b&password=x&_csrf=' . $nul->csrf,
                     headers => "Content-Type: "
                                . "application/x-www-form-urlencoded\n");
is($res->{status}, 400, 'a NUL in a form: 400');

$res = http_get('/static/site.css');
is($res->{status}, 200, 'the style sheet is served by a plain location');
like($res->{body}, qr{\@media \(max-width: 640px\)}, 'with a phone layout');

# ---------------------------------------------------------- templates

my $dir = servroot() . '/templates';
make_path($dir);
copy($_, $dir) or die $! for glob "$root/conf/templates/*.mustache";

sub set_template {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name.mustache" or die $!;
    print $fh $text;
    close $fh;
}

start_nginx(http_config => http("grapevine_templates $dir;"), config => $site);
like(http_get('/')->{body}, qr{Text games, one network},
     'grapevine_templates: a copy of the shipped templates');

set_template('home', "{{<layout}}{{\$content}}<h1>Edited home</h1>\n"
                     . "{{/content}}{{/layout}}\n");
reload_nginx();
ok(wait_until(sub { http_get('/')->{body} =~ /Edited home/ }, 10, 0.1),
   'a reload picks up an edited template');

my $must_die = sub {
    my ($http, $re, $name) = @_;
    stop_nginx();
    my ($rc, $out) = Grapevine::Test::nginx_test_conf(
        Grapevine::Test::nginx_conf(http_config => $http, config => $site));
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $re, "$name: the message names the problem")
        or diag($out);
};

set_template('games', "line one\n{{#games}}\n{{name}}\n");
$must_die->(http("grapevine_templates $dir;"),
            qr{\[emerg\] \d+#\d+: grapevine_templates: \Q$dir\E/games\.mustache: line 2: unclosed section "games"},
            'an unclosed section');

set_template('games', "{{<layout}}\n{{\$content}}\n{{> nosuchpartial}}\n"
                      . "{{/content}}{{/layout}}\n");
$must_die->(http("grapevine_templates $dir;"),
            qr{\Q$dir\E/games\.mustache: line 3: .*nosuchpartial},
            'a partial that does not exist');

set_template('games', "{{#a}}{{/b}}\n");
$must_die->(http("grapevine_templates $dir;"),
            qr{games\.mustache: line 1: }, 'mismatched tags');

unlink "$dir/games.mustache";
$must_die->(http("grapevine_templates $dir;"),
            qr{grapevine_templates: \Q$dir\E/games\.mustache is missing},
            'a page template that is missing');

$must_die->(http("grapevine_templates $dir/nope;"),
            qr{grapevine_templates: .*nope}, 'a directory that is missing');

$must_die->(http("grapevine_templates $dir;", "grapevine_templates $dir;"),
            qr{"grapevine_templates" directive is duplicate},
            'grapevine_templates twice');

# Raisin's templates are needed only where raisin is used: a theme made
# before Raisin keeps working for the site alone
copy("$root/conf/templates/games.mustache", $dir) or die $!;
unlink "$dir/raisin-user.mustache" or die $!;
start_nginx(http_config => http("grapevine_templates $dir;"), config => $site);
is(http_get('/')->{status}, 200,
   'a theme without the Raisin templates serves the site without raisin');
if (part_built('raisin')) {
    $site .= "location /raisin/ { raisin; }\n";
    $must_die->(http("grapevine_templates $dir;"),
                qr{grapevine_templates: \Q$dir\E/raisin-user\.mustache is missing \(raisin in \S+:\d+ needs it\)},
                'a Raisin template that is missing, with raisin');
}

Grapevine::Test::cleanup();
done_testing();
