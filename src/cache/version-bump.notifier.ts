import { ChangeNotifier } from '../common/change-notifier.port.js';
import type { VersionCounter } from './cache-key.builder.js';
import type { VersionStore } from './version-store.js';

/** What a change to one of an owner's sessions moves: the session, their list of sessions, their search. */
function sessionCounters(ownerId: string, sessionId: string): VersionCounter[] {
  return [
    { scope: 'session', id: sessionId },
    { scope: 'sessions', id: ownerId },
    { scope: 'search', id: ownerId },
  ];
}

/**
 * The real ChangeNotifier: a committed write bumps the versions its data is cached under, before
 * the write is answered, so any read that starts after the answer (on any replica) misses the
 * entries filled before it. A session's counter covers its row and its messages (its
 * `session-owner` counter only its existence); an owner's `sessions` and `memories` counters cover
 * their lists.
 */
export class VersionBumpNotifier extends ChangeNotifier {
  constructor(private readonly versions: VersionStore) {
    super();
  }

  historyChanged(sessionId: string, ownerId?: string): Promise<void> {
    return this.versions.bump([
      { scope: 'session', id: sessionId },
      ...(ownerId === undefined ? [] : [{ scope: 'search' as const, id: ownerId }]),
    ]);
  }

  sessionsChanged(ownerId: string, sessionId: string): Promise<void> {
    return this.versions.bump(sessionCounters(ownerId, sessionId));
  }

  sessionDeleted(ownerId: string, sessionId: string): Promise<void> {
    return this.versions.bump([...sessionCounters(ownerId, sessionId), { scope: 'session-owner', id: sessionId }]);
  }

  memoriesChanged(ownerId: string): Promise<void> {
    return this.versions.bump([{ scope: 'memories', id: ownerId }]);
  }

  preferencesChanged(ownerId: string): Promise<void> {
    return this.versions.bump([{ scope: 'preferences', id: ownerId }]);
  }
}
