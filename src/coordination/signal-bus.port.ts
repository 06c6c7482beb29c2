/**
 * Fire-and-forget signals to every process (a reply to stop reaches the worker generating it).
 * Delivery is at most once and only to processes listening at that moment: a signal is a way to
 * act sooner, never the record (that is in the database).
 */
export abstract class SignalBus {
  abstract signal(channel: string, message: string): Promise<void>;
  /** Calls `listener` with each message signalled on `channel` from now on, by any process. */
  abstract listen(channel: string, listener: (message: string) => void): void;
}
