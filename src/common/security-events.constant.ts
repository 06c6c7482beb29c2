/** Every kind of access violation Parley records (logged, and counted from zero by the metrics). */
export const SECURITY_EVENT_TYPES = [
  'session_forbidden',
  'memory_forbidden',
  'invalid_token',
  'admin_forbidden',
  'stream_ticket_refused',
] as const;

export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];
