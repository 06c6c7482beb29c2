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
