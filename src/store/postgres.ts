import pg from "pg";

/**
 * The pg client class for @keyv/postgres's pool (its `Client` option). node-postgres emits an idle
 * client's connection error (the server restarted, the network dropped) as an "error" event on the
 * pool, and a pool without a listener throws it as an uncaught exception, which ends the process
 * (https://node-postgres.com/apis/pool#error). @keyv/postgres keeps its pool to itself and adds no
 * listener, so the throw is caught where it starts, in the client's own "error" event, and reported;
 * the pool has already dropped that client and opens a new one for the next query.
 */
export function guardedClient(onError: (error: unknown) => void): typeof pg.Client {
  return class GuardedClient extends pg.Client {
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      try {
        return super.emit(event, ...args);
      } catch (error) {
        if (event !== "error") throw error;
        onError(error);
        return true;
      }
    }
  };
}
