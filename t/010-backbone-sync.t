# The Backbone against a real hub over a socket: the initial sync lands
# exactly, live changes follow, a replayed event changes nothing, bad
# frames are logged and change nothing, chat that comes before its
# channel's record joins the channel's history when the record comes, and
# the outbox reaches the hub.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use JSON::PP ();
use MIME::Base64 ();

my @games = map {
    { game => sprintf('Game%02d', $_), display_name => "Game number $_",
      description => "The ${_}th game", homepage_url => "https://g$_.example",
      allow_character_registration => ($_ % 2 ? JSON::PP::true
                                              : JSON::PP::false),
      connections => [{ type => 'telnet', host => "g$_.example",
                        port => 4000 + $_ },
                      { type => 'web', url => "https://g$_.example/play" }] }
} 1 .. 25;

my @channels = map {
    { name => 'chan-' . chr(96 + $_), description => "channel $_",
      hidden => ($_ % 5 ? JSON::PP::false : JSON::PP::true) }
} 1 .. 25;

# Game07 is online with two players before the module connects
start_hub(seed => { games => \@games, channels => \@channels,
                    players => { Game07 => [qw(Pat Quinn)] } },
          heartbeat => 1, sync => 'push');

start_nginx(http_config => hub_http_config(sync => 'push'),
            config => "location = /_status { grapevine_status; }\n"
                      . 'location /api/ { grapevine_api; }');

sub count { sql_rows("SELECT count(*) FROM $_[0]")->[0][0] }

# the hub link as /_status shows it (the owner's hub_status row)
sub hub_status { json_decode(http_get('/_status')->{body})->{hub} }

ok(wait_until(sub { count('games') == 25 && count('channels') == 25 }, 20,
              0.2),
   'the initial sync of 25 games and 25 channels lands');

# exactly what the hub has
my $state = hub_api(GET => '/state');

my %hub_games = map { $_->{id} => $_ } @{ $state->{games} };
my $rows = sql_rows('SELECT remote_id, short_name, name, description, '
                    . 'homepage_url, allow_character_registration, display '
                    . 'FROM games ORDER BY remote_id');
my @mismatch = grep {
    my $g = $hub_games{ $_->[0] };
    !$g || $g->{game} ne $_->[1] || $g->{display_name} ne $_->[2]
        || ($g->{description} // '') ne ($_->[3] // '')
        || ($g->{homepage_url} // '') ne ($_->[4] // '')
        || !!$g->{allow_character_registration} != !!$_->[5]
        || !!$g->{display} != !!$_->[6]
} @$rows;
is(scalar @mismatch, 0, 'every game is the hub\'s') or diag(json_encode(\@mismatch));

my $conns = sql_rows('SELECT g.remote_id, c.remote_key, c.type, '
                     . 'coalesce(c.host, c.url), c.port FROM game_connections c '
                     . 'JOIN games g ON g.id = c.game_id '
                     . 'ORDER BY g.remote_id, c.type');
is(scalar @$conns, 50, 'two connections per game');
my @bad_conns = grep {
    my ($rid, $key, $type, $where, $port) = @$_;
    my ($c) = grep { $_->{id} eq $key } @{ $hub_games{$rid}{connections} };
    !$c || $c->{type} ne $type
        || ($c->{host} // $c->{url}) ne $where
        || ($c->{port} // -1) != ($port // -1)
} @$conns;
is(scalar @bad_conns, 0, 'connections match by their key');

my %hub_channels = map { $_->{id} => $_ } @{ $state->{channels} };
$rows = sql_rows('SELECT remote_id, name, description, hidden FROM channels');
my @bad_channels = grep {
    my $c = $hub_channels{ $_->[0] };
    !$c || $c->{name} ne $_->[1] || ($c->{description} // '') ne $_->[2]
        || !!$c->{hidden} != !!$_->[3]
} @$rows;
is(scalar @bad_channels, 0, 'every channel is the hub\'s');

# who was online before the link came up: asked for in every sync mode
ok(wait_until(sub {
       my $r = sql_rows("SELECT g.online, string_agg(p.name, ',' "
                        . "ORDER BY p.name) FROM games g LEFT JOIN "
                        . "players_online p ON p.game_id = g.id "
                        . "WHERE g.short_name = 'Game07' GROUP BY g.online");
       @$r && $r->[0][0] && ($r->[0][1] // '') eq 'Pat,Quinn'
   }, 10, 0.2), 'push sync: a game online before the link, and its players');

# the owner records its view at most a few times a second
my ($res, $status);
wait_until(sub {
    $res = http_get('/_status');
    $status = json_decode($res->{body});
    ($status->{hub}{synced}{games} // 0) == 25
}, 10, 0.2);
like($status->{hub}{state}, qr/^(syncing|live)$/, 'status: the link is up')
    or diag($res->{body});
is($status->{hub}{owner_pid} > 0, 1, 'status: names the owner');
is($status->{hub}{synced}{games}, 25, 'status: 25 games synced');
is($status->{hub}{synced}{channels}, 25, 'status: 25 channels synced');

# ------------------------------------------------------------ live updates

my $new = hub_api(POST => '/games', { game => 'NewGame',
                                      display_name => 'A new game',
                                      connections => [{ type => 'telnet',
                                                        host => 'new.example',
                                                        port => 23 }] });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM games WHERE short_name = 'NewGame'") }
   }, 10, 0.1), 'a game created on the hub appears');

hub_api(PUT => "/games/$new->{id}",
        { display_name => 'Renamed', connections => [{ type => 'web',
                                                 url => 'https://n.example' }] });
ok(wait_until(sub {
       my $r = sql_rows("SELECT name, (SELECT string_agg(type || coalesce(url, ''), ',') "
                        . "FROM game_connections c WHERE c.game_id = g.id) "
                        . "FROM games g WHERE short_name = 'NewGame'");
       @$r && $r->[0][0] eq 'Renamed' && $r->[0][1] eq 'webhttps://n.example'
   }, 10, 0.1), 'an update lands, and the connections are diffed');

my $ch = hub_api(POST => '/channels', { name => 'fresh', hidden => JSON::PP::false });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM channels WHERE name = 'fresh'") }
   }, 10, 0.1), 'a channel created on the hub appears');

my $ev = hub_api(POST => '/events', { game => 'Game01', title => 'Party',
                                      start_date => '2030-01-01',
                                      end_date => '2030-01-02' });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM events WHERE title = 'Party' "
                   . "AND NOT is_deleted") }
   }, 10, 0.1), 'an event created on the hub appears');

hub_api(DELETE => "/events/$ev->{id}");
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM events WHERE title = 'Party' "
                   . "AND is_deleted") }
   }, 10, 0.1), 'a deleted event is soft-deleted');

my $ach = hub_api(POST => '/achievements', { game => 'Game02',
                                             title => 'Level up',
                                             points => 10 });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM achievements WHERE title = 'Level up' "
                   . "AND points = 10") }
   }, 10, 0.1), 'an achievement created on the hub appears');

# ------------------------------------------------------ presence and chat

hub_api(POST => '/games/Game03/connect', { players => ['Alice', 'Bob'] });
ok(wait_until(sub {
       sql_rows("SELECT online FROM games WHERE short_name = 'Game03'")
           ->[0][0]
   }, 10, 0.1), 'a game that connects is online');

hub_api(POST => '/players/sign-in', { game => 'Game03', name => 'Carol' });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM players_online p JOIN games g "
                   . "ON g.id = p.game_id WHERE g.short_name = 'Game03' "
                   . "AND p.name = 'Carol'") }
   }, 10, 0.1), 'a player who signs in is online');

hub_api(POST => '/players/sign-out', { game => 'Game03', name => 'Carol' });
ok(wait_until(sub {
       !@{ sql_rows("SELECT 1 FROM players_online WHERE name = 'Carol'") }
   }, 10, 0.1), 'a player who signs out is not');

hub_api(POST => '/broadcast', { channel => 'chan-a', game => 'Game03',
                                name => 'Alice', message => "h\x{e9}llo \x{1f600}" });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM channel_messages WHERE player_name = 'Alice' "
                   . "AND channel_name = 'chan-a' AND game_name = 'Game03'") }
   }, 10, 0.1), 'a channel message is stored');
is(sql_rows("SELECT message FROM channel_messages WHERE player_name = 'Alice'")
       ->[0][0], "h\x{e9}llo \x{1f600}", 'with its text intact (UTF-8)');

hub_api(POST => '/games/Game03/disconnect');
ok(wait_until(sub {
       !sql_rows("SELECT online FROM games WHERE short_name = 'Game03'")
           ->[0][0]
   }, 10, 0.1), 'a game that disconnects is offline');

# ------------------------------------------------- replay and bad frames

sub snapshot {
    return json_encode([
        sql_rows('SELECT * FROM games ORDER BY id'),
        sql_rows('SELECT * FROM game_connections ORDER BY id'),
        sql_rows('SELECT * FROM channels ORDER BY id'),
        sql_rows('SELECT * FROM events ORDER BY id'),
        sql_rows('SELECT * FROM achievements ORDER BY id'),
        sql_rows('SELECT count(*) FROM channel_messages'),
    ]);
}

my $before = snapshot();

my $replay = json_encode({ event => 'sync/games', ref => 'replay-1',
                           payload => { games => [ @{ $state->{games} }[0 .. 9] ] } });
hub_api(POST => '/raw', { frame => $replay });
hub_api(POST => '/raw', { frame => $replay });

my $offset = -s error_log_path();
my $counts = hub_status()->{synced};

my @bad = (
    'this is not JSON',
    '{"event":"sync/games","payload":{"games":[',
    '{"event":"heartbeat"} trailing',
    '[1,2,3]',
    ('[' x 100) . (']' x 100),
    '{"event":"channels/broadcast","payload":' . ('{"a":' x 40) . '1'
        . ('}' x 40) . '}',
    '{"event":"sync/games","payload":{"games":[{"id":"seven"}]}}',
);

hub_api(POST => '/raw', { frame => $_ }) for @bad;
hub_api(POST => '/raw', { frame_base64 =>
    MIME::Base64::encode_base64('{"event":"channels/broadcast","payload":'
        . qq({"channel":"chan-a","message":"bad \xc3\x28 byte","game":"Game03",)
        . '"name":"Eve"}}', '') });
hub_api(POST => '/raw', { frame => '{"event":"channels/broadcast","payload":'
                                   . '{"channel":"chan-a","message":"'
                                   . ('x' x (1024 * 1024 + 10))
                                   . '","game":"Game03","name":"Eve"}}' });

# after the bad frames, a good one still gets through: the link survived
hub_api(POST => '/broadcast', { channel => 'chan-b', game => 'Game04',
                                name => 'Zed', message => 'still here' });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM channel_messages WHERE message = 'still here'") }
   }, 10, 0.1), 'the link survives bad frames');

sleep 0.5;

my $log_text = error_log_since($offset);
like($log_text, qr/frame rejected .*malformed|frame rejected .*JSON/i,
     'malformed JSON is logged');
like($log_text, qr/frame rejected .*deeper/, 'deep nesting is logged');
like($log_text, qr/frame rejected .*UTF-8/, 'invalid UTF-8 is logged');
like($log_text, qr/larger than grapevine_hub_max_frame/,
     'an oversized frame is logged');
like($log_text, qr/(record skipped|frame rejected|event ignored).*(id|seven)/,
     'an invalid record is logged');
# (the frames are taken in order: Eve's came before "still here")
is(sql_rows("SELECT count(*) FROM channel_messages WHERE player_name = 'Eve'")
       ->[0][0], 0, 'no message of a bad frame was stored');

# and counted where an operator looks: 8 frames dropped, 1 record skipped
my $st;
wait_until(sub {
    $st = hub_status()->{synced};
    $st->{rejected} == $counts->{rejected} + 8
        && $st->{skipped} == $counts->{skipped} + 1
}, 10, 0.2);
is($st->{rejected}, $counts->{rejected} + 8,
   'status: the 8 frames dropped are counted as rejected');
is($st->{skipped}, $counts->{skipped} + 1,
   'status: the invalid record is counted as skipped');

# broadcast from a known game aside, nothing else changed
sql("DELETE FROM channel_messages WHERE message = 'still here'");
is(snapshot(), $before,
   'replayed and bad frames changed nothing stored');

# ------------------------------- chat before its channel's record

# the hub relays a message on a channel it has not synced to us (yet)
hub_api(POST => '/raw', { frame => json_encode({
    event => 'channels/broadcast', ref => 'early-1',
    payload => { channel => 'Latecomer', game => 'Game05', name => 'Early',
                 message => 'before the channel' } }) });

ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM channel_messages WHERE hub_ref = 'early-1'") }
   }, 10, 0.1), 'a message on an unknown channel is stored');
is_deeply(sql_rows("SELECT channel_id FROM channel_messages "
                   . "WHERE hub_ref = 'early-1'"), [[undef]],
          'without a channel');
is(http_get('/api/channels/latecomer/messages')->{status}, 404,
   'the API does not know the channel yet');

# then the hub gets the channel and pushes its record
hub_api(POST => '/channels', { name => 'latecomer', description => 'late',
                               hidden => JSON::PP::false });

my $history;
ok(wait_until(sub {
       $res = http_get('/api/channels/latecomer/messages');
       return 0 unless $res->{status} == 200;
       $history = json_decode($res->{body});
       return scalar @{ $history->{items} };
   }, 10, 0.1), 'once the channel arrives, its history has the message')
    or diag($res->{body});
is_deeply([map { [$_->{game}, $_->{name}, $_->{text}] }
           @{ $history->{items} // [] }],
          [['Game05', 'Early', 'before the channel']],
          'exactly that message, as it was sent');
is_deeply(sql_rows("SELECT count(*) FROM channel_messages m JOIN channels c "
                   . "ON c.id = m.channel_id WHERE m.hub_ref = 'early-1' "
                   . "AND c.name = 'latecomer'"), [[1]],
          'the stored message points at the channel');

# later messages on it land with the channel at once
hub_api(POST => '/broadcast', { channel => 'latecomer', game => 'Game05',
                                name => 'Later', message => 'after' });
ok(wait_until(sub {
       $res = http_get('/api/channels/latecomer/messages');
       $history = eval { json_decode($res->{body}) } // {};
       return 2 == @{ $history->{items} // [] };
   }, 10, 0.1), 'a later message joins it, newest first')
    or diag($res->{body});
is_deeply([map { $_->{text} } @{ $history->{items} // [] }],
          ['after', 'before the channel'], 'in order');

# ---------------------------- what the parser skips, what the database does

# The parser alone decides whether a record is valid (a date that does not
# exist); the database only what needs its rows (a game it does not know,
# a short name another game has).  The other records of the event land.
$offset = -s error_log_path();
$counts = hub_status()->{synced};
my $g1 = sql_rows("SELECT remote_id FROM games WHERE short_name = 'Game01'")
         ->[0][0];

hub_api(POST => '/raw', { frame => json_encode({
    event => 'sync/events', payload => [
        { action => 'create', logged_at => '2031-01-01T00:00:00Z',
          payload => { id => 9001, game_id => $g1, title => 'Lands',
                       start_date => '2031-01-01' } },
        { action => 'create', logged_at => '2031-01-01T00:00:01Z',
          payload => { id => 9002, game_id => 999999, title => 'Orphan' } },
        { action => 'create', logged_at => '2031-01-01T00:00:02Z',
          payload => { id => 9003, game_id => $g1, title => 'Bad date',
                       end_date => '2031-02-30' } },
    ] }) });
hub_api(POST => '/raw', { frame => json_encode({
    event => 'sync/games', payload => { games => [
        { id => 9101, game => 'GAME02', display_name => 'Taken name' },
        { id => 9102, game => 'Fresh', display_name => 'A fresh game' },
    ] } }) });

ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM games WHERE short_name = 'Fresh'") }
   }, 10, 0.1), 'a game lands next to one whose short name is taken');
is_deeply(sql_rows('SELECT remote_id, title FROM events '
                   . 'WHERE remote_id > 9000 ORDER BY 1'), [[9001, 'Lands']],
          'of three events, the valid one of a known game lands');
is_deeply(sql_rows('SELECT count(*) FROM games WHERE remote_id = 9101'),
          [[0]], 'the game with a taken short name does not');
wait_until(sub {
    $st = hub_status()->{synced};
    $st->{skipped} == $counts->{skipped} + 3
}, 10, 0.2);
is($st->{skipped}, $counts->{skipped} + 3, 'status: three records skipped');
is($st->{events}, $counts->{events} + 1, 'status: one event stored');
$log_text = error_log_since($offset);
like($log_text, qr/record skipped: event #9003: "end_date" is not a date/,
     'the parser names the bad date');
like($log_text, qr/record skipped: event #9002: game 999999 is unknown/,
     'the database names the unknown game');
like($log_text, qr/record skipped: game #9101: .*games_short_name_key/,
     'and the taken short name');

# ------------------------------- chat and names the hub may not send us

# A hostile or broken hub: chat too large or empty, games whose short
# names break links or shadow a route of the API.  The parser refuses each
# with a log line and a count; nothing of them is stored, the rest of the
# event lands, and a channel's history stays small.
$offset = -s error_log_path();
$counts = hub_status()->{synced};
my $messages = sql_rows('SELECT count(*) FROM channel_messages')->[0][0];

# (as text: hub_api() encodes it as UTF-8, once)
sub broadcast_frame {
    my ($ref, %p) = @_;
    return JSON::PP->new->canonical->encode({
        event => 'channels/broadcast', ref => $ref,
        payload => { channel => 'chan-c', game => 'Game06', name => 'Mal',
                     message => 'hi', %p } });
}

# 5 messages of almost a megabyte (within grapevine_hub_max_frame)
hub_api(POST => '/raw', { frame => broadcast_frame("huge-$_",
                                                   message => 'x' x 1_000_000) })
    for 1 .. 5;
my @refused = (
    [ 'long-1', message => 'y' x 2049 ],
    [ 'long-2', message => "\x{e9}" x 1025 ],
    [ 'empty-1', channel => '' ],
    [ 'empty-2', game => '' ],
    [ 'empty-3', name => '' ],
    [ 'empty-4', message => '' ],
    [ 'blank-1', message => "  \t " ],
    [ 'name-1', name => 'n' x 51 ],
    [ 'chan-1', channel => 'c' x 16 ],
    [ 'game-1', game => 'a/b' ],
    [ 'game-2', game => 'online' ],
);
hub_api(POST => '/raw', { frame => broadcast_frame(@$_) }) for @refused;
hub_api(POST => '/raw', { frame => broadcast_frame('fits-1',
                                                   message => 'z' x 2048) });
hub_api(POST => '/raw', { frame => broadcast_frame('fits-2',
                                                   message => "\x{e9}" x 1024) });

hub_api(POST => '/raw', { frame => json_encode({
    event => 'sync/games', payload => { games => [
        { id => 9201, game => 'a/b', display_name => 'Slash' },
        { id => 9202, game => 'a?b#c', display_name => 'Query' },
        { id => 9203, game => '..', display_name => 'Dots' },
        { id => 9204, game => 'x%2Fy', display_name => 'Escaped' },
        { id => 9205, game => 'online', display_name => 'Shadow' },
        { id => 9206, game => 'ONLINE', display_name => 'Shadow too' },
        { id => 9207, game => '', display_name => 'Nameless' },
        { id => 9208, game => 'Okay9208', display_name => 'A good one' },
    ] } }) });

ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM games WHERE short_name = 'Okay9208'") }
       && @{ sql_rows("SELECT 1 FROM channel_messages "
                      . "WHERE hub_ref = 'fits-2'") }
   }, 20, 0.1), 'what is within the limits lands');
is_deeply(sql_rows("SELECT hub_ref, length(message), octet_length(message) "
                   . "FROM channel_messages WHERE game_name = 'Game06' "
                   . "ORDER BY id"),
          [['fits-1', 2048, 2048], ['fits-2', 1024, 2048]],
          'of the chat, only the two messages of at most 2048 bytes');
is(sql_rows('SELECT count(*) FROM channel_messages')->[0][0], $messages + 2,
   'nothing else was stored: no huge, empty or misnamed message');
is_deeply(sql_rows('SELECT remote_id, short_name FROM games '
                   . 'WHERE remote_id BETWEEN 9201 AND 9208'),
          [[9208, 'Okay9208']],
          'of eight games, only the one with a valid short name');

wait_until(sub {
    $st = hub_status()->{synced};
    $st->{rejected} >= $counts->{rejected} + 16
        && $st->{skipped} >= $counts->{skipped} + 7
}, 10, 0.2);
is($st->{rejected}, $counts->{rejected} + 16,
   'status: the 16 refused broadcasts are counted as rejected');
is($st->{skipped}, $counts->{skipped} + 7,
   'status: the 7 games are counted as skipped');

$log_text = error_log_since($offset);
my $ignored = 'event ignored: channels/broadcast: ';
is(scalar(() = $log_text =~ /\Q$ignored\E"message" is longer than 2048 bytes/g),
   7, 'each message too long is logged');
for my $field (qw(channel game name message)) {
    like($log_text, qr/\Q$ignored\E"$field" is empty/,
         "an empty $field is logged");
}
like($log_text, qr/\Q$ignored\E"name" is longer than 50 characters/,
     'a name too long is logged');
like($log_text, qr/\Q$ignored\E"channel" is longer than 15 characters/,
     'a channel too long is logged');
like($log_text, qr/\Q$ignored\E"game" is not 1 to 15 letters and digits/,
     'a bad short name is logged');
like($log_text, qr/\Q$ignored\E"game" is a reserved name/,
     'a reserved short name is logged');
for my $id (9201 .. 9204) {
    like($log_text, qr/record skipped: game #$id: "game" is not 1 to 15 letters and digits/,
         "game #$id is skipped and named");
}
like($log_text, qr/record skipped: game #9205: "game" is a reserved name/,
     'the game named online is skipped and named');
like($log_text, qr/record skipped: game #9206: "game" is a reserved name/,
     'in any case');
like($log_text, qr/record skipped: game #9207: "game" is empty/,
     'the game without a short name is skipped and named');
unlike($log_text, qr/x{100}/, 'no huge message is copied into the log');

# the channel's history: the two messages, not megabytes
$res = http_get('/api/channels/chan-c/messages?limit=100');
is($res->{status}, 200, 'the channel\'s history answers');
cmp_ok(length $res->{body}, '<', 16 * 1024,
       'and is a few kilobytes, not megabytes');
is_deeply([map { $_->{text} } @{ json_decode($res->{body})->{items} }],
          ["\x{e9}" x 1024, 'z' x 2048], 'with the two messages');

# ----------------------------------------------------------------- outbox

hub_api(DELETE => '/frames');
sql(q{INSERT INTO hub_outbox (frame) VALUES
      ('{"event":"channels/send","ref":"out-1","payload":{"channel":"chan-a","name":"system","message":"one"}}'),
      ('{"event":"channels/send","ref":"out-2","payload":{"channel":"chan-a","name":"system","message":"two"}}')});

my $frames;
ok(wait_until(sub {
       $frames = hub_api(GET => '/frames');
       2 == grep { ($_->{frame}{ref} // '') =~ /^out-/ } @$frames
   }, 10, 0.1), 'outbox frames reach the hub');
is_deeply([map { $_->{frame}{ref} } grep { ($_->{frame}{ref} // '') =~ /^out-/ } @$frames],
          ['out-1', 'out-2'], 'in order');
ok(wait_until(sub {
       sql_rows('SELECT count(*) FROM hub_outbox WHERE sent_at IS NULL')
           ->[0][0] == 0
   }, 10, 0.1), 'and are marked sent');

# the heartbeat answers name the system player
ok(wait_until(sub {
       grep { ($_->{frame}{event} // '') eq 'heartbeat'
              && json_encode($_->{frame}{payload}{players}) eq '["system"]' }
            @{ hub_api(GET => '/frames') }
   }, 5, 0.2), 'heartbeats are answered, with the system player online');

# ------------------------------------------- grapevine_hub_max_message

# an operator's own limit for messages, here 100 bytes
my $old_owner = hub_status()->{owner_pid};
stop_nginx();
start_nginx(http_config => hub_http_config(
                sync => 'push', extra => 'grapevine_hub_max_message 100;'),
            config => "location = /_status { grapevine_status; }\n"
                      . 'location /api/ { grapevine_api; }');
ok(wait_until(sub {
       my $h = hub_status();
       ($h->{state} // '') eq 'live' && $h->{owner_pid} != $old_owner
   }, 15, 0.1), 'max_message 100: linked again');
$offset = -s error_log_path();
hub_api(POST => '/raw', { frame => broadcast_frame('op-1',
                                                   message => 'o' x 101) });
hub_api(POST => '/raw', { frame => broadcast_frame('op-2',
                                                   message => 'p' x 100) });
ok(wait_until(sub {
       @{ sql_rows("SELECT 1 FROM channel_messages WHERE hub_ref = 'op-2'") }
   }, 10, 0.1), 'max_message 100: a message of 100 bytes lands');
is_deeply(sql_rows("SELECT count(*) FROM channel_messages "
                   . "WHERE hub_ref = 'op-1'"), [[0]],
          'max_message 100: one of 101 does not');
like(error_log_since($offset),
     qr/event ignored: channels\/broadcast: "message" is longer than 100 bytes/,
     'max_message 100: and the log says why');

Grapevine::Test::cleanup();
done_testing();
