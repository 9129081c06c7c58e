// The graph in Graphviz DOT: one box per node labelled with its op and type, edges along data flow.
//
// Node ids are compiler-made (i0 inputs, p0 params, n0 nodes, o0 outputs); user names appear
// only inside quoted labels, escaped so that no name can close the string or smuggle in a
// DOT escape such as `\N`; other control characters show as `\xNN` text. An output that
// aliases a parameter says so in its label and has a dashed edge back to that parameter.

import type { Graph, ValueId } from '../graph.js';
import { formatIrType } from '../print.js';

/** Text safe inside a quoted DOT string. */
export function dotText(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (c < 0x20 || c === 0x7f) out += `\\\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

function label(name: string, type: string): string {
  return `"${dotText(name)}\\n${dotText(type)}"`;
}

export function graphToDot(g: Graph): string {
  const ids = new Map<ValueId, string>();
  const lines = ['digraph sinter {', `  label="@${dotText(g.name)}";`, '  node [fontname="monospace"];'];
  g.inputs.forEach((v, k) => {
    ids.set(v.id, `i${k}`);
    lines.push(`  i${k} [shape=invhouse, label=${label(v.name, formatIrType(v.type))}];`);
  });
  g.params.forEach((v, k) => {
    ids.set(v.id, `p${k}`);
    lines.push(`  p${k} [shape=cylinder, style=${v.trainable ? 'solid' : 'dashed'}, label=${label(v.name, formatIrType(v.type))}];`);
  });
  g.nodes.forEach((n, k) => {
    lines.push(`  n${k} [shape=box, label=${label(n.op, formatIrType(n.type))}];`);
    for (const v of n.inputs) {
      const from = ids.get(v);
      if (from) lines.push(`  ${from} -> n${k};`);
    }
    ids.set(n.id, `n${k}`);
  });
  const paramIds = new Map(g.params.map((p, k) => [p.name, `p${k}`]));
  g.outputs.forEach((o, k) => {
    const alias = o.aliases === undefined ? '' : `\\n${dotText(`aliases %${o.aliases}`)}`;
    lines.push(`  o${k} [shape=house, label="${dotText(o.name)}${alias}"];`);
    const from = ids.get(o.value);
    if (from) lines.push(`  ${from} -> o${k};`);
    const target = o.aliases === undefined ? undefined : paramIds.get(o.aliases);
    if (target) lines.push(`  o${k} -> ${target} [style=dashed];`);
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
