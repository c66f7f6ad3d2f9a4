// Drives the official socket.io-client for walletgate's Go tests.
//
//   node driver.js URL MODE
//
// MODE is "websocket" (transports: ['websocket'], as the Bitweb wallet
// connects) or "polling" (polling first, then the upgrade to websocket).
// Every event the client sees is printed as one JSON line on stdout:
//   {"event":"open","transport":"polling"}      the Engine.IO session opened
//   {"event":"connect"}                         the Socket.IO namespace joined
//   {"event":"upgrade","transport":"websocket"} (polling only; before or after connect)
//   {"event":"<name>","data":<payload>}
//   {"event":"disconnect","reason":"..."}
// Commands are read from stdin, one JSON object per line:
//   {"emit":"subscribe","data":{...}}   emits an event
//   {"exit":true}                       disconnects and exits
'use strict';
const { io } = require('socket.io-client');
const readline = require('readline');

const [url, mode] = process.argv.slice(2);
if (!url || (mode !== 'websocket' && mode !== 'polling')) {
  process.stderr.write('usage: node driver.js URL websocket|polling\n');
  process.exit(2);
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const socket = io(url, {
  transports: mode === 'websocket' ? ['websocket'] : ['polling', 'websocket'],
  upgrade: mode !== 'websocket',
  reconnection: false,
  timeout: 10000,
});

socket.io.on('open', () => {
  const engine = socket.io.engine;
  out({ event: 'open', transport: engine.transport.name });
  engine.on('upgrade', (t) => out({ event: 'upgrade', transport: t.name }));
});
socket.on('connect', () => out({ event: 'connect' }));
socket.on('connect_error', (err) => out({ event: 'connect_error', message: String(err && err.message) }));
socket.on('disconnect', (reason) => out({ event: 'disconnect', reason }));
socket.onAny((event, data) => out({ event, data }));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (cmd.exit) {
    socket.disconnect();
    rl.close();
    setTimeout(() => process.exit(0), 50);
    return;
  }
  socket.emit(cmd.emit, cmd.data);
});
rl.on('close', () => {
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
