#!/usr/bin/env node
// The smallest UDP "DNS server" Node can run: every datagram goes back unchanged but for the QR
// (response) bit. The benchmark measures it like the real servers, as the floor of what Node's own
// UDP receive and send path costs per query.
//
//   node bench/floor-server.mjs PORT        (listens on 127.0.0.1:PORT, prints nothing)
import dgram from 'node:dgram';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node bench/floor-server.mjs PORT');
  process.exit(2);
}
const sock = dgram.createSocket('udp4');
sock.on('message', (m, rinfo) => {
  if (m.length < 12) return;
  m[2] |= 0x80;
  sock.send(m, rinfo.port, rinfo.address);
});
sock.bind(port, '127.0.0.1');
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
