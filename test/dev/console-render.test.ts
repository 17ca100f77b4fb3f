import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCommand, splitArgs } from "../../dev/console/commands.js";
import { consoleEnv, consoleRoles, DEFAULT_CONSOLE_ROLES } from "../../dev/console/index.js";
import {
  choiceKey,
  interactiveElements,
  mrkdwnToText,
  renderBlocks,
  renderMessage,
  renderView,
  unescapeMrkdwn,
} from "../../dev/console/render.js";
import { escapeCommandText } from "../../dev/console/session.js";

const dir = {
  users: { U0ALICE: "alice", U0BOB: "bob" },
  channels: { C0GENERAL: "general", C0SECURITY: "security" },
  groups: { S0APPROVERS: "approvers" },
};

const mrkdwn = (text: string) => ({ type: "mrkdwn", text });
const plain = (text: string) => ({ type: "plain_text", text });

test("mrkdwn: mentions by name, date fallbacks, links, special mentions and entities", () => {
  assert.equal(mrkdwnToText("<@U0ALICE> asked <@U0BOB|robert>", dir), "@alice asked @bob");
  assert.equal(mrkdwnToText("<@U0NOBODY> and <@U0X|xavier>", dir), "@U0NOBODY and @xavier");
  assert.equal(mrkdwnToText("in <#C0SECURITY> and <#C0NEW|new-one>", dir), "in #security and #new-one");
  assert.equal(
    mrkdwnToText("<!subteam^S0APPROVERS|@approvers> <!here> <!channel>", dir),
    "@approvers @here @channel",
  );
  assert.equal(
    mrkdwnToText("due <!date^1700000000^{date_short} at {time}|Nov 14, 2023 at 22:13>", dir),
    "due Nov 14, 2023 at 22:13",
  );
  assert.equal(mrkdwnToText("<!date^1700000000^{date}>", dir), "2023-11-14 22:13 UTC");
  assert.equal(
    mrkdwnToText("see <https://x.test/r?a=1&amp;b=2|the report>", dir),
    "see the report (https://x.test/r?a=1&b=2)",
  );
  assert.equal(mrkdwnToText("<https://x.test>", dir), "https://x.test");
  assert.equal(mrkdwnToText("a &lt;b&gt; &amp;&amp; c &amp;lt;", dir), "a <b> && c &lt;");
  assert.equal(unescapeMrkdwn("&lt;&gt;&amp;"), "<>&");
});

test("blocks: header, section text and labelled fields, context, divider, buttons numbered", () => {
  const blocks = [
    { type: "header", text: plain("Scan requested") },
    {
      type: "section",
      text: mrkdwn("<@U0ALICE> wants to scan *web-shop*"),
      fields: [mrkdwn("*Target*\nhttps://shop.test"), mrkdwn("*Profile:*\nfull"), mrkdwn("plain field")],
    },
    { type: "divider" },
    {
      type: "actions",
      block_id: "decide",
      elements: [
        { type: "button", action_id: "approve", text: plain("Approve"), value: "scan-1", style: "primary" },
        { type: "button", action_id: "deny", text: plain("Deny"), value: "scan-1", style: "danger" },
      ],
    },
    {
      type: "context",
      elements: [
        mrkdwn("Requested <!date^1700000000^{date}|yesterday>"),
        { type: "image", alt_text: "icon" },
      ],
    },
  ];
  assert.deepEqual(
    renderBlocks(blocks, {
      ...dir,
      choices: {
        [choiceKey({ actionId: "approve", value: "scan-1" })]: 1,
        [choiceKey({ actionId: "deny", value: "scan-1" })]: 2,
      },
    }),
    [
      "== Scan requested ==",
      "@alice wants to scan *web-shop*",
      "Target: https://shop.test",
      "Profile: full",
      "plain field",
      "---",
      "[1] Approve  [2] Deny",
      "› Requested yesterday  [icon]",
    ],
  );
});

test("accessories, selects with options, link buttons and unnumbered elements", () => {
  const blocks = [
    {
      type: "section",
      text: mrkdwn("Pick a project"),
      accessory: {
        type: "static_select",
        action_id: "project",
        placeholder: plain("Project"),
        options: [
          { text: plain("web-shop"), value: "web-shop" },
          { text: plain("API"), value: "api" },
        ],
      },
    },
    {
      type: "actions",
      elements: [
        { type: "button", action_id: "open", text: plain("Open report"), url: "https://r.test/1" },
        { type: "overflow", action_id: "more", options: [{ text: plain("Stop"), value: "stop" }] },
      ],
    },
  ];
  assert.deepEqual(
    renderBlocks(blocks, {
      choices: { [choiceKey({ actionId: "project" })]: 3, [choiceKey({ actionId: "open" })]: 4 },
    }),
    [
      "Pick a project",
      "[3] Project (web-shop | API (api))",
      "[4] Open report <https://r.test/1>  [-] more (Stop (stop))",
    ],
  );
  const elements = interactiveElements(blocks);
  assert.deepEqual(
    elements.map((e) => [e.actionId, e.type, e.label]),
    [
      ["project", "static_select", "Project"],
      ["open", "button", "Open report"],
      ["more", "overflow", "more"],
    ],
  );
  assert.deepEqual(elements[0]?.options, [
    { value: "web-shop", label: "web-shop" },
    { value: "api", label: "API" },
  ]);
});

test("interactiveElements carries confirm dialogs and skips inputs and images", () => {
  const elements = interactiveElements([
    {
      type: "actions",
      block_id: "b1",
      elements: [
        {
          type: "button",
          action_id: "delete",
          text: plain("Delete"),
          value: "p1",
          confirm: {
            title: plain("Delete project?"),
            text: mrkdwn("This removes *web-shop*."),
            confirm: plain("Delete"),
            deny: plain("Keep"),
          },
        },
      ],
    },
    {
      type: "input",
      block_id: "i",
      label: plain("Name"),
      element: { type: "plain_text_input", action_id: "n" },
    },
    {
      type: "section",
      text: mrkdwn("x"),
      accessory: { type: "image", image_url: "https://i", alt_text: "i" },
    },
  ]);
  assert.equal(elements.length, 1);
  assert.deepEqual(elements[0], {
    actionId: "delete",
    blockId: "b1",
    type: "button",
    label: "Delete",
    value: "p1",
    confirm: { title: "Delete project?", text: "This removes *web-shop*.", confirm: "Delete", deny: "Keep" },
  });
});

test("messages: text when there are no blocks, attachments, files, rich text and empty ones", () => {
  assert.deepEqual(renderMessage({ text: "hi <@U0BOB>\nsecond &amp; last" }, dir), [
    "hi @bob",
    "second & last",
  ]);
  assert.deepEqual(
    renderMessage({
      text: "fallback",
      blocks: [{ type: "section", text: mrkdwn("Report ready") }],
      files: [{ name: "report.pdf", title: "Scan report", size: 2048 }, { name: "findings.json" }],
    }),
    ["Report ready", '[file] report.pdf "Scan report" (2.0 KB)', "[file] findings.json"],
  );
  assert.deepEqual(
    renderMessage({
      text: "",
      attachments: [
        {
          color: "#ff0000",
          pretext: "Heads up",
          title: "High findings",
          text: "3 new",
          fields: [{ title: "Scan", value: "s-1" }],
          footer: "Crashtest",
        },
      ],
    }),
    ["Heads up", "| High findings", "| 3 new", "| Scan: s-1", "| › Crashtest"],
  );
  assert.deepEqual(
    renderBlocks(
      [
        {
          type: "rich_text",
          elements: [
            {
              type: "rich_text_section",
              elements: [
                { type: "text", text: "hello " },
                { type: "user", user_id: "U0ALICE" },
              ],
            },
            {
              type: "rich_text_list",
              style: "bullet",
              elements: [{ type: "rich_text_section", elements: [{ type: "text", text: "one" }] }],
            },
          ],
        },
      ],
      dir,
    ),
    ["hello @alice", "- one"],
  );
  assert.deepEqual(renderMessage({ text: "" }), ["(empty message)"]);
});

test("views: title, input fields with their keys, initial values, errors and submit/close labels", () => {
  const lines = renderView(
    {
      type: "modal",
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
            initial_option: { text: plain("api"), value: "api" },
          },
        },
        {
          type: "input",
          block_id: "note",
          optional: true,
          label: plain("Note"),
          hint: plain("Shown to approvers"),
          element: { type: "plain_text_input", action_id: "value", placeholder: plain("why now?") },
        },
      ],
    },
    { errors: { note: "Too short" } },
  );
  assert.deepEqual(lines, [
    '"Start a scan"',
    '* Project [project]: one of: web-shop | api, now "api"',
    '* Note (optional) [note]: text, e.g. "why now?"',
    "  › Shown to approvers",
    "  ! Too short",
    '(submit: "Start", close: "Cancel")',
  ]);
});

test("parseCommand: slash commands, press (also a bare number), as, channel, submit with quotes", () => {
  assert.deepEqual(parseCommand("/crashtest scan start web-shop"), {
    kind: "slash",
    command: "/crashtest",
    text: "scan start web-shop",
  });
  assert.deepEqual(parseCommand("/crashtest"), { kind: "slash", command: "/crashtest", text: "" });
  assert.deepEqual(parseCommand("press 2"), { kind: "press", choice: 2 });
  assert.deepEqual(parseCommand("3 web-shop"), { kind: "press", choice: 3, option: "web-shop" });
  assert.equal(parseCommand("press x").kind, "invalid");
  assert.deepEqual(parseCommand("as @bob"), { kind: "as", who: "@bob" });
  assert.deepEqual(parseCommand("channel #security"), { kind: "channel", name: "#security" });
  assert.deepEqual(parseCommand("thread 4"), { kind: "thread", message: 4 });
  assert.deepEqual(parseCommand('submit project=web-shop note="before release" empty='), {
    kind: "submit",
    fields: [
      ["project", "web-shop"],
      ["note", "before release"],
      ["empty", ""],
    ],
  });
  assert.equal(parseCommand("submit oops").kind, "invalid");
  assert.deepEqual(parseCommand("# a comment"), { kind: "empty" });
  assert.deepEqual(parseCommand("  "), { kind: "empty" });
  assert.deepEqual(parseCommand("EXIT"), { kind: "quit" });
  assert.equal(parseCommand("frobnicate").kind, "invalid");
  assert.deepEqual(splitArgs(`a "b c" d='e f'`), ["a", "b c", "d=e f"]);
});

test("command text is escaped as Slack does with should_escape", () => {
  assert.equal(
    escapeCommandText("approve @bob in #security for @approvers & <x>", dir),
    "approve <@U0BOB|bob> in <#C0SECURITY|security> for <!subteam^S0APPROVERS|@approvers> &amp; &lt;x&gt;",
  );
  assert.equal(escapeCommandText("mail a@b.test @nobody", dir), "mail a@b.test @nobody");
});

test("console env: Slack settings point at the emulator, roles default unless set", () => {
  const slack = { botToken: "xoxb-emu", signingSecret: "emu-secret", apiUrl: "http://127.0.0.1:1/api/" };
  const env = consoleEnv(
    {
      SLACK_APP_TOKEN: "xapp-1-real",
      SLACK_BOT_TOKEN_FILE: "/run/secrets/x",
      APPROVER_USERS: "U0BOB",
      PORT: "3000",
    },
    slack,
  );
  assert.equal(env.SLACK_APP_TOKEN, undefined);
  assert.equal(env.SLACK_BOT_TOKEN_FILE, undefined);
  assert.equal(env.SLACK_BOT_TOKEN, "xoxb-emu");
  assert.equal(env.SLACK_SIGNING_SECRET, "emu-secret");
  assert.equal(env.SLACK_API_URL, slack.apiUrl);
  assert.equal(env.PORT, "0");
  assert.equal(env.ADMIN_USERS, DEFAULT_CONSOLE_ROLES.ADMIN_USERS);
  assert.equal(env.APPROVER_USERS, "U0BOB");
  assert.equal(env.OPERATOR_USERS, DEFAULT_CONSOLE_ROLES.OPERATOR_USERS);

  const roles = consoleRoles(
    { ADMIN_USERS: "U0ALICE", APPROVER_USERS: "S0APPROVERS, U0BOB", OPERATOR_USERS: "" },
    [{ id: "S0APPROVERS", users: ["U0ALICE"] }],
  );
  assert.deepEqual(roles.get("U0ALICE"), ["admin", "approver"]);
  assert.deepEqual(roles.get("U0BOB"), ["approver"]);
});
