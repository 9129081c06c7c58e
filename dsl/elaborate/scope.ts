// Lexical scopes of elaboration: names bound to values, with the span where each was bound.

import type { Span } from '../ast.js';
import type { Val } from './values.js';

interface Binding {
  val: Val;
  readonly span: Span;
}

/**
 * A scope chain. A `barrier` scope starts a layer body: assignments inside never rebind names
 * beyond it, so a layer cannot change its caller's variables.
 */
export class Scope {
  private readonly names = new Map<string, Binding>();

  constructor(
    readonly parent: Scope | null,
    readonly barrier = false,
  ) {}

  lookup(name: string): Val | undefined {
    return this.names.get(name)?.val ?? this.parent?.lookup(name);
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  /** Binds a new name here. */
  define(name: string, val: Val, span: Span): void {
    this.names.set(name, { val, span });
  }

  /**
   * `name = value`: rebinds the nearest existing binding up to the layer barrier (so a loop body
   * updates loop-carried state), otherwise defines it here.
   */
  assign(name: string, val: Val, span: Span): void {
    for (let s: Scope | null = this; s; s = s.barrier ? null : s.parent) {
      const b = s.names.get(name);
      if (b) {
        b.val = val;
        return;
      }
      if (s.barrier) break;
    }
    this.define(name, val, span);
  }

  /** Every visible name, innermost first (for did-you-mean hints). */
  allNames(): string[] {
    const out: string[] = [];
    for (let s: Scope | null = this; s; s = s.parent) out.push(...s.names.keys());
    return out;
  }
}
