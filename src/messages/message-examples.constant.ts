/**
 * Examples for the API document: a user message and its reply as Parley answers them (a reply is
 * `assistant`; only a failed reply carries `error`).
 */
const SESSION_ID = '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10';
const USER_MESSAGE_ID = '9d5c2b8e-1f3a-4b7c-8e2d-6a1f0c3b5d7e';
const REPLY_ID = 'e4a7c3d1-6b2f-4e8a-9c5d-1f0b3a7e2c64';

export const USER_MESSAGE_EXAMPLE = {
  id: USER_MESSAGE_ID,
  sessionId: SESSION_ID,
  seq: 1,
  role: 'user',
  content: 'What should I see in Lisbon in two days?',
  status: 'complete',
  replyTo: null,
  parentId: null,
  createdAt: '2026-01-01T12:00:00.000Z',
  updatedAt: '2026-01-01T12:00:00.000Z',
};

export const PENDING_REPLY_EXAMPLE = {
  id: REPLY_ID,
  sessionId: SESSION_ID,
  seq: 2,
  role: 'assistant',
  content: '',
  status: 'pending',
  replyTo: USER_MESSAGE_ID,
  parentId: USER_MESSAGE_ID,
  createdAt: '2026-01-01T12:00:00.000Z',
  updatedAt: '2026-01-01T12:00:00.000Z',
};

export const COMPLETE_REPLY_EXAMPLE = {
  ...PENDING_REPLY_EXAMPLE,
  content: 'Day one: Alfama and the castle, then Baixa and Chiado. Day two: Belém and LX Factory.',
  status: 'complete',
  updatedAt: '2026-01-01T12:00:04.000Z',
};

export const FAILED_REPLY_EXAMPLE = {
  ...PENDING_REPLY_EXAMPLE,
  status: 'failed',
  updatedAt: '2026-01-01T12:00:30.000Z',
  error: {
    code: 'upstream_unavailable',
    message: 'The model is unavailable right now. Please try again later.',
  },
};

export const SEND_BODY_EXAMPLE = { content: 'What should I see in Lisbon in two days?' };
