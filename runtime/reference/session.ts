// The reference backend: runs a graph on the reference interpreter, op by op, on the host.

import type { Graph } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interpret.js';
import type { Tensor } from '../../compiler/ir/tensor.js';
import { formatType, typesEqual } from '../../compiler/ir/types.js';
import type { Backend, Session } from '../session.js';

class ReferenceSession implements Session {
  private params = new Map<string, Tensor>();

  constructor(readonly graph: Graph) {}

  setParams(params: ReadonlyMap<string, Tensor>): void {
    for (const p of this.graph.params) {
      const t = params.get(p.name);
      if (!t) continue;
      if (!typesEqual(t.type, p.type)) throw new Error(`parameter '${p.name}' must be ${formatType(p.type)}, got ${formatType(t.type)}`);
      this.params.set(p.name, t);
    }
  }

  getParams(): Map<string, Tensor> {
    return new Map(this.params);
  }

  run(inputs: ReadonlyMap<string, Tensor>, fetch: readonly string[]): Map<string, Tensor> {
    const missing = this.graph.params.find((p) => !this.params.has(p.name));
    if (missing) throw new Error(`internal: parameter '${missing.name}' was never set`);
    const { outputs } = interpret(this.graph, { inputs, params: this.params });
    for (const o of this.graph.outputs) if (o.aliases !== undefined) this.params.set(o.aliases, outputs.get(o.name)!);
    return new Map(fetch.map((name) => [name, outputs.get(name)!]));
  }
}

export const referenceBackend: Backend = {
  name: 'ref',
  load: (graph) => new ReferenceSession(graph),
};
