#!/usr/bin/env perl
# Feeds the same sync events, good and bad, through backbone_ingest() as
# migrations/ define it and with bench/proposals/0002-ingest-set-based.sql
# applied, in two scratch databases, and compares what each call returned
# (the skipped records and why) and every stored row afterwards.  Also says
# which events took the proposal's fast path.
#
#   bench/proposals/check-equivalence.pl     (libpq's environment names
#                                             the cluster; needs createdb)
use strict;
use warnings;
use DBI;
use JSON::PP;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/../..');
my $json = JSON::PP->new->canonical;

sub game {
    my ($id, %o) = @_;
    return {id => $id, game => "G$id", display_name => "Game $id",
            description => "game $id", homepage_url => "https://g$id/",
            display => JSON::PP::true, allow_character_registration =>
            JSON::PP::true, redirect_uris => [], mssp_last_seen_at => undef,
            user_agent => 'x', user_agent_url => undef,
            connections => [{id => sprintf('00000000-0000-4000-8000-%012d', $id),
                             type => 'telnet', host => "g$id", port => 4000}],
            %o};
}
sub v { my ($action, $t, $rec) = @_; {action => $action, logged_at => $t, payload => $rec} }
sub push_games { {event => 'sync/games', payload => {games => [@_]}} }
sub push_channels { {event => 'sync/channels', payload => {channels => [@_]}} }
sub versions { my $kind = shift; {event => "sync/$kind", payload => [@_]} }

my @events = (
    # a clean first sync
    push_games(map { game($_) } 1 .. 10),
    push_channels(map { {id => $_, name => "chan$_" =~ tr/0-9/a-j/r, description => "c$_", hidden => JSON::PP::false} } 1 .. 5),
    # the same again: nothing changes
    push_games(map { game($_) } 1 .. 10),
    # one invalid record among good ones (id a string)
    push_games(game(11), {%{game(12)}, id => '12'}, game(13)),
    # wrong types: description a number, display a string, redirect_uris an object
    push_games({%{game(14)}, description => 5}, {%{game(15)}, display => 'yes'},
               {%{game(16)}, redirect_uris => {}}, game(17)),
    # a short name taken by another game (unique violation)
    push_games(game(18), {%{game(19)}, game => 'g1'}),
    # a bad timestamp, a port out of range
    push_games({%{game(20)}, mssp_last_seen_at => 'not a time'},
               {%{game(21)}, connections => [{type => 'telnet', host => 'h', port => 99999999999}]}),
    # connections: changed, removed, keyed by type, duplicate keys, not objects
    push_games({%{game(1)}, connections => [{type => 'web', url => 'https://g1/play'}]},
               {%{game(2)}, connections => []},
               {%{game(5)}, connections => undef},
               {%{game(6)}, display => undef, allow_character_registration => undef},
               {%{game(7)}, connections => [{%{game(7)->{connections}[0]}, host => 'moved', port => 23},
                                            {id => 'extra', type => 'secure telnet', host => 'x', port => 992}]}),
    push_games({%{game(3)}, connections => [{id => 'k', type => 'telnet', host => 'a', port => 1},
                                            {id => 'k', type => 'telnet', host => 'b', port => 2}]},
               {%{game(4)}, connections => [5]}),
    # not an object; empty list; neither shape
    push_games(7, game(22)),
    push_games(),
    {event => 'sync/games', payload => {nope => 1}},
    # versions: create, an update, an older update, a delete, two of one id
    versions(games => v(create => '2026-01-01T00:00:00.000001Z', game(30)),
                      v(create => '2026-01-01T00:00:00.000002Z', game(31))),
    versions(games => v(update => '2026-01-02T00:00:00Z', {%{game(30)}, description => 'newer'})),
    versions(games => v(update => '2026-01-01T12:00:00Z', {%{game(30)}, description => 'older'})),
    versions(games => v(delete => '2026-01-03T00:00:00Z', game(31)), v(update => '2026-01-03T00:00:01Z', game(32))),
    versions(games => v(update => '2026-01-04T00:00:00Z', {%{game(33)}, description => 'a'}),
                      v(update => '2026-01-04T00:00:01Z', {%{game(33)}, description => 'b'})),
    versions(games => v(frobnicate => '2026-01-05T00:00:00Z', game(34)), v(create => 'yesterday', game(35)),
                      v(create => '2026-01-05T00:00:00Z', game(36))),
    versions(games => 'x', {action => 'create'}),
    # channels: a taken name, a bad type, versions
    push_channels({id => 6, name => 'CHANA', description => 'dup'}, {id => 7, name => 'chang', hidden => 1},
                  {id => 8, name => 'chanh'}),
    versions(channels => v(create => '2026-02-01T00:00:00Z', {id => 9, name => 'chani', hidden => JSON::PP::true}),
                         v(update => '2026-02-01T00:00:01Z', {id => 1, name => 'chanb', description => undef})),
    versions(channels => v(update => '2026-01-01T00:00:00Z', {id => 9, name => 'old'})),
    # events and achievements still take the loop
    versions(events => v(create => '2026-03-01T00:00:00Z', {id => 1, game_id => 30, title => 'E', start_date => '2026-03-02', end_date => '2026-03-03'})),
);

my $admin = DBI->connect('dbi:Pg:dbname=postgres', '', '', {RaiseError => 1, AutoCommit => 1, PrintError => 0});
my %dbh;
for my $v (qw(cur new)) {
    my $db = "bench_equiv_$v";
    $admin->do("DROP DATABASE IF EXISTS $db");
    $admin->do("CREATE DATABASE $db");
    system("PGDATABASE=$db '$top/util/migrate' > /dev/null") == 0 or die "migrate $db\n";
    if ($v eq 'new') {
        system('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $db, '-f',
               "$top/bench/proposals/0002-ingest-set-based.sql") == 0 or die "proposal\n";
    }
    $dbh{$v} = DBI->connect("dbi:Pg:dbname=$db", '', '', {RaiseError => 1, AutoCommit => 1, PrintError => 0});
}

my @debug;
$dbh{new}->{HandleError} = undef;
$dbh{new}->do('SET client_min_messages = debug1');
$SIG{__WARN__} = sub { push @debug, $_[0] };
$dbh{new}->{PrintWarn} = 1;

my $diff = 0;
for my $i (0 .. $#events) {
    my $frame = $json->encode($events[$i]);
    my %out;
    for my $v (qw(cur new)) {
        @debug = ();
        my $rows = eval { $dbh{$v}->selectcol_arrayref('SELECT * FROM backbone_ingest($1::jsonb)', undef, $frame) };
        $out{$v} = $rows ? join("\n", sort @$rows) : "ERROR: $@";
        $out{fast} = (grep { /record by record/ } @debug) ? 'loop' : 'fast' if $v eq 'new';
    }
    my $same = $out{cur} eq $out{new};
    $diff++ unless $same;
    printf "event %2d  %-4s  %s  %s\n", $i + 1, $out{fast}, $same ? 'same' : 'DIFFERENT',
        $out{cur} eq '' ? '' : '(' . ($out{cur} =~ tr/\n/;/r) . ')';
    print "   new: $out{new}\n" unless $same;
}

my %q = (
    games => q{SELECT remote_id, short_name, name, display, description, homepage_url, user_agent,
                      user_agent_url, allow_character_registration, redirect_uris, mssp_last_seen_at,
                      remote_logged_at FROM games ORDER BY remote_id},
    game_connections => q{SELECT g.remote_id, c.remote_key, c.type, c.url, c.host, c.port
                          FROM game_connections c JOIN games g ON g.id = c.game_id ORDER BY 1, 2},
    channels => q{SELECT remote_id, name, description, hidden, remote_logged_at FROM channels ORDER BY remote_id},
    events => q{SELECT remote_id, title, start_date, is_deleted, remote_logged_at FROM events ORDER BY remote_id},
    settings => q{SELECT name, value FROM settings WHERE name LIKE 'hub_since:%' ORDER BY name},
);
for my $t (sort keys %q) {
    my %d = map { $_ => $json->encode($dbh{$_}->selectall_arrayref($q{$t})) } qw(cur new);
    my $n = scalar @{$dbh{cur}->selectall_arrayref($q{$t})};
    printf "table %-16s %3d rows  %s\n", $t, $n, $d{cur} eq $d{new} ? 'same' : 'DIFFERENT';
    $diff++ if $d{cur} ne $d{new};
}
print $diff ? "DIFFERENCES: $diff\n" : "equivalent\n";
exit($diff ? 1 : 0);
