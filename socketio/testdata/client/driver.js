// Drives the official socket.io-client for walletgate's Go tests.
//
//   node driver.js URL MODE
//
// MODE is "websocket" (transports: ['websocket'], as the Bitweb wallet
// connects), "polling" (polling first, then the upgrade to websocket) or
// "polling-only" (polling, never upgraded).
// Every event the client sees is printed as one JSON line on stdout:
//   {"event":"open","transport":"polling"}      the Engine.IO session opened
//   {"event":"connect"}                         the Socket.IO namespace joined
//   {"event":"upgrade","transport":"websocket"} (polling only; before or after connect)
//   {"event":"<name>","data":<payload>,"transport":"websocket"}  the transport it came over
//   {"event":"disconnect","reason":"...","code":1001}  code: the websocket close code, if any
//   {"event":"ack","name":"<emitted>","data":<first ack argument>}
// Commands are read from stdin, one JSON object per line:
//   {"emit":"subscribe","data":{...}}   emits an event
//   {"emit":"x","data":{...},"ack":true} emits it asking for an ack
//   {"exit":true}                       disconnects and exits
'use strict';
const { io } = require('socket.io-client');
const readline = require('readline');

const [url, mode] = process.argv.slice(2);
if (!url || !['websocket', 'polling', 'polling-only'].includes(mode)) {
  process.stderr.write('usage: node driver.js URL websocket|polling|polling-only\n');
  process.exit(2);
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const socket = io(url, {
  transports: { websocket: ['websocket'], polling: ['polling', 'websocket'], 'polling-only': ['polling'] }[mode],
  upgrade: mode === 'polling',
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
socket.on('disconnect', (reason, details) => {
  const ctx = details && details.context;
  const code = ctx && typeof ctx.code === 'number' ? ctx.code : undefined;
  out({ event: 'disconnect', reason, code });
});
socket.onAny((event, data) => out({ event, data, transport: socket.io.engine.transport.name }));

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
  if (cmd.ack) {
    socket.emit(cmd.emit, cmd.data, (resp) => out({ event: 'ack', name: cmd.emit, data: resp }));
    return;
  }
  socket.emit(cmd.emit, cmd.data);
});
rl.on('close', () => {
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
