# The OpenAPI document the JSON API serves: a valid OpenAPI 3.0 document
# for two third-party validators (JSON::Validator, from Debian's
# libjson-validator-perl, with the specification's own JSON schema; and
# swagger-parser, from npm: t/openapi/), in sync with its source, and every
# route it lists answers as documented: every method (GET, HEAD, OPTIONS,
# and 405 for the others), status, header and body, each answer checked
# against the document by JSON::Validator.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use JSON::PP ();
use JSON::Validator::Schema::OpenAPIv3;

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

# what every path answers: GET and HEAD, OPTIONS (a CORS preflight), and
# 405 with Allow for the methods a path item can name besides (TRACE is
# nginx's own 405, before any module)
my @methods = qw(get head options post put patch delete);
my @refused = qw(post put patch delete);

# a stream (its 200 is text/event-stream) never ends: its answers are
# checked by t/045-api-streams.t, its 400, 404 and 503 here
my %stream;

for my $path (sort keys %{ $doc->{paths} }) {
    my $item = $doc->{paths}{$path};
    my $get = $item->{get};
    ok(ref $get eq 'HASH', "$path: has get") or next;
    $stream{$path} = 1
        if ((deref($get->{responses}{200}) // {})->{content} // {})
           ->{'text/event-stream'};
    is_deeply([sort grep { $_ ne 'parameters' } keys %$item],
              [sort @methods],
              "$path: declares GET, HEAD, OPTIONS and the 405 of the others");
    ok(ref $get->{responses} eq 'HASH' && $get->{responses}{200},
       "$path: documents 200");
    ok(ref $get->{parameters} eq 'ARRAY', "$path: lists its parameters");
    ok(defined $get->{operationId}, "$path: has an operationId");

    my %resp = map { $_ => (($item->{$_} // {})->{responses} // {}) }
                   @methods;

    is_deeply([sort keys %{ $resp{head} }],
              [sort keys %{ $get->{responses} }],
              "$path: HEAD answers what GET answers");
    ok(!grep({ deref($resp{head}{$_})->{content} } keys %{ $resp{head} }),
       "$path: HEAD answers have no body");
    is_deeply([keys %{ $resp{options} }], ['204'],
              "$path: OPTIONS answers 204");
    is_deeply([map { join ',', keys %{ $resp{$_} } } @refused],
              [('405') x @refused],
              "$path: POST, PUT, PATCH and DELETE answer 405");
    ok((deref($resp{post}{405} // {}) // {})->{headers}{Allow},
       "$path: ... with Allow");
    is_deeply([grep { !$get->{responses}{$_} } qw(304 412)], [],
              "$path: GET documents 304 (If-None-Match) and 412 (If-Match)")
        unless $stream{$path};
    is_deeply([grep { $get->{responses}{$_} } qw(304 412)], [],
              "$path: a stream has no ETag: no 304, no 412")
        if $stream{$path};

    my @params = map { deref($_) } @{ $item->{parameters} // [] },
                                   @{ $get->{parameters} // [] };
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
           && (($stream{$path} && $code eq '200'
                && $r->{content}{'text/event-stream'})
               || $code eq '304'
               || deref($r->{content}{'application/json'}{schema})),
           "$path: $code has a description and a JSON schema");
    }

    $ops{$path} = { get => $get, params => \@params };
}

is_deeply([sort keys %ops],
          [sort qw(/games /games/online /games/{game}
                   /games/{game}/characters /characters/{game}/{name}
                   /users/{username} /channels
                   /channels/{channel}/messages /channels/{channel}/events
                   /events /openapi.json
                   /games/{game}/statistics /statistics)],
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

# ---------------------------------------------- third-party validators

my $jv = JSON::Validator::Schema::OpenAPIv3->new(json_decode(json_encode($doc)));
is_deeply([map { "$_" } @{ $jv->errors }], [],
          'JSON::Validator: valid against the OpenAPI 3.0 schema');

# validate_response() misses a header given by reference (it copies the
# header object before it looks the reference up): the answers are
# checked against the document with every reference replaced by its
# target (the document has no recursive one)
sub inlined {
    my ($n) = @_;
    $n = deref($n) if ref $n eq 'HASH' && $n->{'$ref'};
    return { map { $_ => inlined($n->{$_}) } keys %$n } if ref $n eq 'HASH';
    return [ map { inlined($_) } @$n ] if ref $n eq 'ARRAY';
    return $n;
}

my $jv_doc = inlined(json_decode(json_encode($doc)));
delete $jv_doc->{components};
$jv = JSON::Validator::Schema::OpenAPIv3->new($jv_doc);
is_deeply([map { "$_" } @{ $jv->errors }], [],
          'JSON::Validator: ... and with its references inlined');
$jv->resolve;

{
    my $dir = "$root/t/openapi";
    if (!-e "$dir/node_modules/\@apidevtools/swagger-parser/package.json"
        || -M "$dir/package-lock.json"
           < -M "$dir/node_modules/.package-lock.json")
    {
        my $out = `cd $dir && timeout 300 npm ci --no-audit --no-fund 2>&1`;
        diag($out) if $?;
    }

    my $file = servroot() . '/openapi.json';
    open my $out, '>', $file or die "$file: $!";
    print $out $res->{body};
    close $out;

    my $said = `node $dir/validate.mjs $file 2>&1`;
    chomp $said;
    is($said, 'valid', 'swagger-parser: the served document is valid');
}

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

    next if $stream{$path};

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

# ------------------------- every answer, checked against the document

# the headers the API sets: the document declares each where it comes
my @ours = qw(etag cache-control retry-after allow x-grapevine-cache
              x-content-type-options access-control-allow-origin
              access-control-expose-headers access-control-allow-methods
              access-control-allow-headers access-control-max-age);

sub check_answer {
    my ($what, $path, $method, $res) = @_;

    my $op = $doc->{paths}{$path}{$method} // {};
    my $r = deref(($op->{responses} // {})->{ $res->{status} });
    ok($r, "$what: $res->{status} is documented") or return;

    my %declared = map { lc $_ => 1 } keys %{ $r->{headers} // {} };
    is_deeply([grep { exists $res->{headers}{$_} && !$declared{$_} } @ours],
              [], "$what: every header it sent is declared");

    my $body = length $res->{body}
               ? eval { json_decode($res->{body}) } // '(not JSON)' : undef;
    is(defined $body ? 1 : 0, $r->{content} ? 1 : 0,
       "$what: a body as documented");

    my @errors = $jv->validate_response([$method, $path, $res->{status}], {
        body => sub {
            return { exists => defined $body, value => $body,
                     content_type => $res->{headers}{'content-type'} };
        },
        header => sub {
            my ($name) = @_;
            my $v = $res->{headers}{ lc $name };
            return { exists => defined $v, value => $v };
        },
    });
    is_deeply([map { "$_" } @errors], [], "$what: as the document says");
}

for my $path (sort keys %ops) {
    my $url = url_for($path, %sample);

    if ($stream{$path}) {
        # all but the open stream itself
        check_answer("HEAD $url", $path, 'head',
                     http_request(method => 'HEAD', path => $url));
        check_answer("OPTIONS $url", $path, 'options',
                     http_request(method => 'OPTIONS', path => $url,
                                  headers => "Origin: https://example.org\n"
                                     . "Access-Control-Request-Method: GET"));
        for my $m (@refused) {
            check_answer(uc($m) . " $url", $path, $m,
                         http_request(method => uc $m, path => $url,
                                      body => $m eq 'delete' ? '' : '{}'));
        }
        if ($ops{$path}{get}{responses}{404}) {
            my $u = url_for($path, channel => 'NoSuchThing');
            check_answer("GET $u", $path, 'get', http_get($u));
            check_answer("HEAD $u", $path, 'head',
                         http_request(method => 'HEAD', path => $u));
            $u = "$url?last_event_id=x";
            check_answer("GET $u", $path, 'get', http_get($u));
        }
        next;
    }

    $res = http_get($url);
    check_answer("GET $url", $path, 'get', $res);
    my $etag = $res->{headers}{etag} // '';

    check_answer("GET $url If-None-Match", $path, 'get',
                 http_get($url, headers => "If-None-Match: $etag"));
    check_answer("GET $url If-Match", $path, 'get',
                 http_get($url, headers => 'If-Match: "0000000000000000"'));
    check_answer("HEAD $url", $path, 'head',
                 http_request(method => 'HEAD', path => $url));
    check_answer("HEAD $url If-None-Match", $path, 'head',
                 http_request(method => 'HEAD', path => $url,
                              headers => "If-None-Match: $etag"));
    check_answer("OPTIONS $url", $path, 'options',
                 http_request(method => 'OPTIONS', path => $url,
                              headers => "Origin: https://example.org\n"
                                 . "Access-Control-Request-Method: GET"));

    for my $m (@refused) {
        check_answer(uc($m) . " $url", $path, $m,
                     http_request(method => uc $m, path => $url,
                                  body => $m eq 'delete' ? '' : '{}'));
    }

    if ($ops{$path}{get}{responses}{404}) {
        my $u = url_for($path, map { $_ => 'NoSuchThing' } keys %sample);
        check_answer("GET $u", $path, 'get', http_get($u));
        check_answer("HEAD $u", $path, 'head',
                     http_request(method => 'HEAD', path => $u));
    }

    if ($ops{$path}{get}{responses}{400}) {
        my $u = url_for($path, %sample, map { $_ => "\xff" } keys %sample);
        $u = "$url?page=0" if $u eq $url;
        check_answer("GET $u", $path, 'get', http_get($u));
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

# -------------------------------------------- the database away: 503

start_nginx(http_config => Grapevine::Test::expand_vars(
                'grapevine_database "host=127.0.0.1 '
                . 'port=$TEST_NGINX_DEAD_PORT dbname=x user=grapevine '
                . 'sslmode=disable";'),
            config => "location /api/ { grapevine_api; }");

for my $path (sort keys %ops) {
    my $url = url_for($path, %sample);
    next if $path eq '/openapi.json';

    $res = http_get($url);
    is($res->{status}, 503, "database away: GET $url 503");
    check_answer("database away: GET $url", $path, 'get', $res);
    check_answer("database away: HEAD $url", $path, 'head',
                 http_request(method => 'HEAD', path => $url));
}

stop_nginx();
Grapevine::Test::cleanup();
done_testing();
