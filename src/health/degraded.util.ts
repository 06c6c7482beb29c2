import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

/**
 * A dependency this pod can serve without (Redis, the queue): reported in the readiness body, as
 * `degraded` while it fails, never failing the probe itself. Its outage is every pod's at once, so
 * failing readiness for it would pull them all out of the Service together.
 */
export async function degradedWhenDown<const Key extends string>(
  health: HealthIndicatorService,
  key: Key,
  result: PromiseLike<HealthIndicatorResult<Key>>,
): Promise<HealthIndicatorResult<Key>> {
  const checked = await result;
  const outcome = checked[key];
  if (outcome?.status !== 'down') {
    return checked;
  }
  const data = Object.fromEntries(Object.entries(outcome).filter(([name]) => name !== 'status'));
  return health.check(key).degraded({ ...data, reachable: false });
}
