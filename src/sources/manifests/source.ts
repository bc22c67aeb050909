/**
 * A directory of manifest files as a live source of cluster objects.
 *
 * Every .yaml, .yml and .json file under the directory (recursively; dotfiles and dot
 * directories such as editor swap files and ConfigMap volume internals are skipped) is parsed
 * into slim objects. Changes are seen through fs.watch and, as a safety net for missed
 * events, a periodic stat-only rescan; both end in the same rescan, which re-parses only the
 * files that changed and delivers the difference to the sink as one batch.
 *
 * A file is applied as a unit: a version with any error is not applied and the file keeps
 * its last good objects (on the first load there is none, so its valid objects are used).
 * When two files define the same object, the file later in path order wins.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Logger } from 'pino';
import { type ClusterObject, objectKey } from '../../records/objects.js';
import type { ObjectSink, Source, SourceStatus } from '../source.js';
import { formatManifestError, type ManifestError, parseManifests } from './parse.js';

export interface ManifestSourceOptions {
  readonly dir: string;
  readonly sink: ObjectSink;
  readonly logger: Logger;
  /** Interval of the stat-only rescan, in ms (default 1000). */
  readonly pollMs?: number;
  /**
   * Watch the directory with fs.watch (default true). Without it, changes are seen by the
   * rescan alone: for file systems that deliver no change events (NFS, some container mounts).
   */
  readonly watch?: boolean;
  /**
   * Quiet time after the last watch event before rescanning, in ms (default 10): long enough to
   * gather the events of one save (an editor's write and rename arrive within a millisecond or
   * two), short enough to keep a change's time to answer well under 100 ms under load.
   */
  readonly debounceMs?: number;
  /** Clock for status().lastChange (default Date.now). */
  readonly now?: () => number;
}

/** How long a file that a change left empty must stay empty before its objects are removed. */
const EMPTY_SETTLE_MS = 100;

/** The manifest directory is missing or unreadable; raised by start(). */
export class ManifestDirectoryError extends Error {
  readonly code = 'CLUSTERDNS_ERR_MANIFESTS_DIR';
  readonly dir: string;

  constructor(dir: string, cause: unknown) {
    super(`manifest directory ${dir} ${describeFsError(cause)} (check the --manifests path)`, { cause });
    this.name = 'ManifestDirectoryError';
    this.dir = dir;
  }
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** What the rescan compares to decide whether a file must be read again. */
interface FileStat {
  readonly mtimeMs: number;
  readonly size: number;
  readonly ino: number;
}

interface FileState {
  /** null when the file could not be read: it is retried on every rescan. */
  readonly stat: FileStat | null;
  /** What the file contributes: its last good version (or, from the first load, its valid objects). */
  readonly objects: readonly ClusterObject[];
  /** The first error of the current version, '' when it is good. */
  readonly error: string;
}

export class ManifestSource implements Source {
  readonly #dir: string;
  readonly #sink: ObjectSink;
  readonly #log: Logger;
  readonly #pollMs: number;
  readonly #debounceMs: number;
  readonly #useWatch: boolean;
  readonly #now: () => number;

  /** Per file path (dir joined with the relative path). */
  readonly #files = new Map<string, FileState>();
  /**
   * The files as they were when their objects were last delivered to the sink. What was delivered
   * is merged again from these when a change needs the difference, rather than held between
   * changes: an index of a large cluster's objects by key costs 7 MB for 75,000 objects.
   */
  #delivered = new Map<string, FileState>();
  /** How many objects were last delivered. */
  #deliveredCount = 0;
  /** Duplicate definitions already warned about: "<key>\0<losing file>\0<winning file>". */
  #duplicates = new Set<string>();

  /**
   * One watcher per directory: a recursive fs.watch on Linux stops reporting a file once an
   * editor has replaced it by rename, while a directory's own watch reports every rename into it.
   */
  readonly #watchers = new Map<string, FSWatcher>();
  /** The directories the last listing walked. */
  #dirs = new Set<string>();
  #watchError = '';
  #pollTimer: NodeJS.Timeout | null = null;
  #debounceTimer: NodeJS.Timeout | null = null;
  /** Files found emptied by a change, by when: applied only once they stay empty (see #load). */
  #emptied = new Map<string, number>();
  #emptyTimer: NodeJS.Timeout | null = null;
  /** Paths named by watch events since the last rescan: read again even if their stat looks unchanged. */
  #dirty = new Set<string>();
  #scanning: Promise<void> | null = null;
  #scanAgain = false;
  #started = false;
  #stopped = false;

  #synced = false;
  #lastChange = 0;
  #scanError = '';
  #sinkError = '';
  /** The sink threw: deliver everything again with reset() on the next rescan. */
  #resetPending = false;

  constructor(options: ManifestSourceOptions) {
    this.#dir = options.dir;
    this.#sink = options.sink;
    this.#log = options.logger.child({ source: 'manifests' });
    this.#pollMs = options.pollMs ?? 1000;
    this.#debounceMs = options.debounceMs ?? 10;
    this.#useWatch = options.watch ?? true;
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('ManifestSource.start() called twice');
    this.#started = true;
    const listing = await this.#list(); // rejects with ManifestDirectoryError
    let errors = 0;
    for (const [path, st] of listing) errors += await this.#load(path, st, true);
    const merged = this.#merge();
    this.#deliverReset(merged);
    this.#synced = true;
    this.#log.info(
      { dir: this.#dir, files: listing.size, objects: merged.size, errors },
      `loaded ${merged.size} objects from ${listing.size} manifest files in ${this.#dir}`,
    );
    if (this.#stopped) return; // stopped while loading
    if (this.#useWatch) this.#syncWatchers();
    this.#pollTimer = setInterval(() => this.#poll(), this.#pollMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#debounceTimer) clearTimeout(this.#debounceTimer);
    if (this.#emptyTimer) clearTimeout(this.#emptyTimer);
    this.#pollTimer = null;
    this.#debounceTimer = null;
    this.#closeWatch();
    await this.#scanning;
  }

  status(): SourceStatus {
    return {
      name: 'manifests',
      synced: this.#synced,
      lastChange: this.#lastChange,
      lastError: this.#currentError(),
      objects: this.#deliveredCount,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Watching

  /** Watches every listed directory, and stops watching the ones that are gone. */
  #syncWatchers(): void {
    for (const [dir, watcher] of this.#watchers) {
      if (this.#dirs.has(dir)) continue;
      this.#watchers.delete(dir);
      closeQuietly(watcher);
    }
    for (const dir of this.#dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, (_event, filename) => this.#onWatchEvent(dir, filename));
        watcher.on('error', (err) => {
          this.#noteWatchError(err);
          // Set up again by the next poll.
          if (this.#watchers.get(dir) === watcher) this.#watchers.delete(dir);
          closeQuietly(watcher);
        });
        this.#watchers.set(dir, watcher);
      } catch (err) {
        this.#noteWatchError(err);
        return;
      }
    }
    if (this.#watchError !== '') {
      this.#log.info({ dir: this.#dir }, `watching ${this.#dir} again`);
      this.#watchError = '';
    }
  }

  #closeWatch(): void {
    for (const watcher of this.#watchers.values()) closeQuietly(watcher);
    this.#watchers.clear();
  }

  #noteWatchError(err: unknown): void {
    const message = `cannot watch ${this.#dir}: ${describeFsError(err)}; changes are seen by the ${this.#pollMs} ms rescan`;
    if (message !== this.#watchError) this.#log.warn({ dir: this.#dir, err }, message);
    this.#watchError = message;
  }

  #onWatchEvent(dir: string, filename: string | Buffer | null): void {
    try {
      if (this.#stopped) return;
      if (filename) this.#dirty.add(join(dir, filename.toString()));
      if (this.#debounceTimer) clearTimeout(this.#debounceTimer);
      this.#debounceTimer = setTimeout(() => {
        this.#debounceTimer = null;
        this.#requestScan();
      }, this.#debounceMs);
    } catch (err) {
      this.#log.error({ err }, 'handling a manifest watch event failed');
    }
  }

  #poll(): void {
    if (this.#stopped) return;
    if (this.#useWatch) this.#syncWatchers();
    this.#requestScan();
  }

  /** Runs a rescan now, or once more after the running one: rescans never overlap. */
  #requestScan(): void {
    if (this.#stopped) return;
    if (this.#scanning) {
      this.#scanAgain = true;
      return;
    }
    this.#scanning = (async () => {
      do {
        this.#scanAgain = false;
        try {
          await this.#rescan();
        } catch (err) {
          this.#scanError = `rescanning ${this.#dir} failed: ${(err as Error).message}`;
          this.#log.error({ err }, this.#scanError);
        }
      } while (this.#scanAgain && !this.#stopped);
    })().finally(() => {
      this.#scanning = null;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Scanning

  async #rescan(): Promise<void> {
    let listing: Map<string, FileStat>;
    try {
      listing = await this.#list();
    } catch (err) {
      // Keep serving what was loaded: a directory that vanishes for a moment (a remount, a
      // volume update) must not empty the zone.
      const message = (err as Error).message;
      if (message !== this.#scanError) this.#log.warn({ dir: this.#dir, err }, `${message}; keeping the last loaded objects`);
      this.#scanError = message;
      return;
    }
    if (this.#useWatch && !this.#stopped) this.#syncWatchers();
    if (this.#scanError !== '') {
      this.#log.info({ dir: this.#dir }, `manifest directory ${this.#dir} is readable again`);
      this.#scanError = '';
    }
    if (this.#stopped) return;

    const dirty = this.#dirty;
    this.#dirty = new Set();
    let changed = false;
    for (const path of [...this.#files.keys()]) {
      if (!listing.has(path)) {
        this.#files.delete(path);
        this.#log.info({ file: path }, `manifest file ${path} removed`);
        changed = true;
      }
    }
    for (const [path, st] of listing) {
      const prev = this.#files.get(path);
      if (prev?.stat && sameStat(prev.stat, st) && !dirty.has(path)) continue;
      await this.#load(path, st, false);
      changed ||= this.#files.get(path) !== prev;
    }
    if (this.#stopped) return;
    if (this.#resetPending) {
      this.#deliverReset(this.#merge());
    } else if (changed) {
      this.#deliverDiff(this.#merge());
    }
  }

  /** Stats every manifest file under the directory, in path order. */
  async #list(): Promise<Map<string, FileStat>> {
    const found: { rel: string; stat: FileStat }[] = [];
    const dirs = new Set<string>();
    const visited = new Set<string>(); // directories by device and inode: symlinks may loop
    const walk = async (rel: string, isRoot: boolean): Promise<void> => {
      const abs = rel === '' ? this.#dir : join(this.#dir, rel);
      let entries;
      try {
        const dirStat = await stat(abs);
        const id = `${dirStat.dev}:${dirStat.ino}`;
        if (visited.has(id)) return;
        visited.add(id);
        entries = await readdir(abs, { withFileTypes: true });
        dirs.add(abs);
      } catch (err) {
        if (isRoot) throw new ManifestDirectoryError(this.#dir, err);
        return; // a subdirectory removed while scanning: the next rescan sees the result
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const childRel = rel === '' ? entry.name : join(rel, entry.name);
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        if (entry.isSymbolicLink()) {
          // ConfigMap volumes present their files as symlinks into a hidden ..data directory.
          try {
            const target = await stat(join(this.#dir, childRel));
            isDir = target.isDirectory();
            isFile = target.isFile();
          } catch {
            continue; // a dangling link
          }
        }
        if (isDir) {
          await walk(childRel, false);
        } else if (isFile && EXTENSIONS.has(extname(entry.name).toLowerCase())) {
          try {
            const s = await stat(join(this.#dir, childRel));
            found.push({ rel: childRel, stat: { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino } });
          } catch {
            // removed between readdir and stat
          }
        }
      }
    };
    await walk('', true);
    this.#dirs = dirs;
    found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    return new Map(found.map((f) => [join(this.#dir, f.rel), f.stat]));
  }

  /**
   * Reads and parses one file and records what it contributes. Returns the number of errors.
   * `initial` is the first load, where a file with errors contributes its valid objects.
   */
  async #load(path: string, st: FileStat, initial: boolean): Promise<number> {
    const prev = this.#files.get(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#files.delete(path); // removed since it was listed
        return 0;
      }
      const error = `manifest file ${path} ${describeFsError(err)}`;
      if (error !== prev?.error) this.#log.warn({ file: path, err }, error);
      this.#files.set(path, { stat: null, objects: prev?.objects ?? [], error });
      return 1;
    }

    // A file rewritten in place (truncated, then written) is empty for a moment; a scan that
    // lands in that moment must not take its objects away. An emptied file is applied once it
    // has stayed empty for EMPTY_SETTLE_MS.
    if (!initial && prev && prev.objects.length > 0 && text.trim() === '') {
      const since = this.#emptied.get(path) ?? this.#emptied.set(path, Date.now()).get(path)!;
      if (Date.now() - since < EMPTY_SETTLE_MS) {
        this.#files.set(path, { stat: null, objects: prev.objects, error: prev.error });
        this.#emptyTimer ??= setTimeout(() => {
          this.#emptyTimer = null;
          this.#requestScan();
        }, EMPTY_SETTLE_MS);
        return 0;
      }
    }
    this.#emptied.delete(path);

    const { objects, errors } = parseManifests(text, path);
    if (errors.length === 0) {
      if (prev && prev.error !== '') this.#log.info({ file: path }, `manifest file ${path} is valid again`);
      this.#files.set(path, { stat: st, objects, error: '' });
      return 0;
    }
    for (const e of errors) this.#warn(e);
    const kept = initial ? objects : (prev?.objects ?? []);
    this.#files.set(path, { stat: st, objects: kept, error: formatManifestError(errors[0]) });
    if (!initial) {
      this.#log.info(
        { file: path, errors: errors.length, objects: kept.length },
        `manifest file ${path} not applied (${errors.length} ${errors.length === 1 ? 'error' : 'errors'}); keeping its last good version`,
      );
    }
    return errors.length;
  }

  #warn(e: ManifestError): void {
    this.#log.warn({ file: e.file, document: e.document, line: e.line, reason: e.reason }, formatManifestError(e));
  }

  // -------------------------------------------------------------------------------------------
  // Merging and delivery

  /**
   * All files' objects by key; a later file in path order overrides an earlier one. Warns of
   * duplicates in the current files (not when merging what was delivered before).
   */
  #merge(files: ReadonlyMap<string, FileState> = this.#files): Map<string, ClusterObject> {
    const current = files === this.#files;
    const merged = new Map<string, ClusterObject>();
    const owners = new Map<string, string>();
    const duplicates = new Set<string>();
    const paths = [...files.keys()].sort();
    for (const path of paths) {
      for (const object of files.get(path)!.objects) {
        const key = objectKey(object);
        const owner = owners.get(key);
        if (owner !== undefined && current) {
          const id = `${key}\0${owner}\0${path}`;
          duplicates.add(id);
          if (!this.#duplicates.has(id)) {
            const where = owner === path ? `twice in ${path}` : `in ${owner} and ${path}`;
            this.#log.warn({ key, files: [owner, path] }, `${key} is defined ${where}; using the one in ${path}`);
          }
        }
        merged.set(key, object);
        owners.set(key, path);
      }
    }
    if (current) this.#duplicates = duplicates;
    return merged;
  }

  #deliverReset(merged: Map<string, ClusterObject>): void {
    try {
      this.#sink.reset([...merged.values()]);
      this.#sinkError = '';
      this.#resetPending = false;
    } catch (err) {
      this.#sinkFailed(err);
    }
    this.#delivered = new Map(this.#files);
    this.#deliveredCount = merged.size;
    this.#lastChange = this.#now();
  }

  #deliverDiff(merged: Map<string, ClusterObject>): void {
    const before = this.#merge(this.#delivered);
    const upserts: ClusterObject[] = [];
    const deletes: string[] = [];
    for (const [key, object] of merged) {
      const old = before.get(key);
      if (old !== object && (old === undefined || JSON.stringify(old) !== JSON.stringify(object))) upserts.push(object);
    }
    for (const key of before.keys()) if (!merged.has(key)) deletes.push(key);
    this.#delivered = new Map(this.#files);
    this.#deliveredCount = merged.size;
    if (upserts.length === 0 && deletes.length === 0) return;
    try {
      this.#sink.apply(upserts, deletes);
      this.#sinkError = '';
    } catch (err) {
      this.#sinkFailed(err);
    }
    this.#lastChange = this.#now();
    this.#log.info({ upserts: upserts.length, deletes: deletes.length }, 'applied manifest changes');
  }

  #sinkFailed(err: unknown): void {
    this.#sinkError = `delivering manifest objects failed: ${(err as Error).message}`;
    this.#resetPending = true;
    this.#log.error({ err }, `${this.#sinkError}; delivering everything again on the next rescan`);
  }

  /** The most pressing current problem, '' when everything loaded. */
  #currentError(): string {
    if (this.#sinkError) return this.#sinkError;
    if (this.#scanError) return this.#scanError;
    for (const path of [...this.#files.keys()].sort()) {
      const error = this.#files.get(path)!.error;
      if (error) return error;
    }
    return this.#watchError;
  }
}

function sameStat(a: FileStat, b: FileStat): boolean {
  return a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

function describeFsError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'is not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    default:
      return `cannot be read: ${(err as Error)?.message ?? String(err)}`;
  }
}

function closeQuietly(watcher: FSWatcher): void {
  try {
    watcher.close();
  } catch {
    // Already closed.
  }
}
