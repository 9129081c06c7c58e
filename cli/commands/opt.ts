// `sinter opt`: reads textual IR (plain or fused), runs the named middle-end passes, prints the IR they produce.
//
// Input may already be fused (kernel blocks) or planned (a memory table), so one pass can be
// run alone on the output of another: `sinter opt fused.ir --passes memory-plan`. With
// `lower` last, the kernel program listing is printed instead of IR.

import type { Command } from 'commander';
import type { Graph } from '../../compiler/ir/graph.js';
import { parseGraph } from '../../compiler/ir/parse.js';
import { valueNames } from '../../compiler/ir/print.js';
import { printKernelProgram } from '../../compiler/kernel/print.js';
import type { PipelineState } from '../../compiler/pipeline.js';
import { STAGE_NAMES, debugOptions, printState, runPipeline, stateFromText, unknownStages } from '../../compiler/pipeline.js';
import { renderDiagnostics } from '../../dsl/diagnostics.js';
import { UsageError, UserError, positiveInt, readText } from '../io.js';
import { DiagnosticsFailure, loadModel } from '../load.js';

/** The stages `--passes` names, checked. */
export function passList(spec: string): string[] {
  const names = spec === 'all' ? STAGE_NAMES.filter((s) => s !== 'lower') : spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = unknownStages(names);
  if (bad.length > 0 || names.length === 0) throw new UsageError(`--passes takes comma-separated stages from ${STAGE_NAMES.join(', ')} (or 'all'), got '${bad[0] ?? spec}'`);
  return names;
}

export function registerOpt(program: Command): void {
  program
    .command('opt')
    .description('run middle-end passes on a .ir file (or a .sinter model) and print the resulting IR')
    .argument('<file>', 'a textual .ir file, possibly fused or planned; or a .sinter source')
    .option('--passes <list>', `comma-separated stages: ${STAGE_NAMES.join(', ')}; 'all' runs every IR stage`, 'all')
    .option('--batch <n>', 'value of the batch dimension (.sinter files)', '1')
    .action((file: string, opts: { passes: string; batch: string }) => {
      const passes = passList(opts.passes);
      const start = loadState(file, opts.batch);
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      const { state } = runPipeline(start, { passes, ...debugOptions(process.env, log) });
      const text = passes.at(-1) === 'lower' && state.program ? printKernelProgram(state.program, valueNames(state.graph)) : printState(state);
      process.stdout.write(text);
    });
}

function loadState(file: string, batch: string): Graph | PipelineState {
  if (!file.endsWith('.ir')) return loadModel(file, { batch: positiveInt(batch, '--batch') }).graph;
  const source = readText(file);
  const { graph, diagnostics, layout } = parseGraph(source, file);
  if (!graph || diagnostics.length > 0) throw new DiagnosticsFailure(renderDiagnostics(diagnostics, source));
  const r = stateFromText(graph, layout);
  if ('problems' in r) throw new UserError(`${file}: the fused program is not well formed: ${r.problems[0]}`, r.problems.length > 1 ? `and ${r.problems.length - 1} more problem(s)` : undefined);
  return r.state;
}
