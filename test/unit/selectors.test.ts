import { describe, it, expect } from '@jest/globals';
import {
  formatLabelSelector, labelSelectorFromObject, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector,
} from '../../core/selectors.ts';
import type { LabelSelectorObject } from '../../core/selectors.ts';
import { BadRequest } from '../../core/errors.ts';

const labels = { app: 'web', tier: 'agents', 'drover.dev/agent-capable': 'true', empty: '' };

describe('parseLabelSelector + matchesLabels', () => {
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app = web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['app in (db,web)', true],
    ['app in (db)', false],
    ['app notin (db, cache)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['empty=', true],
    ['empty', true],
    ['drover.dev/agent-capable=true', true],
    ['app=web,tier=agents', true],
    ['app=web,tier=db', false],
    ['app in (web,db),!missing,tier', true],
  ])('%p matches the labels: %p', (sel, expected) => {
    expect(matchesLabels(parseLabelSelector(sel), labels)).toBe(expected);
  });

  it('treats absent labels as empty', () => {
    expect(matchesLabels(parseLabelSelector('!a'), undefined)).toBe(true);
    expect(matchesLabels(parseLabelSelector('a'), undefined)).toBe(false);
  });

  it.each([
    ['a in (x', "expected ',' or ')'"],
    ['a in x', "expected '(' after 'in'"],
    ['a in ()', 'expected a value'],
    ['a b', 'expected an operator'],
    ['a=b c', "expected ',' between requirements"],
    ['a=b,', 'expected a label key'],
    ['!', 'expected a label key after "!"'],
    ['a=b=c', "expected ',' between requirements"],
    ['-a=b', 'key "-a"'],
    ['a=b$c', "'$'"],
    ['Bad_Prefix/a=b', 'prefix must be a DNS subdomain'],
    [`a=${'x'.repeat(64)}`, 'must be 63 characters or less'],
  ])('rejects %p with BadRequest naming the problem', (sel, part) => {
    let err: unknown;
    try { parseLabelSelector(sel); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BadRequest);
    expect((err as BadRequest).code).toBe(400);
    expect((err as BadRequest).message).toContain(`invalid label selector "${sel}"`);
    expect((err as BadRequest).message).toContain(part);
  });
});

describe('labelSelectorFromObject', () => {
  it.each<[string, LabelSelectorObject | undefined, boolean]>([
    ['undefined selects everything', undefined, true],
    ['empty selects everything', {}, true],
    ['matchLabels hit', { matchLabels: { app: 'web', tier: 'agents' } }, true],
    ['matchLabels miss', { matchLabels: { app: 'db' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['agents', 'db'] }] }, true],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['agents'] }] }, false],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['both parts ANDed', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, false],
  ])('%s', (_name, obj, expected) => {
    expect(matchesLabels(labelSelectorFromObject(obj), labels)).toBe(expected);
  });

  it.each<[LabelSelectorObject, string]>([
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }, 'matchExpressions[0].operator "Equals"'],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, 'matchExpressions[0].values must be non-empty for In'],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'matchExpressions[0].values must be empty for Exists'],
    [{ matchLabels: { 'bad key!': 'x' } }, 'key "bad key!"'],
  ])('rejects %j', (obj, part) => {
    expect(() => labelSelectorFromObject(obj)).toThrow(BadRequest);
    expect(() => labelSelectorFromObject(obj)).toThrow(part);
  });
});

describe('formatLabelSelector', () => {
  it.each<[LabelSelectorObject | undefined, string]>([
    [undefined, ''],
    [{}, ''],
    [{ matchLabels: { tier: 'agents', app: 'web' } }, 'app=web,tier=agents'],
    [{ matchExpressions: [
      { key: 'z', operator: 'NotIn', values: ['b', 'a'] },
      { key: 'gpu', operator: 'Exists' },
      { key: 'old', operator: 'DoesNotExist' },
      { key: 'env', operator: 'In', values: ['prod'] },
    ] }, 'env=prod,gpu,!old,z notin (a,b)'],
  ])('%j → %p, which parses back to the same meaning', (obj, expected) => {
    const s = formatLabelSelector(obj);
    expect(s).toBe(expected);
    expect(formatLabelSelector(parseLabelSelector(s))).toBe(s);
  });
});

describe('parseFieldSelector + matchesFields', () => {
  const obj = {
    metadata: { name: 'a1', namespace: 'customer1' },
    spec: { nodeName: 'node-1', containerName: 'orch-1', replicas: 3 },
    status: { phase: 'Running' },
    involvedObject: { name: 'x,y' },
  };
  it.each([
    ['', true],
    ['metadata.name=a1', true],
    ['metadata.name==a1', true],
    ['metadata.name!=a1', false],
    ['metadata.namespace=customer1,status.phase=Running', true],
    ['metadata.namespace=customer1,status.phase=Failed', false],
    ['spec.nodeName=node-1', true],
    ['spec.containerName!=orch-2', true],
    ['spec.replicas=3', true],
    ['status.state=', true],
    ['status.state!=', false],
    ['involvedObject.name=x\\,y', true],
    [' status.phase = Running ', true],
  ])('%p matches: %p', (sel, expected) => {
    expect(matchesFields(parseFieldSelector(sel), obj)).toBe(expected);
  });

  it.each([
    ['status.phase', 'needs an operator'],
    ['status..phase=x', '"status..phase" is not a field path'],
    ['=x', '"" is not a field path'],
    ['a=b=c', "unescaped '='"],
    ['a=b\\q', 'invalid escape'],
  ])('rejects %p with BadRequest', (sel, part) => {
    expect(() => parseFieldSelector(sel)).toThrow(BadRequest);
    expect(() => parseFieldSelector(sel)).toThrow(part);
  });
});
