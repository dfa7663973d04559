# The API's statements as the pool prepares them, on a table of messages
# large enough for PostgreSQL to choose between plans: the plan it keeps
# for every parameter (the generic plan, which a prepared statement uses
# after its first runs) reads a page of a quiet channel's history, or of
# a busy one's, without walking the rest of the table (issue 11: the
# older-messages page of a quiet channel walked the primary key over the
# whole table).  What a plan reads is counted in buffers, not timed.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;

my $root = root();

# a statement's SQL, as compiled into the module
sub statement_sql {
    my ($macro) = @_;
    my $sql = `"$root/bench/sql-from-src.pl" $macro $root/src/api/*.[ch]`;
    die "bench/sql-from-src.pl $macro failed\n" if $? || $sql !~ /\S/;
    return $sql;
}

# 150,000 messages: gossip and testing take turns, quiet has one in 10,000
sql(<<'SQL');
INSERT INTO channels (id, remote_id, name, hidden)
VALUES (1, 1, 'gossip', false), (2, 2, 'testing', false),
       (3, 3, 'quiet', false);

INSERT INTO channel_messages (id, channel_id, channel_name, game_name,
                              player_name, message, hidden)
SELECT k, CASE WHEN k % 10000 = 0 THEN 3 ELSE 1 + k % 2 END, 'x', 'Game',
       'Player', 'message ' || k, k % 97 = 0
FROM generate_series(1, 150000) AS k;

ANALYZE channel_messages;
ANALYZE channels;
SQL

my $dbh = dbh();

# the buffers the generic plan of a statement reads for these parameters
sub generic_buffers {
    my ($name, $macro, @params) = @_;

    $dbh->do('SET plan_cache_mode = force_generic_plan');
    $dbh->do("DEALLOCATE ALL");
    $dbh->do("PREPARE $name AS " . statement_sql($macro));
    my $args = join ', ', map { $dbh->quote($_) } @params;
    my $json = $dbh->selectrow_array(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE $name($args)");
    $dbh->do('RESET plan_cache_mode');
    my $plan = json_decode($json)->[0]{Plan};
    return ($plan->{'Shared Hit Blocks'} // 0)
           + ($plan->{'Shared Read Blocks'} // 0), $plan;
}

# a plan's nodes, one a line, for a failure's diagnostics
sub plan_lines {
    my ($node, $depth) = @_;
    my $line = ('  ' x $depth) . $node->{'Node Type'}
               . ($node->{'Index Name'} ? " using $node->{'Index Name'}" : '')
               . ($node->{'Scan Direction'} ? " $node->{'Scan Direction'}"
                                            : '')
               . (defined $node->{'Rows Removed by Filter'}
                  ? ", $node->{'Rows Removed by Filter'} rows filtered out"
                  : '');
    return ($line, map { plan_lines($_, $depth + 1) }
                   @{ $node->{Plans} // [] });
}

my @cases = (
    ['a quiet channel\'s first page', 'quiet', '9223372036854775807', 26],
    ['a quiet channel\'s older messages', 'quiet', '100001', 26],
    ['a busy channel\'s first page', 'gossip', '9223372036854775807', 101],
    ['a busy channel\'s older messages', 'gossip', '75000', 101],
);

plan tests => scalar @cases;

for my $case (@cases) {
    my ($what, @params) = @$case;
    my ($buffers, $plan) = generic_buffers('m', 'NGX_GRAPEVINE_API_MESSAGES_SQL',
                                           @params);
    cmp_ok($buffers, '<', 200, "messages, $what: a page's buffers only")
        or diag(join "\n", plan_lines($plan, 0));
}

Grapevine::Test::cleanup();
