// The textual IR printer: one canonical text per graph, which parse.ts reads back byte for byte.
//
// Canonical form: node results are numbered %0, %1, … by position, so two graphs that differ
// only in their internal value ids print the same text. Inputs and params keep their names.
// The printer is total: it also prints broken graphs (the verifier attaches the text to its
// error), marking what it cannot name (`%?17` for an undefined id, `?` for an unknown type).
// Only valid graphs are promised to parse back.
//
// After fusion the same text shows the kernels: `kernel @k0 { … }` blocks around contiguous
// runs of node statements, and after memory planning a `memory { … }` table after the graph
// with each stored node value's size, where it lives (a byte offset in the arena, `at half`
// an offset in the half arena where it is stored as f16, or in a param's storage when it
// updates the param in place) and its live range in kernels. Both
// parse back; what a pass derives from them (kinds, inputs) is printed only as comments.

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

/** A kernel of a fused graph: its nodes, contiguous in node order; `note` is printed as a comment. */
export interface KernelBlock {
  readonly name: string;
  readonly nodes: readonly ValueId[];
  readonly note?: string;
}

/** One row of the memory table: a stored node value, its bytes, place and live range (kernel indices). */
export interface MemoryRow {
  readonly value: ValueId;
  readonly bytes: number;
  /** A byte offset in the arena, in the half arena (an f32 value stored as f16), or the param whose storage it updates in place. */
  readonly at: { readonly offset: number } | { readonly half: number } | { readonly param: string };
  readonly first: number;
  readonly last: number;
}

/** What a fused, planned program adds to a graph's text. */
export interface IrLayout {
  readonly kernels?: readonly KernelBlock[];
  readonly memory?: readonly MemoryRow[];
}

/** How each value id is written: `%name` for inputs and params, `%k` for the k-th node. */
export function valueNames(g: Graph): Map<ValueId, string> {
  const names = new Map<ValueId, string>();
  for (const i of g.inputs) names.set(i.id, `%${i.name}`);
  for (const p of g.params) names.set(p.id, `%${p.name}`);
  g.nodes.forEach((n, k) => names.set(n.id, `%${k}`));
  return names;
}

export function printGraph(g: Graph, layout: IrLayout = {}): string {
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
  const opens = new Map<ValueId, KernelBlock>();
  const closes = new Set<ValueId>();
  for (const k of layout.kernels ?? []) {
    if (k.nodes.length === 0) continue;
    opens.set(k.nodes[0]!, k);
    closes.add(k.nodes[k.nodes.length - 1]!);
  }
  let indent = '  ';
  g.nodes.forEach((n, k) => {
    const block = opens.get(n.id);
    if (block) {
      lines.push(`  kernel @${block.name} {${block.note ? `  // ${block.note}` : ''}`);
      indent = '    ';
    }
    const args = n.inputs.map(ref).join(', ');
    const loc = n.loc ? ` ${formatLoc(n.loc)}` : '';
    lines.push(`${indent}%${k} = ${n.op}(${args})${formatAttrs(n)} : ${formatIrType(n.type)}${loc}`);
    if (closes.has(n.id)) {
      lines.push('  }');
      indent = '  ';
    }
  });
  lines.push(g.outputs.length === 0 ? '  return' : `  return ${g.outputs.map((o) => ref(o.value)).join(', ')}`);
  lines.push('}');
  if (layout.memory) {
    lines.push('memory {');
    for (const r of layout.memory) {
      const at = 'offset' in r.at ? `at ${r.at.offset}` : 'half' in r.at ? `at half ${r.at.half}` : `in %${r.at.param}`;
      lines.push(`  ${ref(r.value)}: ${r.bytes} bytes ${at}, live ${r.first} to ${r.last}`);
    }
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}
