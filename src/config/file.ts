import { readFileSync } from 'node:fs';
import { yaml } from './yaml.js';
import { z } from 'zod';

/**
 * The config file (`--config FILE`, YAML). Its keys are the long flags of `clusterdns serve`
 * without the dashes in front (`domain`, `listen`, `stub-domain`, ...), and each value is what
 * the flag takes: a scalar, or a list for a flag that repeats (or takes a comma list). The file's
 * shape is checked here with a schema; each value is then checked by the same parser the flag
 * uses, so a value means exactly the same in the file and on the command line.
 */

export interface ConfigIssue {
  readonly key: string;
  readonly line?: number;
  readonly col?: number;
  readonly reason: string;
}

export interface LoadedConfig {
  readonly path: string;
  /** Values by key, as text (lists as arrays of text), ready for the flag parsers. */
  readonly values: ReadonlyMap<string, string | boolean | string[]>;
  readonly issues: ConfigIssue[];
  /** Line and column of each key, for messages about values that fail their parser later. */
  readonly positions: ReadonlyMap<string, { line: number; col: number }>;
  readonly text: string;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const value = z.union([scalar, z.array(z.union([z.string(), z.number()])), z.record(z.string(), z.union([z.string(), z.array(z.string())]))]);

/** Reads and checks the shape of a config file; `keys` are the keys the file may use. */
export function loadConfig(path: string, keys: ReadonlySet<string>): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { path, values: new Map(), positions: new Map(), text: '', issues: [{ key: '', reason: `cannot read the file: ${(e as Error).message}` }] };
  }
  return parseConfig(path, text, keys);
}

export function parseConfig(path: string, text: string, keys: ReadonlySet<string>): LoadedConfig {
  const { LineCounter, parseDocument, isNode } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const issues: ConfigIssue[] = [];
  const positions = new Map<string, { line: number; col: number }>();
  const values = new Map<string, string | boolean | string[]>();
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    issues.push({ key: '', line: pos.line, col: pos.col, reason: `YAML: ${e.message.split('\n')[0]}` });
  }
  if (issues.length > 0) return { path, values, positions, issues, text };
  const root = doc.toJS() as unknown;
  if (root == null) return { path, values, positions, issues, text };
  const schema = z.record(z.string(), value);
  const shape = schema.safeParse(root);
  const where = (key: string) => {
    const node = doc.getIn([key], true);
    const pair = isNode(node) && node.range ? lines.linePos(node.range[0]) : undefined;
    return pair ? { line: pair.line, col: pair.col } : {};
  };
  if (!shape.success) {
    for (const issue of shape.error.issues) {
      const key = String(issue.path[0] ?? '');
      issues.push({ key, ...where(key), reason: key ? 'expected a string, number, boolean, list or map' : 'expected a map of settings' });
    }
    return { path, values, positions, issues, text };
  }
  for (const [key, v] of Object.entries(shape.data)) {
    const pos = where(key);
    if (pos.line !== undefined) positions.set(key, { line: pos.line, col: pos.col! });
    if (!keys.has(key)) {
      issues.push({ key, ...pos, reason: 'not a setting (settings are the long flags of `clusterdns serve`, without the dashes)' });
      continue;
    }
    if (typeof v === 'boolean') values.set(key, v);
    else if (Array.isArray(v)) values.set(key, v.map(String));
    else if (typeof v === 'object') values.set(key, Object.entries(v).map(([d, ups]) => `${d}=${Array.isArray(ups) ? ups.join(',') : ups}`));
    else values.set(key, String(v));
  }
  return { path, values, positions, issues, text };
}

export function formatIssue(path: string, i: ConfigIssue): string {
  const at = i.line !== undefined ? `${path}:${i.line}:${i.col ?? 1}` : path;
  return `${at}: ${i.key ? `${i.key}: ` : ''}${i.reason}`;
}
