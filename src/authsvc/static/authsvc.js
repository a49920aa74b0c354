// @ts-check
/**
 * authsvc browser client: sign in, keep the session alive, call APIs with the access token.
 *
 * A dependency-free ES module. authsvc serves it at `/auth/client.js` and its parts, which it
 * imports by relative paths, under `/auth/client/`; an app may import it from there or copy
 * this file with the `client/` folder beside it into its own sources. The types are JSDoc,
 * checked by TypeScript's `checkJs`.
 *
 * The parts, one concern each:
 * - client/session.js: the session core (login, restore, refresh, fetch, logout);
 * - client/account.js: the core plus the account routes;
 * - client/totp.js: plus the second factors' status and TOTP enrolment;
 * - client/passkeys.js: plus passkeys (client/webauthn.js: their options and answers in JSON);
 * - client/auth.js: AuthClient, every part together;
 * - client/challenge.js: the second login step `login` may resolve to;
 * - client/events.js: the session's state and the events reporting its changes;
 * - client/tabs.js: the Web Lock and BroadcastChannel the tabs of one app share;
 * - client/routes.js: how authsvc's routes are called; client/tokens.js: the access token;
 * - client/errors.js: AuthError and authsvc's refusals; client/links.js: mailed-link tokens.
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
 * password reset, change of address, the user's sessions), the second login step, TOTP
 * enrolment and passkeys, and reports what happens to the session as events (`subscribe`).
 *
 * @example
 * import { createAuthClient, isMfaChallenge } from "https://auth.example.com/auth/client.js";
 * const auth = createAuthClient({ baseUrl: "https://auth.example.com" });
 * auth.subscribe((event) => render(event));  // signed_in, token_refreshed, signed_out
 * await auth.restore();                      // a reload keeps the user signed in
 * const signedIn = await auth.login("alice", password);
 * if (isMfaChallenge(signedIn)) await signedIn.complete("totp", codeFromTheUser);
 * const me = await auth.fetch("https://api.example.com/orders");   // Bearer attached
 * await auth.logout();
 */

export { AuthClient, createAuthClient } from "./client/auth.js";
export { isMfaChallenge } from "./client/challenge.js";
export { AuthError } from "./client/errors.js";
export { takeLinkToken } from "./client/links.js";
export { svgDataUrl } from "./client/totp.js";

// The types an app may name, where they have always been importable from.
/** @typedef {import("./client/events.js").AuthStatus} AuthStatus */
/** @typedef {import("./client/events.js").AuthState} AuthState */
/** @typedef {import("./client/events.js").SignOutReason} SignOutReason */
/** @typedef {import("./client/events.js").AuthEvent} AuthEvent */
/** @typedef {import("./client/session.js").AuthClientOptions} AuthClientOptions */
/** @typedef {import("./client/account.js").SessionsPage} SessionsPage */
/** @typedef {import("./client/challenge.js").MfaChallenge} MfaChallenge */
/** @typedef {import("./client/totp.js").MfaStatus} MfaStatus */
/** @typedef {import("./client/totp.js").TotpSetup} TotpSetup */
/** @typedef {import("./client/totp.js").TotpProof} TotpProof */
/** @typedef {import("./client/passkeys.js").Passkey} Passkey */
/** @typedef {import("./client/tokens.js").Token} Token */
/** @typedef {import("./client/tabs.js").Message} Message */
