#!/usr/bin/env bash
# Integration suite for proxycfg and examples/proxydial: starts Debian's
# squid (Basic auth through basic_ncsa_auth, CONNECT to loopback ports
# allowed), dante-server (SOCKS5 username auth against a system user, SOCKS4
# without auth) and microsocks (SOCKS5 with -u/-P) on free loopback ports,
# then runs the Integration tests with UCXKIT_{SQUID,DANTE,MICROSOCKS}_*.
# UCXKIT_PROXY_BENCH=1 also runs the throughput benchmark through them.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
suite=proxy
pkgs="squid dante-server microsocks openssl"

# Keep the daemons from starting as system services during installation.
policy_created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_created=1
fi
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  apt_log=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >"$apt_log" 2>&1; then
    [ "$policy_created" = 1 ] && rm -f /usr/sbin/policy-rc.d
    tail -5 "$apt_log"; rm -f "$apt_log"
    echo "SKIP: $suite: could not install$missing"
    exit 0
  fi
  rm -f "$apt_log"
fi
[ "$policy_created" = 1 ] && rm -f /usr/sbin/policy-rc.d

dir=$(mktemp -d /tmp/ucxkit-proxy.XXXXXX)
chmod 755 "$dir"
pids=()
socks_user=ucxkit-socks
user_created=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  [ "$user_created" = 1 ] && userdel "$socks_user" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# A port below the kernel's ephemeral range (so no outgoing connection holds
# it) on which nothing listens.
free_port() {
  local lo port
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 200); do
    port=$(( (RANDOM % (lo - 20000)) + 20000 ))
    if command -v ss >/dev/null && [ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]; then continue; fi
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"; return 0
    fi
  done
  return 1
}
wait_port() { # name port pid
  for _ in $(seq 1 100); do
    if ! kill -0 "$3" 2>/dev/null; then echo "$1 exited"; return 1; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
      # Still alive a moment later: it did bind the port (a daemon that
      # lost the port to another process exits).
      sleep 0.3
      kill -0 "$3" 2>/dev/null && return 0
      echo "$1 exited"; return 1
    fi
    sleep 0.1
  done
  echo "$1 did not answer on port $2"; return 1
}
# launch NAME FUNC: picks a free port and runs FUNC PORT (which starts the
# daemon in the background), retrying with another port if it fails to come
# up; sets $port.
launch() {
  local name=$1 fn=$2
  for attempt in 1 2 3 4 5; do
    port=$(free_port) || { echo "$name: no free port"; return 1; }
    "$fn" "$port"
    pids+=($!)
    if wait_port "$name" "$port" "${pids[-1]}"; then return 0; fi
    kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null
    echo "$name: attempt $attempt on port $port failed; retrying"
  done
  return 1
}

# Passwords with the characters the product used to forbid.
squid_user='squid@user'
squid_pw='p@ss:w/o?r#d %é'
socks_pw='s0cks p@ss:w#rd'
micro_user='micro'
micro_pw='m!cr0 p@ss:w/d'

# --- squid ---------------------------------------------------------------
printf '%s:%s\n' "$squid_user" "$(openssl passwd -apr1 "$squid_pw")" > "$dir/squid.passwd"
chmod 644 "$dir/squid.passwd"
mkdir -p "$dir/squid" && chown proxy:proxy "$dir/squid" 2>/dev/null || chmod 777 "$dir/squid"
start_squid() {
  cat > "$dir/squid.conf" <<CONF
http_port 127.0.0.1:$1
pid_filename $dir/squid/squid.pid
cache_log $dir/squid/cache.log
access_log stdio:$dir/squid/access.log
cache deny all
cache_mem 8 MB
coredump_dir $dir/squid
shutdown_lifetime 0 seconds
dns_v4_first on
pinger_enable off
auth_param basic program /usr/lib/squid/basic_ncsa_auth $dir/squid.passwd
auth_param basic realm ucxkit
auth_param basic children 2 startup=1 idle=1
acl authed proxy_auth REQUIRED
acl loopback_dst dst 127.0.0.0/8
acl CONNECT method CONNECT
http_access deny !authed
http_access deny CONNECT !loopback_dst
http_access allow authed loopback_dst
http_access deny all
CONF
  squid -N -f "$dir/squid.conf" >"$dir/squid/stdout.log" 2>&1 &
}
launch squid start_squid || { tail -20 "$dir/squid/stdout.log" "$dir/squid/cache.log" 2>/dev/null; exit 1; }
squid_port=$port

# --- dante ---------------------------------------------------------------
if ! id "$socks_user" >/dev/null 2>&1; then
  useradd -M -s /usr/sbin/nologin "$socks_user" && user_created=1
fi
printf '%s:%s\n' "$socks_user" "$socks_pw" | chpasswd
start_dante() {
  cat > "$dir/danted.conf" <<CONF
logoutput: $dir/danted.log
internal: 127.0.0.1 port = $1
external: 127.0.0.1
socksmethod: username none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
  proxyprotocol: socks_v5
  socksmethod: username
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
  proxyprotocol: socks_v4
  socksmethod: none
}
CONF
  danted -f "$dir/danted.conf" -p "$dir/danted.pid" >"$dir/danted.out" 2>&1 &
}
launch danted start_dante || { tail -20 "$dir/danted.out" "$dir/danted.log" 2>/dev/null; exit 1; }
dante_port=$port

# --- microsocks ----------------------------------------------------------
start_micro() {
  microsocks -i 127.0.0.1 -p "$1" -u "$micro_user" -P "$micro_pw" >"$dir/microsocks.log" 2>&1 &
}
launch microsocks start_micro || { cat "$dir/microsocks.log"; exit 1; }
micro_port=$port

export UCXKIT_SQUID_ADDR="127.0.0.1:$squid_port" UCXKIT_SQUID_USER="$squid_user" UCXKIT_SQUID_PASSWORD="$squid_pw"
export UCXKIT_DANTE_ADDR="127.0.0.1:$dante_port" UCXKIT_DANTE_USER="$socks_user" UCXKIT_DANTE_PASSWORD="$socks_pw"
export UCXKIT_MICROSOCKS_ADDR="127.0.0.1:$micro_port" UCXKIT_MICROSOCKS_USER="$micro_user" UCXKIT_MICROSOCKS_PASSWORD="$micro_pw"

echo "$suite: squid :$squid_port, danted :$dante_port, microsocks :$micro_port"
status=0
go test -count=1 -run 'Integration' -v ./proxycfg/... ./examples/proxydial/... 2>&1 | tee "$dir/go-test.log" | grep -E '^(=== RUN|--- |    --- |ok|FAIL|PASS|panic)|_test.go:' || true
if ! grep -q '^ok' "$dir/go-test.log" || grep -q -- '^--- FAIL\|^FAIL' "$dir/go-test.log"; then
  status=1
  echo "--- go test failures"; grep -v -E '^(=== |--- PASS|    --- PASS)' "$dir/go-test.log" | tail -80
  echo "--- squid cache.log"; tail -20 "$dir/squid/cache.log" 2>/dev/null
  echo "--- danted.log"; tail -20 "$dir/danted.log" 2>/dev/null
fi
if [ "${UCXKIT_PROXY_BENCH:-}" = 1 ]; then
  # Optional: throughput through the real proxies next to the in-process ones.
  go test -run '^$' -bench 'TunnelThroughput' -benchtime "${UCXKIT_PROXY_BENCHTIME:-300x}" -count "${UCXKIT_PROXY_BENCHCOUNT:-1}" ./proxycfg/ || status=1
fi
if grep -q -- '--- SKIP: TestIntegration' "$dir/go-test.log"; then
  echo "FAIL: $suite: integration tests skipped although the proxies run"; status=1
fi
exit $status
