import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The JSON body, when there is one. */
  json: any;
}

/** Parses the first HTTP/1.1 response in `raw` (headers and a Content-Length body). */
export function parseRawResponse(raw: string): RawResponse {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = rest.join('\r\n\r\n');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body, json };
}

export function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server writes on the socket until it closes it (or `timeoutMs` passes). */
export function readUntilClosed(socket: Socket, timeoutMs: number): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    let data = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      resolve({ data, closed });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
    });
    socket.on('error', () => undefined);
    socket.once('close', () => done(true));
  });
}

/** Sends bytes exactly as given (no client library fixes them up) and reads the answer. */
export async function rawRequest(url: string, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  const socket = await openSocket(url);
  const reading = readUntilClosed(socket, timeoutMs);
  socket.write(bytes);
  const { data } = await reading;
  socket.destroy();
  return parseRawResponse(data);
}
