// Graph views: JSON keeps every field in a stable order; Mermaid and DOT have one line per node and edge, and escape names.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/graph.js';
import { graphToDot } from '../../compiler/ir/formats/dot.js';
import { graphToJson } from '../../compiler/ir/formats/json.js';
import { graphToMermaid } from '../../compiler/ir/formats/mermaid.js';
import { opDef } from '../../compiler/ir/ops/registry.js';
import { formatIrType } from '../../compiler/ir/print.js';
import { arbGraph } from '../helpers/random-graph.js';

/** The graph as plain data, with -0 read as 0 (the one value JSON cannot keep). */
function plain(g: Graph): unknown {
  const fix = (v: unknown): unknown =>
    typeof v === 'number' && Object.is(v, -0) ? 0 : Array.isArray(v) ? v.map(fix) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)])) : v;
  return fix(g);
}

/** Diagram id of each value: i<k> inputs, p<k> params, n<k> nodes, as both views promise. */
function diagramIds(g: Graph): Map<number, string> {
  const ids = new Map<number, string>();
  g.inputs.forEach((v, k) => ids.set(v.id, `i${k}`));
  g.params.forEach((v, k) => ids.set(v.id, `p${k}`));
  g.nodes.forEach((v, k) => ids.set(v.id, `n${k}`));
  return ids;
}

/**
 * The edges a graph must show, as `from to` pairs, in node order and then output order; an
 * output that aliases a param also has an edge back to it (`o<k> p<j>`, drawn dashed).
 */
function expectedEdges(g: Graph): string[] {
  const ids = diagramIds(g);
  const paramIds = new Map(g.params.map((p, k) => [p.name, `p${k}`]));
  const outputEdges = g.outputs.flatMap((o, k) => [`${ids.get(o.value)} o${k}`, ...(o.aliases === undefined ? [] : [`o${k} ${paramIds.get(o.aliases)}`])]);
  return [...g.nodes.flatMap((n, k) => n.inputs.map((v) => `${ids.get(v)} n${k}`)), ...outputEdges];
}

/** An output's label: its name, and the param it aliases on a second line. */
function outputLabel(o: Graph['outputs'][number]): string {
  return o.aliases === undefined ? o.name : `${o.name}\naliases %${o.aliases}`;
}

const decodeMermaid = (s: string): string => s.replace(/#(\d+);/g, (_, c: string) => String.fromCodePoint(Number(c)));
const decodeDot = (s: string): string => s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

interface Parsed {
  readonly shapes: Map<string, string>;
  readonly labels: Map<string, string>;
  readonly edges: string[];
}

/** Reads a Mermaid chart back; every line must be a declaration or an edge, so nothing was injected. */
function readMermaid(text: string): Parsed {
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toBe('flowchart TD');
  const shapes = new Map<string, string>();
  const labels = new Map<string, string>();
  const edges: string[] = [];
  for (const line of lines.slice(1)) {
    const edge = /^ {2}([ipn]\d+) --> ([no]\d+)$/.exec(line) ?? /^ {2}(o\d+) -\.-> (p\d+)$/.exec(line);
    const decl = /^ {2}([ipno]\d+)(\[\/|\[\(|\{\{|\(\[|\[)"([^"]*)"(\/\]|\)\]|\}\}|\]\)|\])$/.exec(line);
    expect(edge ?? decl, line).not.toBeNull();
    if (edge) edges.push(`${edge[1]} ${edge[2]}`);
    if (decl) {
      shapes.set(decl[1]!, decl[2]!);
      labels.set(decl[1]!, decodeMermaid(decl[3]!).replaceAll('<br/>', '\n'));
    }
  }
  return { shapes, labels, edges };
}

/** Reads a DOT graph back the same way. */
function readDot(text: string): Parsed {
  const lines = text.trimEnd().split('\n');
  expect(lines.slice(0, 3).map((l) => l.replace(/label=".*"/, 'label=…'))).toEqual(['digraph sinter {', '  label=…;', '  node [fontname="monospace"];']);
  expect(lines.at(-1)).toBe('}');
  const shapes = new Map<string, string>();
  const labels = new Map<string, string>();
  const edges: string[] = [];
  for (const line of lines.slice(3, -1)) {
    const edge = /^ {2}([ipn]\d+) -> ([no]\d+);$/.exec(line) ?? /^ {2}(o\d+) -> (p\d+) \[style=dashed\];$/.exec(line);
    const decl = /^ {2}([ipno]\d+) \[shape=(\w+)(?:, style=\w+)?, label="((?:[^"\\\n]|\\.)*)"\];$/.exec(line);
    expect(edge ?? decl, line).not.toBeNull();
    if (edge) edges.push(`${edge[1]} ${edge[2]}`);
    if (decl) {
      shapes.set(decl[1]!, decl[2]!);
      labels.set(decl[1]!, decodeDot(decl[3]!));
    }
  }
  return { shapes, labels, edges };
}

/** Both views: one declaration per value and output, labels `name/op + type`, and exactly the data-flow edges. */
function checkDiagram(g: Graph, d: Parsed, nodeShape: string): void {
  expect(d.edges).toEqual(expectedEdges(g));
  expect(d.labels.size).toBe(g.inputs.length + g.params.length + g.nodes.length + g.outputs.length);
  g.inputs.forEach((v, k) => expect(d.labels.get(`i${k}`)).toBe(`${v.name}\n${formatIrType(v.type)}`));
  g.params.forEach((v, k) => expect(d.labels.get(`p${k}`)).toBe(`${v.name}\n${formatIrType(v.type)}`));
  g.nodes.forEach((n, k) => {
    expect(d.labels.get(`n${k}`)).toBe(`${n.op}\n${formatIrType(n.type)}`);
    expect(d.shapes.get(`n${k}`)).toBe(nodeShape);
  });
  g.outputs.forEach((o, k) => expect(d.labels.get(`o${k}`)).toBe(outputLabel(o)));
  // Inputs, params and nodes are told apart by shape.
  if (g.inputs.length > 0) expect(d.shapes.get('i0')).not.toBe(nodeShape);
  if (g.params.length > 0) expect(d.shapes.get('p0')).not.toBe(nodeShape);
}

/** A graph whose user-given names are arbitrary strings (the builder does not check names). */
function namedGraph(graphName: string, input: string, param: string, output: string): Graph {
  const b = new GraphBuilder(graphName);
  const x = b.input(input, { dtype: 'f32', shape: [2] });
  const w = b.param(param, { dtype: 'f32', shape: [2] }, { kind: 'zeros', args: {} }, false);
  b.output(output, b.op('add', [x, w]));
  return b.build();
}

const HOSTILE = ['x"]-->n0\n%%', 'w\\N"; click n0 call alert()', '<b>#35;&amp;</b>', 'a\nb;c', 'ünï😀', '"', '\\', ''];

describe('graphToJson', () => {
  it('keeps every field of random graphs, in a fixed key order (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        const doc = JSON.parse(graphToJson(g)) as Record<string, unknown> & { params: Record<string, unknown>[]; nodes: Record<string, unknown>[] };
        expect(doc).toEqual(plain(g));
        expect(Object.keys(doc)).toEqual(['name', 'inputs', 'params', 'nodes', 'outputs']);
        for (const p of doc.params) {
          expect(Object.keys(p)).toEqual(['id', 'name', 'type', 'init', 'trainable']);
          const args = Object.keys((p['init'] as { args: object }).args);
          expect(args).toEqual([...args].sort());
        }
        doc.nodes.forEach((n, k) => {
          expect(Object.keys(n)).toEqual(g.nodes[k]!.loc ? ['id', 'op', 'inputs', 'attrs', 'type', 'loc'] : ['id', 'op', 'inputs', 'attrs', 'type']);
          expect(Object.keys(n['attrs'] as object)).toEqual(Object.keys(opDef(g.nodes[k]!.op).attrs));
        });
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('is stable: attribute and argument insertion order does not change the text', () => {
    const build = (flip: boolean): Graph => {
      const b = new GraphBuilder('S');
      const x = b.input('x', { dtype: 'f32', shape: [2, 3] });
      const args = flip ? { fan_out: 3, fan_in: 2 } : { fan_in: 2, fan_out: 3 };
      const w = b.param('w', { dtype: 'f32', shape: [3, 2] }, { kind: 'glorot_normal', args });
      const attrs = flip ? { transpose_b: false, transpose_a: false } : { transpose_a: false, transpose_b: false };
      b.output('y', b.op('matmul', [x, w], attrs));
      return b.build();
    };
    expect(graphToJson(build(true))).toBe(graphToJson(build(false)));
    expect(graphToJson(build(true))).toMatch(/"transpose_a": false,\s*"transpose_b": false/);
  });

  it('writes hostile names as JSON strings that read back exactly', () => {
    const g = namedGraph(HOSTILE[0]!, HOSTILE[1]!, HOSTILE[2]!, HOSTILE[3]!);
    expect(JSON.parse(graphToJson(g))).toEqual(plain(g));
  });
});

describe('graphToMermaid and graphToDot', () => {
  it('draw one line per value and per edge for random graphs (200 graphs)', () => {
    fc.assert(
      fc.property(arbGraph(), (g) => {
        checkDiagram(g, readMermaid(graphToMermaid(g)), '[');
        checkDiagram(g, readDot(graphToDot(g)), 'box');
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('escape hostile names: they stay inside their labels and decode to themselves', () => {
    for (const name of HOSTILE) {
      const g = namedGraph(name, name, `${name}.w`, name);
      checkDiagram(g, readMermaid(graphToMermaid(g)), '[');
      checkDiagram(g, readDot(graphToDot(g)), 'box');
      expect(graphToDot(g).split('\n')[1]).toBe(`  label="@${name.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}";`);
    }
  });

  it('escape any string of code units in Mermaid, and any string without control characters in DOT (300 names)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (name) => {
        const g = namedGraph(name, name, name, name);
        checkDiagram(g, readMermaid(graphToMermaid(g)), '[');
        const printable = name.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '');
        const h = namedGraph(printable, printable, printable, printable);
        checkDiagram(h, readDot(graphToDot(h)), 'box');
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('show DOT control characters as visible \\xNN text', () => {
    const g = namedGraph('G', 'bell\u0007', 'w', 'y');
    expect(graphToDot(g)).toContain('label="bell\\\\x07\\nf32[2]"');
  });
});
