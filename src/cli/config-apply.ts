import { Command, InvalidArgumentError } from 'commander';
import type { ConfigIssue, LoadedConfig } from '../config/file.js';

/** Flags that may be given more than once: a list in the file is one value each. */
const REPEATABLE = new Set(['listen', 'stub-domain']);

/** The keys a config file may use for this command: its long flags without the dashes (not `config` itself). */
export function configKeys(cmd: Command): Set<string> {
  return new Set(cmd.options.map((o) => (o.long ?? '').replace(/^--/, '')).filter((k) => k !== '' && k !== 'config'));
}

/**
 * Checks every value of the file with its flag's own parser. With `apply`, values are set on
 * the command where neither a flag nor an environment variable gave one (flags > environment >
 * file > defaults). Returns the problems found, each naming its key and place.
 */
export function applyConfig(cmd: Command, cfg: LoadedConfig, apply: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [key, raw] of cfg.values) {
    const opt = cmd.options.find((o) => o.long === `--${key}`);
    if (!opt) continue;
    const attr = opt.attributeName();
    const at = cfg.positions.get(key) ?? {};
    const fail = (reason: string) => issues.push({ key, ...at, reason });
    let parsed: unknown;
    try {
      if (!opt.required && !opt.optional) {
        if (typeof raw !== 'boolean') {
          fail('expected true or false');
          continue;
        }
        parsed = raw;
      } else {
        const items = typeof raw === 'boolean' ? [String(raw)] : Array.isArray(raw) ? (REPEATABLE.has(key) ? raw : [raw.join(',')]) : [raw];
        parsed = undefined;
        for (const item of items) parsed = opt.parseArg ? opt.parseArg(item, parsed as never) : item;
        if (opt.argChoices && !opt.argChoices.includes(String(parsed))) {
          fail(`expected one of ${opt.argChoices.join(', ')}, got '${String(parsed)}'`);
          continue;
        }
      }
    } catch (e) {
      fail(e instanceof InvalidArgumentError ? e.message : String(e));
      continue;
    }
    const source = cmd.getOptionValueSource(attr);
    if (apply && source !== 'cli' && source !== 'env') cmd.setOptionValueWithSource(attr, parsed, 'config');
  }
  return issues;
}
