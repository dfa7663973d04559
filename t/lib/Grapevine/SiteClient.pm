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
                           port => $self->{port});

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

1;
