// @ts-check
/**
 * The session core: sign in and out, keep the access token fresh, call APIs with it, and keep
 * the tabs of one app in step. The account routes are added by account.js.
 *
 * Inside a tab, concurrent callers share one refresh (single flight). Across tabs, every
 * cookie operation runs under one Web Lock and the winner shares its token (tabs.js); a tab
 * that waited for the lock uses that token instead of refreshing again.
 */

import { challengeFrom } from "./challenge.js";
import { AuthError, REFRESH_REFUSALS, errorFrom, detailOf } from "./errors.js";
import { SessionEvents } from "./events.js";
import { Routes, withBearer } from "./routes.js";
import { Tabs } from "./tabs.js";
import { tokenFrom } from "./tokens.js";

/** @typedef {import("./events.js").AuthState} AuthState */
/** @typedef {import("./events.js").AuthEvent} AuthEvent */
/** @typedef {import("./events.js").SignOutReason} SignOutReason */
/** @typedef {import("./tabs.js").Message} Message */
/** @typedef {import("./tokens.js").Token} Token */
/** @typedef {import("./challenge.js").MfaChallenge} MfaChallenge */

// The session core's way in for the parts that add ways of signing in (challenge.js,
// passkeys.js); not re-exported by the entry.
export const SIGN_IN = Symbol("authsvc.signIn");

/**
 * @typedef {object} AuthClientOptions
 * @property {string} [baseUrl] authsvc's origin, e.g. "https://auth.example.com";
 *   "" (the default) for the page's own origin
 * @property {string} [prefix] the routes' prefix, "/auth" by default
 * @property {string} [csrfHeader] the header the cookie routes require (authsvc's
 *   `CSRF_HEADER`), "X-Requested-With" by default
 * @property {number} [refreshBeforeSeconds] refresh this long before the access token
 *   expires, 30 by default; never more than a third of the token's lifetime
 * @property {number} [timeoutMs] give up on a call to authsvc after this long, 10000 by default
 */

export class SessionClient extends EventTarget {
  #routes;
  #refreshBeforeMs;
  #events;
  #tabs;
  /** @type {Token | null} */
  #token = null;
  /** @type {Promise<string | null> | null} */
  #inflight = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer = undefined;
  /**
   * Sessions this tab saw end; a token for one of them arriving late from another tab is
   * ignored rather than signing the user back in.
   * @type {Set<string>}
   */
  #ended = new Set();

  /** @param {AuthClientOptions} [options] */
  constructor(options = {}) {
    super();
    this.#routes = new Routes(options);
    this.#refreshBeforeMs = (options.refreshBeforeSeconds ?? 30) * 1000;
    this.#events = new SessionEvents(this);
    this.#tabs = new Tabs(`authsvc:${this.#routes.base}`, (data) => this.#receive(data));
  }

  /** @returns {AuthState} */
  get state() {
    return this.#events.state;
  }

  /**
   * Call `listener` with every new state; returns a function that stops it.
   * @param {(state: AuthState) => void} listener
   * @returns {() => void}
   */
  onChange(listener) {
    return this.#events.onChange(listener);
  }

  /**
   * Call `listener` at once with the current state (one `signed_in` or `signed_out` event,
   * `initial: true`), then with every event; returns a function that stops it.
   * @param {(event: AuthEvent) => void} listener
   * @returns {() => void}
   */
  subscribe(listener) {
    return this.#events.subscribe(listener);
  }

  /**
   * Sign in with a username and password; authsvc sets the refresh cookie. For an account
   * with a second factor it resolves to a challenge instead (`status: "mfa-required"`,
   * see challenge.js) and the tab stays signed out until `challenge.complete` succeeds.
   * @param {string} username
   * @param {string} password
   * @returns {Promise<AuthState | MfaChallenge>}
   * @throws {AuthError} 401 wrong credentials, 429 too many attempts, 403 origin refused
   */
  login(username, password) {
    return this[SIGN_IN]("/login", { username, password });
  }

  /**
   * Post `body` to a cookie route that opens a session (the login, its second step, a
   * passkey's answer) and adopt the token it answers, or the second step it asks for.
   * @param {string} path
   * @param {Record<string, unknown>} body
   * @returns {Promise<AuthState | MfaChallenge>}
   */
  async [SIGN_IN](path, body) {
    const answer = await this.#tabs.locked(async () => {
      const response = await this.#routes.cookieRoute(path, {
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json" },
      });
      if (!response.ok) throw await errorFrom(response);
      const json = await response.json();
      if (json.mfa_required === true) return json; // no token and no cookie yet
      this.#adopt(tokenFrom(json, this.#refreshBeforeMs), true);
      return null;
    });
    if (answer === null) return this.#events.state;
    return challengeFrom(
      answer,
      (next, nextBody) => this[SIGN_IN](next, nextBody),
      async (path, callBody) => (await this.#routes.call("POST", path, callBody)).json(),
    );
  }

  /**
   * Restore the session after a page load from the refresh cookie, if there is one.
   * @returns {Promise<AuthState>} signed in or signed out; rejects only when authsvc is unreachable
   */
  async restore() {
    await this.#refreshOnce(this.#token?.value ?? null);
    return this.#events.state;
  }

  /**
   * A fresh access token now, whatever the current one's expiry.
   * @returns {Promise<string>}
   * @throws {AuthError} 401 when there is no session to refresh
   */
  async refresh() {
    const token = await this.#refreshOnce(this.#token?.value ?? null);
    if (token === null) throw new AuthError("Not signed in", 401);
    return token;
  }

  /**
   * The current access token, refreshed first if it is about to expire. Prefer `fetch`; this
   * is for transports it does not cover (a WebSocket's first message, say).
   * @returns {Promise<string>}
   * @throws {AuthError} 401 when there is no session
   */
  async getAccessToken() {
    const token = this.#token;
    if (token !== null && Date.now() < token.refreshAt) return token.value;
    const fresh = await this.#refreshOnce(token?.value ?? null);
    if (fresh === null) throw new AuthError("Not signed in", 401);
    return fresh;
  }

  /**
   * `fetch` with `Authorization: Bearer …`. On a 401 it refreshes once (shared with every
   * other caller that got a 401 for the same token) and repeats the request. Use it only for
   * APIs that should receive the token. A request whose body is a stream cannot be repeated.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>} whatever the API answered, 401 included if it still refuses
   * @throws {AuthError} 401 when there is no session (the state turns "signed-out")
   */
  async fetch(input, init = {}) {
    const again = input instanceof Request ? input.clone() : input;
    const token = await this.getAccessToken();
    const response = await fetch(input, withBearer(input, init, token));
    if (response.status !== 401) return response;
    const fresh = await this.#refreshOnce(token);
    if (fresh === null) throw new AuthError("Not signed in", 401);
    return fetch(again, withBearer(again, init, fresh));
  }

  /**
   * End the session at authsvc and forget it in every tab. The tab forgets it even when
   * authsvc cannot be reached; the error then says the cookie may still be valid.
   * @returns {Promise<void>}
   */
  async logout() {
    const sessionId = this.#events.state.sessionId;
    try {
      await this.#tabs.locked(async () => {
        const response = await this.#routes.cookieRoute("/logout");
        if (!response.ok) throw await errorFrom(response);
      });
    } finally {
      this.#signOut(sessionId, true, "logout");
    }
  }

  /** Stop the refresh timer and leave the tab channel (an app tearing the client down). */
  close() {
    clearTimeout(this.#timer);
    this.#tabs.close();
  }

  /**
   * One refresh for every caller holding `stale` (or no token) at the same time.
   * @param {string | null} stale the token the caller found wanting
   * @returns {Promise<string | null>} a token other than `stale`, or null when signed out
   */
  #refreshOnce(stale) {
    const newer = this.#newerThan(stale);
    if (newer !== null) return Promise.resolve(newer); // refreshed since the caller looked
    this.#inflight ??= this.#tabs.locked(() => this.#refreshLocked(stale)).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  /**
   * @param {string | null} stale
   * @returns {Promise<string | null>}
   */
  async #refreshLocked(stale) {
    // While this tab waited for the lock, another tab may have refreshed and shared the token.
    const newer = this.#newerThan(stale);
    if (newer !== null) return newer;
    const response = await this.#routes.cookieRoute("/refresh");
    if (response.status === 401) {
      // No cookie, or its session ended: every tab shares the cookie, so tell them.
      const sessionId = this.#token?.sessionId ?? null;
      const reason = REFRESH_REFUSALS[(await detailOf(response)) ?? ""] ?? "revoked";
      this.#signOut(sessionId, true, reason);
      return null;
    }
    if (!response.ok) throw await errorFrom(response);
    const token = tokenFrom(await response.json(), this.#refreshBeforeMs);
    return this.#adopt(token, true) ? token.value : null;
  }

  /**
   * The current token if it is not `stale` and not about to expire.
   * @param {string | null} stale
   * @returns {string | null}
   */
  #newerThan(stale) {
    const current = this.#token;
    const usable = current !== null && current.value !== stale && Date.now() < current.refreshAt;
    return usable ? current.value : null;
  }

  /**
   * @param {Token} token
   * @param {boolean} share tell the other tabs
   * @returns {boolean} whether the token is now this tab's
   */
  #adopt(token, share) {
    // A session this tab signed out of stays out, even if authsvc was not told in time.
    if (token.sessionId !== null && this.#ended.has(token.sessionId)) return false;
    if (!share && this.#token !== null && this.#token.expiresAt >= token.expiresAt) return false;
    this.#token = token;
    this.#schedule(token);
    this.#events.signedIn(token);
    if (share) this.#tabs.post({ type: "token", token });
    return true;
  }

  /**
   * @param {string | null} sessionId the session that ended, if this tab knew it
   * @param {boolean} share tell the other tabs
   * @param {SignOutReason} reason
   */
  #signOut(sessionId, share, reason) {
    if (sessionId !== null) this.#ended.add(sessionId);
    this.#token = null;
    clearTimeout(this.#timer);
    this.#events.signedOut(reason);
    if (share && sessionId !== null) this.#tabs.post({ type: "signed-out", sessionId, reason });
  }

  /** @param {Token} token */
  #schedule(token) {
    clearTimeout(this.#timer);
    // Tabs sharing one token would all wake at once; a little jitter lets the first one's
    // new token reach the others before their own timers fire.
    const jitter = Math.random() * ((token.expiresAt - token.refreshAt) / 4);
    const delay = Math.max(0, token.refreshAt - jitter - Date.now());
    this.#timer = setTimeout(() => {
      // A failure here is retried by the next call, which finds the token expiring.
      this.#refreshOnce(token.value).catch(() => {});
    }, delay);
  }

  /** @param {unknown} data */
  #receive(data) {
    const message = /** @type {Message} */ (data);
    if (message?.type === "token") {
      this.#adopt(message.token, false);
    } else if (message?.type === "signed-out") {
      if (message.sessionId !== this.#events.state.sessionId) return;
      this.#signOut(message.sessionId, false, message.reason ?? "logout");
    }
  }
}
