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

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"; return 0
    fi
  done
  return 1
}
wait_port() { # name port pid
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then echo "$1 exited"; return 1; fi
    sleep 0.1
  done
  echo "$1 did not answer on port $2"; return 1
}

# Passwords with the characters the product used to forbid.
squid_user='squid@user'
squid_pw='p@ss:w/o?r#d %é'
socks_pw='s0cks p@ss:w#rd'
micro_user='micro'
micro_pw='m!cr0 p@ss:w/d'

# --- squid ---------------------------------------------------------------
squid_port=$(free_port)
printf '%s:%s\n' "$squid_user" "$(openssl passwd -apr1 "$squid_pw")" > "$dir/squid.passwd"
chmod 644 "$dir/squid.passwd"
mkdir -p "$dir/squid" && chown proxy:proxy "$dir/squid" 2>/dev/null || chmod 777 "$dir/squid"
cat > "$dir/squid.conf" <<CONF
http_port 127.0.0.1:$squid_port
pid_filename $dir/squid/squid.pid
cache_log $dir/squid/cache.log
access_log stdio:$dir/squid/access.log
cache deny all
cache_mem 8 MB
coredump_dir $dir/squid
shutdown_lifetime 0 seconds
dns_v4_first on
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
pids+=($!)
wait_port squid "$squid_port" "${pids[-1]}" || { cat "$dir/squid/stdout.log" "$dir/squid/cache.log" 2>/dev/null | tail -20; exit 1; }

# --- dante ---------------------------------------------------------------
dante_port=$(free_port)
if ! id "$socks_user" >/dev/null 2>&1; then
  useradd -M -s /usr/sbin/nologin "$socks_user" && user_created=1
fi
printf '%s:%s\n' "$socks_user" "$socks_pw" | chpasswd
cat > "$dir/danted.conf" <<CONF
logoutput: $dir/danted.log
internal: 127.0.0.1 port = $dante_port
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
pids+=($!)
wait_port danted "$dante_port" "${pids[-1]}" || { cat "$dir/danted.out" "$dir/danted.log" 2>/dev/null | tail -20; exit 1; }

# --- microsocks ----------------------------------------------------------
micro_port=$(free_port)
microsocks -i 127.0.0.1 -p "$micro_port" -u "$micro_user" -P "$micro_pw" >"$dir/microsocks.log" 2>&1 &
pids+=($!)
wait_port microsocks "$micro_port" "${pids[-1]}" || { cat "$dir/microsocks.log"; exit 1; }

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
