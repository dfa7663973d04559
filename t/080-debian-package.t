# The Debian package as a site installs it (README.md, "Deploying on
# Debian"): make deb builds it (lintian clean), apt-get installs it,
# Debian's own /usr/sbin/nginx runs it with its own /etc/nginx/nginx.conf
# and a site file that includes the shipped snippet, its workers as
# www-data, PostgreSQL reached over its Unix socket with peer
# authentication as www-data, the database migrated by the installed
# grapevine-migrate; then a reload, an upgrade (an older package, then the
# newer: a reload keeps the loaded .so, a binary upgrade with USR2 and QUIT
# loads the new one without refusing a request), and apt-get purge, after
# which Debian's nginx starts cleanly without the module.
#
# It needs root (it installs a package and runs the system's nginx), and
# leaves the machine as it found it: /etc/nginx exactly (compared), the
# package not installed, no nginx running, the logs and the temp
# directories of Debian's nginx as they were.  It does not run when the
# package is installed already or Debian's nginx is running.
use strict;
use warnings;
use lib 't/lib';
use Grapevine::Test;
use Digest::MD5;
use File::Basename qw(basename);
use File::Find;
use File::Path qw(make_path);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::TCP qw(empty_port);
use Time::HiRes qw(sleep time);

my $PKG = 'libnginx-mod-http-grapevine';
my $ETC = '/etc/nginx';
my $PIDFILE = '/run/nginx.pid';

if ($> != 0) {
    plan(skip_all => 'installs a package and runs the system nginx: '
                     . 'needs root');
}
if (`dpkg-query -W -f='\${db:Status-Status}' $PKG 2>/dev/null` eq 'installed')
{
    plan(skip_all => "$PKG is installed on this machine: left alone");
}
if (-e $PIDFILE) {
    plan(skip_all => "Debian's nginx is running ($PIDFILE): left alone");
}

# the run's cluster is not this test's: nothing reaches it by default
delete @ENV{qw(PGHOST PGPORT PGUSER PGDATABASE)};

my $root = root();
my $dir = servroot();
my $port = empty_port();
my $site = "$ETC/sites-enabled/zz-grapevine-install-test";
my $secret = "$ETC/grapevine-install-test-hub-secret";
my $default = "$ETC/sites-enabled/default";
my $pgdir = "$dir/pg";
my (%made, $default_target, %logs, %tmpdirs);

system('rm', '-rf', $dir);
make_path($dir);

# ---------------------------------------------------------- the state

# /etc/nginx as it is: every path, its type, mode, owner, link target
# and content digest
sub etc_state {
    my %state;
    find({ no_chdir => 1, wanted => sub {
        my @st = lstat $_ or return;
        my $what = sprintf '%o %d:%d', $st[2], $st[4], $st[5];
        if (-l _) {
            $what .= ' -> ' . readlink $_;
        } elsif (-f _) {
            open my $fh, '<', $_ or die "$_: $!";
            binmode $fh;
            $what .= ' ' . Digest::MD5->new->addfile($fh)->hexdigest;
        }
        $state{$_} = $what;
    } }, $ETC);
    return \%state;
}

my $etc_before = etc_state();

for my $log (glob '/var/log/nginx/*.log') {
    $logs{$log} = -s $log;
}
for my $tmp (glob '/var/lib/nginx/*') {
    my @st = stat $tmp or next;
    $tmpdirs{$tmp} = [$st[2] & 07777, $st[4], $st[5]];
}

# ------------------------------------------------------------ helpers

sub sh_run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub apt {
    my ($args) = @_;
    return sh_run('DEBIAN_FRONTEND=noninteractive apt-get -q -y '
               . '-o DPkg::Lock::Timeout=600 --no-install-recommends '
               . $args);
}

# the package scripts must not start or reload services (nginx's trigger)
my $policy = '/usr/sbin/policy-rc.d';
if (!-e $policy) {
    open my $fh, '>', $policy or die $!;
    print $fh "#!/bin/sh\nexit 101\n";
    close $fh;
    chmod 0755, $policy;
    $made{policy} = 1;
}

sub master_pid {
    my ($file) = @_;
    open my $fh, '<', $file // $PIDFILE or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid && kill(0, $pid) ? $pid : undef;
}

sub stop_system_nginx {
    for my $file ("$PIDFILE.oldbin", $PIDFILE) {
        my $pid = master_pid($file) or next;
        kill 'QUIT', $pid;
        if (!wait_until(sub { !kill(0, $pid) }, 15, 0.02)) {
            kill 'KILL', $pid;
            wait_until(sub { !kill(0, $pid) }, 5, 0.02);
        }
    }
    unlink "$PIDFILE.oldbin";
}

sub get {
    my ($path) = @_;
    return HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$port$path");
}

sub status {
    my $res = get('/_status');
    my $json = eval { JSON::PP->new->utf8->decode($res->{content}) };
    return ($res->{status}, $json);
}

sub hub_state {
    my (undef, $json) = status();
    return $json && $json->{hub} ? $json->{hub}{state} // '' : '';
}

sub workers {
    my $master = master_pid() or return ();
    return map { [split ' '] }
           grep { /\S/ } split /\n/, `ps -o pid=,user= --ppid $master`;
}

# a child that asks /_status every 5 ms until told to stop: the gaps in
# the answers (a restart's, a binary upgrade's)
sub start_poller {
    my ($file) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        # the parent's END (the machine's cleanup) is not the child's
        $SIG{TERM} = sub { POSIX::_exit(0) };
        open my $out, '>', $file or die $!;
        $out->autoflush(1);
        my $http = HTTP::Tiny->new(timeout => 5);
        while (1) {
            my $t = time;
            my $res = $http->get("http://127.0.0.1:$port/_status");
            my $v = $res->{status} == 200
                    && $res->{content} =~ /"version":"([^"]+)"/ ? $1 : '-';
            printf $out "%.4f %.4f %d %s\n", $t, time, $res->{status}, $v;
            sleep 0.005;
        }
    }
    return $pid;
}

sub stop_poller {
    my ($pid, $file) = @_;
    kill 'TERM', $pid;
    waitpid $pid, 0;
    open my $in, '<', $file or die $!;
    my @rows = map { [split ' '] } <$in>;
    my ($failed, $gap, $last_ok, @gaps) = (0, 0, undef);
    for my $r (@rows) {
        if ($r->[2] == 200) {
            push @gaps, $r->[1] - $last_ok if $last_ok;
            $gap = $gaps[-1] if @gaps && $gaps[-1] > $gap;
            $last_ok = $r->[1];
        } else {
            $failed++;
        }
    }
    # the baseline: the median time between two answers in the same run
    @gaps = sort { $a <=> $b } @gaps;
    return { requests => scalar @rows, failed => $failed, gap => $gap,
             median => @gaps ? $gaps[$#gaps / 2] : 0,
             versions => [map { $_->[3] } @rows] };
}

sub cleanup_machine {
    stop_system_nginx();
    unlink $site, $secret, "$site-plain";
    if (defined $default_target && !-l $default) {
        symlink $default_target, $default;
    }
    if (`dpkg-query -W -f='\${db:Status-Status}' $PKG 2>/dev/null`
        ne 'not-installed')
    {
        apt("purge $PKG");
    }
    for my $log (keys %logs) {
        truncate $log, $logs{$log} if -s $log > $logs{$log};
    }
    for my $tmp (keys %tmpdirs) {
        my ($mode, $uid, $gid) = @{ $tmpdirs{$tmp} };
        chown $uid, $gid, $tmp;
        chmod $mode, $tmp;
    }
    system("$root/util/pg", 'remove', $pgdir) if -d $pgdir;
    unlink $policy if $made{policy};
    %made = ();
}

my $MAIN = $$;

END {
    local $?;
    cleanup_machine() if $$ == $MAIN && $> == 0 && keys %tmpdirs;
}

$SIG{INT} = $SIG{TERM} = sub { exit 1 };

# ------------------------------------------------- build the packages

my $base = `sed -n 's/^#define NGX_GRAPEVINE_VERSION *"\\(.*\\)"\$/\\1/p' $root/src/core/ngx_grapevine.h`;
chomp $base;
my $old_version = "$base~installtest1";

my ($rc, $out) = sh_run("cd $root && GRAPEVINE_DEB_VERSION=$old_version "
                     . "util/deb");
is($rc, 0, 'an older package builds') or diag($out);
my $old_deb = "$root/build/${PKG}_${old_version}_amd64.deb";
ok(-f $old_deb, "as build/${PKG}_<version>_amd64.deb") or BAIL_OUT('no package');
rename $old_deb, "$dir/" . basename($old_deb) or die $!;
$old_deb = "$dir/" . basename($old_deb);

($rc, $out) = sh_run("cd $root && make --no-print-directory deb");
is($rc, 0, 'make deb builds the package, lintian reporting no error')
    or diag($out);
my ($new_deb) = glob "$root/build/${PKG}_*_amd64.deb";
ok($new_deb, 'into build/') or BAIL_OUT('no package');
my ($new_version) = basename($new_deb) =~ /^${PKG}_(.+)_amd64\.deb$/;
($rc) = sh_run("dpkg --compare-versions '$new_version' gt '$old_version'");
is($rc, 0, "its version ($new_version) is newer than the older one's");

my $fields = `dpkg-deb -f $new_deb Depends`;
like($fields, qr/\bnginx-abi-1\.22\.1-\d+\b/,
     "dh_nginx's ABI dependency: $fields");
like($fields, qr/\blibpq5\b.*\blibwebsockets17\b/s,
     'the libraries, from ${shlibs:Depends}');
my $contents = `dpkg-deb -c $new_deb`;
for my $path ('./usr/lib/nginx/modules/ngx_http_grapevine_module.so',
              './usr/share/nginx/modules-available/mod-http-grapevine.conf',
              "./usr/share/$PKG/templates/layout.mustache",
              "./usr/share/$PKG/static/site.css",
              "./usr/share/$PKG/migrations/0001_init.sql",
              "./usr/share/$PKG/nginx/grapevine-locations.conf",
              "./usr/share/doc/$PKG/examples/grapevine.site.conf",
              './usr/sbin/grapevine-migrate',
              './usr/sbin/grapevine-make-admin',
              './usr/share/man/man8/grapevine-migrate.8.gz')
{
    ok(index($contents, $path) >= 0, "the package holds $path");
}

# ------------------------------------------------ install the older one

($rc, $out) = apt("install $old_deb");
is($rc, 0, 'apt-get installs the package from its file') or diag($out);
is(readlink("$ETC/modules-enabled/50-mod-http-grapevine.conf"),
   '/usr/share/nginx/modules-available/mod-http-grapevine.conf',
   'its load_module snippet is enabled on install');
($rc, $out) = sh_run('grapevine-migrate --help');
ok($rc == 0 && $out =~ /usage: grapevine-migrate/,
   'grapevine-migrate is on the PATH, with --help');
($rc, $out) = sh_run('grapevine-make-admin --help');
ok($rc == 0 && $out =~ /usage: grapevine-make-admin/,
   'so is grapevine-make-admin');
my $so = '/usr/lib/nginx/modules/ngx_http_grapevine_module.so';
like(`strings $so`, qr{^/usr/share/$PKG/templates$}m,
     "the module's default templates are the installed ones");

# ------------------------------------- PostgreSQL: peer auth, www-data

($rc, $out) = sh_run("$root/util/pg start $pgdir");
is($rc, 0, 'a private cluster starts') or diag($out);
my %pg = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } `$root/util/pg env $pgdir`;
my $data = -f "$pgdir/datadir" ? `cat $pgdir/datadir` : "$pgdir/data";
chomp $data;

# the harness's superuser for the setup; everyone else by peer
system('runuser', '-u', 'postgres', '--', 'sh', '-c',
       "printf 'local all grapevine trust\\nlocal all all peer\\n' "
       . "> $data/pg_hba.conf") == 0 or die;
system('runuser', '-u', 'postgres', '--', "$pg{PGBIN}/pg_ctl", '-D', $data,
       '-s', 'reload') == 0 or die;
sleep 0.3;

my $psql = "psql -X -q -A -t -h $pg{PGHOST} -p $pg{PGPORT}";
($rc, $out) = sh_run("$psql -U grapevine -d postgres -c 'CREATE ROLE "
                  . "\"www-data\" LOGIN' -c 'CREATE DATABASE grapevine "
                  . "OWNER \"www-data\"'");
is($rc, 0, 'the role www-data and its database, as README says')
    or diag($out);
($rc, $out) = sh_run("$psql -U www-data -d grapevine -c 'SELECT 1'");
like($out, qr/Peer authentication failed for user "www-data"/,
     'root cannot connect as www-data: peer authentication');
($rc, $out) = sh_run("runuser -u www-data -- $psql -d grapevine "
                  . "-c 'SELECT current_user'");
is($out, "www-data\n", 'the user www-data can');

my $conninfo = "host=$pg{PGHOST} port=$pg{PGPORT} dbname=grapevine";
($rc, $out) = sh_run("runuser -u www-data -- grapevine-migrate '$conninfo'");
is($rc, 0, 'grapevine-migrate, run as www-data, migrates the database')
    or diag($out);
like($out, qr/applying 0001_init\b.*applying sql\//s, 'and says what');
($rc, $out) = sh_run("runuser -u www-data -- grapevine-migrate '$conninfo'");
is("$rc:$out", '0:', 'again, it has nothing to do');

# ----------------------------------------------------------- the hub

my $demo = JSON::PP->new->decode(do {
    local $/;
    open my $fh, '<', "$root/t/lib/gossip-hub-demo.json" or die $!;
    <$fh>;
});
my $game = $demo->{games}[0];
start_hub(seed => { games => [$game], channels => [$demo->{channels}[0]] },
          heartbeat => 1, sync => 'push');

# ------------------------------------------- Debian's nginx, our site

open my $fh, '>', $secret or die $!;
print $fh app_client_secret() . "\n";
close $fh;
chown 0, scalar getgrnam('www-data'), $secret;
chmod 0640, $secret;

my $snippet = "/usr/share/$PKG/nginx/grapevine-locations.conf";
open $fh, '>', $site or die $!;
print $fh <<"CONF";
# the install test (t/080-debian-package.t): removed when it ends
grapevine_database "$conninfo user=www-data";
grapevine_hub ws://127.0.0.1:${\ hub_port()}/socket;
grapevine_hub_client_id ${\ app_client_id()};
grapevine_hub_client_secret_file $secret;
grapevine_hub_heartbeat 1s;

server {
    listen 127.0.0.1:$port;
    server_name localhost;
    access_log $dir/access.log;
    error_log $dir/error.log info;

    include $snippet;

    location /static/ {
        alias /usr/share/$PKG/static/;
    }
}
CONF
close $fh;

# Debian's default site listens on port 80: out of the way meanwhile
if (-l $default) {
    $default_target = readlink $default;
    unlink $default;
}

($rc, $out) = sh_run('/usr/sbin/nginx -t -q');
is($rc, 0, "nginx -t: Debian's nginx.conf with the site") or diag($out);
($rc, $out) = sh_run('/usr/sbin/nginx');
is($rc, 0, "Debian's nginx starts") or diag($out);

my ($code, $st);
wait_until(sub { ($code, $st) = status(); $code && $code == 200 }, 10);
is($code, 200, '/_status answers 200: the database is reached, the schema '
               . 'current');
is($st->{version}, $old_version, "it is the older package's module");
my @w = workers();
ok(@w && !grep({ $_->[1] ne 'www-data' } @w),
   'its workers run as www-data: ' . join(' ', map { $_->[1] } @w));

ok(wait_until(sub { hub_state() eq 'live' }, 20),
   'the hub link is live');
ok(wait_until(sub { get("/api/games/$game->{game}")->{status} == 200 }, 10),
   "the API answers the hub's game");
my $res = get('/api/games');
like($res->{content}, qr/"short_name":"\Q$game->{game}\E"/,
     'in the list of games');
$res = get('/');
is($res->{status}, 200, 'the home page');
$res = get('/games');
ok($res->{status} == 200 && $res->{content} =~ /\Q$game->{display_name}\E/,
   'the games page, from the installed templates');
is(get('/static/site.css')->{status}, 200, 'the style sheet');
$res = get('/raisin/');
ok($res->{status} == 200 && $res->{content} =~ /name="password"/,
   'Raisin asks a stranger to sign in');

($rc, $out) = sh_run("grapevine-make-admin '$conninfo user=grapevine' nobody");
ok($rc == 1 && $out =~ /nobody/, 'grapevine-make-admin: an unknown '
                                 . 'account is a clear error')
    or diag("$rc $out");

# a reload: new workers, the same module
my %before = map { $_->[0] => 1 } workers();
($rc, $out) = sh_run('/usr/sbin/nginx -s reload');
is($rc, 0, 'nginx -s reload');
ok(wait_until(sub { my @n = workers();
                    @n && !grep { $before{$_->[0]} } @n }, 15),
   'new workers');
($code, $st) = status();
is($code, 200, 'which answer');

# ------------------------------------------------------ the upgrade

($rc, $out) = apt("install $new_deb");
is($rc, 0, 'apt-get installs the newer package over the older one')
    or diag($out);
($rc, $out) = sh_run("runuser -u www-data -- grapevine-migrate '$conninfo'");
is($rc, 0, 'its migrations') or diag($out);

sh_run('/usr/sbin/nginx -s reload');
sleep 1;
($code, $st) = status();
is($st->{version}, $old_version, 'a reload keeps the module it loaded: '
                                 . 'the older one still answers');

# a binary upgrade: USR2 starts a new master (which loads the new .so)
# on the same sockets, QUIT ends the old one gracefully
my $poll = "$dir/poll-usr2";
my $poller = start_poller($poll);
sleep 0.3;
my $old_master = master_pid();
kill 'USR2', $old_master;
ok(wait_until(sub { -e "$PIDFILE.oldbin" && master_pid()
                    && master_pid() != $old_master }, 10),
   'USR2: a new master');
sleep 0.5;
kill 'QUIT', $old_master;
ok(wait_until(sub { !kill 0, $old_master }, 15), 'QUIT: the old one ends');
sleep 0.5;
my $usr2 = stop_poller($poller, $poll);
is($usr2->{failed}, 0, "the binary upgrade refused no request "
                       . "($usr2->{requests} asked)");
is($usr2->{versions}[-1], $new_version, 'and the new module answers');
diag(sprintf 'binary upgrade (USR2, QUIT): %d requests, %d failed, '
             . 'longest gap between answers %.3f s, %.1f times the median '
             . '(%.4f s)', $usr2->{requests}, $usr2->{failed}, $usr2->{gap},
             $usr2->{gap} / ($usr2->{median} || 1), $usr2->{median});

# a restart: QUIT, then start (what "systemctl restart nginx" does)
$poll = "$dir/poll-restart";
$poller = start_poller($poll);
sleep 0.3;
my $t0 = time;
stop_system_nginx();
($rc, $out) = sh_run('/usr/sbin/nginx');
wait_until(sub { (status())[0] == 200 }, 15);
my $away = time - $t0;
sleep 0.3;
my $restart = stop_poller($poller, $poll);
is($rc, 0, 'a restart') or diag($out);
is($restart->{versions}[-1], $new_version, 'the new module answers after it');
diag(sprintf 'restart (QUIT, start): %d requests, %d failed, site away '
             . '%.3f s, %.0f times the median gap between answers (%.4f s)',
             $restart->{requests}, $restart->{failed}, $away,
             $away / ($restart->{median} || 1), $restart->{median});
ok(wait_until(sub { hub_state() eq 'live' }, 20),
   'the hub link is live again');

# ------------------------------------------------------------ purge

stop_system_nginx();
unlink $site, $secret;
($rc, $out) = apt("purge $PKG");
is($rc, 0, 'apt-get purge') or diag($out);
ok(!-e "$ETC/modules-enabled/50-mod-http-grapevine.conf"
   && !-l "$ETC/modules-enabled/50-mod-http-grapevine.conf",
   'takes its load_module snippet out of modules-enabled');
ok(!-e $so && !-e "/usr/share/$PKG" && !-e '/usr/sbin/grapevine-migrate',
   'and its files');

open $fh, '>', "$site-plain" or die $!;
print $fh "server { listen 127.0.0.1:$port; location / { return 204; } }\n";
close $fh;
($rc, $out) = sh_run('/usr/sbin/nginx -t -q');
is($rc, 0, "Debian's nginx configuration is valid without it") or diag($out);
($rc, $out) = sh_run('/usr/sbin/nginx');
is($rc, 0, "Debian's nginx starts without it") or diag($out);
ok(wait_until(sub { get('/')->{status} == 204 }, 10), 'and serves');
stop_system_nginx();
unlink "$site-plain";

# ------------------------------------------------- as it was found

stop_hub();
cleanup_machine();
my $etc_after = etc_state();
is_deeply($etc_after, $etc_before, '/etc/nginx is exactly as it was');
ok(!-e $PIDFILE, 'no nginx of the test runs');

done_testing();
Grapevine::Test::cleanup();
