import * as z from "zod";
import type { PlatformSchedule } from "../../domain/ports.js";
import type { Call } from "./calls.js";

/**
 * The platform's own schedules of a target, read-only: its analysis profiles
 * (GET /analysis_profiles?target_id=) and each one's schedule (GET /analysis_profiles/{id}/schedule,
 * 204 when it has none), as the TCS API describes them
 * (https://docs.veracode.com/r/DAST_Essentials_REST_API). The bot's own schedules start scans through
 * POST /analysis_run like manual scans; these are shown beside them so nobody runs two unaware.
 */

/** Profiles looked at per target: a target has one or a few; the list is one page. */
const PROFILES_PER_TARGET = 10;

const ProfileId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "not a plain analysis profile ID");

const PagedProfilesBody = z.looseObject({
  _embedded: z
    .looseObject({
      analysis_profiles: z
        .array(z.looseObject({ analysis_profile_id: ProfileId, target_id: z.string().nullish() }))
        .nullish(),
    })
    .nullish(),
});

const ScheduleBody = z.looseObject({
  frequency: z.string().max(40),
  interval: z.number().int().nullish(),
  day: z.number().int().nullish(),
  weekday: z.string().max(20).nullish(),
  week_of_month: z.number().int().nullish(),
  timezone: z.string().max(80),
  time: z.string().max(20),
  status: z.string().max(40),
  next_run_at: z.string().nullish(),
});

function profilesCall(targetId: string): Call {
  return {
    operation: "listAnalysisProfiles",
    route: "GET /analysis_profiles",
    method: "GET",
    path: `/analysis_profiles?target_id=${encodeURIComponent(targetId)}&limit=${PROFILES_PER_TARGET}`,
    subject: `the analysis profiles of target ${targetId}`,
    retry: "idempotent",
  };
}

function scheduleCall(profileId: string): Call {
  return {
    operation: "getSchedule",
    route: "GET /analysis_profiles/{analysis_profile_id}/schedule",
    method: "GET",
    path: `/analysis_profiles/${encodeURIComponent(profileId)}/schedule`,
    subject: `the schedule of analysis profile ${profileId}`,
    retry: "idempotent",
  };
}

/** The profiles of this target (a profile that names another target is not its). */
function targetProfiles(body: z.infer<typeof PagedProfilesBody>, targetId: string): string[] {
  return (body._embedded?.analysis_profiles ?? [])
    .filter((p) => !p.target_id || p.target_id === targetId)
    .map((p) => p.analysis_profile_id);
}

function toPlatformSchedule(body: z.infer<typeof ScheduleBody>): PlatformSchedule {
  const next = body.next_run_at ? Date.parse(body.next_run_at) : Number.NaN;
  const ordinal = body.week_of_month
    ? body.week_of_month === -1
      ? "last "
      : `week ${body.week_of_month} `
    : "";
  return {
    frequency: body.frequency,
    interval: body.interval ?? 1,
    time: body.time,
    timezone: body.timezone,
    ...(body.weekday ? { weekday: `${ordinal}${body.weekday}` } : {}),
    ...(body.day ? { day: body.day } : {}),
    status: body.status,
    ...(Number.isFinite(next) ? { nextRunAt: next } : {}),
  };
}

/** Reads one call's JSON with a schema; undefined for 204 (no content). */
type Read = <T>(call: Call, schema: z.ZodType<T>) => Promise<T | undefined>;

/** The target's analysis profiles, then each one's schedule (one request each). */
export async function readPlatformSchedules(targetId: string, read: Read): Promise<PlatformSchedule[]> {
  const profiles = await read(profilesCall(targetId), PagedProfilesBody);
  const out: PlatformSchedule[] = [];
  for (const profileId of profiles ? targetProfiles(profiles, targetId) : []) {
    const schedule = await read(scheduleCall(profileId), ScheduleBody);
    if (schedule) out.push(toPlatformSchedule(schedule));
  }
  return out;
}
