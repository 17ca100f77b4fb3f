import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import KeyvPostgres from "@keyv/postgres";
import { PostgresClaims } from "../../src/store/claims.js";

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
    // @keyv/postgres's own table has the same race on an empty database ("type keyv already exists",
    // 42710) and an adapter that loses it stays broken; that is the adapter's, not the claims table's,
    // so the first adapter creates it before the other five exist.
    const first = new KeyvPostgres({ uri: url.toString(), max: 6 });
    await first.query("SELECT 1");
    const keyvs: KeyvPostgres[] = [
      first,
      ...Array.from({ length: 5 }, () => new KeyvPostgres({ uri: url.toString(), max: 6 })),
    ];
    try {
      const replicas = keyvs.map(
        (keyv) => new PostgresClaims((sql, values) => keyv.query(sql, values) as Promise<unknown[]>),
      );
      const won = await Promise.all(replicas.map((claims, i) => claims.claim(`k${i}`, 60_000, `r${i}`)));
      assert.deepEqual(won, [true, true, true, true, true, true], `round ${round}`);
    } finally {
      await keyvs[0]?.disconnect();
      psql(root, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  }
});
