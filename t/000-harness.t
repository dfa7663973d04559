# The harness itself (t/lib/Grapevine/Test.pm).  Each case is a small test
# file run as a subprocess whose TAP and exit code are read here:
#
# * the error-log check: a file whose nginx logs an [alert] fails, the same
#   file without it passes (worker_cpu_affinity naming a CPU the machine
#   does not have makes every worker log "sched_setaffinity() failed" at
#   the alert level);
# * the plan: a file of blocks declares it up front, from its blocks and
#   their sections, times repeat_each, plus the error-log check of each
#   nginx it starts; a check the harness skipped, a block that asserted
#   nothing or a file's own test that did not run fails it;
# * the blocks are checked before anything runs: an unknown (misspelt)
#   section, an empty one, a response section without a request, a block
#   that would assert nothing, a misspelt block line, a forgotten ONLY or
#   SKIP fail the file, naming the block;
# * families: a block with a "cases" table runs once per row.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test ();
use Test::More;
use File::Temp qw(tempdir);

my $dir = tempdir(CLEANUP => 1);
my $lib = Grapevine::Test::root() . '/t/lib';

my $x = <<'BLOCK';
--- config
location = /x { return 200 "x"; }
--- request
GET /x
BLOCK

# Runs a test file made of $code (Perl before run_tests) and $data (the
# blocks); returns (exit code, stdout, stderr).
sub probe {
    my ($name, $code, $data) = @_;

    my $file = "$dir/$name.t";
    open my $fh, '>', $file or die $!;
    print $fh "use lib '$lib';\nuse Grapevine::Test;\n$code\n"
              . (defined $data ? "__DATA__\n$data" : '');
    close $fh;

    my $out = `$^X $file 2>$dir/$name.err`;
    my $rc = $? >> 8;
    open my $eh, '<', "$dir/$name.err" or die $!;
    my $err = do { local $/; <$eh> };
    return ($rc, $out, $err);
}

sub plan_of { $_[0] =~ /\A1\.\.(\d+)\n/ ? $1 : 'none up front' }

# ------------------------------------------------------------ error log

my $clean = "=== TEST 1: probe\n--- main_config\n%s\n$x--- response_body\nx\n";

my ($rc, $out, $err) = probe('clean', 'run_tests();', sprintf $clean, '');
is($rc, 0, 'a file with a clean error log passes') or diag($out, $err);
is(plan_of($out), 3, '... and declared its plan first: status, body, '
                     . 'the error-log check');

($rc, $out, $err) = probe('alert', 'run_tests();',
                          sprintf $clean, 'worker_cpu_affinity '
                                          . '1' . ('0' x 63) . ';');
isnt($rc, 0, 'a file whose nginx logged an [alert] fails');
like($out, qr/not ok \d+ - error log of alert has no alert/,
     'the failure names the error-log check');
like($err, qr/sched_setaffinity\(\) failed/, 'and shows the alert line');

# ------------------------------------------------------------- the plan

my $two = <<"DATA";
=== TEST 1: one
$x--- response_body
x

=== TEST 2: two, another configuration
--- config
location = /x { return 200 "y"; }
--- request
GET /x
--- response_body
y
--- no_error_log
[error]
DATA

($rc, $out) = probe('counted', 'run_tests();', $two);
is($rc, 0, 'two blocks pass');
is(plan_of($out), 7, 'the plan: 2 + 3 assertions, and two nginx started, '
                     . 'each checked at its stop');

($rc, $out) = probe('repeated', 'repeat_each(3); run_tests();', $two);
is($rc, 0, 'repeat_each(3) passes');
is(plan_of($out), 17, '... the blocks\' assertions three times, still two '
                      . 'nginx: 3 * 5 + 2');

($rc, $out, $err) = probe('forgot',
    'no warnings "redefine"; *Grapevine::Test::check_response = sub {}; '
    . 'run_tests();', $two);
isnt($rc, 0, 'a harness that skips the response checks fails the file');
like($out, qr/^not ok \d+ - TEST 1: one: asserted nothing \(its sections call for 2\)$/m,
     '... naming each block that asserted nothing');

($rc, $out, $err) = probe('unchecked',
    'no warnings "redefine"; *Grapevine::Test::check_error_log = sub { 1 }; '
    . 'run_tests();', $two);
isnt($rc, 0, 'a harness that skips its error-log checks fails the plan');
like($err, qr/planned 7 tests but ran 5/, '... which says so');

my $own = <<'CODE';
plan tests => blocks_plan() + 2;
ok(1 + 1 == 2, 'a test of the file\'s own');
%s
run_tests();
CODE

($rc, $out) = probe('mixed', sprintf($own, "ok(2 > 1, 'and another');"), $two);
is($rc, 0, 'a file with tests of its own adds their count to the plan');
is(plan_of($out), 9, '... up front: 7 + 2');

($rc, $out, $err) = probe('mixed_short', sprintf($own, ''), $two);
isnt($rc, 0, 'one of its own tests did not run: the file fails');
like($err, qr/planned 9 tests but ran 8/, '... on its plan');

($rc, $out, $err) = probe('unplanned', "ok(1, 'first');\nrun_tests();",
                          $two);
isnt($rc, 0, 'tests of its own without a plan up front: the file fails');
like($err, qr/declare it up front, plan tests => blocks_plan\(\) \+ N/,
     '... saying how to declare it');

# ---------------------------------------------- blocks checked up front

my %bad = (
    misspelt => [ "=== TEST 1: typo\n$x--- respone_body\nx\n",
                  qr/TEST 1: typo: unknown section "respone_body" \(did you mean "response_body"\?\)/ ],
    nothing  => [ "=== TEST 1: idle\n--- config\nlocation = /x { return 204; }\n"
                  . "--- sql_setup\nSELECT 1;\n",
                  qr/TEST 1: idle: asserts nothing/ ],
    empty    => [ "=== TEST 1: blank\n$x--- response_headers\n\n",
                  qr/TEST 1: blank: the section "response_headers" is empty/ ],
    orphan   => [ "=== TEST 1: no request\n--- config\nlocation = /x { return 204; }\n"
                  . "--- error_code: 204\n--- no_error_log\n[error]\n",
                  qr/TEST 1: no request: "error_code" without a request/ ],
    ignored  => [ "=== TEST 1: dies\n$x--- must_die\n",
                  qr/TEST 1: dies: "request" with must_die/ ],
    headless => [ "== TEST 1: a block line misspelt\n$x\n=== TEST 2: fine\n$x",
                  qr/text before the first block .*== TEST 1/ ],
    none     => [ "\n", qr/no blocks/ ],
    family   => [ "=== TEST 1: family\n--- cases\npath | code\n/x | 200\n"
                  . "$x--- error_code: %{code}\n--- response_body\n%{body}\n",
                  qr/TEST 1: family: %\{body\} names no column of its cases/ ],
);

for my $case (sort keys %bad) {
    my ($data, $re) = @{ $bad{$case} };
    ($rc, $out, $err) = probe("bad_$case", 'run_tests();', $data);
    isnt($rc, 0, "$case: the file fails");
    is($out, '', "$case: before anything runs");
    like($err, $re, "$case: naming the block and what is wrong");
}

for my $how (qw(ONLY SKIP)) {
    ($rc, $out) = probe("left_$how", 'run_tests();',
                        $two =~ s/(=== TEST 2[^\n]*\n)/$1--- $how\n/r);
    isnt($rc, 0, "a forgotten --- $how fails the file");
    like($out, qr/^not ok \d+ - TEST 2: two, another configuration: --- $how left/m,
         "... naming the block");
}

# ------------------------------------------------------------- families

($rc, $out, $err) = probe('family', 'run_tests();', <<"DATA");
=== TEST 1: %{what}: %{code}
--- cases
what          | path        | code | body
a page        | /page       | 200  | a \\| b
a missing one | /missing    | 404  | none
--- config
location = /page { return 200 "a | b"; }
location = /missing { return 404 "none"; }
--- request
GET %{path}
--- error_code: %{code}
--- response_body
%{body}
DATA
is($rc, 0, 'a family of two cases passes') or diag($out, $err);
is(plan_of($out), 5, '... planned as two blocks');
like($out, qr/^ok 1 - TEST 1\.1: a page: 200: status 200$/m,
     '... the first named from its row');
like($out, qr/^ok 4 - TEST 1\.2: a missing one: 404: response body$/m,
     '... and the second');

done_testing();
