// Optimizer updates written as IR ops: sgd, momentum (Nesterov optional), adam, adamw.
//
// Each optimizer turns (parameter, gradient, learning rate, step) into the parameter's next
// value and the next values of its state (momentum, moments), declared as persistent
// non-trainable parameters. The train step outputs them aliased to what they replace, so a
// backend updates them in place.

import type { GraphBuilder, ValueId } from '../ir/graph.js';

export type OptimizerKind = 'sgd' | 'momentum' | 'adam' | 'adamw';

/** The scalar inputs every update reads: the scheduled learning rate and the 1-based step count. */
export interface StepScalars {
  readonly lr: ValueId;
  readonly step: ValueId;
}

export interface ParamUpdate {
  /** Name of the value being replaced (the parameter or a state parameter). */
  readonly target: string;
  readonly next: ValueId;
}

/** Name of an optimizer state tensor for a parameter: `opt.m.dense_1.w`. */
export function stateName(slot: string, param: string): string {
  return `opt.${slot}.${param}`;
}

class Emit {
  constructor(
    readonly b: GraphBuilder,
    readonly shape: readonly number[],
  ) {}
  constant(v: number): ValueId {
    return this.b.op('constant', [], { value: v, dtype: 'f32', shape: [...this.shape] });
  }
  /** A scalar value broadcast to the parameter's shape. */
  spread(s: ValueId): ValueId {
    return this.shape.length === 0 ? s : this.b.op('broadcast', [s], { shape: [...this.shape], dims: [] });
  }
  add(x: ValueId, y: ValueId): ValueId {
    return this.b.op('add', [x, y]);
  }
  sub(x: ValueId, y: ValueId): ValueId {
    return this.b.op('sub', [x, y]);
  }
  mul(x: ValueId, y: ValueId): ValueId {
    return this.b.op('mul', [x, y]);
  }
  div(x: ValueId, y: ValueId): ValueId {
    return this.b.op('div', [x, y]);
  }
  /** β·x + (1 − β)·y */
  ema(beta: number, x: ValueId, y: ValueId): ValueId {
    return this.add(this.mul(this.constant(beta), x), this.mul(this.constant(1 - beta), y));
  }
}

/**
 * Emits one parameter's update. `state(slot)` returns the state tensor for a slot, creating
 * it (zeros) on first use.
 */
export function emitUpdate(
  b: GraphBuilder,
  kind: OptimizerKind,
  args: Readonly<Record<string, number>>,
  param: { name: string; value: ValueId },
  grad: ValueId,
  scalars: StepScalars,
  state: (slot: string) => ValueId,
): ParamUpdate[] {
  const e = new Emit(b, b.typeOf(param.value).shape);
  const lr = e.spread(scalars.lr);
  const w = param.value;
  switch (kind) {
    case 'sgd':
      // w ← w − lr·g
      return [{ target: param.name, next: e.sub(w, e.mul(lr, grad)) }];
    case 'momentum': {
      // v ← μ·v + g;  w ← w − lr·v  (Nesterov: w ← w − lr·(g + μ·v))
      const mu = e.constant(args['momentum']!);
      const v = e.add(e.mul(mu, state('velocity')), grad);
      const direction = args['nesterov'] ? e.add(grad, e.mul(mu, v)) : v;
      return [
        { target: param.name, next: e.sub(w, e.mul(lr, direction)) },
        { target: stateName('velocity', param.name), next: v },
      ];
    }
    case 'adam':
    case 'adamw': {
      // Kingma & Ba, Algorithm 1: m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
      // m̂ = m / (1 − β1^t);  v̂ = v / (1 − β2^t);  w ← w − lr·m̂ / (√v̂ + ε).
      // AdamW (Loshchilov & Hutter) also subtracts lr·λ·w, decoupled from the gradient.
      const b1 = args['beta1']!;
      const b2 = args['beta2']!;
      const m = e.ema(b1, state('m'), grad);
      const v = e.ema(b2, state('v'), e.mul(grad, grad));
      const one = b.op('constant', [], { value: 1, dtype: 'f32', shape: [] });
      const correction = (beta: number) => b.op('sub', [one, b.op('pow', [b.op('constant', [], { value: beta, dtype: 'f32', shape: [] }), scalars.step])]);
      const mHat = e.div(m, e.spread(correction(b1)));
      const vHat = e.div(v, e.spread(correction(b2)));
      let delta = e.div(mHat, e.add(b.op('sqrt', [vHat]), e.constant(args['eps']!)));
      if (kind === 'adamw') delta = e.add(delta, e.mul(e.constant(args['weight_decay']!), w));
      return [
        { target: param.name, next: e.sub(w, e.mul(lr, delta)) },
        { target: stateName('m', param.name), next: m },
        { target: stateName('v', param.name), next: v },
      ];
    }
    default:
      return kind satisfies never;
  }
}
