import type { Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type ListenOptions, type Server as NetServer, type Socket } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

export interface ListenSettings {
  port: number;
  host: string;
  /** Connections each listening socket holds while they wait to be accepted (HTTP_LISTEN_BACKLOG). */
  backlog: number;
  /** Listening sockets on the port (HTTP_LISTEN_SOCKETS); 1 where SO_REUSEPORT is not Linux's. */
  sockets: number;
  /** Open connections per process across all of them (HTTP_MAX_CONNECTIONS). */
  maxConnections: number;
}

/**
 * Listens on `settings.sockets` sockets of the same port (SO_REUSEPORT: the kernel spreads new
 * connections across them), all serving the one HTTP server.
 *
 * libuv accepts one connection per event-loop turn on a listening socket (libuv#3696, Node 20 and
 * later). A turn of a busy process takes milliseconds, so a burst of new connections (clients
 * reconnecting after a deploy, a load balancer opening its pool) waited seconds to be accepted: in
 * the seed's bench, 1,000 connections opened at once while the process was busy were still being
 * accepted four seconds later. Each further socket accepts one more connection per turn.
 *
 * The connection cap stays one per process: a connection another socket accepts is counted against
 * the HTTP server's own `maxConnections`, and one past the cap is closed at accept, as the HTTP
 * server closes its own.
 */
export async function listenOnSockets(app: NestFastifyApplication, settings: ListenSettings): Promise<void> {
  const further = process.platform === 'linux' ? settings.sockets - 1 : 0;
  if (further === 0) {
    await app.listen({ port: settings.port, host: settings.host, backlog: settings.backlog });
    return;
  }
  const server: HttpServer = app.getHttpServer();
  const acceptors: NetServer[] = [];
  let drained: Array<Promise<void>> = [];
  const fastify = app.getHttpAdapter().getInstance();
  // The further sockets stop accepting when the HTTP server does, at the start of its close...
  fastify.addHook('preClose', (done) => {
    drained = acceptors.map((acceptor) => new Promise<void>((resolve) => acceptor.close(() => resolve())));
    done();
  });
  // ...and the close ends once their connections have ended too: the HTTP server waits only for
  // those it accepted itself (each connection stays counted by the server that accepted it).
  fastify.addHook('onClose', async () => {
    await Promise.all(drained);
  });
  // Sockets with SO_REUSEPORT share a port with any other such socket of the same user, a second
  // Parley included: a socket without it, bound for a moment first, fails as the port's only
  // listener would (port in use), and picks the free port that PORT=0 asks for.
  const port = await freeToTake(settings.port, settings.host);
  // Fastify hands its listen options to Node's server.listen() whole; its types omit reusePort.
  const options = { port, host: settings.host, backlog: settings.backlog, reusePort: true };
  await app.listen(options);
  const bound = server.address() as AddressInfo;
  const cap = new ConnectionCap(server, settings.maxConnections);
  for (let i = 0; i < further; i += 1) {
    const acceptor = createServer((socket) => cap.handOver(socket));
    await listening(acceptor, { port: bound.port, host: bound.address, backlog: settings.backlog, reusePort: true });
    acceptors.push(acceptor);
  }
}

/**
 * HTTP_MAX_CONNECTIONS across the sockets. The HTTP server counts and caps only the connections it
 * accepted itself, so its cap is lowered by the open connections handed to it, and a connection
 * another socket accepted is handed over only while the process is under the cap.
 */
class ConnectionCap {
  private open = 0;
  private handedOver = 0;

  constructor(
    private readonly server: HttpServer,
    private readonly max: number,
  ) {
    server.prependListener('connection', (socket: Socket) => {
      this.open += 1;
      socket.once('close', () => {
        this.open -= 1;
      });
    });
  }

  handOver(socket: Socket): void {
    if (this.open >= this.max) {
      socket.destroy();
      return;
    }
    this.handedOver += 1;
    this.server.maxConnections = this.max - this.handedOver;
    socket.once('close', () => {
      this.handedOver -= 1;
      this.server.maxConnections = this.max - this.handedOver;
    });
    this.server.emit('connection', socket);
  }
}

/** `port` (or, for 0, a free one) once a listener without SO_REUSEPORT could take it; else the bind error. */
async function freeToTake(port: number, host: string): Promise<number> {
  const probe = createServer();
  await listening(probe, { port, host, exclusive: true });
  const taken = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return taken;
}

/** Resolves once `server` listens as `options` ask, or rejects with the bind error. */
function listening(server: NetServer, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
