import { describe, it, expect } from '@jest/globals';
import {
  applyMergePatch, applyJsonPatch, createMergePatch, createThreeWayMergePatch, deepEqual,
} from '../../core/patch.ts';
import { ApiError } from '../../core/errors.ts';

describe('applyMergePatch (RFC 7386 appendix A)', () => {
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j = %j', (target, patch, want) => {
    const before = structuredClone(target);
    expect(applyMergePatch(target, patch)).toEqual(want);
    expect(target).toEqual(before);
  });

  it('keeps a "__proto__" key as data', () => {
    const out = applyMergePatch<Record<string, unknown>>({}, JSON.parse('{"__proto__":{"polluted":true}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect('polluted' in out).toBe(false);
    expect(Object.keys(out)).toEqual(['__proto__']);
  });
});

describe('applyJsonPatch (RFC 6902)', () => {
  it.each([
    ['add object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { foo: 'bar', baz: 'qux' }],
    ['add array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
    ['append with -', { foo: [1] }, [{ op: 'add', path: '/foo/-', value: 2 }], { foo: [1, 2] }],
    ['remove object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    ['remove array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
    ['replace value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
    ['replace array element', { a: [1, 2, 3] }, [{ op: 'replace', path: '/a/1', value: 9 }], { a: [1, 9, 3] }],
    ['move value', { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } }],
    ['move array element', { foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      { foo: ['all', 'cows', 'eat', 'grass'] }],
    ['copy', { a: { b: 1 } }, [{ op: 'copy', from: '/a', path: '/c' }], { a: { b: 1 }, c: { b: 1 } }],
    ['test passes then add', { baz: 'qux', foo: ['a', 2, 'c'] },
      [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }, { op: 'add', path: '/ok', value: true }],
      { baz: 'qux', foo: ['a', 2, 'c'], ok: true }],
    ['escaped pointer ~0 ~1', { 'a/b': 1, 'm~n': 2 },
      [{ op: 'replace', path: '/a~1b', value: 10 }, { op: 'remove', path: '/m~0n' }], { 'a/b': 10 }],
    ['add nested object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }],
      { foo: 'bar', child: { grandchild: {} } }],
    ['replace whole document', { a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }], { b: 2 }],
  ])('%s', (_name, doc, ops, want) => {
    const before = structuredClone(doc);
    expect(applyJsonPatch(doc, ops)).toEqual(want);
    expect(doc).toEqual(before);
  });

  it.each([
    ['not an array', { op: 'add' }, 400, /array of operations/],
    ['unknown op', [{ op: 'frob', path: '/a' }], 400, /operation 0: unknown op "frob"/],
    ['missing value', [{ op: 'add', path: '/a' }], 400, /operation 0 \(add \/a\): missing "value"/],
    ['missing from', [{ op: 'copy', path: '/a' }], 400, /missing "from"/],
    ['bad pointer', [{ op: 'add', path: 'a', value: 1 }], 400, /must be empty or start with/],
    ['remove missing path', [{ op: 'test', path: '/a', value: 1 }, { op: 'remove', path: '/spec/nope' }], 422,
      /operation 1 \(remove \/spec\/nope\): path does not exist/],
    ['replace missing path', [{ op: 'replace', path: '/b', value: 1 }], 422, /path does not exist/],
    ['add past array end', [{ op: 'add', path: '/list/5', value: 1 }], 422, /out of bounds/],
    ['leading zero index', [{ op: 'remove', path: '/list/01' }], 422, /not an array index/],
    ['failed test', [{ op: 'test', path: '/a', value: 2 }], 422, /operation 0 \(test \/a\): test failed: value is 1, expected 2/],
    ['move into own child', [{ op: 'move', from: '/obj', path: '/obj/x' }], 422, /own child/],
  ])('rejects %s', (_name, ops, code, message) => {
    const doc = { a: 1, list: [1, 2], obj: {} };
    let err: unknown;
    try {
      applyJsonPatch(doc, ops);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(code);
    expect((err as ApiError).message).toMatch(message);
  });

  it('is all or nothing: a failing op leaves no partial result behind', () => {
    const doc = { a: 1 };
    expect(() => applyJsonPatch(doc, [{ op: 'add', path: '/b', value: 2 }, { op: 'test', path: '/a', value: 3 }])).toThrow(/test failed/);
    expect(doc).toEqual({ a: 1 });
  });
});

describe('createMergePatch', () => {
  it.each([
    ['equal', { a: 1, b: { c: [1] } }, { b: { c: [1] }, a: 1 }, {}],
    ['changed scalar', { a: 1, b: 2 }, { a: 1, b: 3 }, { b: 3 }],
    ['removed key', { a: 1, b: 2 }, { a: 1 }, { b: null }],
    ['nested change', { spec: { replicas: 1, image: 'x' } }, { spec: { replicas: 3, image: 'x' } }, { spec: { replicas: 3 } }],
    ['array replaced whole', { a: [1, 2] }, { a: [1, 3] }, { a: [1, 3] }],
    ['object becomes scalar', { a: { b: 1 } }, { a: 2 }, { a: 2 }],
  ])('%s', (_name, from, to, want) => {
    const patch = createMergePatch(from, to);
    expect(patch).toEqual(want);
    expect(applyMergePatch(from, patch)).toEqual(to);
  });
});

describe('createThreeWayMergePatch', () => {
  it.each([
    ['field dropped from the manifest is deleted',
      { spec: { a: 1, b: 2 } }, { spec: { a: 1 } }, { spec: { a: 1, b: 2 } }, { spec: { b: null } }],
    ['field changed in the manifest is set',
      { spec: { replicas: 1 } }, { spec: { replicas: 3 } }, { spec: { replicas: 1 } }, { spec: { replicas: 3 } }],
    ['live drift on a managed field is reverted',
      { spec: { replicas: 3 } }, { spec: { replicas: 3 } }, { spec: { replicas: 5 } }, { spec: { replicas: 3 } }],
    ['server-set fields are kept',
      { spec: { a: 1 } }, { spec: { a: 1 } },
      { spec: { a: 1, defaulted: 'x' }, status: { ready: 1 }, metadata: { uid: 'u' } }, {}],
    ['no last-applied: only additions and changes',
      undefined, { spec: { a: 2 } }, { spec: { a: 1, other: true } }, { spec: { a: 2 } }],
    ['deleting a key live no longer has is a no-op',
      { spec: { a: 1, gone: 1 } }, { spec: { a: 1 } }, { spec: { a: 1 } }, {}],
    ['whole section dropped',
      { spec: { a: 1 }, metadata: { labels: { x: 'y' } } }, { spec: { a: 1 }, metadata: {} },
      { spec: { a: 1 }, metadata: { labels: { x: 'y' }, uid: 'u' } }, { metadata: { labels: null } }],
    ['arrays are replaced whole',
      { spec: { ports: [1] } }, { spec: { ports: [1, 2] } }, { spec: { ports: [1] } }, { spec: { ports: [1, 2] } }],
  ])('%s', (_name, last, desired, live, want) => {
    const patch = createThreeWayMergePatch(last, desired, live);
    expect(patch).toEqual(want);
  });

  it('applied to live, yields desired plus what others own', () => {
    const last = { spec: { a: 1, b: 2 } };
    const desired = { spec: { a: 5, c: 3 } };
    const live = { spec: { a: 1, b: 2, d: 'server' }, status: { ok: true } };
    expect(applyMergePatch(live, createThreeWayMergePatch(last, desired, live)))
      .toEqual({ spec: { a: 5, c: 3, d: 'server' }, status: { ok: true } });
  });
});

describe('deepEqual', () => {
  it.each([
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [[1, 2], [2, 1], false],
    [{ a: 1 }, { a: '1' }, false],
    [null, {}, false],
    [[], {}, false],
    [{ a: { b: 1 } }, { a: { b: 1, c: 1 } }, false],
  ])('%j vs %j → %s', (a, b, want) => {
    expect(deepEqual(a, b)).toBe(want);
  });
});
