import type { AllMiddlewareArgs, App, SlackActionMiddlewareArgs } from "@slack/bolt";

type ActionArgs = SlackActionMiddlewareArgs & AllMiddlewareArgs;
type ActionListener = (args: ActionArgs) => Promise<void>;

/** What a button listener may be registered on: its action ID, and optionally a block ID pattern. */
type Constraint = string | { action_id: string; block_id?: RegExp };

interface Route {
  actionId: string;
  blockId: RegExp | undefined;
  listener: ActionListener;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Bolt runs every listener's middleware chain for every request, whatever its kind (bolt-js
 * src/App.ts `processEvent`): each of the bot's 22 button listeners cost every slash command and every
 * other request an array copy, a spread of the arguments and three promises, ~15 µs in all (npm run
 * bench). `app` here is a stand-in for the real app whose `action()` only records the route; `install()`
 * then registers one Bolt action listener for all of them, which runs every route whose action ID (and
 * block ID pattern, when given) matches the click, together, as Bolt would have. Everything else the
 * stand-in is asked (`view`, `event`) goes to the real app.
 */
export function actionRouter(real: App): { app: App; install(): void } {
  const routes: Route[] = [];
  const action = (constraint: Constraint, ...listeners: ActionListener[]) => {
    const [listener] = listeners;
    if (listeners.length !== 1 || !listener) throw new Error("a routed action takes exactly one listener");
    const actionId = typeof constraint === "string" ? constraint : constraint.action_id;
    const blockId = typeof constraint === "string" ? undefined : constraint.block_id;
    routes.push({ actionId, blockId, listener });
  };
  const app = Object.create(real, { action: { value: action } }) as App;
  return {
    app,
    install() {
      if (routes.length === 0) return;
      const ids = [...new Set(routes.map((route) => route.actionId))];
      real.action(new RegExp(`^(?:${ids.map(escapeRegExp).join("|")})$`), async (args) => {
        const { action_id: actionId, block_id: blockId } = args.action as {
          action_id?: string;
          block_id?: string;
        };
        const matched = routes.filter(
          (route) =>
            route.actionId === actionId && (route.blockId === undefined || route.blockId.test(blockId ?? "")),
        );
        const failed = (await Promise.allSettled(matched.map((route) => route.listener(args)))).filter(
          (result): result is PromiseRejectedResult => result.status === "rejected",
        );
        if (failed.length === 1) throw failed[0]?.reason;
        if (failed.length > 1) throw new AggregateError(failed.map((result) => result.reason));
      });
    },
  };
}
