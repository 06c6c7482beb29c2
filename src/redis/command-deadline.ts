import type { Redis } from 'ioredis';

/** An ioredis command waiting for its answer, as the deadline sees it. */
interface PendingCommand {
  reject(error: Error): void;
}

/** ioredis's queues of commands written and not answered yet (denque), oldest first. */
interface CommandDeque {
  readonly length: number;
  peekAt(index: number): { command: PendingCommand } | undefined;
  peekBack(): { command: PendingCommand } | undefined;
}

/**
 * The connection's fields that hold them: `commandQueue`, and `prevCommandQueue` while a
 * reconnection holds what the closed socket left unanswered (written again once it is ready).
 */
interface ConnectionQueues {
  commandQueue?: CommandDeque;
  prevCommandQueue?: CommandDeque | null;
}

/** The newest command waiting at `at`: it, and every command before it, was written before then. */
interface Mark {
  readonly at: number;
  readonly last: PendingCommand;
}

/** How often the queues are looked at: a command fails at most two of these after its deadline. */
export function deadlineTickMs(timeoutMs: number): number {
  return Math.max(10, Math.floor(timeoutMs / 10));
}

/**
 * ioredis's `commandTimeout` with one timer per connection instead of one per command: a command
 * of the connection that has had no answer for `timeoutMs` fails with ioredis's own "Command timed
 * out", at most two ticks (deadlineTickMs) later. The connection stays as it is: Redis answers in
 * order, and the answer of a command that failed still comes to its place in the queue and is
 * dropped there, as with ioredis's timers.
 *
 * ioredis arms a timer for each command and clears it with the answer: on cached reads (one
 * command each, 11,000-15,000 a second) that cost about 3 µs of CPU per read of about 80 (README,
 * Benchmark). Here each tick notes the newest command waiting; once a note is `timeoutMs` old,
 * every command still waiting up to the one it names has waited at least that long. Nothing is
 * kept of a command but the few noted, and those only for `timeoutMs`.
 */
export class CommandDeadline {
  private readonly marks: Mark[] = [];
  private readonly failed = new WeakSet<PendingCommand>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly connection: Redis,
    private readonly timeoutMs: number,
  ) {
    this.timer = setInterval(() => this.check(), deadlineTickMs(timeoutMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.marks.length = 0;
  }

  /** Fails what waited past the deadline, then notes the newest command waiting now. */
  private check(): void {
    const now = Date.now();
    const queues = this.queues();
    let due: PendingCommand | undefined;
    while (this.marks.length > 0 && now - (this.marks[0] as Mark).at >= this.timeoutMs) {
      due = (this.marks.shift() as Mark).last;
    }
    if (due !== undefined) {
      this.failThrough(queues, due);
    }
    const last = newest(queues);
    if (last !== undefined && this.marks.at(-1)?.last !== last) {
      this.marks.push({ at: now, last });
    }
  }

  private queues(): CommandDeque[] {
    const { prevCommandQueue, commandQueue } = this.connection as unknown as ConnectionQueues;
    const queues: CommandDeque[] = [];
    // Left by a closed socket: written before anything of the socket that replaces it.
    if (prevCommandQueue !== undefined && prevCommandQueue !== null && prevCommandQueue.length > 0) {
      queues.push(prevCommandQueue);
    }
    if (commandQueue !== undefined && commandQueue.length > 0) {
      queues.push(commandQueue);
    }
    return queues;
  }

  /**
   * Fails every command waiting up to `due`, which was written before its mark. When `due` is
   * not waiting any more (answered, or failed by a closing connection), neither is anything written
   * before it, and nothing waiting now is that old.
   */
  private failThrough(queues: readonly CommandDeque[], due: PendingCommand): void {
    const waiting: PendingCommand[] = [];
    for (const queue of queues) {
      for (let i = 0; i < queue.length; i += 1) {
        const command = queue.peekAt(i)?.command;
        if (command === undefined) {
          continue;
        }
        waiting.push(command);
        if (command === due) {
          for (const late of waiting) {
            if (!this.failed.has(late)) {
              this.failed.add(late);
              late.reject(new Error('Command timed out'));
            }
          }
          return;
        }
      }
    }
  }
}

function newest(queues: readonly CommandDeque[]): PendingCommand | undefined {
  return queues.at(-1)?.peekBack()?.command;
}
