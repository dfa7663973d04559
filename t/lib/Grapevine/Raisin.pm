package Grapevine::Raisin;

# What Raisin's tests (t/04x-raisin-*.t) share:
#
#   audit_count()               rows in raisin_audit
#   raisin_state()              everything an action could change, as one
#                               string: compare it before and after
#   json_error_is($res, 403, 'forbidden', $label)
#                               a JSON error answer: status, JSON, its
#                               code and a message (four assertions)
#   my %b = browsers_with_roles(moderator => ['moddy'],
#                               admin => ['admina'], user => ['plain'])
#                               a browser per name, signed up (one
#                               assertion each, in the order of the
#                               names), then each account given its role
#   say_on_hub($game, $name, $text [, $channel])
#                               a player says $text on the test hub (on
#                               gossip unless told); once the Backbone
#                               stored it, returns its id (one assertion)
#
# $res is a Grapevine::SiteClient answer with its body decoded in
# $res->{json} (get_json, post_json, post_form_json).

use strict;
use warnings;

use Exporter 'import';
use Grapevine::SiteClient;
use Test::More ();

our @EXPORT = qw(audit_count raisin_state json_error_is say_on_hub
                 browsers_with_roles);

sub sql_rows { Grapevine::Test::sql_rows(@_) }

sub audit_count { sql_rows('SELECT count(*) FROM raisin_audit')->[0][0] }

sub raisin_state {
    return Grapevine::Test::json_encode({
        hidden => sql_rows('SELECT id FROM channel_messages WHERE hidden '
                           . 'ORDER BY id'),
        users => sql_rows('SELECT username, role, suspended_at IS NOT NULL '
                          . 'FROM users ORDER BY username'),
        sessions => sql_rows('SELECT u.username, count(*) FROM sessions s '
                             . 'JOIN users u ON u.id = s.user_id '
                             . 'GROUP BY 1 ORDER BY 1'),
        characters => sql_rows('SELECT id, name, state FROM characters '
                               . 'ORDER BY id'),
        mutes => sql_rows('SELECT id, lifted_at IS NULL, "until" '
                          . 'FROM raisin_mutes ORDER BY id'),
        audit => audit_count(),
    });
}

sub json_error_is {
    my ($res, $status, $code, $label) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    Test::More::is($res->{status}, $status, "$label: $status");
    Test::More::like($res->{headers}{'content-type'} // '',
                     qr{^application/json}, "$label: JSON");
    Test::More::is(eval { $res->{json}{error}{code} }, $code,
                   "$label: code $code")
        or Test::More::diag(substr($res->{body} // '', 0, 300));
    Test::More::like(eval { $res->{json}{error}{message} } // '', qr/\S/,
                     "$label: a message");
}

sub browsers_with_roles {
    my (%roles) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my %b = map { $_ => Grapevine::SiteClient->new } map { @$_ } values %roles;

    for my $name (sort keys %b) {
        Test::More::is($b{$name}->sign_up($name)->{status}, 303,
                       "$name signs up");
    }

    for my $role (sort grep { $_ ne 'user' } keys %roles) {
        for my $name (@{ $roles{$role} }) {
            Grapevine::Test::sql('UPDATE users SET role = ? '
                                 . 'WHERE username = ?', $role, $name);
        }
    }

    return %b;
}

sub say_on_hub {
    my ($game, $name, $text, $channel) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my $r = Grapevine::Test::hub_api(POST => '/broadcast', {
        channel => $channel // 'gossip', game => $game, name => $name,
        message => $text });
    my $id;
    Grapevine::Test::wait_until(sub {
        $id = sql_rows('SELECT id FROM channel_messages WHERE message = ?',
                       $text)->[0][0];
    }, 10, 0.05);
    Test::More::ok($id, "$name\@$game says \"$text\": stored")
        or Test::More::diag(Grapevine::Test::json_encode($r));
    return $id // 0;
}

1;
