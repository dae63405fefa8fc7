#!/usr/bin/env bash
# Starts the test servers on free loopback ports, runs a command with their URLs in the
# environment, then stops exactly the servers it started.
#
#   scripts/test-servers.sh COMMAND [ARGS...]
#
# Exports:
#   CACHE_TEST_REDIS_URL        redis://127.0.0.1:PORT/0        (one standalone Redis)
#   CACHE_TEST_REDIS_SOCKET     the same server's Unix socket
#   CACHE_TEST_MEMCACHED_URL    memcache://127.0.0.1:PORT        (one memcached)
#   CACHE_TEST_MEMCACHED_URLS   memcache://127.0.0.1:P1,127.0.0.1:P2  (two memcached)
#   CACHE_TEST_REDIS_CLUSTER_URLS  redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#                               (a 3-primary Redis Cluster)
#   CACHE_TEST_REDIS_TLS_URL    rediss://127.0.0.1:PORT/0        (Redis over TLS only; clients
#                               may show a certificate)
#   CACHE_TEST_MEMCACHED_TLS_URL  memcaches://127.0.0.1:PORT     (memcached over TLS)
#   CACHE_TEST_TLS_DIR          the run's certificates, made by openssl: ca.crt (the authority
#                               that signed the others), server.crt/.key (for 127.0.0.1 and
#                               localhost), client.crt/.key
#   CACHE_TEST_REDIS_SENTINEL_URL  redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/cachetest
#                               (three sentinels watching a primary with one replica)
#   CACHE_TEST_REDIS_SERVER     the redis-server binary, and
#   CACHE_TEST_MEMCACHED_SERVER the memcached binary, for tests that start and stop a
#                               private server (restarts)
#   CACHE_TEST_PHP              the php binary (with igbinary, redis, memcached, and Symfony's
#                               and Doctrine's caches)
#
# redis-server, memcached and PHP come from Debian's packages; they are installed when
# missing (as root, or through sudo).
set -euo pipefail

log() { printf 'test-servers: %s\n' "$*" >&2; }

# PHP itself, for the tests that check what PHP writes and reads: the CLI, its igbinary, Redis
# and memcached extensions, Symfony's and Doctrine's caches, and PSR-16's interfaces.
PHP_PACKAGES=(php-cli php-igbinary php-redis php-memcached php-symfony-cache php-doctrine-cache
  php-psr-simple-cache php-symfony-http-foundation)

install_missing() {
  local missing=() package
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v memcached >/dev/null || missing+=(memcached)
  command -v openssl >/dev/null || missing+=(openssl)
  for package in "${PHP_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian's packages"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

workdir=$(mktemp -d "${TMPDIR:-/tmp}/cache-test-servers.XXXXXX")
pids=()

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$workdir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]; }

memcached_tls_ready() {
  local reply
  reply=$(printf 'version\r\n' | timeout 2 openssl s_client -quiet -connect "127.0.0.1:$1" 2>/dev/null | head -n 1)
  [[ "$reply" == VERSION* ]]
}

redis_tls_ready() {
  [ "$(redis-cli --tls --cacert "$workdir/tls/ca.crt" -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
}

# make_certificates DIR: a throw-away authority, a server certificate for 127.0.0.1 and
# localhost, and a client certificate, all signed by it.
make_certificates() {
  local dir=$1 name
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cache tests CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/server.ext"
  printf 'extendedKeyUsage=clientAuth\n' >"$dir/client.ext"
  for name in server client; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=cache tests $name" \
      -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  done
}

memcached_ready() {
  local reply=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'version\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3<&- 3>&-
  [[ "$reply" == VERSION* ]]
}

# start_server NAME READY_FN -- COMMAND... ; the command's {PORT} is replaced by the port.
# Tries random free ports until the server answers (another process may take a port between
# the check and the bind). Prints the port.
start_server() {
  local name=$1 ready=$2
  shift 3
  local attempt port pid i
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$(shuf -i "20000-${PORT_MAX:-60999}" -n 1)
    port_in_use "$port" && continue
    "${@//\{PORT\}/$port}" >"$workdir/$name.$port.log" 2>&1 &
    pid=$!
    for i in $(seq 1 100); do
      if "$ready" "$port"; then
        pids+=("$pid")
        echo "$port"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    log "$name did not start on port $port (attempt $attempt):"
    tail -n 5 "$workdir/$name.$port.log" >&2 || true
  done
  log "giving up on $name"
  return 1
}

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

install_missing
mkdir -p "$workdir/redis"
user=$(id -un)


start_server redis redis_ready -- redis-server --port '{PORT}' --bind 127.0.0.1 \
  --unixsocket "$workdir/redis.sock" --unixsocketperm 700 \
  --save '' --appendonly no --dir "$workdir/redis" >"$workdir/port"
redis_port=$(cat "$workdir/port")
start_server memcached memcached_ready -- memcached -l 127.0.0.1 -p '{PORT}' -U 0 -m 64 \
  -u "$user" >"$workdir/port"
memcached_port=$(cat "$workdir/port")

# The cluster: three primaries, no replicas. A cluster node also listens on port + 10000
# (the bus), so its port is drawn below 50000.
cluster_ports=()
for node in 1 2 3; do
  mkdir -p "$workdir/cluster$node"
  PORT_MAX=49999 start_server "redis-cluster$node" redis_ready -- redis-server --port '{PORT}' \
    --bind 127.0.0.1 --save '' --appendonly no --cluster-enabled yes \
    --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --dir "$workdir/cluster$node" >"$workdir/port"
  cluster_ports+=("$(cat "$workdir/port")")
done
cluster_addresses=()
for port in "${cluster_ports[@]}"; do cluster_addresses+=("127.0.0.1:$port"); done
redis-cli --cluster create "${cluster_addresses[@]}" --cluster-replicas 0 --cluster-yes \
  >"$workdir/cluster-create.log" 2>&1 || { cat "$workdir/cluster-create.log" >&2; exit 1; }
cluster_ok() {
  local port state
  for port in "${cluster_ports[@]}"; do
    state=$(redis-cli -p "$port" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p')
    [ "$state" = "ok" ] || return 1
  done
}
for attempt in $(seq 1 400); do
  cluster_ok && break
  if [ "$attempt" -eq 400 ]; then
    log "the redis cluster did not reach cluster_state:ok on every node"
    exit 1
  fi
  sleep 0.05
done
start_server memcached memcached_ready -- memcached -l 127.0.0.1 -p '{PORT}' -U 0 -m 64 \
  -u "$user" >"$workdir/port"
memcached_port2=$(cat "$workdir/port")

# Redis over TLS only (no plain port), with certificates made for this run.
make_certificates "$workdir/tls"
mkdir -p "$workdir/redis-tls"
start_server redis-tls redis_tls_ready -- redis-server --port 0 --tls-port '{PORT}' \
  --bind 127.0.0.1 --tls-cert-file "$workdir/tls/server.crt" \
  --tls-key-file "$workdir/tls/server.key" --tls-ca-cert-file "$workdir/tls/ca.crt" \
  --tls-auth-clients optional --save '' --appendonly no --dir "$workdir/redis-tls" \
  >"$workdir/port"
redis_tls_port=$(cat "$workdir/port")
start_server memcached-tls memcached_tls_ready -- memcached -l 127.0.0.1 -p '{PORT}' -U 0 -m 16 \
  -u "$user" -Z -o "ssl_chain_cert=$workdir/tls/server.crt,ssl_key=$workdir/tls/server.key" \
  >"$workdir/port"
memcached_tls_port=$(cat "$workdir/port")

# Sentinel: a primary, its replica, and three sentinels watching it as "cachetest".
mkdir -p "$workdir/sentinel-primary" "$workdir/sentinel-replica"
start_server redis-primary redis_ready -- redis-server --port '{PORT}' --bind 127.0.0.1 \
  --save '' --appendonly no --dir "$workdir/sentinel-primary" >"$workdir/port"
primary_port=$(cat "$workdir/port")
start_server redis-replica redis_ready -- redis-server --port '{PORT}' --bind 127.0.0.1 \
  --save '' --appendonly no --dir "$workdir/sentinel-replica" \
  --replicaof 127.0.0.1 "$primary_port" >"$workdir/port"
sentinel_addresses=()
for node in 1 2 3; do
  # A sentinel rewrites its configuration file, so each gets its own.
  printf 'bind 127.0.0.1\nsentinel monitor cachetest 127.0.0.1 %s 2\nsentinel down-after-milliseconds cachetest 1000\nsentinel failover-timeout cachetest 5000\n' \
    "$primary_port" >"$workdir/sentinel$node.conf"
  start_server "redis-sentinel$node" redis_ready -- redis-server "$workdir/sentinel$node.conf" \
    --sentinel --port '{PORT}' >"$workdir/port"
  sentinel_addresses+=("127.0.0.1:$(cat "$workdir/port")")
done

export CACHE_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export CACHE_TEST_MEMCACHED_URL="memcache://127.0.0.1:$memcached_port"
export CACHE_TEST_MEMCACHED_URLS="memcache://127.0.0.1:$memcached_port,127.0.0.1:$memcached_port2"
export CACHE_TEST_REDIS_CLUSTER_URLS="redis+cluster://$(IFS=,; echo "${cluster_addresses[*]}")"
export CACHE_TEST_REDIS_SOCKET="$workdir/redis.sock"
export CACHE_TEST_REDIS_TLS_URL="rediss://127.0.0.1:$redis_tls_port/0"
export CACHE_TEST_TLS_DIR="$workdir/tls"
export CACHE_TEST_MEMCACHED_TLS_URL="memcaches://127.0.0.1:$memcached_tls_port"
export CACHE_TEST_REDIS_SENTINEL_URL="redis+sentinel://$(IFS=,; echo "${sentinel_addresses[*]}")/cachetest"
CACHE_TEST_REDIS_SERVER=$(command -v redis-server)
CACHE_TEST_MEMCACHED_SERVER=$(command -v memcached)
CACHE_TEST_PHP=$(command -v php)
export CACHE_TEST_REDIS_SERVER CACHE_TEST_MEMCACHED_SERVER CACHE_TEST_PHP
log "redis $CACHE_TEST_REDIS_URL (redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'))"
log "memcached $CACHE_TEST_MEMCACHED_URLS"
log "redis cluster $CACHE_TEST_REDIS_CLUSTER_URLS"
log "redis over TLS $CACHE_TEST_REDIS_TLS_URL"
log "memcached over TLS $CACHE_TEST_MEMCACHED_TLS_URL"
log "redis sentinel $CACHE_TEST_REDIS_SENTINEL_URL"
log "php $CACHE_TEST_PHP ($(php -r 'echo PHP_VERSION, " igbinary ", phpversion("igbinary");'))"

"$@"
