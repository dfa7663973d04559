# The API's live chat: GET /api/channels/{channel}/events answers
# Server-Sent Events from nginx itself, fed by each worker's listening
# connection.  A message stored reaches the channel's streams and no
# other; a hidden one leaves them; Last-Event-ID (or ?last_event_id=)
# resumes from the history, at most 100 messages a connection; bad
# requests get a clear error; grapevine_stream_max refuses past it with a
# 503; grapevine_stream_heartbeat sends comments; a client that does not
# read is dropped past grapevine_stream_buffer; a reload with 200 open
# streams ends them at once, the old workers are gone within seconds and
# the clients resume with nothing missed; two nginx instances on one
# database both see a message.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::ApiFixture;
use Grapevine::Stream;
use Time::HiRes qw(time sleep);

api_fixture(\&sql);
sql("SELECT setval('channel_messages_id_seq', 100)");

my $gossip = '/api/channels/gossip/events';

sub conf {
    my (%args) = @_;
    my $text = Grapevine::Test::nginx_conf(config => "location /api/ { grapevine_api; }",
                          http_config => 'grapevine_database '
                              . '"$TEST_NGINX_DB_CONNINFO";'
                              . ($args{http} // ''));
    $text =~ s/worker_processes 2;/worker_processes $args{workers};/
        if $args{workers};
    return $text;
}

sub say_chat {
    my ($channel, $text) = @_;
    return sql_rows("INSERT INTO channel_messages (channel_id, channel_name, "
                    . "game_name, player_name, message) SELECT id, name, "
                    . "'ExVenture', 'Alice', ? FROM channels WHERE name = ? "
                    . "RETURNING id", $text, $channel)->[0][0];
}

sub open_stream {
    my ($path, %h) = @_;
    return Grapevine::Stream->open(server_port(), $path, %h);
}

# a stream once the listening connections are up (503 before)
sub live_stream {
    my ($path, %h) = @_;
    my $s;
    wait_until(sub {
        $s = open_stream($path, %h);
        return 1 if $s->{status} == 200;
        $s->close;
        return 0;
    }, 10, 0.1);
    return $s;
}

start_nginx(config => "location /api/ { grapevine_api; }\n"
                      . "location = /metrics { grapevine_metrics; }");

# the instance's figures for streams (grapevine_metrics): summed over the
# workers, the metrics zone's
sub metric {
    my ($re) = @_;
    my $r = http_get('/metrics');
    return $r->{body} =~ /^$re (\d+)$/m ? $1 : undef;
}

# ------------------------------------------------------------ refusals

my $s = live_stream($gossip);
is($s->{status}, 200, 'a stream opens');
like($s->{headers}{'content-type'}, qr{^text/event-stream}, 'as events');
is($s->{headers}{'cache-control'}, 'no-store', 'not to be cached');
$s->events(2, sub { grep { ($_->{retry} // '') eq '1000' } @_ });
ok((grep { ($_->{retry} // '') eq '1000' } @{$s->{events}}),
   'the client is told to come back after a second');

for my $case (['/api/channels/nope/events', 404, 'not_found'],
              ['/api/channels/secret/events', 404, 'not_found'],
              ["$gossip?last_event_id=x", 400, 'invalid_parameter'],
              ["$gossip?last_event_id=-1", 400, 'invalid_parameter'])
{
    my ($path, $status, $code) = @$case;
    my $r = open_stream($path);
    is($r->{status}, $status, "$path: $status");
    my $body = join '', $r->{raw}, map { $_ } ();
    $r->events(1, sub { 0 });
    like($r->{raw} . $r->{body}, qr/"$code"/, "$path: $code");
    $r->close;
}

my $bad = open_stream($gossip, 'Last-Event-ID' => 'abc');
is($bad->{status}, 400, 'a Last-Event-ID that is no id: 400');
$bad->close;

# the open stream counts as one, the refused ones as the streams' 4xx
my ($open, $refused);
wait_until(sub {
    $open = metric('grapevine_streams_open');
    $refused = metric('grapevine_http_requests_total\{part="streams",'
                      . 'status="4xx"\}');
    return ($open // 0) == 1 && ($refused // 0) == 5;
}, 5, 0.1);
is($open, 1, 'metrics: one stream open in the instance');
is($refused, 5, 'metrics: the five refused streams, as the streams\' 4xx');
is(metric('grapevine_http_requests_total\{part="api",status="4xx"\}'), 0,
   'metrics: and not as the API\'s');

# --------------------------------------------------- live, by channel

my $t = open_stream('/api/channels/testing/events');
is($t->{status}, 200, 'a second channel\'s stream opens');

my $id = say_chat('gossip', 'hello live');
my @m;
$s->events(3, sub { @m = $s->messages; grep { $_->{id} == $id } @m });
my ($got) = grep { $_->{id} == $id } @m;
ok($got, 'a message stored reaches the channel\'s stream');
is_deeply($got && { map { $_ => $got->{$_} } qw(channel game name text) },
          { channel => 'gossip', game => 'ExVenture', name => 'Alice',
            text => 'hello live' }, 'with its fields');
is($s->last_id, $id, 'the event\'s id is the message\'s');

my $tid = say_chat('testing', 'other channel');
$t->events(3, sub { grep { $_->{id} == $tid } $t->messages });
is_deeply([map { $_->{id} } $t->messages], [$tid],
          'the other channel\'s stream has only its own message');
my $id2 = say_chat('gossip', 'second');
$s->events(3, sub { grep { $_->{id} == $id2 } $s->messages });
is_deeply([map { $_->{id} } $s->messages], [$id, $id2],
          'the channel\'s stream never had the other channel\'s');

sql("UPDATE channel_messages SET hidden = true WHERE id = ?", $id);
$s->events(3, sub { grep { ($_->{event} // '') eq 'hide' } @_ });
my ($hide) = grep { ($_->{event} // '') eq 'hide' } @{$s->{events}};
is($hide && json_decode($hide->{data})->{id}, $id,
   'a message hidden: its id goes to the streams');

# ----------------------------------------------------------- resuming

my $r = open_stream($gossip, 'Last-Event-ID' => 1);
$r->events(3, sub { grep { $_->{id} == $id2 } $r->messages });
is_deeply([map { $_->{id} } $r->messages], [2, 3, 5, $id2],
          'Last-Event-ID: the messages after it, shown ones only, in order');
my $id3 = say_chat('gossip', 'after the resume');
$r->events(3, sub { grep { $_->{id} == $id3 } $r->messages });
is_deeply([map { $_->{id} } $r->messages], [2, 3, 5, $id2, $id3],
          'then live');
$r->close;

$r = open_stream("$gossip?last_event_id=3");
$r->events(3, sub { grep { $_->{id} == $id3 } $r->messages });
is_deeply([map { $_->{id} } $r->messages], [5, $id2, $id3],
          '?last_event_id= as well');
$r->close;

sql("INSERT INTO channel_messages (channel_id, channel_name, game_name, "
    . "player_name, message) SELECT c.id, c.name, 'ExVenture', 'Bulk', "
    . "'bulk ' || i FROM channels c, generate_series(1, 150) i "
    . "WHERE c.name = 'gossip'");
my @all = map { $_->[0] } @{ sql_rows("SELECT id FROM channel_messages m "
    . "WHERE channel_name = 'gossip' AND NOT hidden AND id > ? ORDER BY id",
    $id3) };
$r = open_stream($gossip, 'Last-Event-ID' => $id3);
ok($r->closed(5), 'more than 100 to catch up: the stream ends');
my @first = map { $_->{id} } $r->messages;
is(scalar @first, 100, 'after 100 messages');
$r = open_stream($gossip, 'Last-Event-ID' => $first[-1]);
$r->events(3, sub { $r->messages == 50 });
is_deeply([@first, map { $_->{id} } $r->messages], \@all,
          'the next connection gets the rest: nothing missed');
$r->close;
$s->close;
$t->close;

# ------------------------------------------------- the network's presence

sub presence {
    my ($x) = @_;
    return map { json_decode($_->{data}) }
           grep { ($_->{event} // '') eq 'presence' } @{$x->{events}};
}

my $net = live_stream('/api/events');
is($net->{status}, 200, 'the network\'s stream opens');
like($net->{headers}{'content-type'}, qr{^text/event-stream}, 'as events');

sql(q{INSERT INTO players_online (game_id, name)
      SELECT id, 'Newcomer' FROM games WHERE short_name = 'Hidden'});
sql(q{INSERT INTO players_online (game_id, name)
      SELECT id, 'Newcomer' FROM games WHERE short_name = 'ExVenture'});
$net->events(3, sub { grep { $_->{game} eq 'ExVenture' } presence($net) });
my $players = sql_rows(q{SELECT count(*) FROM players_online p JOIN games g
                         ON g.id = p.game_id
                         WHERE g.short_name = 'ExVenture'})->[0][0];
is_deeply([presence($net)],
          [{ game => 'ExVenture', online => JSON::PP::true(),
             players => $players }],
          'a player signs in: the game\'s presence, with its players; '
          . 'nothing of a game that is not listed');

sql(q{UPDATE games SET online = false WHERE short_name = 'Shy'});
$net->events(3, sub { grep { $_->{game} eq 'Shy' } presence($net) });
is_deeply((grep { $_->{game} eq 'Shy' } presence($net))[0],
          { game => 'Shy', online => JSON::PP::false(), players => undef },
          'a game goes away: online false; its players are not told, as '
          . 'the game hides them');

sql(q{UPDATE games SET description = 'new words' WHERE short_name = 'Shy'});
sql(q{DELETE FROM players_online WHERE name = 'Newcomer'});
$net->events(3, sub { (grep { $_->{game} eq 'ExVenture' } presence($net))
                      >= 2 });
is_deeply([map { $_->{game} } presence($net)], [qw(ExVenture Shy ExVenture)],
          'a player signs out: told; a change that is no presence: not');

# a channel speaks: the network's stream names it (the chat index), and
# says nothing of the message itself (the channel's own stream does)
sub spoke {
    my ($x) = @_;
    return map { json_decode($_->{data}) }
           grep { ($_->{event} // '') eq 'chat' } @{$x->{events}};
}

say_chat('testing', 'said on testing');
$net->events(3, sub { spoke($net) });
is_deeply([spoke($net)], [{ channel => 'testing' }],
          'a message on a channel: an event "chat" naming the channel');
sql(q{INSERT INTO channel_messages (channel_id, channel_name, game_name,
                                    player_name, message)
      SELECT id, name, 'ExVenture', 'Alice', 'unseen' FROM channels
      WHERE name = 'secret'});
say_chat('gossip', 'said on gossip');
$net->events(3, sub { spoke($net) >= 2 });
is_deeply([spoke($net)], [{ channel => 'testing' }, { channel => 'gossip' }],
          'and nothing of a hidden channel');
$net->close;

stop_nginx();

# ------------------------------------- the cap, the heartbeat, slow ones

start_nginx(conf_text => conf(workers => 1,
                              http => 'grapevine_stream_max 3; '
                                      . 'grapevine_stream_heartbeat 300ms; '
                                      . 'grapevine_stream_buffer 4k;'));

my @open = (live_stream($gossip));
push @open, open_stream($gossip, rcvbuf => 1024), open_stream($gossip);
is_deeply([map { $_->{status} } @open], [200, 200, 200],
          'grapevine_stream_max 3: three streams');
my $over = open_stream($gossip);
is($over->{status}, 503, 'the fourth is refused: 503');
is($over->{headers}{'retry-after'}, '5', 'with Retry-After');
$over->events(1, sub { 0 });
like($over->{raw} . $over->{body}, qr/grapevine_stream_max/,
     'saying which bound');
$over->close;

$open[0]->events(2, sub { grep { defined $_->{comment} } @_ });
ok((grep { defined $_->{comment} } @{$open[0]{events}}),
   'grapevine_stream_heartbeat: a comment on a quiet stream');

$open[2]->close;
wait_until(sub { my $x = open_stream($gossip); my $ok = $x->{status} == 200;
                 push @open, $x; $ok }, 5, 0.1);
is($open[-1]{status}, 200, 'a stream closed by its client frees its room');

# a client that reads nothing: dropped once 4k wait for it
my $slow = $open[1];
my $log0 = Grapevine::Test::error_log_size();
my $big = 'x' x 2000;
for my $i (1 .. 3000) {
    say_chat('gossip', "$big $i");
    $open[0]->pump;
    last if Grapevine::Test::error_log_since($log0) =~ /does not keep up/;
}
ok(wait_until(sub { Grapevine::Test::error_log_since($log0) =~ /does not keep up/ }, 5),
   'a client that does not read is dropped past grapevine_stream_buffer');
my $fast = $open[0];
my $last = sql_rows("SELECT max(id) FROM channel_messages")->[0][0];
$fast->events(5, sub { grep { $_->{id} == $last } $fast->messages });
ok((grep { $_->{id} == $last } $fast->messages),
   'a client that reads keeps its stream, to the last message');
$_->close for @open;

stop_nginx();

# ------------------------------------- a reload with 200 open streams

start_nginx(config => "location /api/ { grapevine_api; }");

sub workers {
    my ($master) = @_;
    my @w;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @w, $pid if $ppid == $master;
    }
    return sort @w;
}

my $master = nginx_pid();
my @old = workers($master);
my $from = say_chat('gossip', 'before the reload');
live_stream("$gossip?last_event_id=$from")->close;
# each until it opens: the second worker's listening connection may come
# up a moment after the first's
my @many = map { live_stream("$gossip?last_event_id=$from") } 1 .. 200;
is(scalar(grep { $_->{status} == 200 } @many), 200, '200 streams open');
my $before = say_chat('gossip', 'all 200 have this one');
my $had = grep { my $x = $_; $x->events(5, sub { grep { $_->{id} == $before }
                 $x->messages }); grep { $_->{id} == $before } $x->messages }
          @many;
is($had, 200, 'each of them has a message stored');

my $t0 = time;
reload_nginx();
my @during = map { say_chat('gossip', "during the reload $_") } 1 .. 5;
ok(wait_until(sub { my %now = map { $_ => 1 } workers($master);
                    !grep { $now{$_} } @old }, 5, 0.05),
   'the old workers are gone within 5 seconds of the reload');
note(sprintf 'old workers gone after %.2f s', time - $t0);
is(scalar(grep { $_->closed(5) } @many), 200, 'every stream was ended');
my @after = map { say_chat('gossip', "after the reload $_") } 1 .. 5;

my @again = map { live_stream($gossip, 'Last-Event-ID' => $_->last_id) }
            @many;
my ($complete, $shown) = (0, 0);
for my $i (0 .. $#again) {
    my $x = $again[$i];
    $x->events(5, sub { grep { $_->{id} == $after[-1] } $x->messages });
    my %ids = map { $_->{id} => 1 } $many[$i]->messages, $x->messages;
    my @miss = grep { !$ids{$_} } @during, @after;
    $complete++ unless @miss;
    diag("missed @miss of @during @after, had " . join(' ', sort keys %ids))
        if @miss && $shown++ < 3;
}
is($complete, 200, 'each client, back with Last-Event-ID, has every '
                   . 'message stored during and after the reload');
$_->close for @again, @many;

# ------------------------------------ two nginx instances, one database

my $other = servroot() . '-b';
mkdir $other;
mkdir "$other/$_" for qw(conf logs tmp);
my $port_b = do { my $x = IO::Socket::INET->new(Listen => 1,
                  LocalAddr => '127.0.0.1', LocalPort => 0); $x->sockport };
my $text = conf();
my $root = servroot();
$text =~ s/\Q$root\E/$other/g;
my $port_a = server_port();
$text =~ s/127\.0\.0\.1:$port_a/127.0.0.1:$port_b/;
open my $fh, '>', "$other/conf/nginx.conf" or die $!;
print $fh $text;
close $fh;
system('/usr/sbin/nginx', '-p', $other, '-c', "$other/conf/nginx.conf") == 0
    or die 'the second nginx did not start';

my $sb;
wait_until(sub {
    $sb = Grapevine::Stream->open($port_b, $gossip);
    return 1 if $sb->{status} == 200;
    $sb->close;
    return 0;
}, 10, 0.1);
my $sa = live_stream($gossip);
is($sb->{status}, 200, 'a stream on the second instance');

# a message stored the way a request to the first one stores it: through
# the first instance's database connection is the same database
my $both = say_chat('gossip', 'for both instances');
for ([a => $sa], [b => $sb]) {
    my ($name, $x) = @$_;
    $x->events(3, sub { grep { $_->{id} == $both } $x->messages });
    ok((grep { $_->{id} == $both } $x->messages),
       "instance $name: the message reaches its stream");
}
$sa->close;
$sb->close;

open $fh, '<', "$other/logs/nginx.pid" or die $!;
my $pid_b = <$fh>;
chomp $pid_b;
kill 'QUIT', $pid_b;
ok(wait_until(sub { !kill 0, $pid_b }, 15, 0.05), 'the second one stops');
check_error_log("$other/logs/error.log", 'the second one\'s error log');

stop_nginx();

done_testing();
