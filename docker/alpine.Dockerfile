# stepdown in node:24-alpine (musl), from the npm package, run by the image's own Node.
# The single executable cannot run on musl (it is a glibc build of Node), so Alpine uses the
# npm package; its entry point works with busybox sh.
#
# NOT BUILT OR TESTED HERE: there is no musl Node on the npm registry and no Docker Hub on
# the machines that test stepdown, so node:24-alpine cannot be made. What is tested: the npm
# entry point under `busybox sh` (test/integration/clean-process.test.ts).
FROM node:24-alpine
RUN npm install --global stepdown \
 && addgroup -g 10001 app \
 && adduser -D -u 10001 -G app -h /home/app -s /sbin/nologin app \
 && stepdown --check app
WORKDIR /home/app
ENTRYPOINT ["stepdown", "app", "--"]
CMD ["node", "--version"]
