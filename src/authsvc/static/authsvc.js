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
 * @example
 * import { createAuthClient } from "https://auth.example.com/auth/client.js";
 * const auth = createAuthClient({ baseUrl: "https://auth.example.com" });
 * auth.onChange((state) => render(state));
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
 * @typedef {{ type: "token", token: Token } | { type: "signed-out", sessionId: string }} Message
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
 * @param {Response} response
 * @returns {Promise<AuthError>}
 */
async function errorFrom(response) {
  let detail = `authsvc answered ${response.status}`;
  try {
    const body = await response.json();
    if (typeof body?.detail === "string") detail = body.detail;
  } catch {
    // not JSON: keep the status line
  }
  return new AuthError(detail, response.status);
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
      this.#signOut(sessionId, true);
    }
  }

  /** Stop the refresh timer and leave the tab channel (an app tearing the client down). */
  close() {
    clearTimeout(this.#timer);
    this.#channel?.close();
    this.#channel = null;
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
      this.#signOut(sessionId, true);
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
    this.#token = token;
    this.#schedule(token);
    this.#setState({
      status: "signed-in",
      username: token.username,
      userId: token.userId,
      sessionId: token.sessionId,
      expiresAt: token.expiresAt,
    });
    if (share) this.#post({ type: "token", token });
    return true;
  }

  /**
   * @param {string | null} sessionId the session that ended, if this tab knew it
   * @param {boolean} share tell the other tabs
   */
  #signOut(sessionId, share) {
    if (sessionId !== null) this.#ended.add(sessionId);
    this.#token = null;
    clearTimeout(this.#timer);
    this.#setState({ ...UNKNOWN, status: "signed-out" });
    if (share && sessionId !== null) this.#post({ type: "signed-out", sessionId });
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
      this.#signOut(message.sessionId, false);
    }
  }

  /** @param {AuthState} state */
  #setState(state) {
    this.#state = Object.freeze(state);
    this.dispatchEvent(new CustomEvent("change", { detail: this.#state }));
  }
}

/**
 * @param {AuthClientOptions} [options]
 * @returns {AuthClient}
 */
export function createAuthClient(options) {
  return new AuthClient(options);
}
