package Grapevine::Browser;

# The tests in a real browser (t/033-site-e2e.t, t/043-raisin-e2e.t):
# Debian's headless Chromium driven by playwright-core from a script in
# t/e2e/, whose "ok - <step>" and "not ok - <step>: <why>" lines (see
# t/e2e/tap.mjs) become tests of the calling file.
#
#   browser_ready();        # Chromium and node, or bail out; npm ci when
#                           # t/e2e/node_modules is missing or stale
#   run_browser('site.mjs', [$site, $control, $shots],
#               timeout => 90, steps => 13,
#               screenshots => ["$shots/home.png", ...]);

use strict;
use warnings;

use Exporter 'import';
use Test::More ();
use Time::HiRes qw(time);

our @EXPORT = qw(browser_ready run_browser);

sub e2e_dir { Grapevine::Test::root() . '/t/e2e' }

# The tools, and playwright-core as pinned by t/e2e/package-lock.json.
sub browser_ready {
    my $e2e = e2e_dir();
    my $chromium = $ENV{CHROMIUM} // '/usr/bin/chromium';

    for my $tool ($chromium, '/usr/bin/node') {
        -x $tool or Test::More::BAIL_OUT("$tool is missing: run make deps");
    }

    my $stamp = "$e2e/node_modules/.package-lock.json";
    if (!-e "$e2e/node_modules/playwright-core/package.json"
        || (-M $stamp // 0) > (-M "$e2e/package-lock.json"))
    {
        local $Test::Builder::Level = $Test::Builder::Level + 1;
        my $out = `cd $e2e && timeout 300 npm ci --no-audit --no-fund 2>&1`;
        Test::More::is($?, 0, 'npm ci installs playwright-core')
            or Test::More::diag($out);
    }
}

# Runs t/e2e/$script with @$args (quoted for the shell) for at most
# $opt{timeout} seconds; each step it reports is a test here; then at
# least $opt{steps} steps must have run, the script must exit 0, and each
# of $opt{screenshots} must have been written by this run (the directory
# keeps the last run's).  Returns the number of steps.
sub run_browser {
    my ($script, $args, %opt) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my $e2e = e2e_dir();
    my $quoted = join ' ', map { "'" . s/'/'\\''/gr . "'" } @$args;
    my $started = time;
    my $second = int $started;      # file times are in whole seconds
    my $out = `cd $e2e && timeout $opt{timeout} node $script $quoted 2>&1`;
    my $rc = $? >> 8;
    my $took = time - $started;

    my $steps = 0;
    for my $line (split /\n/, $out) {
        if ($line =~ /^ok - (.*)$/) {
            Test::More::pass("browser: $1");
            $steps++;
        } elsif ($line =~ /^not ok - (.*)$/) {
            Test::More::fail("browser: $1");
            $steps++;
        } else {
            Test::More::note($line);
        }
    }

    Test::More::cmp_ok($steps, '>=', $opt{steps}, 'every browser step ran')
        or Test::More::diag($out);
    Test::More::is($rc, 0, 'the browser test passed')
        or Test::More::diag($out);

    my @stale = grep { !(-s $_ && (stat _)[9] >= $second) }
                @{ $opt{screenshots} // [] };
    Test::More::ok(!@stale, 'screenshots are in t/screenshots/, taken now')
        or Test::More::diag("not written by this run: @stale");

    # speed is for make bench, not for a test: the time is reported only
    Test::More::note(sprintf('the browser test took %.1f s', $took));

    return $steps;
}

1;
