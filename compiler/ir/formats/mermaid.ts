// The graph as a Mermaid flowchart: one box per node labelled with its op and type, edges along data flow.
//
// Diagram ids are compiler-made (i0 inputs, p0 params, n0 nodes, o0 outputs); user names appear
// only inside quoted labels, where every character outside a small safe set becomes a Mermaid
// entity (`#35;`), so a hostile name cannot end the label or inject diagram syntax. An output
// that aliases a parameter says so in its label and has a dotted edge back to that parameter.

import type { Graph, ValueId } from '../graph.js';
import { formatIrType } from '../print.js';

/** Text safe inside a quoted Mermaid label. */
export function mermaidText(s: string): string {
  let out = '';
  for (const ch of s) out += /^[A-Za-z0-9 _.,:\-[\]]$/.test(ch) ? ch : `#${ch.codePointAt(0)};`;
  return out;
}

function label(name: string, type: string): string {
  return `"${mermaidText(name)}<br/>${mermaidText(type)}"`;
}

export function graphToMermaid(g: Graph): string {
  const ids = new Map<ValueId, string>();
  const lines = ['flowchart TD'];
  g.inputs.forEach((v, k) => {
    ids.set(v.id, `i${k}`);
    lines.push(`  i${k}[/${label(v.name, formatIrType(v.type))}/]`);
  });
  g.params.forEach((v, k) => {
    ids.set(v.id, `p${k}`);
    const text = label(v.name, formatIrType(v.type));
    lines.push(v.trainable ? `  p${k}[(${text})]` : `  p${k}{{${text}}}`);
  });
  g.nodes.forEach((n, k) => {
    lines.push(`  n${k}[${label(n.op, formatIrType(n.type))}]`);
    for (const v of n.inputs) {
      const from = ids.get(v);
      if (from) lines.push(`  ${from} --> n${k}`);
    }
    ids.set(n.id, `n${k}`);
  });
  const paramIds = new Map(g.params.map((p, k) => [p.name, `p${k}`]));
  g.outputs.forEach((o, k) => {
    const alias = o.aliases === undefined ? '' : `<br/>${mermaidText(`aliases %${o.aliases}`)}`;
    lines.push(`  o${k}(["${mermaidText(o.name)}${alias}"])`);
    const from = ids.get(o.value);
    if (from) lines.push(`  ${from} --> o${k}`);
    const target = o.aliases === undefined ? undefined : paramIds.get(o.aliases);
    if (target) lines.push(`  o${k} -.-> ${target}`);
  });
  return `${lines.join('\n')}\n`;
}
