import { Injectable } from '@nestjs/common';

/** Told when a session was deleted, after the delete committed. */
export interface SessionDeletedListener {
  sessionDeleted(sessionId: string): Promise<void>;
}

/**
 * Who is told of a session's deletion: the events module, which depends on this one, adds itself
 * when it is wired (it ends every open stream of the session, on every replica). A process without
 * the events module tells no one.
 */
@Injectable()
export class SessionDeletedListeners {
  private readonly listeners: SessionDeletedListener[] = [];

  add(listener: SessionDeletedListener): void {
    this.listeners.push(listener);
  }

  async sessionDeleted(sessionId: string): Promise<void> {
    for (const listener of this.listeners) {
      await listener.sessionDeleted(sessionId);
    }
  }
}
