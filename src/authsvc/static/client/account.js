// @ts-check
/**
 * AuthClient: the session core (session.js) plus the account routes: registration, password
 * reset, e-mail verification and change of address, the user's sessions.
 *
 * The account calls use only the core's public methods, so they need none of its internals.
 */

import { WRONG_PASSWORD, detailOf, errorFrom } from "./errors.js";
import { Routes, withBearer } from "./routes.js";
import { SessionClient } from "./session.js";

/** @typedef {import("./session.js").AuthClientOptions} AuthClientOptions */

/**
 * @typedef {object} SessionsPage
 * @property {Array<Record<string, unknown>>} sessions authsvc's session objects (`id`,
 *   `current`, `created_at`, `last_used_at`, `expires_at`, `user_agent`, `ip`, …)
 * @property {string | null} nextCursor pass it back as `cursor` for the next page
 */

export class AuthClient extends SessionClient {
  #routes;

  /** @param {AuthClientOptions} [options] */
  constructor(options = {}) {
    super(options);
    this.#routes = new Routes(options);
  }

  /**
   * Create an account; it does not sign in (call `login` next).
   * @param {string} username
   * @param {string} password
   * @param {string | null} [email] authsvc mails it a verification link
   * @returns {Promise<Record<string, unknown>>} the new user
   * @throws {AuthError} 409 taken, 422 refused by the policy, 403 registration closed, 429
   */
  async register(username, password, email = null) {
    const body = email ? { username, password, email } : { username, password };
    const response = await this.#routes.call("POST", "/register", body);
    return response.json();
  }

  /**
   * Ask for a reset link for the accounts with this address. authsvc answers alike whether
   * or not one exists, so this resolves either way.
   * @param {string} email
   * @returns {Promise<void>}
   * @throws {AuthError} 422 not an address, 429 too many requests, 404 mail not configured
   */
  async forgotPassword(email) {
    await this.#routes.call("POST", "/password/forgot", { email });
  }

  /**
   * Set a new password with the token of a reset link (see `takeLinkToken`). Every session
   * of the account ends; sign in with the new password afterwards.
   * @param {string} token
   * @param {string} newPassword
   * @returns {Promise<void>}
   * @throws {AuthError} 400 bad, used or expired link, 422 refused by the policy
   */
  async resetPassword(token, newPassword) {
    await this.#routes.call("POST", "/password/reset", { token, new_password: newPassword });
  }

  /**
   * Confirm an address with the token of a verification or change-of-address link.
   * @param {string} token
   * @returns {Promise<void>}
   * @throws {AuthError} 400 bad, used or expired link
   */
  async verifyEmail(token) {
    await this.#routes.call("POST", "/email/verify", { token });
  }

  /**
   * Mail the signed-in user a new verification link; earlier links stop working.
   * @returns {Promise<void>}
   * @throws {AuthError} 409 no address or verified already, 429 asked too often
   */
  async resendVerification() {
    await this.#authorized("POST", "/email/verify/resend");
  }

  /**
   * Mail `email` a link; the account's address changes once it is opened.
   * @param {string} email
   * @param {string} currentPassword
   * @returns {Promise<void>}
   * @throws {AuthError} 401 wrong password (the session stays), 422 not an address, 429
   */
  async changeEmail(email, currentPassword) {
    await this.#authorized("POST", "/email", { email, current_password: currentPassword });
  }

  /**
   * The user's live sessions, most recently used first, a page at a time.
   * @param {{ limit?: number, cursor?: string | null }} [page]
   * @returns {Promise<SessionsPage>}
   */
  async listSessions({ limit, cursor } = {}) {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set("limit", String(limit));
    if (cursor) query.set("cursor", cursor);
    const suffix = query.toString() ? `?${query}` : "";
    const body = await (await this.#authorized("GET", `/sessions${suffix}`)).json();
    return { sessions: body.sessions, nextCursor: body.next_cursor ?? null };
  }

  /**
   * Sign one session out; ending this tab's own session signs the tab out too.
   * @param {string} sessionId
   * @returns {Promise<void>}
   * @throws {AuthError} 404 no such session of this user
   */
  async endSession(sessionId) {
    await this.#authorized("DELETE", `/sessions/${encodeURIComponent(sessionId)}`);
    if (sessionId === this.state.sessionId) await this.logout();
  }

  /**
   * End every session of the user, on every device, then sign this browser out.
   * @returns {Promise<void>}
   */
  async logoutEverywhere() {
    await this.#authorized("POST", "/logout-all");
    // The session has ended already; this clears its cookie and tells the other tabs.
    await this.logout();
  }

  /**
   * A route of the signed-in user, with the access token. Like `fetch` it refreshes once on
   * a 401, except when the 401 says the password typed was wrong: repeating that would only
   * spend another of the user's attempts.
   * @param {string} method
   * @param {string} path
   * @param {Record<string, unknown>} [body]
   * @returns {Promise<Response>} a 2xx answer
   */
  async #authorized(method, path, body) {
    const url = this.#routes.base + path;
    const init = this.#routes.userRequest(method, body);
    const token = await this.getAccessToken();
    let response = await fetch(url, withBearer(url, init, token));
    if (response.status === 401 && (await detailOf(response)) !== WRONG_PASSWORD) {
      response = await fetch(url, withBearer(url, init, await this.#renewed(token)));
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /**
   * A token other than `stale`: one another caller obtained meanwhile, or a refreshed one
   * (shared with every caller refreshing the same token).
   * @param {string} stale
   * @returns {Promise<string>}
   * @throws {AuthError} 401 when the session has ended
   */
  async #renewed(stale) {
    const current = await this.getAccessToken();
    return current !== stale ? current : this.refresh();
  }
}

/**
 * @param {AuthClientOptions} [options]
 * @returns {AuthClient}
 */
export function createAuthClient(options) {
  return new AuthClient(options);
}
