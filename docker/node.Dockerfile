# stepdown in node:24-bookworm-slim, from the npm package: the image's own Node runs it.
#
# Build context: server.js (examples/server/server.js) and the npm package tarball
# (`npm pack` → stepdown-<version>.tgz). With the package on a registry the install step is
# just `RUN npm install --global stepdown`. The tarball has no dependencies, so it is
# unpacked directly here: that needs no npm in the image.
FROM node:24-bookworm-slim
COPY stepdown-*.tgz /tmp/stepdown.tgz
RUN mkdir -p /usr/local/lib/stepdown \
 && tar -xzf /tmp/stepdown.tgz -C /usr/local/lib/stepdown --strip-components=1 \
 && ln -s /usr/local/lib/stepdown/bin/stepdown /usr/local/bin/stepdown \
 && rm /tmp/stepdown.tgz
# The app user has a fixed uid, so Kubernetes manifests can name it (runAsUser: 10001).
# ENTRYPOINT names it by name, not uid: after a --match remap its uid is the volume owner's.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
 && stepdown --check app
COPY server.js /app/server.js
WORKDIR /home/app
# No USER line: start as root, stepdown becomes app (10001) and node becomes PID 1. server.js
# handles SIGTERM itself; an app that does not needs `docker run --init` (see README).
ENTRYPOINT ["stepdown", "app", "--"]
CMD ["node", "/app/server.js"]
