#!/usr/bin/perl
# runs build/unit/test_template (TAP); see t/unit/test_template.c
use FindBin; my $bin = "$FindBin::Bin/../../build/unit/test_template";
-x $bin ? exec($bin) : print "1..0 # SKIP not built\n";
