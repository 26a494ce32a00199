// The in-memory container log ring: bounded bytes, tail by lines, LRU over containers, followers.
import { describe, it, expect } from '@jest/globals';
import { createLogBuffer, tailLines } from '../../api/log-buffer.ts';

const b = (s: string) => Buffer.from(s);

describe('tailLines', () => {
  it.each([
    ['a\nb\nc\n', 2, 'b\nc\n'],
    ['a\nb\nc', 2, 'b\nc'],
    ['a\nb\nc\n', 10, 'a\nb\nc\n'],
    ['a\nb\nc\n', 0, ''],
    ['only\n', 1, 'only\n'],
    ['', 3, ''],
  ])('tail of %j by %i lines is %j', (text, n, want) => {
    expect(tailLines(b(text), n).toString()).toBe(want);
  });
});

describe('createLogBuffer', () => {
  it('keeps only the newest maxBytes of a container, dropping the oldest first', () => {
    const buf = createLogBuffer({ maxBytes: 10 });
    buf.append('demo/web', 'u1', b('0123456'));
    buf.append('demo/web', 'u1', b('789abc'));
    expect(buf.read('demo/web', 'u1').toString()).toBe('3456789abc');
    buf.append('demo/web', 'u1', b('ABCDEFGHIJKLMNOP'));
    expect(buf.read('demo/web', 'u1').toString()).toBe('GHIJKLMNOP');
    expect(buf.bytes('demo/web')).toBe(10);
  });

  it('reads the last lines and at most limitBytes', () => {
    const buf = createLogBuffer();
    buf.append('demo/web', 'u1', b('one\ntwo\nthree\n'));
    expect(buf.read('demo/web', 'u1', { tailLines: 2 }).toString()).toBe('two\nthree\n');
    expect(buf.read('demo/web', 'u1', { limitBytes: 5 }).toString()).toBe('one\nt');
    expect(buf.read('demo/web', 'u1', { tailLines: 1, limitBytes: 3 }).toString()).toBe('thr');
  });

  it('a re-created container (new uid) starts with an empty log', () => {
    const buf = createLogBuffer();
    buf.append('demo/web', 'old', b('old output\n'));
    expect(buf.read('demo/web', 'new').toString()).toBe('');
    buf.append('demo/web', 'new', b('new output\n'));
    expect(buf.read('demo/web', 'new').toString()).toBe('new output\n');
    expect(buf.read('demo/web', 'old').toString()).toBe('');
  });

  it('evicts the least recently written container past maxContainers', () => {
    const buf = createLogBuffer({ maxContainers: 2 });
    buf.append('demo/a', 'u', b('a'));
    buf.append('demo/b', 'u', b('b'));
    buf.append('demo/a', 'u', b('a2'));
    buf.append('demo/c', 'u', b('c'));
    expect(buf.size).toBe(2);
    expect(buf.read('demo/b', 'u').toString()).toBe('');
    expect(buf.read('demo/a', 'u').toString()).toBe('aa2');
    expect(buf.read('demo/c', 'u').toString()).toBe('c');
  });

  it('followers see every new chunk until they unsubscribe, and drop() ends them', () => {
    const buf = createLogBuffer();
    const seen: string[] = [];
    let ended = 0;
    const stop = buf.follow('demo/web', 'u1', { onData: (c) => seen.push(c.toString()), onEnd: () => ended++ });
    buf.append('demo/web', 'u1', b('x'));
    buf.append('demo/other', 'u1', b('not mine'));
    buf.append('demo/web', 'u1', b('y'));
    expect(seen).toEqual(['x', 'y']);
    stop();
    buf.append('demo/web', 'u1', b('z'));
    expect(seen).toEqual(['x', 'y']);

    buf.follow('demo/web', 'u1', { onData: (c) => seen.push(c.toString()), onEnd: () => ended++ });
    buf.drop('demo/web');
    expect(ended).toBe(1);
    expect(buf.read('demo/web', 'u1').length).toBe(0);
  });

  it('a follower of the old container ends when a new one of the same name writes', () => {
    const buf = createLogBuffer();
    let ended = false;
    buf.append('demo/web', 'old', b('1'));
    buf.follow('demo/web', 'old', { onData: () => undefined, onEnd: () => (ended = true) });
    buf.append('demo/web', 'new', b('2'));
    expect(ended).toBe(true);
  });
});
