// The graph verifier: every invariant of the IR, checked after each pass in tests (and with SINTER_VERIFY=1).
//
// Invariants: value ids unique; each node input defined by an input, a param or an earlier
// node (SSA dominance in one block); ops known, with their arity and attribute schema; each
// node's type equal to its op's type rule; valid tensor types; outputs defined and uniquely
// named; each output alias names a param of the output's type, no param aliased twice;
// input/param names unique and printable; initializers known with finite arguments;
// locations well-formed. A graph that passes prints to text that parses back.

import type { Graph, GraphOutput, GraphParam, Loc, ValueId } from './graph.js';
import { INIT_KINDS } from './graph.js';
import type { Attrs } from './ops/op.js';
import { OpTypeError, checkAttrs } from './ops/op.js';
import type { OpName } from './ops/registry.js';
import { inferType, isOpName, opDef } from './ops/registry.js';
import { formatIrType, isIrName, printGraph } from './print.js';
import type { TensorType } from './types.js';
import { MAX_RANK, checkedNumel, isDType, typesEqual } from './types.js';

/** The problems of a graph, each naming the value or node at fault; empty when the graph is valid. */
export function verifyGraph(g: Graph): string[] {
  return new Verifier(g).run();
}

/** Throws an `internal:` error naming the pass, the problems and the printed IR when `g` is invalid. */
export function assertVerified(g: Graph, afterPass: string): void {
  const problems = verifyGraph(g);
  if (problems.length > 0) {
    throw new Error(`internal: verifier failed after ${afterPass}: ${problems.join('; ')}\n${printGraph(g)}`);
  }
}

/** Why a tensor type is malformed, or null when it is fine. */
export function typeProblem(t: TensorType): string | null {
  if (!t || typeof t !== 'object') return 'has no type';
  if (!isDType(t.dtype)) return `has unknown dtype '${String(t.dtype)}'`;
  if (!Array.isArray(t.shape)) return 'has a shape that is not a list';
  if (t.shape.length > MAX_RANK) return `has rank ${t.shape.length}, over the limit of ${MAX_RANK}`;
  if (t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return `has invalid shape [${t.shape.join(', ')}]`;
  if (checkedNumel(t.shape) === null) return `has too many elements: ${formatIrType(t)}`;
  return null;
}

/** Why a location is malformed, or null when it is fine. */
export function locProblem(loc: Loc): string | null {
  if (typeof loc.file !== 'string' || loc.file === '') return 'loc has an empty file name';
  if (!Number.isSafeInteger(loc.line) || loc.line < 1) return `loc line ${loc.line} is not a positive integer`;
  if (!Number.isSafeInteger(loc.col) || loc.col < 1) return `loc column ${loc.col} is not a positive integer`;
  return null;
}

class Verifier {
  private readonly problems: string[] = [];
  /** What defined each id so far, for duplicate reports. */
  private readonly owners = new Map<ValueId, string>();
  /** Types of the values defined so far, in order; null when the type itself is malformed. */
  private readonly defined = new Map<ValueId, TensorType | null>();
  /** Ids of all nodes, to tell a use before definition from a use of nothing. */
  private readonly nodeIds: Set<ValueId>;
  private readonly names = new Map<string, string>();

  constructor(private readonly g: Graph) {
    this.nodeIds = new Set(g.nodes.map((n) => n.id));
  }

  run(): string[] {
    const g = this.g;
    if (typeof g.name !== 'string' || !isIrName(g.name)) this.problems.push(`graph name ${JSON.stringify(g.name)} is not a valid name`);
    for (const i of g.inputs) this.declare(i.id, i.name, i.type, `input %${i.name}`);
    for (const p of g.params) {
      const what = `param %${p.name}`;
      this.declare(p.id, p.name, p.type, what);
      this.checkInit(p.init.kind, p.init.args, what);
      if (typeof p.trainable !== 'boolean') this.problems.push(`${what}: trainable must be true or false`);
    }
    for (let k = 0; k < g.nodes.length; k++) this.checkNode(k);
    this.checkOutputs();
    return this.problems;
  }

  private claimId(id: ValueId, what: string): void {
    if (!Number.isSafeInteger(id) || id < 0) this.problems.push(`${what}: id ${id} is not a non-negative integer`);
    const prev = this.owners.get(id);
    if (prev !== undefined) this.problems.push(`${what}: id ${id} is already used by ${prev}`);
    else this.owners.set(id, what);
  }

  private declare(id: ValueId, name: string, type: TensorType, what: string): void {
    this.claimId(id, what);
    if (typeof name !== 'string' || !isIrName(name)) this.problems.push(`${what}: name ${JSON.stringify(name)} is not a valid name`);
    const prev = this.names.get(name);
    if (prev !== undefined) this.problems.push(`${what}: name '${name}' is already used by ${prev}`);
    else this.names.set(name, what);
    const bad = typeProblem(type);
    if (bad) this.problems.push(`${what} ${bad}`);
    this.defined.set(id, bad ? null : type);
  }

  private checkInit(kind: string, args: Readonly<Record<string, number>>, what: string): void {
    if (!(INIT_KINDS as readonly string[]).includes(kind)) this.problems.push(`${what}: unknown initializer '${kind}'`);
    for (const [key, v] of Object.entries(args)) {
      if (!isIrName(key)) this.problems.push(`${what}: initializer argument name ${JSON.stringify(key)} is not a valid name`);
      if (typeof v !== 'number' || !Number.isFinite(v)) this.problems.push(`${what}: initializer argument '${key}' is ${String(v)}, not a finite number`);
    }
  }

  private checkNode(k: number): void {
    const n = this.g.nodes[k]!;
    const what = `node %${k} (${n.op}, id ${n.id})`;
    this.claimId(n.id, what);
    const inTypes: TensorType[] = [];
    let inputsOk = true;
    n.inputs.forEach((id, j) => {
      const t = this.defined.get(id);
      if (t === undefined) {
        const why = this.nodeIds.has(id) ? 'is used before its definition' : 'is not defined';
        this.problems.push(`${what}: input ${j} (id ${id}) ${why}`);
        inputsOk = false;
      } else if (t === null) inputsOk = false;
      else inTypes.push(t);
    });
    const bad = typeProblem(n.type);
    if (bad) this.problems.push(`${what} ${bad}`);
    if (n.loc !== undefined) {
      const badLoc = locProblem(n.loc);
      if (badLoc) this.problems.push(`${what}: ${badLoc}`);
    }
    this.defined.set(n.id, bad ? null : n.type);
    if (!isOpName(n.op)) {
      this.problems.push(`${what}: unknown op '${String(n.op)}'`);
      return;
    }
    const arity = opDef(n.op).arity;
    if (arity === 'variadic' ? n.inputs.length === 0 : n.inputs.length !== arity) {
      this.problems.push(`${what}: takes ${arity === 'variadic' ? 'at least one input' : `${arity} input(s)`}, got ${n.inputs.length}`);
      return;
    }
    if (!this.attrsOk(n.op, n.attrs, what) || !inputsOk || bad) return;
    try {
      const inferred = inferType(n.op, inTypes, n.attrs);
      if (!typesEqual(inferred, n.type)) this.problems.push(`${what}: type is ${formatIrType(n.type)} but the type rule gives ${formatIrType(inferred)}`);
    } catch (e) {
      if (!(e instanceof OpTypeError)) throw e;
      this.problems.push(`${what}: type rule rejects it: ${e.message}`);
    }
  }

  private attrsOk(op: OpName, attrs: Attrs, what: string): boolean {
    const schema = opDef(op).attrs;
    // checkAttrs tests keys with `in`, which would accept inherited names such as 'constructor'.
    const foreign = Object.keys(attrs).filter((key) => !Object.hasOwn(schema, key));
    if (foreign.length > 0) {
      this.problems.push(`${what}: unknown attribute '${foreign[0]}'`);
      return false;
    }
    const bad = checkAttrs(schema, attrs);
    if (bad) this.problems.push(`${what}: ${bad}`);
    return bad === null;
  }

  private checkOutputs(): void {
    const seen = new Set<string>();
    const params = new Map(this.g.params.map((p) => [p.name, p]));
    const aliased = new Map<string, string>();
    this.g.outputs.forEach((o, k) => {
      const what = `output ${k} '${o.name}'`;
      if (typeof o.name !== 'string' || !isIrName(o.name)) this.problems.push(`output ${k}: name ${JSON.stringify(o.name)} is not a valid name`);
      if (seen.has(o.name)) this.problems.push(`${what}: the name is used by an earlier output`);
      seen.add(o.name);
      if (!this.defined.has(o.value)) this.problems.push(`${what}: value id ${o.value} is not defined`);
      if (o.aliases !== undefined) this.checkAlias(o, what, params, aliased);
    });
  }

  private checkAlias(o: GraphOutput, what: string, params: ReadonlyMap<string, GraphParam>, aliased: Map<string, string>): void {
    const target = o.aliases;
    const param = typeof target === 'string' ? params.get(target) : undefined;
    if (target === undefined || !param) {
      this.problems.push(`${what}: aliases ${JSON.stringify(target)}, which is not a parameter of the graph`);
      return;
    }
    const t = this.defined.get(o.value);
    if (t && !typesEqual(t, param.type)) this.problems.push(`${what}: has type ${formatIrType(t)} but aliases param %${target} of type ${formatIrType(param.type)}`);
    const prev = aliased.get(target);
    if (prev !== undefined) this.problems.push(`${what}: param %${target} is already aliased by output '${prev}'`);
    else aliased.set(target, o.name);
  }
}
