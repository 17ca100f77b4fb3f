import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { slackSignatureHeaders } from "../dev/slack-emulator/index.js";
import type { Target } from "./targets.js";

/** Signed slash commands as Slack sends them, and the sink that stands in for their response_url. */

/** How long a command's answer may take, at the target or at the sink. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** A slash command's form body as Slack sends it, answering to the sink under `id`. */
export function commandBody(user: string, text: string, sink: Sink, id: string, triggerId: string): string {
  return new URLSearchParams({
    token: "bench",
    team_id: "T0EMULATOR",
    team_domain: "crashtest-dev",
    channel_id: "C0GENERAL",
    channel_name: "general",
    user_id: user,
    user_name: user.toLowerCase(),
    command: "/crashtest",
    text,
    api_app_id: "A0CRASHTEST",
    is_enterprise_install: "false",
    response_url: `${sink.url}/response/${encodeURIComponent(id)}`,
    trigger_id: triggerId,
  }).toString();
}

/** Sends one signed command to the bot and returns its answer (the ack body, else the response_url post). */
export async function command(
  target: Target,
  signingSecret: string,
  sink: Sink,
  text: string,
  user = "U0ALICE",
): Promise<string> {
  const id = `seeding ${target.name}|${Math.random()}`;
  const body = commandBody(user, text, sink, id, "1.1.seed");
  const posted = sink.expect(id);
  const res = await fetch(`http://127.0.0.1:${target.port}/slack/events`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...slackSignatureHeaders(signingSecret, body),
    },
    body,
  });
  const acked = await res.text();
  if (acked !== "") {
    sink.cancel(id);
    return acked;
  }
  return (await posted)?.body ?? "";
}

export interface Sink {
  url: string;
  /** Posts received, by who was asked (the part of each answer's ID before "|"). */
  posts: () => Record<string, number>;
  /** Resolves with the post for `id` (time of arrival and body), or undefined after 10 s. */
  expect(id: string): Promise<{ at: number; body: string } | undefined>;
  cancel(id: string): void;
  close: () => Promise<void>;
}

/** Answers every response_url post with "ok", as Slack does, and notes when each arrived. */
export async function startSink(): Promise<Sink> {
  const posts: Record<string, number> = {};
  const waiting = new Map<
    string,
    { resolve: (v: { at: number; body: string } | undefined) => void; timer: NodeJS.Timeout }
  >();
  const settle = (id: string, value: { at: number; body: string } | undefined) => {
    const entry = waiting.get(id);
    if (!entry) return;
    waiting.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(value);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const at = performance.now();
      const id = decodeURIComponent((req.url ?? "").replace(/^\/response\//, ""));
      const from = id.split("|")[0] ?? "";
      posts[from] = (posts[from] ?? 0) + 1;
      settle(id, { at, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    posts: () => posts,
    expect: (id) =>
      new Promise((resolve) => {
        waiting.set(id, { resolve, timer: setTimeout(() => settle(id, undefined), REQUEST_TIMEOUT_MS) });
      }),
    cancel: (id) => settle(id, undefined),
    close: async () => {
      for (const id of [...waiting.keys()]) settle(id, undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
