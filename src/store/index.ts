import { mkdir } from "node:fs/promises";
import path from "node:path";
import Keyv, { type KeyvStoreAdapter } from "keyv";
import { AppError } from "../domain/errors.js";
import type { KeyValueStore, Leases } from "../domain/ports.js";
import { type Claims, leasesOf, MemoryClaims, PostgresClaims, RedisClaims } from "./claims.js";
import { StoreHealth, type StoreHealthChange, within } from "./health.js";
import { CachedReads, ReadCache } from "./read-cache.js";
import { lockSqliteFile } from "./sqlite-lock.js";
import { GroupedWrites, type SqliteAdapter } from "./sqlite-writes.js";
import { describeStoreUrl, storeKind } from "./url.js";

export { type StoreHealthChange, storeHealth } from "./health.js";
export { describeStoreUrl, type StoreKind, storeKind, storeSecrets } from "./url.js";

const PREFIX = "chatops";

// A value stored as null reads as absent, like a missing one.
const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
const nothing = (): void => {};

/**
 * A networked store's operation that has not answered in this time fails with AppError("store"), so a
 * command during an outage or a network cut is answered within Slack's patience (3 s) instead of waiting.
 * Listing a namespace reads many keys and gets longer.
 */
const OPERATION_TIMEOUT_MS = 2000;
const LISTING_TIMEOUT_MS = 30_000;

/** What differs between local stores (memory, SQLite) and networked ones (Redis, PostgreSQL). */
interface BackendProfile {
  /** Per operation; undefined for local stores, which have no network to lose. */
  operationMs: number | undefined;
  listingMs: number | undefined;
  /** Only this process writes it: memory, and SQLite (its file is locked to one process, sqlite-lock.ts). */
  exclusive: boolean;
}

const LOCAL: BackendProfile = { operationMs: undefined, listingMs: undefined, exclusive: true };

/**
 * One keyv instance per namespace (keyv prefixes keys and iterates by namespace), all over one backend.
 * Atomic insert-if-absent (`add`) is not a keyv feature, so it goes through a claims table/key space
 * with the backend's own atomic primitive.
 */
class KeyvStore implements KeyValueStore {
  private readonly spaces = new Map<string, Keyv>();
  /** Per namespace, the listings under way: each hears the errors its keyv emits meanwhile. */
  private readonly listings = new Map<string, Set<(error: unknown) => void>>();
  /** Operations under way, and who waits for there to be none (close). */
  private inflight = 0;
  private drained: (() => void) | undefined;
  /** Straight to the backend's atomic primitive: no keyv value to read or write. */
  readonly leases: Leases;
  readonly exclusive: boolean;

  private readonly health: StoreHealth;
  private closed = false;

  constructor(
    private readonly makeAdapter: () => KeyvStoreAdapter | Map<unknown, unknown>,
    private readonly claims: Claims,
    private readonly shutdown: () => Promise<void>,
    private readonly label: string,
    private readonly onBackendError: (error: unknown) => void,
    private readonly profile: BackendProfile = LOCAL,
    onHealth: (change: StoreHealthChange) => void = () => {},
  ) {
    this.exclusive = profile.exclusive;
    this.leases = leasesOf(claims, `${PREFIX}-lease:`, (operation, fn) => this.run(operation, fn));
    this.health = new StoreHealth(async () => {
      await within(this.profile.operationMs, "probe", this.space("health").get("ping"));
    }, onHealth);
  }

  /** A backend error outside any operation (a dropped connection): the store may have gone. */
  backendError(error: unknown): void {
    this.health.failed(error);
  }

  private space(namespace: string): Keyv {
    let keyv = this.spaces.get(namespace);
    if (!keyv) {
      keyv = new Keyv({
        store: this.makeAdapter(),
        namespace: `${PREFIX}-${namespace}`,
        throwOnErrors: true,
        // Values are plain JSON; keyv's default serializer costs about 3x the heap and most of a
        // watcher tick's CPU at 10,000 scans (npm run bench).
        serialize: JSON.stringify,
        deserialize: JSON.parse,
      });
      // Operations also throw (throwOnErrors); the listener keeps an emitted error from crashing the process.
      keyv.on("error", this.onBackendError);
      // One listener for every listing of the namespace: one each would pass keyv's limit of 100
      // listeners with as many listings at once, and keyv then warns on the console.
      const listings = new Set<(error: unknown) => void>();
      this.listings.set(namespace, listings);
      keyv.on("error", (error: unknown) => {
        for (const listing of listings) listing(error);
      });
      this.spaces.set(namespace, keyv);
    }
    return keyv;
  }

  /**
   * Every operation goes through here: bounded in time (networked stores), its success or failure
   * told to the health tracker, any failure as AppError("store"). Promise callbacks rather than an
   * async wrapper: this runs several times per poll of every watched scan (npm run bench).
   */
  private run<T>(operation: string, fn: () => Promise<T>, timeoutMs = this.profile.operationMs): Promise<T> {
    // A closed store stays closed: a late caller (an audit batch's timer) gets an error instead of the
    // adapter connecting again (@keyv/redis connects a client that is not open), which nobody would close.
    if (this.closed) {
      const detail = `store ${operation} after the store was closed (${this.label})`;
      return Promise.reject(new AppError("store", "The bot is shutting down.", { retryable: true, detail }));
    }
    let work: Promise<T>;
    try {
      work = timeoutMs === undefined ? fn() : within(timeoutMs, operation, fn());
    } catch (error) {
      work = Promise.reject(error);
    }
    this.inflight++;
    return work.then(
      (value) => {
        this.settled();
        this.health.succeeded();
        return value;
      },
      (error: unknown) => {
        this.settled();
        this.health.failed(error);
        throw new AppError("store", "The bot's store is unreachable right now.", {
          cause: error,
          retryable: true,
          detail: `store ${operation} failed on ${this.label}: ${error instanceof Error ? error.message : String(error)}`,
        });
      },
    );
  }

  private settled(): void {
    if (--this.inflight === 0) this.drained?.();
  }

  get<T>(namespace: string, key: string): Promise<T | undefined> {
    return this.run("get", () => this.space(namespace).get<T>(key).then(orUndefined));
  }

  set<T>(namespace: string, key: string, value: T, ttlMs?: number): Promise<void> {
    return this.run("set", () => this.space(namespace).set(key, value, ttlMs).then(nothing));
  }

  add<T>(namespace: string, key: string, value: T, ttlMs?: number): Promise<boolean> {
    return this.run("add", async () => {
      if (!(await this.claims.claim(`${PREFIX}-${namespace}:${key}`, ttlMs))) return false;
      const keyv = this.space(namespace);
      // A value written with set() (no claim) still counts as present.
      if ((await keyv.get(key)) !== undefined) return false;
      await keyv.set(key, value, ttlMs);
      return true;
    });
  }

  delete(namespace: string, key: string): Promise<boolean> {
    return this.run("delete", async () => {
      await this.claims.release(`${PREFIX}-${namespace}:${key}`);
      return this.space(namespace).delete(key);
    });
  }

  entries<T>(namespace: string): Promise<Array<[string, T]>> {
    return this.run(
      "entries",
      async () => {
        const keyv = this.space(namespace);
        const out: Array<[string, T]> = [];
        if (!keyv.iterator) return out;
        // @keyv/postgres ends a listing whose query failed as if it were complete and only emits the
        // error: a partial (or empty) list must never pass for the whole one ("No projects yet").
        let failed: unknown;
        const onError = (error: unknown) => {
          failed ??= error;
        };
        const listings = this.listings.get(namespace);
        listings?.add(onError);
        try {
          for await (const [key, value] of keyv.iterator(undefined)) {
            if (value !== undefined) out.push([String(key), value as T]);
          }
        } finally {
          listings?.delete(onError);
        }
        if (failed !== undefined) throw failed;
        return out;
      },
      this.profile.listingMs,
    );
  }

  ping(): Promise<void> {
    return this.run("ping", async () => {
      const keyv = this.space("health");
      await keyv.set("ping", Date.now(), 60_000);
      await keyv.get("ping");
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.health.close();
    // Operations already made finish first (a write still inside keyv would meet a closed backend).
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.shutdown();
    this.spaces.clear();
    this.listings.clear();
  }
}

export interface OpenStoreOptions {
  url: string;
  /** Backend errors reported outside an operation (connection drops); operations still throw their own. */
  onBackendError?: (error: unknown) => void;
  /** Once when the store stops answering (a probe confirms it), once when it answers again. */
  onHealth?: (change: StoreHealthChange) => void;
}

/**
 * Opens the store named by STORE_URL and proves it answers, so a wrong URL fails at start-up with a
 * message naming STORE_URL instead of at the first command.
 */
export async function openStore({
  url,
  onBackendError: reportAfterOpen = () => {},
  onHealth = () => {},
}: OpenStoreOptions): Promise<KeyValueStore> {
  const kind = storeKind(url);
  const label = describeStoreUrl(url);
  // While opening, backend errors (a refused connection, once per retry) are one failure: the first
  // becomes the reason in the start-up error instead of a stream of log lines before it.
  let opening = true;
  let firstError: unknown;
  let store: KeyvStore;
  const onBackendError = (error: unknown) => {
    if (opening) firstError ??= error;
    else {
      reportAfterOpen(error);
      store.backendError(error);
    }
  };
  const remote: BackendProfile = {
    operationMs: OPERATION_TIMEOUT_MS,
    listingMs: LISTING_TIMEOUT_MS,
    exclusive: false,
  };
  // Each backend's adapter (and its client library: redis, pg, sqlite3) is loaded only when it is the
  // one configured: together they are most of the bot's start-up time and memory (npm run bench).
  switch (kind) {
    case "memory": {
      store = new KeyvStore(
        () => new Map(),
        new MemoryClaims(),
        async () => {},
        label,
        onBackendError,
      );
      break;
    }
    case "sqlite": {
      const file = url.replace(/^sqlite:\/\//, "");
      if (file !== ":memory:") await mkdir(path.dirname(path.resolve(file)), { recursive: true });
      // One process per file (claims and cron coordination are in-process): a second one refuses here.
      const unlock = file === ":memory:" ? () => {} : await lockSqliteFile(file, label);
      const { default: KeyvSqlite } = await import("@keyv/sqlite");
      // One connection for every namespace: keyv prefixes each key with its namespace and each listing
      // names its own, so a connection per namespace (17 at start) bought nothing but opens and locks.
      // busyTimeout: a checkpoint never makes a statement fail at once; 500 rows per listing query
      // (the adapter's default of 10 is a thousand queries for 10,000 records).
      const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5000, iterationLimit: 500 });
      // WAL with synchronous=NORMAL: a commit is one append, no fsync per write; durable on a clean stop
      // and after a process crash, an OS crash or power loss can lose the last commits
      // (https://www.sqlite.org/pragma.html#pragma_synchronous). Queued before any other statement.
      for (const pragma of ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"]) {
        adapter.query(pragma).catch((error: unknown) => onBackendError(error));
      }
      // Listened to once here, not by each namespace's keyv through its adapter.
      adapter.on("error", onBackendError);
      // This process is the file's only writer, so what it wrote or read stays true until it writes again.
      const cache = new ReadCache();
      const writes = new GroupedWrites(adapter as unknown as SqliteAdapter);
      store = new KeyvStore(
        () => new CachedReads(writes, cache),
        new MemoryClaims(),
        async () => {
          try {
            await adapter.close();
          } finally {
            unlock();
          }
        },
        label,
        onBackendError,
      );
      break;
    }
    case "redis": {
      const { default: KeyvRedis } = await import("@keyv/redis");
      let connectedOnce = false;
      const first = new KeyvRedis(
        {
          url,
          socket: {
            connectTimeout: 5000,
            // At start-up a wrong URL must fail fast; once connected, outages are waited out.
            reconnectStrategy: (retries: number, cause: Error) =>
              !connectedOnce && retries >= 3 ? cause : Math.min(200 * 2 ** retries, 5000),
          },
          // While reconnecting, a command fails at once instead of queueing until the store is back
          // (https://github.com/redis/node-redis/blob/master/docs/client-configuration.md).
          disableOfflineQueue: true,
        },
        { throwOnConnectError: true, throwOnErrors: true },
      );
      first.on("error", onBackendError);
      first.client.on("ready", () => {
        connectedOnce = true;
      });
      const client = first.client;
      // Every namespace's adapter shares this client and adds its own listeners (error, connect, …); the
      // bot has more than Node's default of 10 namespaces, which printed a MaxListenersExceededWarning.
      client.setMaxListeners(100);
      store = new KeyvStore(
        () => new KeyvRedis(client, { throwOnConnectError: true, throwOnErrors: true }),
        new RedisClaims(() => first.getClient()),
        async () => {
          // destroy, not node-redis's graceful close(): close() waits for the replies of commands in flight
          // (a reconnect's handshake too) and never settles if their connection drops meanwhile, holding no
          // handle (https://github.com/redis/node-redis/issues/3089). Callers await their operations
          // before closing; whatever is still in flight fails with the store error.
          await first.disconnect(true);
        },
        label,
        onBackendError,
        remote,
        onHealth,
      );
      break;
    }
    case "postgres": {
      const { default: KeyvPostgres } = await import("@keyv/postgres");
      const { guardedClient } = await import("./postgres.js");
      // One pool per process (the adapter's): the first adapter's options make it.
      const options = {
        uri: url,
        connectionTimeoutMillis: 5000,
        Client: guardedClient(onBackendError),
        // Rows per listing query (the adapter's default is 10: a thousand queries for 10,000 records).
        iterationLimit: 500,
      };
      const first = new KeyvPostgres(options);
      first.on("error", onBackendError);
      store = new KeyvStore(
        () => new KeyvPostgres(options),
        new PostgresClaims((sql, values) => first.query(sql, values)),
        async () => {
          await first.disconnect();
        },
        label,
        onBackendError,
        remote,
        onHealth,
      );
      break;
    }
    default:
      throw new AppError("config", `STORE_URL: unsupported scheme in ${label}`, {
        detail: `STORE_URL must start with sqlite://, redis://, rediss://, postgres:// or memory:// (got ${label})`,
      });
  }
  try {
    await store.ping();
  } catch (error) {
    await store.close().catch(() => {});
    const root = firstError ?? (error instanceof Error && error.cause !== undefined ? error.cause : error);
    const reason = root instanceof Error ? root.message : String(root);
    throw new AppError("config", `STORE_URL: cannot reach the store at ${label} (${reason})`, {
      cause: error,
      detail: `STORE_URL: cannot reach the store at ${label}: ${reason}`,
    });
  } finally {
    opening = false;
  }
  return store;
}
