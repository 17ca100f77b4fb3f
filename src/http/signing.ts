import type { Dispatcher } from "undici";

/**
 * Headers computed for every attempt: composed below the RetryAgent, so each retry (a new
 * dispatch) is signed again from the exact method and URL sent, e.g. a Veracode HMAC header with
 * a fresh nonce.
 */
export function signEveryAttempt(
  pool: Dispatcher,
  authorize: (method: string, url: string) => Record<string, string>,
): Dispatcher {
  return pool.compose(
    (dispatch) => (opts, handler) =>
      dispatch(
        { ...opts, headers: withHeaders(opts.headers, authorize(opts.method, requestUrl(opts))) },
        handler,
      ),
  );
}

/** The absolute URL of a dispatch, exactly as it goes on the wire (origin + path with query). */
function requestUrl(opts: Dispatcher.DispatchOptions): string {
  const origin = opts.origin instanceof URL ? opts.origin.origin : String(opts.origin ?? "");
  return `${origin.replace(/\/+$/, "")}${opts.path}`;
}

/** Adds (or replaces, case-insensitively) headers on a dispatch's header object or flat array. */
function withHeaders(
  headers: Dispatcher.DispatchOptions["headers"],
  extra: Record<string, string>,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out[String(headers[i])] = String(headers[i + 1]);
  } else if (headers && typeof (headers as Iterable<unknown>)[Symbol.iterator] === "function") {
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>)
      out[name] = value;
  } else if (headers) {
    Object.assign(out, headers);
  }
  const lower = new Set(Object.keys(extra).map((name) => name.toLowerCase()));
  for (const name of Object.keys(out)) if (lower.has(name.toLowerCase())) delete out[name];
  return { ...out, ...extra };
}
