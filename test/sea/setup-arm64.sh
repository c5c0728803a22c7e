#!/bin/sh
# Installs what test/sea/*.test.ts needs on a Debian 12 x86_64 host (run as root; idempotent,
# a no-op when everything is there):
#   - qemu-user and the arm64 runtime of the arm64 single executable
#     (libc6, libstdc++6, libgcc-s1 :arm64, after `dpkg --add-architecture arm64`);
#   - busybox-static (the static target inside the test chroots) and musl (the musl-only chroot).
# The SEA build itself (build/sea.mjs) installs the binutils it needs.
set -eu

PKGS="qemu-user libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 busybox-static musl"

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-arm64.sh: must run as root (it uses dpkg and apt-get)" >&2
  exit 1
fi

added=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  added=1
fi

missing=""
for p in $PKGS; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "setup-arm64.sh: all present:$(printf ' %s' $PKGS)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt() { apt-get -o DPkg::Lock::Timeout=600 -q "$@"; }

echo "setup-arm64.sh: installing$missing"
# The arm64 package lists appear only after an update; a fresh architecture always needs one.
if [ "$added" -eq 1 ] || ! apt install -y --no-install-recommends $missing; then
  apt update
  apt install -y --no-install-recommends $missing
fi

command -v qemu-aarch64 >/dev/null
[ -e /lib/ld-linux-aarch64.so.1 ]
[ -x /bin/busybox ]
[ -e /lib/ld-musl-x86_64.so.1 ]
echo "setup-arm64.sh: done"
