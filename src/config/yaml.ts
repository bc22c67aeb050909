import { createRequire } from 'node:module';

/**
 * The `yaml` library (YAML with source positions), loaded on first use. Only a config file and
 * manifests with problems (whose errors name lines) need it; a server that has neither is spared
 * the 9 MB of memory its code takes once loaded.
 */
export type Yaml = typeof import('yaml');

const require = createRequire(import.meta.url);
let lib: Yaml | undefined;

export function yaml(): Yaml {
  return (lib ??= require('yaml') as Yaml);
}
