// @ts-check
/**
 * The session's state as the page sees it, and the events that report each change of it.
 *
 * The events are dispatched on the client itself (an EventTarget): `change` with the new
 * state, `auth` with an AuthEvent.
 */

/** @typedef {import("./tokens.js").Token} Token */

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

/** @type {AuthState} */
const UNKNOWN = Object.freeze({
  status: "unknown",
  username: null,
  userId: null,
  sessionId: null,
  expiresAt: null,
});

export class SessionEvents {
  #target;
  /** @type {AuthState} */
  #state = UNKNOWN;
  /** @type {SignOutReason} */
  #reason = "no_session";

  /** @param {EventTarget} target where the events are dispatched: the client */
  constructor(target) {
    this.#target = target;
  }

  /** @returns {AuthState} */
  get state() {
    return this.#state;
  }

  /**
   * @param {(state: AuthState) => void} listener
   * @returns {() => void}
   */
  onChange(listener) {
    /** @param {Event} event */
    const handler = (event) => listener(/** @type {CustomEvent<AuthState>} */ (event).detail);
    this.#target.addEventListener("change", handler);
    return () => this.#target.removeEventListener("change", handler);
  }

  /**
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
    this.#target.addEventListener("auth", handler);
    return () => this.#target.removeEventListener("auth", handler);
  }

  /**
   * The tab now holds `token`: a new session, or a new token for the same one.
   * @param {Token} token
   */
  signedIn(token) {
    const before = this.#state;
    this.#setState({
      status: "signed-in",
      username: token.username,
      userId: token.userId,
      sessionId: token.sessionId,
      expiresAt: token.expiresAt,
    });
    const same = before.status === "signed-in" && before.sessionId === token.sessionId;
    const kind = same ? "token_refreshed" : "signed_in";
    this.#emit({ kind, state: this.#state, initial: false });
  }

  /** @param {SignOutReason} reason */
  signedOut(reason) {
    const wasSignedIn = this.#state.status === "signed-in";
    this.#setState({ ...UNKNOWN, status: "signed-out" });
    // A restore that found no session changes nothing a subscriber was told: it was out.
    if (wasSignedIn) {
      this.#reason = reason;
      this.#emit({ kind: "signed_out", reason, state: this.#state, initial: false });
    }
  }

  /** @param {AuthState} state */
  #setState(state) {
    this.#state = Object.freeze(state);
    this.#target.dispatchEvent(new CustomEvent("change", { detail: this.#state }));
  }

  /** @param {AuthEvent} event */
  #emit(event) {
    this.#target.dispatchEvent(new CustomEvent("auth", { detail: Object.freeze(event) }));
  }
}
