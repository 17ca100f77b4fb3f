/**
 * Preloaded into a child bot (`node --import tsx --import ./test/faults/clock-shift.ts src/main.ts`) to
 * move its wall clock FAULTS_CLOCK_SHIFT_MS ahead: Date.now() and `new Date()` (the watcher's clock,
 * keyv's TTLs, node-cron's slots) all read the shifted time. The fault suite uses it to restart a killed
 * bot "after" the poll-claim lifetime instead of waiting 10 minutes for it. performance.now() is left alone.
 */
const shift = Number(process.env.FAULTS_CLOCK_SHIFT_MS ?? "0");

if (Number.isFinite(shift) && shift !== 0) {
  const RealDate = Date;
  const shifted = function (this: unknown, ...args: unknown[]) {
    if (!new.target) return new RealDate(RealDate.now() + shift).toString();
    const value = args.length === 0 ? [RealDate.now() + shift] : args;
    return Reflect.construct(RealDate, value, new.target);
  } as unknown as DateConstructor;
  Object.setPrototypeOf(shifted, RealDate);
  Object.defineProperty(shifted, "prototype", { value: RealDate.prototype });
  shifted.now = () => RealDate.now() + shift;
  globalThis.Date = shifted;
}

export {};
