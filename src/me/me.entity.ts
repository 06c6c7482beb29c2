/** What a user chose about how Parley treats them. A user who never chose has DEFAULT_PREFERENCES. */
export interface UserPreferences {
  readonly ownerId: string;
  /** Custom instructions added to every prompt of theirs, after the system prompt. */
  readonly instructions: string | null;
  /** Whether memories are drawn from their conversations. */
  readonly memoryExtraction: boolean;
}

export function defaultPreferences(ownerId: string): UserPreferences {
  return { ownerId, instructions: null, memoryExtraction: true };
}
