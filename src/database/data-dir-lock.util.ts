import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Embedded mode keeps its data in one folder that only one process may open: two processes on
 * the same PGlite files allocate the same seq twice and lose messages. The lock is a file made
 * atomically (hard link of a complete file, which fails if one exists) and removed at exit; one
 * left by a process that is gone (crash, SIGKILL, reboot) is taken over.
 */
export const LOCK_FILE = 'parley.lock';
const TAKEOVER_FILE = 'parley.lock.takeover';
/** A takeover marker older than this was left by a process that died while taking over. */
const TAKEOVER_STALE_MS = 10_000;
const MAX_ROUNDS = 50;

export interface LockOwner {
  readonly id: string;
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  /** Linux: the boot and the process's start tick, so that a reused pid is not taken for the owner. */
  readonly bootId?: string;
  readonly processStart?: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `the data folder ${dataDir} is in use by Parley process ${owner.pid} on ${owner.hostname} ` +
        `(since ${owner.startedAt}); embedded mode runs one process per folder: stop that one or set another DATA_DIR`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function readQuietly(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot (after the command name). */
function processStartOf(pid: number | 'self'): string | undefined {
  const stat = readQuietly(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function currentOwner(): LockOwner {
  return {
    id: randomUUID(),
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    bootId: readQuietly('/proc/sys/kernel/random/boot_id')?.trim(),
    processStart: processStartOf('self'),
  };
}

function readOwner(path: string): LockOwner | undefined {
  const text = readQuietly(path);
  if (text === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(text) as LockOwner;
  } catch {
    return { id: text, pid: 0, hostname: 'unknown', startedAt: 'unknown' };
  }
}

/** Whether the recorded owner may still run. A process on another host cannot be checked: assume so. */
export function ownerAlive(owner: LockOwner, self: LockOwner): boolean {
  if (owner.hostname !== self.hostname) {
    return true;
  }
  if (!Number.isInteger(owner.pid) || owner.pid <= 0 || owner.pid === self.pid) {
    return false;
  }
  if (owner.bootId !== undefined && self.bootId !== undefined && owner.bootId !== self.bootId) {
    return false;
  }
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return owner.processStart === undefined || processStartOf(owner.pid) === owner.processStart;
}

function tryCreate(lockPath: string, owner: LockOwner): boolean {
  const temp = `${lockPath}.${owner.pid}.${owner.id}`;
  writeFileSync(temp, JSON.stringify(owner));
  try {
    linkSync(temp, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return false;
    }
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

/**
 * Removes a stale lock, one process at a time: the takeover marker keeps two newcomers from both
 * judging the same stale file and one deleting the lock the other has just made.
 */
function takeOver(dir: string, lockPath: string, stale: LockOwner): void {
  const marker = join(dir, TAKEOVER_FILE);
  try {
    writeFileSync(marker, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
    const age = Date.now() - (statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > TAKEOVER_STALE_MS) {
      unlinkSync(marker);
    }
    return;
  }
  try {
    if (readOwner(lockPath)?.id === stale.id) {
      unlinkSync(lockPath);
    }
  } finally {
    unlinkSync(marker);
  }
}

/** Takes the data folder for this process, before anything in it is opened; released at exit. */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, LOCK_FILE);
  const self = currentOwner();
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    if (tryCreate(lockPath, self)) {
      const release = (): void => {
        if (readOwner(lockPath)?.id === self.id) {
          unlinkSync(lockPath);
        }
      };
      process.once('exit', release);
      return { path: lockPath, release };
    }
    const owner = readOwner(lockPath);
    if (owner !== undefined && ownerAlive(owner, self)) {
      throw new DataDirLockedError(dir, owner);
    }
    if (owner !== undefined) {
      takeOver(dir, lockPath, owner);
    }
    await sleep(20 + Math.random() * 30);
  }
  throw new Error(`could not take the lock ${lockPath}; remove it if no Parley process uses ${dir}`);
}
