import type { HostResolver } from "../../src/domain/ports.js";

/** A public address (example.com's), the answer for every name not set otherwise. */
export const PUBLIC_ADDRESS = "93.184.215.14";

/**
 * DNS for tests: answers from a table that a test may change between two steps (a name that starts
 * pointing inside), and records every lookup. No test ever asks real DNS.
 */
export class FakeResolver implements HostResolver {
  readonly answers = new Map<string, string[] | Error>();
  readonly lookups: string[] = [];

  constructor(private readonly fallback: string[] = [PUBLIC_ADDRESS]) {}

  set(hostname: string, answer: string[] | Error): this {
    this.answers.set(hostname, answer);
    return this;
  }

  async resolve(hostname: string): Promise<string[]> {
    this.lookups.push(hostname);
    const answer = this.answers.get(hostname) ?? this.fallback;
    if (answer instanceof Error) throw answer;
    return answer;
  }
}
