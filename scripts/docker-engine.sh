#!/usr/bin/env bash
# Make a Docker engine answer if we can; never fail the build because of Docker.
# Idempotent: exits at once when `docker info` already works. As root on Debian it installs
# docker.io when dockerd is missing and starts dockerd in the background (log: var/log/dockerd.log).
# Anywhere else it prints one warning and exits 0: the platform runs, plug-in jobs wait in the queue.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG="$ROOT/var/log/dockerd.log"
WAIT_S=30

say() { echo "docker-engine: $*"; }
warn() {
  say "WARNING: $* -- the platform still runs, but plug-in jobs wait in the queue until an engine answers."
  exit 0
}
engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if engine_answers; then
  say "engine answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null || echo '?'))"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  warn "no Docker engine answers and we are not root, so we cannot install or start dockerd"
fi
if ! command -v dockerd >/dev/null 2>&1; then
  if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
    warn "dockerd is missing and this is not Debian; install Docker and start dockerd yourself"
  fi
  say "installing docker.io with apt-get (about a minute)"
  start=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq docker.io >/dev/null; }; then
    warn "apt-get install docker.io failed"
  fi
  say "docker.io installed in $((SECONDS - start)) s"
fi
if ! command -v docker >/dev/null 2>&1; then
  warn "the docker client is missing (dockerd is there); install docker.io or docker-ce-cli"
fi

mkdir -p "$(dirname "$LOG")"
# A dockerd that is already starting (or wedged) owns the pid file; a second one would just fail.
if pid="$(cat /var/run/docker.pid 2>/dev/null)" && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  say "dockerd (pid $pid) is already running; waiting for it"
else
  say "starting dockerd in the background (log: ${LOG#"$ROOT"/})"
  # setsid + no inherited descriptors: the engine outlives this build and never holds CI's output open.
  setsid dockerd </dev/null >>"$LOG" 2>&1 &
fi

start=$SECONDS
while (( SECONDS - start < WAIT_S )); do
  if engine_answers; then
    say "engine answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null || echo '?')) after $((SECONDS - start)) s"
    exit 0
  fi
  sleep 0.5
done
tail -n 15 "$LOG" 2>/dev/null | sed 's/^/  dockerd: /'
warn "dockerd did not answer within ${WAIT_S} s (see ${LOG#"$ROOT"/})"
