import { Injectable } from '@nestjs/common';
import { CacheService } from '../cache/cache.service.js';
import type { UserPreferences } from './me.entity.js';
import { MeRepository, type PreferencesChange } from './me.repository.js';

/**
 * A user's preferences. Read on every prompt, so reads go through the cache (per owner, under the
 * owner's `preferences` version, which every change moves before it is answered).
 */
@Injectable()
export class MeService {
  constructor(
    private readonly preferences: MeRepository,
    private readonly cache: CacheService,
  ) {}

  async get(ownerId: string): Promise<UserPreferences> {
    const entry = await this.cache.getOrLoad({ kind: 'preferences', ownerId, scopeId: ownerId }, () =>
      this.preferences.find(ownerId),
    );
    return entry.value;
  }

  /** Blank instructions clear them, like null. */
  update(ownerId: string, change: PreferencesChange): Promise<UserPreferences> {
    const instructions =
      typeof change.instructions === 'string' && change.instructions.trim() === '' ? null : change.instructions;
    return this.preferences.update(ownerId, { ...change, instructions });
  }
}
