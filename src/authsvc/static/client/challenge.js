// @ts-check
/**
 * The second login step: what `login` resolves to for an account with a second factor.
 *
 * A challenge cannot pass for a signed-in state: its `status` is "mfa-required" (an AuthState's
 * is "unknown", "signed-in" or "signed-out"), it has no username, session or token, and the
 * client's `state` stays "signed-out" until `complete` succeeds; only then do subscribers get
 * `signed_in`. The mfa_token it completes stays inside it, out of reach of a stray
 * `JSON.stringify`.
 */

import { AuthError } from "./errors.js";
import { assertion } from "./webauthn.js";

/** @typedef {import("./events.js").AuthState} AuthState */

/**
 * @typedef {object} MfaChallenge
 * @property {"mfa-required"} status
 * @property {true} mfaRequired
 * @property {ReadonlyArray<string>} methods what the login can be completed with: "totp",
 *   "recovery_code", "passkey"
 * @property {number} expiresAt ms since the epoch; after it, log in with the password again
 * @property {(method: string, code: string) => Promise<AuthState>} complete send a code of
 *   `method`; resolves signed in. Rejects with an AuthError: 401 "Invalid code" (try again,
 *   a few times at most), 401 "Invalid or expired mfa_token; log in again", 429 too many codes
 * @property {() => Promise<AuthState>} completeWithPasskey when `methods` has "passkey": ask
 *   the browser for one of the account's passkeys and send its answer; resolves signed in.
 *   Rejects with the browser's DOMException (cancelled, no passkey here) or an AuthError:
 *   401 "Passkey not accepted", 401 "Invalid or expired mfa_token; log in again", 429
 */

/**
 * A cookie route that signs in: the session core's, which the challenge completes through.
 * @callback SignIn
 * @param {string} path
 * @param {Record<string, unknown>} body
 * @returns {Promise<AuthState | MfaChallenge>}
 */

/**
 * Whether `login` asked for a second step rather than signing in.
 * @param {AuthState | MfaChallenge} outcome
 * @returns {outcome is MfaChallenge}
 */
export function isMfaChallenge(outcome) {
  return outcome.status === "mfa-required";
}

/**
 * A route that needs no credentials, answering JSON (Routes.call, parsed).
 * @callback Call
 * @param {string} path
 * @param {Record<string, unknown>} body
 * @returns {Promise<any>}
 */

/**
 * @param {{ mfa_token: string, methods: string[], expires_in: number }} body authsvc's answer
 * @param {SignIn} signIn
 * @param {Call} call
 * @returns {MfaChallenge}
 */
export function challengeFrom(body, signIn, call) {
  const mfaToken = body.mfa_token;
  /** @type {MfaChallenge} */
  const challenge = {
    status: "mfa-required",
    mfaRequired: true,
    methods: Object.freeze([...body.methods]),
    expiresAt: Date.now() + body.expires_in * 1000,
    complete: async (method, code) =>
      signedIn(await signIn("/login/mfa", { mfa_token: mfaToken, method, code })),
    completeWithPasskey: async () => {
      const start = await call("/login/mfa/passkey/options", { mfa_token: mfaToken });
      const credential = await assertion(start.publicKey);
      const answer = { challenge_id: start.challenge_id, credential };
      return signedIn(
        await signIn("/login/mfa", { mfa_token: mfaToken, method: "passkey", ...answer }),
      );
    },
  };
  return Object.freeze(challenge);
}

/**
 * @param {AuthState | MfaChallenge} outcome
 * @returns {AuthState}
 */
export function signedIn(outcome) {
  // authsvc completes a login in one second step; a further one is not something to pass on.
  if (isMfaChallenge(outcome)) throw new AuthError("authsvc asked for another step", 502);
  return outcome;
}
