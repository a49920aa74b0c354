// @ts-check
/**
 * authsvc browser client: sign in, keep the session alive, call APIs with the access token.
 *
 * A dependency-free ES module. authsvc serves it at `/auth/client.js`; an app may import it
 * from there or copy it into its own sources. The types are JSDoc, checked by TypeScript's
 * `checkJs`.
 *
 * Where the credentials live:
 * - the access token only in this module's memory (never localStorage, sessionStorage or
 *   a readable cookie), so a page reload forgets it;
 * - the refresh token only in authsvc's HttpOnly cookie, which scripts cannot read; the
 *   cookie routes are called with `credentials: "include"`, nothing else is.
 *
 * Tabs of one app share the cookie, so they coordinate:
 * - inside a tab, concurrent callers share one refresh (single flight);
 * - across tabs, every cookie operation (login, refresh, logout) runs under one Web Lock, so
 *   the cookie is rotated by one tab at a time, and the winner shares its new access token
 *   over a BroadcastChannel; a tab that waited for the lock uses that token instead of
 *   refreshing again. Without Web Locks (an insecure context, an old browser) tabs may
 *   refresh together; authsvc's grace window answers the loser without touching the cookie.
 *
 * Besides signing in and out it wraps the account routes (registration, e-mail verification,
 * password reset, change of address, the user's sessions) and reports what happens to the
 * session as events (`subscribe`).
 *
 * @example
 * import { createAuthClient } from "https://auth.example.com/auth/client.js";
 * const auth = createAuthClient({ baseUrl: "https://auth.example.com" });
 * auth.subscribe((event) => render(event));  // signed_in, token_refreshed, signed_out
 * await auth.restore();                      // a reload keeps the user signed in
 * await auth.login("alice", password);
 * const me = await auth.fetch("https://api.example.com/orders");   // Bearer attached
 * await auth.logout();
 */

/**
 * @typedef {"unknown" | "signed-in" | "signed-out"} AuthStatus
 * "unknown" until the first restore, login or refresh has answered.
 */

/**
 * @typedef {object} AuthState
 * @property {AuthStatus} status
 * @property {string | null} username  from the access token, for display only
 * @property {string | null} userId    the token's `sub`
 * @property {string | null} sessionId the token's `sid`
 * @property {number | null} expiresAt when the access token expires, in ms since the epoch
 */

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
 * Why the tab is signed out:
 * - "no_session": it has not been signed in since the page loaded (or the restore is pending);
 * - "logout": this tab or another tab of the app signed out (`logout`, `logoutEverywhere`,
 *   `endSession` of its own session);
 * - "revoked": authsvc ended the session: signed out on another device, all sessions ended,
 *   the password changed or reset, or the account disabled;
 * - "reuse_detected": a superseded refresh token of this session was presented, so a copy of
 *   it exists somewhere else and authsvc ended the session for every holder;
 * - "expired": the refresh cookie ran out (idle or absolute lifetime) or is no longer valid.
 * @typedef {"no_session" | "logout" | "revoked" | "reuse_detected" | "expired"} SignOutReason
 */

/**
 * What happened to the session. A subscriber first gets one event for the current state
 * (`initial: true`), then one per change.
 * @typedef {{ kind: "signed_in" | "token_refreshed", state: AuthState, initial: boolean }
 *   | { kind: "signed_out", reason: SignOutReason, state: AuthState, initial: boolean }} AuthEvent
 */

/**
 * @typedef {object} SessionsPage
 * @property {Array<Record<string, unknown>>} sessions authsvc's session objects (`id`,
 *   `current`, `created_at`, `last_used_at`, `expires_at`, `user_agent`, `ip`, …)
 * @property {string | null} nextCursor pass it back as `cursor` for the next page
 */

/**
 * @typedef {{ type: "token", token: Token }
 *   | { type: "signed-out", sessionId: string, reason: SignOutReason }} Message
 */

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

/** @type {AuthState} */
const UNKNOWN = Object.freeze({
  status: "unknown",
  username: null,
  userId: null,
  sessionId: null,
  expiresAt: null,
});

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
 * The refusal's `detail`: authsvc's text, or for a rejected body (422) each reason.
 * @param {Response} response
 * @returns {Promise<string | null>}
 */
async function detailOf(response) {
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
async function errorFrom(response) {
  const detail = await detailOf(response);
  return new AuthError(detail ?? `authsvc answered ${response.status}`, response.status);
}

// The `detail` texts of authsvc's 401 answers to a refresh (api/errors.py), and what they mean
// for the tab. Any other 401 is taken as an ended session.
/** @type {Record<string, SignOutReason>} */
const REFRESH_REFUSALS = {
  "Session has ended": "revoked",
  "Session ended: refresh token reused": "reuse_detected",
  "Invalid or expired token": "expired",
  "Not authenticated": "expired", // no cookie: the browser dropped it when its Max-Age ran out
};
// A 401 that is about the password the user typed, not about the session.
const WRONG_PASSWORD = "Current password is incorrect";

/**
 * The token of a link authsvc mailed (`…/reset-password#token=…`), taken out of the address
 * bar: the history entry is replaced by one without it, so it is not left in the history
 * for the back button or a later visitor of the device.
 * @returns {string | null} null when the page's address has no token
 */
export function takeLinkToken() {
  const token = new URLSearchParams(globalThis.location.hash.slice(1)).get("token");
  if (token !== null) {
    const { pathname, search } = globalThis.location;
    globalThis.history.replaceState(globalThis.history.state, "", pathname + search);
  }
  return token;
}

export class AuthClient extends EventTarget {
  #base;
  #csrfHeader;
  #refreshBeforeMs;
  #timeoutMs;
  #lockName;
  /** @type {Token | null} */
  #token = null;
  /** @type {AuthState} */
  #state = UNKNOWN;
  /** @type {SignOutReason} */
  #reason = "no_session";
  /** @type {Promise<string | null> | null} */
  #inflight = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer = undefined;
  /** @type {BroadcastChannel | null} */
  #channel = null;
  /**
   * Sessions this tab saw end; a token for one of them arriving late from another tab is
   * ignored rather than signing the user back in.
   * @type {Set<string>}
   */
  #ended = new Set();

  /** @param {AuthClientOptions} [options] */
  constructor(options = {}) {
    super();
    const baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.#base = baseUrl + (options.prefix ?? "/auth");
    this.#csrfHeader = options.csrfHeader ?? "X-Requested-With";
    this.#refreshBeforeMs = (options.refreshBeforeSeconds ?? 30) * 1000;
    this.#timeoutMs = options.timeoutMs ?? 10000;
    this.#lockName = `authsvc:${this.#base}`;
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(this.#lockName);
      this.#channel.onmessage = (event) => this.#receive(event.data);
    }
  }

  /** @returns {AuthState} */
  get state() {
    return this.#state;
  }

  /**
   * Call `listener` with every new state; returns a function that stops it.
   * @param {(state: AuthState) => void} listener
   * @returns {() => void}
   */
  onChange(listener) {
    /** @param {Event} event */
    const handler = (event) => listener(/** @type {CustomEvent<AuthState>} */ (event).detail);
    this.addEventListener("change", handler);
    return () => this.removeEventListener("change", handler);
  }

  /**
   * Call `listener` at once with the current state (one `signed_in` or `signed_out` event,
   * `initial: true`), then with every event; returns a function that stops it.
   * @param {(event: AuthEvent) => void} listener
   * @returns {() => void}
   */
  subscribe(listener) {
    /** @param {Event} event */
    const handler = (event) => listener(/** @type {CustomEvent<AuthEvent>} */ (event).detail);
    const state = this.#state;
    /** @type {AuthEvent} */
    const current =
      state.status === "signed-in"
        ? { kind: "signed_in", state, initial: true }
        : { kind: "signed_out", reason: this.#reason, state, initial: true };
    listener(Object.freeze(current));
    this.addEventListener("auth", handler);
    return () => this.removeEventListener("auth", handler);
  }

  /**
   * Sign in with a username and password; authsvc sets the refresh cookie.
   * @param {string} username
   * @param {string} password
   * @returns {Promise<AuthState>}
   * @throws {AuthError} 401 wrong credentials, 429 too many attempts, 403 origin refused
   */
  async login(username, password) {
    await this.#locked(async () => {
      const response = await this.#callCookieRoute("/login", {
        body: JSON.stringify({ username, password }),
        headers: { "Content-Type": "application/json" },
      });
      if (!response.ok) throw await errorFrom(response);
      this.#adopt(this.#tokenFrom(await response.json()), true);
    });
    return this.#state;
  }

  /**
   * Restore the session after a page load from the refresh cookie, if there is one.
   * @returns {Promise<AuthState>} signed in or signed out; rejects only when authsvc is unreachable
   */
  async restore() {
    await this.#refreshOnce(this.#token?.value ?? null);
    return this.#state;
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
    const response = await fetch(input, this.#withBearer(input, init, token));
    if (response.status !== 401) return response;
    const fresh = await this.#refreshOnce(token);
    if (fresh === null) throw new AuthError("Not signed in", 401);
    return fetch(again, this.#withBearer(again, init, fresh));
  }

  /**
   * End the session at authsvc and forget it in every tab. The tab forgets it even when
   * authsvc cannot be reached; the error then says the cookie may still be valid.
   * @returns {Promise<void>}
   */
  async logout() {
    const sessionId = this.#state.sessionId;
    try {
      await this.#locked(async () => {
        const response = await this.#callCookieRoute("/logout");
        if (!response.ok) throw await errorFrom(response);
      });
    } finally {
      this.#signOut(sessionId, true, "logout");
    }
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
    const response = await this.#call("POST", "/register", body);
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
    await this.#call("POST", "/password/forgot", { email });
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
    await this.#call("POST", "/password/reset", { token, new_password: newPassword });
  }

  /**
   * Confirm an address with the token of a verification or change-of-address link.
   * @param {string} token
   * @returns {Promise<void>}
   * @throws {AuthError} 400 bad, used or expired link
   */
  async verifyEmail(token) {
    await this.#call("POST", "/email/verify", { token });
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
    if (sessionId === this.#state.sessionId) await this.logout();
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

  /** Stop the refresh timer and leave the tab channel (an app tearing the client down). */
  close() {
    clearTimeout(this.#timer);
    this.#channel?.close();
    this.#channel = null;
  }

  /**
   * A route that needs no credentials.
   * @param {string} method
   * @param {string} path
   * @param {Record<string, unknown>} body
   * @returns {Promise<Response>} a 2xx answer
   */
  async #call(method, path, body) {
    const response = await fetch(this.#base + path, {
      method,
      cache: "no-store",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (!response.ok) throw await errorFrom(response);
    return response;
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
    const url = this.#base + path;
    /** @type {RequestInit} */
    const init = { method, cache: "no-store", signal: AbortSignal.timeout(this.#timeoutMs) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    const token = await this.getAccessToken();
    let response = await fetch(url, this.#withBearer(url, init, token));
    if (response.status === 401 && (await detailOf(response)) !== WRONG_PASSWORD) {
      const fresh = await this.#refreshOnce(token);
      if (fresh === null) throw new AuthError("Not signed in", 401);
      response = await fetch(url, this.#withBearer(url, init, fresh));
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /**
   * One refresh for every caller holding `stale` (or no token) at the same time.
   * @param {string | null} stale the token the caller found wanting
   * @returns {Promise<string | null>} a token other than `stale`, or null when signed out
   */
  #refreshOnce(stale) {
    const newer = this.#newerThan(stale);
    if (newer !== null) return Promise.resolve(newer); // refreshed since the caller looked
    this.#inflight ??= this.#locked(() => this.#refreshLocked(stale)).finally(() => {
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
    const response = await this.#callCookieRoute("/refresh");
    if (response.status === 401) {
      // No cookie, or its session ended: every tab shares the cookie, so tell them.
      const sessionId = this.#token?.sessionId ?? null;
      const reason = REFRESH_REFUSALS[(await detailOf(response)) ?? ""] ?? "revoked";
      this.#signOut(sessionId, true, reason);
      return null;
    }
    if (!response.ok) throw await errorFrom(response);
    const token = this.#tokenFrom(await response.json());
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
   * Run `task` while holding the tabs' shared lock, where the browser has Web Locks.
   * @template T
   * @param {() => Promise<T>} task
   * @returns {Promise<T>}
   */
  #locked(task) {
    const locks = globalThis.navigator?.locks;
    if (!locks) return task();
    // request() resolves with what the task resolves with; its typing nests the promise.
    return /** @type {Promise<T>} */ (/** @type {unknown} */ (locks.request(this.#lockName, task)));
  }

  /**
   * @param {string} path
   * @param {{ body?: string, headers?: Record<string, string> }} [extra]
   * @returns {Promise<Response>}
   */
  #callCookieRoute(path, extra = {}) {
    return fetch(this.#base + path, {
      method: "POST",
      credentials: "include",
      cache: "no-store",
      body: extra.body,
      headers: { [this.#csrfHeader]: "XMLHttpRequest", ...extra.headers },
      // Bounded, so a hung call cannot hold the tabs' lock for ever.
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
  }

  /**
   * @param {RequestInfo | URL} input
   * @param {RequestInit} init
   * @param {string} token
   * @returns {RequestInit}
   */
  #withBearer(input, init, token) {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : {}));
    headers.set("Authorization", `Bearer ${token}`);
    return { ...init, headers };
  }

  /**
   * @param {{ access_token: string, expires_in: number }} body authsvc's token answer
   * @returns {Token}
   */
  #tokenFrom(body) {
    const claims = readClaims(body.access_token);
    // expires_in against the local clock, so a skewed clock does not matter.
    const lifetimeMs = body.expires_in * 1000;
    const expiresAt = Date.now() + lifetimeMs;
    const lead = Math.min(this.#refreshBeforeMs, lifetimeMs / 3);
    return {
      value: body.access_token,
      username: stringOrNull(claims.username),
      userId: stringOrNull(claims.sub),
      sessionId: stringOrNull(claims.sid),
      expiresAt,
      refreshAt: expiresAt - lead,
    };
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
    const before = this.#state;
    this.#token = token;
    this.#schedule(token);
    this.#setState({
      status: "signed-in",
      username: token.username,
      userId: token.userId,
      sessionId: token.sessionId,
      expiresAt: token.expiresAt,
    });
    const same = before.status === "signed-in" && before.sessionId === token.sessionId;
    this.#emit({ kind: same ? "token_refreshed" : "signed_in", state: this.#state, initial: false });
    if (share) this.#post({ type: "token", token });
    return true;
  }

  /**
   * @param {string | null} sessionId the session that ended, if this tab knew it
   * @param {boolean} share tell the other tabs
   * @param {SignOutReason} reason
   */
  #signOut(sessionId, share, reason) {
    if (sessionId !== null) this.#ended.add(sessionId);
    const wasSignedIn = this.#state.status === "signed-in";
    this.#token = null;
    clearTimeout(this.#timer);
    this.#setState({ ...UNKNOWN, status: "signed-out" });
    // A restore that found no session changes nothing a subscriber was told: it was out.
    if (wasSignedIn) {
      this.#reason = reason;
      this.#emit({ kind: "signed_out", reason, state: this.#state, initial: false });
    }
    if (share && sessionId !== null) this.#post({ type: "signed-out", sessionId, reason });
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

  /** @param {Message} message */
  #post(message) {
    this.#channel?.postMessage(message);
  }

  /** @param {unknown} data */
  #receive(data) {
    const message = /** @type {Message} */ (data);
    if (message?.type === "token") {
      this.#adopt(message.token, false);
    } else if (message?.type === "signed-out" && message.sessionId === this.#state.sessionId) {
      this.#signOut(message.sessionId, false, message.reason ?? "logout");
    }
  }

  /** @param {AuthState} state */
  #setState(state) {
    this.#state = Object.freeze(state);
    this.dispatchEvent(new CustomEvent("change", { detail: this.#state }));
  }

  /** @param {AuthEvent} event */
  #emit(event) {
    this.dispatchEvent(new CustomEvent("auth", { detail: Object.freeze(event) }));
  }
}

/**
 * @param {AuthClientOptions} [options]
 * @returns {AuthClient}
 */
export function createAuthClient(options) {
  return new AuthClient(options);
}
