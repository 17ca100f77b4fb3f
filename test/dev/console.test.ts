import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { test } from "node:test";
import { retryPolicies, WebClient } from "@slack/web-api";
import { type ConsoleOptions, type ConsoleReady, runConsole } from "../../dev/console/index.js";
import type { SlackEmulator } from "../../dev/slack-emulator/index.js";
import { silent } from "../support/silent.js";

const root = new URL("../..", import.meta.url).pathname;

function webClient(emulator: SlackEmulator): WebClient {
  return new WebClient(emulator.botToken, {
    slackApiUrl: emulator.apiUrl,
    retryConfig: retryPolicies.rapidRetryPolicy,
    logger: silent,
  });
}

const plain = (text: string) => ({ type: "plain_text" as const, text });
const mrkdwn = (text: string) => ({ type: "mrkdwn" as const, text });

/** Runs a scripted console session: the lines are its stdin; resolves with the exit code and the transcript. */
async function script(
  lines: string[],
  options: Partial<ConsoleOptions> & { seed?: (ready: ConsoleReady) => Promise<void> } = {},
) {
  const chunks: string[] = [];
  const output = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  let emulator: SlackEmulator | undefined;
  const { seed, ...rest } = options;
  const code = await runConsole({
    env: { CONSOLE_STORE_URL: "memory://" },
    input: Readable.from(lines.map((line) => `${line}\n`)),
    output,
    ...rest,
    onReady: async (ready) => {
      emulator = ready.emulator;
      await seed?.(ready);
    },
  });
  if (!emulator) throw new Error("the console never got ready");
  return { code, text: chunks.join(""), emulator };
}

test("a scripted session runs /crashtest help, shows the answer and exits 0", async () => {
  const { code, text, emulator } = await script(["/crashtest help", "help", "quit", "/crashtest never-run"]);
  assert.equal(code, 0);
  assert.match(text, /LOCAL ONLY/);
  assert.match(text, /nothing reaches Slack/);
  assert.match(text, /@alice +U0ALICE +admin, approver, operator/);
  assert.match(text, /@bob +U0BOB +approver, operator/);
  assert.match(text, /alice@#general> \/crashtest help\n/);
  assert.match(text, /only visible to you\n {3}== Crashtest ChatOps ==\n {3}`\/crashtest help \[command\]`/);
  assert.match(text, /press <n> \[option\]/, "the console's own help");
  assert.match(text, /Bye\.\n$/);
  assert.equal(emulator.deliveries("slash_command").length, 1, "nothing after quit runs");
  const command = emulator.deliveries("slash_command")[0];
  assert.equal(command?.payload.text, "help");
  assert.equal(command?.status, 200);
});

test("buttons are numbered, and press sends a block_actions click that reaches the bot", async () => {
  let posted = "";
  const { code, text, emulator } = await script(["press 1"], {
    // Long enough to see Bolt's own answer for an action nobody listens to (404 after 3 s).
    emulator: { ackTimeoutMs: 4000 },
    seed: async ({ emulator }) => {
      const result = await webClient(emulator).chat.postMessage({
        channel: "C0GENERAL",
        text: "Deploy?",
        blocks: [
          { type: "section", text: mrkdwn("Deploy *web-shop* for <@U0BOB>?") },
          {
            type: "actions",
            block_id: "decide",
            elements: [
              { type: "button", action_id: "approve", text: plain("Approve"), value: "deploy-1" },
              { type: "button", action_id: "deny", text: plain("Deny"), value: "deploy-1" },
            ],
          },
        ],
      });
      posted = String(result.ts);
    },
  });
  assert.equal(code, 0);
  assert.match(
    text,
    /── #general · message 1 from @crashtest \(app\)\n {3}Deploy \*web-shop\* for @bob\?\n {3}\[1\] Approve {2}\[2\] Deny\n/,
  );
  assert.match(text, /@alice pressed "Approve"/);
  const [click, ...more] = emulator.deliveries("block_actions");
  assert.equal(more.length, 0);
  assert.ok(click);
  assert.notEqual(click.status, 401, "the bot accepted the signature");
  assert.ok(click.status === 404 || click.status === 200, `the bot answered (HTTP ${click.status})`);
  const payload = click.payload as {
    user: { id: string };
    container: { message_ts: string; channel_id: string };
    actions: Array<{ action_id: string; value: string; block_id: string }>;
  };
  assert.equal(payload.user.id, "U0ALICE");
  assert.deepEqual([payload.container.channel_id, payload.container.message_ts], ["C0GENERAL", posted]);
  assert.deepEqual(
    payload.actions.map((a) => [a.action_id, a.value, a.block_id]),
    [["approve", "deploy-1", "decide"]],
  );
});

test("confirm dialogs ask y/N; ephemerals, threads, files and other users' buttons", async () => {
  const { code, text, emulator } = await script(
    [
      "press 2",
      "n",
      "press 2",
      "y",
      "thread 1",
      "as @bob",
      "press 3",
      "press 9",
      "channel #security",
      "channel #nowhere",
    ],
    {
      emulator: { ackTimeoutMs: 200 },
      seed: async ({ emulator }) => {
        const client = webClient(emulator);
        const parent = await client.chat.postMessage({
          channel: "C0GENERAL",
          text: "Project web-shop",
          blocks: [
            { type: "section", text: mrkdwn("Project *web-shop* &amp; friends") },
            {
              type: "actions",
              elements: [
                { type: "button", action_id: "edit", text: plain("Edit") },
                {
                  type: "button",
                  action_id: "delete",
                  text: plain("Delete"),
                  style: "danger",
                  confirm: {
                    title: plain("Delete web-shop?"),
                    text: mrkdwn("Scans and schedules go too."),
                    confirm: plain("Delete"),
                    deny: plain("Keep it"),
                  },
                },
              ],
            },
          ],
        });
        await client.chat.postMessage({
          channel: "C0GENERAL",
          thread_ts: String(parent.ts),
          text: "Scan s-1 queued",
        });
        await client.filesUploadV2({
          channel_id: "C0GENERAL",
          thread_ts: String(parent.ts),
          content: "<report/>",
          filename: "report.xml",
        });
        await client.chat.postEphemeral({
          channel: "C0GENERAL",
          user: "U0ALICE",
          text: "Only for Alice",
          blocks: [
            {
              type: "section",
              text: mrkdwn("Retry?"),
              accessory: { type: "button", action_id: "retry", text: plain("Retry") },
            },
          ],
        });
      },
    },
  );
  assert.equal(code, 0);
  assert.match(text, /\[1\] Edit {2}\[2\] Delete\n/);
  assert.match(text, /Project \*web-shop\* & friends/);
  assert.match(
    text,
    /── Delete web-shop\?\n {3}Scans and schedules go too\.\n {3}\[y\] Delete {2}\[N\] Keep it\n/,
  );
  assert.match(text, /Delete\? \[y\/N\] n\n\(cancelled: "Keep it"\)/);
  assert.match(text, /Delete\? \[y\/N\] y\n\(@alice pressed "Delete"\)/);
  assert.match(text, /the app did not respond within 3 s/);
  assert.match(text, /reply in thread 1 from @crashtest \(app\)\n {3}Scan s-1 queued/);
  assert.match(text, /\[file\] report\.xml/);
  assert.match(text, /only visible to you\n {3}Retry\?\n {3}\[3\] Retry/);
  assert.match(text, /Cannot press \[3\]: only @alice sees that message; `as @alice` to press it\./);
  assert.match(text, /There is no button \[9\]/);
  assert.match(text, /bob@#general> channel #security\nNow in #security/);
  assert.match(text, /No channel #nowhere/);
  const clicks = emulator.deliveries("block_actions");
  assert.deepEqual(
    clicks.map((c) => (c.payload.actions as Array<{ action_id: string }>)[0]?.action_id),
    ["delete"],
    "the cancelled press sent nothing",
  );
});

test("modals opened by views.open are shown as fields and submitted with submit key=value", async () => {
  const { code, text, emulator } = await script(
    [
      "submit project=nope",
      "submit nofield=1",
      'submit project=api note="before release" reviewer=@bob',
      "modal",
      "cancel",
      "cancel",
    ],
    {
      emulator: { ackTimeoutMs: 200 },
      seed: async ({ emulator }) => {
        const { triggerId } = await emulator.slashCommand({
          user: "U0ALICE",
          channel: "C0GENERAL",
          text: "help",
        });
        await webClient(emulator).views.open({
          trigger_id: triggerId,
          view: {
            type: "modal",
            callback_id: "scan_start",
            title: plain("Start a scan"),
            submit: plain("Start"),
            close: plain("Cancel"),
            blocks: [
              {
                type: "input",
                block_id: "project",
                label: plain("Project"),
                element: {
                  type: "static_select",
                  action_id: "value",
                  options: [
                    { text: plain("web-shop"), value: "web-shop" },
                    { text: plain("api"), value: "api" },
                  ],
                },
              },
              {
                type: "input",
                block_id: "note",
                optional: true,
                label: plain("Note"),
                element: { type: "plain_text_input", action_id: "value", initial_value: "none" },
              },
              {
                type: "input",
                block_id: "reviewer",
                label: plain("Reviewer"),
                element: { type: "users_select", action_id: "value" },
              },
            ],
          },
        });
      },
    },
  );
  assert.equal(code, 0);
  assert.match(
    text,
    /── modal opened \(fill in with: submit key=value \.\.\., or cancel\)\n {3}"Start a scan"\n/,
  );
  assert.match(text, /\* Project \[project\]: one of: web-shop \| api/);
  assert.match(text, /\* Note \(optional\) \[note\]: text, now "none"/);
  assert.match(text, /"nope" is not an option of project \(web-shop, api\)/);
  assert.match(text, /The modal has no field nofield \(fields: project, note, reviewer\)/);
  assert.match(text, /the app did not respond; the modal stays open/);
  assert.match(text, /modal "Start a scan" closed/);
  assert.match(text, /alice@#general> cancel\n\(no modal is open\)/);
  const [submission, ...more] = emulator.deliveries("view_submission");
  assert.equal(more.length, 0);
  assert.ok(submission);
  const values = (submission.payload.view as { state: { values: Record<string, { value: unknown }> } }).state
    .values;
  assert.deepEqual(values.project?.value, {
    type: "static_select",
    selected_option: { text: plain("api"), value: "api" },
  });
  assert.deepEqual(values.note?.value, { type: "plain_text_input", value: "before release" });
  assert.deepEqual(values.reviewer?.value, { type: "users_select", selected_user: "U0BOB" });
});

test("home opens the App Home tab and shows what the app published", async () => {
  const { code, text, emulator } = await script(["home"], { emulator: { ackTimeoutMs: 500 } });
  assert.equal(code, 0);
  const [event] = emulator.deliveries("event_callback");
  assert.ok(event);
  assert.equal((event.payload.event as { type: string }).type, "app_home_opened");
  assert.match(text, /Home tab of @alice|the app has not published a Home tab for you/);
});

test("NODE_ENV=production refuses to start the console", async () => {
  const chunks: string[] = [];
  const code = await runConsole({
    env: { NODE_ENV: "production" },
    input: Readable.from([]),
    output: new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
  });
  assert.equal(code, 1);
  assert.match(chunks.join(""), /development tool/);
});

test("dev/console/main.ts runs a piped script with no Slack credentials and exits 0", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "console-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ["--import", "tsx", "dev/console/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      CONSOLE_STORE_URL: `sqlite://${path.join(dir, "console.sqlite")}`,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  child.stdin.end("/crashtest help\n");
  const [code] = await once(child, "exit");
  assert.equal(code, 0, stderr);
  assert.match(stdout, /LOCAL ONLY/);
  assert.match(stdout, /Store: +sqlite:\/\/.*console\.sqlite/);
  assert.match(
    stdout,
    /alice@#general> \/crashtest help\n── #general · only visible to you\n {3}== Crashtest ChatOps ==/,
  );
  assert.match(stdout, /Bye\./);
});

test("a second console session on the same data dir creates and scans again: the simulator remembers", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "console-twice-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = {
    CONSOLE_STORE_URL: `sqlite://${path.join(dir, "console.sqlite")}`,
    REQUIRE_APPROVAL: "false",
  };
  const first = await script(
    ["/crashtest project create web-shop https://shop.example.com", "/crashtest scan start web-shop", "quit"],
    { env },
  );
  assert.equal(first.code, 0);
  assert.match(first.text, /Project \*web-shop\* created \(ID `101`\)/);
  assert.match(first.text, /Scan 390 of \*web-shop\* started/);

  const second = await script(
    [
      "/crashtest project create blog https://blog.example.com",
      "/crashtest scan start blog",
      "/crashtest scan status 390",
    ],
    { env },
  );
  assert.equal(second.code, 0);
  assert.match(second.text, /Project \*blog\* created \(ID `102`\)/);
  assert.match(second.text, /Scan 391 of \*blog\* started/);
  assert.doesNotMatch(second.text, /does not know|already running|already registered/);
  assert.doesNotMatch(second.text, /not found/i, "scan 390 is still known to the simulator");
});

test("quiet by default: a typo gets its reply and no log line; the short-poll warning prints once", async () => {
  const { code, text } = await script(["/crashtest scan start nosuch", "/crashtest scan stop"], {
    env: { CONSOLE_STORE_URL: "memory://", SCAN_POLL_INTERVAL_SECONDS: "2" },
  });
  assert.equal(code, 0);
  assert.match(text, /No project "nosuch"/);
  const afterBanner = text.slice(text.indexOf("alice@#general>"));
  assert.doesNotMatch(afterBanner, /\[bot /, "no log line between a command and its reply");
  assert.doesNotMatch(text, /stack| {4}at /);
  assert.equal(text.match(/below the 120 s/g)?.length, 1, text);
  assert.doesNotMatch(text, /below Veracode's recommended/);
});

test("buttons are numbered uniquely per screen: two Delete buttons are [1] and [2], and [2] deletes the second", async () => {
  const { code, text } = await script([
    "/crashtest project create alpha https://alpha.example.com",
    "/crashtest project create beta https://beta.example.com",
    "/crashtest projects",
    "press 2",
    "y",
    "/crashtest projects",
  ]);
  assert.equal(code, 0);
  const listing = text.slice(text.indexOf("> /crashtest projects\n"));
  assert.match(
    listing,
    /\*alpha\* · ID `101`\n.*\n {3}\[1\] Delete\n {3}\*beta\* · ID `102`\n.*\n {3}\[2\] Delete/,
  );
  const after = text.slice(text.lastIndexOf("> /crashtest projects\n"));
  assert.match(after, /\*alpha\*/);
  assert.doesNotMatch(after, /\*beta\*/, "[2] deleted beta, not alpha");
});

test("in a terminal, `wait N` shows what happens while waiting, without another Enter", async () => {
  // A TTY-like pair: readline runs in terminal mode (prompt, line editing) as in a real terminal.
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  let out = "";
  const output = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    }),
    { isTTY: true, columns: 120, rows: 40 },
  );
  const seen = async (pattern: RegExp, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!pattern.test(out)) {
      if (Date.now() > deadline) assert.fail(`never saw ${what}:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const ready = Promise.withResolvers<void>();
  const done = runConsole({
    env: {
      CONSOLE_STORE_URL: "memory://",
      REQUIRE_APPROVAL: "false",
      SIMULATOR_QUEUE_SECONDS: "1",
      SIMULATOR_RUN_SECONDS: "1",
      SCAN_POLL_INTERVAL_SECONDS: "1",
      SCAN_WATCH_TICK_SECONDS: "1",
    },
    input,
    output,
    onReady: () => ready.resolve(),
  });
  try {
    await ready.promise;
    input.write("/crashtest project create web-shop https://shop.example.com\r");
    await seen(/Project \*web-shop\* created/, "the project created");
    input.write("/crashtest scan start web-shop\r");
    await seen(/Scan 390 of \*web-shop\* started/, "the scan started");
    input.write("wait 8\r");
    // Nothing more is typed: the watcher's thread replies must show while the wait runs.
    await seen(/scan 390 of \*web-shop\* finished/, "the scan finishing during the wait");
    input.write("quit\r");
  } finally {
    input.end();
    assert.equal(await done, 0);
  }
});

test("words a user reads: help per command group, no verification hint for the simulator, '1 reply', the existing project named", async () => {
  const { code, text } = await script(
    [
      "/crashtest help project",
      "/crashtest help scan",
      "/crashtest project create Web-Shop https://shop.example.com",
      "/crashtest project create web-shop https://other.example.com",
      "/crashtest scan start web-shop",
      "as @bob",
      "press 1",
    ],
    { env: { CONSOLE_STORE_URL: "memory://" } },
  );
  assert.equal(code, 0);
  assert.doesNotMatch(text, /Unknown command/);
  assert.match(text, /`\/crashtest project create <name> <url>/);
  assert.match(text, /`\/crashtest project delete <project>`/);
  assert.match(text, /`\/crashtest scan stop <scan-id>`/);
  assert.match(text, /`\/crashtest scan` is short for `\/crashtest scan start`/);
  assert.doesNotMatch(text, /Verify the target/);
  assert.match(text, /A project named "Web-Shop" \(ID `101`\) already exists/);
  assert.match(text, /· 1 reply \(thread 1\)/);
  assert.doesNotMatch(text, /\b1 replies/);
});
