import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { eventually } from './http.js';
import { uniqueName } from './services.js';

export interface MonitoredCommand {
  args: string[];
  /** 'lua' for a call made by a script, else the client's address. */
  source: string;
}

/**
 * One line of MONITOR's output (`+<time> [<db> <source>] "arg" "arg" ...`) as ioredis reads it:
 * the arguments between the first and the last quote, split on `" "`.
 */
function parseLine(line: string): MonitoredCommand | undefined {
  const open = line.indexOf(' [');
  const quote = line.indexOf('"');
  if (!line.startsWith('+') || open < 0 || quote < 0) {
    return undefined;
  }
  const [, source = ''] = line.slice(open + 2, quote - 2).split(' ');
  const args = line
    .slice(quote + 1, -1)
    .split('" "')
    .map((arg) => arg.replace(/\\"/g, '"'));
  return { args, source };
}

/**
 * MONITOR on a test's own Redis: every command it runs, in the order it runs them. Read from a
 * socket of its own rather than ioredis's monitor mode, which takes a connection's replies as
 * MONITOR's only once MONITOR's own answer has been handled: a command another client ran at that
 * moment, read in the same chunk, found no command waiting for it and failed the start ("Command
 * queue state error"), most of the time while other clients were busy.
 */
export class RedisMonitor {
  /** The commands listed so far; a test may empty it between steps. */
  readonly seen: MonitoredCommand[] = [];

  private constructor(
    private readonly client: Redis,
    private readonly socket: Socket,
  ) {
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\r\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const command = parseLine(line);
        if (command !== undefined) {
          this.seen.push(command);
        }
      }
    });
  }

  static async start(url: string): Promise<RedisMonitor> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    socket.write('MONITOR\r\n');
    // Its first answer, +OK, comes before any command it lists.
    const [first] = (await once(socket, 'data')) as [Buffer];
    if (!first.toString('utf8').startsWith('+OK\r\n')) {
      socket.destroy();
      throw new Error(`MONITOR answered ${first.toString('utf8').slice(0, 80)}`);
    }
    const monitor = new RedisMonitor(new Redis(url), socket);
    // Commands listed in the chunk that brought +OK.
    socket.emit('data', first.toString('utf8').slice('+OK\r\n'.length));
    return monitor;
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
    this.socket.destroy();
    this.client.disconnect();
  }
}
