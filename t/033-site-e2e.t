# The site in a real browser (t/e2e/site.mjs): headless Chromium driven by
# playwright-core signs up, reads the registration key, has the test hub's
# player Zed of ExVenture send "register <key>", approves the character
# and finds it on the profile, the game page and the API; the hub got the
# success reply.  Screenshots of the main pages go to t/screenshots/.
#
# playwright-core comes from npm (t/e2e/package.json and its lock file),
# installed by this test into t/e2e/node_modules when missing.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::Browser;

my $root = root();

browser_ready();

my $hub = start_hub(seed => {
    games => [
        { game => 'ExVenture', display_name => 'ExVenture',
          description => "A MUD written in Elixir.\nCome and play.",
          homepage_url => 'https://exventure.org',
          connections => [{ type => 'telnet', host => 'exventure.org',
                            port => 5555 },
                          { type => 'web',
                            url => 'https://exventure.org/play' }] },
        { game => 'MidMUD', display_name => 'MidMUD',
          description => 'A quiet place.' },
    ],
    channels => [{ name => 'gossip', description => 'General chat',
                   hidden => JSON::PP::false }],
    events => [{ game => 'ExVenture', title => 'Double XP weekend',
                 start_date => 'today', end_date => 'today+2' }],
    achievements => [{ game => 'ExVenture', title => 'First steps',
                       description => 'Leave the inn', points => 10 }],
    players => { ExVenture => [qw(Zed Amy)] },
}, heartbeat => 1, sync => 'versions');

start_nginx(
    http_config => hub_http_config(
        extra => 'grapevine_password_hash ops=1 memory=8m;'),
    config => <<"CONF");
location / { grapevine_site; }
location /api/ { grapevine_api; }
location /static/ { alias $root/conf/static/; types { text/css css; } }
CONF

ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM games WHERE online')->[0][0] == 1
       && hub_app_online()
   }, 20, 0.2), 'the hub is synced and system@Grapevine is online');

hub_api(POST => '/broadcast', { channel => 'gossip', game => 'ExVenture',
                                name => 'Amy', message => 'Hello, network!' });

my $shots = "$root/t/screenshots";
my $site = 'http://127.0.0.1:' . server_port();
my $control = "http://127.0.0.1:$hub->{control}";

run_browser('site.mjs', [$site, $control, $shots], timeout => 90,
            steps => 13, screenshots => ["$shots/characters-approved.png",
                                         "$shots/phone-home.png"]);

is(sql_rows("SELECT state FROM characters WHERE name = 'Zed'")->[0][0],
   'approved', 'the database agrees');

Grapevine::Test::cleanup();
done_testing();
