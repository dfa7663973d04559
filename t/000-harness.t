# The harness itself: a file whose nginx logs an [alert] must fail, and the
# same file without it must pass.  worker_cpu_affinity naming a CPU the
# machine does not have makes every worker log
# "sched_setaffinity() failed" at the alert level.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test ();
use Test::More;
use File::Temp qw(tempdir);

my $dir = tempdir(CLEANUP => 1);

sub probe {
    my ($name, $main_config) = @_;

    my $file = "$dir/$name.t";
    open my $fh, '>', $file or die $!;
    print $fh <<"T";
use lib '@{[ Grapevine::Test::root() ]}/t/lib';
use Grapevine::Test;
run_tests();
__DATA__
=== TEST 1: probe
--- main_config
$main_config
--- config
location = /x { return 200 "x"; }
--- request
GET /x
--- response_body
x
T
    close $fh;

    my $out = `$^X $file 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = probe('clean', '');
is($rc, 0, 'a file with a clean error log passes') or diag($out);

($rc, $out) = probe('alert', 'worker_cpu_affinity '
                             . '1' . ('0' x 63) . ';');
isnt($rc, 0, 'a file whose nginx logged an [alert] fails');
like($out, qr/not ok \d+ - error log of alert has no alert/,
     'the failure names the error-log check');
like($out, qr/sched_setaffinity\(\) failed/, 'and shows the alert line');

done_testing();
