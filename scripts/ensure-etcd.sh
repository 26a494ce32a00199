#!/usr/bin/env bash
# Makes sure what the etcd-backed tests need is installed: the etcd server and etcdctl (Debian's
# etcd-server and etcd-client, 3.4). Installs them with apt-get when run as root. Never starts or
# enables a system etcd service: tests start their own members on loopback ports
# (test/helpers/etcd-cluster.ts). Prints one line saying what it did.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/bin/$1" ] || [ -x "/usr/sbin/$1" ]; }
missing=()
have etcd || missing+=(etcd-server)
have etcdctl || missing+=(etcd-client)

if [ ${#missing[@]} -eq 0 ]; then
  echo "ensure-etcd: etcd and etcdctl already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-etcd: missing packages: ${missing[*]}; install them as root with:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "ensure-etcd: missing packages: ${missing[*]}, and apt-get is not available to install them" >&2
  exit 1
}

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit code 101 = "action forbidden": the package's scripts must not start a system etcd
# (it would take the default ports 2379/2380). Restored afterwards.
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
    echo "ensure-etcd: apt-get install -y ${missing[*]} failed (full log: $log)" >&2
    exit 1
  fi
fi
rm -f "$log"

have etcd && have etcdctl || {
  echo "ensure-etcd: installed ${missing[*]} but etcd or etcdctl is still missing" >&2
  exit 1
}
echo "ensure-etcd: installed ${missing[*]}"
