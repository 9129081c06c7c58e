// The diagnostics the expected-error harness checks. Today: the parser's. Point it at the whole front end when it exists.

import type { Diagnostic } from '../../dsl/diagnostics.js';
import { parseProgram } from '../../dsl/parse.js';

export function collectDiagnostics(source: string, file: string): readonly Diagnostic[] {
  return parseProgram(source, file).diagnostics;
}
