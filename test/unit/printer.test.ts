import { describe, it, expect } from '@jest/globals';
import { loadRegistry } from '../../core/crds.ts';
import { evalJsonPath, formatAge, formatTable, printerColumns, printerRow } from '../../core/printer.ts';

const registry = loadRegistry();
const now = Date.parse('2026-03-01T12:00:00Z');
const ago = (ms: number) => new Date(now - ms).toISOString();

describe('evalJsonPath', () => {
  const obj = {
    metadata: { name: 'n1', labels: { 'drover.dev/deployment': 'trading' } },
    status: { conditions: [{ type: 'Progressing', status: 'False' }, { type: 'Ready', status: 'True' }], addresses: [{ address: 'a' }, { address: 'b' }] },
  };
  it.each([
    ['.metadata.name', 'n1'],
    ['{.metadata.name}', 'n1'],
    ['.status.addresses[1].address', 'b'],
    ['.status.addresses[-1].address', 'b'],
    ['.status.addresses[*].address', ['a', 'b']],
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    [".status.conditions[?(@.type=='Gone')].status", []],
    ['.status.conditions[?(@.type!="Ready")].type', ['Progressing']],
    ['.metadata.labels.drover\\.dev/deployment', 'trading'],
    [".metadata.labels['drover.dev/deployment']", 'trading'],
    ['.spec.replicas', undefined],
    ['.status.addresses[5].address', undefined],
  ])('%s → %j', (expr, expected) => {
    expect(evalJsonPath(obj, expr)).toEqual(expected);
  });

  it('rejects syntax it does not support', () => {
    expect(() => evalJsonPath(obj, '.a[?(@.x > 1)]')).toThrow(/unsupported JSONPath/);
  });
});

describe('formatAge (kubectl HumanDuration)', () => {
  it.each([
    [0, '0s'], [45_000, '45s'], [119_000, '119s'], [120_000, '2m'], [312_000, '5m12s'], [600_000, '10m'], [179 * 60_000, '179m'],
    [(3 * 60 + 4) * 60_000, '3h4m'], [8 * 3_600_000, '8h'], [47 * 3_600_000, '47h'], [(2 * 24 + 3) * 3_600_000, '2d3h'],
    [8 * 86_400_000, '8d'], [120 * 86_400_000, '120d'], [(3 * 365 + 12) * 86_400_000, '3y12d'], [9 * 365 * 86_400_000, '9y'],
    [-500, '0s'], [-5000, '<invalid>'],
  ])('%i ms → %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});

describe('printer columns', () => {
  const ad = registry.resolve('ad')!;
  const deployment = {
    metadata: { name: 'trading', creationTimestamp: ago(312_000) },
    spec: { agentType: 'trading', replicas: 6, placement: { strategy: 'Spread' } },
    status: { readyReplicas: 4, availableReplicas: 3, selector: 'drover.dev/deployment=trading' },
  };

  it('NAME first, then the CRD columns; wide adds priority columns', () => {
    expect(printerColumns(ad).map((c) => c.name)).toEqual(['Name', 'Desired', 'Ready', 'Available', 'Strategy', 'Age']);
    expect(printerColumns(ad, { wide: true }).map((c) => c.name)).toEqual(['Name', 'Desired', 'Ready', 'Available', 'Strategy', 'Age', 'Type', 'Up-to-date', 'Selector']);
  });

  it('adds AGE only when the CRD has no Age column', () => {
    const ev = registry.resolve('Event')!;
    expect(printerColumns(ev).map((c) => c.name)).toEqual(['Name', 'Type', 'Reason', 'Object', 'Message', 'Last Seen']);
    const bare = { ...ad, printerColumns: ad.printerColumns.filter((c) => c.name !== 'Age') };
    expect(printerColumns(bare).map((c) => c.name).at(-1)).toBe('Age');
  });

  it('renders rows with ages, <none> for unset fields and wide values', () => {
    expect(printerRow(ad, deployment, { now })).toEqual(['trading', '6', '4', '3', 'Spread', '5m12s']);
    expect(printerRow(ad, deployment, { now, wide: true }).slice(-3)).toEqual(['trading', '<none>', 'drover.dev/deployment=trading']);
  });

  it('reads Node readiness from the Ready condition', () => {
    const node = registry.resolve('dno')!;
    const row = printerRow(node, { metadata: { name: 'n1', creationTimestamp: ago(2 * 86_400_000 + 3 * 3_600_000) },
      status: { conditions: [{ type: 'Ready', status: 'False' }], runtime: { type: 'process' }, containers: 2, agents: 5 } }, { now });
    expect(row).toEqual(['n1', 'False', 'process', '2', '5', '2d3h']);
  });

  it('formats an aligned table like kubectl', () => {
    const rows = [printerRow(ad, deployment, { now }), printerRow(ad, { metadata: { name: 'analysis-long-name', creationTimestamp: ago(45_000) }, spec: { replicas: 1 } }, { now })];
    expect(formatTable(printerColumns(ad).map((c) => c.name), rows)).toBe(
      'NAME                 DESIRED   READY    AVAILABLE   STRATEGY   AGE\n' +
      'trading              6         4        3           Spread     5m12s\n' +
      'analysis-long-name   1         <none>   <none>      <none>     45s\n');
  });
});
