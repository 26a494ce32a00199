#!/usr/bin/env bash
# Builds the test image drover-test:latest without a registry: a root filesystem holding a static
# busybox (/bin/busybox from Debian's busybox-static, plus a /bin/<applet> symlink for every applet),
# /etc/passwd with root, and /tmp (mode 1777), imported with `docker import` (PATH=/bin, CMD /bin/sh).
#
#   scripts/build-test-image.sh [--docker-host URL | URL] [--force]
#
# The engine: --docker-host URL, or the first argument, else $DOCKER_HOST, else the docker CLI's
# default (/var/run/docker.sock). URL is unix:///path/to/docker.sock, tcp://HOST:PORT or a socket path.
#
# Idempotent: the root filesystem tar is built reproducibly and its sha256 is kept in the image label
# dev.drover.test-image.rootfs-sha256; when the engine already holds drover-test:latest with that digest
# nothing is imported (--force imports anyway). A replaced copy is removed when nothing uses it.
set -euo pipefail

IMAGE=drover-test:latest
LABEL=dev.drover.test-image.rootfs-sha256
BUSYBOX=${BUSYBOX:-/usr/bin/busybox}

usage() { sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
die() { echo "build-test-image: $*" >&2; exit 1; }

host=""
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --docker-host) [ $# -ge 2 ] || usage; host=$2; shift 2 ;;
    --docker-host=*) host=${1#--docker-host=}; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "build-test-image: unknown option $1" >&2; usage ;;
    *) [ -z "$host" ] || usage; host=$1; shift ;;
  esac
done
if [ -n "$host" ]; then
  case "$host" in
    unix://*|tcp://*) ;;
    /*) host="unix://$host" ;;
    *) die "--docker-host must be unix:///path/to/docker.sock, tcp://HOST:PORT or a socket path (got \"$host\")" ;;
  esac
  export DOCKER_HOST=$host
fi
engine=${DOCKER_HOST:-unix:///var/run/docker.sock}

# ---- what this needs ----
command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed (Debian package docker.io: apt-get install -y docker.io, or ./scripts/ensure-docker.sh)"
command -v tar >/dev/null 2>&1 || die "tar is not installed (Debian package tar)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed (Debian package coreutils)"
missing_busybox="the image needs a static busybox at $BUSYBOX: install the Debian package busybox-static (apt-get install -y busybox-static, or ./scripts/ensure-docker.sh as root)"
[ -x "$BUSYBOX" ] || die "$missing_busybox"
# The image has no libc: a dynamically linked busybox (Debian's plain `busybox` package) cannot run in it.
is_static() {
  if command -v dpkg-query >/dev/null 2>&1 && [ "$BUSYBOX" = /usr/bin/busybox ] &&
     [ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = "install ok installed" ]; then
    return 0
  fi
  if command -v ldd >/dev/null 2>&1; then
    LC_ALL=C ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable\|statically linked'
  elif command -v file >/dev/null 2>&1; then
    LC_ALL=C file -L "$BUSYBOX" | grep -q 'statically linked'
  else
    return 0 # cannot tell: the sanity run below fails if it is not static
  fi
}
is_static || die "$BUSYBOX is dynamically linked; $missing_busybox"

# ---- the engine ----
if ! err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
  die "cannot reach the Docker engine at $engine: ${err:-no answer}"
fi

# ---- the root filesystem, reproducibly ----
work=$(mktemp -d "${TMPDIR:-/tmp}/drover-test-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$BUSYBOX" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
applets=$("$BUSYBOX" --list) || die "$BUSYBOX --list failed"
n=0
for applet in $applets; do
  case "$applet" in busybox|*/*) continue ;; esac
  ln -s busybox "$root/bin/$applet"
  n=$((n + 1))
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$root" -cf "$work/rootfs.tar" .
digest=$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)

# ---- import, unless the engine already has this exact image ----
current_id=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
current_digest=""
if [ -n "$current_id" ]; then
  current_digest=$(docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null || true)
fi
if [ "$force" -eq 0 ] && [ -n "$current_id" ] && [ "$current_digest" = "$digest" ]; then
  echo "build-test-image: $IMAGE is up to date on $engine (${current_id#sha256:}; $n busybox applets)"
  exit 0
fi
new_id=$(docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' -c "LABEL $LABEL=$digest" \
  -m "drover test image: busybox-static root" "$work/rootfs.tar" "$IMAGE") || die "docker import into $engine failed"
# The copy this replaced is untagged now: remove it unless a container still uses it.
if [ -n "$current_id" ] && [ "$current_id" != "$new_id" ]; then
  docker image rm "$current_id" >/dev/null 2>&1 || true
fi
# Sanity check: the image runs its shell and the applets (nothing is pulled: the image is local).
out=$(docker run --rm --network none "$IMAGE" /bin/sh -c 'echo ok; command -v httpd nc wget sleep | wc -l' 2>&1) ||
  die "the imported $IMAGE does not run: $out"
[ "$(echo "$out" | head -n1)" = ok ] || die "the imported $IMAGE does not run its shell: $out"
echo "build-test-image: imported $IMAGE into $engine (${new_id#sha256:}; $n busybox applets)"
