/**
 * Told when a session was deleted, after the delete committed: the events module ends every open
 * stream of that session, on every replica. Provided by the events module; the session module,
 * which the events module depends on, finds it at run time.
 */
export abstract class SessionDeletedListener {
  abstract sessionDeleted(sessionId: string): Promise<void>;
}
