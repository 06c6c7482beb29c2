/** The kinds of thing a user owns. A new kind adds a member here, its query and its two codes. */
export enum AccessResource {
  Session = 'session',
  Memory = 'memory',
}
