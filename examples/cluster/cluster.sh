#!/usr/bin/env bash
# A three-process clusterchat behind nginx on one machine.
#   examples/cluster/cluster.sh start   # MariaDB and Redis if needed, 3 servers, nginx on :8000
#   examples/cluster/cluster.sh stop
# Settings (environment): LISTEN (127.0.0.1:8000), PORTS ("6000 6001 6002"),
# CHAT_MYSQL_URL (mysql://root@127.0.0.1:3306/chat), CHAT_REDIS_URL (redis://127.0.0.1:6379).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="$here/.run"
LISTEN="${LISTEN:-127.0.0.1:8000}"
PORTS="${PORTS:-6000 6001 6002}"
MYSQL_URL="${CHAT_MYSQL_URL:-mysql://root@127.0.0.1:3306/chat}"
REDIS_URL="${CHAT_REDIS_URL:-redis://127.0.0.1:6379}"
STREAM_MODULE="${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}"

need_services() {
  if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
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

start() {
  need_services
  mkdir -p "$run"
  [ -f "$root/dist/lib/cli/server.js" ] || (cd "$root" && npm run build)
  "$root/bin/chatserver" migrate --mysql "$MYSQL_URL" --redis "$REDIS_URL"
  upstreams=""
  for port in $PORTS; do
    "$root/bin/chatserver" --port "$port" --mysql "$MYSQL_URL" --redis "$REDIS_URL" \
      >"$run/server-$port.log" 2>&1 &
    echo $! >"$run/server-$port.pid"
    upstreams+="        server 127.0.0.1:$port max_fails=3 fail_timeout=30s;"$'\n'
  done
  sed -e "s#{{STREAM_MODULE}}#$STREAM_MODULE#" -e "s#{{RUN_DIR}}#$run#g" -e "s#{{LISTEN}}#$LISTEN#" \
    -e "/{{UPSTREAMS}}/{
r /dev/stdin
d
}" "$here/nginx.conf.template" <<<"$upstreams" >"$run/nginx.conf"
  nginx -c "$run/nginx.conf" -p "$run"
  echo "clusterchat: $(echo $PORTS | wc -w) servers (ports $PORTS) behind nginx on $LISTEN"
  echo "  connect:  bin/chatclient ${LISTEN%:*} ${LISTEN##*:}    or    nc ${LISTEN%:*} ${LISTEN##*:}"
  echo "  logs:     $run/server-*.log"
  echo "  stop:     make cluster-stop"
}

stop() {
  if [ -f "$run/nginx.pid" ]; then nginx -c "$run/nginx.conf" -p "$run" -s stop 2>/dev/null || true; fi
  for f in "$run"/server-*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  echo "clusterchat cluster stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
