// The Node.js peer of duplex-bench: the canonical "ws" broadcast server.
// Every text frame a client sends is sent to every other open client.
// Usage: node server.js PORT   (prints "listening PORT" once bound)
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 8090);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    }
  });
});
wss.on('listening', () => console.log(`listening ${wss.address().port}`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
