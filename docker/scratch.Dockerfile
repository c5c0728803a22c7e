# An image holding only the stepdown executable, at /stepdown, to copy into other builds:
#   COPY --from=stepdown /stepdown /usr/local/bin/stepdown
# The executable needs glibc >= 2.28 and libstdc++ in the image it is copied into (Debian,
# Ubuntu, UBI, distroless/cc). It cannot run in this image itself (there is no libc), so the
# checks run in the verify stage.
#
# Build context: stepdown-linux-x64 (or -arm64) and SHA256SUMS.
FROM debian:bookworm-slim AS verify
ARG STEPDOWN_ARCH=x64
COPY stepdown-linux-${STEPDOWN_ARCH} SHA256SUMS /stepdown/
RUN cd /stepdown \
 && grep " stepdown-linux-${STEPDOWN_ARCH}\$" SHA256SUMS | sha256sum --check --strict - \
 && mv stepdown-linux-${STEPDOWN_ARCH} stepdown && chmod 0755 stepdown \
 && ./stepdown --version && ./stepdown --check nobody

FROM scratch
COPY --from=verify /stepdown/stepdown /stepdown
