export {
  CONNECTIONS_OPEN,
  type DeliveryTransport,
  type EventResult,
  type InteractionResult,
  SlackEmulator,
  type SlackEmulatorOptions,
  type SlashCommandResult,
  UPLOAD_URL_TARGET,
  type ViewActionResult,
  type ViewSubmissionResult,
} from "./emulator.js";
export type { DeliveryOptions, DeliveryResult, ViewInput } from "./inbound.js";
export { computeSlackSignature, slackSignatureHeaders } from "./signing.js";
export type * from "./types.js";
