import { describe, expect, it } from 'vitest';
import { isStalePlanError, retryingStalePlan, STALE_PLAN_RUNS } from './stale-plan.js';

const stale = Object.assign(new Error('cached plan must not change result type'), { code: '0A000' });
/** TypeORM's QueryFailedError keeps pg's error as its driverError. */
const wrapped = Object.assign(new Error('query failed'), { driverError: stale });
/** The same SQLSTATE for another unsupported feature is not a stale plan. */
const otherFeature = Object.assign(new Error('cannot use ROLLBACK here'), { code: '0A000' });

describe('stale prepared plans', () => {
  it('knows the refusal from pg and inside TypeORM, and nothing else', () => {
    expect([stale, wrapped, otherFeature, new Error('boom'), null, undefined, 'text'].map(isStalePlanError)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('runs the work again after a refusal, up to STALE_PLAN_RUNS runs in all', async () => {
    let runs = 0;
    await expect(
      retryingStalePlan(async () => {
        runs += 1;
        if (runs < STALE_PLAN_RUNS) {
          throw wrapped;
        }
        return 'done';
      }),
    ).resolves.toBe('done');
    expect(runs).toBe(STALE_PLAN_RUNS);

    runs = 0;
    await expect(
      retryingStalePlan(() => {
        runs += 1;
        return Promise.reject(stale);
      }),
    ).rejects.toBe(stale);
    expect(runs).toBe(STALE_PLAN_RUNS);
  });

  it('leaves any other failure to the caller at once', async () => {
    let runs = 0;
    await expect(
      retryingStalePlan(() => {
        runs += 1;
        return Promise.reject(otherFeature);
      }),
    ).rejects.toBe(otherFeature);
    expect(runs).toBe(1);
  });
});
