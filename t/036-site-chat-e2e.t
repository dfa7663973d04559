# Web chat in a real browser with script turned off (t/e2e/chat.mjs):
# headless Chromium signs up, sends a message from /chat/gossip's form
# (post, redirect, get), finds it on the page once, reloads without
# sending it again, and is told why white space and a too long line are
# refused; the hub got the message as channels/send.  Screenshots go to
# t/screenshots/.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::Browser;

my $root = root();

browser_ready();

my $hub = start_hub(seed => {
    games => [{ game => 'ExVenture', display_name => 'ExVenture' }],
    channels => [{ name => 'gossip', description => 'General chat',
                   hidden => JSON::PP::false }],
}, heartbeat => 1);

start_nginx(
    http_config => hub_http_config(
        extra => 'grapevine_password_hash ops=1 memory=8m;'),
    config => <<"CONF");
location / { grapevine_site; }
location /static/ { alias $root/conf/static/; types { text/css css; } }
CONF

ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM channels')->[0][0] == 1
       && hub_app_online()
   }, 20, 0.2), 'the hub is synced and system@Grapevine is online');

my $shots = "$root/t/screenshots";
my $site = 'http://127.0.0.1:' . server_port();
my $control = "http://127.0.0.1:$hub->{control}";

run_browser('chat.mjs', [$site, $control, $shots], timeout => 90,
            steps => 10, screenshots => ["$shots/chat-sent.png",
                                         "$shots/chat-empty.png"]);

is(sql_rows(q{SELECT count(*) FROM channel_messages
              WHERE game_name = 'Grapevine'})->[0][0], 1,
   'the database holds the one message sent');

Grapevine::Test::cleanup();
done_testing();
