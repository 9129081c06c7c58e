// The diagnostics the expected-error harness checks: the whole front end's (parse, names, elaboration, train blocks).

import type { Diagnostic } from '../../dsl/diagnostics.js';
import { compileSource } from '../../dsl/frontend.js';

export function collectDiagnostics(source: string, file: string): readonly Diagnostic[] {
  return compileSource(source, file, { dims: { batch: 2 } }).diagnostics;
}
