import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ChangeNotifier } from '../common/change-notifier.port.js';
import { defaultPreferences, type UserPreferences } from './me.entity.js';

interface PreferencesRow {
  owner_id: string;
  instructions: string | null;
  memory_extraction: boolean;
}

const COLUMNS = 'owner_id, instructions, memory_extraction';

function toPreferences(row: PreferencesRow): UserPreferences {
  return { ownerId: row.owner_id, instructions: row.instructions, memoryExtraction: row.memory_extraction };
}

export interface PreferencesChange {
  /** undefined: unchanged; null: cleared. */
  instructions?: string | null;
  memoryExtraction?: boolean;
}

/** Every query on `user_preferences`, each scoped by owner. */
@Injectable()
export class MeRepository {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly changes: ChangeNotifier,
  ) {}

  async find(ownerId: string): Promise<UserPreferences> {
    const rows: PreferencesRow[] = await this.db.query(`SELECT ${COLUMNS} FROM user_preferences WHERE owner_id = $1`, [
      ownerId,
    ]);
    return rows[0] ? toPreferences(rows[0]) : defaultPreferences(ownerId);
  }

  /** One statement: concurrent changes of different fields never undo each other. */
  async update(ownerId: string, change: PreferencesChange): Promise<UserPreferences> {
    const setInstructions = change.instructions !== undefined;
    const setExtraction = change.memoryExtraction !== undefined;
    const rows: PreferencesRow[] = await this.db.query(
      `INSERT INTO user_preferences AS p (owner_id, instructions, memory_extraction)
       VALUES ($1, CASE WHEN $2 THEN $3::text END, CASE WHEN $4 THEN $5::boolean ELSE true END)
       ON CONFLICT (owner_id) DO UPDATE SET
         instructions = CASE WHEN $2 THEN $3::text ELSE p.instructions END,
         memory_extraction = CASE WHEN $4 THEN $5::boolean ELSE p.memory_extraction END,
         updated_at = date_trunc('milliseconds', now())
       RETURNING ${COLUMNS}`,
      [ownerId, setInstructions, change.instructions ?? null, setExtraction, change.memoryExtraction ?? true],
    );
    await this.changes.preferencesChanged(ownerId);
    return toPreferences(rows[0] as PreferencesRow);
  }
}
