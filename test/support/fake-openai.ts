import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXTRACTION_SYSTEM_PROMPT } from '../../src/memory/extraction/fact-extractor.js';
import { SUMMARY_SYSTEM_PROMPT } from '../../src/replies/summary/summary.service.js';

/** What the fake does with one request. */
export type FakeBehaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfterS?: number }
  /** Headers are sent, some tokens follow, then the socket is destroyed. */
  | { kind: 'cut'; afterTokens: number }
  /** A chunk that is not JSON, after some tokens. */
  | { kind: 'malformed'; afterTokens: number }
  /** Sends nothing at all for this long before answering normally. */
  | { kind: 'stall'; ms: number }
  /** Streams this text (in a few chunks) instead of the usual answer. */
  | { kind: 'text'; text: string };

export interface RecordedRequest {
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    stream?: boolean;
    max_tokens?: number;
    max_completion_tokens?: number;
  };
  authorization: string | undefined;
  behaviour: FakeBehaviour['kind'];
}

/** The deterministic answer: tokens naming the question and how many user turns the prompt held. */
export function fakeAnswer(messages: ReadonlyArray<{ role: string; content: string }>): string[] {
  const users = messages.filter((m) => m.role === 'user');
  const last = users.at(-1)?.content ?? '';
  return ['Answer ', `${users.length} `, 'to: ', ...last.split(/(?<= )/)];
}

/**
 * An OpenAI-compatible chat-completions server on loopback: streams SSE chunks
 * (`data: {...}` then `data: [DONE]`), records every request, and misbehaves on demand.
 */
export class FakeOpenAi {
  readonly requests: RecordedRequest[] = [];
  /**
   * Memory-extraction calls (Parley asks after each completed reply) are kept apart: they are
   * answered `{"facts":[]}` unless `route` says otherwise, and never take a planned behaviour.
   */
  readonly extractionRequests: RecordedRequest[] = [];
  /** Summarisation calls, kept apart the same way (answered with the usual answer unless routed). */
  readonly summaryRequests: RecordedRequest[] = [];
  /** Behaviours for the next requests, in order; then `fallback`. */
  readonly plan: FakeBehaviour[] = [];
  fallback: FakeBehaviour = { kind: 'ok' };
  /** Chooses a request's behaviour from its body, before the plan; undefined leaves it to the plan. */
  route: ((body: RecordedRequest['body']) => FakeBehaviour | undefined) | undefined;
  /** Delay between two streamed tokens. */
  tokenDelayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Answers whose connection the client closed before the answer ended (an aborted call). */
  closedByClient = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeOpenAi> {
    const server = createServer();
    const fake = new FakeOpenAi(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void fake.handle(req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.once('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  reset(): void {
    this.requests.length = 0;
    this.extractionRequests.length = 0;
    this.summaryRequests.length = 0;
    this.plan.length = 0;
    this.fallback = { kind: 'ok' };
    this.route = undefined;
    this.tokenDelayMs = 0;
    this.maxInFlight = 0;
    this.closedByClient = 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'];
    const extraction = body.messages[0]?.content === EXTRACTION_SYSTEM_PROMPT;
    const summary = body.messages[0]?.content.startsWith(SUMMARY_SYSTEM_PROMPT) === true;
    const behaviour: FakeBehaviour =
      this.route?.(body) ??
      (extraction
        ? { kind: 'text', text: '{"facts":[]}' }
        : summary
          ? { kind: 'ok' }
          : (this.plan.shift() ?? this.fallback));
    (extraction ? this.extractionRequests : summary ? this.summaryRequests : this.requests).push({
      body,
      authorization: req.headers.authorization,
      behaviour: behaviour.kind,
    });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let counted = true;
    // Uncounted just before the last bytes go out: the client may start its next call on reading them.
    const done = (): void => {
      if (counted) {
        counted = false;
        this.inFlight -= 1;
      }
    };
    try {
      await this.answer(body, behaviour, res, done);
    } finally {
      done();
    }
  }

  private async answer(
    body: RecordedRequest['body'],
    behaviour: FakeBehaviour,
    res: ServerResponse,
    done: () => void,
  ): Promise<void> {
    if (behaviour.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (behaviour.retryAfterS !== undefined) {
        headers['retry-after'] = String(behaviour.retryAfterS);
      }
      res
        .writeHead(behaviour.status, headers)
        .end(JSON.stringify({ error: { message: `fake ${behaviour.status}`, type: 'fake' } }));
      return;
    }
    if (behaviour.kind === 'stall') {
      await Promise.race([sleep(behaviour.ms), new Promise((resolve) => res.once('close', resolve))]);
      if (res.destroyed) {
        return;
      }
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const tokens = behaviour.kind === 'text' ? (behaviour.text.match(/[\s\S]{1,8}/g) ?? []) : fakeAnswer(body.messages);
    for (const [i, token] of tokens.entries()) {
      if (res.destroyed) {
        this.closedByClient += 1;
        return;
      }
      if ((behaviour.kind === 'cut' || behaviour.kind === 'malformed') && i === behaviour.afterTokens) {
        if (behaviour.kind === 'cut') {
          // Let the tokens already written reach the client, then drop the connection.
          await sleep(50);
          res.socket?.destroy();
          return;
        }
        res.write('data: {"choices": [ this is not json\n\n');
        res.end();
        return;
      }
      res.write(`data: ${JSON.stringify(chunk({ content: token }, null))}\n\n`);
      if (this.tokenDelayMs > 0) {
        await sleep(this.tokenDelayMs);
      }
    }
    done();
    res.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
    res.write('data: [DONE]\n\n');
    res.end();
  }
}

function chunk(delta: { content?: string }, finishReason: string | null): unknown {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: 'fake-model',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}
