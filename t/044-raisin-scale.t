# Raisin on a network larger than a page (issue 11, "Scale"): its home
# pages the channels and bounds the mutes it lists, with every channel's
# counts kept by the statements that change them; a channel's log shows a
# message of any size within a bounded page; its search finds a word by
# an index scoped to the channel, with the same answers as before (any
# case, "%", "_" and "\" as themselves, a string of one or two
# characters); an account's page bounds its characters.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Grapevine::SiteClient;
use Grapevine::Raisin;

plan(skip_all => 'Raisin is not built') unless part_built('raisin');

start_nginx(http_config => Grapevine::Test::expand_vars(
                'grapevine_database "$TEST_NGINX_DB_CONNINFO";' . "\n"
                . 'grapevine_password_hash ops=1 memory=8m;'),
            config => "location / { grapevine_site; }\n"
                      . "location /raisin/ { raisin; }\n");

my %b = browsers_with_roles(moderator => ['moddy']);
my $mod = $b{moddy};

sql(<<'SQL');
INSERT INTO games (remote_id, short_name, name, online)
VALUES (1, 'ExVenture', 'ExVenture', true), (2, 'MidMUD', 'MidMUD', true);

-- 130 channels: chan001 .. chan127, gossip, a hidden one, a path-like one
INSERT INTO channels (remote_id, name, hidden)
SELECT k, 'chan' || lpad(k::text, 3, '0'), false
FROM generate_series(1, 127) AS k;
INSERT INTO channels (remote_id, name, hidden)
VALUES (1000, 'gossip', false), (1001, 'staff', true), (1002, 'a/b', false);

-- gossip: 3,000 messages, every tenth hidden; "needle" twice, late and
-- early; a long one
INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message, hidden)
SELECT c.id, 'gossip', CASE WHEN k % 2 = 0 THEN 'ExVenture' ELSE 'MidMUD' END,
       'Talker' || (k % 7),
       CASE WHEN k IN (5, 2990) THEN 'a Needle in the hay ' || k
            ELSE 'hay hay hay ' || k END,
       k % 10 = 0
FROM channels c, generate_series(1, 3000) AS k WHERE c.name = 'gossip';

INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message)
SELECT c.id, 'gossip', 'ExVenture', 'Spammer', 'long ' || repeat('z', 9995)
FROM channels c WHERE c.name = 'gossip';

-- chan001 and the hidden channel have a few
INSERT INTO channel_messages (channel_id, channel_name, game_name,
                              player_name, message, hidden)
SELECT c.id, c.name, 'ExVenture', 'Zed', 'psst ' || k, k = 1
FROM channels c, generate_series(1, 4) AS k
WHERE c.name IN ('chan001', 'staff');

-- 80 active mutes and 10 lifted ones
INSERT INTO raisin_mutes (player, game, until, lifted_at, reason,
                          created_by_name)
SELECT 'Muted' || k, 'ExVenture', now() + k * interval '1 hour',
       CASE WHEN k > 80 THEN now() END, 'noise', 'moddy'
FROM generate_series(1, 90) AS k;

-- an account with 130 characters
INSERT INTO users (username, email, password_hash)
VALUES ('hoarder', 'hoarder@example.org', 'x');
INSERT INTO characters (user_id, game_id, name, state)
SELECT u.id, g.id, 'Alt' || lpad(k::text, 3, '0'),
       CASE WHEN k % 3 = 0 THEN 'pending' ELSE 'approved' END
FROM users u, games g, generate_series(1, 130) AS k
WHERE u.username = 'hoarder' AND g.short_name = 'ExVenture';
SQL

# ------------------------------------------------------------- home

my $res = $mod->get_json('/raisin/');
is($res->{status}, 200, '/raisin/');
my @chans = map { $_->{name} } @{ $res->{json}{channels} // [] };
is(scalar @chans, 100, '/raisin/: 100 channels a page');
is($chans[0], 'a/b', '... by name');
is($res->{json}{channels}[0]{path}, '/raisin/channels/a%2Fb',
   '... with their paths encoded');
ok($res->{json}{channels_next}, '... and a link to the next page');

$res = $mod->get_json($res->{json}{channels_next} // '/raisin/?page=2');
my %chan = map { $_->{name} => $_ } @{ $res->{json}{channels} // [] };
is(scalar keys %chan, 30, '/raisin/?page=2: the rest, hidden ones too');
ok($chan{staff} && $chan{staff}{hidden}, '... the hidden channel');
is($chan{gossip}{messages}, 3001, 'gossip: every message counted');
is($chan{gossip}{hidden_messages}, 300, 'gossip: the hidden ones');
is($chan{staff}{messages}, 4, 'staff: its messages');
is($chan{staff}{hidden_messages}, 1, 'staff: its hidden one');

my @mutes = @{ $res->{json}{mutes} // [] };
is(scalar @mutes, 50, '/raisin/: 50 active mutes at most');
is($res->{json}{mutes_more}, 30, '... and how many more');
like($mod->get('/raisin/')->{body}, qr{and 30 more}, '... said on the page');

# a moderator's action changes the counts
my $id = sql_rows("SELECT id FROM channel_messages WHERE message = 'hay hay hay 11'")->[0][0];
$mod->raisin_csrf;
is($mod->post_json("/raisin/messages/$id/hide", { reason => 'noise' })
       ->{status}, 200, 'a moderator hides a message');
$res = $mod->get_json('/raisin/?page=2');
%chan = map { $_->{name} => $_ } @{ $res->{json}{channels} // [] };
is($chan{gossip}{hidden_messages}, 301, '... counted at once');
is($chan{gossip}{messages}, 3001, '... of as many messages');

# ------------------------------------------------------- a channel's log

sub texts {
    my ($query) = @_;
    my $r = $mod->get_json("/raisin/channels/gossip?$query");
    return join '|', map { $_->{text} } @{ $r->{json}{messages} // [] };
}

$res = $mod->get_json('/raisin/channels/gossip');
my @msgs = @{ $res->{json}{messages} // [] };
is(scalar @msgs, 50, 'the log: 50 messages a page');
is($msgs[0]{text}, 'long ' . ('z' x 2043),
   'a long message is shown up to 2,048 characters');
ok($msgs[0]{truncated}, '... and marked as cut');
ok(!$msgs[1]{truncated}, '... others are not');
like($mod->get('/raisin/channels/gossip')->{body}, qr{class="truncated[ "]},
     '... on the page too');

is(texts('q=needle'), 'a Needle in the hay 2990|a Needle in the hay 5',
   'q=needle: a rare word, in any case, newest first');
is(texts('q=NEEDLE&before=2990'), 'a Needle in the hay 5',
   'q= with before=');
is(texts('q=hay+2999'), 'hay hay hay 2999', 'q= with a space');
is(texts('q=99&player=Talker0'), 'hay hay hay 2996|hay hay hay 2499'
                                 . '|hay hay hay 1995|hay hay hay 1799'
                                 . '|hay hay hay 1099|hay hay hay 994'
                                 . '|hay hay hay 399',
   'q= of two characters, with player=')
    or diag(texts('q=99&player=Talker0'));
is(texts('q=z&player=spammer'), 'long ' . ('z' x 2043),
   'q= of one character; player= in any case');
is(texts('q=psst'), '', 'q=: only this channel\'s messages');
my $n = () = texts('game=exventure') =~ /\|/g;
is($n, 49, 'game=: a page of them');
is(texts('player=Talker5&q=2994'), 'hay hay hay 2994',
   'player= and q=');
is(texts('player=Nobody'), '', 'player=: an unknown sender, nothing');

# ------------------------------------------------------- an account

$res = $mod->get_json('/raisin/users/hoarder');
is($res->{status}, 200, 'an account');
is(scalar @{ $res->{json}{characters} // [] }, 100,
   'an account: 100 characters at most');
is($res->{json}{characters_more}, 30, '... and how many more');
like($mod->get('/raisin/users/hoarder')->{body}, qr{and 30 more},
     '... said on the page');

Grapevine::Test::cleanup();
done_testing();
