#!/usr/bin/perl

# The official mustache spec suites against the template engine: runs
# build/unit/test_mustache_spec on each spec file and reports its cases as
# subtests.  The spec files are the copies in t/unit/mustache-spec/ (see
# its README.md), or those of the directory $GRAPEVINE_MUSTACHE_SPEC names
# (an upstream checkout's specs/, say).

use strict;
use warnings;

use FindBin;
use File::Spec;
use Test::More;
use TAP::Parser;

my $root = File::Spec->rel2abs("$FindBin::Bin/../..");
my $bin = "$root/build/unit/test_mustache_spec";
my @suites = qw(comments interpolation sections inverted partials delimiters
                ~inheritance);

plan skip_all => 'not built' unless -x $bin;

my $spec = $ENV{GRAPEVINE_MUSTACHE_SPEC} || "$FindBin::Bin/mustache-spec";

unless (-d $spec) {
    plan tests => 1;
    fail("mustache spec directory $spec not found "
        . "(GRAPEVINE_MUSTACHE_SPEC, when set, names the directory of the "
        . "spec's JSON files)");
    exit 1;
}

plan tests => scalar @suites;

for my $suite (@suites) {
    my $file = "$spec/$suite.json";

    subtest $suite => sub {
        unless (-f $file) {
            plan tests => 1;
            fail("spec file $file not found");
            return;
        }

        my $parser = TAP::Parser->new({ exec => [ $bin, $file ] });
        my $cases = 0;

        while (my $result = $parser->next) {
            if ($result->is_test) {
                $cases++;
                my $ok = $result->is_actual_ok
                    && !$result->has_skip && !$result->has_todo;
                ok($ok, $result->description =~ s/^- //r);

            } elsif ($result->is_plan && $result->directive) {
                fail("$suite: " . $result->as_string);

            } elsif ($result->is_comment) {
                note($result->comment);
            }
        }

        ok($cases > 0, "$suite: ran $cases cases");
        is(scalar $parser->parse_errors, 0, "$suite: valid TAP")
            or diag(join "\n", $parser->parse_errors);
        is($parser->exit, 0, "$suite: test_mustache_spec exit status");

        done_testing();
    };
}
