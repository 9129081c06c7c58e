// Training curves as SVG: `sinter train --plot` and `sinter plot RUN.jsonl` draw the same well-formed chart of the logged epochs.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { niceAxis } from '../../cli/svg-chart.js';
import { curvesSvg } from '../../cli/commands/plot.js';
import { runCli } from '../helpers/cli.js';
import { writeTinyData } from '../helpers/tiny-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sinter-plot-'));
const data = join(dir, 'data');

/** A small XML well-formedness check: balanced tags, quoted attributes, known entities, one root. */
function wellFormed(xml: string): string | null {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:lt|gt|amp|quot|apos);)/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    if (m[0] === '<') return `stray '<' at ${m.index}`;
    if (m[0] === '&') return `bare '&' at ${m.index}`;
    if (stack.length === 0 && body.slice(last, m.index).trim() !== '') return `text outside the root at ${last}`;
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) return `</${name}> closes nothing open`;
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  if (stack.length > 0) return `unclosed <${stack.at(-1)}>`;
  return roots === 1 ? null : `${roots} root elements`;
}

interface Polyline {
  readonly series: string;
  readonly points: [number, number][];
}

function polylines(svg: string): Polyline[] {
  return [...svg.matchAll(/<polyline class="series" data-series="([^"]*)" points="([^"]*)"/g)].map((m) => ({
    series: m[1]!,
    points: m[2]!.split(' ').filter(Boolean).map((p) => p.split(',').map(Number) as [number, number]),
  }));
}

function panelRanges(svg: string): { title: string; y: [number, number]; x: [number, number] }[] {
  return [...svg.matchAll(/<g class="panel" data-title="([^"]*)" data-y-range="(\S+) (\S+)" data-x-range="(\S+) (\S+)">/g)].map((m) => ({
    title: m[1]!,
    y: [Number(m[2]), Number(m[3])],
    x: [Number(m[4]), Number(m[5])],
  }));
}

beforeAll(() => writeTinyData(data, 64, 32));

describe('training curves', () => {
  const svgFile = join(dir, 'curves.svg');
  const log = join(dir, 'run.jsonl');

  it('train --plot writes a well-formed chart: one polyline per series with a point per epoch, axes covering the data', async () => {
    const r = await runCli('train', 'examples/mlp.sinter', '--data', data, '--epochs', '3', '--batch', '32', '--log', log, '--plot', svgFile);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`wrote ${svgFile}`);
    const svg = readFileSync(svgFile, 'utf8');
    expect(wellFormed(svg)).toBeNull();
    expect(svg).toContain('<title>Mlp on cpu: 3 epochs</title>');
    const lines = polylines(svg);
    expect(lines.map((l) => l.series).sort()).toEqual(['test accuracy', 'test loss', 'train accuracy', 'train loss']);
    for (const l of lines) expect(l.points).toHaveLength(3);
    const epochs = readFileSync(log, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as Record<string, number | string>).filter((x) => x['kind'] === 'epoch');
    expect(epochs).toHaveLength(3);
    const panels = panelRanges(svg);
    expect(panels.map((p) => p.title)).toEqual(['Loss', 'Accuracy']);
    for (const p of panels) {
      const keys = p.title === 'Loss' ? ['train_loss', 'test_loss'] : ['train_accuracy', 'test_accuracy'];
      for (const e of epochs) for (const k of keys) {
        expect(e[k] as number).toBeGreaterThanOrEqual(p.y[0]);
        expect(e[k] as number).toBeLessThanOrEqual(p.y[1]);
      }
      expect(p.x[0]).toBeLessThanOrEqual(1);
      expect(p.x[1]).toBeGreaterThanOrEqual(3);
    }
    // Within a series, later epochs are further right.
    for (const l of lines) for (let i = 1; i < l.points.length; i++) expect(l.points[i]![0]).toBeGreaterThan(l.points[i - 1]![0]);
  });

  it('sinter plot draws the same chart from the --log file', async () => {
    const again = join(dir, 'again.svg');
    const r = await runCli('plot', log, '-o', again);
    expect(r.status).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(svgFile, 'utf8'));
  });

  it('a bad log file is a clear error naming the line, exit 1', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"kind":"start","model":"M"}\nnot json\n');
    const r = await runCli('plot', bad, '-o', join(dir, 'x.svg'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:2: not a JSON line`);
    writeFileSync(bad, '{"kind":"start","model":"M"}\n{"kind":"step","step":10}\n');
    const empty = await runCli('plot', bad, '-o', join(dir, 'x.svg'));
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('no epoch records');
    writeFileSync(bad, '{"kind":"epoch","epoch":1,"train_loss":"high"}\n');
    expect((await runCli('plot', bad, '-o', join(dir, 'x.svg'))).status).toBe(1);
    expect((await runCli('plot', join(dir, 'missing.jsonl'), '-o', join(dir, 'x.svg'))).status).toBe(1);
  });

  it('escapes user text, and a run without accuracy has a loss panel only', () => {
    const svg = curvesSvg({ model: 'A<&>"B', backend: 'cpu' }, [{ epoch: 1, train_loss: 2 }, { epoch: 2, train_loss: 1 }]);
    expect(wellFormed(svg)).toBeNull();
    expect(svg).toContain('A&lt;&amp;&gt;&quot;B');
    expect(panelRanges(svg).map((p) => p.title)).toEqual(['Loss']);
    const one = curvesSvg({ model: 'M', backend: 'cpu' }, [{ epoch: 1, train_loss: 0.5, train_accuracy: 0.5 }]);
    expect(wellFormed(one)).toBeNull();
    expect(polylines(one).every((l) => l.points.length === 1)).toBe(true);
  });

  it('niceAxis covers its data with round, increasing ticks inside the range', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (a, w) => {
        const ax = niceAxis(a, a + w);
        expect(ax.lo).toBeLessThanOrEqual(a);
        expect(ax.hi).toBeGreaterThanOrEqual(a + w);
        expect(ax.hi).toBeGreaterThan(ax.lo);
        expect(ax.ticks.length).toBeGreaterThanOrEqual(2);
        for (let i = 1; i < ax.ticks.length; i++) expect(ax.ticks[i]!).toBeGreaterThan(ax.ticks[i - 1]!);
        for (const t of ax.ticks) expect(t >= ax.lo - 1e-9 * Math.abs(ax.lo) - 1e-12 && t <= ax.hi + 1e-9 * Math.abs(ax.hi) + 1e-12).toBe(true);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
