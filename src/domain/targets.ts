import { isAddressLiteral, isPrivateAddress, isPrivateHost, plainHost } from "./addresses.js";
import { AppError } from "./errors.js";
import { privateTargetMessage, targetUrl } from "./inputs.js";
import type { HostResolver } from "./ports.js";

/** Options whose value is a URL the scanner will fetch: by name (`api_spec_url`) or by look (`https://…`). */
function isUrlOption(key: string, value: string): boolean {
  return /url$/i.test(key) || /^<?[a-z][a-z0-9+.-]*:\/\//i.test(value.trim());
}

/** Scanners may store a target without its scheme (DAST Essentials keeps `shop.example.com/app`). */
function hostOf(url: string): string | undefined {
  for (const candidate of [url, `https://${url}`]) {
    try {
      const { hostname } = new URL(candidate);
      if (hostname) return hostname;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

function invalid(what: string, problem: string): AppError {
  return new AppError("validation", `The ${what} is not valid: ${problem}.`);
}

/**
 * Keeps the scanner away from the inside of the network: a target (and every URL option) must be a public
 * address, and a host name must point only to public addresses, both when the project is created and
 * again when a scan starts (DNS may have changed in between). ALLOW_PRIVATE_TARGETS=true lifts it.
 */
export class TargetGuard {
  constructor(private readonly deps: { resolver: HostResolver; allowPrivate: boolean }) {}

  /** Refuses a URL whose host is, or resolves to, a private address; `what` names the URL in the message. */
  async check(url: string, what = "target URL"): Promise<void> {
    if (this.deps.allowPrivate) return;
    const host = hostOf(url);
    if (host === undefined) throw invalid(what, "not a URL");
    if (isPrivateHost(host)) throw invalid(what, privateTargetMessage(host));
    if (isAddressLiteral(host)) return;
    const name = plainHost(host);
    const addresses = await this.deps.resolver.resolve(name);
    if (addresses.length === 0) {
      throw invalid(what, `${name} has no address in DNS (no A or AAAA record); check the host name`);
    }
    const inside = addresses.find(isPrivateAddress);
    if (inside !== undefined) throw invalid(what, privateTargetMessage(name, inside));
  }

  /**
   * A new project's target URL and every URL among its options (DAST Essentials' api_spec_url, …):
   * validated like a target URL, then checked. Returns the spec with those URLs in their parsed form.
   */
  async checkProject<T extends { url: string; options?: Record<string, string> }>(spec: T): Promise<T> {
    const schema = targetUrl(this.deps.allowPrivate);
    const options: Record<string, string> = {};
    const urls: Array<[string, string]> = [];
    for (const [key, value] of Object.entries(spec.options ?? {})) {
      if (!isUrlOption(key, value)) {
        options[key] = value;
        continue;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw invalid(`option ${key}`, parsed.error.issues[0]?.message ?? "not a URL");
      options[key] = parsed.data;
      urls.push([key, parsed.data]);
    }
    await this.check(spec.url);
    for (const [key, url] of urls) await this.check(url, `option ${key}`);
    return spec.options ? { ...spec, options } : spec;
  }
}
