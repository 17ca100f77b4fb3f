import type { KeyValueStore } from "../../src/domain/ports.js";

/**
 * A store that does what `inner` does except what `overrides` replaces: the fault-injecting and
 * counting stores of the tests. A spread alone would not do: the real store's methods live on its
 * class, and only its own fields (leases, exclusive) would be copied.
 */
export function overStore(inner: KeyValueStore, overrides: Partial<KeyValueStore> = {}): KeyValueStore {
  return {
    ...inner,
    get: (ns, key) => inner.get(ns, key),
    set: (ns, key, value, ttl) => inner.set(ns, key, value, ttl),
    add: (ns, key, value, ttl) => inner.add(ns, key, value, ttl),
    delete: (ns, key) => inner.delete(ns, key),
    entries: (ns) => inner.entries(ns),
    ping: () => inner.ping(),
    close: () => inner.close(),
    ...overrides,
  };
}
