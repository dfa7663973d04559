# Raisin in a real browser (t/e2e/raisin.mjs): headless Chromium driven by
# playwright-core.  The test hub's players talk on #gossip; a moderator
# signs in (sent there by Raisin, and back after it), follows the header's
# Raisin link, opens the channel's log, hides a message with a reason, and
# the public /chat page and the API no longer show it; the audit log has
# the row.  Screenshots go to t/screenshots/raisin-*.png.
#
# playwright-core comes from npm (t/e2e/package.json and its lock file),
# installed by this test into t/e2e/node_modules when missing.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Grapevine::Raisin;
use Grapevine::Browser;
use Time::HiRes qw(time);

# a module built without Raisin (make GRAPEVINE_PARTS=…) has none to test
plan(skip_all => 'Raisin is not built') unless part_built('raisin');

my $root = root();

browser_ready();

start_hub(seed => {
    games => [{ game => 'ExVenture', display_name => 'ExVenture' },
              { game => 'MidMUD', display_name => 'MidMUD' }],
    channels => [{ name => 'gossip', description => 'General chat',
                   hidden => JSON::PP::false }],
    players => { ExVenture => [qw(Zed Amy)], MidMUD => ['Bo'] },
}, heartbeat => 1, sync => 'versions');

start_nginx(
    http_config => hub_http_config(
        extra => 'grapevine_password_hash ops=1 memory=8m;'),
    config => <<"CONF");
location / { grapevine_site; }
location /api/ { grapevine_api; }
location /raisin/ { raisin; }
location /static/ { alias $root/conf/static/; types { text/css css; } }
CONF

ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM games WHERE online')->[0][0] == 2
       && sql_rows("SELECT count(*) FROM channels WHERE name = 'gossip'")
          ->[0][0] == 1
   }, 20, 0.2), 'the hub is synced');

say_on_hub('ExVenture', 'Amy', 'Hello, network!');
my $spam = say_on_hub('ExVenture', 'Zed', 'Buy cheap gold at gold.example');
say_on_hub('MidMUD', 'Bo', 'Anyone up for a quest?');

my $user = 'mod' . lc(sprintf '%x', time * 1000 % 0xffffff);
my $password = 'correct horse battery';
is(Grapevine::SiteClient->new->sign_up($user, password => $password)
   ->{status}, 303, "the moderator $user signs up");
sql("UPDATE users SET role = 'moderator' WHERE username = ?", $user);

like(http_get('/chat/gossip')->{body}, qr/Buy cheap gold/,
     'before: the message is public');

my $shots = "$root/t/screenshots";
my $site = 'http://127.0.0.1:' . server_port();

run_browser('raisin.mjs', [$site, $shots, $user, $password, $spam,
                            'Buy cheap gold at gold.example',
                            'Hello, network!'], timeout => 120, steps => 12,
            screenshots => [map { "$shots/raisin-$_.png" }
                            qw(channel hidden public-chat)]);

is(sql_rows('SELECT hidden::int FROM channel_messages WHERE id = ?', $spam)
   ->[0][0], 1, 'the database agrees: the message is hidden');
is(json_encode(sql_rows('SELECT actor, action, reason FROM raisin_audit')),
   json_encode([[$user, 'message.hide', 'Selling gold is spam (e2e)']]),
   '... with one audit row, the moderator\'s, with the reason typed');
unlike(http_get('/chat/gossip')->{body}, qr/Buy cheap gold/,
       'after: /chat/gossip no longer shows it');
like(http_get('/chat/gossip')->{body}, qr/Hello, network!/,
     '... the others stay');

Grapevine::Test::cleanup();
done_testing();
