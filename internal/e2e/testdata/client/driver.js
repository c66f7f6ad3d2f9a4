// Drives the official socket.io-client for internal/e2e: the built walletgate
// binary, reached directly or through nginx.
//
//   node driver.js URL MODE
//
// URL is the front's base URL plus the namespace path ("http://h:p" for
// "/", "http://h:p/btc" for "/btc"). MODE is
//   websocket  transports: ['websocket'] (how the Bitweb wallet connects)
//   polling    transports: ['polling'], never upgraded
//   upgrade    polling first, then the upgrade to websocket
// Every event the client sees is printed as one JSON line on stdout, with
// the Engine.IO transport in use when it was seen:
//   {"event":"open","transport":"polling"}
//   {"event":"connect","transport":"..."}
//   {"event":"upgrade","transport":"websocket"}
//   {"event":"<name>","data":<payload>,"transport":"..."}
//   {"event":"connect_error","message":"..."}
//   {"event":"upgrade_error","message":"..."}    (the websocket probe failed)
//   {"event":"disconnect","reason":"..."}
// Commands are read from stdin, one JSON object per line:
//   {"emit":"subscribe","data":{...}}   emits an event
//   {"exit":true}                       disconnects and exits
'use strict';
const { io } = require('socket.io-client');
const readline = require('readline');

const modes = {
  websocket: { transports: ['websocket'], upgrade: false },
  polling: { transports: ['polling'], upgrade: false },
  upgrade: { transports: ['polling', 'websocket'], upgrade: true },
};
const [url, mode] = process.argv.slice(2);
if (!url || !modes[mode]) {
  process.stderr.write('usage: node driver.js URL websocket|polling|upgrade\n');
  process.exit(2);
}

const socket = io(url, {
  transports: modes[mode].transports,
  upgrade: modes[mode].upgrade,
  rememberUpgrade: false,
  reconnection: false,
  timeout: 10000,
});

const transport = () => (socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : null);
const out = (obj) => process.stdout.write(JSON.stringify(Object.assign(obj, { transport: transport() })) + '\n');

// "websocket error" alone hides the cause; the transport error's
// description carries it (e.g. "Unexpected server response: 500").
const describe = (err) => {
  if (!err) return String(err);
  const d = err.description;
  const cause = d && (d.message || (d.error && d.error.message));
  return cause ? `${err.message}: ${cause}` : String(err.message || err);
};

socket.io.on('open', () => {
  out({ event: 'open' });
  socket.io.engine.on('upgrade', () => out({ event: 'upgrade' }));
  socket.io.engine.on('upgradeError', (err) => out({ event: 'upgrade_error', message: describe(err) }));
});
socket.on('connect', () => out({ event: 'connect' }));
socket.on('connect_error', (err) => out({ event: 'connect_error', message: describe(err) }));
socket.on('disconnect', (reason) => out({ event: 'disconnect', reason }));
socket.onAny((event, data) => out({ event, data }));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (cmd.exit) {
    rl.close();
    return;
  }
  socket.emit(cmd.emit, cmd.data);
});
rl.on('close', () => {
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
