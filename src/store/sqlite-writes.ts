import type { KeyvStoreAdapter } from "keyv";

/** What this needs of @keyv/sqlite's adapter: its table and its one connection's query function. */
export interface SqliteAdapter extends KeyvStoreAdapter {
  opts: { table: string };
  query(sql: string, ...parameters: unknown[]): Promise<unknown>;
}

/** Rows per statement: two bound parameters each, well under SQLite's 32,766 (https://www.sqlite.org/limits.html#max_variable_number). */
const MAX_ROWS = 500;

interface Batch {
  rows: Map<string, string>;
  done: Promise<void>;
  settle: (error?: unknown) => void;
}

/**
 * Writes to the SQLite file committed together: the sets that arrive while a statement is running go
 * out as the next one, a single multi-row upsert. Outside a transaction SQLite commits every statement
 * on its own (https://www.sqlite.org/lang_transaction.html), and a commit (a WAL append, locks, a new
 * prepared statement through node-sqlite3's thread pool) costs some 60 µs of CPU, which at 10,000
 * watched scans was most of a watcher tick (npm run bench). A set still resolves only once its row is
 * committed, in the order the sets were made; a get, a delete and a listing wait for the sets made
 * before them, so they read committed rows only. One per file: every namespace shares it, as they
 * share the connection.
 */
export class GroupedWrites implements KeyvStoreAdapter {
  namespace: string | undefined;
  /** The statement running, then those waiting their turn (the last one still filling). */
  private readonly batches: Batch[] = [];
  /** The batch whose statement is running: it takes no more rows. */
  private sending: Batch | undefined;
  private draining = false;

  constructor(private readonly inner: SqliteAdapter) {}

  get opts(): unknown {
    return this.inner.opts;
  }

  on(_event: string, _listener: (...args: unknown[]) => void): this {
    return this;
  }

  // biome-ignore lint/suspicious/noExplicitAny: keyv's own adapter signature.
  async get(key: string): Promise<any> {
    // A set of the key still to commit: read once it has (or failed), never a row that may not land.
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const batch = this.batches[i];
      if (batch?.rows.has(key)) {
        await batch.done.catch(() => {});
        break;
      }
    }
    return this.inner.get(key);
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  set(key: string, value: unknown): Promise<void> {
    if (typeof value !== "string")
      return Promise.reject(new TypeError("keyv hands SQLite serialized values"));
    let batch = this.batches.at(-1);
    if (!batch || batch === this.sending || batch.rows.size >= MAX_ROWS) {
      batch = open();
      this.batches.push(batch);
    }
    // A later set of the same key in one statement replaces the earlier: the last one made wins.
    batch.rows.set(key, value);
    if (!this.draining) {
      this.draining = true;
      // Sets made in the same turn of the event loop go in the first statement too.
      setImmediate(() => this.drain());
    }
    return batch.done;
  }

  async delete(key: string): Promise<boolean> {
    await this.idle();
    // One statement: the adapter's delete reads the row first to say whether there was one, a second
    // trip through the thread pool for every ended watch (https://www.sqlite.org/lang_returning.html).
    const rows = await this.inner.query(
      `DELETE FROM ${this.inner.opts.table} WHERE key = ? RETURNING key`,
      key,
    );
    return Array.isArray(rows) && rows.length > 0;
  }

  async clear(): Promise<void> {
    await this.idle();
    await this.inner.clear();
  }

  async *iterator<Value>(
    namespace?: string,
  ): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    if (!this.inner.iterator) throw new Error("the adapter cannot list");
    await this.idle();
    yield* this.inner.iterator<Value>(namespace);
  }

  /**
   * Every set made so far is committed (or failed). Batches commit in order, so that is the last one
   * now; sets made meanwhile are not waited for, or a busy watcher could hold a listing up for good.
   */
  async idle(): Promise<void> {
    await this.batches.at(-1)?.done.catch(() => {});
  }

  async disconnect(): Promise<void> {
    await this.idle();
    await this.inner.disconnect?.();
  }

  /** One statement per batch, in order, until none waits. */
  private async drain(): Promise<void> {
    for (let batch = this.batches[0]; batch; batch = this.batches[0]) {
      this.sending = batch;
      try {
        await this.write(batch.rows);
        batch.settle();
      } catch (error) {
        batch.settle(error);
      }
      this.batches.shift();
    }
    this.sending = undefined;
    this.draining = false;
  }

  private write(rows: Map<string, string>): Promise<unknown> {
    const values = Array.from(rows.keys(), () => "(?, ?)").join(", ");
    const parameters: string[] = [];
    for (const [key, value] of rows) parameters.push(key, value);
    return this.inner.query(
      `INSERT INTO ${this.inner.opts.table} (key, value) VALUES ${values} ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      ...parameters,
    );
  }
}

function open(): Batch {
  let settle!: (error?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  // A batch nobody awaits any more (its callers gone) must not become an unhandled rejection.
  done.catch(() => {});
  return { rows: new Map(), done, settle };
}
