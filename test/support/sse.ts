export interface SseEvent {
  id: string;
  event: string;
  data: any;
}

export interface SseClient {
  readonly events: SseEvent[];
  readonly comments: string[];
  readonly status: number;
  /** Resolves once an event satisfying `predicate` has arrived (or rejects after `timeoutMs`). */
  waitFor(predicate: (event: SseEvent) => boolean, timeoutMs?: number, what?: string): Promise<SseEvent>;
  readonly ended: Promise<void>;
  close(): void;
}

/** A minimal EventSource over fetch (headers included; no token: a stream ticket in the URL), parsing `id:`, `event:`, `data:` and comments. */
export async function openSse(
  url: string,
  token: string | undefined,
  headers: Record<string, string> = {},
): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      accept: 'text/event-stream',
      ...headers,
    },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((waiter) => waiter());
  const ended = (async () => {
    if (!response.body) {
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments.push(line.slice(1).trim());
              continue;
            }
            const colon = line.indexOf(':');
            fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
          }
          if (fields.event !== undefined && fields.data !== undefined) {
            events.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data) });
            notify();
          }
        }
      }
    } catch {
      // aborted by close()
    } finally {
      notify();
    }
  })();
  let done = false;
  void ended.then(() => {
    done = true;
  });
  return {
    events,
    comments,
    status: response.status,
    ended,
    close: () => controller.abort(),
    waitFor: (predicate, timeoutMs = 20_000, what = 'event') =>
      new Promise<SseEvent>((resolve, reject) => {
        const check = (): void => {
          const found = events.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          } else if (done) {
            cleanup();
            reject(new Error(`stream ended before ${what}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}

/** The replies a stream reported superseded, sorted (the order they were superseded in is not the contract's). */
export function supersededReplyIds(events: readonly SseEvent[]): string[] {
  return events
    .filter((e) => e.event === 'reply.superseded')
    .map((e) => e.data.messageId as string)
    .sort();
}
