import { Redis } from 'ioredis';
import { eventually } from './http.js';
import { uniqueName } from './services.js';

export interface MonitoredCommand {
  args: string[];
  /** 'lua' for a call made by a script, else the client's address. */
  source: string;
}

/** MONITOR on a test's own Redis: every command it runs, in the order it runs them. */
export class RedisMonitor {
  /** The commands listed so far; a test may empty it between steps. */
  readonly seen: MonitoredCommand[] = [];

  private constructor(
    private readonly client: Redis,
    private readonly monitor: Awaited<ReturnType<Redis['monitor']>>,
  ) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      this.seen.push({ args: args.map(String), source });
    });
  }

  static async start(url: string): Promise<RedisMonitor> {
    const client = new Redis(url);
    return new RedisMonitor(client, await client.monitor());
  }

  /**
   * Returns once every command Redis ran before this call is in `seen`: MONITOR lists commands in
   * the order Redis runs them, so a marker sent now is listed after them.
   */
  async caughtUp(): Promise<void> {
    const marker = uniqueName('marker');
    await this.client.echo(marker);
    await eventually(async () => (this.seen.some((c) => c.args.includes(marker)) ? true : undefined), 5_000, 'marker');
  }

  close(): void {
    this.monitor.disconnect();
    this.client.disconnect();
  }
}
