package Grapevine::Test;

# The ngx_grapevine test harness: data-driven tests in the spirit of
# OpenResty's Test::Nginx, written on Debian's Perl packages (Test::Base,
# Test::TCP, DBD::Pg).  See "Tests" in README.md for the block sections.
#
# Per test file: a fresh database copied from the migrated template of the
# run's private cluster, and nginx (master_process on, worker_processes 2)
# on free ports, restarted only when a block's configuration differs from
# the previous one.  Whenever nginx stops, its error log is checked: an
# [alert], [emerg] or [crit] line, or an "open socket ... left in
# connection" line, fails the file.
#
# A file of blocks declares its plan before it runs: each block's
# assertions (from its sections), times repeat_each(), plus one error-log
# check for each nginx it starts.  Blocks are checked first: an unknown
# or empty section, or a block that would assert nothing, stops the file
# naming the block; a block that makes fewer or more assertions than its
# sections call for fails, naming it.

use strict;
use warnings;

use Test::Base;
use Test::More import => [qw(done_testing note subtest)];
use Cwd qw(abs_path);
use DBI;
use File::Basename qw(basename dirname);
use File::Path qw(make_path remove_tree);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::TCP qw(empty_port);
use Time::HiRes qw(sleep time);
use HTTP::Tiny;

use Exporter ();
our @EXPORT = ((grep { !/^\$/ } @Test::Base::EXPORT), qw(
    done_testing note subtest conninfo
    run_tests root module_path db dbh db_name sql sql_rows
    server_port start_nginx stop_nginx reload_nginx nginx_pid
    http_request http_get error_log_since error_log_path servroot
    check_error_log wait_until json_decode json_encode
    repeat_each blocks blocks_plan add_block_preprocessor
    allow_alert start_hub stop_hub hub_api hub_port hub_http_config app_client_id
    hub_app_online
    app_client_secret part_built
));

my $ROOT = abs_path(dirname(__FILE__) . '/../../..');
my $FILE_ID;
my $DB_NAME;
my $DBH;
my $SERVROOT;
my $PORT;
my $DEAD_PORT;
my %HUB;
my $NGINX_CONF_TEXT;
my $NGINX_RUNNING = 0;
my $CLEANED = 0;

sub import {
    my $class = shift;

    # Without the run's cluster (prove run directly), re-run this file
    # through util/test-env, which provides one.

    if (!$ENV{GRAPEVINE_TEST_PGDIR}) {
        exec("$ROOT/util/test-env", $^X, "-I$ROOT/t/lib", $0, @ARGV)
            or die "cannot run util/test-env: $!";
    }

    $FILE_ID = basename($0);
    $FILE_ID =~ s/\.t$//;
    $FILE_ID =~ s/[^a-z0-9]+/_/gi;
    $FILE_ID = lc $FILE_ID;

    $SERVROOT = "$ROOT/t/servroot-$FILE_ID";

    @_ = ($class);
    goto &Exporter::import;
}

sub root { $ROOT }

# the parts built into the module (make GRAPEVINE_PARTS=…: build/parts);
# all of them when the build does not say
sub part_built {
    my ($part) = @_;
    my @parts = qw(backbone api site raisin);

    if (open my $fh, '<', "$ROOT/build/parts") {
        @parts = split ' ', (<$fh> // '');
    }

    return scalar grep { $_ eq $part } @parts;
}

# the newest migration: the schema version the module expects
sub schema_version {
    my ($newest) = reverse sort glob "$ROOT/migrations/[0-9]*_*.sql";
    return $newest =~ m{/0*(\d+)_[^/]*$} ? $1 : 0;
}
# the oldest module schema the newest migration still serves: its
# "-- compatible: N" line, else its own number (README, "Migrations")
sub schema_compatible {
    my ($newest) = reverse sort glob "$ROOT/migrations/[0-9]*_*.sql";
    open my $fh, '<', $newest or return schema_version();
    while (<$fh>) {
        return $1 if /^-- compatible: *0*(\d+) *$/;
    }
    return schema_version();
}
sub servroot { $SERVROOT }
sub module_path { $ENV{GRAPEVINE_MODULE} // "$ROOT/build/ngx_http_grapevine_module.so" }
sub db_name { $DB_NAME }
sub server_port { $PORT }

sub json_decode { JSON::PP->new->utf8->allow_nonref->decode(shift) }
sub json_encode { JSON::PP->new->utf8->canonical->allow_nonref->encode(shift) }

# ---------------------------------------------------------------- database

sub db {
    return $DB_NAME if $DB_NAME;

    $DB_NAME = "t_${FILE_ID}_$$";

    my $admin = DBI->connect("dbi:Pg:dbname=postgres", '', '',
                             { RaiseError => 1, PrintError => 0,
                               AutoCommit => 1 });
    $admin->do("SET client_min_messages = warning");
    $admin->do("DROP DATABASE IF EXISTS \"$DB_NAME\"");
    $admin->do("CREATE DATABASE \"$DB_NAME\" TEMPLATE "
               . "\"$ENV{GRAPEVINE_TEST_TEMPLATE}\"");
    $admin->disconnect;

    return $DB_NAME;
}

sub dbh {
    return $DBH if $DBH && $DBH->ping;

    my $name = db();
    $DBH = DBI->connect("dbi:Pg:dbname=$name", '', '',
                        { RaiseError => 1, PrintError => 0,
                          AutoCommit => 1, pg_enable_utf8 => 1 });
    $DBH->do("SET client_min_messages = warning");
    return $DBH;
}

sub sql {
    my ($stmt, @bind) = @_;
    return dbh()->do($stmt, undef, @bind);
}

sub sql_rows {
    my ($stmt, @bind) = @_;
    return dbh()->selectall_arrayref($stmt, undef, @bind);
}

# A conninfo for grapevine_database pointing at this file's database.
sub conninfo {
    return "host=$ENV{PGHOST} port=$ENV{PGPORT} dbname=" . db()
           . " user=$ENV{PGUSER}";
}

sub drop_db {
    return unless $DB_NAME;

    $DBH->disconnect if $DBH;
    undef $DBH;

    return if $ENV{GRAPEVINE_TEST_KEEP};

    my $admin = DBI->connect("dbi:Pg:dbname=postgres", '', '',
                             { RaiseError => 0, PrintError => 0,
                               AutoCommit => 1 });
    if ($admin) {
        $admin->do("DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)");
        $admin->disconnect;
    }
}

# ------------------------------------------------------------------ nginx

sub error_log_path { "$SERVROOT/logs/error.log" }

sub expand_vars {
    my ($text) = @_;

    $text =~ s/\$TEST_NGINX_(\w+)/test_var($1)/ge;
    return $text;
}

sub test_var {
    my ($name) = @_;

    return conninfo()          if $name eq 'DB_CONNINFO';
    return db()                if $name eq 'DB_NAME';
    return $PORT               if $name eq 'SERVER_PORT';
    return $HUB{port}          if $name eq 'HUB_PORT';
    return schema_version()    if $name eq 'SCHEMA';
    return schema_compatible() if $name eq 'SCHEMA_COMPATIBLE';
    return $DEAD_PORT //= empty_port() if $name eq 'DEAD_PORT';
    return $SERVROOT           if $name eq 'SERVROOT';
    return $ROOT               if $name eq 'ROOT';
    return $ENV{PGHOST}        if $name eq 'PGHOST';
    return $ENV{PGPORT}        if $name eq 'PGPORT';
    return $ENV{"TEST_NGINX_$name"} // die "unknown \$TEST_NGINX_$name\n";
}

sub nginx_conf {
    my (%args) = @_;

    my $main = expand_vars($args{main_config} // '');
    my $http = expand_vars($args{http_config}
                           // 'grapevine_database "$TEST_NGINX_DB_CONNINFO";');
    my $server = expand_vars($args{config} // '');
    my $module = module_path();
    # as root, the workers run as Debian's nginx runs them: www-data
    my $user = $> == 0 ? 'user www-data;' : '';

    return <<"CONF";
load_module $module;

$user
daemon on;
master_process on;
worker_processes 2;
pid $SERVROOT/logs/nginx.pid;
error_log $SERVROOT/logs/error.log info;
$main

events {
    worker_connections 1024;
}

http {
    access_log $SERVROOT/logs/access.log;
    client_body_temp_path $SERVROOT/tmp/body;
    proxy_temp_path $SERVROOT/tmp/proxy;
    fastcgi_temp_path $SERVROOT/tmp/fastcgi;
    uwsgi_temp_path $SERVROOT/tmp/uwsgi;
    scgi_temp_path $SERVROOT/tmp/scgi;
    default_type text/plain;

    $http

    server {
        listen 127.0.0.1:$PORT;
        server_name localhost;

        $server
    }
}
CONF
}

sub write_conf {
    my ($text) = @_;

    make_path("$SERVROOT/conf", "$SERVROOT/logs", "$SERVROOT/tmp");
    open my $fh, '>', "$SERVROOT/conf/nginx.conf" or die $!;
    print $fh $text;
    close $fh;
}

# Runs "nginx -t" on a configuration; returns (exit code, output).
sub nginx_test_conf {
    my ($text) = @_;

    write_conf($text);
    my $out = `/usr/sbin/nginx -p $SERVROOT -c $SERVROOT/conf/nginx.conf -t 2>&1`;
    return ($? >> 8, $out);
}

sub nginx_pid {
    open my $fh, '<', "$SERVROOT/logs/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

sub start_nginx {
    my (%args) = @_;

    $PORT //= empty_port();
    stop_nginx() if $NGINX_RUNNING;

    my $text = $args{conf_text} // nginx_conf(%args);
    write_conf($text);

    my $out = `/usr/sbin/nginx -p $SERVROOT -c $SERVROOT/conf/nginx.conf 2>&1`;
    if ($? != 0) {
        die "nginx failed to start:\n$out";
    }

    $NGINX_RUNNING = 1;
    $NGINX_CONF_TEXT = $text;

    # ready when it answers on its port
    wait_until(sub {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$PORT",
                                      Timeout => 1);
        return $s ? 1 : 0;
    }, 10) or die "nginx does not listen on $PORT";
}

sub reload_nginx {
    my $pid = nginx_pid() or die "no nginx pid";
    kill 'HUP', $pid;
}

# Stops nginx gracefully and checks its error log.
sub stop_nginx {
    return unless $NGINX_RUNNING;

    my $pid = nginx_pid();
    $NGINX_RUNNING = 0;
    undef $NGINX_CONF_TEXT;

    if ($pid) {
        kill 'QUIT', $pid;
        my $gone = wait_until(sub { !alive($pid) }, 15, 0.02);

        if (!$gone) {
            kill 'KILL', $pid;
            fail("nginx stopped within 15 s of QUIT");
        }
    }

    check_error_log(error_log_path());
}

my @ALLOWED;

# An alert the test provokes on purpose (a worker killed with signal 9)
# does not fail the file.
sub allow_alert {
    push @ALLOWED, @_;
}

# Fails the file when the log holds an alert, an emergency, a critical
# error or a connection left open at exit.
sub check_error_log {
    my ($file, $name) = @_;

    my @bad;

    # no log at all is no clean log: nginx writes one from its start
    open my $fh, '<', $file
        or return fail(($name // "error log of $FILE_ID") . ": $file "
                       . "cannot be read: $!");

    while (my $line = <$fh>) {
        if (($line =~ /\[(?:alert|emerg|crit)\]/
             || $line =~ /open socket #\d+ left in connection/)
            && !grep { $line =~ $_ } @ALLOWED)
        {
            push @bad, $line;
        }
    }

    ok(!@bad, $name // "error log of $FILE_ID has no alert, emerg, crit "
                       . "or open socket")
        or diag("error log has [alert]/[emerg]/[crit]:\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

    return !@bad;
}

# A zombie is gone too: it waits for a parent that is not the harness.
sub alive {
    my ($pid) = @_;

    return 0 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    return $stat !~ /^\d+ \(.*?\) Z/;
}

sub error_log_size {
    return -s error_log_path() // 0;
}

sub error_log_since {
    my ($offset) = @_;

    open my $fh, '<', error_log_path() or return '';
    seek $fh, $offset, 0;
    local $/;
    my $text = <$fh>;
    return $text // '';
}

# ------------------------------------------------------------------- HTTP

# A raw HTTP/1.1 request: returns { status, headers => {lc name => value},
# body, raw, time }.
sub http_request {
    my (%args) = @_;

    my $method = $args{method} // 'GET';
    my $path = $args{path} // '/';
    my $body = $args{body} // '';
    my $headers = $args{headers} // '';
    my $timeout = $args{timeout} // 10;
    my $port = $args{port} // $PORT;

    my $start = time;
    my $s;

    if ($args{ssl}) {
        # https (ssl => 1): the tests' certificates are self-signed
        require IO::Socket::SSL;
        $s = IO::Socket::SSL->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => $timeout,
                                  SSL_verify_mode => 0)
            or return { status => 0, time => 0, error => "connect: $! "
                        . IO::Socket::SSL::errstr() };
    } else {
        $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                   Timeout => $timeout)
            or return { status => 0, error => "connect: $!", time => 0 };
    }

    $headers .= "\r\n" if length $headers && $headers !~ /\r?\n\z/;
    $headers =~ s/(?<!\r)\n/\r\n/g;

    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
              . "Connection: close\r\n" . $headers;
    $req .= "Content-Length: " . length($body) . "\r\n"
        if length $body && $headers !~ /^content-length:/mi;
    $req .= "\r\n" . $body;

    print $s $req;

    if ($args{abort_after}) {
        sleep $args{abort_after};
        close $s;
        return { status => 0, aborted => 1, time => time - $start };
    }

    my $raw = '';
    my $sel = IO::Select->new($s);

    while (1) {
        my $left = $timeout - (time - $start);
        # (TLS may hold decrypted bytes that select() does not see)
        last if $left <= 0
                || (!($args{ssl} && $s->pending) && !$sel->can_read($left));
        my $n = sysread($s, my $buf, 65536);
        last if !$n;
        $raw .= $buf;
    }

    close $s;

    my $res = parse_response($raw, $method);
    $res->{time} = time - $start;
    return $res;
}

sub parse_response {
    my ($raw, $method) = @_;

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    return { status => 0, raw => $raw, body => '', headers => {} }
        unless defined $head && $head =~ m{^HTTP/1\.[01] (\d{3})};

    my $status = $1;
    my %h;
    my @lines = split /\r\n/, $head;
    shift @lines;

    for my $line (@lines) {
        my ($k, $v) = split /:\s*/, $line, 2;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }

    $body //= '';

    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }

    return { status => $status, headers => \%h, body => $body, raw => $raw };
}

sub http_get {
    my ($path, %args) = @_;
    return http_request(%args, method => 'GET', path => $path);
}

# ------------------------------------------------------------- utilities

sub wait_until {
    my ($cond, $seconds, $step) = @_;

    my $deadline = time + ($seconds // 10);

    while (1) {
        my $v = $cond->();
        return $v if $v;
        return 0 if time > $deadline;
        sleep($step // 0.05);
    }
}

my $REPEAT = 1;

# ------------------------------------------------------------ Gossip hub

sub app_client_id { '00000000-0000-4000-8000-000000000001' }
sub app_client_secret { '00000000-0000-4000-8000-000000000002' }

# Starts t/lib/gossip-hub on free ports.  Options: heartbeat, sync, seed
# (a hash, written to a file; the Grapevine application is added), tls_cert,
# tls_key, args (more command-line arguments).
sub start_hub {
    my (%opt) = @_;

    stop_hub() if $HUB{pid};

    make_path("$SERVROOT/hub");

    my $seed = $opt{seed} // {};
    $seed->{applications} //= [{
        client_id => app_client_id(), client_secret => app_client_secret(),
        short_name => 'Grapevine', name => 'Grapevine',
    }];

    open my $fh, '>', "$SERVROOT/hub/seed.json" or die $!;
    print $fh json_encode($seed);
    close $fh;

    my @cmd = ($^X, "$ROOT/t/lib/gossip-hub",
               '--listen', '127.0.0.1:' . ($opt{port} // 0),
               '--control', '127.0.0.1:0',
               '--heartbeat', $opt{heartbeat} // 1,
               '--sync', $opt{sync} // 'push',
               '--seed', "$SERVROOT/hub/seed.json",
               '--log', "$SERVROOT/hub/hub.log",
               ($opt{tls_cert} ? ('--tls-cert', $opt{tls_cert},
                                  '--tls-key', $opt{tls_key}) : ()),
               @{ $opt{args} // [] });

    pipe(my $r, my $w) or die $!;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $r;
        open STDOUT, '>&', $w or die $!;
        exec @cmd or die "exec: $!";
    }

    close $w;

    my $line = '';
    my $sel = IO::Select->new($r);
    my $deadline = time + 20;

    while (time < $deadline && $line !~ /\n/) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($r, my $buf, 4096);
        last unless $n;
        $line .= $buf;
    }

    $line =~ /gossip-hub ready ws=(\d+) control=(\d+)/
        or die "the hub did not start: $line";

    %HUB = (pid => $pid, port => $1, control => $2, pipe => $r);

    return \%HUB;
}

sub hub_port { $HUB{port} }

# Whether the hub has Grapevine online with its system player (the link
# is up and has sent its first heartbeat).
sub hub_app_online {
    my $online = hub_api(GET => '/state')->{online} // [];
    return scalar grep {
        ($_->{game} // '') eq 'Grapevine'
        && grep { $_ eq 'system' } @{ $_->{players} // [] }
    } @$online;
}

sub stop_hub {
    return unless $HUB{pid};

    kill 'TERM', $HUB{pid};

    my $pid = $HUB{pid};
    if (!wait_until(sub { waitpid($pid, WNOHANG) != 0 }, 10, 0.05)) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }

    %HUB = ();
}

# A call to the hub's control API: returns the decoded answer; dies on a
# transport error.  In list context also the status.
sub hub_api {
    my ($method, $path, $body) = @_;

    my $res = HTTP::Tiny->new(timeout => 30)->request(
        $method, "http://127.0.0.1:$HUB{control}$path",
        defined $body ? { content => json_encode($body),
                          headers => { 'Content-Type' => 'application/json' } }
                      : {});

    die "hub control API: $res->{status} $res->{reason}\n"
        if $res->{status} == 599;

    my $data = length $res->{content}
               ? eval { json_decode($res->{content}) } // $res->{content}
               : undef;

    return wantarray ? ($data, $res->{status}) : $data;
}

# The http-level directives for a hub link to the running test hub.
sub hub_http_config {
    my (%opt) = @_;

    make_path("$SERVROOT/hub");
    open my $fh, '>', "$SERVROOT/hub/secret" or die $!;
    print $fh ($opt{secret} // app_client_secret()) . "\n";
    close $fh;

    my $scheme = $opt{tls} ? 'wss' : 'ws';
    my $host = $opt{host} // '127.0.0.1';

    return join "\n",
        'grapevine_database "' . conninfo() . '";',
        "grapevine_hub $scheme://$host:$HUB{port}/socket;",
        'grapevine_hub_client_id ' . ($opt{client_id} // app_client_id())
        . ';',
        "grapevine_hub_client_secret_file $SERVROOT/hub/secret;",
        'grapevine_hub_heartbeat ' . ($opt{heartbeat} // '1s') . ';',
        ($opt{sync} ? "grapevine_hub_sync $opt{sync};" : ()),
        ($opt{ca_file} ? "grapevine_hub_ca_file $opt{ca_file};" : ()),
        ($opt{extra} // ());
}

# Deep comparison where an expected string "~ REGEX" matches by regex.
sub data_match {
    my ($got, $want, $path) = @_;

    if (!defined $want) {
        return defined $got ? "$path: expected null" : '';
    }

    if (ref $want eq 'HASH') {
        return "$path: expected an object" unless ref $got eq 'HASH';
        for my $k (sort keys %$want) {
            return "$path.$k: missing" unless exists $got->{$k};
            my $e = data_match($got->{$k}, $want->{$k}, "$path.$k");
            return $e if $e;
        }
        for my $k (sort keys %$got) {
            return "$path.$k: unexpected" unless exists $want->{$k};
        }
        return '';
    }

    if (ref $want eq 'ARRAY') {
        return "$path: expected an array" unless ref $got eq 'ARRAY';
        return "$path: expected " . @$want . " elements, got " . @$got
            unless @$want == @$got;
        for my $i (0 .. $#$want) {
            my $e = data_match($got->[$i], $want->[$i], "$path\[$i]");
            return $e if $e;
        }
        return '';
    }

    if (JSON::PP::is_bool($want)) {
        return JSON::PP::is_bool($got) && !!$got == !!$want
            ? '' : "$path: expected " . ($want ? 'true' : 'false');
    }

    return "$path: expected a scalar" if ref $got && !JSON::PP::is_bool($got);
    return "$path: got null" unless defined $got;

    if ($want =~ /^~ (.*)$/s) {
        my $re = $1;
        return $got =~ /$re/ ? '' : "$path: \"$got\" does not match /$re/";
    }

    return "$got" eq "$want" ? '' : "$path: got \"$got\", expected \"$want\"";
}

# ----------------------------------------------------------------- blocks
#
# The file's blocks, as run_tests() runs them: the __DATA__ blocks, each
# family (a block with a "cases" table) expanded into one block per row,
# then the file's preprocessors, then checked.  A block with an unknown or
# misplaced section, or one that would assert nothing, stops the file
# before anything runs, naming the block.

# every section a block may have (README.md, "Tests", says what each does)
my %SECTIONS = map { $_ => 1 } qw(
    main_config http_config config sql_setup restart wait must_die
    request more_headers timeout error_code max_time
    response_headers response_body response_like response_json
    sql_check sql_poll error_log no_error_log cases part
);

# sections that say something about the response: they need a request
my @RESPONSE = qw(more_headers timeout error_code max_time response_headers
                  response_body response_like response_json);

# sections that must hold something (an empty one would check nothing);
# response_body may be empty: it then asks for an empty body
my @NOT_EMPTY = qw(request error_code max_time timeout wait sql_poll
                   response_headers response_like response_json sql_check
                   error_log no_error_log cases part);

# Test::Base's own keys in a block, besides its sections
my %INTERNAL = map { $_ => 1 } qw(name description seq_num is_filtered
                                  blocks_object original_values);

my @PREPROCESSORS;
my $BLOCKS;
my @SKIPPED;       # blocks left out by ONLY, SKIP or LAST
my $PLANNED;       # the plan run_tests() works to, once computed

# add_block_preprocessor(sub { my ($block) = @_; ... }): called on every
# block (after the families are expanded), before the blocks are checked
# and counted; $block->set_value(section => $text) sets a section.
sub add_block_preprocessor {
    croak('add_block_preprocessor() after the blocks were read') if $BLOCKS;
    push @PREPROCESSORS, @_;
}

sub repeat_each {
    if (@_) {
        croak('repeat_each() after the plan was made') if defined $PLANNED;
        croak("repeat_each($_[0]): a whole number from 1")
            unless ($_[0] // '') =~ /^[1-9]\d*$/;
        $REPEAT = shift;
    }
    return $REPEAT;
}

sub sections_of {
    my ($block) = @_;
    return grep { !$INTERNAL{$_} && !/^_/ } keys %$block;
}

sub section_text {
    my ($block, $name) = @_;
    return exists $block->{$name} ? $block->{$name}[0] : undef;
}

# The blocks, in order (in scalar context, how many).
sub processed_blocks {
    $BLOCKS //= read_blocks();
    return wantarray ? @$BLOCKS : scalar @$BLOCKS;
}

{
    no warnings 'redefine';
    *blocks = \&processed_blocks;
}

sub read_blocks {
    my $tb = default_object();
    my $spec = $tb->spec;
    my @errors;

    die "$0: no __DATA__ with blocks for run_tests()\n" unless defined $spec;

    my $cd = $tb->block_delim;
    my ($head) = $spec =~ /\A(.*?)(?=^\Q$cd\E|\z)/ms;
    push @errors, "text before the first block (a block's \"$cd\" line "
                  . "misspelt?): " . (split /\n/, $head =~ s/\A\s+//r)[0]
        if $head =~ /\S/;

    my @hunks = $spec =~ /^(\Q$cd\E.*?(?=^\Q$cd\E|\z))/msg;
    my (@blocks, $only);
    my $seq = 1;

    for my $hunk (@hunks) {
        my $block = $tb->_make_block($hunk);
        $block->blocks_object($tb);
        $block->seq_num($seq++);

        if (my ($how) = grep { exists $block->{$_} } qw(ONLY SKIP LAST)) {
            push @SKIPPED, [$block->name, $how];
            next if $how eq 'SKIP';
            delete $block->{$how};
            $block->{_section_order}[0] =
                [grep { $_ ne $how } @{ $block->{_section_order}[0] }];
            $only = $block if $how eq 'ONLY';
            push @blocks, $block;
            last;
        }

        push @blocks, $block;
    }

    @blocks = ($only) if $only;

    $_->run_filters for @blocks;

    my @out = map { expand_family($_, \@errors) } @blocks;

    for my $block (@out) {
        $_->($block) for @PREPROCESSORS;
    }

    # "--- part: raisin": the block runs when that part is built
    @out = grep {
        my $part = $_->{part};
        $part = $part->[0] if ref $part eq 'ARRAY';
        $part = (defined $part ? $part : '') =~ s/^\s+|\s+$//gr;
        !length $part || part_built($part)
            || (Test::More::note($_->name . ": $part is not built"), 0)
    } @out;

    my %seen;
    for my $block (@out) {
        push @errors, map { [$block->seq_num, $_] } check_block($block);
        push @errors, [$block->seq_num,
                       $block->name . ': another block has this name']
            if $seen{ $block->name }++ == 1;
    }

    # in the order of the blocks
    @errors = map { $_->[1] } sort { $a->[0] <=> $b->[0] }
              map { ref $_ ? $_ : [0, $_] } @errors;

    push @errors, "no blocks (each begins with a line \"$cd TEST n: ...\")"
        unless @out || @errors;

    die "$0: the blocks cannot run:\n" . join('', map { "  $_\n" } @errors)
        if @errors;

    return \@out;
}

# A family: one block with a "cases" table,
#
#   --- cases
#   path              | page
#   /api/games        | 0
#   /api/users/many   | 0
#
# becomes one block per row, %{path} and %{page} replaced in its name and
# in every section; "TEST 7: ..." becomes "TEST 7.1: ...", "TEST 7.2: ...".
# A "|" inside a value is written "\|".
sub expand_family {
    my ($block, $errors) = @_;

    return $block unless exists $block->{cases};

    my $name = $block->name;
    my @lines = grep { /\S/ } split /\n/, section_text($block, 'cases') // '';
    my @columns = split_row(shift(@lines) // '');
    my %col = map { $_ => 1 } @columns;
    my @err;

    push @err, "$name: cases: column names are words, got \"$_\""
        for grep { !/^\w+$/ } @columns;
    push @err, "$name: cases: a header line of column names, then a row "
               . 'a case' unless @columns && @lines;

    my @order = grep { $_ ne 'cases' } @{ $block->{_section_order}[0] };
    my $all = join "\n", $name, map { section_text($block, $_) // '' } @order;

    for my $c (@columns) {
        push @err, "$name: cases: the column \"$c\" is used nowhere "
                   . "(no %{$c})" if $all !~ /%\{\Q$c\E\}/;
    }
    for my $p ($all =~ /%\{(\w+)\}/g) {
        push @err, "$name: %{$p} names no column of its cases"
            unless $col{$p};
    }

    my @rows;
    for my $line (@lines) {
        my @cells = split_row($line);
        push @err, "$name: cases: \"$line\" has " . @cells . ' values for '
                   . @columns . ' columns' if @cells != @columns;
        my %row;
        @row{@columns} = @cells;
        push @rows, \%row;
    }

    if (@err) {
        push @$errors, map { [$block->seq_num, $_] } @err;
        return ();
    }

    my $i = 0;
    return map {
        my $row = $_;
        my $fill = sub {
            my ($text) = @_;
            return $text if !defined $text || ref $text;
            $text =~ s/%\{(\w+)\}/$row->{$1}/g;
            return $text;
        };
        my $new = bless { %$block }, ref $block;
        delete $new->{cases};
        $new->{_section_order} = [[@order]];
        $new->{$_} = [map { $fill->($_) } @{ $block->{$_} }] for @order;
        $i++;
        my $title = $name;
        $title =~ s/^(TEST\s+\d+)/$1.$i/ or $title = "$name [$i]";
        $new->{name} = [$fill->($title)];
        $new->{description} = $new->{name};
        $new;
    } @rows;
}

sub split_row {
    my ($line) = @_;
    return map { s/^\s+|\s+$//gr =~ s/\\\|/|/gr } split /(?<!\\)\|/, $line, -1;
}

sub nearest_section {
    my ($word) = @_;
    my ($best, $dist) = ('', 3);
    for my $s (sort keys %SECTIONS) {
        my $d = distance($word, $s);
        ($best, $dist) = ($s, $d) if $d < $dist;
    }
    return $best;
}

# Levenshtein's distance, for "did you mean"
sub distance {
    my ($x, $y) = @_;
    my @prev = (0 .. length $y);
    for my $i (1 .. length $x) {
        my @cur = ($i);
        for my $j (1 .. length $y) {
            my $cost = substr($x, $i - 1, 1) eq substr($y, $j - 1, 1) ? 0 : 1;
            my ($min) = sort { $a <=> $b } $prev[$j] + 1, $cur[$j - 1] + 1,
                                           $prev[$j - 1] + $cost;
            push @cur, $min;
        }
        @prev = @cur;
    }
    return $prev[-1];
}

# What is wrong with a block, as a list of messages naming it.
sub check_block {
    my ($block) = @_;

    my $name = $block->name;
    my %has = map { $_ => 1 } sections_of($block);
    my @e;

    for my $s (sort keys %has) {
        next if $SECTIONS{$s};
        my $near = nearest_section($s);
        push @e, "$name: unknown section \"$s\""
                 . ($near ? " (did you mean \"$near\"?)" : '');
    }

    for my $s (grep { $has{$_} } @NOT_EMPTY) {
        push @e, "$name: the section \"$s\" is empty"
            unless (section_text($block, $s) // '') =~ /\S/;
    }

    if ($has{must_die}) {
        for my $s (grep { $has{$_} } @RESPONSE, qw(request sql_check wait
                                                   restart))
        {
            push @e, "$name: \"$s\" with must_die (nginx never starts, "
                     . 'so it would be ignored)';
        }
    } elsif (!$has{request}) {
        push @e, "$name: \"$_\" without a request" for grep { $has{$_} }
                                                       @RESPONSE;
    }

    push @e, "$name: sql_poll without sql_check"
        if $has{sql_poll} && !$has{sql_check};

    if (defined(my $code = section_text($block, 'error_code'))) {
        push @e, "$name: error_code \"$code\" is not an HTTP status"
            unless $code =~ /^\s*[1-5]\d\d\s*$/;
    }

    for my $s (qw(max_time timeout wait sql_poll)) {
        my $v = section_text($block, $s) // next;
        push @e, "$name: $s \"$v\" is not a number of seconds"
            unless $v =~ /^\s*\d+(?:\.\d+)?\s*$/;
    }

    if (defined(my $req = section_text($block, 'request'))) {
        push @e, "$name: request \"" . (split /\n/, $req)[0] . '" is not '
                 . '"METHOD /path"' unless $req =~ m{\A\s*[A-Z]+ /\S*\s*(\n|\z)};
    }

    if (defined(my $check = section_text($block, 'sql_check'))) {
        push @e, "$name: sql_check has no line \"=>\" before its rows"
            unless $check =~ /^=>\s*$/m;
    }

    push @e, "$name: asserts nothing (give it a request, must_die, "
             . 'sql_check, error_log or no_error_log)'
        if !@e && block_assertions($block) == 0;

    return @e;
}

sub count_lines {
    my ($block, $name) = @_;
    return scalar grep { /\S/ } split /\n/, section_text($block, $name) // '';
}

# How many assertions a block's sections call for, each time it runs.
sub block_assertions {
    my ($block) = @_;

    my $n = count_lines($block, 'error_log')
            + count_lines($block, 'no_error_log');

    return 1 + $n if exists $block->{must_die};

    if (exists $block->{request}) {
        $n += 1;                                        # the status
        $n += count_lines($block, 'response_headers');
        $n += grep { exists $block->{$_} }
                   qw(max_time response_body response_like response_json);
    }

    $n += 1 if exists $block->{sql_check};

    return $n;
}

# The configuration a block runs nginx with, as written: nginx restarts
# when it differs from the previous block's.
sub conf_key {
    my ($block) = @_;
    return join "\0", map { section_text($block, $_) // "\1" }
                      qw(main_config http_config config);
}

# The plan of the file's blocks: each block's assertions, times
# repeat_each(), a failure for each block left out by ONLY, SKIP or LAST,
# and the harness's own checks: the error-log check each nginx that
# run_tests() starts gets when it stops.  A file with tests of its own
# declares them up front: plan tests => blocks_plan() + N.
sub blocks_plan {
    my @blocks = processed_blocks();

    my ($n, $starts, $key) = (0, 0, undef);

    for my $block (@blocks) {
        for (1 .. $REPEAT) {
            if (exists $block->{must_die}) {
                undef $key;
            } elsif (!defined $key || $key ne conf_key($block)
                     || exists $block->{restart})
            {
                $starts++;
                $key = conf_key($block);
            }
            $n += block_assertions($block);
        }
    }

    $PLANNED = $n + $starts + @SKIPPED;
    return $PLANNED;
}

# -------------------------------------------------------------- run_tests

sub run_tests {
    my @blocks = processed_blocks();
    my $tb = Test::Builder->new;

    if (!$tb->has_plan) {
        die "$0: tests ran before run_tests() without a plan: declare it "
            . "up front, plan tests => blocks_plan() + N (N: the file's "
            . "own assertions)\n" if $tb->current_test;
        plan(tests => blocks_plan());
    }

    # an nginx the file started itself is its own (its check is in N)
    stop_nginx() if $NGINX_RUNNING;

    for my $block (@blocks) {
        run_block($block) for 1 .. $REPEAT;
    }

    for my $s (@SKIPPED) {
        fail("$s->[0]: --- $s->[1] left "
             . ($s->[1] eq 'SKIP' ? 'this block' : 'other blocks')
             . ' out: remove it before committing');
    }

    cleanup();
}

sub section {
    my ($block, $name) = @_;

    my $v = section_text($block, $name);
    return defined $v ? expand_vars($v) : undef;
}

my $CONF_KEY;

sub run_block {
    my ($block) = @_;

    my $name = $block->name;
    my $tb = Test::Builder->new;
    $PORT //= empty_port();

    if (defined(my $setup = section($block, 'sql_setup'))) {
        dbh()->do($setup);
    }

    my %conf = map { $_ => section($block, $_) }
               qw(main_config http_config config);
    my $text = nginx_conf(%conf);
    my $before;

    if (defined section($block, 'must_die')) {
        stop_nginx() if $NGINX_RUNNING;
        $before = $tb->current_test;
        my ($rc, $out) = nginx_test_conf($text);
        isnt($rc, 0, "$name: nginx -t fails");
        check_log_expectations($block, $out, $name);
        return check_count($block, $before);
    }

    if (!$NGINX_RUNNING || conf_key($block) ne ($CONF_KEY // '')
        || defined section($block, 'restart'))
    {
        start_nginx(conf_text => $text);
        $CONF_KEY = conf_key($block);
    }

    $before = $tb->current_test;
    my $offset = error_log_size();

    if (defined(my $req = section($block, 'request'))) {
        my ($line, $body) = split /\n/, $req, 2;
        my ($method, $path) = split / /, $line, 2;

        my $res = http_request(method => $method, path => $path,
                               body => $body // '',
                               headers => section($block, 'more_headers')
                                          // '',
                               timeout => section($block, 'timeout') // 10);

        check_response($block, $res, $name);
    }

    if (defined(my $wait = section($block, 'wait'))) {
        sleep $wait;
    }

    if (defined(my $check = section($block, 'sql_check'))) {
        check_sql($block, $check, $name);
    }

    # a line a worker writes on its own time (a check after a restart)
    # may come after the answer: waited for, up to 5 s, then checked
    my $log = error_log_since($offset);
    if (defined(my $want = section($block, 'error_log'))) {
        my @lines = grep { /\S/ } split /\n/, $want;
        my $until = time + 5;
        while (grep({ index($log, $_) < 0 } @lines) && time < $until) {
            select undef, undef, undef, 0.05;
            $log = error_log_since($offset);
        }
    }
    check_log_expectations($block, $log, $name);

    check_count($block, $before);
}

# A block made as many assertions as its sections call for.
sub check_count {
    my ($block, $before) = @_;

    my $made = Test::Builder->new->current_test - $before;
    my $want = block_assertions($block);

    return if $made == $want;

    fail($block->name . ($made ? ": made $made assertion(s), its sections "
                                 . "call for $want"
                               : ": asserted nothing (its sections call "
                                 . "for $want)"));
}

sub check_response {
    my ($block, $res, $name) = @_;

    my $code = section($block, 'error_code') // 200;
    is($res->{status}, $code, "$name: status $code")
        or diag("response: " . substr($res->{raw} // $res->{error} // '',
                                      0, 2000));

    if (defined(my $max = section($block, 'max_time'))) {
        cmp_ok($res->{time}, '<=', $max, "$name: answered within $max s");
    }

    if (defined(my $hdrs = section($block, 'response_headers'))) {
        for my $line (split /\n/, $hdrs) {
            next unless $line =~ /\S/;
            if ($line =~ /^!\s*([\w-]+)/) {
                ok(!exists $res->{headers}{lc $1},
                   "$name: no $1 header");
                next;
            }
            my ($k, $v) = split /:\s*/, $line, 2;
            is($res->{headers}{lc $k}, $v, "$name: header $k");
        }
    }

    if (defined(my $want = section($block, 'response_body'))) {
        my $got = $res->{body};
        $got =~ s/\n*\z/\n/ if length $got;
        $want =~ s/\n*\z/\n/ if length $want;
        is($got, $want, "$name: response body");
    }

    if (defined(my $re = section($block, 'response_like'))) {
        chomp $re;
        like($res->{body}, qr/$re/s, "$name: response body like");
    }

    if (defined(my $json = section($block, 'response_json'))) {
        my $want = json_decode($json);
        my $got = eval { json_decode($res->{body}) };
        if (!defined $got && $@) {
            fail("$name: response is JSON") or diag($@, $res->{body});
        } else {
            my $err = data_match($got, $want, '$');
            ok(!$err, "$name: response JSON")
                or diag($err, "\n", $res->{body});
        }
    }
}

sub check_sql {
    my ($block, $check, $name) = @_;

    my ($query, $expected) = split /^=>\s*$/m, $check, 2;
    $expected //= '';
    $expected =~ s/^\s+|\s+$//g;

    my $poll = section($block, 'sql_poll') // 0;
    my $got;

    wait_until(sub {
        my $rows = sql_rows($query);
        $got = join "\n", map {
            join '|', map { defined $_ ? $_ : 'NULL' } @$_
        } @$rows;
        return $got eq $expected;
    }, $poll, 0.1);

    is($got, $expected, "$name: sql_check");
}

sub check_log_expectations {
    my ($block, $log, $name) = @_;

    if (defined(my $want = section($block, 'error_log'))) {
        for my $line (split /\n/, $want) {
            next unless $line =~ /\S/;
            ok(index($log, $line) >= 0, "$name: error log has \"$line\"")
                or diag("log:\n" . substr($log, -3000));
        }
    }

    if (defined(my $not = section($block, 'no_error_log'))) {
        for my $line (split /\n/, $not) {
            next unless $line =~ /\S/;
            ok(index($log, $line) < 0, "$name: error log lacks \"$line\"")
                or diag("log:\n" . substr($log, -3000));
        }
    }
}

sub cleanup {
    return if $CLEANED;
    $CLEANED = 1;

    stop_nginx();
    stop_hub();
    drop_db();
    remove_tree($SERVROOT) unless $ENV{GRAPEVINE_TEST_KEEP};
}

END {
    # a file that died half-way still stops its nginx and its hub
    if ($NGINX_RUNNING) {
        my $pid = nginx_pid();
        kill 'QUIT', $pid if $pid;
    }

    kill 'TERM', $HUB{pid} if $HUB{pid};
}

1;
