import { describe, expect, it } from 'vitest';
import { formatDuration, ProgressBar, renderBar } from './progress-bar';

const sink = (isTTY: boolean) => {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 100, write: (s: string) => void out.push(s) } };
};

describe('ProgressBar', () => {
  it('draws a bar with count, rate and ETA in place on a terminal', async () => {
    const { out, stream } = sink(true);
    const bar = new ProgressBar('NLL', 10, { stream, unit: 'examples' });
    await new Promise((r) => setTimeout(r, 20));
    bar.update(5, 'k=5000');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\r\x1b\[2KNLL \[=+> *\] 5\/10 {2}[\d.,]+ examples\/s {2}eta \d+s {2}k=5000$/);
    bar.update(6); // within 100 ms of the last draw: skipped
    expect(out).toHaveLength(1);
    bar.update(10); // the last one is always drawn
    expect(out[1]).toMatch(/\[=+\] 10\/10/);
    bar.finish('NLL 88.21 nats');
    expect(out[2]).toBe('\r\x1b[2KNLL 88.21 nats\n');
  });

  it('writes plain lines now and then without a terminal, and nothing when disabled', () => {
    const { out, stream } = sink(false);
    const bar = new ProgressBar('FID', 4, { stream, unit: 'samples', lineEverySeconds: 0 });
    bar.update(1);
    bar.update(2);
    bar.update(4); // the end is left to finish()
    bar.finish();
    expect(out.map((s) => s.endsWith('\n'))).toEqual([true, true, true]);
    expect(out[0]).toMatch(/^FID \[.*\] 1\/4 {2}.* samples\/s {2}eta /);
    expect(out[2]).toMatch(/^FID: 4\/4 in \d+s\n$/);
    const quiet = sink(true);
    const off = new ProgressBar('x', 2, { stream: quiet.stream, enabled: false });
    off.update(1);
    off.finish();
    expect(quiet.out).toEqual([]);
  });

  it('formats bars and durations', () => {
    expect(renderBar(0.5, 10)).toBe('[=====>    ]');
    expect(renderBar(1, 4)).toBe('[====]');
    expect(renderBar(Number.NaN, 4)).toBe('[>   ]');
    expect([formatDuration(42), formatDuration(185), formatDuration(3720), formatDuration(Number.NaN)]).toEqual(['42s', '3m05s', '1h02m', '?']);
  });
});
