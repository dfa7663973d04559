package Gossip::Hub;
use Mojo::Base -base, -signatures;

use B ();
use Getopt::Long ();
use List::Util qw(any first max uniq);
use Mojo::File qw(path);
use Mojo::IOLoop;
use Mojo::JSON qw(decode_json encode_json from_json true false);
use Mojo::Server::Daemon;
use Mojo::URL;
use Mojo::Util qw(b64_decode b64_encode decode encode);
use Mojolicious;
use POSIX qw(strftime);
use POSIX ();
use Time::HiRes ();
use Time::Local qw(timegm);

our $VERSION = '1.0';

=encoding utf8

=head1 NAME

Gossip::Hub - a Gossip chat hub for development and tests

=head1 SYNOPSIS

  # from the repository root
  t/lib/gossip-hub --demo                      # ws://127.0.0.1:4001/socket, control on :4002
  t/lib/gossip-hub --listen 127.0.0.1:0 --control 127.0.0.1:0 \
                   --heartbeat 0.5 --sync versions --seed my-seed.json --log hub.log
  t/lib/gossip-hub --tls-cert cert.pem --tls-key key.pem   # wss://

  # in Perl
  use Gossip::Hub;
  my $hub = Gossip::Hub->new(heartbeat => 0.5, sync_mode => 'versions');
  $hub->load_seed({games => [...], applications => [...]});
  my ($ws_port, $control_port) = $hub->start;
  Mojo::IOLoop->start;

Once both listeners are up the script prints one line on standard output and
flushes it:

  gossip-hub ready ws=4001 control=4002

=head1 DESCRIPTION

A WebSocket server that speaks the Gossip protocol of
C<reference/gossip-protocol.md> (the "GOSSIP" era, server version 2.3.0): game
sockets (section 1 of the reference) and privileged I<application> sockets
with the C<sync/*> protocol (section 2), plus a plain-HTTP control API with
which tests and C<make run> set the hub's state and provoke events.

Everything lives in memory; nothing is persisted. It runs on Debian's
Mojolicious (9.31) and needs nothing from CPAN. The script uses Mojo's Poll
reactor (with EV, Perl's signal handlers would not run while the loop waits),
so C<kill -TERM> stops it at once; when embedding the module, stop the loop
yourself.

=head1 COMMAND LINE

=over 4

=item --listen HOST:PORT

WebSocket listener (path C</socket>), default C<127.0.0.1:4001>. Port C<0>
picks a free port; the ready line tells which.

=item --tls-cert FILE, --tls-key FILE

Both or neither. With them the socket listener speaks TLS (C<wss://>).

=item --control HOST:PORT

Control API listener, plain HTTP, never TLS; default C<127.0.0.1:4002>.

=item --heartbeat SECS

Server heartbeat interval, default 15; fractions such as C<0.5> are fine.

=item --sync push|versions

How application sockets are synchronised (see L</SYNC>), default C<push>.

=item --seed FILE

Initial state, see L</SEED FILE>.

=item --demo

Load C<t/lib/gossip-hub-demo.json> (unless C<--seed> is also given) and make
the network look alive: every C<--chatter> seconds a random online player of
a simulated game says a line on a public channel, and now and then a player
signs in or out. Simulated players answer tells after a second.

=item --chatter SECS

Demo chatter interval, default 5 (only with C<--demo>).

=item --offline-grace SECS

How long a game whose last socket closed stays "online" before it is dropped
and C<games/disconnect> is sent. The original waited 60 s (presence timeout);
the default here is 0 (immediately), which is what tests usually want.

=item --idle-timeout SECS

Close a socket on which nothing at all happened for this long (the original's
Cowboy idle timeout, 60 s). Default 60, never less than two heartbeat
intervals; 0 disables it.

=item --log FILE

Append one line per connection, close and frame (summary) to FILE; default
standard error.

=back

=head1 SEED FILE

A JSON object; every key is optional:

  {
    "applications": [{"client_id": UUID, "client_secret": UUID,
                      "short_name": "Grapevine", "name": "Grapevine"}],
    "channels":     [{"name": "gossip", "description": "...", "hidden": false}],
    "games":        [{"game": "ExVenture", "display_name": "ExVenture",
                      "client_id": UUID, "client_secret": UUID,
                      "connections": [{"type": "telnet", "host": "h", "port": 5555}],
                      ...any field of the game record below...}],
    "events":       [{"game": "ExVenture", "title": "...",
                      "start_date": "2019-01-20", "end_date": "today+3"}],
    "achievements": [{"game": "ExVenture", "title": "...", "points": 10}],
    "players":      {"ExVenture": ["Zed"]},
    "channel_blocklist": ["all"],
    "chatter_lines": ["..."], "chatter_names": ["..."], "tell_replies": ["..."]
  }

Ids (record C<id>, connection C<id>, achievement C<key>, client ids and
secrets) are assigned when missing. Games accept C<short_name> for C<game>
and C<name> for C<display_name>; events and achievements accept C<game> (a
short name) instead of C<game_id>. Dates may be written C<today>,
C<today+N> or C<today-N> (days). C<players> puts each named game online as a
I<simulated> game (as C<POST /games/NAME/connect> does) with those players.
Loading a seed records a C<create> version for every record.

=head1 RECORDS

These are the payloads of C<sync/*> events (reference section 2.4) and what
the control API accepts and returns.

=over 4

=item game

C<id>, C<game> (short name, C<[a-zA-Z0-9]{1,15}>, unique without regard to
case among games and applications), C<display_name>, C<display> (default
true), C<description>, C<homepage_url>, C<user_agent>, C<user_agent_url>,
C<connections> (each C<{"id": uuid, "type": "web", "url": ...}> or
C<{"id": uuid, "type": "telnet"|"secure telnet", "host": ..., "port": N}>; an update
that resends a connection without its C<id> keeps the old id),
C<redirect_uris> (strings), C<allow_character_registration> (default true),
C<client_id>, C<client_secret>, C<mssp_last_seen_at>. The control API also
takes C<version> (the protocol version the game last declared; not synced).

=item channel

C<id>, C<name> (3-15 of C<[a-zA-Z_-]>, not on the block list, unique),
C<description>, C<hidden> (default true, as in the original schema),
C<inserted_at>, C<updated_at> (naive UTC timestamps, no C<Z>).

=item event

C<id>, C<title>, C<description>, C<start_date>, C<end_date> (C<YYYY-MM-DD>,
end not before start), C<game_id>, C<inserted_at>, C<updated_at>.

=item achievement

C<id>, C<key> (uuid), C<title>, C<description>, C<display> (default true),
C<points> (0..100, default 0), C<partial_progress> (default false),
C<total_progress> (required when C<partial_progress>), C<game_id>,
C<inserted_at>, C<updated_at>.

=back

=head1 PROTOCOL

The hub follows the reference, and where the reference is silent, the
original server's code at the GOSSIP commit. In short:

=over 4

=item *

C<authenticate> is checked in this order: credentials (both must be UUIDs and
match a game, else an application), then C<supports> (C<missing supports>,
C<must support channels>, C<includes unknown supports>). Each failure is
answered C<{"event":"authenticate","status":"failure","error":...}> and the
socket is closed with 4000 C<goodbye>. Valid game credentials record the
game's C<version>/C<user_agent> and log a game C<update> version (pushed to
applications) even when the supports check then fails, as the original did.
An C<authenticate> without a C<payload> key is an ordinary handler error (see
the response rule) and does not close the socket.

=item *

On success the hub sends, in this order (the original's mailbox order): the
success reply (never with C<ref>), a C<channels/subscribe> failure for each
bad channel of C<payload.channels> (single quotes, no C<ref>), for an
application in push mode the C<sync/channels> and C<sync/games> batches, and
then the immediate heartbeat. That heartbeat counts as the first missed one.

=item *

Heartbeats: a timer per socket from the moment it opens. Active sockets are
sent C<{"event":"heartbeat"}> and closed with 4001 C<goodbye> at the tick
where three heartbeats are unanswered; inactive sockets are closed with 4001
on the fourth tick. A client C<heartbeat> resets the count and replaces the
game's player list with C<payload.players> (empty-string names dropped; an
absent list empties it, as in the original).

=item *

Responses follow the reference's rule: only when the request has a C<ref> key
(or the socket authenticated with C<"debug": true>, for 300 s). Non-JSON
frames get C<{"status":"failure","error":"unknown"}>; anything but
C<authenticate> before authentication gets C<unauthenticated>; unknown events
get C<unknown>; an event whose flag was not declared gets
C<missing support for "FLAG">; a malformed payload gets
C<an error occurred, try again>. Binary frames are ignored (logged).

=item *

Channels, players, tells, games, achievements and restart behave as the
reference describes, including: subscribe auto-creates valid names as hidden
channels; C<channels/send> to a channel one is not subscribed to is answered
with success and dropped; C<< <...> >> is stripped from names and messages;
a sender never gets its own broadcast; sign-in of a listed name and sign-out
of an unlisted one are no-ops (the latter without any reply); C<players/status>
and C<games/status> reply one event per online displayed game other than the
asker, a single game is matched exactly among online games; tells are
validated in the reference's order with the reference's error strings.

=item *

Applications (authenticated with an application's credentials) are subscribed
to every channel, hidden ones included; may C<channels/send> anywhere; are never
listed in status replies and never cause C<games/connect>. Once an application
socket heartbeats (or otherwise updates its presence) the application is
online under its short name, so e.g. a tell to C<system@Grapevine> reaches it
if it reported the player C<system>.

=item *

Offline games: a game is online while it has an authenticated socket or a
simulated presence (control API). C<games/connect> goes to sockets that declared
C<games> (other than the game's own) when the game's only socket authenticates
and the game was offline; C<games/disconnect> when the last one goes (after
C<--offline-grace>).

=back

=head1 SYNC

Application sockets receive C<sync/*> events.

=over 4

=item push mode (v1, the default)

Right after authenticating, every channel and then every game, at most 10
records per event: C<{"event":"sync/channels","ref":UUID,"payload":{"channels":[...]}}>
and C<{"event":"sync/games","ref":UUID,"payload":{"games":[...]}}>. Channel
records have the v1 fields only (C<id>, C<name>, C<description>, C<hidden>);
game records are the full record above (a superset of v1's). Every later
create or update is pushed live as one such event holding the record
(C<sync/events> C<{"events":[...]}> and C<sync/achievements>
C<{"achievements":[...]}> likewise, as in v1.5). v1 had no way to say
"deleted", so B<deletes are pushed in the versions shape even in push mode>:
C<{"event":"sync/games","ref":UUID,"payload":[{"action":"delete","payload":{...},"logged_at":...}]}>.
A C<sync> request is an unknown event in push mode (v1 had none).

=item versions mode (v2)

The hub keeps a versions log (C<action> create/update/delete, C<payload> =
the record at that time, C<logged_at> ISO-8601 UTC with microseconds and a
C<Z>, strictly increasing). An application sends
C<{"event":"sync","payload":{"since":T|null}}>; with a C<ref> it gets
C<{"event":"sync","ref":...,"status":"success"}>, then C<sync/channels>,
C<sync/games>, C<sync/events>, C<sync/achievements> (in that order, none when
there is nothing), each an array of at most 10 versions
C<{"action","payload","logged_at"}> with C<logged_at> later than C<since>,
oldest first. Live changes are pushed as one-version arrays.

A C<sync> without a C<payload> (or with a C<since> that is not null or an
ISO-8601 time) is answered
C<{"event":"sync","status":"failure","error":"an error occurred, try again"}>
(plus C<ref> if given), even without a C<ref>: the original crashed the socket.
A C<sync> from a game socket is refused as an unknown event (the original
answered it, leaking every game's secret).

=back

Every create, update and delete (from the control API, from socket
C<achievements/*>, from subscribe's auto-creation, and the game C<update>
logged at every game authentication) is logged and pushed; bulk creates are
pushed in batches of at most 10 records per event. Deleting a game first
deletes its events and achievements (each logged), closes its sockets with
4000 and takes it offline.

=head1 CONTROL API

Plain HTTP, JSON in and out. Bad input gets C<400 {"error": "..."}> (with
C<"errors": {field: [messages]}> for record validation), an unknown record
C<404>. C<{id}> is a numeric id; for games also the short name (without
regard to case), for channels also the name, for achievements also the key.

=over 4

=item GET /state

Everything: C<sync_mode>, C<heartbeat>, C<heartbeats>, C<answer>,
C<applications>, C<games>, C<channels>, C<events>, C<achievements>,
C<online> (per online game or application: C<game>, C<kind>, C<players>,
C<supports>, C<channels>, C<sockets>, C<simulated>), C<connections> and
C<versions> (counts).

=item GET /games, POST /games, POST /games/bulk, GET|PUT|DELETE /games/{id}

List, create (body: a record), create many (body: an array of records; all
or nothing; answers C<{"created": N, "ids": [...]}>), show, update (body: the
fields to change), delete. Same for C</channels>, C</events> and
C</achievements>. Creates answer 201 with the record.

=item GET /versions?schema=games&since=T

The versions log (with C<schema> and C<schema_id>), optionally filtered.

=item POST /games/{short}/connect, POST /games/{short}/disconnect

Simulate the game's presence (it has no socket): online or offline, with
C<games/connect>/C<games/disconnect> notices as for a real socket. Optional
body for connect: C<{"players": [...], "supports": [...], "channels": [...]}>
(defaults: no players, C<channels players tells games>, every public channel).
Disconnect removes only the simulated presence.

=item POST /players/sign-in, POST /players/sign-out

C<{"game": SHORT, "name": NAME}>: as if the game had sent the event. The game
must be online. Sign-out of a player who is not signed in is a 404.

=item POST /tell

C<{"from_game","from_name","to_game","to_name","message"}> (optional
C<sent_at>, default now): as if C<from_game>'s socket had sent C<tells/send>,
with the same validation. 200 C<{"status":"success"}> or 422 C<{"error": E}>
with the protocol's error string.

=item POST /broadcast

C<{"channel","game","name","message"}>: a player's message on a channel,
relayed as C<channels/broadcast> to every other subscribed socket and to
applications. Answers C<{"delivered": N}>.

=item POST /drop

Close every client socket abruptly (TCP close, no close frame). With
C<{"code": N, "reason": R}> close politely with that code (default reason
C<goodbye>). Answers C<{"dropped": N}>.

=item POST /restart

C<{"downtime": N, "jitter": J}>: send C<restart> to every socket with
C<downtime> N (default 15) plus a random -J..+J (default 5, as the original;
never below 0).

=item POST /silence

C<{"heartbeats": false}> stops sending heartbeats (and closing for missed
ones); C<{"answer": false}> makes the hub ignore every incoming frame (no
replies, no processing, no missed-heartbeat closes). C<true> undoes either.
Answers the current flags.

=item POST /raw

C<{"frame": TEXT}> or C<{"frame_base64": B64}> (bytes sent as they are, e.g.
invalid UTF-8) as one text frame to every authenticated application socket,
or only to C<"connection": ID> (any socket). Answers C<{"sent": N}>.

=item POST /sync-mode

C<{"mode": "push"|"versions"}>.

=item GET /frames, DELETE /frames

Frames received from application sockets (add C<?all=1> for every socket,
C<?connection=ID> for one), oldest first, the last 10000:
C<{"id","at","connection","kind","frame"}> when the frame was JSON, else
C<"raw"> (text) or C<"raw_base64"> (not UTF-8). DELETE clears the list.

=item GET /connections

Open sockets: C<id>, C<authenticated>, C<kind> (C<app>/C<game>/null),
C<name>, C<remote_address>, C<remote_port>, C<opened_at>, C<supports>,
C<channels>, C<players>, C<rate_limited> (frames refused by the rate limit).

=back

=head1 NOT LIKE THE ORIGINAL

Besides what is said above: of GV-HEAD's rate limits only the
C<channels/send> bucket (10 at once, 2 a second leaking, per socket; over it
C<rate limit exceeded>, and the tenth such frame closes the socket with 4000
after C<disconnected due to rate limit abuse>); no built-in
C<system@gossip> player; presence never times out while a socket is open; a
game's player list is kept per game as in the original (last writer wins), the
control API's sign-in edits it directly; C<logged_at> has microseconds (the
original's had seconds, so C<since> could miss versions logged in the same
second); C<games/status> sends connection C<id>s (GOSSIP) and no C<channels>
(GV-HEAD).

=cut

# ----------------------------------------------------------------- constants

use constant {PROTOCOL_VERSION => '2.3.0', BATCH => 10, FRAMES_MAX => 10_000, MAX_TOTAL_LIMITED => 10};

# event => [limit, leak per second]: the reference's buckets (section 1.7)
# that this hub enforces
my %RATE_LIMITS = ('channels/send' => [10, 2]);

my @SCHEMAS       = qw(channels games events achievements);
my %VALID_SUPPORT = map { $_ => 1 } qw(achievements channels games players tells);
my $UUID_RE       = qr/\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z/;
my $NAIVE_RE      = qr/\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?\z/;
my $UNICODE_CHECK = "\x{2714}\x{FE0F}";

# Payload fields of each record kind, in the reference's order (section 2.4).
my %FIELDS = (
  games => [
    qw(id game display_name display description homepage_url user_agent user_agent_url connections),
    qw(redirect_uris allow_character_registration client_id client_secret mssp_last_seen_at)
  ],
  channels     => [qw(id name description hidden inserted_at updated_at)],
  events       => [qw(id title description start_date end_date game_id inserted_at updated_at)],
  achievements => [
    qw(id key title description display points partial_progress total_progress game_id inserted_at updated_at)
  ],
);
my %V1_CHANNEL_FIELDS = map { $_ => 1 } qw(id name description hidden);

# Fields a socket's achievements/create|update may set (the original's cast list).
my @ACHIEVEMENT_CAST = qw(title description display points partial_progress total_progress);

# event => [support flag, handler]
my %ROUTES = (
  'heartbeat'            => [channels     => \&_ev_heartbeat],
  'channels/subscribe'   => [channels     => \&_ev_subscribe],
  'channels/unsubscribe' => [channels     => \&_ev_unsubscribe],
  'channels/send'        => [channels     => \&_ev_channel_send],
  'players/sign-in'      => [players      => \&_ev_sign_in],
  'players/sign-out'     => [players      => \&_ev_sign_out],
  'players/status'       => [players      => \&_ev_players_status],
  'tells/send'           => [tells        => \&_ev_tell],
  'games/status'         => [games        => \&_ev_games_status],
  'achievements/sync'    => [achievements => \&_ev_achievements_sync],
  'achievements/create'  => [achievements => \&_ev_achievements_create],
  'achievements/update'  => [achievements => \&_ev_achievements_update],
  'achievements/delete'  => [achievements => \&_ev_achievements_delete],
);

my @DEFAULT_LINES   = ('Hello everyone!', 'Anyone around?', 'Good game, all.');
my @DEFAULT_NAMES   = qw(Ash Birch Cedar Dawn Elm Fern);
my @DEFAULT_REPLIES = ('Hi there!', 'Busy fighting, talk later.');

# ---------------------------------------------------------------- attributes

has heartbeat     => 15;
has sync_mode     => 'push';
has listen        => '127.0.0.1:4001';
has control       => '127.0.0.1:4002';
has tls_cert      => undef;
has tls_key       => undef;
has offline_grace => 0;
has idle_timeout  => 60;
has demo          => 0;
has chatter       => 5;
has log_handle    => sub { \*STDERR };

sub new ($class, @args) {
  my $self = $class->SUPER::new(@args);
  $self->{conns}    = {};                              # id => connection
  $self->{conn_info} = {};                             # id => {kind, name}, kept after close
  $self->{presence} = {};                              # "game:ID"|"app:ID" => row
  $self->{apps}     = {};                              # id => application
  $self->{records}  = {map { $_ => {} } @SCHEMAS};     # schema => id => record
  $self->{next_id}  = {map { $_ => 1 } @SCHEMAS, 'apps'};
  $self->{idx}      = {game_name => {}, game_client => {}, channel_name => {}, achievement_key => {}};
  $self->{versions} = [];
  $self->{frames}   = [];
  $self->{blocklist} = {all => 1};
  $self->{send_heartbeats} = 1;
  $self->{answer}          = 1;
  $self->{last_us}         = 0;
  $self->{$_} = 0 for qw(conn_seq frame_seq);
  $self->{seed_players} = {};
  $self->{lines}   = [@DEFAULT_LINES];
  $self->{names}   = [@DEFAULT_NAMES];
  $self->{replies} = [@DEFAULT_REPLIES];
  return $self;
}

# ------------------------------------------------------------ small helpers

sub _uuid4 () {
  my @b = map { int rand 256 } 1 .. 16;
  $b[6] = ($b[6] & 0x0f) | 0x40;
  $b[8] = ($b[8] & 0x3f) | 0x80;
  return sprintf '%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x', @b;
}

# A number, by the rule Mojo::JSON encodes with: decoded JSON numbers carry
# numeric flags, decoded JSON strings do not (and are never used numerically
# before they are checked).
sub _is_num ($v) {
  return 0 if !defined $v || ref $v;
  return B::svref_2object(\$v)->FLAGS & (B::SVp_IOK | B::SVp_NOK) ? 1 : 0;
}
sub _is_str ($v) { defined $v && !ref $v && !_is_num($v) }
sub _is_int ($v) { _is_num($v) && $v == int $v }
sub _is_bool ($v) { ref $v eq 'JSON::PP::Boolean' }

sub _now_us () {
  my ($s, $us) = Time::HiRes::gettimeofday();
  return $s * 1_000_000 + $us;
}

sub _iso_us ($us) {
  my @t = gmtime int($us / 1_000_000);
  return sprintf '%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $us % 1_000_000;
}

sub _naive_now () { strftime '%Y-%m-%dT%H:%M:%S', gmtime }
sub _iso_now ()   { strftime '%Y-%m-%dT%H:%M:%SZ', gmtime }

# ISO-8601 extended date-time => epoch microseconds, or undef.
sub _parse_iso ($s) {
  return undef unless _is_str($s);
  my ($Y, $M, $D, $h, $m, $sec, $frac, $tz)
    = $s =~ /\A(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?\z/
    or return undef;
  return undef if $h > 23 || $m > 59 || $sec > 59;
  my $epoch = eval { timegm($sec, $m, $h, $D, $M - 1, $Y) } // return undef;
  if (defined $tz && $tz ne 'Z') {
    my ($sign, $oh, $om) = $tz =~ /\A([+-])(\d{2}):?(\d{2})\z/;
    my $off = ($oh * 60 + $om) * 60;
    $epoch += $sign eq '+' ? -$off : $off;
  }
  return $epoch * 1_000_000 + substr(($frac // '') . '000000', 0, 6);
}

# YYYY-MM-DD => epoch seconds, or undef.
sub _parse_date ($s) {
  return undef unless _is_str($s);
  my ($Y, $M, $D) = $s =~ /\A(\d{4})-(\d{2})-(\d{2})\z/ or return undef;
  return eval { timegm(0, 0, 0, $D, $M - 1, $Y) };
}

# "today", "today+3", "today-2" => YYYY-MM-DD (seeds only)
sub _relative_date ($v) {
  return $v unless _is_str($v) && $v =~ /\Atoday(?:([+-])(\d+))?\z/;
  my $days = ($2 // 0) * ($1 && $1 eq '-' ? -1 : 1);
  return strftime '%Y-%m-%d', gmtime(time + $days * 86400);
}

# Elixir-ish rendering of a value for error messages.
sub _show ($v) { ref $v || !defined $v || _is_num($v) ? encode_json($v) : $v }

sub _bool ($v) { _is_bool($v) ? ($v ? true : false) : _is_int($v) && ($v == 0 || $v == 1) ? ($v ? true : false) : undef }

sub _err ($e, $field, $msg) { push @{$e->{$field}}, $msg; return 0 }

sub _errors_text ($e) {
  return join '; ', map { my $f = $_; map {"$f $_"} @{$e->{$f}} } sort keys %$e;
}

sub _chunks ($list, $size = BATCH) {
  my @all = @$list;
  my @out;
  push @out, [splice @all, 0, $size] while @all;
  return @out;
}

sub _log ($self, $msg) {
  my $fh = $self->log_handle or return;
  my ($s, $us) = Time::HiRes::gettimeofday();
  my @t = gmtime $s;
  printf {$fh} "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s\n", $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $us / 1000, $msg;
}

# ---------------------------------------------------------- entity helpers
#
# An "entity" is something a socket authenticates as: "game:ID" or "app:ID".

sub _entity ($self, $key) {
  my ($kind, $id) = split /:/, $key, 2;
  return $kind eq 'app' ? $self->{apps}{$id} : $self->{records}{games}{$id};
}

sub _entity_name ($self, $key) {
  my $e = $self->_entity($key) or return undef;
  return $key =~ /\Aapp:/ ? $e->{short_name} : $e->{game};
}

sub _entity_displayed ($self, $key) {
  return 0 unless $key =~ /\Agame:/;
  my $g = $self->_entity($key);
  return $g && $g->{display} ? 1 : 0;
}

# case-insensitive lookup of a game or application by short name
sub _entity_by_name ($self, $name) {
  return undef unless _is_str($name);
  my $lc = lc $name;
  if (defined(my $id = $self->{idx}{game_name}{$lc})) { return "game:$id" }
  my $app = first { lc $_->{short_name} eq $lc } values %{$self->{apps}};
  return $app ? "app:$app->{id}" : undef;
}

# Presence row of an online game/application, by short name.
sub _online_by_name ($self, $name, $exact = 0) {
  return undef unless _is_str($name);
  for my $row (values %{$self->{presence}}) {
    my $n = $self->_entity_name($row->{key}) // next;
    return $row if $exact ? $n eq $name : lc $n eq lc $name;
  }
  return undef;
}

sub _online_rows ($self) {
  # games before applications, by id
  return map { $_->[2] } sort { $a->[0] cmp $b->[0] || $a->[1] <=> $b->[1] }
    map { [split(/:/, $_->{key}, 2), $_] } values %{$self->{presence}};
}

sub _active_conns ($self) {
  return grep { $_->{status} eq 'active' && !$_->{closing} } map { $self->{conns}{$_} } sort { $a <=> $b } keys %{$self->{conns}};
}

# ------------------------------------------------------------ sending frames

sub _send ($self, $conn, $frame) {
  return unless $conn->{tx} && !$conn->{closing};
  my $bytes = encode_json($frame);
  $conn->{tx}->send({text => $bytes});
  $self->_log("conn $conn->{id} > " . _summary($frame, length $bytes));
}

sub _send_all ($self, $conns, $frame) {
  my $bytes = encode_json($frame);
  my $n     = 0;
  for my $conn (@$conns) {
    next unless $conn->{tx} && !$conn->{closing};
    $conn->{tx}->send({text => $bytes});
    $n++;
  }
  $self->_log("conns " . join(',', map { $_->{id} } @$conns) . ' > ' . _summary($frame, length $bytes)) if $n;
  return $n;
}

sub _summary ($frame, $len) {
  return "non-object ($len bytes)" unless ref $frame eq 'HASH';
  my $s = $frame->{event} // '(no event)';
  $s .= " $frame->{status}"      if defined $frame->{status} && !ref $frame->{status};
  $s .= " \"$frame->{error}\""   if defined $frame->{error}  && !ref $frame->{error};
  $s .= " ref=" . _show($frame->{ref}) if exists $frame->{ref};
  return "$s ($len bytes)";
}

# The response rule: only with a ref key, or when debugging.
sub _respond ($self, $conn, $frame, $error = undef, $always = 0) {
  return unless $always || exists $frame->{ref} || $self->_debugging($conn);
  my %r = (event => $frame->{event});
  $r{ref}    = $frame->{ref} if exists $frame->{ref};
  $r{status} = defined $error ? 'failure' : 'success';
  $r{error}  = $error if defined $error;
  $self->_send($conn, \%r);
}

sub _debugging ($self, $conn) { $conn->{debug_until} && $conn->{debug_until} > time }

sub _close ($self, $conn, $code, $reason = 'goodbye') {
  return unless $conn->{tx} && !$conn->{closing};
  $conn->{closing} = 1;
  $conn->{tx}->finish($code, $reason);
  $self->_log("conn $conn->{id} closing $code $reason");
}

sub _drop ($self, $conn) {
  return unless $conn->{tx};
  $conn->{closing} = 1;
  my $stream = Mojo::IOLoop->stream($conn->{tx}->connection);
  if ($stream) { $stream->close }
  else         { $conn->{tx}->closed }
  $self->_log("conn $conn->{id} dropped");
}

# ------------------------------------------------------------ the WebSocket

sub _ws_open ($self, $c) {
  my $tx   = $c->tx;
  my $id   = ++$self->{conn_seq};
  my $conn = {
    id             => $id,
    tx             => $tx,
    status         => 'inactive',
    hb             => 0,
    supports       => {},
    supports_list  => [],
    channels       => {},
    players        => [],
    kind           => undef,
    key            => undef,
    opened_at      => _iso_us(_now_us()),
    remote_address => $tx->remote_address,
    remote_port    => $tx->remote_port,
  };
  $self->{conns}{$id} = $conn;
  $self->{conn_info}{$id} = {kind => undef, name => undef};

  my $idle = $self->idle_timeout;
  $c->inactivity_timeout($idle > 0 ? max($idle, 2 * $self->heartbeat) : 0);
  $conn->{timer} = Mojo::IOLoop->recurring($self->heartbeat => sub { $self->_tick($conn) });
  $c->on(text   => sub ($c, $bytes) { $self->_on_text($conn, $bytes) });
  $c->on(binary => sub ($c, $bytes) { $self->_log("conn $id < binary frame ignored (" . length($bytes) . ' bytes)') });
  $c->on(finish => sub ($c, $code, $reason) { $self->_on_close($conn, $code, $reason) });
  $self->_log("conn $id open from $conn->{remote_address}:$conn->{remote_port}");
}

sub _on_close ($self, $conn, $code, $reason) {
  return if $conn->{gone}++;
  Mojo::IOLoop->remove($conn->{timer}) if $conn->{timer};
  delete $self->{conns}{$conn->{id}};
  $self->_presence_leave($conn) if $conn->{status} eq 'active';
  delete $conn->{tx};
  $self->_log("conn $conn->{id} closed " . ($code // '-') . (defined $reason && length $reason ? " $reason" : ''));
}

sub _on_text ($self, $conn, $bytes) {
  return if $conn->{closing};
  my $chars = decode 'UTF-8', $bytes;
  my ($frame, $ok);
  $ok = eval { $frame = from_json($chars); 1 } if defined $chars;
  $self->_record_frame($conn, $bytes, $chars, $ok, $frame);
  $self->_log("conn $conn->{id} < " . ($ok ? _summary($frame, length $bytes) : 'invalid JSON (' . length($bytes) . ' bytes)'));
  return unless $self->{answer};
  return $self->_send($conn, {status => 'failure', error => 'unknown'}) unless $ok;
  $self->_dispatch($conn, $frame);
}

sub _record_frame ($self, $conn, $bytes, $chars, $ok, $frame) {
  my %entry = (id => ++$self->{frame_seq}, at => _iso_us(_now_us()), connection => $conn->{id});
  if    ($ok)            { $entry{frame}      = $frame }
  elsif (defined $chars) { $entry{raw}        = $chars }
  else                   { $entry{raw_base64} = b64_encode($bytes, '') }
  my $frames = $self->{frames};
  push @$frames, \%entry;
  splice @$frames, 0, @$frames - FRAMES_MAX if @$frames > FRAMES_MAX;
}

sub _dispatch ($self, $conn, $frame) {
  my $event = ref $frame eq 'HASH' && _is_str($frame->{event}) ? $frame->{event} : undef;

  if ($conn->{status} eq 'inactive') {
    return $self->_authenticate($conn, $frame) if defined $event && $event eq 'authenticate';
    return $self->_send($conn, {status => 'failure', error => 'unauthenticated'});
  }

  # sync: applications only (the original routed it for anyone), v2 only
  return $self->_ev_sync($conn, $frame)
    if defined $event && $event eq 'sync' && $conn->{kind} eq 'app' && $self->sync_mode eq 'versions';

  my $route = defined $event ? $ROUTES{$event} : undef;
  return $self->_send($conn, {status => 'failure', error => 'unknown'}) unless $route;

  my ($flag, $handler) = @$route;
  return $self->_respond($conn, $frame, qq(missing support for "$flag")) unless $conn->{supports}{$flag};
  return if $RATE_LIMITS{$event} && !$self->_rate_ok($conn, $frame, $event);

  my ($result, $error) = $self->$handler($conn, $frame);
  if    ($result eq 'ok')    { $self->_respond($conn, $frame) }
  elsif ($result eq 'error') { $self->_respond($conn, $frame, $error // 'an error occurred, try again') }
}

# The reference's leaky bucket per socket and event (section 1.7): a frame
# over the limit is answered "rate limit exceeded" and dropped; the
# MAX_TOTAL_LIMITED-th such frame closes the socket with 4000.
sub _rate_ok ($self, $conn, $frame, $event) {
  my ($limit, $leak) = @{$RATE_LIMITS{$event}};
  my $now = _now_us() / 1e6;
  my $bk = $conn->{buckets}{$event} //= {level => 0, at => $now};
  $bk->{level} = max(0, $bk->{level} - ($now - $bk->{at}) * $leak);
  $bk->{at} = $now;
  if ($bk->{level} + 1 <= $limit) { $bk->{level} += 1; return 1 }
  $conn->{limited}++;
  $self->_log("conn $conn->{id} rate limited: $event ($conn->{limited})");
  if ($conn->{limited} >= MAX_TOTAL_LIMITED) {
    $self->_send($conn, {event => 'authenticate', status => 'failure', error => 'disconnected due to rate limit abuse'});
    $self->_close($conn, 4000);
    return 0;
  }
  $self->_respond($conn, $frame, 'rate limit exceeded');
  return 0;
}

# Heartbeat timer tick, from the socket's opening.
sub _tick ($self, $conn) {
  return if $conn->{closing} || !$conn->{tx};
  my $counting = $self->{send_heartbeats} && $self->{answer};
  if ($conn->{status} eq 'inactive') {
    return unless $counting;
    return $self->_close($conn, 4001) if ++$conn->{hb} > 3;
    return;
  }
  return unless $self->{send_heartbeats};
  return $self->_close($conn, 4001) if $counting && $conn->{hb} >= 3;
  $conn->{hb}++ if $counting;
  $self->_send($conn, {event => 'heartbeat'});
}

# --------------------------------------------------------------- authenticate

sub _authenticate ($self, $conn, $frame) {
  return $self->_respond($conn, $frame, 'an error occurred, try again') unless exists $frame->{payload};
  my $p = $frame->{payload};
  return $self->_auth_fail($conn, 'invalid credentials') unless ref $p eq 'HASH';

  my $key = $self->_check_credentials($p->{client_id}, $p->{client_secret})
    // return $self->_auth_fail($conn, 'invalid credentials');
  $self->_record_metadata($key, $p) if $key =~ /\Agame:/;

  my $supports = $p->{supports};
  return $self->_auth_fail($conn, 'missing supports') unless ref $supports eq 'ARRAY' && @$supports;
  return $self->_auth_fail($conn, 'must support channels') unless any { _is_str($_) && $_ eq 'channels' } @$supports;
  return $self->_auth_fail($conn, 'includes unknown supports')
    if any { !_is_str($_) || !$VALID_SUPPORT{$_} } @$supports;

  # success
  my $kind = $key =~ /\Aapp:/ ? 'app' : 'game';
  @$conn{qw(status key kind)} = ('active', $key, $kind);
  $conn->{supports_list} = [uniq @$supports];
  $conn->{supports}      = {map { $_ => 1 } @$supports};
  $conn->{debug_until}   = time + 300 if _is_bool($p->{debug}) && $p->{debug};
  $conn->{players}       = [grep { _is_str($_) } @{ref $p->{players} eq 'ARRAY' ? $p->{players} : []}];
  $self->{conn_info}{$conn->{id}} = {kind => $kind, name => $self->_entity_name($key)};

  my @failed;
  for my $name (@{ref $p->{channels} eq 'ARRAY' ? $p->{channels} : []}) {
    if (defined(my $ch = $self->_ensure_channel($name))) { $conn->{channels}{$ch} = 1 }
    else                                                  { push @failed, $name }
  }
  $self->_presence_track($conn) if $kind eq 'game';
  $self->_log("conn $conn->{id} authenticated as $kind " . $self->_entity_name($key));

  $self->_send($conn,
    {event => 'authenticate', status => 'success', payload => {unicode => $UNICODE_CHECK, version => PROTOCOL_VERSION}});
  $self->_send($conn,
    {event => 'channels/subscribe', status => 'failure', error => "Could not subscribe to '" . _show($_) . "'"})
    for @failed;
  $self->_push_everything($conn) if $kind eq 'app' && $self->sync_mode eq 'push';
  $self->_tick($conn);
}

sub _auth_fail ($self, $conn, $error) {
  $self->_send($conn, {event => 'authenticate', status => 'failure', error => $error});
  $self->_close($conn, 4000);
}

sub _check_credentials ($self, $id, $secret) {
  return undef unless _is_str($id) && _is_str($secret) && $id =~ $UUID_RE && $secret =~ $UUID_RE;
  ($id, $secret) = (lc $id, lc $secret);
  if (defined(my $gid = $self->{idx}{game_client}{$id})) {
    return $self->{records}{games}{$gid}{client_secret} eq $secret ? "game:$gid" : undef;
  }
  my $app = first { $_->{client_id} eq $id } values %{$self->{apps}};
  return $app && $app->{client_secret} eq $secret ? "app:$app->{id}" : undef;
}

# Every authentication with a game's credentials updates the game (version,
# user agent) and logs an "update" version, as the original did.
sub _record_metadata ($self, $key, $p) {
  my $game = $self->_entity($key);
  my %new  = %$game;
  $new{version}    = $p->{version}    if _is_str($p->{version});
  $new{user_agent} = $p->{user_agent} if _is_str($p->{user_agent});
  $self->{records}{games}{$game->{id}} = \%new;
  $self->_changed(games => update => [\%new]);
}

# ----------------------------------------------------------------- presence
#
# A row per online game or application: supports, channels and players as
# last written by one of its sockets (or the simulated presence), and the set
# of sockets keeping it online.

sub _presence_update ($self, $conn) {
  my $key = $conn->{key};
  my $row = $self->{presence}{$key} //= {key => $key, sockets => {}, players => [], supports => [], channels => []};
  $row->{sockets}{$conn->{id}} = 1;
  $row->{supports} = [@{$conn->{supports_list}}];
  $row->{channels} = [sort keys %{$conn->{channels}}];
  $row->{players}  = [@{$conn->{players}}];
  $self->_cancel_grace($row);
  return $row;
}

# A game's socket authenticated.
sub _presence_track ($self, $conn) {
  my $key        = $conn->{key};
  my $row        = $self->{presence}{$key};
  my $was_online = defined $row;
  my $only       = !($row && $row->{sim})
    && !any { $_ != $conn && defined $_->{key} && $_->{key} eq $key } $self->_active_conns;
  $self->_presence_update($conn);
  $self->_notify_games('games/connect', $key, $self->_entity_name($key)) if $only && !$was_online;
}

sub _presence_leave ($self, $conn) {
  return if $conn->{orphan};
  my $row = $self->{presence}{$conn->{key}} or return;
  delete $row->{sockets}{$conn->{id}};
  $self->_maybe_offline($row);
}

sub _maybe_offline ($self, $row) {
  return if %{$row->{sockets}} || $row->{sim};
  my $grace = $self->offline_grace;
  return $self->_offline($row) unless $grace > 0;
  $row->{grace} //= Mojo::IOLoop->timer($grace => sub { delete $row->{grace}; $self->_offline($row) });
}

sub _cancel_grace ($self, $row) {
  Mojo::IOLoop->remove(delete $row->{grace}) if $row->{grace};
}

sub _offline ($self, $row) {
  return if %{$row->{sockets}} || $row->{sim};
  return unless ($self->{presence}{$row->{key}} // 0) == $row;
  delete $self->{presence}{$row->{key}};
  $self->_notify_games('games/disconnect', $row->{key}, $self->_entity_name($row->{key})) if $row->{key} =~ /\Agame:/;
}

sub _notify_games ($self, $event, $key, $name) {
  return unless defined $name;
  my @to = grep { $_->{supports}{games} && $_->{key} ne $key } $self->_active_conns;
  $self->_send_all(\@to, {event => $event, ref => _uuid4(), payload => {game => $name}});
}

# ------------------------------------------------------- socket event handlers
#
# Each returns 'ok' (success response per the rule), ('error', $message) or
# 'skip' (the handler sent whatever it had to).

sub _ev_heartbeat ($self, $conn, $frame) {
  my $p       = exists $frame->{payload} ? $frame->{payload} : {};
  my $players = ref $p eq 'HASH' && ref $p->{players} eq 'ARRAY' ? $p->{players} : [];
  $conn->{hb}      = 0;
  $conn->{players} = [grep { _is_str($_) && length } @$players];
  $self->_presence_update($conn);
  return 'skip';
}

sub _ev_subscribe ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless ref $p eq 'HASH';
  return 'ok'    unless exists $p->{channel};
  my $ch = $self->_ensure_channel($p->{channel});
  return ('error', 'Could not subscribe to "' . _show($p->{channel}) . '"') unless defined $ch;
  if ($conn->{kind} eq 'game' && !$conn->{channels}{$ch}) {
    $conn->{channels}{$ch} = 1;
    $self->_presence_update($conn);
  }
  return 'ok';
}

sub _ev_unsubscribe ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless ref $p eq 'HASH';
  my $ch = $p->{channel};
  if (_is_str($ch) && delete $conn->{channels}{$ch}) { $self->_presence_update($conn) }
  return 'ok';
}

sub _ev_channel_send ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless ref $p eq 'HASH';
  my $ch = $p->{channel};
  return 'ok' unless _is_str($ch) && ($conn->{kind} eq 'app' || $conn->{channels}{$ch});
  my ($name, $message) = map { exists $p->{$_} ? $p->{$_} : '' } qw(name message);
  return 'error' unless _is_str($name) && _is_str($message);
  $self->_channel_broadcast($ch, $conn->{key}, _clean($name), _clean($message));
  return 'ok';
}

sub _clean ($text) { $text =~ s/<[^>]*>//gr }

sub _channel_broadcast ($self, $channel, $from_key, $name, $message) {
  my $exists = exists $self->{idx}{channel_name}{$channel};
  my @to     = grep { $_->{key} ne $from_key && (($_->{kind} eq 'app' && $exists) || $_->{channels}{$channel}) }
    $self->_active_conns;
  my $payload = {channel => $channel, game => $self->_entity_name($from_key), name => $name, message => $message};
  return $self->_send_all(\@to, {event => 'channels/broadcast', ref => _uuid4(), payload => $payload});
}

sub _ev_sign_in ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless ref $p eq 'HASH' && exists $p->{name} && _is_str($p->{name});
  my $name = $p->{name};
  return 'ok' if any { $_ eq $name } @{$conn->{players}};
  $self->_player_notice('players/sign-in', $conn->{key}, $name);
  $conn->{players} = [uniq $name, @{$conn->{players}}];
  $self->_presence_update($conn);
  return 'ok';
}

sub _ev_sign_out ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless ref $p eq 'HASH' && exists $p->{name} && _is_str($p->{name});
  my $name = $p->{name};
  return 'skip' unless any { $_ eq $name } @{$conn->{players}};
  $self->_player_notice('players/sign-out', $conn->{key}, $name);
  $conn->{players} = [grep { $_ ne $name } @{$conn->{players}}];
  $self->_presence_update($conn);
  return 'ok';
}

# players/sign-in|sign-out to other sockets that support players, public games only
sub _player_notice ($self, $event, $key, $name) {
  return 0 unless $self->_entity_displayed($key);
  my @to = grep { $_->{supports}{players} && $_->{key} ne $key } $self->_active_conns;
  return $self->_send_all(\@to,
    {event => $event, ref => _uuid4(), payload => {game => $self->_entity_name($key), name => $name}});
}

sub _ev_players_status ($self, $conn, $frame) {
  return 'error' unless defined $frame->{ref};
  my $ref = $frame->{ref};
  my $p   = $frame->{payload};
  if (ref $p eq 'HASH' && exists $p->{game}) {
    my $row = $self->_online_by_name($p->{game}, 1);
    $self->_send($conn,
      $row ? $self->_players_status($row, $ref)
      : {event => 'players/status', ref => $ref, status => 'failure', error => 'unknown game'});
    return 'skip';
  }
  $self->_send($conn, $self->_players_status($_, $ref)) for $self->_listed_rows($conn->{key});
  return 'skip';
}

sub _players_status ($self, $row, $ref) {
  return {event => 'players/status', ref => $ref,
    payload => {game => $self->_entity_name($row->{key}), players => [@{$row->{players}}]}};
}

# online, displayed games other than the asker
sub _listed_rows ($self, $own_key) {
  return grep { $_->{key} ne $own_key && $self->_entity_displayed($_->{key}) } $self->_online_rows;
}

sub _ev_games_status ($self, $conn, $frame) {
  return 'error' unless defined $frame->{ref};
  my $ref = $frame->{ref};
  my $p   = $frame->{payload};
  if (ref $p eq 'HASH' && exists $p->{game}) {
    my $row = $self->_online_by_name($p->{game}, 1);
    undef $row if $row && $row->{key} !~ /\Agame:/;
    $self->_send($conn,
      $row ? $self->_game_status($row, $ref)
      : {event => 'games/status', ref => $ref, status => 'failure', error => 'unknown game'});
    return 'skip';
  }
  $self->_send($conn, $self->_game_status($_, $ref)) for $self->_listed_rows($conn->{key});
  return 'skip';
}

sub _game_status ($self, $row, $ref) {
  my $g       = $self->_entity($row->{key});
  my %payload = (game => $g->{game}, display_name => $g->{display_name});
  for my $f (qw(description homepage_url user_agent user_agent_url)) {
    $payload{$f} = $g->{$f} if defined $g->{$f};
  }
  $payload{connections} = _format_connections($g->{connections}) if @{$g->{connections}};
  $payload{supports}            = [@{$row->{supports}}];
  $payload{player_online_count} = 0 + @{$row->{players}};
  return {event => 'games/status', ref => $ref, status => 'success', payload => \%payload};
}

sub _ev_tell ($self, $conn, $frame) {
  my $error = $self->_tell($conn->{key}, exists $frame->{payload} ? $frame->{payload} : {});
  return defined $error ? ('error', $error) : 'ok';
}

sub _valid_tell_payload ($p) {
  return 0 unless ref $p eq 'HASH';
  return 0 unless join(',', sort keys %$p) eq 'from_name,message,sent_at,to_game,to_name';
  return 0 if any { !_is_str($_) } values %$p;
  return defined _parse_iso($p->{sent_at}) && $p->{sent_at} =~ /Z\z/ ? 1 : 0;
}

# Validate and deliver a tell from the entity $from_key; undef or the error.
sub _tell ($self, $from_key, $p) {
  return 'invalid payload' unless _valid_tell_payload($p);
  my $sender   = $self->_online_by_name($self->_entity_name($from_key)) // return 'game offline';
  my $receiver = $self->_online_by_name($p->{to_game})                  // return 'game offline';
  return 'not supported' unless any { $_ eq 'tells' } @{$receiver->{supports}};
  return 'sending player offline'   unless any { lc $_ eq lc $p->{from_name} } @{$sender->{players}};
  return 'receiving player offline' unless any { lc $_ eq lc $p->{to_name} } @{$receiver->{players}};

  my $from_game = $self->_entity_name($from_key);
  my %payload   = (from_game => $from_game, map { $_ => $p->{$_} } qw(from_name to_name sent_at message));
  my @to        = grep { $_->{key} eq $receiver->{key} && $_->{supports}{tells} } $self->_active_conns;
  $self->_send_all(\@to, {event => 'tells/receive', ref => _uuid4(), payload => \%payload});
  $self->_log("tell $p->{from_name}\@$from_game -> $p->{to_name}\@" . $self->_entity_name($receiver->{key}));
  $self->_demo_reply($receiver, \%payload) if $self->demo && $receiver->{sim};
  return undef;
}

# ----------------------------------------------------------- achievements

sub _ev_achievements_sync ($self, $conn, $frame) {
  return 'error' unless defined $frame->{ref};
  my @list = $self->_achievements_of($conn);
  my @batches = _chunks(\@list);
  @batches = ([]) unless @batches;
  for my $batch (@batches) {
    $self->_send($conn,
      {event => 'achievements/sync', ref => $frame->{ref},
        payload => {total => 0 + @list, achievements => [map { _achievement_show($_) } @$batch]}});
  }
  return 'skip';
}

sub _achievements_of ($self, $conn) {
  return () unless $conn->{kind} eq 'game';
  my $gid = $self->_entity($conn->{key})->{id};
  return map { $self->{records}{achievements}{$_} }
    grep { $self->{records}{achievements}{$_}{game_id} == $gid }
    sort { $a <=> $b } keys %{$self->{records}{achievements}};
}

sub _achievement_show ($ach) { return {map { $_ => $ach->{$_} } qw(key title description display points partial_progress total_progress)} }

sub _ev_achievements_create ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless defined $frame->{ref} && ref $p eq 'HASH' && $conn->{kind} eq 'game';
  my %in = (map { exists $p->{$_} ? ($_ => $p->{$_}) : () } @ACHIEVEMENT_CAST);
  $in{game_id} = $self->_entity($conn->{key})->{id};
  my ($rec, $errors) = $self->create_record(achievements => \%in);
  return $self->_achievement_reply($conn, $frame, $rec, $errors);
}

sub _ev_achievements_update ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless defined $frame->{ref} && ref $p eq 'HASH' && $conn->{kind} eq 'game';
  my $old = $self->_own_achievement($conn, $p->{key}) // return $self->_achievement_not_found($conn, $frame);
  my %in  = (map { exists $p->{$_} ? ($_ => $p->{$_}) : () } @ACHIEVEMENT_CAST);
  my ($rec, $errors) = $self->update_record(achievements => $old->{id}, \%in);
  return $self->_achievement_reply($conn, $frame, $rec, $errors);
}

sub _ev_achievements_delete ($self, $conn, $frame) {
  my $p = $frame->{payload};
  return 'error' unless defined $frame->{ref} && ref $p eq 'HASH' && $conn->{kind} eq 'game';
  my $old = $self->_own_achievement($conn, $p->{key}) // return $self->_achievement_not_found($conn, $frame);
  $self->delete_record(achievements => $old->{id});
  $self->_send($conn,
    {event => $frame->{event}, ref => $frame->{ref}, status => 'success', payload => {key => $old->{key}}});
  return 'skip';
}

sub _own_achievement ($self, $conn, $key) {
  return undef unless _is_str($key);
  my $id = $self->{idx}{achievement_key}{lc $key} // return undef;
  my $ach = $self->{records}{achievements}{$id};
  return $ach->{game_id} == $self->_entity($conn->{key})->{id} ? $ach : undef;
}

sub _achievement_not_found ($self, $conn, $frame) {
  $self->_send($conn,
    {event => $frame->{event}, ref => $frame->{ref}, status => 'failure',
      payload => {errors => {key => ['not found']}}});
  return 'skip';
}

sub _achievement_reply ($self, $conn, $frame, $rec, $errors) {
  my %r = (event => $frame->{event}, ref => $frame->{ref});
  if ($errors) { @r{qw(status payload)} = ('failure', {errors => $errors}) }
  else         { @r{qw(status payload)} = ('success', _achievement_show($rec)) }
  $self->_send($conn, \%r);
  return 'skip';
}

# ------------------------------------------------------------------- sync

sub _ev_sync ($self, $conn, $frame) {
  my $p = $frame->{payload};
  my $since;
  my $valid = ref $p eq 'HASH';
  if ($valid && defined $p->{since}) {
    $since = _parse_iso($p->{since});
    $valid = defined $since;
  }
  return $self->_respond($conn, $frame, 'an error occurred, try again', 1) unless $valid;
  $self->_respond($conn, $frame);
  for my $schema (@SCHEMAS) {
    my @v = grep { $_->{schema} eq $schema && (!defined $since || $_->{us} > $since) } @{$self->{versions}};
    $self->_send($conn, $_) for $self->_sync_frames($schema, \@v, 'versions');
  }
}

# push mode, right after an application authenticated
sub _push_everything ($self, $conn) {
  for my $schema (qw(channels games)) {
    my @records = map { $self->_payload($schema, $_) } $self->_list($schema);
    for my $batch (_chunks(\@records)) {
      $self->_send($conn,
        {event => "sync/$schema", ref => _uuid4(), payload => {$schema => [map { _v1_record($schema, $_) } @$batch]}});
    }
  }
}

sub _v1_record ($schema, $payload) {
  return $payload unless $schema eq 'channels';
  return {map { $_ => $payload->{$_} } grep { $V1_CHANNEL_FIELDS{$_} } keys %$payload};
}

sub _version_json ($v) { {action => $v->{action}, payload => $v->{payload}, logged_at => $v->{logged_at}} }

# sync/SCHEMA frames carrying $versions, at most BATCH per frame.
sub _sync_frames ($self, $schema, $versions, $mode = $self->sync_mode) {
  my $event = "sync/$schema";
  return map { +{event => $event, ref => _uuid4(), payload => [map { _version_json($_) } @$_]} } _chunks($versions)
    if $mode eq 'versions';

  # push mode: records in the v1 shape; deletes (which v1 lacked) as versions
  my @runs;
  for my $v (@$versions) {
    my $del = $v->{action} eq 'delete' ? 1 : 0;
    if (@runs && $runs[-1][0] == $del) { push @{$runs[-1][1]}, $v }
    else                               { push @runs, [$del, [$v]] }
  }
  my @frames;
  for my $run (@runs) {
    my ($del, $list) = @$run;
    for my $batch (_chunks($list)) {
      my $payload
        = $del ? [map { _version_json($_) } @$batch] : {$schema => [map { _v1_record($schema, $_->{payload}) } @$batch]};
      push @frames, {event => $event, ref => _uuid4(), payload => $payload};
    }
  }
  return @frames;
}

# Log versions for changed records and push them to application sockets.
sub _changed ($self, $schema, $action, $records) {
  my @versions = map { $self->_log_version($schema, $action, $_) } @$records;
  my @apps     = grep { $_->{kind} eq 'app' } $self->_active_conns;
  return unless @apps;
  $self->_send_all(\@apps, $_) for $self->_sync_frames($schema, \@versions);
}

sub _log_version ($self, $schema, $action, $rec) {
  my $us = _now_us();
  $us = $self->{last_us} + 1 if $us <= $self->{last_us};
  $self->{last_us} = $us;
  my $v = {
    schema    => $schema,
    schema_id => $rec->{id},
    action    => $action,
    payload   => $self->_payload($schema, $rec),
    logged_at => _iso_us($us),
    us        => $us,
  };
  push @{$self->{versions}}, $v;
  return $v;
}

# --------------------------------------------------------------- records

sub _payload ($self, $schema, $rec) {
  my %p = map { $_ => $rec->{$_} } @{$FIELDS{$schema}};
  if ($schema eq 'games') {
    $p{connections}   = _format_connections($rec->{connections});
    $p{redirect_uris} = [@{$rec->{redirect_uris}}];
  }
  return \%p;
}

sub _format_connections ($list) {
  return [map { my $c = $_; +{map { $_ => $c->{$_} } $c->{type} eq 'web' ? qw(id type url) : qw(id type host port)} }
      @$list];
}

sub _list ($self, $schema) {
  my $r = $self->{records}{$schema};
  return map { $r->{$_} } sort { $a <=> $b } keys %$r;
}

sub _next_id ($self, $schema, $reserved = {}) {
  my $id = $self->{next_id}{$schema};
  $id++ while exists $self->{records}{$schema}{$id} || $reserved->{$id};
  $self->{next_id}{$schema} = $id + 1;
  return $id;
}

sub _index ($self, $schema, $rec, $add) {
  my $idx = $self->{idx};
  my @entries
    = $schema eq 'games'        ? ([game_name => lc $rec->{game}], [game_client => $rec->{client_id}])
    : $schema eq 'channels'     ? ([channel_name => $rec->{name}])
    : $schema eq 'achievements' ? ([achievement_key => lc $rec->{key}])
    :                             ();
  for my $e (@entries) {
    if ($add) { $idx->{$e->[0]}{$e->[1]} = $rec->{id} }
    else      { delete $idx->{$e->[0]}{$e->[1]} }
  }
}

sub _store ($self, $schema, $rec) {
  $self->{records}{$schema}{$rec->{id}} = $rec;
  $self->{next_id}{$schema} = $rec->{id} + 1 if $rec->{id} >= $self->{next_id}{$schema};
  $self->_index($schema, $rec, 1);
}

sub _validate ($self, $schema, $in, $old = undef, $pending = undef) {
  return (undef, {body => ['must be a JSON object']}) unless ref $in eq 'HASH';
  my $m = "_validate_$schema";
  my ($rec, $e) = $self->$m($in, $old, $pending // {});
  return %$e ? (undef, $e) : ($rec, undef);
}

# Create one record; returns the record or (undef, errors).
sub create_record ($self, $schema, $in) {
  my ($rec, $e) = $self->_validate($schema, $in);
  return (undef, $e) if $e;
  $rec->{id} //= $self->_next_id($schema);
  $self->_stamp($rec, 1) unless $schema eq 'games';
  $self->_store($schema, $rec);
  $self->_changed($schema, create => [$rec]);
  return $rec;
}

# Create many records, all or nothing; returns ([records]) or (undef, errors).
sub bulk_create ($self, $schema, $list) {
  my $pending = {};
  my @valid;
  for my $i (0 .. $#$list) {
    my ($rec, $e) = $self->_validate($schema, $list->[$i], undef, $pending);
    return (undef, {map { ("[$i].$_" => $e->{$_}) } keys %$e}) if $e;
    $pending->{ids}{$rec->{id}} = 1 if defined $rec->{id};
    push @valid, $rec;
  }
  for my $rec (@valid) {
    $rec->{id} //= $self->_next_id($schema, $pending->{ids});
    $self->_stamp($rec, 1) unless $schema eq 'games';
    $self->_store($schema, $rec);
  }
  $self->_changed($schema, create => \@valid);
  return \@valid;
}

sub update_record ($self, $schema, $id, $in) {
  my $old = $self->{records}{$schema}{$id} // return (undef, {id => ['not found']});
  my ($rec, $e) = $self->_validate($schema, $in, $old);
  return (undef, $e) if $e;
  $self->_stamp($rec, 0) unless $schema eq 'games';
  $self->_index($schema, $old, 0);
  $self->_store($schema, $rec);
  $self->_renamed_channel($old->{name}, $rec->{name}) if $schema eq 'channels' && $old->{name} ne $rec->{name};
  $self->_changed($schema, update => [$rec]);
  return $rec;
}

sub delete_record ($self, $schema, $id) {
  my $rec = $self->{records}{$schema}{$id} // return undef;
  if ($schema eq 'games') {
    my @events = grep { $_->{game_id} == $id } $self->_list('events');
    my @achievements = grep { $_->{game_id} == $id } $self->_list('achievements');
    $self->delete_record(events       => $_->{id}) for @events;
    $self->delete_record(achievements => $_->{id}) for @achievements;
    my $key = "game:$id";
    for my $conn (grep { defined $_->{key} && $_->{key} eq $key } values %{$self->{conns}}) {
      $conn->{orphan} = 1;
      $self->_close($conn, 4000);
    }
    if (my $row = delete $self->{presence}{$key}) {
      $self->_cancel_grace($row);
      $self->_notify_games('games/disconnect', $key, $rec->{game});
    }
  }
  if ($schema eq 'channels') {
    delete $_->{channels}{$rec->{name}} for values %{$self->{conns}};
    $_->{channels} = [grep { $_ ne $rec->{name} } @{$_->{channels}}] for values %{$self->{presence}};
  }
  delete $self->{records}{$schema}{$id};
  $self->_index($schema, $rec, 0);
  $self->_changed($schema, delete => [$rec]);
  return $rec;
}

sub _renamed_channel ($self, $from, $to) {
  for my $conn (values %{$self->{conns}}) {
    $conn->{channels}{$to} = 1 if delete $conn->{channels}{$from};
  }
  for my $row (values %{$self->{presence}}) {
    $row->{channels} = [sort map { $_ eq $from ? $to : $_ } @{$row->{channels}}];
  }
}

sub _stamp ($self, $rec, $create) {
  my $now = _naive_now();
  $rec->{inserted_at} //= $now if $create;
  $rec->{updated_at} = $create ? $rec->{updated_at} // $now : $now;
}

# Subscribe-time channel lookup, creating valid new names (hidden).
sub _ensure_channel ($self, $name) {
  return undef unless _is_str($name);
  return $name if exists $self->{idx}{channel_name}{$name};
  my ($rec) = $self->create_record(channels => {name => $name});
  return $rec ? $rec->{name} : undef;
}

# --------------------------------------------------------------- validators
#
# Each takes the input hash, the old record (update) or undef (create) and a
# hash of names/ids pending in the same bulk create; returns (record, errors).

sub _unknown_fields ($e, $in, @allowed) {
  my %ok = map { $_ => 1 } @allowed;
  _err($e, $_, 'is not a known field') for grep { !$ok{$_} } sort keys %$in;
}

sub _v_id ($self, $e, $in, $rec, $schema, $old, $pending) {
  return unless exists $in->{id};
  my $id = $in->{id};
  if ($old) { _err($e, id => 'cannot be changed') unless _is_int($id) && $id == $old->{id}; return }
  return if !defined $id;
  if (!_is_int($id) || $id < 1) { _err($e, id => 'must be a positive integer') }
  elsif (exists $self->{records}{$schema}{$id} || $pending->{ids}{$id}) { _err($e, id => 'has already been taken') }
  else { $rec->{id} = 0 + $id }
}

sub _v_nullable_str ($e, $in, $rec, @fields) {
  for my $f (@fields) {
    next unless exists $in->{$f};
    my $v = $in->{$f};
    if (!defined $v || _is_str($v)) { $rec->{$f} = $v }
    else                            { _err($e, $f, 'is invalid') }
  }
}

sub _v_bool ($e, $in, $rec, @fields) {
  for my $f (@fields) {
    next unless exists $in->{$f};
    my $b = _bool($in->{$f});
    if (defined $b) { $rec->{$f} = $b }
    else            { _err($e, $f, 'is invalid') }
  }
}

sub _v_uuid ($e, $in, $rec, $f) {
  return unless exists $in->{$f};
  my $v = $in->{$f};
  if (_is_str($v) && $v =~ $UUID_RE) { $rec->{$f} = lc $v }
  else                               { _err($e, $f, 'is invalid') }
}

# game_id, or "game" => short name
sub _v_game_ref ($self, $e, $in, $rec) {
  if (exists $in->{game}) {
    my $id = _is_str($in->{game}) ? $self->{idx}{game_name}{lc $in->{game}} : undef;
    return defined $id ? ($rec->{game_id} = $id) : _err($e, game => 'does not exist');
  }
  if (exists $in->{game_id}) {
    my $id = $in->{game_id};
    return _is_int($id) && $self->{records}{games}{$id} ? ($rec->{game_id} = 0 + $id) : _err($e, game_id => 'does not exist');
  }
  _err($e, game_id => "can't be blank") unless defined $rec->{game_id};
}

sub _v_timestamps ($e, $in, $rec) {
  for my $f (qw(inserted_at updated_at)) {
    next unless exists $in->{$f};
    if (_is_str($in->{$f}) && $in->{$f} =~ $NAIVE_RE) { $rec->{$f} = $in->{$f} }
    else                                               { _err($e, $f, 'is invalid') }
  }
}

sub _name_taken ($self, $name, $own_key, $pending) {
  my $lc = lc $name;
  return 1 if $pending->{names}{$lc};
  my $gid = $self->{idx}{game_name}{$lc};
  return 1 if defined $gid && (!defined $own_key || $own_key ne "game:$gid");
  return 1 if any { lc $_->{short_name} eq $lc && (!defined $own_key || $own_key ne "app:$_->{id}") } values %{$self->{apps}};
  return 0;
}

sub _client_taken ($self, $client_id, $own_key, $pending) {
  return 1 if $pending->{clients}{$client_id};
  my $gid = $self->{idx}{game_client}{$client_id};
  return 1 if defined $gid && (!defined $own_key || $own_key ne "game:$gid");
  return 1 if any { $_->{client_id} eq $client_id && (!defined $own_key || $own_key ne "app:$_->{id}") } values %{$self->{apps}};
  return 0;
}

sub _v_short_name ($self, $e, $field, $v, $own_key, $pending) {
  return _err($e, $field, "can't be blank") unless _is_str($v) && length $v;
  return _err($e, $field, 'has invalid format') unless $v =~ /\A[a-zA-Z0-9]+\z/;
  return _err($e, $field, 'should be at most 15 character(s)') if length $v > 15;
  return _err($e, $field, 'has already been taken') if $self->_name_taken($v, $own_key, $pending);
  return 1;
}

my %GAME_ALIAS = (short_name => 'game', name => 'display_name');

sub _validate_games ($self, $in, $old, $pending) {
  my %e;
  my %in = %$in;
  for my $alias (sort keys %GAME_ALIAS) {
    next unless exists $in{$alias};
    my $v = delete $in{$alias};
    $in{$GAME_ALIAS{$alias}} = $v unless exists $in{$GAME_ALIAS{$alias}};
  }
  _unknown_fields(\%e, \%in, @{$FIELDS{games}}, 'version');
  my %g = $old ? %$old : (
    display      => true,  allow_character_registration => true,
    connections  => [],    redirect_uris                => [],
    version      => '1.0.0',
    map { $_ => undef } qw(id description homepage_url user_agent user_agent_url mssp_last_seen_at)
  );
  my $own = $old ? "game:$old->{id}" : undef;
  $self->_v_id(\%e, \%in, \%g, 'games', $old, $pending);

  $g{game} = $in{game} if (exists $in{game} || !$old) && $self->_v_short_name(\%e, 'game', $in{game}, $own, $pending);
  if (exists $in{display_name}) {
    if (_is_str($in{display_name}) && length $in{display_name}) { $g{display_name} = $in{display_name} }
    else                                                         { _err(\%e, display_name => "can't be blank") }
  }
  $g{display_name} //= $g{game};
  _v_bool(\%e, \%in, \%g, qw(display allow_character_registration));
  _v_nullable_str(\%e, \%in, \%g, qw(description homepage_url user_agent user_agent_url));
  if (exists $in{version}) { _is_str($in{version}) ? ($g{version} = $in{version}) : _err(\%e, version => 'is invalid') }
  if (exists $in{mssp_last_seen_at}) {
    my $v = $in{mssp_last_seen_at};
    if (!defined $v || defined _parse_iso($v)) { $g{mssp_last_seen_at} = $v }
    else                                       { _err(\%e, mssp_last_seen_at => 'is invalid') }
  }
  $g{connections} = $self->_v_connections(\%e, $in{connections}, $old ? $old->{connections} : []) if exists $in{connections};
  if (exists $in{redirect_uris}) {
    my $v = $in{redirect_uris};
    if (ref $v eq 'ARRAY' && !any { !_is_str($_) } @$v) { $g{redirect_uris} = [@$v] }
    else                                                 { _err(\%e, redirect_uris => 'is invalid') }
  }
  _v_uuid(\%e, \%in, \%g, $_) for qw(client_id client_secret);
  $g{client_id}     //= _uuid4();
  $g{client_secret} //= _uuid4();
  _err(\%e, client_id => 'has already been taken') if $self->_client_taken($g{client_id}, $own, $pending);

  unless (%e) {
    $pending->{names}{lc $g{game}} = 1;
    $pending->{clients}{$g{client_id}} = 1;
  }
  return (\%g, \%e);
}

# Connections without an id keep the id of the same old connection, if any.
sub _v_connections ($self, $e, $list, $old) {
  my %old_id = map { (_connection_sig($_) => $_->{id}) } @$old;
  unless (ref $list eq 'ARRAY') { _err($e, connections => 'is invalid'); return [] }
  my @out;
  for my $i (0 .. $#$list) {
    my $c = $list->[$i];
    my $f = "connections[$i]";
    unless (ref $c eq 'HASH') { _err($e, $f, 'is invalid'); next }
    my %c    = (id => _uuid4());
    my $type = $c->{type};
    if (!_is_str($type) || $type !~ /\A(?:web|telnet|secure telnet)\z/) { _err($e, "$f.type", 'is invalid'); next }
    $c{type} = $type;
    my @keys = $type eq 'web' ? qw(url) : qw(host port);
    _unknown_fields($e, {map { $_ => 1 } grep { $_ ne 'id' && $_ ne 'type' } keys %$c}, @keys);
    if (exists $c->{id}) {
      if (_is_str($c->{id}) && $c->{id} =~ $UUID_RE) { $c{id} = lc $c->{id} }
      else                                           { _err($e, "$f.id", 'is invalid') }
    }
    if ($type eq 'web') {
      _is_str($c->{url}) && length $c->{url} ? ($c{url} = $c->{url}) : _err($e, "$f.url", "can't be blank");
    }
    else {
      _is_str($c->{host}) && length $c->{host} ? ($c{host} = $c->{host}) : _err($e, "$f.host", "can't be blank");
      _is_int($c->{port}) && $c->{port} >= 1 && $c->{port} <= 65535
        ? ($c{port} = 0 + $c->{port})
        : _err($e, "$f.port", 'is invalid');
    }
    $c{id} = $old_id{_connection_sig(\%c)} // $c{id} unless exists $c->{id};
    push @out, \%c;
  }
  return \@out;
}

sub _connection_sig ($c) { join "\0", map { $_ // '' } @$c{qw(type url host port)} }

sub _validate_channels ($self, $in, $old, $pending) {
  my %e;
  _unknown_fields(\%e, $in, @{$FIELDS{channels}});
  my %c = $old ? %$old : (id => undef, description => undef, hidden => true);
  $self->_v_id(\%e, $in, \%c, 'channels', $old, $pending);
  if (exists $in->{name} || !$old) {
    my $v = $in->{name};
    if    (!_is_str($v) || !length $v)    { _err(\%e, name => "can't be blank") }
    elsif ($v !~ /\A[a-zA-Z_-]+\z/)       { _err(\%e, name => 'has invalid format') }
    elsif (length $v < 3)                 { _err(\%e, name => 'should be at least 3 character(s)') }
    elsif (length $v > 15)                { _err(\%e, name => 'should be at most 15 character(s)') }
    elsif ($self->{blocklist}{lc $v})     { _err(\%e, name => 'is blocked') }
    elsif ($pending->{names}{$v}
      || (exists $self->{idx}{channel_name}{$v} && (!$old || $self->{idx}{channel_name}{$v} != $old->{id})))
    {
      _err(\%e, name => 'has already been taken');
    }
    else { $c{name} = $v }
  }
  _v_nullable_str(\%e, $in, \%c, 'description');
  _v_bool(\%e, $in, \%c, 'hidden');
  _v_timestamps(\%e, $in, \%c);
  $pending->{names}{$c{name}} = 1 unless %e;
  return (\%c, \%e);
}

sub _validate_events ($self, $in, $old, $pending) {
  my %e;
  _unknown_fields(\%e, $in, @{$FIELDS{events}}, 'game');
  my %ev = $old ? %$old : (id => undef, description => undef, game_id => undef);
  $self->_v_id(\%e, $in, \%ev, 'events', $old, $pending);
  if (exists $in->{title} || !$old) {
    _is_str($in->{title}) && $in->{title} =~ /\S/ ? ($ev{title} = $in->{title}) : _err(\%e, title => "can't be blank");
  }
  _v_nullable_str(\%e, $in, \%ev, 'description');
  for my $f (qw(start_date end_date)) {
    next unless exists $in->{$f} || !$old;
    my $v = $in->{$f};
    if    (!defined $v)                { _err(\%e, $f, "can't be blank") }
    elsif (defined _parse_date($v))    { $ev{$f} = $v }
    else                               { _err(\%e, $f, 'is invalid') }
  }
  if (!$e{start_date} && !$e{end_date} && defined $ev{start_date} && defined $ev{end_date}) {
    _err(\%e, end_date => 'must come after the start date') if $ev{end_date} lt $ev{start_date};
  }
  $self->_v_game_ref(\%e, $in, \%ev);
  _v_timestamps(\%e, $in, \%ev);
  return (\%ev, \%e);
}

sub _validate_achievements ($self, $in, $old, $pending) {
  my %e;
  _unknown_fields(\%e, $in, @{$FIELDS{achievements}}, 'game');
  my %a = $old ? %$old : (
    id => undef, key => undef, title => undef, description => undef, display => true, points => 0,
    partial_progress => false, total_progress => undef, game_id => undef
  );
  $self->_v_id(\%e, $in, \%a, 'achievements', $old, $pending);
  if (exists $in->{key}) {
    if ($old) { _err(\%e, key => 'cannot be changed') unless _is_str($in->{key}) && lc $in->{key} eq $old->{key} }
    else      { _v_uuid(\%e, $in, \%a, 'key') }
  }
  $a{key} //= _uuid4();
  _err(\%e, key => 'has already been taken')
    if !$old && ($pending->{keys}{$a{key}} || exists $self->{idx}{achievement_key}{$a{key}});
  if ($old) { _err(\%e, game_id => 'cannot be changed') if exists $in->{game_id} || exists $in->{game} }
  else      { $self->_v_game_ref(\%e, $in, \%a) }
  _achievement_changeset(\%e, $in, \%a);
  _v_timestamps(\%e, $in, \%a);
  $pending->{keys}{$a{key}} = 1 unless %e;
  return (\%a, \%e);
}

# The original changeset: cast, required, points in 0..100, total_progress
# required with partial_progress. Error texts are Ecto's.
sub _achievement_changeset ($e, $in, $rec) {
  for my $f (qw(title description)) {
    next unless exists $in->{$f};
    my $v = $in->{$f};
    if    (!defined $v)  { $rec->{$f} = undef }
    elsif (_is_str($v))  { $rec->{$f} = $v =~ /\S/ ? $v : undef }
    else                 { _err($e, $f, 'is invalid') }
  }
  for my $f (qw(display partial_progress)) {
    next unless exists $in->{$f};
    my $v = $in->{$f};
    if    (!defined $v) { $rec->{$f} = undef }
    elsif (_is_bool($v)) { $rec->{$f} = $v ? true : false }
    elsif (_is_str($v) && $v =~ /\A(?:true|false|1|0)\z/) { $rec->{$f} = $v =~ /\A(?:true|1)\z/ ? true : false }
    else { _err($e, $f, 'is invalid') }
  }
  for my $f (qw(points total_progress)) {
    next unless exists $in->{$f};
    my $v = $in->{$f};
    if    (!defined $v)                     { $rec->{$f} = undef }
    elsif (_is_int($v))                     { $rec->{$f} = 0 + $v }
    elsif (_is_str($v) && $v =~ /\A[+-]?\d+\z/) { $rec->{$f} = 0 + $v }
    else                                    { _err($e, $f, 'is invalid') }
  }
  for my $f (qw(title display points partial_progress)) {
    _err($e, $f, "can't be blank") if !defined $rec->{$f} && !$e->{$f};
  }
  _err($e, points => 'is invalid') if defined $rec->{points} && !$e->{points} && ($rec->{points} < 0 || $rec->{points} > 100);
  _err($e, total_progress => "can't be blank")
    if $rec->{partial_progress} && !defined $rec->{total_progress} && !$e->{total_progress};
}

sub _validate_app ($self, $in, $pending) {
  my %e;
  return (undef, {body => ['must be a JSON object']}) unless ref $in eq 'HASH';
  _unknown_fields(\%e, $in, qw(id name short_name client_id client_secret));
  my %app = (id => undef);
  if (exists $in->{id}) {
    _is_int($in->{id}) && $in->{id} >= 1 && !$self->{apps}{$in->{id}} ? ($app{id} = 0 + $in->{id}) : _err(\%e, id => 'is invalid');
  }
  $app{short_name} = $in->{short_name} if $self->_v_short_name(\%e, 'short_name', $in->{short_name}, undef, $pending);
  $app{name} = _is_str($in->{name}) && length $in->{name} ? $in->{name} : $app{short_name};
  _v_uuid(\%e, $in, \%app, $_) for qw(client_id client_secret);
  $app{client_id}     //= _uuid4();
  $app{client_secret} //= _uuid4();
  _err(\%e, client_id => 'has already been taken') if $self->_client_taken($app{client_id}, undef, $pending);
  return %e ? (undef, \%e) : (\%app, undef);
}

# ------------------------------------------------------------ simulated games

sub connect_game ($self, $key, $opts = {}) {
  my $row        = $self->{presence}{$key};
  my $was_online = defined $row;
  my $only       = !any { defined $_->{key} && $_->{key} eq $key } $self->_active_conns;
  $row //= $self->{presence}{$key} = {key => $key, sockets => {}, players => [], supports => [], channels => []};
  $row->{sim}      = 1;
  $row->{supports} = [@{$opts->{supports} // [qw(channels players tells games)]}];
  $row->{channels} = [@{$opts->{channels} // [map { $_->{name} } grep { !$_->{hidden} } $self->_list('channels')]}];
  $row->{players}  = [@{$opts->{players}}] if $opts->{players};
  $self->_cancel_grace($row);
  $self->_notify_games('games/connect', $key, $self->_entity_name($key)) if $only && !$was_online;
  return $row;
}

sub disconnect_game ($self, $key) {
  my $row = $self->{presence}{$key};
  return 0 unless $row && $row->{sim};
  delete $row->{sim};
  $self->_maybe_offline($row);
  return 1;
}

# sign a player in or out of an online game directly (control API, demo)
sub sign_player ($self, $key, $name, $in) {
  my $row = $self->{presence}{$key} // return 'game offline';
  my $listed = any { $_ eq $name } @{$row->{players}};
  if ($in) {
    return 'ok' if $listed;
    $self->_player_notice('players/sign-in', $key, $name);
    $row->{players} = [uniq $name, @{$row->{players}}];
  }
  else {
    return 'player not signed in' unless $listed;
    $self->_player_notice('players/sign-out', $key, $name);
    $row->{players} = [grep { $_ ne $name } @{$row->{players}}];
  }
  return 'ok';
}

# ---------------------------------------------------------------- seeding

sub load_seed_file ($self, $file) {
  my $data = eval { decode_json(path($file)->slurp) };
  die "seed $file: " . ($@ ? $@ =~ s/ at \S+ line \d+.*//sr : "must be a JSON object\n") unless ref $data eq 'HASH';
  $self->load_seed($data);
}

sub load_seed ($self, $data) {
  die "seed: must be a JSON object\n" unless ref $data eq 'HASH';
  my %known = map { $_ => 1 }
    qw(applications channels games events achievements players channel_blocklist chatter_lines chatter_names tell_replies);
  for my $k (sort keys %$data) { die "seed: unknown key '$k'\n" unless $known{$k} }

  if (my $b = $data->{channel_blocklist}) {
    die "seed: channel_blocklist must be an array of strings\n" unless ref $b eq 'ARRAY' && !any { !_is_str($_) } @$b;
    $self->{blocklist} = {map { lc($_) => 1 } @$b};
  }
  for my $k (qw(chatter_lines chatter_names tell_replies)) {
    next unless exists $data->{$k};
    my $v = $data->{$k};
    die "seed: $k must be a non-empty array of strings\n" unless ref $v eq 'ARRAY' && @$v && !any { !_is_str($_) } @$v;
    $self->{{chatter_lines => 'lines', chatter_names => 'names', tell_replies => 'replies'}->{$k}} = [@$v];
  }

  my $apps = $data->{applications} // [];
  die "seed: applications must be an array\n" unless ref $apps eq 'ARRAY';
  for my $i (0 .. $#$apps) {
    my ($app, $e) = $self->_validate_app($apps->[$i], {});
    die "seed: applications[$i]: " . _errors_text($e) . "\n" if $e;
    $app->{id} //= $self->{next_id}{apps};
    $self->{next_id}{apps} = max($self->{next_id}{apps}, $app->{id} + 1);
    $self->{apps}{$app->{id}} = $app;
  }

  for my $schema (qw(channels games events achievements)) {
    my $list = $data->{$schema} // [];
    die "seed: $schema must be an array\n" unless ref $list eq 'ARRAY';
    for my $i (0 .. $#$list) {
      my $in = $list->[$i];
      if ($schema eq 'events' && ref $in eq 'HASH') {
        $in = {%$in, map { exists $in->{$_} ? ($_ => _relative_date($in->{$_})) : () } qw(start_date end_date)};
      }
      my (undef, $e) = $self->create_record($schema => $in);
      die "seed: $schema\[$i]: " . _errors_text($e) . "\n" if $e;
    }
  }

  my $players = $data->{players} // {};
  die "seed: players must be an object of arrays\n" unless ref $players eq 'HASH';
  for my $name (sort keys %$players) {
    my $list = $players->{$name};
    die "seed: players.$name must be an array of strings\n" unless ref $list eq 'ARRAY' && !any { !_is_str($_) } @$list;
    my $key = $self->_entity_by_name($name);
    die "seed: players: no game '$name'\n" unless $key && $key =~ /\Agame:/;
    $self->connect_game($key, {players => $list});
    $self->{seed_players}{$key}{lc $_} = 1 for @$list;
  }
  return $self;
}

sub demo_file ($class) { path(__FILE__)->dirname->dirname->child('gossip-hub-demo.json')->to_string }

# ------------------------------------------------------------------ demo

sub _chatter_tick ($self) {
  my @rows     = grep { $_->{sim} && @{$_->{players}} && $self->_entity_displayed($_->{key}) } $self->_online_rows;
  my @channels = grep { !$_->{hidden} } $self->_list('channels');
  if (@rows && @channels) {
    my $row  = $rows[rand @rows];
    my $name = $row->{players}[rand @{$row->{players}}];
    my $ch   = $channels[rand @channels]{name};
    my $line = $self->{lines}[rand @{$self->{lines}}];
    $self->_channel_broadcast($ch, $row->{key}, $name, $line);
  }
  return unless rand() < 0.3;

  # now and then someone signs in or out of a simulated game
  my @sim = grep { $_->{sim} && $_->{key} =~ /\Agame:/ } $self->_online_rows;
  return unless @sim;
  my $row     = $sim[rand @sim];
  my @leavers = grep { !$self->{seed_players}{$row->{key}}{lc $_} } @{$row->{players}};
  if (@leavers && rand() < 0.5) {
    $self->sign_player($row->{key}, $leavers[rand @leavers], 0);
  }
  else {
    my @free = grep { my $n = lc $_; !any { lc $_ eq $n } @{$row->{players}} } @{$self->{names}};
    $self->sign_player($row->{key}, $free[rand @free], 1) if @free;
  }
}

sub _demo_reply ($self, $receiver, $tell) {
  my $key = $receiver->{key};
  Mojo::IOLoop->timer(1 => sub {
    my $reply = {
      from_name => $tell->{to_name},
      to_game   => $tell->{from_game},
      to_name   => $tell->{from_name},
      sent_at   => _iso_now(),
      message   => $self->{replies}[rand @{$self->{replies}}],
    };
    my $error = $self->_tell($key, $reply);
    $self->_log("demo reply not delivered: $error") if defined $error;
  });
}

# -------------------------------------------------------------- listeners

sub _host_port ($spec, $what) {
  my ($host, $port) = $spec =~ /\A\[?([^\]]*?)\]?:(\d+)\z/ or die "$what: expected HOST:PORT, got '$spec'\n";
  die "$what: port out of range\n" if $port > 65535;
  return ($host, $port);
}

sub _bare_app ($self) {
  my $app = Mojolicious->new(mode => 'production');
  $app->log->level('fatal');
  $app->secrets([_uuid4()]);
  $app->max_request_size(256 * 1024 * 1024);
  return $app;
}

# Start both listeners on the singleton loop; returns (ws port, control port).
sub start ($self) {
  my ($wh, $wp) = _host_port($self->listen,  'listen');
  my ($ch, $cp) = _host_port($self->control, 'control');
  my $ws_url = Mojo::URL->new->host($wh)->port($wp);
  if ($self->tls_cert || $self->tls_key) {
    die "--tls-cert and --tls-key go together\n" unless $self->tls_cert && $self->tls_key;
    for my $f ($self->tls_cert, $self->tls_key) { die "cannot read $f\n" unless -r $f }
    $ws_url->scheme('https')->query(cert => $self->tls_cert, key => $self->tls_key);
  }
  else { $ws_url->scheme('http') }

  $self->{ws_daemon} = Mojo::Server::Daemon->new(app => $self->_socket_app, listen => [$ws_url->to_string], silent => 1)->start;
  $self->{control_daemon}
    = Mojo::Server::Daemon->new(app => $self->_control_app, listen => [Mojo::URL->new->scheme('http')->host($ch)->port($cp)->to_string], silent => 1)
    ->start;
  $self->{chatter_timer} = Mojo::IOLoop->recurring($self->chatter => sub { $self->_chatter_tick })
    if $self->demo && $self->chatter > 0;
  my @ports = ($self->{ws_daemon}->ports->[0], $self->{control_daemon}->ports->[0]);
  $self->_log("listening ws=$ports[0] control=$ports[1] sync=" . $self->sync_mode . ' heartbeat=' . $self->heartbeat);
  return @ports;
}

sub _socket_app ($self) {
  my $app = $self->_bare_app;
  my $r   = $app->routes;
  $r->websocket('/socket' => sub ($c) { $self->_ws_open($c) });
  $r->any('/socket' => sub ($c) { $c->render(status => 400, text => "expected a WebSocket upgrade\n") });
  $r->any('/*any' => {any => ''} => sub ($c) { $c->render(status => 404, text => "not found\n") });
  return $app;
}

# ------------------------------------------------------------- control API

sub _bad ($c, $msg, $status = 400, %extra) { $c->render(status => $status, json => {error => $msg, %extra}) }

# Parse the request body as a JSON object (or array); render 400 and return
# undef when it is not one.
sub _body ($c, $type = 'HASH', $optional = 0) {
  my $body = $c->req->body;
  return $type eq 'HASH' ? {} : [] if $optional && $body !~ /\S/;
  my $data = eval { decode_json($body) };
  return $data if ref $data eq $type;
  _bad($c, 'request body must be a JSON ' . ($type eq 'HASH' ? 'object' : 'array'));
  return undef;
}

# {id} in a path => record id
sub _resolve ($self, $schema, $ref) {
  return $ref + 0 if $ref =~ /\A\d+\z/ && exists $self->{records}{$schema}{$ref};
  return $self->{idx}{game_name}{lc $ref}       if $schema eq 'games';
  return $self->{idx}{channel_name}{$ref}       if $schema eq 'channels';
  return $self->{idx}{achievement_key}{lc $ref} if $schema eq 'achievements';
  return undef;
}

sub _record_out ($self, $schema, $rec) {
  my $out = $self->_payload($schema, $rec);
  $out->{version} = $rec->{version} if $schema eq 'games';
  return $out;
}

sub state_snapshot ($self) {
  my %state = (
    sync_mode     => $self->sync_mode,
    heartbeat     => 0 + $self->heartbeat,
    heartbeats    => $self->{send_heartbeats} ? true : false,
    answer        => $self->{answer} ? true : false,
    offline_grace => 0 + $self->offline_grace,
    applications  => [map { +{%{$self->{apps}{$_}}} } sort { $a <=> $b } keys %{$self->{apps}}],
    online        => [map { $self->_row_out($_) } $self->_online_rows],
    connections   => 0 + keys %{$self->{conns}},
    versions      => 0 + @{$self->{versions}},
  );
  for my $schema (@SCHEMAS) { $state{$schema} = [map { $self->_record_out($schema, $_) } $self->_list($schema)] }
  return \%state;
}

sub _row_out ($self, $row) {
  return {
    game      => $self->_entity_name($row->{key}),
    kind      => $row->{key} =~ /\Aapp:/ ? 'app' : 'game',
    players   => [@{$row->{players}}],
    supports  => [@{$row->{supports}}],
    channels  => [@{$row->{channels}}],
    sockets   => [map { 0 + $_ } sort { $a <=> $b } keys %{$row->{sockets}}],
    simulated => $row->{sim} ? true : false,
  };
}

sub _control_app ($self) {
  my $app = $self->_bare_app;
  $app->hook(around_dispatch => sub ($next, $c) {
    return if eval { $next->(); 1 };
    my $err = $@;
    $self->_log("control error: $err");
    $c->render(status => 500, json => {error => "internal error: $err"});
  });
  my $r = $app->routes;

  $r->get('/state' => sub ($c) { $c->render(json => $self->state_snapshot) });

  $r->get('/versions' => sub ($c) {
    my $schema = $c->param('schema');
    my $since  = $c->param('since');
    return _bad($c, 'unknown schema') if defined $schema && !any { $_ eq $schema } @SCHEMAS;
    my $us = defined $since ? _parse_iso($since) : undef;
    return _bad($c, 'since must be an ISO-8601 time') if defined $since && !defined $us;
    my @v = grep { (!defined $schema || $_->{schema} eq $schema) && (!defined $us || $_->{us} > $us) } @{$self->{versions}};
    $c->render(json => [map { +{%{_version_json($_)}, schema => $_->{schema}, schema_id => $_->{schema_id}} } @v]);
  });

  # simulated presence (before the generic /games/:id routes)
  $r->post('/games/:name/connect' => sub ($c) {
    my $key = $self->_entity_by_name($c->param('name'));
    return _bad($c, 'unknown game', 404) unless $key && $key =~ /\Agame:/;
    my $body = _body($c, 'HASH', 1) // return;
    my %opts;
    for my $f (qw(players supports channels)) {
      next unless exists $body->{$f};
      return _bad($c, "$f must be an array of strings") unless ref $body->{$f} eq 'ARRAY' && !any { !_is_str($_) } @{$body->{$f}};
      $opts{$f} = $body->{$f};
    }
    if (my $s = $opts{supports}) {
      return _bad($c, 'supports must include channels') unless any { $_ eq 'channels' } @$s;
      return _bad($c, 'includes unknown supports') if any { !$VALID_SUPPORT{$_} } @$s;
    }
    if (my $chs = $opts{channels}) {
      my $missing = first { !exists $self->{idx}{channel_name}{$_} } @$chs;
      return _bad($c, "unknown channel '$missing'") if defined $missing;
    }
    return _bad($c, 'unknown fields') if grep { !/\A(?:players|supports|channels)\z/ } keys %$body;
    $c->render(json => $self->_row_out($self->connect_game($key, \%opts)));
  });
  $r->post('/games/:name/disconnect' => sub ($c) {
    my $key = $self->_entity_by_name($c->param('name'));
    return _bad($c, 'unknown game', 404) unless $key && $key =~ /\Agame:/;
    return _bad($c, 'game is not connected through the control API', 409) unless $self->disconnect_game($key);
    $c->render(json => {status => 'disconnected'});
  });

  for my $schema (@SCHEMAS) {
    $r->get("/$schema" => sub ($c) { $c->render(json => [map { $self->_record_out($schema, $_) } $self->_list($schema)]) });
    $r->post("/$schema/bulk" => sub ($c) {
      my $list = _body($c, 'ARRAY') // return;
      my ($recs, $e) = $self->bulk_create($schema, $list);
      return _bad($c, _errors_text($e), 400, errors => $e) if $e;
      $c->render(status => 201, json => {created => 0 + @$recs, ids => [map { $_->{id} } @$recs]});
    });
    $r->post("/$schema" => sub ($c) {
      my $in = _body($c) // return;
      my ($rec, $e) = $self->create_record($schema, $in);
      return _bad($c, _errors_text($e), 400, errors => $e) if $e;
      $c->render(status => 201, json => $self->_record_out($schema, $rec));
    });
    $r->get("/$schema/:id" => sub ($c) {
      my $id = $self->_resolve($schema, $c->param('id')) // return _bad($c, 'not found', 404);
      $c->render(json => $self->_record_out($schema, $self->{records}{$schema}{$id}));
    });
    $r->put("/$schema/:id" => sub ($c) {
      my $id = $self->_resolve($schema, $c->param('id')) // return _bad($c, 'not found', 404);
      my $in = _body($c) // return;
      my ($rec, $e) = $self->update_record($schema, $id, $in);
      return _bad($c, _errors_text($e), 400, errors => $e) if $e;
      $c->render(json => $self->_record_out($schema, $rec));
    });
    $r->delete("/$schema/:id" => sub ($c) {
      my $id = $self->_resolve($schema, $c->param('id')) // return _bad($c, 'not found', 404);
      my $rec = $self->delete_record($schema, $id);
      $c->render(json => $self->_record_out($schema, $rec));
    });
  }

  for my $action (qw(sign-in sign-out)) {
    $r->post("/players/$action" => sub ($c) {
      my $in = _body($c) // return;
      return _bad($c, 'game and name must be strings') unless _is_str($in->{game}) && _is_str($in->{name}) && length $in->{name};
      my $key = $self->_entity_by_name($in->{game}) // return _bad($c, 'unknown game', 404);
      my $result = $self->sign_player($key, $in->{name}, $action eq 'sign-in');
      return _bad($c, $result, $result eq 'game offline' ? 409 : 404) unless $result eq 'ok';
      $c->render(json => {status => 'success'});
    });
  }

  $r->post('/tell' => sub ($c) {
    my $in = _body($c) // return;
    for my $f (qw(from_game from_name to_game to_name message)) {
      return _bad($c, "$f must be a string") unless _is_str($in->{$f});
    }
    return _bad($c, 'sent_at must be a string') if exists $in->{sent_at} && !_is_str($in->{sent_at});
    my $key = $self->_entity_by_name($in->{from_game}) // return _bad($c, 'unknown from_game', 404);
    my %payload = ((map { $_ => $in->{$_} } qw(from_name to_game to_name message)), sent_at => $in->{sent_at} // _iso_now());
    my $error = $self->_tell($key, \%payload);
    return _bad($c, $error, 422) if defined $error;
    $c->render(json => {status => 'success'});
  });

  $r->post('/broadcast' => sub ($c) {
    my $in = _body($c) // return;
    for my $f (qw(channel game name message)) { return _bad($c, "$f must be a string") unless _is_str($in->{$f}) }
    return _bad($c, 'unknown channel', 404) unless exists $self->{idx}{channel_name}{$in->{channel}};
    my $key = $self->_entity_by_name($in->{game}) // return _bad($c, 'unknown game', 404);
    my $n   = $self->_channel_broadcast($in->{channel}, $key, _clean($in->{name}), _clean($in->{message}));
    $c->render(json => {delivered => $n});
  });

  $r->post('/drop' => sub ($c) {
    my $in = _body($c, 'HASH', 1) // return;
    my @conns = map { $self->{conns}{$_} } sort { $a <=> $b } keys %{$self->{conns}};
    if (exists $in->{code}) {
      my $code = $in->{code};
      return _bad($c, 'code must be 1000 or 3000..4999')
        unless _is_int($code) && ($code == 1000 || ($code >= 3000 && $code <= 4999));
      return _bad($c, 'reason must be a string of at most 120 bytes')
        if exists $in->{reason} && !(_is_str($in->{reason}) && length(encode 'UTF-8', $in->{reason}) <= 120);
      $self->_close($_, 0 + $code, $in->{reason} // 'goodbye') for @conns;
    }
    else {
      return _bad($c, 'unknown fields') if %$in;
      $self->_drop($_) for @conns;
    }
    $c->render(json => {dropped => 0 + @conns});
  });

  $r->post('/restart' => sub ($c) {
    my $in       = _body($c, 'HASH', 1) // return;
    my $downtime = $in->{downtime} // 15;
    my $jitter   = $in->{jitter}   // 5;
    return _bad($c, 'downtime must be a non-negative integer') unless _is_int($downtime) && $downtime >= 0;
    return _bad($c, 'jitter must be a non-negative integer')   unless _is_int($jitter)   && $jitter >= 0;
    my $n = 0;
    for my $conn (map { $self->{conns}{$_} } sort { $a <=> $b } keys %{$self->{conns}}) {
      my $d = max(0, $downtime + int(rand(2 * $jitter + 1)) - $jitter);
      $self->_send($conn, {event => 'restart', ref => _uuid4(), payload => {downtime => $d}});
      $n++;
    }
    $c->render(json => {sent => $n});
  });

  $r->post('/silence' => sub ($c) {
    my $in = _body($c) // return;
    return _bad($c, 'expected "heartbeats" and/or "answer"') unless %$in && !grep { !/\A(?:heartbeats|answer)\z/ } keys %$in;
    my %flag = (heartbeats => 'send_heartbeats', answer => 'answer');
    for my $k (keys %$in) { return _bad($c, "$k must be true or false") unless _is_bool($in->{$k}) }
    $self->{$flag{$_}} = $in->{$_} ? 1 : 0 for keys %$in;
    $self->_log("silence: heartbeats=$self->{send_heartbeats} answer=$self->{answer}");
    $c->render(json => {heartbeats => $self->{send_heartbeats} ? true : false, answer => $self->{answer} ? true : false});
  });

  $r->post('/raw' => sub ($c) {
    my $in = _body($c) // return;
    my $bytes;
    if    (exists $in->{frame} && _is_str($in->{frame}))               { $bytes = encode 'UTF-8', $in->{frame} }
    elsif (exists $in->{frame_base64} && _is_str($in->{frame_base64})) {
      return _bad($c, 'frame_base64 is not base64') unless $in->{frame_base64} =~ m{\A[A-Za-z0-9+/\s]*=*\s*\z};
      $bytes = b64_decode $in->{frame_base64};
    }
    else { return _bad($c, 'expected "frame" (string) or "frame_base64"') }
    my @to;
    if (exists $in->{connection}) {
      my $conn = _is_int($in->{connection}) ? $self->{conns}{$in->{connection}} : undef;
      return _bad($c, 'unknown connection', 404) unless $conn;
      @to = ($conn);
    }
    else { @to = grep { $_->{kind} eq 'app' } $self->_active_conns }
    for my $conn (@to) {
      $conn->{tx}->send({text => $bytes});
      $self->_log("conn $conn->{id} > raw frame (" . length($bytes) . ' bytes)');
    }
    $c->render(json => {sent => 0 + @to});
  });

  $r->post('/sync-mode' => sub ($c) {
    my $in = _body($c) // return;
    return _bad($c, 'mode must be "push" or "versions"') unless _is_str($in->{mode}) && $in->{mode} =~ /\A(?:push|versions)\z/;
    $self->sync_mode($in->{mode});
    $self->_log("sync mode $in->{mode}");
    $c->render(json => {mode => $self->sync_mode});
  });

  $r->get('/frames' => sub ($c) {
    my $all  = $c->param('all');
    my $only = $c->param('connection');
    return _bad($c, 'connection must be a number') if defined $only && $only !~ /\A\d+\z/;
    my @out;
    for my $f (@{$self->{frames}}) {
      my $info = $self->{conn_info}{$f->{connection}} // {};
      next if defined $only && $f->{connection} != $only;
      next unless $all || defined $only || ($info->{kind} // '') eq 'app';
      push @out, {%$f, kind => $info->{kind}};
    }
    $c->render(json => \@out);
  });
  $r->delete('/frames' => sub ($c) {
    my $n = @{$self->{frames}};
    $self->{frames} = [];
    $c->render(json => {deleted => $n});
  });

  $r->get('/connections' => sub ($c) {
    my @out;
    for my $conn (map { $self->{conns}{$_} } sort { $a <=> $b } keys %{$self->{conns}}) {
      push @out, {
        id             => $conn->{id},
        authenticated  => $conn->{status} eq 'active' ? true : false,
        kind           => $conn->{kind},
        name           => $conn->{key} ? $self->_entity_name($conn->{key}) : undef,
        remote_address => $conn->{remote_address},
        remote_port    => 0 + $conn->{remote_port},
        opened_at      => $conn->{opened_at},
        supports       => [@{$conn->{supports_list}}],
        channels       => [sort keys %{$conn->{channels}}],
        players        => [@{$conn->{players}}],
        rate_limited   => 0 + ($conn->{limited} // 0),
      };
    }
    $c->render(json => \@out);
  });

  $r->any('/*any' => {any => ''} => sub ($c) { _bad($c, 'no such endpoint', 404) });
  return $app;
}

# ------------------------------------------------------------------- CLI

sub run_cli ($class, @argv) {
  my %o = (
    listen          => '127.0.0.1:4001',
    control         => '127.0.0.1:4002',
    heartbeat       => 15,
    sync            => 'push',
    chatter         => 5,
    'offline-grace' => 0,
    'idle-timeout'  => 60,
  );
  Getopt::Long::Configure(qw(no_ignore_case no_auto_abbrev));
  my $ok = Getopt::Long::GetOptionsFromArray(
    \@argv, \%o, qw(listen=s control=s tls-cert=s tls-key=s heartbeat=f sync=s seed=s demo chatter=f log=s
      offline-grace=f idle-timeout=f help)
  );
  if (!$ok || @argv || $o{help}) {
    my $out = $o{help} ? \*STDOUT : \*STDERR;
    print {$out} "usage: gossip-hub [--listen H:P] [--control H:P] [--tls-cert F --tls-key F] [--heartbeat S]\n"
      . "         [--sync push|versions] [--seed FILE] [--demo] [--chatter S] [--offline-grace S]\n"
      . "         [--idle-timeout S] [--log FILE]\n"
      . "see: perldoc t/lib/Gossip/Hub.pm\n";
    return $o{help} ? 0 : 2;
  }
  my $fail = sub ($msg) { print STDERR "gossip-hub: $msg\n"; 2 };
  return $fail->('--heartbeat must be > 0')              unless $o{heartbeat} > 0;
  return $fail->('--sync must be push or versions')      unless $o{sync} =~ /\A(?:push|versions)\z/;
  return $fail->('--chatter must be >= 0')               if $o{chatter} < 0;
  return $fail->('--offline-grace must be >= 0')         if $o{'offline-grace'} < 0;
  return $fail->('--idle-timeout must be >= 0')          if $o{'idle-timeout'} < 0;

  my $log = \*STDERR;
  if (defined $o{log}) {
    open $log, '>>', $o{log} or return $fail->("cannot open $o{log}: $!");
  }
  $log->autoflush(1);

  my $hub = $class->new(
    heartbeat     => $o{heartbeat},
    sync_mode     => $o{sync},
    listen        => $o{listen},
    control       => $o{control},
    tls_cert      => $o{'tls-cert'},
    tls_key       => $o{'tls-key'},
    offline_grace => $o{'offline-grace'},
    idle_timeout  => $o{'idle-timeout'},
    demo          => $o{demo} ? 1 : 0,
    chatter       => $o{chatter},
    log_handle    => $log,
  );
  my @ports = eval {
    my $seed = $o{seed} // ($o{demo} ? $class->demo_file : undef);
    $hub->load_seed_file($seed) if defined $seed;
    $hub->start;
  };
  return $fail->($@ =~ s/ at \S+ line \d+\.?\s*\z//r =~ s/\s+\z//r) unless @ports;

  # stop on INT/TERM; should the loop not stop, leave anyway
  $SIG{ALRM} = sub { $hub->_log('forced exit'); POSIX::_exit(0) };
  $SIG{$_} = sub { Mojo::IOLoop->stop; alarm 3 } for qw(INT TERM);
  STDOUT->autoflush(1);
  print "gossip-hub ready ws=$ports[0] control=$ports[1]\n";
  Mojo::IOLoop->start;
  $hub->_log('stopped');
  return 0;
}

1;
