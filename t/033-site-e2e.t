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
use Time::HiRes qw(time);

my $root = root();
my $e2e = "$root/t/e2e";
my $chromium = $ENV{CHROMIUM} // '/usr/bin/chromium';

for my $tool ($chromium, '/usr/bin/node') {
    -x $tool or BAIL_OUT("$tool is missing: run make deps");
}

# playwright-core, pinned by the lock file
my $stamp = "$e2e/node_modules/.package-lock.json";
if (!-e "$e2e/node_modules/playwright-core/package.json"
    || (-M $stamp // 0) > (-M "$e2e/package-lock.json"))
{
    my $out = `cd $e2e && timeout 300 npm ci --no-audit --no-fund 2>&1`;
    is($?, 0, 'npm ci installs playwright-core') or diag($out);
}

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
       && grep { ($_->{game} // '') eq 'Grapevine'
                 && grep { $_ eq 'system' } @{ $_->{players} // [] } }
               @{ hub_api(GET => '/state')->{online} // [] }
   }, 20, 0.2), 'the hub is synced and system@Grapevine is online');

hub_api(POST => '/broadcast', { channel => 'gossip', game => 'ExVenture',
                                name => 'Amy', message => 'Hello, network!' });

my $shots = "$root/t/screenshots";
my $site = 'http://127.0.0.1:' . server_port();
my $control = "http://127.0.0.1:$hub->{control}";

my $started = time;
my $out = `cd $e2e && timeout 90 node site.mjs $site $control $shots 2>&1`;
my $rc = $? >> 8;
my $took = time - $started;

my $steps = 0;
for my $line (split /\n/, $out) {
    if ($line =~ /^ok - (.*)$/) {
        pass("browser: $1");
        $steps++;
    } elsif ($line =~ /^not ok - (.*)$/) {
        fail("browser: $1");
        $steps++;
    } else {
        note($line);
    }
}

cmp_ok($steps, '>=', 13, 'every browser step ran') or diag($out);
is($rc, 0, 'the browser test passed') or diag($out);
# speed is for make bench, not for a test: the time is reported only
note(sprintf('the browser test took %.1f s', $took));
ok(-s "$shots/characters-approved.png" && -s "$shots/phone-home.png",
   'screenshots are in t/screenshots/');

is(sql_rows("SELECT state FROM characters WHERE name = 'Zed'")->[0][0],
   'approved', 'the database agrees');

Grapevine::Test::cleanup();
done_testing();
