import { CreateSessionsAndMessages1767225600000 } from './1767225600000-CreateSessionsAndMessages.js';
import { CreateMemories1767312000000 } from './1767312000000-CreateMemories.js';
import { ListSessionsByActivity1767484800000 } from './1767484800000-ListSessionsByActivity.js';
import { CreateUserPreferences1767600000000 } from './1767600000000-CreateUserPreferences.js';
import { SearchMessages1767600100000 } from './1767600100000-SearchMessages.js';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [
  CreateSessionsAndMessages1767225600000,
  CreateMemories1767312000000,
  ListSessionsByActivity1767484800000,
  CreateUserPreferences1767600000000,
  SearchMessages1767600100000,
];
