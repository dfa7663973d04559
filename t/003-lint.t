# util/lint catches each of nginx's style rules, and passes clean code.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $lint = "$FindBin::Bin/../util/lint";
my $dir = tempdir(CLEANUP => 1);

sub lint_text {
    my ($text) = @_;
    my $file = "$dir/x.c";
    open my $fh, '>', $file or die $!;
    print $fh $text;
    close $fh;
    my $out = `$lint $file 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = lint_text("static int\nf(void)\n{\n    return 0; /* ok */\n}\n"
                           . "static char *u = \"http://x\";\n");
is($rc, 0, 'clean code passes') or diag($out);

my %bad = (
    'longer than 80 columns' => ('x' x 81) . "\n",
    'tab'                    => "\tint x;\n",
    'trailing whitespace'    => "int x; \n",
    'C++ comment'            => "int x; // no\n",
    'CRLF line ending'       => "int x;\r\n",
);

for my $what (sort keys %bad) {
    ($rc, $out) = lint_text($bad{$what});
    is($rc, 1, "$what fails");
    like($out, qr/x\.c:1: \Q$what\E/, "$what is named with file and line");
}

($rc, $out) = lint_text("/*\n * a // in a comment\n */\nint x;\n");
is($rc, 0, '"//" inside a block comment is fine') or diag($out);

($rc, $out) = `$lint 2>&1`;
is($? >> 8, 0, 'the project itself is clean') or diag($rc);

done_testing();
