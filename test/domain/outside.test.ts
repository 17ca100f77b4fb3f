import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { AppError } from "../../src/domain/errors.js";
import { parseOutside, readOutside } from "../../src/domain/outside.js";

const failure = (problem: string) => new AppError("unavailable", "unreadable answer", { detail: problem });

test("parseOutside: a value with a huge issue list fails as a typed error naming a few fields", () => {
  const schema = z.object({ runs: z.array(z.object({ id: z.string() })) });
  const value = { runs: Array.from({ length: 50_000 }, () => ({ id: 1 })) };
  assert.throws(
    () => parseOutside(schema, value, failure),
    (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.kind, "unavailable");
      assert.match(error.message, /runs\.0\.id \(invalid_type\)/);
      assert.match(error.message, /and 49,?995 more/);
      assert.ok(error.message.length < 400, "bounded detail");
      assert.equal(error.cause, undefined, "the ZodError is not kept");
      return true;
    },
  );
});

test("parseOutside: a validator that throws (stack overflow on deep nesting) becomes a typed error", () => {
  type Node = { child?: Node };
  const Node: z.ZodType<Node> = z.lazy(() => z.object({ child: Node.optional() }));
  let deep: Node = {};
  for (let i = 0; i < 100_000; i++) deep = { child: deep };
  assert.throws(
    () => parseOutside(Node, deep, failure),
    (error: unknown) => {
      assert.ok(error instanceof AppError, String(error));
      assert.match(error.message, /validator gave up \(RangeError\)/);
      return true;
    },
  );
});

test("parseOutside: valid data passes through", () => {
  assert.deepEqual(parseOutside(z.object({ a: z.number() }), { a: 1 }, failure), { a: 1 });
});

test("readOutside: a throwing validator or a mismatch gives undefined, valid data passes through", () => {
  type Node = { child?: Node };
  const Node: z.ZodType<Node> = z.lazy(() => z.object({ child: Node.optional() }));
  let deep: Node = {};
  for (let i = 0; i < 100_000; i++) deep = { child: deep };
  assert.equal(readOutside(Node, deep), undefined);
  assert.equal(readOutside(z.object({ a: z.number() }), { a: "x" }), undefined);
  assert.deepEqual(readOutside(z.object({ a: z.number() }), { a: 1 }), { a: 1 });
});
