import { describe, expect, it } from 'vitest';
import { loadConfig } from './app-config.js';
import { ConfigError } from './config.variables.js';

describe('reply, LLM and event settings', () => {
  it('have the documented defaults', () => {
    const config = loadConfig({});
    expect(config.llm).toMatchObject({
      timeoutMs: 60_000,
      maxConcurrent: 16,
      maxOutputTokens: 1024,
      maxTokensField: 'max_tokens',
      promptTokenBudget: 6000,
      maxTries: 4,
      retryBaseMs: 500,
    });
    expect(config.replies).toMatchObject({ jobLockMs: 30_000, reconcileIntervalMs: 30_000 });
    expect(config.events).toEqual({
      streamMaxLength: 1000,
      streamTtlMs: 3_600_000,
      sseHeartbeatMs: 15_000,
      sseMaxStreamsPerUser: 10,
      ticketTtlMs: 300_000,
    });
    expect(config.llm.systemPrompt.length).toBeGreaterThan(0);
  });

  it.each([
    ['LLM_TIMEOUT_MS', 'soon'],
    ['LLM_MAX_CONCURRENT', '0'],
    ['LLM_MAX_OUTPUT_TOKENS', '-1'],
    ['LLM_MAX_TOKENS_FIELD', 'max_length'],
    ['LLM_PROMPT_TOKEN_BUDGET', '10'],
    ['LLM_MAX_TRIES', '0'],
    ['LLM_RETRY_BASE_MS', '1.5'],
    ['REPLY_JOB_LOCK_MS', '10'],
    ['RECONCILE_INTERVAL_MS', 'often'],
    ['EVENT_STREAM_MAX_LENGTH', '1'],
    ['EVENT_STREAM_TTL_MS', '5'],
    ['SSE_HEARTBEAT_MS', '20000'],
    ['LLM_SYSTEM_PROMPT', 'x'.repeat(20_001)],
  ])('refuses %s=%s in one line naming it', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).not.toContain('\n');
  });
});
