import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import KeyvPostgres from "@keyv/postgres";
import { PostgresClaims } from "../../src/store/claims.js";
import { openStore } from "../../src/store/index.js";

/**
 * Several replicas starting on an empty PostgreSQL database each run CREATE TABLE IF NOT EXISTS for the
 * claims table at the same moment; PostgreSQL lets only one of them create it and fails the others
 * with a unique violation on its catalog (found by the three-replica fault suite: the first project
 * created through two of three replicas failed with "duplicate key value violates unique constraint
 * pg_type_typname_nsp_index"). Each round gets a new database, so the tables are created under the race.
 */

const base = process.env.TEST_POSTGRES_URL;

function psql(root: string, sql: string): void {
  const result = spawnSync("psql", [root, "-v", "ON_ERROR_STOP=1", "-qc", sql], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`psql ${sql}: ${result.error?.message ?? ""} ${result.stderr}`);
}

test("claims on an empty database: replicas creating the table at once all succeed (postgres)", async (t) => {
  if (base === undefined) {
    const reason = "TEST_POSTGRES_URL is not set; start .ci/services to run this";
    if (process.env.CI === "true") assert.fail(reason);
    t.skip(reason);
    return;
  }
  const root: string = base;
  for (let round = 0; round < 3; round++) {
    const name = `tables_${process.pid}_${randomBytes(3).toString("hex")}`;
    psql(root, `CREATE DATABASE ${name}`);
    const url = new URL(root);
    url.pathname = `/${name}`;
    // One pg pool per process in @keyv/postgres: a single connection per "replica" keeps them apart.
    // @keyv/postgres's own table has the same race ("type keyv already exists", 42710): the losing
    // adapter emits it as an "error" event and goes on; with no listener Node's EventEmitter throws
    // inside the adapter's connection promise and that adapter stays broken, so each one gets a listener
    // (Keyv attaches one to every adapter the store opens).
    const raceErrors: unknown[] = [];
    const keyvs = Array.from({ length: 6 }, () => {
      const keyv = new KeyvPostgres({ uri: url.toString(), max: 6 });
      keyv.on("error", (error: unknown) => raceErrors.push(error));
      return keyv;
    });
    try {
      const replicas = keyvs.map(
        (keyv) => new PostgresClaims((sql, values) => keyv.query(sql, values) as Promise<unknown[]>),
      );
      const won = await Promise.all(replicas.map((claims, i) => claims.claim(`k${i}`, 60_000, `r${i}`)));
      assert.deepEqual(won, [true, true, true, true, true, true], `round ${round}`);
      // "type … already exists" or "relation … already exists": the twin created it.
      for (const error of raceErrors)
        assert.match(String((error as { code?: string }).code), /^(42710|42P07)$/);
    } finally {
      await keyvs[0]?.disconnect();
      psql(root, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  }
});

test("three replicas opening the store at once on an empty database all work, with no backend errors (postgres)", async (t) => {
  if (base === undefined) {
    const reason = "TEST_POSTGRES_URL is not set; start .ci/services to run this";
    if (process.env.CI === "true") assert.fail(reason);
    t.skip(reason);
    return;
  }
  const root: string = base;
  for (let round = 0; round < 3; round++) {
    const name = `open_${process.pid}_${randomBytes(3).toString("hex")}`;
    psql(root, `CREATE DATABASE ${name}`);
    const url = new URL(root);
    url.pathname = `/${name}`;
    const backendErrors: unknown[] = [];
    const stores = await Promise.all(
      Array.from({ length: 3 }, () =>
        openStore({ url: url.toString(), onBackendError: (error) => backendErrors.push(error) }),
      ),
    );
    try {
      // Every replica opens one adapter per namespace, all at once: none may be left broken.
      const values = await Promise.all(
        stores.flatMap((store, i) =>
          ["scans", "watch", "approvals", "audit"].map(async (namespace) => {
            await store.set(namespace, `k${i}`, { round, i });
            assert.equal(await store.add(namespace, `a${i}`, i), true);
            return store.get<{ i: number }>(namespace, `k${i}`);
          }),
        ),
      );
      assert.deepEqual(
        values.map((value) => value?.i),
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2],
        `round ${round}`,
      );
      assert.deepEqual(backendErrors, [], `round ${round}`);
    } finally {
      // The adapter's pg pool is one per process: the first close ends it for all three.
      await Promise.allSettled(stores.map((store) => store.close()));
      psql(root, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  }
});
