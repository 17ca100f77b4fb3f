/**
 * Times and durations as people read them. Times are Slack date tokens, which each reader's client
 * shows in their own time zone (https://docs.slack.dev/messaging/formatting-message-text#date-formatting);
 * the fallback, for clients that cannot, is UTC. Durations are computed by the bot.
 */

/** A Slack date token: "Dec 1, 2026 14:05" in the reader's zone, "2026-12-01 14:05 UTC" as the fallback. */
export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const fallback = `${new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `<!date^${seconds}^{date_short_pretty} {time}|${fallback}>`;
}

/**
 * "12 minutes ago", kept current by each reader's client (the `{ago}` token, @slack/types' date
 * formatting tokens): for cards that are not redrawn while time passes. Fallback: the UTC time.
 */
export function slackAgo(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const fallback = `at ${new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `<!date^${seconds}^{ago}|${fallback}>`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "under 1 min", "12 min", "1 h 04 min", "2 d 3 h": whole minutes, rounded down. */
export function duration(ms: number): string {
  const total = Math.max(0, ms);
  if (total < MINUTE) return "under 1 min";
  if (total < HOUR) return `${Math.floor(total / MINUTE)} min`;
  if (total < DAY) {
    const hours = Math.floor(total / HOUR);
    const minutes = Math.floor((total % HOUR) / MINUTE);
    return `${hours} h ${String(minutes).padStart(2, "0")} min`;
  }
  const days = Math.floor(total / DAY);
  const hours = Math.floor((total % DAY) / HOUR);
  return hours === 0 ? `${days} d` : `${days} d ${hours} h`;
}
