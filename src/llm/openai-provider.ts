import { Injectable } from '@nestjs/common';
import OpenAI, { APIConnectionTimeoutError, APIError } from 'openai';
import { AppConfig } from '../config/app-config.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { LlmError } from './llm.error.js';
import { LlmProvider, type PromptMessage } from './llm-provider.js';

const IDLE_TIMEOUT = Symbol('llm idle timeout');

/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio),
 * streamed. One call is one try: the SDK's own retries are off, because retrying belongs to the
 * reply pipeline (which restarts the reply's text and counts attempts). Failures become LlmError.
 */
@Injectable()
export class OpenAiProvider extends LlmProvider {
  readonly name = 'openai';
  private readonly client: OpenAI;
  private readonly limit: ConcurrencyLimit;

  constructor(private readonly config: AppConfig) {
    super();
    this.client = new OpenAI({
      // Local servers (Ollama, llama.cpp) need no key, but the SDK insists on one.
      apiKey: config.llm.apiKey ?? 'not-needed',
      baseURL: config.llm.baseUrl,
      timeout: config.llm.timeoutMs,
      maxRetries: 0,
    });
    this.limit = new ConcurrencyLimit(config.llm.maxConcurrent);
  }

  async *stream(prompt: readonly PromptMessage[], signal: AbortSignal): AsyncIterable<string> {
    const release = await this.limit.acquire(signal);
    const controller = new AbortController();
    const forward = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    let idle: NodeJS.Timeout | undefined;
    let answering = false;
    const armIdleTimer = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(IDLE_TIMEOUT), this.config.llm.timeoutMs);
    };
    try {
      // A stop that came as the slot was granted, before the listener was there.
      if (signal.aborted) {
        forward();
      }
      armIdleTimer();
      const chunks = await this.client.chat.completions.create(
        {
          model: this.config.llm.model,
          messages: prompt.map((message) => ({ role: message.role, content: message.content })),
          [this.config.llm.maxTokensField]: this.config.llm.maxOutputTokens,
          stream: true,
        },
        { signal: controller.signal },
      );
      answering = true;
      let finished = false;
      for await (const chunk of chunks) {
        armIdleTimer();
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) {
          finished = true;
        }
        const delta = choice?.delta?.content;
        if (typeof delta === 'string' && delta.length > 0) {
          yield delta;
        }
      }
      // The SDK ends an aborted stream quietly: tell a timeout and a cut stream from a finished one.
      if (controller.signal.aborted) {
        throw controller.signal.reason === IDLE_TIMEOUT
          ? new LlmError('timeout', 'no data within LLM_TIMEOUT_MS')
          : signal.reason;
      }
      if (!finished) {
        throw new LlmError('stream', 'the stream ended without a finish reason');
      }
    } catch (error) {
      throw classify(error, controller.signal, signal, answering);
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', forward);
      release();
    }
  }
}

/** Sorts an upstream failure into what the reply pipeline retries and what it fails at once. */
export function classify(error: unknown, inner: AbortSignal, outer: AbortSignal, answering: boolean): unknown {
  if (error instanceof LlmError || (outer.aborted && error === outer.reason)) {
    return error;
  }
  if (outer.aborted) {
    return outer.reason;
  }
  if (inner.aborted && inner.reason === IDLE_TIMEOUT) {
    return new LlmError('timeout', 'no data within LLM_TIMEOUT_MS');
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmError('timeout', error.message);
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    if (error.status === 429) {
      return new LlmError(
        'rate_limited',
        error.message,
        retryAfterMs(error.headers as Headers | undefined),
        error.status,
      );
    }
    if (error.status >= 500 || error.status === 408 || error.status === 409) {
      return new LlmError('server', error.message, undefined, error.status);
    }
    return new LlmError('client', error.message, undefined, error.status);
  }
  if (error instanceof APIError && !answering) {
    // No status and no answer yet: the connection failed.
    return new LlmError('server', error.message);
  }
  return new LlmError('stream', error instanceof Error ? error.message : String(error));
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after');
  if (value === undefined || value === null) {
    return undefined;
  }
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, 60_000) : undefined;
}
