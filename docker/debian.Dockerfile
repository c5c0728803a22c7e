# stepdown in a Debian or Ubuntu slim image, from the single executable.
#
# Build context: stepdown-linux-x64 (or -arm64) and SHA256SUMS, from a release or from dist/
# after `npm run build:bin`. For arm64: --build-arg STEPDOWN_ARCH=arm64.
#   docker build -f debian.Dockerfile -t myapp .
#   docker run myapp                      # the command runs as app (uid 10001), as PID 1
#   docker run -e STEPDOWN_MATCH=/data -v "$PWD/data:/data" myapp   # as the owner of ./data
FROM debian:bookworm-slim AS verify
ARG STEPDOWN_ARCH=x64
COPY stepdown-linux-${STEPDOWN_ARCH} SHA256SUMS /stepdown/
RUN cd /stepdown \
 && grep " stepdown-linux-${STEPDOWN_ARCH}\$" SHA256SUMS | sha256sum --check --strict - \
 && mv stepdown-linux-${STEPDOWN_ARCH} stepdown && chmod 0755 stepdown

FROM debian:bookworm-slim
COPY --from=verify /stepdown/stepdown /usr/local/bin/stepdown
# The app user has a fixed uid, so Kubernetes manifests can name it (runAsUser: 10001).
# ENTRYPOINT names it by name, not uid: after a --match remap its uid is the volume owner's.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
 && stepdown --check app
WORKDIR /home/app
# Starts as root (no USER line): stepdown drops to app (10001) and execs CMD, which becomes PID 1.
ENTRYPOINT ["stepdown", "app", "--"]
CMD ["id"]
