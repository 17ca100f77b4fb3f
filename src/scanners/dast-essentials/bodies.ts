import * as z from "zod";
import { DAST_ID } from "./api.js";

/**
 * Readers of the TCS API's responses (https://docs.veracode.com/r/DAST_Essentials_REST_API). Lenient:
 * only the fields the bot needs are required, unknown keys and values are kept or ignored, so a server
 * that adds enum values or fields does not break the bot.
 */

const Id = z.string().regex(DAST_ID, "not a plain ID (letters, digits, '-' and '_')");

export const TargetBody = z.looseObject({
  target_id: Id.optional(),
  name: z.string().optional(),
  url: z.string().optional(),
  protocol: z.string().optional(),
});

/** `AnalysisRun`; `status` is optional in the spec and read as any string (see runState). */
export const AnalysisRunBody = z.looseObject({
  // Checked with isDastId where it is used as an ID (start, attach), not where only status matters.
  analysis_run_id: z.string(),
  target_id: z.string().optional(),
  scan_number: z.number().optional(),
  status: z.string().nullish(),
  started_at: z.string().nullish(),
  finished_at: z.string().nullish(),
  // Deprecated in the TCS spec and unit-less ("The estimated duration for the analysis run.").
  estimated_duration: z.number().nullish().catch(undefined),
  result_import_status: z.string().nullish(),
});
export type AnalysisRun = z.infer<typeof AnalysisRunBody>;

/** POST /analysis_run answers `inline_response_200`: a nullable AnalysisRun. */
export const StartBody = AnalysisRunBody.nullable();

export const PagedAnalysisRunsBody = z.looseObject({
  // HAL omits `_embedded` for an empty page.
  _embedded: z.looseObject({ analysis_runs: z.array(AnalysisRunBody).nullish() }).nullish(),
  page: z.looseObject({ number: z.number().optional(), total_pages: z.number().optional() }).nullish(),
});

/** RFC 7807 `Problem` with the TCS `errors[]` extension. Every field is optional. */
export const ProblemBody = z.looseObject({
  type: z.string().nullish(),
  title: z.string().nullish(),
  status: z.number().nullish(),
  detail: z.string().nullish(),
  errors: z.array(z.looseObject({ code: z.string().nullish(), detail: z.string().nullish() })).nullish(),
});
export type Problem = z.infer<typeof ProblemBody>;
