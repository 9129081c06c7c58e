// A readable listing of a kernel program: buffers with their placement, then each kernel's expressions.
//
// For people and dumps, not for parsing back (the fused graph's text is the form that parses
// back; this listing is derived from it). Inside a kernel, `v<id>` are index variables,
// `in<k>[offset]` loads from the k-th bound buffer, and every reduction or expression used more
// than once is named `t<id>` on a line of its own before its first use.

import type { ValueId } from '../ir/graph.js';
import { formatIrType, formatLoc } from '../ir/print.js';
import { numel } from '../ir/types.js';
import type { Expr } from './expr.js';
import { children, topoOrder } from './expr.js';
import type { KBuffer, KernelProgram } from './program.js';

const INFIX: Partial<Record<string, string>> = { add: '+', sub: '-', mul: '*', div: '/', floordiv: '//', mod: '%', less: '<', greater: '>', equal: '==', and: '&&' };

function bufferName(b: KBuffer, names: ReadonlyMap<ValueId, string>): string {
  const p = b.placement;
  return p.kind === 'input' || p.kind === 'param' ? `%${p.name}` : (names.get(b.value) ?? `%?${b.value}`);
}

function placement(b: KBuffer): string {
  const p = b.placement;
  switch (p.kind) {
    case 'input':
      return 'input';
    case 'param':
      return 'param';
    case 'arena':
      return `arena @${p.offset}`;
    case 'half-arena':
      return `f16 in half arena @${p.offset}`;
    case 'in-param':
      return `in %${p.name}`;
    default:
      return p satisfies never;
  }
}

/** One expression in infix form; named nodes print as their names. */
function show(e: Expr, named: ReadonlyMap<number, string>, top = true): string {
  const name = named.get(e.id);
  if (name !== undefined && !top) return name;
  const sub = (x: Expr): string => show(x, named, false);
  switch (e.kind) {
    case 'const':
      return e.type === 'bool' ? String(e.value === 1) : e.type === 'i32' ? String(e.value) : `${Object.is(e.value, -0) ? '-0.0' : String(e.value)}${e.type === 'f64' ? 'd' : ''}`;
    case 'var':
      return `v${e.v.id}`;
    case 'load':
      return `in${e.slot}[${show(e.offset, named)}]`;
    case 'unary':
      return e.fn === 'neg' ? `-(${sub(e.x)})` : e.fn === 'not' ? `!(${sub(e.x)})` : `${e.fn}(${sub(e.x)})`;
    case 'binary': {
      const op = INFIX[e.fn];
      return op ? `(${sub(e.a)} ${op} ${sub(e.b)})` : `${e.fn}(${sub(e.a)}, ${sub(e.b)})`;
    }
    case 'select':
      return `(${sub(e.cond)} ? ${sub(e.a)} : ${sub(e.b)})`;
    case 'cast':
      return `${e.type}(${sub(e.x)})`;
    case 'reduce': {
      const vars = e.vars.map((v) => `v${v.id}<${v.extent}`).join(', ');
      const where = e.where ? ` | ${sub(e.where)}` : '';
      const init = e.init ? `, from ${sub(e.init)}` : '';
      return `${e.fn}.${e.type}[${vars}${where}${init}](${sub(e.body)})`;
    }
    default:
      return e satisfies never;
  }
}

export function printKernelProgram(p: KernelProgram, names: ReadonlyMap<ValueId, string>): string {
  const lines = [`program @${p.name}: ${p.kernels.length} kernels, arena ${p.arenaBytes} bytes`];
  for (const b of p.buffers) lines.push(`  buffer ${b.id} ${bufferName(b, names)}: ${formatIrType(b.type)} (${placement(b)})`);
  for (const k of p.kernels) {
    const ins = k.inputs.map((id, i) => `in${i} = ${bufferName(p.buffers[id]!, names)}`).join(', ');
    const outs = k.outputs.map((id) => bufferName(p.buffers[id]!, names)).join(', ');
    const loc = k.loc ? ` ${formatLoc(k.loc)}` : '';
    if (k.kind === 'op') {
      lines.push(`kernel ${k.name} op ${k.op} (${ins}) -> (${outs})${loc}`);
      continue;
    }
    const space = `[${k.space.join(',')}] (${numel(k.space)} points; ${k.vars.map((v) => `v${v.id}`).join(', ')})`;
    lines.push(`kernel ${k.name} ${k.kind} over ${space} (${ins}) -> (${outs})${loc}`);
    const order = topoOrder(k.values);
    const uses = new Map<number, number>();
    for (const e of order) for (const c of children(e)) uses.set(c.id, (uses.get(c.id) ?? 0) + 1);
    const named = new Map<number, string>();
    for (const e of order) {
      const shared = (uses.get(e.id) ?? 0) > 1 && e.kind !== 'const' && e.kind !== 'var';
      if (e.kind !== 'reduce' && !shared) continue;
      const text = show(e, named);
      named.set(e.id, `t${e.id}`);
      lines.push(`  t${e.id} = ${text}`);
    }
    k.values.forEach((v, i) => lines.push(`  ${outs.split(', ')[i]} = ${show(v, named)}`));
  }
  return `${lines.join('\n')}\n`;
}
