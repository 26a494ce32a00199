import { describe, it, expect } from '@jest/globals';
import { unifiedDiff } from '../../cli/line-diff.ts';

const files = { fromFile: 'live/x', toFile: 'merged/x' };

describe('unifiedDiff', () => {
  it('is empty when nothing differs', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', files)).toBe('');
  });

  it.each([
    ['a changed line', 'a\nb\nc\n', 'a\nB\nc\n', ['--- live/x', '+++ merged/x', '@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c']],
    ['a new object', '', 'kind: X\nname: y\n', ['--- live/x', '+++ merged/x', '@@ -0,0 +1,2 @@', '+kind: X', '+name: y']],
    ['an added line at the end', 'a\n', 'a\nb\n', ['--- live/x', '+++ merged/x', '@@ -1 +1,2 @@', ' a', '+b']],
  ])('%s', (_what, a, b, lines) => {
    expect(unifiedDiff(a, b, files)).toBe(lines.join('\n') + '\n');
  });

  it('keeps three lines of context and splits distant changes into hunks', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') + '\n';
    const b = a.replace('l1\n', 'L1\n').replace('l18\n', 'L18\n');
    const out = unifiedDiff(a, b, files).split('\n');
    expect(out.filter((l) => l.startsWith('@@'))).toEqual(['@@ -1,5 +1,5 @@', '@@ -16,5 +16,5 @@']);
    expect(out).toContain('-l18');
    expect(out).toContain('+L18');
  });
});
