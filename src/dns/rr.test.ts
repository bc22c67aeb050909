import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4Number } from './rr.js';

test('ipv4Number reads a dotted address as one unsigned 32-bit number', () => {
  const cases: [string, number][] = [
    ['0.0.0.0', 0],
    ['10.96.0.1', 0x0a600001],
    ['192.168.1.2', 0xc0a80102],
    ['255.255.255.255', 0xffffffff],
    ['1.2.3.4', 0x01020304],
  ];
  for (const [ip, n] of cases) assert.equal(ipv4Number(ip), n, ip);
});
