import { AppError } from "../../domain/errors.js";
import { apiBaseUrl } from "../../http/base-url.js";
import type { VeracodeAccount } from "../../veracode/index.js";
import { DAST_TCS_PATH } from "./api.js";

/**
 * Configuration of the DAST Essentials scanner (SCANNER=dast-essentials). config.ts reads the
 * environment; these are the variables and what they map to in createDastEssentialsScanner:
 *
 * | Variable | Default | Option |
 * | --- | --- | --- |
 * | DAST_API_URL | the account's REST host + /dae/api/tcs-api/api/v1 | baseUrl |
 * | DAST_STOP_ACTION | STOP_SAVE (keeps partial results); or STOP_DELETE | stopAction |
 * | DAST_ESTIMATE_UNIT | seconds; or minutes (unit of `estimated_duration`) | estimateUnit |
 * | DAST_TARGET_TYPE | WEB_APP; or API (needs the api_spec_url option) | targetDefaults.targetType |
 * | DAST_SCAN_TYPE | QUICK; or FULL, ENTERPRISE | targetDefaults.scanType |
 * | DAST_TEAM_ID | unset: targets visible to Security Leads only | targetDefaults.teamId |
 * | DAST_VERACODE_ACCOUNT | VERACODE_API_PROFILE, else "default" | account (selectDastAccount) |
 *
 * Values: parseTargetType, parseScanType and checkTeamId (targets.ts) accept what the options do,
 * case-insensitively; STOP_ACTIONS (api.ts) lists the stop actions. Credentials are the Veracode
 * HMAC ones (VERACODE_API_KEY_ID / VERACODE_API_KEY_SECRET, *_FILE, or ~/.veracode/credentials)
 * from loadVeracodeAccounts, the same the credential expiry guard watches.
 */

/** The loaded Veracode account the scanner signs with, by name. */
export function selectDastAccount(accounts: readonly VeracodeAccount[], name: string): VeracodeAccount {
  const account = accounts.find((candidate) => candidate.name === name);
  if (account) return account;
  if (accounts.length === 0) {
    throw new AppError(
      "config",
      "SCANNER=dast-essentials needs Veracode API credentials: set VERACODE_API_KEY_ID and VERACODE_API_KEY_SECRET, or provide ~/.veracode/credentials.",
    );
  }
  throw new AppError(
    "config",
    `No Veracode account named "${name}" is loaded for DAST Essentials; choose one of: ${accounts.map((a) => a.name).join(", ")} (DAST_VERACODE_ACCOUNT).`,
  );
}

/** The TCS base URL for an account: explicit override, else the account's REST host + TCS path. */
export function dastApiUrl(account: VeracodeAccount, override?: string): string {
  const raw = override ?? `${account.baseUrl}${DAST_TCS_PATH}`;
  if (override === undefined && account.region === "fedramp") {
    throw new AppError(
      "config",
      "Veracode DAST Essentials is not available in the US Federal region; use credentials of a commercial or EU account, or set DAST_API_URL.",
    );
  }
  return apiBaseUrl(raw, "DAST_API_URL");
}

/**
 * The Veracode Platform web UI of the account's region (analysiscenter.veracode.com, .eu; see
 * https://docs.veracode.com/r/Region_Domains_for_Veracode_APIs), where a report can be downloaded.
 */
export function platformUrl(account: VeracodeAccount): string {
  return `https://analysiscenter.veracode.${account.region === "eu" ? "eu" : account.region === "fedramp" ? "us" : "com"}`;
}
