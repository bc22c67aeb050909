/**
 * The difference between the keys wanted and the keys in etcd, as the operations that turn
 * one into the other (pure). Puts come before deletes, and a batch never deletes a key before
 * every put of the batches before it landed: a name whose key is replaced by another never
 * disappears, and no stale key survives a completed reconcile.
 */

export interface Op {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The value to put (puts only). */
  readonly value?: string;
}

export function diffKeys(wanted: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>): Op[] {
  const ops: Op[] = [];
  for (const [key, value] of wanted) if (actual.get(key) !== value) ops.push({ type: 'put', key, value });
  for (const key of actual.keys()) if (!wanted.has(key)) ops.push({ type: 'delete', key });
  return ops;
}

/** Splits operations into transactions of at most `max` (etcd's --max-txn-ops is 128 by default). */
export function batches(ops: readonly Op[], max = 100): Op[][] {
  const out: Op[][] = [];
  for (let i = 0; i < ops.length; i += max) out.push(ops.slice(i, i + max));
  return out;
}
