#!/usr/bin/env perl
# The data of the ingest benchmark, written into DIR:
#
#   DIR/seed.json         the hub's seed: the Grapevine application, GAMES
#                         games (each with one or two connections and a
#                         description) and CHANNELS channels; every id given,
#                         so the hub pushes exactly these records
#   DIR/upsert-batch.sql  the psql baseline: the same records as a
#                         hand-written upsert, one transaction per 10
#                         records (the hub's batches), one
#                         INSERT ... VALUES ... ON CONFLICT (remote_id) DO
#                         UPDATE per table per transaction (games, then
#                         their connections)
#   DIR/upsert-rows.sql   the same transactions, one INSERT per row
#
#   bench/gen-ingest.pl DIR [GAMES [CHANNELS]]
#
# The SQL spells out the values the hub's defaults give the records
# (display and allow_character_registration true, no redirect URIs), so
# both paths store the same rows; util/bench compares them afterwards.
use strict;
use warnings;
use JSON::PP ();

my ($dir, $ngames, $nchannels) = @ARGV;
die "usage: $0 DIR [GAMES [CHANNELS]]\n" unless $dir;
$ngames    //= 10_000;
$nchannels //= 1_000;
my $BATCH = 10;

my @words = qw(ancient realm dragons forest keep tavern dungeon quest heroes
               magic city ruins ocean mountain guild shadow empire swords
               spells roleplay);

sub uuid { sprintf '%08x-0000-4000-8000-%012x', @_ }

# channel names allow letters only: 4 letters per index
sub letters {
    my ($n) = @_;
    my $s = '';
    for (1 .. 4) { $s .= chr(ord('a') + $n % 26); $n = int($n / 26) }
    return $s;
}

my (@games, @channels);

for my $i (1 .. $ngames) {
    my @conns = ({id => uuid(0xc0, $i), type => 'telnet',
                  host => "mud$i.example.org", port => 4000 + $i % 1000});
    push @conns, {id => uuid(0xc1, $i), type => 'web',
                  url => "https://mud$i.example.org/play"}
        if $i % 2 == 0;

    push @games, {
        id            => $i,
        game          => sprintf('Bench%05d', $i),
        display_name  => "Bench Game $i",
        description   => ucfirst(join ' ', map { $words[($i * 7 + $_ * 3)
                                                     % @words] } 0 .. 29)
                         . '.',
        homepage_url  => "https://mud$i.example.org/",
        user_agent    => 'BenchMUD 1.0',
        connections   => \@conns,
        client_id     => uuid(0xa0, $i),
        client_secret => uuid(0xa1, $i),
    };
}

for my $i (1 .. $nchannels) {
    push @channels, {id => $i, name => 'bench' . letters($i),
                     description => "Benchmark channel number $i",
                     hidden => JSON::PP::false};
}

sub spew {
    my ($name, $text) = @_;
    open my $fh, '>:raw', "$dir/$name" or die "$dir/$name: $!\n";
    print $fh $text;
    close $fh or die "$dir/$name: $!\n";
}

spew('seed.json', JSON::PP->new->canonical->encode({
    applications => [{client_id => '00000000-0000-4000-8000-000000000001',
                      client_secret => '00000000-0000-4000-8000-000000000002',
                      short_name => 'Grapevine', name => 'Grapevine'}],
    games    => \@games,
    channels => \@channels,
}));

# ------------------------------------------------------------- the SQL

sub lit {
    my ($v) = @_;
    return 'NULL' unless defined $v;
    (my $s = $v) =~ s/'/''/g;
    return "'$s'";
}

sub num { defined $_[0] ? 0 + $_[0] : 'NULL' }

my %TABLE = (
    channels => {
        alias => 'c', conflict => 'remote_id',
        cols  => [qw(remote_id name description hidden)],
        set   => [qw(name description hidden)], touch => 1,
    },
    games => {
        alias => 'g', conflict => 'remote_id',
        cols  => [qw(remote_id short_name name display description
                     homepage_url user_agent allow_character_registration)],
        set   => [qw(short_name name display description homepage_url
                     user_agent allow_character_registration)], touch => 1,
    },
    game_connections => {
        alias => 'gc', conflict => 'game_id, remote_key',
        cols  => [qw(game_id remote_key type url host port)],
        set   => [qw(type url host port)], touch => 0,
    },
);

sub upsert {
    my ($style, $table, @rows) = @_;
    my $t = $TABLE{$table};
    my @set = map { "$_ = excluded.$_" } @{$t->{set}};
    push @set, 'updated_at = now()' if $t->{touch};
    my $head = "INSERT INTO $table AS $t->{alias} ("
               . join(', ', @{$t->{cols}}) . ") VALUES\n";
    my $tail = "ON CONFLICT ($t->{conflict}) DO UPDATE\n    SET "
               . join(', ', @set) . ";\n";
    return join '', map { "$head  ($_)\n$tail" } @rows if $style eq 'rows';
    return $head . join(",\n", map { "  ($_)" } @rows) . "\n$tail";
}

for my $style (qw(batch rows)) {
    my $sql = "\\set ON_ERROR_STOP on\nSET client_min_messages = warning;\n";

    for (my $i = 0; $i < @channels; $i += $BATCH) {
        my $end = $i + $BATCH - 1 > $#channels ? $#channels : $i + $BATCH - 1;
        $sql .= "BEGIN;\n"
              . upsert($style, 'channels', map {
                    join ', ', num($_->{id}), lit($_->{name}),
                               lit($_->{description}),
                               $_->{hidden} ? 'true' : 'false'
                } @channels[$i .. $end])
              . "COMMIT;\n";
    }

    for (my $i = 0; $i < @games; $i += $BATCH) {
        my $end = $i + $BATCH - 1 > $#games ? $#games : $i + $BATCH - 1;
        my @b = @games[$i .. $end];
        my @conns;
        for my $g (@b) {
            push @conns, map {
                join ', ', "(SELECT id FROM games WHERE remote_id = $g->{id})",
                           lit($_->{id}), lit($_->{type}), lit($_->{url}),
                           lit($_->{host}), num($_->{port})
            } @{$g->{connections}};
        }
        $sql .= "BEGIN;\n"
              . upsert($style, 'games', map {
                    join ', ', num($_->{id}), lit($_->{game}),
                               lit($_->{display_name}), 'true',
                               lit($_->{description}), lit($_->{homepage_url}),
                               lit($_->{user_agent}), 'true'
                } @b)
              . upsert($style, 'game_connections', @conns)
              . "COMMIT;\n";
    }

    spew("upsert-$style.sql", $sql);
}
