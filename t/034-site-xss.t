# Hostile text renders inert on every page: a game synced from the hub with
# markup in its description, name, links, connections, events and
# achievements; chat messages, player and character names; form input
# shown again.  No page holds a script, every value is escaped, and only
# http(s) URLs become links.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;

my $evil = q{<script>alert("xss")</script><img src=x onerror=alert(1)>'"&};

start_hub(seed => {
    games => [{
        game => 'Evil', display_name => "Evil $evil",
        description => "Welcome! $evil",
        homepage_url => 'javascript:alert(1)',
        user_agent => "Agent $evil",
        user_agent_url => 'javascript:alert(2)',
        connections => [{ type => 'telnet', host => "h$evil", port => 23 },
                        { type => 'web', url => 'javascript:alert(3)' }],
    }],
    events => [{ game => 'Evil', title => "Party $evil",
                 description => "Bring $evil", start_date => 'today',
                 end_date => 'today+1' }],
    achievements => [{ game => 'Evil', title => "Win $evil",
                       description => "Do $evil", points => 5 }],
    channels => [{ name => 'gossip', description => "Chat $evil",
                   hidden => JSON::PP::false }],
    players => { Evil => ['Zed'] },
}, heartbeat => 1, sync => 'versions');

start_nginx(
    http_config => hub_http_config(
        extra => 'grapevine_password_hash ops=1 memory=8m;'),
    config => 'location / { grapevine_site; }');

ok(wait_until(sub {
       my $r = sql_rows("SELECT description FROM games WHERE short_name = "
                        . "'Evil' AND online");
       @$r && $r->[0][0] eq "Welcome! $evil"
   }, 20, 0.1), 'the hostile game is synced from the hub, as it is');
ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM events')->[0][0] == 1
       && sql_rows('SELECT count(*) FROM achievements')->[0][0] == 1
   }, 20, 0.1), 'with its event and achievement');

# what the hub strips (names, messages) goes in directly
sql(q{INSERT INTO players_online (game_id, name)
      SELECT id, $1 FROM games WHERE short_name = 'Evil'}, "P$evil");
sql(q{INSERT INTO channel_messages (channel_id, channel_name, game_name,
                                    player_name, message)
      SELECT id, name, $1, $2, $3 FROM channels WHERE name = 'gossip'},
    "G$evil", "N$evil", "M$evil");

my $alice = Grapevine::SiteClient->new;
$alice->sign_up('alice');
sql(q{INSERT INTO characters (user_id, game_id, name, state)
      SELECT u.id, g.id, $1, 'approved' FROM users u, games g
      WHERE u.username = 'alice' AND g.short_name = 'Evil'}, "C$evil");
sql(q{INSERT INTO characters (user_id, game_id, name, state)
      SELECT u.id, g.id, $1, 'pending' FROM users u, games g
      WHERE u.username = 'alice' AND g.short_name = 'Evil'}, "D$evil");

my $escaped = qr{&lt;script&gt;alert\(&quot;xss&quot;\)&lt;/script&gt;&lt;img src=x onerror=alert\(1\)&gt;&#39;&quot;&amp;};

sub inert {
    my ($name, $res, @must) = @_;
    is($res->{status}, $res->{want} // 200, "$name: status");
    # the layout's one script, the site's own file, is no data: any other
    # script element is
    (my $body = $res->{body})
        =~ s{^<script src="/static/live\.js" defer></script>\n}{}m;
    unlike($body, qr{<script|<img|onerror=alert\(1\)>}i,
           "$name: no markup from the data");
    unlike($res->{body}, qr{href="javascript:}i,
           "$name: no javascript: link");
    like($res->{body}, $escaped, "$name: the text is there, escaped")
        if !@must || $must[0];
    like($res->{headers}{'content-security-policy'} // '',
         qr/script-src 'self';/,
         "$name: and no injected script could run anyway (own files only)");
}

inert('home', http_get('/'));
inert('games', http_get('/games'));
inert('games, filtered', http_get('/games?games%5Bname%5D=evil'));
my $game = http_get('/games/Evil');
inert('the game page', $game);
for my $what ('Welcome! ', 'Evil ', 'Agent ', 'Party ', 'Bring ', 'Win ',
              'Do ', 'h', 'P', 'C')
{
    like($game->{body}, qr{\Q$what\E$escaped}, "the game page: \"$what...\"");
}
unlike($game->{body}, qr{Homepage</a>}, 'the javascript: homepage is no link');
unlike($game->{body}, qr{Play in the browser}, 'nor the javascript: client');

inert('the profile', http_get('/users/alice'));
inert('the chat', http_get('/chat'));
my $channel = http_get('/chat/gossip');
inert('the channel', $channel);
for my $what ('G', 'N', 'M') {
    like($channel->{body}, qr{\Q$what\E$escaped}, "the channel: \"$what...\"");
}

my $chars = $alice->get('/manage/characters');
inert('the characters page', $chars);
like($chars->{body}, qr{D$escaped}, 'a pending hostile name, escaped');

# form input shown again
{
    my $c = Grapevine::SiteClient->new;
    $c->get('/sign-in');
    my $res = $c->post('/sign-in', { login => $evil, password => 'whatever!!' });
    $res->{want} = 401;
    inert('sign-in shows the login again', $res);

    $c->get('/register');
    $res = $c->post('/register', { username => $evil, email => $evil,
                                   password => 'x', password_confirmation => 'y' });
    $res->{want} = 422;
    inert('sign-up shows the form again', $res);
    like($res->{body}, qr{name="username" value="$escaped"},
         'an attribute value is escaped');
}

inert('a 404', { %{ http_get('/games/' . '%3Cscript%3E') }, want => 404 }, 0);
inert('a 404 by path', { %{ http_get('/users/%3Cscript%3Ealert(1)%3C%2Fscript%3E') },
                         want => 404 }, 0);

Grapevine::Test::cleanup();
done_testing();
