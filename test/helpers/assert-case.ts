import assert from 'node:assert/strict';
import type { Case } from './spec-cases.js';
import type { Reply } from './dns-client.js';

const sorted = (xs: readonly string[]) => [...xs].sort();

/** Compares a reply with a case: rcode, and each section as a set of zone-file lines. */
export function assertCase(r: Reply, c: Case, where: string): void {
  const label = `${where}: ${c.name} (${c.qname} ${c.qtype})`;
  assert.equal(r.rcode, c.rcode, `${label}: rcode`);
  assert.deepEqual(sorted(r.answer), sorted(c.answer), `${label}: answer`);
  assert.deepEqual(sorted(r.ns), sorted(c.ns ?? []), `${label}: authority`);
  assert.deepEqual(sorted(r.extra), sorted(c.extra ?? []), `${label}: additional`);
  if (c.rcode === 'NOERROR' || c.rcode === 'NXDOMAIN') assert.ok(r.aa, `${label}: AA set`);
}
