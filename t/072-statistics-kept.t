# The charts' points kept ready (statistics_kept, issue 15's benchmark
# goal): what a chart reads from them is what statistics_series() and
# site_chart() compute from the rows, for generated presence with gaps,
# the step that holds now, a game that just appeared, one that hides its
# players, one whose rows left the window; kept one slot at a time as the
# owner records them, they equal the whole windows computed anew; a stale
# kept row (the owner away since the step began) and a period the
# retention does not cover fall back to the rows; the pruning keeps them.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;

sub one { sql_rows($_[0])->[0][0] }

my @periods = ('48h', '7d', '30d');

# the file records the slot that holds now and reads it back as current:
# not in the last 30 s of a slot of 15 minutes
{
    my $into = time() % 900;
    sleep(901 - $into) if $into > 870;
}

# ----------------------------------------------------------- the data

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, online, display)
VALUES (1, 'Busy', 'Busy MUD', true, true),
       (2, 'Secret', 'Secret MUD', true, true),
       (3, 'Quiet', 'Quiet MUD', true, true),
       (4, 'Gone', 'Gone MUD', true, true),
       (5, 'Newbie', 'Newbie MUD', true, true);
UPDATE games SET display_players = false WHERE short_name = 'Secret';

-- 35 days of hourly maxima up to 3 days ago, written as a backfill
-- (another way than the owner's slots): a day's rhythm for Busy, 3 for
-- Secret, Quiet once 20 days ago, Gone over a day 9 days ago; the hub away
-- for 6 hours 12 days ago (no row at all)
CREATE TEMP TABLE hours AS
SELECT h FROM generate_series(date_trunc('hour', now()) - interval '35 days',
                              date_trunc('hour', now()) - interval '3 days'
                              - interval '1 hour', interval '1 hour') AS h
WHERE h NOT BETWEEN date_trunc('hour', now()) - interval '12 days'
                AND date_trunc('hour', now()) - interval '12 days'
                    + interval '5 hours';

INSERT INTO statistics_hourly (game_id, hour, players)
SELECT 0, h, 0 FROM hours;
INSERT INTO statistics_hourly (game_id, hour, players)
SELECT g.id, h.h,
       CASE g.short_name
       WHEN 'Busy' THEN 10 + (extract(hour FROM h.h)::integer * 7) % 23
       WHEN 'Secret' THEN 3
       ELSE 5 END
FROM games g, hours h
WHERE g.short_name IN ('Busy', 'Secret')
   OR (g.short_name = 'Quiet'
       AND h.h = date_trunc('hour', now()) - interval '20 days')
   OR (g.short_name = 'Gone'
       AND h.h BETWEEN date_trunc('hour', now()) - interval '9 days'
                   AND date_trunc('hour', now()) - interval '8 days');
UPDATE statistics_hourly h SET players = (
    SELECT sum(x.players) FROM statistics_hourly x JOIN games g
    ON g.id = x.game_id AND g.display_players
    WHERE x.hour = h.hour AND x.game_id <> 0)
WHERE h.game_id = 0;
SQL

# the backfill is kept as a whole, as after a migration
ok(one("SELECT backbone_statistics_keep(now() - interval '3 days', true)")
   > 0, 'a backfill: the windows kept anew');

# then 3 days of slots as the owner records them, 15 minutes apart, up to
# the one that holds now; slots 20 to 27 (2 hours) missed; Newbie plays in
# the newest slot only
sql(<<'SQL');
DO $$
DECLARE
    i     integer;
    slot  timestamptz;
BEGIN
    FOR i IN REVERSE 288 .. 0 LOOP
        CONTINUE WHEN i BETWEEN 20 AND 27;
        slot := date_bin('15 minutes', now(), '2000-01-01+00')
                - i * interval '15 minutes';
        DELETE FROM players_online;
        INSERT INTO players_online (game_id, name)
        SELECT g.id, 'p' || k
        FROM games g, generate_series(1, 40) k
        WHERE (g.short_name = 'Busy' AND k <= 1 + (i * 5) % 17 AND i % 9 <> 4)
           OR (g.short_name = 'Secret' AND k <= 2)
           OR (g.short_name = 'Newbie' AND k <= 7 AND i = 0);
        PERFORM backbone_statistics_record(slot, 900);
    END LOOP;
END
$$;
SQL

my %id = map { @$_ } @{ sql_rows('SELECT short_name, id FROM games') };

for my $p (@periods) {
    is(one("SELECT count(*) FROM statistics_kept k, statistics_period('$p') "
           . "s WHERE k.game_id = 0 AND k.period = '$p' AND k.last_step = "
           . "date_bin(s.step, now(), '2000-01-01+00')"), 1,
       "$p: the network's kept row ends with the step that holds now");
}

# ------------------------------------------ kept = computed from rows

sub same_points {
    my ($what) = @_;
    my @bad;
    for my $p (@periods, '1y') {
        for my $g (0, @id{qw(Busy Secret Quiet Gone Newbie)}, 999999) {
            my $r = sql_rows(
                "SELECT (SELECT points FROM statistics_points($g, '$p')) "
                . 'IS NOT DISTINCT FROM (SELECT array_agg(players ORDER BY '
                . "t) FROM statistics_series($g, '$p'))")->[0][0];
            push @bad, "$g/$p" unless $r;
        }
    }
    is("@bad", '', "$what: every game's points are the series' points");
}

same_points('kept');

# the charts, kept and then from the rows (no kept row: the fallback)
sub charts {
    return { map {
        my $g = $_;
        map { ("$g/$_" => one("SELECT site_chart($g, '$_')::text")) }
            @periods
    } (0, @id{qw(Busy Secret Quiet Gone Newbie)}) };
}

my $kept = charts();
dbh()->begin_work;
sql('DELETE FROM statistics_kept');
my $live = charts();
dbh()->rollback;
is_deeply($kept, $live, 'every chart drawn from kept points is the one '
          . 'drawn from the rows');

my $busy = json_decode($kept->{"$id{Busy}/48h"});
is(scalar @{ $busy->{segments} }, 2,
   'the 2 hours missed split the 48 hours in two runs');
ok(defined $busy->{now}, '... and the step that holds now has a point');
is(json_decode($kept->{"$id{Newbie}/48h"})->{now}, 7,
   'a game that just appeared: its one point, now');
is(json_decode($kept->{"$id{Quiet}/30d"})->{peak}{players}, 5,
   'a game with one row 20 days ago: its peak over 30 days');
is(json_decode($kept->{"$id{Quiet}/7d"})->{peak}{players}, 0,
   '... and 0 over 7 days');

# the API's points: the series' (kept for 48h, 7d, 30d; 1y from the rows)
start_nginx(config => 'location /api/ { grapevine_api; }');
for my $p (@periods, '1y') {
    for my $g (['games/Busy/statistics', $id{Busy}], ['statistics', 0]) {
        my $r = http_get("/api/$g->[0]?period=$p");
        my $items = eval { json_decode($r->{body})->{items} } // [];
        is_deeply([map { [$_->{time}, $_->{players}] } @$items],
                  sql_rows("SELECT to_char(t AT TIME ZONE 'UTC', "
                           . "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), players "
                           . "FROM statistics_series($g->[1], '$p') "
                           . 'ORDER BY t'),
                  "/api/$g->[0]?period=$p: the series' points");
    }
}
stop_nginx();

# the kept rows are what is read: a kept point changed shows
dbh()->begin_work;
sql("UPDATE statistics_kept SET points[cardinality(points)] = 999 "
    . "WHERE game_id = $id{Busy} AND period = '48h'");
is(one("SELECT (statistics_points($id{Busy}, '48h')).points[192]"), 999,
   'a chart reads the kept points');
# the network's kept row one step behind (the owner away since this step
# began): stale, the rows are read
sql("UPDATE statistics_kept SET last_step = last_step - interval "
    . "'15 minutes' WHERE game_id = 0 AND period = '48h'");
is(one("SELECT (statistics_points($id{Busy}, '48h')).points[192]"),
   one("SELECT players FROM statistics_series($id{Busy}, '48h') "
       . 'ORDER BY t DESC LIMIT 1'),
   'a stale kept row: the points come from the rows');
dbh()->rollback;

# games whose rows left the window lose their kept row; a game kept in no
# window has none
is(one("SELECT count(*) FROM statistics_kept WHERE game_id = $id{Gone} "
       . "AND period = '48h'"), 0, 'Gone (9 days ago): not over 48 hours');
is(one("SELECT count(*) FROM statistics_kept WHERE game_id = $id{Quiet} "
       . "AND period <> '30d'"), 0, 'Quiet: over 30 days only');

# one slot at a time gives what the whole windows computed anew give: the
# same rows, but for those that hold nothing in their window any more
# (they go once their last step has left it)
sql('CREATE TEMP TABLE by_slot AS SELECT * FROM statistics_kept');
sql('SELECT backbone_statistics_keep(now(), true)');
# (a game's row is moved on only in the slots where it has a row: moved
# on to the newest step, it is the one computed anew)
is(one('SELECT count(*) FROM statistics_kept k JOIN by_slot b '
       . 'USING (game_id, period), LATERAL (SELECT cardinality(k.points) '
       . 'AS n, (extract(epoch FROM k.last_step - b.last_step) '
       . '/ extract(epoch FROM k.step))::integer AS shift) x '
       . 'WHERE k.step <> b.step OR k.points[1 : x.n - x.shift] '
       . 'IS DISTINCT FROM b.points[1 + x.shift : x.n] OR EXISTS (SELECT 1 '
       . 'FROM unnest(k.points[x.n - x.shift + 1 : x.n]) v '
       . 'WHERE v IS NOT NULL)'), 0,
   'kept slot by slot = the windows computed anew from the rows');
is(one('SELECT count(*) FROM statistics_kept k WHERE NOT EXISTS (SELECT 1 '
       . 'FROM by_slot b WHERE (b.game_id, b.period) = (k.game_id, '
       . 'k.period))'), 0, '... no row missing');
is(one('SELECT count(*) FROM by_slot b JOIN statistics_kept n '
       . 'ON n.game_id = 0 AND n.period = b.period '
       . 'WHERE NOT EXISTS (SELECT 1 FROM statistics_kept k WHERE '
       . '(k.game_id, k.period) = (b.game_id, b.period)) AND EXISTS ('
       . 'SELECT 1 FROM unnest(b.points[1 + (extract(epoch FROM n.last_step '
       . '- b.last_step) / extract(epoch FROM b.step))::integer :]) v '
       . 'WHERE v IS NOT NULL)'), 0,
   '... and those more hold nothing in their window');
my $one_by_one = sql_rows('SELECT game_id, period, step, last_step, '
                          . 'points::text FROM statistics_kept '
                          . 'ORDER BY 1, 2');

# a slot recorded again, or one older than every window, changes nothing
is(one('SELECT backbone_statistics_record(date_bin(\'15 minutes\', now(), '
       . "'2000-01-01+00'), 900)"), 0, 'the slot recorded again: nothing');
sql("SELECT backbone_statistics_keep(now() - interval '40 days')");
is_deeply(sql_rows('SELECT game_id, period, step, last_step, points::text '
                   . 'FROM statistics_kept ORDER BY 1, 2'), $one_by_one,
          'a slot older than the windows: the kept rows as they were');

# bad input: an unknown period is an error, as statistics_series() says
ok(!eval { one("SELECT statistics_points(0, '2d')"); 1 }
   && $@ =~ /unknown period "2d"/, 'an unknown period: an error');

# ------------------------------------------------------------- pruning

sql(<<'SQL');
INSERT INTO statistics (game_id, slot, players, seconds)
SELECT 0, now() - interval '40 days' - k * interval '15 minutes', 1, 900
FROM generate_series(1, 25) k;
INSERT INTO statistics_hourly (game_id, hour, players)
SELECT 0, date_trunc('hour', now() - interval '3 years')
          - k * interval '1 hour', 1
FROM generate_series(1, 12) k;
SQL

1 while one("SELECT backbone_statistics_prune('30 days', '730 days', 10)")
         >= 10;
is_deeply(sql_rows('SELECT game_id, period, step, last_step, points::text '
                   . 'FROM statistics_kept ORDER BY 1, 2'), $one_by_one,
          'pruning at the defaults leaves the kept points as they were');
same_points('after pruning');

# a retention shorter than a window: that period is not kept any more
one("SELECT backbone_statistics_prune('24 hours', '730 days', 1000)");
is_deeply(sql_rows("SELECT game_id, last_step FROM statistics_kept "
                   . "WHERE period = '48h'"), [[0, undef]],
          'full detail kept 24 hours: the 48 hours are not kept');
same_points('24 hours of detail');
sql('SELECT backbone_statistics_keep(now())');
is(one("SELECT count(*) FROM statistics_kept WHERE period = '48h'"), 1,
   '... nor kept by the next slot');
is(one("SELECT count(*) FROM statistics_kept WHERE period = '7d'"),
   scalar(grep { $_->[1] eq '7d' } @$one_by_one),
   '... the other periods still are');

one("SELECT backbone_statistics_prune('30 days', '730 days', 1000)");
is(one("SELECT count(*) FROM statistics_kept WHERE period = '48h'"), 0,
   'the retention long enough again: the mark goes');
sql('SELECT backbone_statistics_keep(now())');
ok(one("SELECT count(*) FROM statistics_kept WHERE period = '48h' "
       . 'AND last_step IS NOT NULL') > 1,
   '... and the next slot keeps the 48 hours anew');
same_points('kept anew');

# a slot recorded late, inside the windows (one of the 2 hours missed, as
# another instance could record it): its step is read again, in place
sql('DELETE FROM players_online');
sql("INSERT INTO players_online (game_id, name) SELECT $id{Busy}, 'late' || k "
    . 'FROM generate_series(1, 33) k');
is(one("SELECT backbone_statistics_record(date_bin('15 minutes', now(), "
       . "'2000-01-01+00') - 24 * interval '15 minutes', 900)"), 2,
   'a slot recorded late');
is(one("SELECT (statistics_points($id{Busy}, '48h')).points[168]"), 33,
   '... its point kept');
same_points('a slot recorded late');

Grapevine::Test::cleanup();
done_testing();
