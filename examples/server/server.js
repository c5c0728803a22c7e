// A small HTTP server that shuts down gracefully on SIGTERM (what `docker stop` sends). As
// PID 1 it must handle the signal itself: the kernel drops signals PID 1 has no handler for.
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT || 8080);
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from uid ${process.getuid()} (pid ${process.pid})\n`);
});

server.listen(port, () => console.log(`listening on :${port} as uid ${process.getuid()} gid ${process.getgid()}, pid ${process.pid}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`${signal}: closing`);
    server.close(() => {
      console.log('closed, exiting 0');
      process.exit(0);
    });
    server.closeAllConnections();
  });
}
