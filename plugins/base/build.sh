#!/usr/bin/env bash
# Build circus-plugin-base:bookworm without any container registry:
#   debootstrap (minbase, bookworm) + python3 + python3-numpy from Debian's mirror,
#   SimpleITK copied in from PyPI's cp311 wheel with `pip --target` (no pip inside the image),
#   a non-root user 10001, then `docker import`.
# Idempotent: does nothing when the image exists, unless --force. Needs root (debootstrap, chroot)
# and a running Docker engine. See plugins/README.md and shared notes/infrastructure.md section 4.
#
# Usage: plugins/base/build.sh [--force] [--tag TAG]
set -euo pipefail

TAG="circus-plugin-base:bookworm"
FORCE=0
SIMPLEITK_VERSION="2.5.7"
SUITE="bookworm"
PY_SITE="usr/local/lib/python3.11/dist-packages"   # bookworm's python3 is 3.11

while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) TAG="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "plugin-base: $*"; }
die() { echo "plugin-base: ERROR: $*" >&2; exit 1; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="$(cd "$HERE/../.." && pwd)"

command -v docker >/dev/null 2>&1 || die "the docker client is missing (run scripts/docker-engine.sh)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (run scripts/docker-engine.sh)"

if [ "$FORCE" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG exists ($(docker image inspect -f '{{.Id}}' "$TAG")); use --force to rebuild"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root"
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq debootstrap >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; } \
    || die "apt-get install debootstrap failed"
fi

# The mirror the machine's apt already uses (deb822 sources first, then the classic list);
# fall back to Debian's main mirror name.
MIRROR="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
if [ -z "$MIRROR" ]; then
  MIRROR="$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' \
    /etc/apt/sources.list 2>/dev/null || true)"
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

# pip for the SimpleITK wheel: prefer the project venv (the host has the same cp311 ABI).
PIP=()
for py in "$PROJECT/.venv/bin/python" python3; do
  if "$py" -m pip --version >/dev/null 2>&1; then PIP=("$py" -m pip); break; fi
done
[ ${#PIP[@]} -gt 0 ] || die "no pip found (create the venv first: make venv)"

WORK="$(mktemp -d /var/tmp/circus-plugin-base.XXXXXX)"
ROOTFS="$WORK/root"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

start=$SECONDS
say "debootstrap $SUITE from $MIRROR (about a minute)"
debootstrap --variant=minbase --include=python3,python3-numpy "$SUITE" "$ROOTFS" "$MIRROR" \
  >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
say "debootstrap done in $((SECONDS - start)) s"

say "installing SimpleITK $SIMPLEITK_VERSION into the rootfs"
"${PIP[@]}" install --quiet --disable-pip-version-check --no-deps --no-compile \
  --target "$ROOTFS/$PY_SITE" "SimpleITK==$SIMPLEITK_VERSION"
rm -rf "$ROOTFS/$PY_SITE/bin"

# The plug-in user: fixed uid/gid 10001 so job output directories can be chowned to it.
# Written directly: minbase has no guarantee of useradd, and this is what useradd would write.
grep -q '^circus:' "$ROOTFS/etc/group" || echo 'circus:x:10001:' >>"$ROOTFS/etc/group"
grep -q '^circus:' "$ROOTFS/etc/passwd" \
  || echo 'circus:x:10001:10001:CIRCUS plug-in:/tmp:/usr/sbin/nologin' >>"$ROOTFS/etc/passwd"
grep -q '^circus:' "$ROOTFS/etc/shadow" || echo 'circus:!:20000::::::' >>"$ROOTFS/etc/shadow"
mkdir -p "$ROOTFS/circus/in" "$ROOTFS/circus/out"

# Cleanup: package caches, apt lists, docs, man pages and translations are never used by a plug-in.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
  "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/* \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
  "$ROOTFS"/usr/share/locale/* "$ROOTFS"/usr/share/lintian "$ROOTFS"/usr/share/common-licenses
# Devices are provided by the container runtime; debootstrap may have created some.
rm -rf "$ROOTFS"/dev/* "$ROOTFS"/proc/* "$ROOTFS"/sys/*

# Byte-compile SimpleITK now: the plug-in root is read-only at run time, and compiling its
# 400 KB wrapper module on every start costs about half a second per job.
chroot "$ROOTFS" /usr/bin/python3 -m compileall -q "/$PY_SITE" >/dev/null

say "smoke test of the rootfs"
chroot "$ROOTFS" /usr/bin/env PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c \
  'import numpy, SimpleITK; print("numpy", numpy.__version__, "SimpleITK", SimpleITK.Version_VersionString())'

say "docker import as $TAG"
tar --numeric-owner -C "$ROOTFS" -c . | docker import \
  -c 'ENV LANG=C.UTF-8' \
  -c 'ENV PYTHONDONTWRITEBYTECODE=1' \
  -c 'ENV PYTHONUNBUFFERED=1' \
  -c 'WORKDIR /' \
  -c 'CMD ["/usr/bin/python3"]' \
  -m "circus plug-in base: Debian $SUITE minbase, python3, numpy, SimpleITK $SIMPLEITK_VERSION" \
  - "$TAG" >/dev/null
size="$(docker image inspect -f '{{.Size}}' "$TAG")"
say "built $TAG ($((size / 1000000)) MB) in $((SECONDS - start)) s"
