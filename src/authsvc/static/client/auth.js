// @ts-check
/**
 * AuthClient: every part's calls on the session core, in layers of one concern each:
 * session.js (sign in, keep the session, sign out) ← account.js (the account routes) ←
 * totp.js (second factors, TOTP) ← passkeys.js (passkeys).
 */

import { PasskeyClient } from "./passkeys.js";

/** @typedef {import("./session.js").AuthClientOptions} AuthClientOptions */

export class AuthClient extends PasskeyClient {}

/**
 * @param {AuthClientOptions} [options]
 * @returns {AuthClient}
 */
export function createAuthClient(options) {
  return new AuthClient(options);
}
