# PostgreSQL stopped in the middle of a sync, then started: nothing is lost,
# the database ends up equal to the hub's state, in both sync modes.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use JSON::PP ();

my $root = root();
my $pgdir = servroot() . '-pg';

system("$root/util/pg", 'start', $pgdir) == 0 or die "cannot start a cluster";
my %env = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } `$root/util/pg env $pgdir`;

my $dbi;
sub dbq {
    my ($sql) = @_;
    $dbi ||= DBI->connect("dbi:Pg:dbname=gv;host=$env{PGHOST};port=$env{PGPORT}",
                          'grapevine', '', { RaiseError => 1, PrintError => 0 });
    return $dbi->selectall_arrayref($sql);
}

sub reset_db {
    undef $dbi;
    local $ENV{PGHOST} = $env{PGHOST};
    local $ENV{PGPORT} = $env{PGPORT};
    local $ENV{PGDATABASE} = 'gv';
    system("dropdb --if-exists gv 2>/dev/null && createdb gv && $root/util/migrate "
           . "> /dev/null") == 0 or die "createdb";
}

sub pg { system("$root/util/pg", $_[0], $pgdir) == 0 or die "pg $_[0]" }

# the database's view of the games equals the hub's
sub equal_to_hub {
    my $hub = hub_api(GET => '/state')->{games};
    my %want = map { $_->{id} => $_->{display_name} } @$hub;
    my $rows = eval { dbq('SELECT remote_id, name FROM games') } or return 0;
    return 0 unless @$rows == keys %want;
    for (@$rows) {
        return 0 unless ($want{ $_->[0] } // '') eq $_->[1];
    }
    return 1;
}

for my $mode (qw(push versions)) {
    reset_db();

    start_hub(seed => { games => [map { { game => "G$_",
                                          display_name => "Game $_" } }
                                  1 .. 25] },
              heartbeat => 1, sync => $mode);

    my $conn = "host=127.0.0.1 port=$env{PGPORT} dbname=gv user=grapevine "
               . "sslmode=disable";
    my $http = hub_http_config();
    $http =~ s/grapevine_database "[^"]*";/grapevine_database "$conn" pool=2;/;

    start_nginx(http_config => $http,
                config => 'location = /_status { grapevine_status; }');

    ok(wait_until(\&equal_to_hub, 15, 0.2), "$mode: synced");

    # the links that ended, as the deployment's owner records them
    my $before = {};
    wait_until(sub {
        $before = eval { json_decode(http_get('/_status')->{body})->{hub} }
                  // {};
        ($before->{state} // '') eq 'live'
    }, 15, 0.2);

    # a big change arrives, and the database stops in the middle of it
    hub_api(POST => '/games/bulk', [map { { game => "B$_",
                                            display_name => "Bulk $_" } }
                                    1 .. 400]);
    my $offset = -s error_log_path() // 0;
    pg('stop');
    undef $dbi;

    # more changes while it is away
    hub_api(PUT => '/games/G1', { display_name => 'Renamed while away' });
    hub_api(POST => '/games', { game => 'Away', display_name => 'Made away' });

    sleep 1;
    pg('start');
    my $back = dbq('SELECT now()::text')->[0][0];

    ok(wait_until(\&equal_to_hub, 30, 0.3),
       "$mode: after the database returns it equals the hub's state");
    is(dbq("SELECT name FROM games WHERE short_name = 'G1'")->[0][0],
       'Renamed while away', "$mode: a change made while away landed");
    like(error_log_since($offset), qr/the database went away/,
         "$mode: the outage is logged");

    # the owner's account, once it owns the link again (a row written
    # since the database came back: the one from before looks fresh too)
    my $st = {};
    wait_until(sub {
        my $new = eval {
            dbq("SELECT updated_at > '$back' FROM hub_status")->[0][0]
        };
        $st = eval { json_decode(http_get('/_status')->{body})->{hub} } // {};
        $new && ($st->{state} // '') eq 'live' && !$st->{stale}
    }, 15, 0.2);
    is($st->{state}, 'live', "$mode: status: live again");
    is($st->{last_error}, undef,
       "$mode: status: the error is cleared once the link is live again");
    cmp_ok($st->{reconnects} // 0, '>=', ($before->{reconnects} // 0) + 1,
           "$mode: status: the link the outage ended is counted");

    stop_nginx();
    stop_hub();
}

undef $dbi;
system("$root/util/pg", 'remove', $pgdir);

Grapevine::Test::cleanup();
done_testing();
