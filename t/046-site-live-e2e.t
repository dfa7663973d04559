# Live pages in real browsers (t/e2e/live.mjs): two headless Chromium
# sessions on /chat/gossip see a message said on the Gossip test hub within
# a second without a reload, and see it go when a moderator hides it in
# Raisin; a player who signs in on the hub shows on the game's page and in
# the home page's figures; sending through the site's chat form shows on the other session
# (skipped while the site has no such route).  The page's script is the
# site's own file, under a Content-Security-Policy that allows nothing
# else.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Grapevine::Browser;
use Time::HiRes qw(time);

plan(skip_all => 'Raisin is not built') unless part_built('raisin');

my $root = root();

browser_ready();

my $hub = start_hub(seed => {
    games => [{ game => 'ExVenture', display_name => 'ExVenture' }],
    channels => [{ name => 'gossip', description => 'General chat',
                   hidden => JSON::PP::false }],
    players => { ExVenture => [qw(Zed Amy)] },
}, heartbeat => 1, sync => 'versions');

start_nginx(
    http_config => hub_http_config(
        extra => 'grapevine_password_hash ops=1 memory=8m;'),
    config => <<"CONF");
location / { grapevine_site; }
location /api/ { grapevine_api; }
location /raisin/ { raisin; }
location /static/ {
    alias $root/conf/static/;
    types { text/css css; application/javascript js; }
}
CONF

ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM games WHERE online')->[0][0] == 1
       && sql_rows("SELECT count(*) FROM channels WHERE name = 'gossip'")
          ->[0][0] == 1
   }, 20, 0.2), 'the hub is synced');

my $user = 'live' . lc(sprintf '%x', time * 1000 % 0xffffff);
my $password = 'correct horse battery';
is(Grapevine::SiteClient->new->sign_up($user, password => $password)
   ->{status}, 303, "the moderator $user signs up");
sql("UPDATE users SET role = 'moderator' WHERE username = ?", $user);

my $page = http_get('/chat/gossip');
like($page->{body}, qr{<script src="/static/live\.js" defer></script>},
     'the page loads the site\'s one script');
like($page->{body},
     qr{<ol\ class="messages"\ data-stream="/api/channels/gossip/events"
        \ data-last-id="\d+">}x, 'the latest page says where its stream is')
    or diag($page->{body} =~ /(<ol[^>]*>)/);
unlike(http_get('/chat/gossip?before=1')->{body}, qr{data-stream},
       'an older page is not live');
like($page->{headers}{'content-security-policy'}, qr/script-src 'self';/,
     'scripts: the site\'s own only');

my $shots = "$root/t/screenshots";
my $site = 'http://127.0.0.1:' . server_port();
my $control = "http://127.0.0.1:$hub->{control}";

run_browser('live.mjs', [$site, $control, $shots, $user, $password],
            timeout => 120, steps => 6,
            screenshots => ["$shots/live-chat.png", "$shots/live-game.png"]);

is(sql_rows("SELECT count(*) FROM channel_messages WHERE hidden "
            . "AND message LIKE 'live from the hub %'")->[0][0], 1,
   'the database agrees: the message said on the hub is hidden');

Grapevine::Test::cleanup();
done_testing();
