// Helper process for the namespace tests (plain JS: starts fast, no tsx).
// `node netns-udp.mjs recv PORT`: prints every datagram received on 0.0.0.0:PORT and [::]:PORT as
//   one line `<payload>`; prints `ready` first.
// `node netns-udp.mjs send`: reads lines `<source> <destination> <port> <payload>` on stdin and sends
//   one datagram each, bound to <source> (an address of this namespace); prints `sent <payload>`.
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const [role, portText] = process.argv.slice(2);
if (role === 'recv') {
  const port = Number(portText);
  let ready = 0;
  for (const type of ['udp4', 'udp6']) {
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    socket.on('message', (msg) => process.stdout.write(`${msg.toString('utf8')}\n`));
    socket.bind(port, type === 'udp4' ? '0.0.0.0' : '::', () => {
      if (++ready === 2) process.stdout.write('ready\n');
    });
  }
} else if (role === 'send') {
  const sockets = new Map();
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  for await (const line of lines) {
    const [source, destination, port, payload] = line.trim().split(' ');
    const type = source.includes(':') ? 'udp6' : 'udp4';
    let socket = sockets.get(source);
    if (!socket) {
      socket = dgram.createSocket(type);
      await new Promise((resolve) => socket.bind(0, source, resolve));
      sockets.set(source, socket);
    }
    socket.send(payload, Number(port), destination, (error) =>
      process.stdout.write(`${error ? `error ${error.message}` : 'sent'} ${payload}\n`),
    );
  }
  for (const s of sockets.values()) s.close();
} else {
  process.stderr.write('usage: netns-udp.mjs recv PORT | send\n');
  process.exit(2);
}
