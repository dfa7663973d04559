# util/lint catches each of nginx's style rules, and passes clean code.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use FindBin;

my $lint = "$FindBin::Bin/../util/lint";
my $dir = tempdir(CLEANUP => 1);

sub lint_text {
    my ($text, $path) = @_;
    my $file = "$dir/" . ($path // 'x.c');
    make_path(dirname($file));
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

# the arrows between the parts: a file of src/<part>/ includes the headers
# of the parts it may use, and the pure files no nginx header

my @arrows = (
    # file, header, allowed
    [ 'src/core/x.c',     'ngx_grapevine_site.h',     0 ],
    [ 'src/core/x.c',     'ngx_grapevine_backbone.h', 0 ],
    [ 'src/core/x.c',     'ngx_grapevine_pg.h',       1 ],
    [ 'src/backbone/x.c', 'ngx_grapevine_api.h',      0 ],
    [ 'src/backbone/x.c', 'ngx_grapevine_pg.h',       1 ],
    [ 'src/api/x.c',      'ngx_grapevine_site.h',     0 ],
    [ 'src/api/x.c',      'ngx_grapevine_backbone.h', 0 ],
    [ 'src/api/x.c',      'ngx_grapevine_http.h',     1 ],
    [ 'src/site/x.c',     'ngx_grapevine_api.h',      0 ],
    [ 'src/site/x.c',     'ngx_grapevine_hub.h',      0 ],
    [ 'src/site/x.c',     'ngx_grapevine_params.h',   1 ],
    [ 'src/raisin/x.c',   'ngx_grapevine_site.h',     1 ],
    [ 'src/raisin/x.c',   'ngx_grapevine_api.h',      0 ],
);

for my $a (@arrows) {
    my ($path, $h, $ok) = @$a;
    ($rc, $out) = lint_text("#include \"$h\"\n", $path);

    if ($ok) {
        is($rc, 0, "$path may include $h") or diag($out);
    } else {
        is($rc, 1, "$path may not include $h");
        like($out, qr/\Q$path\E:1: includes \Q$h\E: \w+ may not use \w+/,
             "... and the refusal names the file, the line and the arrow");
    }
}

($rc, $out) = lint_text("#include <ngx_core.h>\n",
                        'src/backbone/ngx_grapevine_protocol_x.c');
is($rc, 1, 'the protocol parser includes no nginx header');
like($out, qr/includes ngx_core\.h \(a pure file/, '... and says so');

($rc, $out) = lint_text("#include <ngx_core.h>\n",
                        'src/core/ngx_grapevine_template.c');
is($rc, 1, 'nor does the template engine');

($rc, $out) = lint_text("#include <ngx_core.h>\n", 'src/core/other.c');
is($rc, 0, 'other core files do') or diag($out);

($rc, $out) = `$lint 2>&1`;
is($? >> 8, 0, 'the project itself is clean') or diag($rc);

done_testing();
