// The textual IR printer: one canonical text per graph, which parse.ts reads back byte for byte.
//
// Canonical form: node results are numbered %0, %1, … by position, so two graphs that differ
// only in their internal value ids print the same text. Inputs and params keep their names.
// The printer is total: it also prints broken graphs (the verifier attaches the text to its
// error), marking what it cannot name (`%?17` for an undefined id, `?` for an unknown type).
// Only valid graphs are promised to parse back.

import type { Graph, Initializer, Loc, Node, ValueId } from './graph.js';
import type { AttrKind, AttrValue } from './ops/op.js';
import { isOpName, opDef } from './ops/registry.js';
import type { TensorType } from './types.js';
import { isDType } from './types.js';

/** Names of graphs, inputs, params, outputs and attribute keys. */
export const IR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.]*$/;

export function isIrName(s: string): boolean {
  return IR_NAME_RE.test(s);
}

/**
 * A float that parses back to the identical double and always reads as a float:
 * `1.0`, `0.5`, `1e-7`, `-0.0`. JavaScript's shortest round-trip digits do the work; an
 * integral result only needs a `.0` so the reader cannot take it for an int.
 */
export function formatFloat(x: number): string {
  if (Object.is(x, -0)) return '-0.0';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const s = String(x);
  return /^-?[0-9]+$/.test(s) ? `${s}.0` : s;
}

/** An untyped number (initializer arguments): integers bare, everything else as a float. */
export function formatNumber(x: number): string {
  return Number.isSafeInteger(x) && !Object.is(x, -0) ? String(x) : formatFloat(x);
}

/** `f32[64,10]`; a malformed type (only in broken graphs) prints as `?`. */
export function formatIrType(t: TensorType | undefined): string {
  if (!t || !Array.isArray(t.shape)) return '?';
  return `${t.dtype}[${t.shape.join(',')}]`;
}

export function formatLoc(loc: Loc): string {
  return `loc(${JSON.stringify(loc.file)}:${loc.line}:${loc.col})`;
}

export function formatInit(init: Initializer): string {
  const keys = Object.keys(init.args).sort();
  if (keys.length === 0) return init.kind;
  return `${init.kind} {${keys.map((k) => `${k} = ${formatNumber(init.args[k]!)}`).join(', ')}}`;
}

/** One attribute value as the schema kind prints it; values that do not fit the kind print generically. */
export function formatAttrValue(kind: AttrKind | null, v: AttrValue): string {
  if (kind === 'float' && typeof v === 'number') return formatFloat(v);
  if (kind === 'int' && typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => (Number.isSafeInteger(x) ? String(x) : typeof x === 'number' ? formatNumber(x) : String(x))).join(', ')}]`;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  return typeof v === 'string' && isDType(v) ? v : JSON.stringify(v);
}

/** `{stride = [1, 1], groups = 1}` in schema order, then any keys the schema lacks; '' when none. */
export function formatAttrs(node: Node): string {
  const schema = isOpName(node.op) ? opDef(node.op).attrs : {};
  const parts: string[] = [];
  for (const [key, spec] of Object.entries(schema)) {
    const v = node.attrs[key];
    if (v !== undefined) parts.push(`${key} = ${formatAttrValue(spec.kind, v)}`);
  }
  for (const [key, v] of Object.entries(node.attrs)) {
    if (!(key in schema)) parts.push(`${key} = ${formatAttrValue(null, v)}`);
  }
  return parts.length === 0 ? '' : ` {${parts.join(', ')}}`;
}

/** How each value id is written: `%name` for inputs and params, `%k` for the k-th node. */
export function valueNames(g: Graph): Map<ValueId, string> {
  const names = new Map<ValueId, string>();
  for (const i of g.inputs) names.set(i.id, `%${i.name}`);
  for (const p of g.params) names.set(p.id, `%${p.name}`);
  g.nodes.forEach((n, k) => names.set(n.id, `%${k}`));
  return names;
}

export function printGraph(g: Graph): string {
  const names = valueNames(g);
  const types = new Map<ValueId, TensorType>();
  for (const v of [...g.inputs, ...g.params, ...g.nodes]) types.set(v.id, v.type);
  const ref = (id: ValueId): string => names.get(id) ?? `%?${id}`;

  const ins = g.inputs.map((i) => `%${i.name}: ${formatIrType(i.type)}`).join(', ');
  const outs = g.outputs.map((o) => `${o.name}: ${formatIrType(types.get(o.value))}${o.aliases === undefined ? '' : ` aliases %${o.aliases}`}`).join(', ');
  const lines = [`graph @${g.name}(${ins}) -> (${outs}) {`];
  for (const p of g.params) {
    lines.push(`  ${p.trainable ? 'param' : 'state'} %${p.name}: ${formatIrType(p.type)} = ${formatInit(p.init)}`);
  }
  g.nodes.forEach((n, k) => {
    const args = n.inputs.map(ref).join(', ');
    const loc = n.loc ? ` ${formatLoc(n.loc)}` : '';
    lines.push(`  %${k} = ${n.op}(${args})${formatAttrs(n)} : ${formatIrType(n.type)}${loc}`);
  });
  lines.push(g.outputs.length === 0 ? '  return' : `  return ${g.outputs.map((o) => ref(o.value)).join(', ')}`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
