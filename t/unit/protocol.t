#!/usr/bin/perl
# runs build/unit/test_protocol (TAP); see t/unit/test_protocol.c
use strict;
use warnings;
use FindBin;

my $bin = "$FindBin::Bin/../../build/unit/test_protocol";

if (!-x $bin) {
    print "1..0 # SKIP not built (run make test)\n";
    exit 0;
}

exec($bin) or die "$bin: $!\n";
