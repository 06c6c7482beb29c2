/**
 * The memory-extraction queue as the rest of Parley sees it: its name and the payload of its jobs.
 * The reply pipeline enqueues; only memory/jobs/extract-memories.job.ts consumes.
 */
export const MEMORY_EXTRACTION_QUEUE = 'memory-extraction';

export interface ExtractMemoriesJobData {
  ownerId: string;
  sessionId: string;
  /** The user message whose reply completed: what facts are drawn from. */
  messageId: string;
  /** Its text (at most a message's 8000 characters), so the worker needs no read of another module's table. */
  content: string;
  /** The request that asked for the reply, so the worker's log lines can be traced to it. */
  requestId: string;
}

/** One job per user message, however often it is enqueued. */
export function extractionJobId(messageId: string): string {
  return `extract:${messageId}`;
}
