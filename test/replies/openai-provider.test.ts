import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiProvider } from '../../src/llm/openai-provider.js';
import { LlmError } from '../../src/llm/llm.error.js';
import type { PromptMessage } from '../../src/llm/llm-provider.js';
import { retryDelayMs } from '../../src/replies/reply-generation.service.js';
import { loadConfig } from '../../src/config/app-config.js';
import { FakeOpenAi, fakeAnswer } from '../support/fake-openai.js';
import { eventually } from '../support/http.js';

const PROMPT: PromptMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'how far is the moon' },
];

function provider(fake: FakeOpenAi, env: Record<string, string> = {}): OpenAiProvider {
  const config = loadConfig({
    LLM_PROVIDER: 'openai',
    LLM_BASE_URL: fake.baseUrl,
    LLM_API_KEY: 'sk-test-key',
    LLM_MODEL: 'fake-model',
    LLM_MAX_OUTPUT_TOKENS: '77',
    LLM_TIMEOUT_MS: '500',
    ...env,
  });
  return new OpenAiProvider(config);
}

async function collect(
  llm: OpenAiProvider,
  signal = new AbortController().signal,
): Promise<{ tokens: string[]; error?: unknown }> {
  const tokens: string[] = [];
  try {
    for await (const token of llm.stream(PROMPT, signal)) {
      tokens.push(token);
    }
    return { tokens };
  } catch (error) {
    return { tokens, error };
  }
}

describe('openai provider against a fake OpenAI-compatible server', () => {
  let fake: FakeOpenAi;

  beforeAll(async () => {
    fake = await FakeOpenAi.start();
  });

  afterAll(async () => {
    await fake?.stop();
  });

  beforeEach(() => fake.reset());

  it('streams the answer token by token and sends model, prompt, key and output limit', async () => {
    const { tokens, error } = await collect(provider(fake));
    expect(error).toBeUndefined();
    expect(tokens).toEqual(fakeAnswer(PROMPT));
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request?.body).toMatchObject({ model: 'fake-model', stream: true, max_tokens: 77, messages: PROMPT });
    expect(request?.authorization).toBe('Bearer sk-test-key');
  });

  it('sends the output limit as max_completion_tokens when LLM_MAX_TOKENS_FIELD says so', async () => {
    const { error } = await collect(provider(fake, { LLM_MAX_TOKENS_FIELD: 'max_completion_tokens' }));
    expect(error).toBeUndefined();
    const [request] = fake.requests;
    expect(request?.body).toMatchObject({ max_completion_tokens: 77 });
    expect(request?.body).not.toHaveProperty('max_tokens');
  });

  it.each([
    [{ kind: 'status', status: 429, retryAfterS: 2 } as const, 'rate_limited', true],
    [{ kind: 'status', status: 500 } as const, 'server', true],
    [{ kind: 'status', status: 503 } as const, 'server', true],
    [{ kind: 'status', status: 400 } as const, 'client', false],
    [{ kind: 'status', status: 401 } as const, 'client', false],
    [{ kind: 'cut', afterTokens: 2 } as const, 'stream', true],
    [{ kind: 'malformed', afterTokens: 2 } as const, 'stream', true],
    [{ kind: 'stall', ms: 1500 } as const, 'timeout', true],
  ])('classifies %j as %s (transient: %s) after exactly one request', async (behaviour, kind, transient) => {
    fake.plan.push(behaviour);
    const { tokens, error } = await collect(provider(fake));
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).kind).toBe(kind);
    expect((error as LlmError).transient).toBe(transient);
    expect((error as LlmError).code).toMatch(/^upstream_/);
    expect(fake.requests).toHaveLength(1);
    if (behaviour.kind === 'cut' || behaviour.kind === 'malformed') {
      expect(tokens).toEqual(fakeAnswer(PROMPT).slice(0, 2));
    }
    if (behaviour.kind === 'status' && 'retryAfterS' in behaviour) {
      expect((error as LlmError).retryAfterMs).toBe(2000);
    }
  });

  it.each([
    [400, true],
    [413, true],
    [422, true],
    [401, false],
    [403, false],
    [404, false],
    [429, false],
    [500, false],
  ])('a %s tells whether the request itself is refused (%s)', async (status, refused) => {
    fake.plan.push({ kind: 'status', status });
    const { error } = await collect(provider(fake));
    expect((error as LlmError).status).toBe(status);
    expect((error as LlmError).refusesContent).toBe(refused);
  });

  it('never has more than LLM_MAX_CONCURRENT calls upstream at once', async () => {
    fake.tokenDelayMs = 20;
    const llm = provider(fake, { LLM_MAX_CONCURRENT: '2' });
    const results = await Promise.all(Array.from({ length: 6 }, () => collect(llm)));
    expect(results.every((r) => r.error === undefined)).toBe(true);
    expect(fake.requests).toHaveLength(6);
    expect(fake.maxInFlight).toBe(2);
  });

  it('stops when its signal aborts, with the abort reason rather than a model error', async () => {
    fake.tokenDelayMs = 50;
    const controller = new AbortController();
    const reason = new Error('lock lost');
    const llm = provider(fake);
    const tokens: string[] = [];
    let caught: unknown;
    try {
      for await (const token of llm.stream(PROMPT, controller.signal)) {
        tokens.push(token);
        if (tokens.length === 2) {
          controller.abort(reason);
        }
      }
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(reason);
    expect(tokens.length).toBeLessThan(fakeAnswer(PROMPT).length);
  });

  it('a call whose signal aborts as it is handed a concurrency slot never reaches the model', async () => {
    fake.tokenDelayMs = 20;
    const llm = provider(fake, { LLM_MAX_CONCURRENT: '1' });
    const first = collect(llm);
    await eventually(async () => (fake.requests.length === 1 ? true : undefined), 5000, 'the first call upstream');
    // The stop lands in the same turn as the slot: after the waiter's grant, before it goes on.
    const controller = new AbortController();
    const reason = new Error('stopped');
    const signal = controller.signal;
    const remove = signal.removeEventListener.bind(signal);
    signal.removeEventListener = (...args: Parameters<AbortSignal['removeEventListener']>) => {
      remove(...args);
      controller.abort(reason);
    };
    const second = await collect(llm, signal);
    expect((await first).error).toBeUndefined();
    expect(second.error).toBe(reason);
    expect(second.tokens).toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it('backs off exponentially with jitter and honours Retry-After', () => {
    for (let tries = 1; tries <= 5; tries += 1) {
      const ceiling = 100 * 2 ** (tries - 1);
      const delay = retryDelayMs(100, tries);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
    expect(retryDelayMs(100, 1, 5000)).toBe(5000);
    expect(retryDelayMs(1000, 20)).toBeLessThanOrEqual(30_000);
  });
});
