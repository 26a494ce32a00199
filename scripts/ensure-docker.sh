#!/usr/bin/env bash
# Makes sure what the Docker-backed tests need is installed: dockerd (docker.io), a static busybox
# (busybox-static, for the test image) and docker-compose. Installs the missing Debian packages
# with apt-get when run as root. Never starts or enables the system docker service: tests start
# their own private engines. Prints one line saying what it did.
set -euo pipefail

# dockerd lives in /usr/sbin, which is not on every PATH.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
missing=()
have dockerd || missing+=(docker.io)
# busybox must be the static build (it runs inside an image with no libc): check the package.
if [ ! -x /usr/bin/busybox ] || ! dpkg -s busybox-static >/dev/null 2>&1; then missing+=(busybox-static); fi
have docker-compose || missing+=(docker-compose)

if [ ${#missing[@]} -eq 0 ]; then
  echo "ensure-docker: dockerd, busybox-static and docker-compose already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-docker: missing packages: ${missing[*]}; install them as root with:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "ensure-docker: missing packages: ${missing[*]}, and apt-get is not available to install them" >&2
  exit 1
}

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit code 101 = "action forbidden": keeps the package scripts from starting the
# system docker/containerd services during this install (restored afterwards).
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then saved=$(mktemp); cp -p "$policy" "$saved"; fi
restore_policy() {
  if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"

log=$(mktemp)
apt_install() { apt-get install -y "${missing[@]}" >>"$log" 2>&1; }
if ! apt_install; then
  # Package lists may be missing or stale on a fresh machine: refresh once and retry.
  if ! { apt-get update >>"$log" 2>&1 && apt_install; }; then
    tail -n 30 "$log" >&2
    echo "ensure-docker: apt-get install -y ${missing[*]} failed (full log: $log)" >&2
    exit 1
  fi
fi
rm -f "$log"

have dockerd && [ -x /usr/bin/busybox ] && have docker-compose || {
  echo "ensure-docker: installed ${missing[*]} but dockerd, /usr/bin/busybox or docker-compose is still missing" >&2
  exit 1
}
echo "ensure-docker: installed ${missing[*]}"
