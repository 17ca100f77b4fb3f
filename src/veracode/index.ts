export {
  type LoadedVeracodeAccounts,
  loadVeracodeAccounts,
  parseCredentialsFile,
  VeracodeAccount,
  type VeracodeAccountInit,
  type VeracodeCredentialSources,
} from "./credentials.js";
export {
  type ApiCredentialsInfo,
  parseExpirationTs,
  type VeracodeCredentialChecks,
  VeracodeIdentityClient,
  type VeracodeIdentityClientOptions,
  veracodeCredentialChecks,
} from "./identity.js";
export {
  type RequestTarget,
  type SignVeracodeRequestOptions,
  signatureFromNonceKey,
  signVeracodeRequest,
  splitRequestUrl,
  stripVeracodePrefix,
  VERACODE_AUTH_SCHEME,
  type VeracodeRegion,
  veracodeAuthorizer,
  veracodeRegion,
  veracodeRestHost,
} from "./signer.js";
export { parseWatchUserIds } from "./user-ids.js";
