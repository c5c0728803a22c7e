#!/bin/sh
# Builds the rootfs of the gcr.io/distroless/cc-debian12 stand-in and writes it
# to stdout as a tar. Run by test/e2e/engine.sh INSIDE the debian:bookworm-slim
# stand-in, with this directory mounted on /in and the host CA bundle on
# /ca.crt. Mirrors what matters of the real image (GoogleContainerTools/
# distroless common/BUILD.bazel + cc): glibc, libgcc-s1, libstdc++6, passwd/
# group/home for root, nobody and nonroot, /tmp 1777, the CA bundle,
# os-release. No shell, no package manager, no ld.so.cache.
set -eu
R=/out
mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib" "$R/usr/lib64"
# merged /usr, like the debian12 rootfs the libraries come from
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done

# every file/symlink of the runtime library packages (minus docs)
for pkg in libc6 libgcc-s1 libstdc++6; do
  dpkg-query -L "$pkg:amd64" | while IFS= read -r p; do
    case "$p" in /usr/share/doc/*|/usr/share/lintian/*|/usr/share/gdb/*|/usr/share/gcc/*) continue ;; esac
    if [ -L "$p" ] || [ -f "$p" ]; then
      dir=$(readlink -f "$(dirname "$p")")
      mkdir -p "$R$dir"
      cp -a "$p" "$R$dir/"
    fi
  done
done
[ -e "$R/lib64/ld-linux-x86-64.so.2" ] || { echo "mkrootfs: no ld-linux" >&2; exit 1; }

mkdir -p "$R/etc/ssl/certs" "$R/root" "$R/home/nonroot" "$R/tmp" "$R/var" "$R/dev" "$R/proc" "$R/sys"
cp /in/passwd /in/group /in/nsswitch.conf /in/os-release "$R/etc/"
chmod 644 "$R/etc/passwd" "$R/etc/group" "$R/etc/nsswitch.conf" "$R/etc/os-release"
ln -s ../etc/os-release "$R/usr/lib/os-release"
for f in /etc/ethertypes /etc/protocols /etc/rpc /etc/services; do [ -f "$f" ] && cp "$f" "$R/etc/"; done
install -m 644 /ca.crt "$R/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$R/tmp"
chmod 700 "$R/root" "$R/home/nonroot"
chown 65532:65532 "$R/home/nonroot"

if [ -e "$R/bin/sh" ] || [ -e "$R/usr/bin/sh" ]; then echo "mkrootfs: a shell slipped in" >&2; exit 1; fi
tar --numeric-owner -C "$R" -cf - .
