import type { ExplainObject, ExplainResult } from './explain.js';

/** An explain result as a report for a person at a terminal. */

const OUTCOME: Record<ExplainResult['outcome'], string> = {
  answered: 'resolves',
  nodata: 'exists, but has no records of this type (NOERROR, empty answer)',
  nxdomain: 'does not resolve: none of the names tried exists in the cluster',
  forwarded: 'is not in the cluster: the upstream answers it',
  refused: 'is refused: outside the cluster, and no upstream to ask',
  servfail: 'fails (SERVFAIL): the server is not ready',
};

function objectLine(o: ExplainObject): string {
  const id = o.namespace ? `${o.namespace}/${o.name}` : o.name;
  const src = o.source ? ` [${o.source}${o.ref ? `: ${o.ref}` : ''}]` : '';
  return `${o.kind} ${id}${src}\n      why: ${o.why}`;
}

export function formatExplain(r: ExplainResult): string {
  const out: string[] = [];
  out.push(`${r.query.name} ${r.query.type}, asked by a pod in namespace ${r.query.namespace}`);
  out.push(`search ${r.search.join(' ')}  (ndots:${r.ndots})`);
  out.push('');
  const width = Math.max(...r.tries.map((t) => t.name.length));
  r.tries.forEach((t, i) => {
    const rcode = t.rcode ?? 'FORWARDED';
    const note = t.note ? `  ${t.note}` : '';
    out.push(`  ${i + 1}. ${t.name.padEnd(width)}  ${rcode}${note}`);
    for (const a of t.answer) out.push(`       ${a}`);
  });
  out.push('');
  const refusedToo = r.outcome === 'nxdomain' && r.tries.some((t) => t.handledBy === 'none') ? '; names outside the cluster are REFUSED here (no upstream)' : '';
  out.push(`Result: ${r.query.name} ${OUTCOME[r.outcome]}${r.answeredBy ? ` as ${r.answeredBy}` : ''}${refusedToo}`);
  if (r.objects.length > 0) {
    out.push(r.outcome === 'answered' ? 'Answered from:' : 'The name belongs to:');
    for (const o of r.objects) out.push(`  - ${objectLine(o)}`);
  }
  if (r.reasons.length > 0) {
    out.push('Why:');
    for (const x of r.reasons) out.push(`  - ${x.message}${x.object?.source ? ` [${x.object.source}${x.object.ref ? `: ${x.object.ref}` : ''}]` : ''}`);
  }
  if (r.nearest.length > 0) {
    out.push('Nearest names that exist:');
    const w = Math.max(...r.nearest.map((n) => n.name.length));
    for (const n of r.nearest) out.push(`  - ${n.name.padEnd(w)}  ${n.message}`);
  }
  return `${out.join('\n')}\n`;
}
