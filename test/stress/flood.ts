/**
 * A UDP flood in a process of its own (so the process measuring latency stays idle):
 * `node --import tsx test/stress/flood.ts PORT SECONDS [HOST] [WINDOW]` sends the case table's
 * cluster queries as fast as replies come back, WINDOW in flight over 4 sockets (lost ones
 * are written off after 100 ms), then prints one JSON line: sent, replies, seconds.
 */
import dgram from 'node:dgram';
import { buildQuery } from '../helpers/dns-client.js';
import { GOOD_CASES } from './lib.js';

const [port, seconds, host = '127.0.0.1', windowArg = '256'] = process.argv.slice(2);
const window = Number(windowArg);
const msgs = GOOD_CASES.map((c) => buildQuery(c.qname, c.qtype));
const socks = Array.from({ length: 4 }, () => dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4'));
const perSock = Math.ceil(window / socks.length);
let sent = 0;
let replies = 0;
let i = 0;
const end = performance.now() + Number(seconds) * 1000;
const inFlight = socks.map(() => 0);
const sendOn = (k: number) => {
  while (inFlight[k] < perSock && performance.now() < end) {
    socks[k].send(msgs[i++ % msgs.length], Number(port), host);
    inFlight[k]++;
    sent++;
  }
};
socks.forEach((s, k) => {
  s.on('error', () => undefined);
  s.on('message', () => {
    replies++;
    inFlight[k]--;
    sendOn(k);
  });
});
// Lost replies would stall a window: every 100 ms what is still out is written off.
const timer = setInterval(() => {
  if (performance.now() >= end) {
    clearInterval(timer);
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify({ sent, replies, seconds: Number(seconds) })}\n`);
      for (const s of socks) s.close();
    }, 200);
    return;
  }
  socks.forEach((_, k) => {
    inFlight[k] = 0;
    sendOn(k);
  });
}, 100);
socks.forEach((_, k) => sendOn(k));
