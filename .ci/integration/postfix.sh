#!/usr/bin/env bash
# Postfix integration suite for mailqueue/smtpsend (and the Postfix baseline
# of mailqueue's benchmarks).
#
# Installs Debian's postfix without configuring the system instance, runs a
# private instance from its own config folder (postfix -c DIR) on loopback
# ports chosen at random, with STARTTLS (self-signed certificate) on one
# listener and none on another, relaying everything to a go-smtp sink
# (mailqueue/smtpsend/internal/smtpsink). Never touches port 25 or the
# system's /etc/postfix/main.cf.
#
# Exports for the Go tests:
#   UCXKIT_POSTFIX_SMTP        127.0.0.1:<port>  STARTTLS offered (may)
#   UCXKIT_POSTFIX_PLAIN_SMTP  127.0.0.1:<port>  no STARTTLS
#   UCXKIT_POSTFIX_CA          PEM file of the server certificate
#   UCXKIT_POSTFIX_TLS_NAME    name in the certificate
#   UCXKIT_POSTFIX_SINK        127.0.0.1:<port>  the relay target
#   UCXKIT_POSTFIX_SINK_DIR    folder where the sink stores messages
# With UCXKIT_POSTFIX_BENCH=1 it also runs mailqueue's benchmarks against
# this Postfix (UCXKIT_POSTFIX_BENCH_RE, UCXKIT_POSTFIX_BENCHTIME).
# UCXKIT_KEEP=1 leaves the instance and its folder for debugging.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
suite=postfix
pkgs="postfix openssl"

export DEBIAN_FRONTEND=noninteractive
if ! command -v postfix >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  # "No configuration": the package must not set up or start a system MTA.
  printf '%s\n' \
    "postfix postfix/main_mailer_type select No configuration" \
    "postfix postfix/mailname string ucxkit-postfix.test" | debconf-set-selections 2>/dev/null || true
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null 2>&1
  rc=$?
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ $rc -ne 0 ] || ! command -v postfix >/dev/null 2>&1; then
    echo "SKIP: $suite: could not install $pkgs"
    exit 0
  fi
fi

work=$(mktemp -d /tmp/ucxkit-postfix.XXXXXX)
chmod 755 "$work" # postfix daemons (user postfix) traverse it to the queue
conf="$work/etc"
sink_pid=""
cleanup() {
  if [ -f "$conf/main.cf" ]; then
    postfix -c "$conf" stop >/dev/null 2>&1 || postfix -c "$conf" abort >/dev/null 2>&1 || true
  fi
  # Postfix's master exits within a few seconds of "stop".
  for _ in $(seq 1 50); do
    [ -f "$work/data/master.lock" ] && pgrep -F "$work/spool/pid/master.pid" >/dev/null 2>&1 || break
    sleep 0.1
  done
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null
  rm -rf "$work"
}
[ -n "${UCXKIT_KEEP:-}" ] || trap cleanup EXIT

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# The relay target.
go build -o "$work/smtpsink" ./mailqueue/smtpsend/internal/smtpsink || exit 1
mkdir -p "$work/sink"
"$work/smtpsink" -addr 127.0.0.1:0 -dir "$work/sink" -ready "$work/sink.addr" &
sink_pid=$!
for _ in $(seq 1 100); do [ -s "$work/sink.addr" ] && break; sleep 0.05; done
sink_addr=$(cat "$work/sink.addr" 2>/dev/null)
[ -n "$sink_addr" ] || { echo "FAIL: $suite: sink did not start"; exit 1; }

# Certificate for STARTTLS.
tls_name=ucxkit-postfix.test
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$tls_name" \
  -addext "subjectAltName=DNS:$tls_name,IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || { echo "FAIL: $suite: openssl"; exit 1; }
chmod 600 "$work/key.pem"; chmod 644 "$work/cert.pem"

port_tls=$(free_port)
port_plain=$(free_port)
while [ "$port_plain" = "$port_tls" ]; do port_plain=$(free_port); done

mkdir -p "$conf" "$work/spool" "$work/data"
chown postfix "$work/data"
cat >"$conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $work/spool
data_directory = $work/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = $tls_name
mydomain = ucxkit.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
relayhost = [127.0.0.1]:${sink_addr##*:}
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access inline:{ {rejected@example.com = 550 5.1.1 no such user}, {tempfail@example.com = 450 4.2.0 try again later} }, permit_mynetworks, reject
smtpd_tls_cert_file = $work/cert.pem
smtpd_tls_key_file = $work/key.pem
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtp_tls_security_level = none
message_size_limit = 1048576
smtpd_banner = \$myhostname ESMTP ucxkit-it
maillog_file = $work/maillog
maillog_file_prefixes = $work
biff = no
smtputf8_enable = yes
smtp_connection_cache_on_demand = yes
default_destination_concurrency_limit = 20
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
EOF
cat >"$conf/master.cf" <<EOF
127.0.0.1:$port_tls   inet n - n - - smtpd
127.0.0.1:$port_plain inet n - n - - smtpd -o smtpd_tls_security_level=none
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF

postfix -c "$conf" check >"$work/check.log" 2>&1 || true
if ! postfix -c "$conf" start >"$work/start.log" 2>&1; then
  echo "FAIL: $suite: postfix did not start"; cat "$work/start.log" "$work/check.log"; tail -20 "$work/maillog" 2>/dev/null
  # postfix prints its fatal errors only to a terminal: show them.
  command -v script >/dev/null && script -qc "postfix -c $conf start" /dev/null
  exit 1
fi

# Wait until both listeners greet.
greets() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  local line
  IFS= read -r -t 5 line <&3
  printf 'QUIT\r\n' >&3
  exec 3<&- 3>&-
  [[ "$line" == 220* ]]
}
ok=0
for _ in $(seq 1 100); do
  if greets "$port_tls" 2>/dev/null && greets "$port_plain" 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
if [ "$ok" != 1 ]; then
  echo "FAIL: $suite: postfix is not answering"; tail -30 "$work/maillog" 2>/dev/null
  exit 1
fi
echo "postfix $(postconf -c "$conf" -h mail_version 2>/dev/null) on 127.0.0.1:$port_tls (STARTTLS) and :$port_plain (clear), relaying to $sink_addr"

export UCXKIT_POSTFIX_SMTP="127.0.0.1:$port_tls"
export UCXKIT_POSTFIX_PLAIN_SMTP="127.0.0.1:$port_plain"
export UCXKIT_POSTFIX_CA="$work/cert.pem"
export UCXKIT_POSTFIX_TLS_NAME="$tls_name"
export UCXKIT_POSTFIX_SINK="$sink_addr"
export UCXKIT_POSTFIX_SINK_DIR="$work/sink"

status=0
go test -count=1 -run 'Integration' ./mailqueue/... || status=1
if [ $status -ne 0 ]; then
  echo "--- postfix log (tail)"; tail -40 "$work/maillog" 2>/dev/null
fi
# Optional: mailqueue's benchmarks with this Postfix as the baseline
# (UCXKIT_POSTFIX_BENCH=1; not part of the CI pass/fail).
if [ "${UCXKIT_POSTFIX_BENCH:-}" = 1 ] && [ $status -eq 0 ]; then
  go test -run '^$' -bench "${UCXKIT_POSTFIX_BENCH_RE:-.}" -benchtime "${UCXKIT_POSTFIX_BENCHTIME:-1000x}" ./mailqueue/ || true
fi
exit $status
