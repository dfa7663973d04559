# The API's records kept ready by the database (migrations/0011,
# sql/api/api_json.sql and the fragments' triggers): the answers are byte
# for byte what the module's yajl writer wrote before (strings with every
# kind of character escaped as yajl escapes them, unsafe links as null,
# names percent-encoded in links, the location's prefix in them), and
# every kind of write keeps them in step: a game's fields, its
# connections added, changed and removed, its events, a game removed, a
# kept value written by hand, rows written with the triggers off (a 500
# and a log line until api_render_all() writes them, never a broken body).
# The whole record (migrations/0016): its players online, events and
# achievements kept by the statements that change them, a record read on a
# day it does not hold for made afresh, and written again at the next slot
# of the statistics.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;

plan tests => 38;

# a JSON string as yajl writes it: UTF-8 as it is, the short escapes, the
# other control characters as \u00XX in capitals
sub js {
    my ($s) = @_;
    return 'null' unless defined $s;
    my %short = ('"' => '\\"', '\\' => '\\\\', "\b" => '\\b', "\f" => '\\f',
                 "\n" => '\\n', "\r" => '\\r', "\t" => '\\t');
    $s =~ s/(["\\\x00-\x1f])/$short{$1} \/\/ sprintf('\\u%04X', ord $1)/ge;
    return qq{"$s"};
}

my $odd = "Tab\tand\nline \x01\x0b\x1f\x7f \"q\" \\ \xc3\xa9 \xf0\x9d\x84\x9e </x>";

sql(<<"SQL");
INSERT INTO games (id, remote_id, short_name, name, description, homepage_url,
                   user_agent, user_agent_url, online, last_seen_at, display,
                   display_players)
VALUES (1, 1, 'Odd', E'${\ sql_lit($odd)}', NULL, 'javascript:alert(1)',
        E'agent \\x7f', 'https://ok.example/a b', true,
        '2026-01-02 03:04:05+00', true, true),
       (2, 2, 'a b/c', 'Spaced', 'x', 'HTTPS://Fine.example/p?q=1', NULL,
        'http://x', false, NULL, true, false);

INSERT INTO game_connections (id, game_id, remote_key, type, host, port, url)
VALUES (1, 1, 'k1', 'telnet', 'h"ost', 4000, NULL),
       (2, 1, 'k2', 'web', NULL, NULL, 'https://play.example/'),
       (3, 1, 'k3', 'secure telnet', NULL, NULL, 'data:text/html,x');

INSERT INTO players_online (game_id, name)
VALUES (1, E'bob\\x1b'), (1, 'Alice');

INSERT INTO events (remote_id, game_id, title, description, start_date,
                    end_date)
VALUES (1, 1, E'Fest \\x02', NULL, current_date + 1, NULL),
       (2, 1, 'Past', NULL, current_date - 3, current_date - 1);
SQL

sub sql_lit {
    my ($s) = @_;
    $s =~ s/\\/\\\\/g;
    $s =~ s/'/\\'/g;
    $s =~ s/([\x00-\x1f\x7f-\xff])/sprintf '\\x%02x', ord $1/ge;
    return $s;
}

my $today = sql_rows("SELECT to_char(current_date + 1, 'YYYY-MM-DD')")->[0][0];

start_nginx(config => 'location /api/ { grapevine_api; }
                       location /v1/ { grapevine_api; }');

sub conns {
    my ($prefix) = @_;
    return '[{"type":"telnet","host":' . js('h"ost') . ',"port":4000},'
         . '{"type":"web","url":"https://play.example/"},'
         . '{"type":"secure telnet","url":null}]';
}

sub record {
    my ($prefix, %o) = @_;
    my $name = $o{name} // $odd;
    return '{"short_name":"Odd","name":' . js($name)
         . ',"description":null,"homepage_url":null,"user_agent":'
         . js("agent \x7f") . ',"user_agent_url":null,"online":true,'
         . '"last_seen_at":"2026-01-02T03:04:05Z","connections":'
         . ($o{conns} // conns()) . ',"players":["Alice",' . js("bob\x1b")
         . '],"events":' . ($o{events} // '[{"title":' . js("Fest \x02")
         . ',"description":null,"start_date":"' . $today
         . '","end_date":null}]') . ',"achievements_count":0,"links":['
         . qq({"rel":"self","href":"${prefix}games/Odd"},)
         . qq({"rel":"characters","href":"${prefix}games/Odd/characters"}]})
         . "\n";
}

sub item_spaced {
    my ($prefix) = @_;
    return '{"short_name":"a b/c","name":"Spaced","description":"x",'
         . '"homepage_url":"HTTPS://Fine.example/p?q=1","user_agent":null,'
         . '"online":false,"connections":[],"links":[{"rel":"self",'
         . qq("href":"${prefix}games/a%20b%2Fc"}]});
}

sub item_odd {
    my ($prefix, %o) = @_;
    return '{"short_name":"Odd","name":' . js($o{name} // $odd)
         . ',"description":null,"homepage_url":null,"user_agent":'
         . js("agent \x7f") . ',"online":true,"connections":'
         . ($o{conns} // conns()) . qq(,"links":[{"rel":"self","href":")
         . qq(${prefix}games/Odd"}]});
}

# the bodies, byte for byte
my $res = http_get('/api/games/Odd');
is($res->{status}, 200, 'a record: 200');
is($res->{body}, record('/api/'), 'a record: its bytes');

$res = http_get('/v1/games/odd');
is($res->{body}, record('/v1/'), 'another location: its prefix in the links');

$res = http_get('/api/games');
is($res->{body}, '{"items":[' . item_spaced('/api/') . ','
                 . item_odd('/api/') . '],"links":[{"rel":"self",'
                 . '"href":"/api/games"}]}' . "\n", 'the list: its bytes');

$res = http_get('/api/games?online=yes');
is($res->{body}, '{"items":[' . item_odd('/api/') . '],"links":[{"rel":'
                 . '"self","href":"/api/games?online=yes"}]}' . "\n",
   'the list of the games online: its bytes');

$res = http_get('/api/games/a%20b%2Fc');
like($res->{body}, qr/^\{"short_name":"a b\/c",.*"players":null,"events":\[\],"achievements_count":0,"links":\[\{"rel":"self","href":"\/api\/games\/a%20b%2Fc"\}/,
     'a record that hides its players, with an encoded name');

# every kind of write keeps them in step
sql(q{UPDATE games SET name = 'Renamed' WHERE id = 1});
is(http_get('/api/games/Odd')->{body}, record('/api/', name => 'Renamed'),
   'a game renamed');

sql(q{UPDATE game_connections SET port = 4001 WHERE id = 1});
(my $c = conns()) =~ s/4000/4001/;
is(http_get('/api/games/Odd')->{body},
   record('/api/', name => 'Renamed', conns => $c), 'a connection changed');

sql(q{DELETE FROM game_connections WHERE id IN (2, 3)});
$c = '[{"type":"telnet","host":' . js('h"ost') . ',"port":4001}]';
is(http_get('/api/games?name=ren')->{body},
   '{"items":[' . item_odd('/api/', name => 'Renamed', conns => $c)
   . '],"links":[{"rel":"self","href":"/api/games?name=ren"}]}' . "\n",
   'connections removed: the list');

sql(q{DELETE FROM game_connections WHERE game_id = 1});
is(sql_rows('SELECT api_connections FROM games WHERE id = 1')->[0][0], '',
   'no connections left: none kept');
is(http_get('/api/games/Odd')->{body},
   record('/api/', name => 'Renamed', conns => '[]'), 'and none listed');

sql(q{INSERT INTO game_connections (id, game_id, remote_key, type, host, port)
      VALUES (9, 1, 'k9', 'telnet', 'new.example', 23)});
$c = '[{"type":"telnet","host":"new.example","port":23}]';
is(http_get('/api/games/Odd')->{body},
   record('/api/', name => 'Renamed', conns => $c), 'a connection added');

sql(q{UPDATE events SET title = 'Feast', end_date = start_date + 2
      WHERE remote_id = 1});
my $end = sql_rows("SELECT to_char(current_date + 3, 'YYYY-MM-DD')")->[0][0];
is(http_get('/api/games/Odd')->{body},
   record('/api/', name => 'Renamed', conns => $c,
          events => qq([{"title":"Feast","description":null,)
                    . qq("start_date":"$today","end_date":"$end"}])),
   'an event changed');

sql(q{UPDATE events SET is_deleted = true WHERE remote_id = 1});
is(http_get('/api/games/Odd')->{body},
   record('/api/', name => 'Renamed', conns => $c, events => '[]'),
   'an event deleted');

sql(q[UPDATE games SET api_head = '{"forged":1', api_item = '{"forged":2}'
      WHERE id = 1]);
like(http_get('/api/games/Odd')->{body}, qr/^\{"short_name":"Odd","name":"Renamed"/,
     'a kept value written by hand is written again from the row');

like(http_get('/api/games?page=1')->{body}, qr/^\{"items":\[\{"short_name":"Odd","name":"Renamed",.*\{"short_name":"a b\/c"/,
     'in the list too');

sql(q{UPDATE games SET online = false WHERE id = 1});
like(http_get('/api/games')->{body}, qr/"name":"Renamed".*"online":false,"connections":\[\{"type":"telnet","host":"new.example"/,
     'a game gone offline: its item in the list');

# a session that replicates (session_replication_role = replica: no
# ordinary trigger fires, no notification) keeps them in step too
sql(q{BEGIN; SET LOCAL session_replication_role = replica;
      UPDATE games SET description = 'replicated' WHERE id = 1;
      COMMIT});
like(sql_rows('SELECT api_item FROM games WHERE id = 1')->[0][0],
     qr/"description":"replicated"/, 'a write in a replicating session');

# rows written with the triggers off (pg_restore --disable-triggers): a
# clear 500, until rendered
sql(q{BEGIN; ALTER TABLE games DISABLE TRIGGER ALL;
      INSERT INTO games (id, remote_id, short_name, name)
      VALUES (3, 3, 'Raw', 'Raw Game');
      ALTER TABLE games ENABLE TRIGGER ALL; COMMIT});
my $log = -s error_log_path();
$res = http_get('/api/games/Raw');
is($res->{status}, 500, 'a game without its kept JSON: 500');
like(error_log_since($log), qr/a record's kept JSON is missing .*api_render_all\(\)/,
     'and the log says what to run');
$res = http_get('/api/games?online=no');
is($res->{status}, 500, 'the list that holds it: 500 too, never a broken body');

sql('SELECT api_render_all()');
$res = http_get('/api/games/Raw');
is($res->{status}, 200, 'api_render_all(): 200');
is($res->{body}, '{"short_name":"Raw","name":"Raw Game","description":null,'
   . '"homepage_url":null,"user_agent":null,"user_agent_url":null,'
   . '"online":false,"last_seen_at":null,"connections":[],"players":[],'
   . '"events":[],"achievements_count":0,"links":[{"rel":"self","href":'
   . '"/api/games/Raw"},{"rel":"characters","href":'
   . '"/api/games/Raw/characters"}]}' . "\n", 'with its bytes');

# the whole record kept (migrations/0016): its players online, events and
# achievements written by the statements that change them
sql(q{INSERT INTO games (id, remote_id, short_name, name, online,
                         display_players)
      VALUES (4, 4, 'Kept', 'Kept Game', true, true)});
my $kept = sub { http_get('/api/games/Kept')->{body} };
like($kept->(), qr/"players":\[\],"events":\[\],"achievements_count":0,/,
     'a new game: its record, nobody online, no events');
sql(q{INSERT INTO players_online (game_id, name)
      VALUES (4, 'Zed'), (4, 'amy')});
like($kept->(), qr/"players":\["amy","Zed"\],/,
     'players signed in: in the record, by name');
sql(q{DELETE FROM players_online WHERE game_id = 4 AND name = 'Zed'});
like($kept->(), qr/"players":\["amy"\],/, 'a player signed out: gone');
sql(q{INSERT INTO achievements (remote_id, game_id, title, display)
      VALUES (41, 4, 'Shown', true), (42, 4, 'Hidden', false),
             (43, 4, 'Also shown', true)});
like($kept->(), qr/"achievements_count":2,/, 'achievements: those shown');
sql(q{UPDATE achievements SET is_deleted = true WHERE remote_id = 43});
like($kept->(), qr/"achievements_count":1,/, 'an achievement deleted');
sql(q{UPDATE games SET display_players = false WHERE id = 4});
like($kept->(), qr/"players":null,/, 'players hidden: null');
sql(q{UPDATE games SET display_players = true WHERE id = 4});

# the days a record holds for: until the first event it lists ends
sql(q{INSERT INTO events (remote_id, game_id, title, start_date, end_date)
      VALUES (41, 4, 'Ends today', current_date - 1, current_date),
             (42, 4, 'Later', current_date + 5, NULL),
             (43, 4, 'Over', current_date - 9, current_date - 2)});
is_deeply(sql_rows(q{SELECT (api_record_date = current_date)::int,
                            api_record_until - current_date
                     FROM games WHERE id = 4}), [[1, 1]],
          'written today, holds until the day after the first end');
like($kept->(), qr/"events":\[\{"title":"Ends today",.*\{"title":"Later",[^\]]*\],/,
     'the events not ended, by start');
unlike($kept->(), qr/"Over"/, 'an event over is not listed');

# a record read on a day it does not hold for (it was written before the
# first event it lists ended; or by a session whose day is ahead) is made
# afresh, never served as it was kept; written with its trigger off, so
# that the kept value is what a past day left
for my $stale ("current_date", "current_date + 1") {
    my $col = $stale eq 'current_date' ? 'api_record_until'
                                       : 'api_record_date';
    sql(qq{BEGIN;
           ALTER TABLE games DISABLE TRIGGER games_api_record_update;
           UPDATE games SET api_record = '{"stale":true}', $col = $stale
           WHERE id = 4;
           ALTER TABLE games ENABLE TRIGGER games_api_record_update;
           COMMIT});
    like($kept->(), qr/^\{"short_name":"Kept",.*"players":\["amy"\],.*"title":"Ends today"/,
         "$col = $stale: the record made afresh, not the kept one");
}

# a record whose days have passed is written again at the next slot of
# the statistics, the network's clock
sql(q{BEGIN;
      ALTER TABLE games DISABLE TRIGGER games_api_record_update;
      UPDATE games SET api_record = '{"stale":true}',
                       api_record_until = current_date
      WHERE id = 4;
      ALTER TABLE games ENABLE TRIGGER games_api_record_update;
      COMMIT});
sql(q{INSERT INTO statistics (game_id, slot, players, seconds)
      VALUES (0, date_bin('15 minutes', now(), '2000-01-01'), 1, 900)});
my $row = sql_rows(q{SELECT api_record, (api_record_date = current_date)::int,
                            api_record_until - current_date
                     FROM games WHERE id = 4})->[0];
like($row->[0], qr/^\{"short_name":"Kept",.*"title":"Ends today"/,
     'a slot recorded: the stale record written again');
is_deeply([@$row[1, 2]], [1, 1], '... for today, until the first end');

# a game removed takes its kept rows with it
sql(q{DELETE FROM games WHERE id = 1});
is(http_get('/api/games/Odd')->{status}, 404, 'a game removed: 404');
unlike(http_get('/api/games')->{body}, qr/"Odd"/,
       'and the list no longer holds it');
