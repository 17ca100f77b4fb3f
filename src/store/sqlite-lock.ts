import path from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { AppError } from "../domain/errors.js";

/**
 * SQLite serves one bot process: poll claims and cron coordination live in that process's memory, so a
 * second process on the same file would poll and post alongside the first. Each process holds an
 * exclusive lock on `<file>.lock` (a one-page SQLite database in exclusive locking mode,
 * https://www.sqlite.org/pragma.html#pragma_locking_mode) for as long as a store on the file is open.
 * The operating system drops the lock when the process dies, kill -9 included, so there is never a
 * stale lock to clean up. Stores opened twice in one process share the lock. `node:sqlite` is loaded
 * only here, on the first SQLite store: it is still marked experimental on Node 22
 * (https://nodejs.org/docs/latest-v22.x/api/sqlite.html), so Redis and PostgreSQL deployments never load it.
 */

const held = new Map<string, { db: DatabaseSync; users: number }>();

/** Takes (or shares) this process's lock on a SQLite store file; the returned function lets it go. */
export async function lockSqliteFile(file: string, label: string): Promise<() => void> {
  const key = path.resolve(file);
  const mine = held.get(key);
  if (mine) {
    mine.users++;
    return once(() => letGo(key));
  }
  const { DatabaseSync } = await import("node:sqlite");
  const again = held.get(key);
  if (again) {
    again.users++;
    return once(() => letGo(key));
  }
  const db = new DatabaseSync(`${key}.lock`, { timeout: 0 });
  try {
    db.exec("PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS owner(pid INTEGER)");
  } catch (error) {
    db.close();
    const busy = /locked|busy/i.test(error instanceof Error ? error.message : String(error));
    const reason = busy
      ? `the SQLite file is in use by another bot process (lock ${key}.lock); SQLite serves one process: stop the other one, or use STORE_URL=redis://… or postgres://… for several replicas`
      : `the lock file ${key}.lock cannot be opened (${error instanceof Error ? error.message : String(error)})`;
    throw new AppError("config", `STORE_URL: ${label}: ${reason}`, {
      cause: error,
      detail: `STORE_URL: ${label}: ${reason}`,
    });
  }
  held.set(key, { db, users: 1 });
  return once(() => letGo(key));
}

function letGo(key: string): void {
  const entry = held.get(key);
  if (!entry || --entry.users > 0) return;
  held.delete(key);
  entry.db.close();
}

function once(release: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
}
