import { CreateSessionsAndMessages1767225600000 } from './1767225600000-CreateSessionsAndMessages.js';
import { CreateMemories1767312000000 } from './1767312000000-CreateMemories.js';
import { ListSessionsByActivity1767484800000 } from './1767484800000-ListSessionsByActivity.js';
import { CreateUserPreferences1767600000000 } from './1767600000000-CreateUserPreferences.js';
import { MessageTree1767657600000 } from './1767657600000-MessageTree.js';
import { SearchMessages1767700000000 } from './1767700000000-SearchMessages.js';
import { ExtractedMemories1767700100000 } from './1767700100000-ExtractedMemories.js';
import { SessionSummaries1767700200000 } from './1767700200000-SessionSummaries.js';
import { SessionReplyMode1767800000000 } from './1767800000000-SessionReplyMode.js';
import { CompletedRepliesIndex1767900000000 } from './1767900000000-CompletedRepliesIndex.js';
import { OpenRepliesBySession1768000000000 } from './1768000000000-OpenRepliesBySession.js';
import { OpenReplyIndexesByRole1768100000000 } from './1768100000000-OpenReplyIndexesByRole.js';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [
  CreateSessionsAndMessages1767225600000,
  CreateMemories1767312000000,
  ListSessionsByActivity1767484800000,
  CreateUserPreferences1767600000000,
  MessageTree1767657600000,
  SearchMessages1767700000000,
  ExtractedMemories1767700100000,
  SessionSummaries1767700200000,
  SessionReplyMode1767800000000,
  CompletedRepliesIndex1767900000000,
  OpenRepliesBySession1768000000000,
  OpenReplyIndexesByRole1768100000000,
];
