// @ts-check
/**
 * The access token as the client keeps it: its claims, read for display, and when to renew it.
 */

/**
 * @typedef {object} Token
 * @property {string} value
 * @property {string | null} username
 * @property {string | null} userId
 * @property {string | null} sessionId
 * @property {number} expiresAt ms since the epoch
 * @property {number} refreshAt ms since the epoch
 */

/**
 * The access token's claims, read without verifying: the client only displays them, and the
 * APIs that receive the token verify it.
 * @param {string} jwt
 * @returns {Record<string, unknown>}
 */
function readClaims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === "object" ? claims : {};
  } catch {
    return {};
  }
}

/**
 * @param {unknown} value
 * @returns {string | null}
 */
function stringOrNull(value) {
  return typeof value === "string" ? value : null;
}

/**
 * @param {{ access_token: string, expires_in: number }} body authsvc's token answer
 * @param {number} refreshBeforeMs how long before expiry to renew, at most a third of the lifetime
 * @returns {Token}
 */
export function tokenFrom(body, refreshBeforeMs) {
  const claims = readClaims(body.access_token);
  // expires_in against the local clock, so a skewed clock does not matter.
  const lifetimeMs = body.expires_in * 1000;
  const expiresAt = Date.now() + lifetimeMs;
  const lead = Math.min(refreshBeforeMs, lifetimeMs / 3);
  return {
    value: body.access_token,
    username: stringOrNull(claims.username),
    userId: stringOrNull(claims.sub),
    sessionId: stringOrNull(claims.sid),
    expiresAt,
    refreshAt: expiresAt - lead,
  };
}
