import { median } from "./targets.js";

/** The ack bench's figures: one round of one target, and the tables made of the rounds. */

export interface LevelResult {
  target: string;
  workload: string;
  concurrency: number;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  perSecond: number;
  /** Time to answer: the ack when it carries the reply, else the response_url post's arrival. */
  answerP50: number;
  answerP99: number;
  /** Answers that never came or did not say what they should (the bare app gives none). */
  badAnswers: number;
  /** Which measured round of its level (0-based); unset for a warm-up. */
  measuredRound?: number;
  /** CPU per command, µs: all the target's threads, and its main thread alone (threadCpuMs). */
  cpuUs?: number;
  mainCpuUs?: number;
}

export const round = (ms: number) => Number(ms.toFixed(2));

interface Level {
  target: string;
  workload: string;
  concurrency: number;
}

const roundsOf = (results: readonly LevelResult[], { target, workload, concurrency }: Level) =>
  results.filter((r) => r.target === target && r.workload === workload && r.concurrency === concurrency);
const mid = (rows: readonly LevelResult[], pick: (r: LevelResult) => number | undefined) =>
  round(median(rows.map((r) => pick(r) ?? Number.NaN)));

/** One target at one level: medians over its measured rounds. */
export function latencyRow(results: readonly LevelResult[], level: Level) {
  const rows = roundsOf(results, level);
  const p99s = rows.map((r) => r.p99);
  return {
    ...level,
    rounds: rows.length,
    errors: rows.reduce((n, r) => n + r.errors, 0),
    p50: mid(rows, (r) => r.p50),
    p95: mid(rows, (r) => r.p95),
    p99: mid(rows, (r) => r.p99),
    "p99 lowest–highest": `${Math.min(...p99s)}–${Math.max(...p99s)}`,
    max: Math.max(...rows.map((r) => r.max)),
    perSecond: mid(rows, (r) => r.perSecond),
    answerP99: mid(rows, (r) => r.answerP99),
    badAnswers: rows.reduce((n, r) => n + r.badAnswers, 0),
    cpuUs: mid(rows, (r) => r.cpuUs),
    mainCpuUs: mid(rows, (r) => r.mainCpuUs),
  };
}

/**
 * `target` against `floor` at one level, round by round (each ratio within one round, then their
 * median); `goals` only where issue 20 sets them: the p99 ratio and, on the mix, time to answer against
 * the floor's ack.
 */
export function compare(
  results: readonly LevelResult[],
  level: Level & { floor: string },
  goals?: { p99: number; answer?: number },
) {
  const floors = roundsOf(results, { ...level, target: level.floor });
  const reals = roundsOf(results, level);
  const pairs = reals.flatMap((real) => {
    const floor = floors.find((r) => r.measuredRound === real.measuredRound);
    return floor ? [{ real, floor }] : [];
  });
  const each = pairs.map(({ real, floor }) => real.p99 / floor.p99);
  const ratio = median(each);
  const answerRatio = median(pairs.map(({ real, floor }) => real.answerP99 / floor.p99));
  const met = (value: number, limit: number) => `<= ${limit}x ${value <= limit ? "met" : "NOT met"}`;
  return {
    target: level.target,
    against: level.floor,
    workload: level.workload,
    concurrency: level.concurrency,
    "p99 ratio, median": Number(ratio.toFixed(2)),
    goal: goals ? met(ratio, goals.p99) : "–",
    "each round": `${each.map((r) => r.toFixed(2)).join(" ")}${goals ? ` (${each.filter((r) => r <= goals.p99).length} of ${each.length} met)` : ""}`,
    "p50 ratio": Number(median(pairs.map(({ real, floor }) => real.p50 / floor.p50)).toFixed(2)),
    "answer p99 / floor's ack p99": `${answerRatio.toFixed(2)}${goals?.answer === undefined ? "" : ` (${met(answerRatio, goals.answer)})`}`,
    "bad answers": reals.reduce((n, r) => n + r.badAnswers, 0),
    "CPU µs/cmd all threads": `${mid(reals, (r) => r.cpuUs)} / ${mid(floors, (r) => r.cpuUs)}`,
    "main thread": `${mid(reals, (r) => r.mainCpuUs)} / ${mid(floors, (r) => r.mainCpuUs)}`,
  };
}
