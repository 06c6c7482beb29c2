/**
 * Fire-and-forget signals to every process (a reply to stop reaches the worker generating it).
 * Delivery is at most once and only to processes listening at that moment: a signal is a way to
 * act sooner, never the record (that is in the database).
 */
export abstract class SignalBus {
  abstract signal(channel: string, message: string): Promise<void>;
  /**
   * Calls `listener` with each message signalled on `channel` from now on, by any process. Signals
   * sent while the listening was broken off (the backend reconnecting) are lost: `resumed` is then
   * called once listening is back, so that the caller can look up in the record what it missed.
   */
  abstract listen(channel: string, listener: (message: string) => void, resumed?: () => void): void;
}
