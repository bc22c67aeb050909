import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseManifests } from './parse.js';

/*
 * Property-based fuzz target for the manifest parser (fast-check): any text, and real manifests
 * with characters replaced, cut or repeated, give objects and errors, never a throw; every error
 * names its file, document and reason, and nothing half-valid becomes an object.
 */

const EXAMPLES = join(import.meta.dirname, '../../../examples/cluster');
const texts = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(EXAMPLES, f), 'utf8'));
const KINDS = new Set(['Namespace', 'Service', 'EndpointSlice', 'Pod']);
const FILE = 'fuzz.yaml';

function checkResult(text: string): void {
  const r = parseManifests(text, FILE);
  for (const e of r.errors) {
    assert.equal(e.file, FILE);
    assert.ok(Number.isInteger(e.document) && e.document >= 1, `document ${e.document}`);
    assert.ok(e.reason.length > 0, 'an error without a reason');
  }
  for (const o of r.objects) {
    assert.ok(KINDS.has(o.kind), `unexpected kind ${o.kind}`);
    assert.ok(o.name.length > 0, 'an object without a name');
  }
}

const piece = fc.constantFrom(':', ' ', '\n', '-', '[', ']', '{', '}', '"', "'", '#', '&a', '*a', '!!str ', '---\n', '0', '65536', 'None', '\t', '?', '|', '>');
const mutation = fc.tuple(fc.nat(), fc.nat(8), fc.array(piece, { maxLength: 3 }));

test('fuzz: the manifest parser takes any text without throwing', () => {
  fc.assert(fc.property(fc.string({ maxLength: 400 }), checkResult), { numRuns: 1500, seed: 20261126 });
});

test('fuzz: real manifests with pieces replaced give errors with a place, or valid objects, never a throw', () => {
  fc.assert(
    fc.property(fc.constantFrom(...texts), fc.array(mutation, { minLength: 1, maxLength: 4 }), (text, muts) => {
      let t = text;
      for (const [at, drop, add] of muts) {
        const i = at % (t.length + 1);
        t = t.slice(0, i) + add.join('') + t.slice(i + drop);
      }
      checkResult(t);
    }),
    { numRuns: 1500, seed: 20261126 },
  );
});
