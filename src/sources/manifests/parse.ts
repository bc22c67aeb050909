/**
 * Manifest files (YAML, multi-document, or JSON) to slim cluster objects.
 *
 * Kinds DNS reads (Namespace, Service, Endpoints, EndpointSlice, Pod) are validated and
 * converted; every other kind is skipped. `List` and `<Kind>List` documents are unpacked,
 * recursively. Each problem becomes one ManifestError naming the file, the 1-based YAML
 * document, the line of the offending field, the object and the field path.
 */
import jsyaml from 'js-yaml';
import type { Document, LineCounter } from 'yaml';
import { yaml } from '../../config/yaml.js';
import { DocumentOrigin, type ClusterObject, type Origin } from '../../records/objects.js';
import { convertObject, describeObject, isRecord, knownKind } from './kinds.js';
import { compact } from '../../records/compact.js';

export { canonicalIP } from '../../dns/ip.js';

export interface ManifestError {
  readonly file: string;
  /** 1-based index of the YAML document in the file. */
  readonly document: number;
  /** 1-based line of the offending field (or of the nearest enclosing one), when known. */
  readonly line?: number;
  readonly reason: string;
}

export interface ParseResult {
  readonly objects: ClusterObject[];
  readonly errors: ManifestError[];
}

/** "examples/x.yaml document 2 (line 14): Service default/web: spec.ports[0].port: expected integer 1-65535, got 0" */
export function formatManifestError(e: ManifestError): string {
  const line = e.line === undefined ? '' : ` (line ${e.line})`;
  return `${e.file} document ${e.document}${line}: ${e.reason}`;
}

type Path = readonly (string | number)[];

/**
 * Parses one file. Files that are valid take the fast path (js-yaml, about eight times faster
 * than a parse that keeps source positions, and without a syntax tree held per document);
 * a file with any problem is parsed again with positions, so every error names its line.
 */
export function parseManifests(text: string, file: string): ParseResult {
  return parseFast(text, file) ?? parseWithPositions(text, file);
}

/** The objects of a file with no problem at all, or null at the first problem of any kind. */
export function parseFast(text: string, file: string): ParseResult | null {
  const objects: ClusterObject[] = [];
  let ok = true;
  let document = 0;
  const fail = (): void => {
    ok = false;
  };
  try {
    jsyaml.loadAll(text, (value) => {
      document++;
      if (!ok || value == null) return;
      collect(value, [], undefined, undefined, new DocumentOrigin(file, document), objects, fail);
    });
  } catch {
    return null;
  }
  return ok ? { objects, errors: [] } : null;
}

export function parseWithPositions(text: string, file: string): ParseResult {
  const objects: ClusterObject[] = [];
  const errors: ManifestError[] = [];
  const { LineCounter, parseAllDocuments } = yaml();
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: true });

  docs.forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        errors.push({ file, document, line: e.linePos?.[0].line, reason: `YAML syntax error: ${firstLine(e.message)}` });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      errors.push({ file, document, line: lineOf(doc, lineCounter, []), reason: `YAML: ${(err as Error).message}` });
      return;
    }
    if (value == null) return; // an empty document

    const origin: Origin = new DocumentOrigin(file, document);
    const fail = (path: Path, reason: string): void => {
      errors.push({ file, document, line: lineOf(doc, lineCounter, path), reason });
    };
    collect(value, [], undefined, undefined, origin, objects, fail);
  });
  return { objects, errors };
}

/**
 * Converts one object (or the items of a list) found at `path` in a document. `itemKind` and
 * `itemApiVersion` are what a typed list (ServiceList) implies for items that do not say.
 */
function collect(
  value: unknown,
  path: Path,
  itemKind: string | undefined,
  itemApiVersion: string | undefined,
  origin: Origin,
  out: ClusterObject[],
  fail: (path: Path, reason: string) => void,
): void {
  if (!isRecord(value)) {
    fail(path, joinPath(path, `expected a Kubernetes object (a mapping), got ${Array.isArray(value) ? 'a list' : String(value)}`));
    return;
  }
  const kind = value.kind ?? itemKind;
  if (kind === undefined || kind === null || kind === '') {
    fail(path, joinPath([...path, 'kind'], 'is required'));
    return;
  }
  if (typeof kind !== 'string') {
    fail([...path, 'kind'], joinPath([...path, 'kind'], `expected a string, got ${String(kind)}`));
    return;
  }
  const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : itemApiVersion;

  if (kind === 'List' || (kind.endsWith('List') && value.items !== undefined)) {
    const items = value.items;
    if (items == null) return;
    if (!Array.isArray(items)) {
      fail([...path, 'items'], joinPath([...path, 'items'], 'expected a list'));
      return;
    }
    // Items of a typed list (ServiceList) may leave out kind and apiVersion; a plain List's own
    // apiVersion says nothing about its items.
    const typed = kind !== 'List';
    const elementKind = typed ? kind.slice(0, -'List'.length) : undefined;
    const elementApiVersion = typed ? apiVersion : undefined;
    items.forEach((item, i) => collect(item, [...path, 'items', i], elementKind, elementApiVersion, origin, out, fail));
    return;
  }

  const known = knownKind(kind, apiVersion);
  if (known === null) return; // a kind DNS does not read
  const result = convertObject(known, value, origin);
  if (result.ok) {
    for (const o of result.objects) out.push(compact(detachStrings(o)));
    return;
  }
  const name = describeObject(known, value);
  for (const issue of result.issues) {
    fail([...path, ...issue.path], `${name}: ${joinPath(issue.path, issue.message)}`);
  }
}

/**
 * Gives every string an object keeps a copy of its own. The YAML parser cuts scalars out of the
 * file's text as V8 sliced strings, each of which keeps the whole text alive: without this, a
 * cluster's objects pin every manifest file they came from (21 MB for the 100,000-endpoint scale
 * cluster). Strings under 13 characters are copied by V8 already. Mutates and returns o.
 */
function detachStrings<T>(o: T): T {
  const walk = (v: Record<string, unknown> | unknown[]): void => {
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'string') {
        if (x.length >= 13) (v as Record<string, unknown>)[k] = JSON.parse(JSON.stringify(x));
      } else if (x !== null && typeof x === 'object' && !(x instanceof DocumentOrigin)) walk(x as Record<string, unknown>); // an origin's file is not from the text
    }
  };
  walk(o as Record<string, unknown>);
  return o;
}

/** "spec.ports[0].port: message", or "metadata.name is required" for messages starting with "is ". */
function joinPath(path: Path, message: string): string {
  if (path.length === 0) return message;
  const where = formatPath(path);
  return message.startsWith('is ') ? `${where} ${message}` : `${where}: ${message}`;
}

function formatPath(path: Path): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** The line of the node at `path`, or of its nearest ancestor that exists in the document. */
function lineOf(doc: Document, lineCounter: LineCounter, path: Path): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (yaml().isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').trim();
}
