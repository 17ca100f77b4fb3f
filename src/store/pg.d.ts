// node-postgres ships no types; the store needs only its Client class, to subclass (see postgres.ts).
declare module "pg" {
  export class Client {
    constructor(config?: unknown);
    emit(event: string | symbol, ...args: unknown[]): boolean;
  }
  const pg: { Client: typeof Client };
  export default pg;
}
