// Learning-rate schedules, computed on the host each step and fed to the train step as `lr`.

export type ScheduleKind = 'constant' | 'step' | 'exponential' | 'cosine';

export interface Schedule {
  readonly kind: ScheduleKind;
  readonly args: Readonly<Record<string, number>>;
}

/**
 * The learning rate at 0-based `step` of `total`. A linear warmup over `warmup` steps ramps
 * from base/warmup to base, then: constant; step (× factor every `every` steps); exponential
 * (× rate^(step/every)); cosine from base to min_lr over `steps` (default: the whole run).
 */
export function learningRate(base: number, s: Schedule, step: number, total: number): number {
  const warmup = s.args['warmup'] ?? 0;
  if (step < warmup) return (base * (step + 1)) / warmup;
  const t = step - warmup;
  switch (s.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * s.args['factor']! ** Math.floor(t / s.args['every']!);
    case 'exponential':
      return base * s.args['rate']! ** (t / s.args['every']!);
    case 'cosine': {
      const span = Math.max(1, (s.args['steps'] || total) - warmup);
      const minLr = s.args['min_lr'] ?? 0;
      return minLr + 0.5 * (base - minLr) * (1 + Math.cos((Math.PI * Math.min(t, span)) / span));
    }
    default:
      return s.kind satisfies never;
  }
}
