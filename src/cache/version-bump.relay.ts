import { randomUUID } from 'node:crypto';
import type { OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import type { Logger } from 'pino';
import type { MetricsService } from '../metrics/metrics.service.js';
import { VERSION_SCOPE, type VersionCounter } from './cache-key.builder.js';

/** Bumps relayed to this replica; it answers whether it moved the counters in Redis. */
export type ApplyRelayedBump = (counters: readonly VersionCounter[]) => Promise<boolean>;

interface BumpMessage {
  id: string;
  from: string;
  counters: VersionCounter[];
}

const SCOPES = new Set<string>(Object.values(VERSION_SCOPE));
const isCounter = (value: unknown): value is VersionCounter =>
  typeof value === 'object' &&
  value !== null &&
  SCOPES.has((value as VersionCounter).scope) &&
  typeof (value as VersionCounter).id === 'string';

const BUMP_CHANNEL = 'parley_cache_bump';
const ACK_CHANNEL = 'parley_cache_bump_ack';
/** How long a write waits for another replica to confirm the bump. */
const ACK_WAIT_MS = 1000;
/**
 * After a relay nobody confirmed (Redis is away for every replica, so nobody can read versions
 * either), later relays are still sent but not waited for during this long, so that a whole Redis
 * outage does not slow every write down.
 */
const QUIET_MS = 10_000;
const RECONNECT_MS = 1000;
/** Bounds on connecting and on each query: a relay must never hold a write (or the shutdown) long. */
const CONNECT_TIMEOUT_MS = 5000;
const QUERY_TIMEOUT_MS = 2000;

/**
 * Carries version bumps through PostgreSQL (LISTEN/NOTIFY) when this replica cannot reach Redis
 * but others can: a replica cut off from Redis alone would otherwise leave the entries its writes
 * made stale readable on every other replica until it rejoined. A replica that still reaches Redis
 * bumps the counters there and confirms; the write is answered after the first confirmation (or
 * after ACK_WAIT_MS), so read-your-writes holds on the connected replicas too.
 * One dedicated connection per process, opened at start and closed at shutdown.
 */
export class VersionBumpRelay implements OnApplicationShutdown {
  private readonly self = randomUUID();
  private client: pg.Client | undefined;
  /** The client being connected, if any: ended at shutdown too. */
  private opening: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private stopped = false;
  private quietUntil = 0;
  private readonly acks = new Map<string, () => void>();
  private apply: ApplyRelayedBump = () => Promise.resolve(false);

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly metrics: MetricsService,
  ) {}

  /** Starts listening in the background (and again after every lost connection). */
  start(apply: ApplyRelayedBump): void {
    this.apply = apply;
    void this.connect();
  }

  /**
   * Asks the other replicas to bump `counters` in Redis; resolves once one of them confirmed, or
   * when none did in time (then the outage is everyone's: nobody can read those versions either).
   */
  async relay(counters: readonly VersionCounter[]): Promise<void> {
    const client = this.client;
    if (client === undefined) {
      this.metrics.cacheBumpRelays.inc({ outcome: 'unsent' });
      return;
    }
    const message: BumpMessage = { id: randomUUID(), from: this.self, counters: [...counters] };
    const wait = Date.now() < this.quietUntil ? 0 : ACK_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const acked = new Promise<boolean>((resolve) => {
      this.acks.set(message.id, () => resolve(true));
      timer = setTimeout(() => resolve(false), wait);
    });
    try {
      await client.query('SELECT pg_notify($1, $2)', [BUMP_CHANNEL, JSON.stringify(message)]);
      const confirmed = await acked;
      if (!confirmed && wait > 0) {
        this.quietUntil = Date.now() + QUIET_MS;
      }
      this.metrics.cacheBumpRelays.inc({ outcome: confirmed ? 'confirmed' : 'unconfirmed' });
    } catch (error) {
      this.metrics.cacheBumpRelays.inc({ outcome: 'unsent' });
      this.logger.warn({ err: (error as Error).message }, 'cache bump relay failed');
    } finally {
      clearTimeout(timer);
      this.acks.delete(message.id);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    const clients = [this.client, this.opening].filter((client) => client !== undefined);
    this.client = undefined;
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    while (!this.stopped && this.client === undefined) {
      const client = new pg.Client({
        connectionString: this.databaseUrl,
        application_name: 'parley',
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        query_timeout: QUERY_TIMEOUT_MS,
      });
      this.opening = client;
      client.on('error', (error) => this.lost(client, error));
      client.on('end', () => this.lost(client));
      client.on('notification', (notification) => void this.received(notification));
      try {
        await client.connect();
        await client.query(`LISTEN ${BUMP_CHANNEL}`);
        await client.query(`LISTEN ${ACK_CHANNEL}`);
        if (this.stopped) {
          await client.end();
          return;
        }
        this.client = client;
      } catch (error) {
        this.logger.debug({ err: (error as Error).message }, 'cache bump relay not listening yet');
        await client.end().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      } finally {
        this.opening = undefined;
      }
    }
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client) {
      return;
    }
    this.client = undefined;
    if (!this.stopped) {
      this.logger.warn({ err: error?.message }, 'cache bump relay connection lost; reconnecting');
      setTimeout(() => void this.connect(), RECONNECT_MS);
    }
  }

  private async received(notification: pg.Notification): Promise<void> {
    if (notification.channel === ACK_CHANNEL) {
      this.acks.get(notification.payload ?? '')?.();
      return;
    }
    let message: BumpMessage;
    try {
      message = JSON.parse(notification.payload ?? '') as BumpMessage;
    } catch {
      return;
    }
    if (message.from === this.self || !Array.isArray(message.counters) || !message.counters.every(isCounter)) {
      return;
    }
    if (!(await this.apply(message.counters))) {
      return;
    }
    this.metrics.cacheBumpRelays.inc({ outcome: 'applied' });
    await this.client?.query('SELECT pg_notify($1, $2)', [ACK_CHANNEL, message.id]).catch(() => undefined);
  }
}
