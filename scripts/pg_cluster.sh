#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb, a server on 127.0.0.1 at a free
# port, durable as in production (fsync on); its files (data, socket, log) in a /tmp
# directory of its own, which DIR points to (the server user must reach them).
#   scripts/pg_cluster.sh start DIR   prints and writes DIR/url: postgresql://postgres@127.0.0.1:PORT/postgres
#   scripts/pg_cluster.sh stop DIR    stops the server (fast shutdown) and removes DIR
#   scripts/pg_cluster.sh restart DIR stops and starts the server on the same port and data
#   scripts/pg_cluster.sh down DIR    stops the server (fast shutdown), keeps DIR and the data
#   scripts/pg_cluster.sh up DIR      starts it again after `down`, on the same port and data
# ctest runs start before and stop after the PostgreSQL suites (a fixture), also when they
# fail. As root the server runs as the `postgres` user that Debian's package creates (initdb
# refuses root). scripts/setup.sh installs the package.
set -euo pipefail
cmd="${1:?usage: pg_cluster.sh start|stop|restart|down|up DIR}"
dir="${2:?usage: pg_cluster.sh start|stop|restart|down|up DIR}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bin/initdb" ] || { echo "pg_cluster: no PostgreSQL server binaries (run scripts/setup.sh)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The cluster's files live in a directory of their own under /tmp (the server's user must be
# able to reach them, whatever the permissions on the checkout); DIR/datadir points there.
data_root() { cat "$dir/datadir" 2>/dev/null || true; }

start_server() {
  local port="$1" root
  root="$(data_root)"
  # -w waits until the server accepts connections; -t bounds that wait.
  as_owner "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$root" start >/dev/null
}

stop_server() {
  local root
  root="$(data_root)"
  if [ -n "$root" ] && [ -f "$root/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$root/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_owner "$bin/pg_ctl" -D "$root/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
}

remove_all() {
  local root
  root="$(data_root)"
  case "$root" in /tmp/memoryd-pg.*) rm -rf "$root" ;; esac
  rm -rf "$dir"
}

case "$cmd" in
  start)
    if [ -d "$dir" ]; then stop_server; remove_all; fi  # a leftover of an interrupted run
    mkdir -p "$dir"
    root="$(mktemp -d /tmp/memoryd-pg.XXXXXX)"
    echo "$root" >"$dir/datadir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$root"; fi
    as_owner "$bin/initdb" -D "$root/data" -U postgres -A trust -E UTF8 --no-locale >"$root/initdb.log"
    # Room for the suites' connections (several instances, each with a pool) and their databases.
    printf '%s\n' "max_connections = 200" "shared_buffers = 128MB" >>"$root/data/postgresql.conf"
    port="$(free_port)"
    start_server "$port"
    echo "$port" >"$dir/port"
    echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/url"
    chmod a+r "$dir/url" "$dir/port"
    cat "$dir/url"
    ;;
  stop)
    stop_server
    remove_all
    ;;
  restart)
    stop_server
    start_server "$(cat "$dir/port")"
    ;;
  down)
    stop_server
    ;;
  up)
    start_server "$(cat "$dir/port")"
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop|restart|down|up DIR" >&2
    exit 2
    ;;
esac
