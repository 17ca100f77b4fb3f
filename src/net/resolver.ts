import { Resolver } from "node:dns/promises";
import { AppError } from "../domain/errors.js";
import type { HostResolver } from "../domain/ports.js";

/**
 * The HostResolver port over node:dns: A and AAAA queries straight to the DNS servers (not getaddrinfo,
 * so /etc/hosts, which the scanner never sees, does not count). ENOTFOUND is "no such name" and
 * ENODATA "no record of that type" (https://nodejs.org/api/dns.html#error-codes): both mean no address
 * of that family; every other error is a failed lookup.
 */
const NO_RECORD = new Set(["ENOTFOUND", "ENODATA"]);

export interface DnsResolverOptions {
  /** Per-query timeout; default 2 s. */
  timeoutMs?: number;
  /** Attempts per server; default 2. */
  tries?: number;
  /** DNS servers (`ip` or `ip:port`); default the system's (/etc/resolv.conf). */
  servers?: string[];
}

export function createDnsResolver(options: DnsResolverOptions = {}): HostResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 2 });
  if (options.servers) resolver.setServers(options.servers);
  const family = async (lookup: Promise<string[]>): Promise<string[]> => {
    try {
      return await lookup;
    } catch (error) {
      if (NO_RECORD.has((error as { code?: string }).code ?? "")) return [];
      throw error;
    }
  };
  return {
    async resolve(hostname) {
      try {
        const [v4, v6] = await Promise.all([
          family(resolver.resolve4(hostname)),
          family(resolver.resolve6(hostname)),
        ]);
        return [...v4, ...v6];
      } catch (error) {
        const code = (error as { code?: string }).code ?? "lookup failed";
        throw new AppError(
          "unavailable",
          `Could not look up ${hostname} in DNS (${code}), so the bot cannot tell where it points; try again in a moment.`,
          { cause: error, retryable: true },
        );
      }
    },
  };
}
