// The conflict matrix as the issue names it: every pair it mentions, plus the rows it implies.
import { describe, it, expect } from '@jest/globals';
import { CONFLICT_MATRIX, ConflictPolicy, conflictLevel, mustWait } from '../../reconcilers/conflict-matrix.ts';
import type { ConflictLevel, ConflictOperation } from '../../reconcilers/conflict-matrix.ts';
import { TaskTypeValues } from '../../core/kinds.generated.ts';

describe('conflictLevel', () => {
  it.each<[ConflictOperation, ConflictOperation, ConflictLevel]>([
    // CRITICAL: never together
    ['restart', 'restart', 'CRITICAL'],
    ['restart', 'stop', 'CRITICAL'],
    ['stop', 'restart', 'CRITICAL'],
    ['deploy', 'delete', 'CRITICAL'],
    ['update', 'update', 'CRITICAL'],
    ['deploy', 'deploy', 'CRITICAL'],
    // HIGH: queued behind the holder
    ['restart', 'update', 'HIGH'],
    ['deploy', 'update', 'HIGH'],
    ['stop', 'start', 'HIGH'],
    ['deploy', 'restart', 'HIGH'],
    // MEDIUM: allowed with a warning
    ['start', 'update', 'MEDIUM'],
    ['update', 'start', 'MEDIUM'],
    // LOW: repeats of idempotent operations
    ['start', 'start', 'LOW'],
    ['stop', 'stop', 'LOW'],
    // NONE: reads, health checks, and operations on different kinds of target
    ['restart', 'read', 'NONE'],
    ['delete', 'healthCheck', 'NONE'],
    ['read', 'restart', 'NONE'],
    ['restart', 'startAgent', 'NONE'],
  ])('%s holding, %s requested → %s', (running, requested, level) => {
    expect(conflictLevel(running, requested)).toBe(level);
  });

  it.each(TaskTypeValues.map((t) => [t]))('delete conflicts critically with %s in both directions', (t) => {
    expect(conflictLevel('delete', t)).toBe('CRITICAL');
    expect(conflictLevel(t, 'delete')).toBe('CRITICAL');
  });

  it('has a level for every pair of task types', () => {
    for (const a of TaskTypeValues) for (const b of TaskTypeValues) expect(ConflictPolicy[CONFLICT_MATRIX[a][b]]).toBeDefined();
  });

  it.each<[ConflictOperation, ConflictOperation, boolean]>([
    ['restart', 'restart', true],
    ['restart', 'update', true],
    ['start', 'update', false],
    ['stop', 'stop', false],
    ['restart', 'read', false],
  ])('mustWait(%s, %s) = %s', (running, requested, wait) => {
    expect(mustWait(running, requested)).toBe(wait);
  });
});
