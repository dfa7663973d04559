package Grapevine::SiteClient;

# A small browser for the site's tests (t/03x-site-*.t): keeps cookies,
# remembers the CSRF token of the last page with a form, and posts forms.
#
#   my $b = Grapevine::SiteClient->new;
#   my $res = $b->get('/register');
#   $res = $b->post('/register', { username => 'alice', ... });
#   $b->cookie('_grapevine_key');
#
# Responses are Grapevine::Test::http_request()'s, plus "cookies" (the
# Set-Cookie lines, parsed: name => { value, attrs => {lc name => value} }).
# new(port => N, ssl => 1) talks https to another port; agent => "..."
# sends a User-Agent.

use strict;
use warnings;

use Grapevine::Test qw(http_request);

sub new {
    my ($class, %opt) = @_;
    return bless { jar => {}, csrf => undef, %opt }, $class;
}

sub cookie {
    my ($self, $name, $value) = @_;
    if (@_ > 2) {
        if (defined $value) {
            $self->{jar}{$name} = $value;
        } else {
            delete $self->{jar}{$name};
        }
    }
    return $self->{jar}{$name};
}

sub csrf { $_[0]{csrf} }

sub cookie_header {
    my ($self) = @_;
    my @c = map { "$_=$self->{jar}{$_}" } sort keys %{ $self->{jar} };
    return @c ? 'Cookie: ' . join('; ', @c) . "\n" : '';
}

sub request {
    my ($self, $method, $path, %opt) = @_;

    my $headers = $self->cookie_header . ($opt{headers} // '');
    $headers .= "User-Agent: $self->{agent}\n" if $self->{agent};

    my $res = http_request(method => $method, path => $path,
                           headers => $headers, body => $opt{body} // '',
                           port => $self->{port}, ssl => $self->{ssl});

    # Set-Cookie lines (the harness joins repeated headers with ", ")
    my %set;
    for my $line (split /\r\n/, (split /\r\n\r\n/, $res->{raw} // '', 2)[0]
                                // '')
    {
        next unless $line =~ /^Set-Cookie:\s*([^=]+)=([^;]*)(.*)$/i;
        my ($name, $value, $rest) = ($1, $2, $3);
        my %attrs;
        for my $a (split /;\s*/, $rest) {
            next unless length $a;
            my ($k, $v) = split /=/, $a, 2;
            $attrs{lc $k} = $v // 1;
        }
        $set{$name} = { value => $value, attrs => \%attrs };

        if (length $value && !(defined $attrs{'max-age'}
                               && $attrs{'max-age'} eq '0'))
        {
            $self->{jar}{$name} = $value;
        } else {
            delete $self->{jar}{$name};
        }
    }

    $res->{cookies} = \%set;

    if (($res->{body} // '') =~ /name="_csrf" value="([0-9a-f]{64})"/) {
        $self->{csrf} = $1;
    }

    return $res;
}

sub get {
    my ($self, $path, %opt) = @_;
    return $self->request(GET => $path, %opt);
}

sub urlencode {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# Posts a form; "_csrf" is the last page's token unless the form says
# otherwise (undef leaves it out).
sub post {
    my ($self, $path, $form, %opt) = @_;

    my %f = %{ $form // {} };
    $f{_csrf} = $self->{csrf} unless exists $f{_csrf};

    my $body = join '&', map { urlencode($_) . '=' . urlencode($f{$_}) }
                         grep { defined $f{$_} } sort keys %f;

    return $self->request(POST => $path, body => $body,
                          headers => "Content-Type: "
                                     . "application/x-www-form-urlencoded\n"
                                     . ($opt{headers} // ''));
}

# Signs up (fetching the form first); returns the response of the POST.
sub sign_up {
    my ($self, $username, %opt) = @_;

    $self->get('/register');
    return $self->post('/register', {
        username => $username,
        email => $opt{email} // lc($username) . '@example.org',
        password => $opt{password} // 'correct horse battery',
        password_confirmation => $opt{password} // 'correct horse battery',
    });
}

sub sign_in {
    my ($self, $login, $password) = @_;

    $self->get('/sign-in');
    return $self->post('/sign-in', { login => $login,
                                     password => $password });
}

# ------------------------------------------------------------ Raisin, JSON
#
# Raisin (t/04x-raisin-*.t) answers JSON to a request whose Accept header
# names application/json; its actions take a JSON body and the session's
# CSRF token in X-CSRF-Token.  These add to the above without changing it.

# GET with "Accept: application/json"; the answer's body, decoded, is in
# $res->{json} (undef when it is not JSON).
sub get_json {
    my ($self, $path, %opt) = @_;

    my $res = $self->request(GET => $path,
                             headers => "Accept: application/json\n"
                                        . ($opt{headers} // ''));
    $res->{json} = _decode($res->{body});
    return $res;
}

sub _decode {
    my ($body) = @_;
    return undef unless defined $body && length $body;
    return eval { Grapevine::Test::json_decode($body) };
}

# Reads the session's CSRF token from GET /raisin/ (JSON) and remembers it
# for post_json; returns it (undef when the page did not give one).
sub raisin_csrf {
    my ($self) = @_;
    my $res = $self->get_json('/raisin/');
    my $token = ref $res->{json} eq 'HASH' ? $res->{json}{csrf} : undef;
    $self->{json_csrf} = $token if defined $token;
    return $token;
}

sub json_csrf {
    my ($self, $token) = @_;
    $self->{json_csrf} = $token if @_ > 1;
    return $self->{json_csrf};
}

# POSTs a JSON body (a hash, encoded; or raw => BYTES) with
# "Accept: application/json" and the token from raisin_csrf() in
# X-CSRF-Token (csrf => TOKEN to send another one, csrf => undef for none).
# Options: content_type, headers (more header lines).
sub post_json {
    my ($self, $path, $data, %opt) = @_;

    my $token = exists $opt{csrf} ? $opt{csrf} : $self->{json_csrf};
    my $body = exists $opt{raw} ? $opt{raw}
                                : Grapevine::Test::json_encode($data // {});

    my $res = $self->request(POST => $path, body => $body,
        headers => "Accept: application/json\n"
                   . 'Content-Type: ' . ($opt{content_type}
                                         // 'application/json') . "\n"
                   . (defined $token ? "X-CSRF-Token: $token\n" : '')
                   . ($opt{headers} // ''));
    $res->{json} = _decode($res->{body});
    return $res;
}

# POSTs a form (the token as _csrf, from raisin_csrf() unless the form has
# one) but asks for JSON.
sub post_form_json {
    my ($self, $path, $form, %opt) = @_;

    my %f = %{ $form // {} };
    $f{_csrf} = $self->{json_csrf} unless exists $f{_csrf};
    my $body = join '&', map { urlencode($_) . '=' . urlencode($f{$_}) }
                         grep { defined $f{$_} } sort keys %f;

    my $res = $self->request(POST => $path, body => $body,
        headers => "Accept: application/json\n"
                   . "Content-Type: application/x-www-form-urlencoded\n"
                   . ($opt{headers} // ''));
    $res->{json} = _decode($res->{body});
    return $res;
}

# The path of a Location header (without scheme and host).
sub location_path {
    my ($res) = @_;
    my $loc = $res->{headers}{location} // return undef;
    $loc =~ s{^https?://[^/]+}{};
    return $loc;
}

1;
