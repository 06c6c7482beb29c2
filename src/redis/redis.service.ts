import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Pipeline, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../common/logger.module.js';
import { AppConfig } from '../config/app-config.js';
import { CommandDeadline } from './command-deadline.js';
import { declaredScripts, type RedisScript } from './redis-script.js';

export type RedisRole = 'commands' | 'subscriber' | 'events' | 'queue-client' | 'queue-subscriber' | 'queue-blocking';

const RECONNECT_MAX_MS = 2000;

/** The longest a command of the command connection waits for its answer (see CommandDeadline). */
export const COMMAND_TIMEOUT_MS = 2000;

/** A command added with defineCommand: the number of keys, the keys, then the arguments. */
type ScriptCommand = (...args: Array<string | number>) => Promise<unknown>;

/**
 * The process's Redis connections: a fixed set, opened at start and closed at shutdown.
 * Nothing opens a connection per request (failure F5).
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly connections = new Map<RedisRole, Redis>();
  private readonly blocking: Redis[] = [];
  /** The command connection's (see options()). */
  private deadline: CommandDeadline | undefined;

  constructor(
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.config.redis.url !== undefined;
  }

  /** Waits for the command connection; production refuses to start without Redis. */
  async connect(timeoutMs = 10_000): Promise<void> {
    if (!this.enabled) {
      return;
    }
    const connection = this.commands;
    if (connection.status === 'ready') {
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        connection.off('ready', onReady);
        reject(new Error(`Redis did not become ready within ${timeoutMs} ms (REDIS_URL)`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      connection.once('ready', onReady);
    });
  }

  /** For application commands: fails fast while Redis is away instead of queueing forever. */
  get commands(): Redis {
    return this.connection('commands');
  }

  get subscriber(): Redis {
    return this.connection('subscriber');
  }

  /** The one connection of this process that blocks on XREAD for every subscribed event stream. */
  get eventReader(): Redis {
    return this.connection('events');
  }

  /**
   * Bull's clients need `maxRetriesPerRequest: null` and no ready check. Client and subscriber are
   * shared by every queue; each queue has its own blocking connection (one per queue, fixed).
   */
  queueConnection(role: 'queue-client' | 'queue-subscriber' | 'queue-blocking'): Redis {
    if (role !== 'queue-blocking') {
      return this.connection(role);
    }
    const blocking = this.open(role);
    this.blocking.push(blocking);
    return blocking;
  }

  key(...parts: Array<string | number>): string {
    return [this.config.redis.keyPrefix, ...parts].join(':');
  }

  get available(): boolean {
    return this.connections.get('commands')?.status === 'ready';
  }

  /**
   * Runs a Lua script on the commands connection as an ioredis custom command: EVAL the first time
   * on each socket, EVALSHA after, so the script is not sent with every call and calls stay in the
   * order they were made (a NOSCRIPT retry would let later calls overtake).
   */
  runScript(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    const connection = this.commands;
    const command = (connection as unknown as Record<string, ScriptCommand | undefined>)[script.name];
    if (command === undefined) {
      // Declared after the connection opened (redisScript() belongs at module level): an
      // auto-pipelined batch already open would not carry it, so it never runs as a custom command.
      return Promise.reject(new Error(`Redis script ${script.name} was declared after the connection opened`));
    }
    return command.call(connection, keys.length, ...keys, ...args);
  }

  private connection(role: RedisRole): Redis {
    let connection = this.connections.get(role);
    if (connection === undefined) {
      connection = this.open(role);
      this.connections.set(role, connection);
    }
    return connection;
  }

  private open(role: RedisRole): Redis {
    const url = this.config.redis.url;
    if (url === undefined) {
      throw new Error('Redis is not configured (REDIS_URL is unset)');
    }
    const connection = new Redis(url, this.options(role));
    if (role === 'commands' || role === 'queue-client') {
      scriptsOnPipelinePrototype(connection);
    }
    if (role === 'commands') {
      this.deadline = new CommandDeadline(connection, COMMAND_TIMEOUT_MS);
      for (const script of declaredScripts()) {
        connection.defineCommand(script.name, { lua: script.lua });
      }
    }
    let lastError = '';
    connection.on('error', (error: Error) => {
      // One line per distinct error, not one per reconnect attempt.
      if (error.message !== lastError) {
        lastError = error.message;
        this.logger.warn({ role, err: error.message }, 'redis connection error');
      }
    });
    connection.on('ready', () => {
      lastError = '';
    });
    return connection;
  }

  private options(role: RedisRole): RedisOptions {
    const base: RedisOptions = {
      connectionName: `parley:${role}:${process.pid}`,
      retryStrategy: (times) => Math.min(times * 100, RECONNECT_MAX_MS),
    };
    if (role === 'commands') {
      return {
        ...base,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        connectTimeout: 2000,
        // No `commandTimeout`: ioredis would arm a timer for every command. CommandDeadline gives
        // the same deadline (COMMAND_TIMEOUT_MS) with one timer for the connection.
        enableAutoPipelining: true,
      };
    }
    if (role === 'subscriber') {
      return base;
    }
    if (role === 'events') {
      return { ...base, maxRetriesPerRequest: null };
    }
    const queue: RedisOptions = { ...base, maxRetriesPerRequest: null, enableReadyCheck: false };
    // Bull's commands (a send's enqueue, a worker's moves) made in one turn of the event loop go out
    // in one write, as on the command connection: one write per job was a fifth of a send's system
    // calls, and each wakes Redis. Bull's scripts are defined before its first command (and put on
    // the batches' pipeline class as they are: scriptsOnPipelinePrototype).
    return role === 'queue-client' ? { ...queue, enableAutoPipelining: true } : queue;
  }

  async onApplicationShutdown(): Promise<void> {
    this.deadline?.stop();
    this.deadline = undefined;
    await Promise.all(
      [...this.connections.values(), ...this.blocking].map(async (connection) => {
        try {
          await connection.quit();
        } catch {
          connection.disconnect();
        }
      }),
    );
    this.connections.clear();
    this.blocking.length = 0;
  }
}

/**
 * ioredis copies every custom command of a connection onto each pipeline it makes for it, and an
 * auto-pipelining connection makes one for every batch: with Parley's 17 scripts a pipeline took
 * 5.8 µs to make instead of 1.6 without them, and Bull's client connection, with Bull's 27, spent
 * about 30 µs per send making its batches' pipelines (a CPU profile of `send-vs-pgbench`). The
 * commands are the same functions on every pipeline (they act on `this`), so the pipelines that
 * `pipeline()` makes (the auto-pipelined batches among them) get them from their class's prototype
 * instead: each script is put there once, when it is defined, and a pipeline is built as if its
 * connection had none. The connection's own commands are unchanged (EVAL the first time on each
 * socket, EVALSHA after), and so is `multi()`, which builds ioredis's own Pipeline with the copies:
 * Bull runs its scripts in its transactions.
 *
 * The same pipelines also let go of their commands once every one of them is answered (see
 * releaseWhenAnswered).
 */
function scriptsOnPipelinePrototype(connection: Redis): void {
  const commander = connection as unknown as { scriptsSet: Record<string, unknown> } & Record<string, unknown>;
  class ScriptedPipeline extends Pipeline {
    constructor(redis: Redis) {
      // Built without the copies (synchronously: nothing else runs before they are given back).
      const scripts = commander.scriptsSet;
      commander.scriptsSet = {};
      try {
        super(redis);
      } finally {
        commander.scriptsSet = scripts;
      }
      releaseWhenAnswered(this);
    }
  }
  const share = (name: string): void => {
    for (const method of [name, `${name}Buffer`]) {
      Object.defineProperty(ScriptedPipeline.prototype, method, { value: commander[method], configurable: true });
    }
  };
  Object.keys(commander.scriptsSet).forEach(share);
  const define = connection.defineCommand.bind(connection);
  connection.defineCommand = (name, definition) => {
    define(name, definition);
    share(name);
  };
  connection.pipeline = (commands?: unknown[][]) => {
    const pipeline = new ScriptedPipeline(connection);
    if (commands !== undefined) {
      pipeline.addBatch(commands);
    }
    return pipeline;
  };
}

/** The fields of an ioredis pipeline that hold its commands and their replies. */
interface PipelineBatch {
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  _queue: unknown[];
  _result: unknown[];
}

/** What an answered pipeline's promise becomes: its replies went to their callers already. */
const ANSWERED: Promise<unknown> = Promise.resolve([]);

function ignore(): void {}

/**
 * Once a pipeline is answered in full (ioredis resolves its promise with a copy of the replies),
 * it needs neither its commands, nor its reply slots, nor that promise again: they are dropped. Its
 * callers hold their own promises (exec() returned this one before), and ioredis reads an
 * auto-pipelined batch's promise only to hand its replies out.
 *
 * Kept, they outlived the young generation under load, though a batch is answered within a round
 * trip or two; what kept them reachable was not found. During cached reads (`history-read`, about
 * 12,600 requests/s) about 1.05 MB was promoted to the old generation at every scavenge (one every
 * ~30 ms), more than half of it ioredis commands and replies by a sampling heap profile, and a full
 * mark-compact followed every ~0.7 s with a 7-13 ms pause (the read's p99 was 15-16 ms). With the
 * commands and reply slots dropped, 0.14 MB was promoted per scavenge and the p99 was 11 ms; with
 * the promise too, 0.05 MB. A script driving ioredis's auto-pipelining alone (50 loops of a script
 * and a GET, no Parley code) showed the same: 10-15 MB survived each scavenge, 0.45 MB with these
 * fields dropped.
 *
 * A pipeline whose promise is rejected is left as it is.
 */
function releaseWhenAnswered(pipeline: Pipeline): void {
  const batch = pipeline as unknown as PipelineBatch;
  batch.promise.then(
    () => {
      batch._queue = [];
      batch._result = [];
      // The promise holds the copy of the replies it was resolved with, and resolve/reject hold it.
      batch.promise = ANSWERED;
      batch.resolve = ignore;
      batch.reject = ignore;
    },
    // The rejection is the caller's (exec() returns this promise); nothing to release.
    () => undefined,
  );
}
