# stepdown in gcr.io/distroless/cc-debian12 (glibc and libstdc++, no shell), from the single
# executable. The checksum is verified in a Debian stage, since distroless has no sha256sum.
#
# Build context: stepdown-linux-x64 (or -arm64) and SHA256SUMS.
FROM debian:bookworm-slim AS verify
ARG STEPDOWN_ARCH=x64
COPY stepdown-linux-${STEPDOWN_ARCH} SHA256SUMS /stepdown/
RUN cd /stepdown \
 && grep " stepdown-linux-${STEPDOWN_ARCH}\$" SHA256SUMS | sha256sum --check --strict - \
 && mv stepdown-linux-${STEPDOWN_ARCH} stepdown && chmod 0755 stepdown

FROM gcr.io/distroless/cc-debian12
COPY --from=verify /stepdown/stepdown /usr/local/bin/stepdown
# No shell, so RUN takes the exec form. distroless ships the user nonroot, uid 65532.
RUN ["/usr/local/bin/stepdown", "--check", "nonroot"]
ENTRYPOINT ["/usr/local/bin/stepdown", "nonroot", "--"]
# Your app goes here; without one, this shows the version.
CMD ["/usr/local/bin/stepdown", "--version"]
