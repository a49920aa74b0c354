// @ts-check
/**
 * Refusals: the error the client rejects with, and authsvc's `detail` texts it tells apart.
 */

/** @typedef {import("./events.js").SignOutReason} SignOutReason */

/** A refusal from authsvc, or no session to act for. */
export class AuthError extends Error {
  /**
   * @param {string} message
   * @param {number} status the HTTP status authsvc answered (401 when not signed in)
   */
  constructor(message, status) {
    super(message);
    this.name = "AuthError";
    this.status = status;
  }
}

/**
 * The refusal's `detail`: authsvc's text, or for a rejected body (422) each reason.
 * @param {Response} response
 * @returns {Promise<string | null>}
 */
export async function detailOf(response) {
  try {
    const { detail } = await response.clone().json();
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((item) => String(item?.msg ?? item)).join("; ");
  } catch {
    // not JSON
  }
  return null;
}

/**
 * @param {Response} response
 * @returns {Promise<AuthError>}
 */
export async function errorFrom(response) {
  const detail = await detailOf(response);
  return new AuthError(detail ?? `authsvc answered ${response.status}`, response.status);
}

// The `detail` texts of authsvc's 401 answers to a refresh (api/errors.py), and what they mean
// for the tab. Any other 401 is taken as an ended session.
/** @type {Readonly<Record<string, SignOutReason>>} */
export const REFRESH_REFUSALS = Object.freeze({
  "Session has ended": "revoked",
  "Session ended: refresh token reused": "reuse_detected",
  "Invalid or expired token": "expired",
  "Not authenticated": "expired", // no cookie: the browser dropped it when its Max-Age ran out
});
// A 401 that is about the password the user typed, not about the session.
export const WRONG_PASSWORD = "Current password is incorrect";
