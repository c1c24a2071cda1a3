#!/usr/bin/env bash
# A three-process clusterchat behind nginx on one machine.
#   examples/cluster/cluster.sh start   # MariaDB and Redis if needed, 3 servers, nginx on :8000
#   examples/cluster/cluster.sh stop
# Settings (environment): LISTEN (127.0.0.1:8000), PORTS ("6000 6001 6002"), WS_LISTEN
# (127.0.0.1:8080: nginx's HTTP and WebSocket port, the browser client), WS_PORTS ("7000 7001 7002":
# each server's --ws-port, one per PORTS entry),
# CHAT_MYSQL_URL (mysql://root@127.0.0.1:3306/chat), CHAT_REDIS_URL (redis://127.0.0.1:6379),
# RUN_DIR (examples/cluster/.run: pid files, logs, nginx.conf), START_TIMEOUT (20 s).
# REDIS=cluster: instead of the Redis on CHAT_REDIS_URL, a Redis Cluster of its own, three
# masters and three replicas on REDIS_CLUSTER_PORTS ("6380 6381 6382 6383 6384 6385"; each
# node's cluster bus on its port + 10000), its files in RUN_DIR/redis-cluster, stopped by stop.
# start checks every port first, refuses to start over a running cluster, and reports success
# only once every server and nginx accept connections.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="${RUN_DIR:-$here/.run}"
START_TIMEOUT="${START_TIMEOUT:-20}"
LISTEN="${LISTEN:-127.0.0.1:8000}"
PORTS="${PORTS:-6000 6001 6002}"
WS_LISTEN="${WS_LISTEN:-127.0.0.1:8080}"
WS_PORTS="${WS_PORTS:-7000 7001 7002}"
MYSQL_URL="${CHAT_MYSQL_URL:-mysql://root@127.0.0.1:3306/chat}"
REDIS_URL="${CHAT_REDIS_URL:-redis://127.0.0.1:6379}"
STREAM_MODULE="${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}"
REDIS="${REDIS:-}"
REDIS_CLUSTER_PORTS="${REDIS_CLUSTER_PORTS:-6380 6381 6382 6383 6384 6385}"
case "$REDIS" in
  "") ;;
  cluster)
    REDIS_URL="redis+cluster://$(echo $REDIS_CLUSTER_PORTS | sed -e 's/\([0-9][0-9]*\)/127.0.0.1:\1/g' -e 's/ /,/g')" ;;
  *) echo "cluster.sh: REDIS=$REDIS: only REDIS=cluster (a Redis Cluster of its own) or none (CHAT_REDIS_URL)" >&2; exit 2 ;;
esac

need_services() {
  if [ "$REDIS" = cluster ]; then
    start_redis_cluster
  elif ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
    echo "starting redis-server"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp
  fi
  if ! mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
    echo "starting mariadbd"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 40); do mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || {
    echo "nginx is missing: apt-get install nginx-light libnginx-mod-stream" >&2
    exit 1
  }
}

# three masters and three replicas on REDIS_CLUSTER_PORTS, joined with redis-cli --cluster create
start_redis_cluster() {
  local port dir="$run/redis-cluster" nodes=() deadline=$((SECONDS + START_TIMEOUT))
  [ "$(echo $REDIS_CLUSTER_PORTS | wc -w)" = 6 ] || fail "REDIS_CLUSTER_PORTS (\"$REDIS_CLUSTER_PORTS\") needs six ports: three masters, three replicas"
  mkdir -p "$dir"
  rm -f "$dir"/nodes-*.conf
  for port in $REDIS_CLUSTER_PORTS; do
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
      --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 2000 --cluster-replica-validity-factor 0 \
      --save "" --appendonly no \
      --dir "$dir" --pidfile "$run/redis-$port.pid" --logfile "$dir/redis-$port.log"
    nodes+=("127.0.0.1:$port")
  done
  for port in $REDIS_CLUSTER_PORTS; do
    until redis-cli -p "$port" ping >/dev/null 2>&1; do
      [ "$SECONDS" -lt "$deadline" ] || { stop >/dev/null; fail "redis-server on port $port did not start ($dir/redis-$port.log)"; }
      sleep 0.2
    done
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
    { stop >/dev/null; fail "redis-cli --cluster create failed ($dir/create.log)"; }
  for port in $REDIS_CLUSTER_PORTS; do
    until redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
      [ "$SECONDS" -lt "$deadline" ] || { stop >/dev/null; fail "the Redis Cluster did not reach cluster_state:ok within ${START_TIMEOUT}s"; }
      sleep 0.2
    done
  done
  echo "started a Redis Cluster: 3 masters, 3 replicas on ports $REDIS_CLUSTER_PORTS"
}

fail() {
  echo "cluster.sh: $*" >&2
  exit 1
}

# LISTEN is host:port or a bare port (nginx then listens on every address)
listen_host() { case "$LISTEN" in *:*) echo "${LISTEN%:*}" ;; *) echo 0.0.0.0 ;; esac; }
listen_port() { echo "${LISTEN##*:}"; }

# binds host:port and lets it go: fails while any other process holds it
port_free() {
  node -e 'const s = require("net").createServer();
    s.once("error", () => process.exit(1));
    s.listen({ host: process.argv[1], port: Number(process.argv[2]), exclusive: true }, () => s.close());' "$1" "$2"
}

# true once host:port accepts a connection
port_open() {
  node -e 'const c = require("net").connect({ host: process.argv[1], port: Number(process.argv[2]) });
    c.once("connect", () => c.destroy());
    c.once("error", () => process.exit(1));' "$1" "$2"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

refuse_running() {
  local f running=""
  for f in "$run"/server-*.pid "$run/nginx.pid" "$run"/redis-*.pid; do
    [ -f "$f" ] || continue
    if alive "$f"; then running+=" $(basename "$f" .pid)=$(cat "$f")"; else rm -f "$f"; fi
  done
  [ -z "$running" ] || fail "a cluster is already running from $run (${running# }); stop it first: make cluster-stop"
}

check_ports() {
  local port
  for port in $PORTS; do
    port_free 127.0.0.1 "$port" || fail "port $port (a chatserver's, PORTS=\"$PORTS\") is in use by another process; free it or choose other PORTS"
  done
  port_free "$(listen_host)" "$(listen_port)" || fail "port $(listen_port) (nginx's, LISTEN=$LISTEN) is in use by another process; free it or choose another LISTEN"
  [ "$(echo $WS_PORTS | wc -w)" = "$(echo $PORTS | wc -w)" ] || fail "WS_PORTS (\"$WS_PORTS\") needs one port per PORTS entry (\"$PORTS\")"
  for port in $WS_PORTS; do
    port_free 127.0.0.1 "$port" || fail "port $port (a chatserver's WebSocket, WS_PORTS=\"$WS_PORTS\") is in use by another process; free it or choose other WS_PORTS"
  done
  port_free "${WS_LISTEN%:*}" "${WS_LISTEN##*:}" || fail "port ${WS_LISTEN##*:} (nginx's HTTP, WS_LISTEN=$WS_LISTEN) is in use by another process; free it or choose another WS_LISTEN"
  [ "$REDIS" = cluster ] || return 0
  for port in $REDIS_CLUSTER_PORTS; do
    port_free 127.0.0.1 "$port" || fail "port $port (a Redis Cluster node's, REDIS_CLUSTER_PORTS=\"$REDIS_CLUSTER_PORTS\") is in use by another process; free it or choose other REDIS_CLUSTER_PORTS"
    port_free 127.0.0.1 $((port + 10000)) || fail "port $((port + 10000)) (the cluster bus of the Redis Cluster node on $port) is in use by another process; choose other REDIS_CLUSTER_PORTS"
  done
}

# waits until the server on $1 (pid file $2) accepts connections; fails if it exits first
wait_server() {
  local port="$1" pidfile="$2" deadline=$((SECONDS + START_TIMEOUT))
  until port_open 127.0.0.1 "$port"; do
    if ! alive "$pidfile"; then
      tail -n 5 "$run/server-$port.log" >&2 || true
      stop >/dev/null
      fail "the chatserver on port $port exited during start (log above: $run/server-$port.log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      stop >/dev/null
      fail "the chatserver on port $port did not listen within ${START_TIMEOUT}s ($run/server-$port.log)"
    fi
    sleep 0.2
  done
}

start() {
  mkdir -p "$run"
  refuse_running
  check_ports
  need_services
  [ -f "$root/dist/lib/cli/server.js" ] || (cd "$root" && npm run build)
  "$root/bin/chatserver" migrate --mysql "$MYSQL_URL"
  upstreams=""
  ws_upstreams=""
  local ws_ports=($WS_PORTS) i=0
  for port in $PORTS; do
    "$root/bin/chatserver" --port "$port" --ws-port "${ws_ports[$i]}" --mysql "$MYSQL_URL" --redis "$REDIS_URL" \
      >"$run/server-$port.log" 2>&1 &
    echo $! >"$run/server-$port.pid"
    upstreams+="        server 127.0.0.1:$port max_fails=3 fail_timeout=30s;"$'\n'
    ws_upstreams+="        server 127.0.0.1:${ws_ports[$i]} max_fails=3 fail_timeout=30s;\\n"
    i=$((i + 1))
  done
  for port in $PORTS; do wait_server "$port" "$run/server-$port.pid"; done
  sed -e "s#{{STREAM_MODULE}}#$STREAM_MODULE#" -e "s#{{RUN_DIR}}#$run#g" -e "s#{{LISTEN}}#$LISTEN#" \
    -e "s#{{WS_LISTEN}}#$WS_LISTEN#" -e "s#^{{WS_UPSTREAMS}}\$#${ws_upstreams%\\n}#" \
    -e "/{{UPSTREAMS}}/{
r /dev/stdin
d
}" "$here/nginx.conf.template" <<<"$upstreams" >"$run/nginx.conf"
  if ! nginx -c "$run/nginx.conf" -p "$run" || ! port_open "$(listen_host | sed 's/^0\.0\.0\.0$/127.0.0.1/')" "$(listen_port)"; then
    stop >/dev/null
    fail "nginx did not start on $LISTEN (see $run/nginx-error.log)"
  fi
  echo "clusterchat: $(echo $PORTS | wc -w) servers (ports $PORTS) behind nginx on $LISTEN"
  echo "  redis:    $REDIS_URL"
  echo "  connect:  bin/chatclient ${LISTEN%:*} ${LISTEN##*:}    or    nc ${LISTEN%:*} ${LISTEN##*:}"
  echo "  browser:  http://$WS_LISTEN/"
  echo "  logs:     $run/server-*.log"
  echo "  stop:     make cluster-stop"
}

# SIGTERM to the process of each pid file matching $1, waiting until it is gone (a graceful
# shutdown takes a moment; its ports are free once it is over)
stop_pids() {
  local f pid
  for f in "$run"/$1; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$f"
  done
}

stop() {
  if [ -f "$run/nginx.pid" ]; then nginx -c "$run/nginx.conf" -p "$run" -s stop 2>/dev/null || true; fi
  stop_pids 'server-*.pid'
  # the Redis Cluster of REDIS=cluster, after the servers that use it
  stop_pids 'redis-*.pid'
  echo "clusterchat cluster stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
