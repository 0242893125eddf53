# shellcheck shell=bash
# Sourced by hack/kind.sh: a private dockerd (Debian's docker.io) in a folder of its own, the same way
# hack/images.sh starts one: --data-root, --exec-root, pid file and socket under that folder, and
# --iptables=false --bridge=none so the host's firewall and default bridge are not touched.
#
#   dockerd_start DIR [extra dockerd arguments...]   starts it detached, writes DIR/dockerd.pid,
#                                                    exports DOCKER_HOST; returns when it answers
#   dockerd_stop DIR                                 stops the dockerd of DIR/dockerd.pid (by pid)
#                                                    and the containerd it started

DOCKER_CLI="${DOCKER_CLI:-/usr/bin/docker}"

# running: the process exists and is not a zombie.
dockerd_running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

dockerd_start() {
  local dir="$1" pid
  shift
  mkdir -p "$dir"
  export DOCKER_HOST="unix://$dir/docker.sock" DOCKER_CONFIG="$dir/docker-config" DOCKER_BUILDKIT=0
  # setsid: the daemon outlives the calling script (hack/kind.sh up returns with the cluster running).
  setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" -H "$DOCKER_HOST" \
    --iptables=false --ip6tables=false --bridge=none --ip-masq=false --log-level=warn "$@" \
    </dev/null >"$dir/dockerd.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/dockerd.launcher-pid"
  for _ in $(seq 1 150); do
    "$DOCKER_CLI" version >/dev/null 2>&1 && return 0
    dockerd_running "$pid" || { cat "$dir/dockerd.log" >&2; return 1; }
    sleep 0.2
  done
  cat "$dir/dockerd.log" >&2
  return 1
}

dockerd_stop() {
  local dir="$1" pid=''
  [ -s "$dir/dockerd.pid" ] && pid="$(cat "$dir/dockerd.pid")"
  [ -z "$pid" ] && [ -s "$dir/dockerd.launcher-pid" ] && pid="$(cat "$dir/dockerd.launcher-pid")"
  if [ -n "$pid" ] && dockerd_running "$pid" && grep -q dockerd "/proc/$pid/comm" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 150); do dockerd_running "$pid" || break; sleep 0.2; done
    if dockerd_running "$pid"; then kill -9 "$pid" 2>/dev/null; fi
  fi
  # dockerd stops the containerd it started; make sure nothing of it outlived it.
  if [ -s "$dir/exec/containerd/containerd.pid" ]; then
    pid="$(cat "$dir/exec/containerd/containerd.pid")"
    if dockerd_running "$pid" && grep -q containerd "/proc/$pid/comm" 2>/dev/null; then kill "$pid" 2>/dev/null; fi
  fi
  return 0
}
