/**
 * The replies queue as the rest of Parley sees it: its name and the payload of its jobs. Health,
 * metrics, admin and the producers import this file, never the consumer (jobs/generate-reply.job.ts).
 */
export const REPLIES_QUEUE = 'replies';

export interface GenerateReplyJobData {
  replyId: string;
  sessionId: string;
  /** The request that asked for the reply, so the worker's log lines can be traced to it. */
  requestId: string;
}

/** Summaries of long branches: one job per session at a time (its id is derived from the session). */
export const SUMMARIES_QUEUE = 'summaries';

export interface SummarizeBranchJobData {
  sessionId: string;
  /** The newest message the summary should cover: the branch ends there. */
  throughMessageId: string;
  requestId: string;
}

export function summaryJobId(sessionId: string): string {
  return `summary:${sessionId}`;
}
