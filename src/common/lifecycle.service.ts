import { Injectable } from '@nestjs/common';

/** Where this process is in its life: readiness turns 503 as soon as shutdown begins. */
@Injectable()
export class LifecycleService {
  private shuttingDown = false;

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  beginShutdown(): void {
    this.shuttingDown = true;
  }
}
