# The OpenAPI document the JSON API serves: a valid OpenAPI 3.0 structure,
# in sync with its source, and every route it lists answers as documented
# (status, top-level keys, errors for bad parameters and unknown names).
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use JSON::PP ();

my $root = root();

api_fixture(\&sql);

start_nginx(config => "location /api/ { grapevine_api; }\n"
                      . "location /v1/ { grapevine_api; }");

my $res = http_get('/api/openapi.json');
is($res->{status}, 200, 'openapi.json: 200');
is($res->{headers}{'content-type'}, 'application/json', 'openapi.json: JSON');
like($res->{headers}{etag} // '', qr/^"[0-9a-f]{16}"$/, 'openapi.json: ETag');
is($res->{headers}{'cache-control'}, 'public, max-age=3600',
   'openapi.json: cached for an hour');

my $doc = eval { json_decode($res->{body}) };
ok($doc, 'openapi.json: parses') or diag($@);
$doc //= {};

# ---------------------------------------------------------- structure

like($doc->{openapi} // '', qr/^3\.0\.\d+$/, 'openapi is 3.0.x');
ok(ref $doc->{info} eq 'HASH' && !ref $doc->{info}{title}
   && length $doc->{info}{title} && defined $doc->{info}{version},
   'info has a title and a version');
is_deeply($doc->{servers}, [{ url => '/api' }],
          'the server URL is the location prefix');
ok(ref $doc->{paths} eq 'HASH' && %{ $doc->{paths} }, 'paths is an object');

sub deref {
    my ($node) = @_;
    while (ref $node eq 'HASH' && $node->{'$ref'}) {
        my $ref = $node->{'$ref'};
        $ref =~ m{^#/(.+)$} or return undef;
        $node = $doc;
        for my $part (split m{/}, $1) {
            return undef unless ref $node eq 'HASH' && exists $node->{$part};
            $node = $node->{$part};
        }
    }
    return $node;
}

# every $ref resolves
my @refs;
my $walk;
$walk = sub {
    my ($n) = @_;
    if (ref $n eq 'HASH') {
        push @refs, $n->{'$ref'} if $n->{'$ref'};
        $walk->($_) for values %$n;
    } elsif (ref $n eq 'ARRAY') {
        $walk->($_) for @$n;
    }
};
$walk->($doc);
ok(@refs > 10, 'the document uses references');
is_deeply([grep { !defined deref({ '$ref' => $_ }) } @refs], [],
          'every $ref resolves');

my %ops;

for my $path (sort keys %{ $doc->{paths} }) {
    my $get = $doc->{paths}{$path}{get};
    ok(ref $get eq 'HASH', "$path: has get") or next;
    is_deeply([grep { $_ ne 'get' } keys %{ $doc->{paths}{$path} }], [],
              "$path: only get (HEAD and OPTIONS are implied)");
    ok(ref $get->{responses} eq 'HASH' && $get->{responses}{200},
       "$path: documents 200");
    ok(ref $get->{parameters} eq 'ARRAY', "$path: lists its parameters");
    ok(defined $get->{operationId}, "$path: has an operationId");

    my @params = map { deref($_) } @{ $get->{parameters} // [] };
    my $ok = 1;
    for my $p (@params) {
        $ok = 0 unless ref $p eq 'HASH' && $p->{name}
                       && ($p->{in} // '') =~ /^(path|query)$/
                       && ref $p->{schema} eq 'HASH'
                       && ($p->{in} ne 'path' || $p->{required});
    }
    ok($ok, "$path: parameters have name, in, schema (path: required)");

    my @in_path = sort $path =~ /\{(\w+)\}/g;
    is_deeply([sort map { $_->{name} } grep { $_->{in} eq 'path' } @params],
              \@in_path, "$path: one path parameter per template");

    for my $code (keys %{ $get->{responses} }) {
        my $r = deref($get->{responses}{$code});
        ok($r && defined $r->{description}
           && deref($r->{content}{'application/json'}{schema}),
           "$path: $code has a description and a JSON schema");
    }

    $ops{$path} = { get => $get, params => \@params };
}

is_deeply([sort keys %ops],
          [sort qw(/games /games/online /games/{game}
                   /games/{game}/characters /characters/{game}/{name}
                   /users/{username} /channels
                   /channels/{channel}/messages /openapi.json)],
          'every route of the module is documented, and nothing else');

# the served document is the source, and the C file is generated from it

open my $fh, '<', "$root/src/api/ngx_grapevine_openapi.json" or die $!;
my $source = JSON::PP->new->decode(do { local $/; <$fh> });
$source->{servers}[0]{url} = '/api';
is_deeply($doc, $source, 'the served document is the source document');

is(system("$root/util/openapi", '--check'), 0,
   'src/api/ngx_grapevine_openapi.c is generated from the source');

is_deeply(json_decode(http_get('/v1/openapi.json')->{body})->{servers},
          [{ url => '/v1' }], 'another location: its prefix');

# ------------------------------------------------ routes answer as told

my %sample = (game => 'ExVenture', name => 'Alice', username => 'eric',
              channel => 'gossip');

sub url_for {
    my ($path, %v) = @_;
    (my $u = $path) =~ s/\{(\w+)\}/$v{$1}/g;
    return "/api$u";
}

sub check_shape {
    my ($what, $body, $schema) = @_;
    my $data = eval { json_decode($body) };
    ok(ref $data eq 'HASH', "$what: a JSON object") or return;
    my @required = sort @{ $schema->{required} // [] };
    my @props = sort keys %{ $schema->{properties} // {} };
    ok(@required, "$what: the schema names required keys");
    is_deeply([sort grep { exists $data->{$_} } @required], \@required,
              "$what: has every required key");
    is_deeply([sort grep { !exists $schema->{properties}{$_} } keys %$data],
              [], "$what: no undocumented key");
}

for my $path (sort keys %ops) {
    my $get = $ops{$path}{get};
    my $url = url_for($path, %sample);

    $res = http_get($url);
    is($res->{status}, 200, "GET $url: 200");
    check_shape("GET $url",
                $res->{body},
                deref(deref($get->{responses}{200})
                      ->{content}{'application/json'}{schema}));

    if ($get->{responses}{404}) {
        my $u = url_for($path, map { $_ => 'NoSuchThing' } keys %sample);
        $res = http_get($u);
        is($res->{status}, 404, "GET $u: 404 as documented");
        check_shape("GET $u", $res->{body},
                    deref(deref($get->{responses}{404})
                          ->{content}{'application/json'}{schema}));
    }

    # every bounded parameter: a value out of bounds is a 400 naming it
    for my $p (@{ $ops{$path}{params} }) {
        my $s = $p->{schema};
        my $bad = $s->{enum} ? 'not-one-of-them'
                : defined $s->{maximum} ? $s->{maximum} + 1
                : defined $s->{minimum} ? $s->{minimum} - 1
                : defined $s->{maxLength} ? 'a' x ($s->{maxLength} + 1)
                : undef;
        next unless defined $bad;

        my $u = $p->{in} eq 'path'
                ? url_for($path, %sample, $p->{name} => $bad)
                : "$url?$p->{name}=$bad";

        ok($get->{responses}{400}, "$path: documents 400 for $p->{name}");
        $res = http_get($u);
        is($res->{status}, 400, "GET $u: 400");
        like((eval { json_decode($res->{body}) } // {})->{error}{message}
             // '', qr/^\Q$p->{name}\E: /, "GET $u: the message names it");
    }
}

# every paged route: the same links as /games ("self", "prev", "next")

my @paged = grep { grep { $_->{name} eq 'page' } @{ $ops{$_}{params} } }
            sort keys %ops;
is_deeply(\@paged, [qw(/channels /games /games/online
                        /games/{game}/characters /users/{username})],
          'the paged routes');

for my $path (@paged) {
    my $url = url_for($path, %sample);
    my %rel;

    $res = http_get("$url?page=2");
    is($res->{status}, 200, "GET $url?page=2: 200");
    %rel = map { $_->{rel} => $_->{href} }
           @{ (eval { json_decode($res->{body}) } // {})->{links} // [] };
    is($rel{self}, "$url?page=2", "GET $url?page=2: self is page 2");
    is($rel{prev}, $url, "GET $url?page=2: prev is page 1, without page=");

    $res = http_get("$url?page=1");
    %rel = map { $_->{rel} => $_->{href} }
           @{ (eval { json_decode($res->{body}) } // {})->{links} // [] };
    is($rel{self}, $url, "GET $url?page=1: self has no page=");
    ok(!exists $rel{prev}, "GET $url?page=1: no prev");
}

stop_nginx();
Grapevine::Test::cleanup();
done_testing();
