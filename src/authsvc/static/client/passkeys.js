// @ts-check
/**
 * PasskeyClient: the TOTP client (totp.js) plus passkeys: register one with the browser's
 * authenticator, list, rename and remove them, and sign in with one (no username).
 *
 * Each ceremony is two calls to authsvc around the browser's: options, then
 * `navigator.credentials.create()` or `.get()`, then the answer. The browser's own refusals
 * (the user cancelled, no passkey for this site) reject with its DOMException, usually a
 * "NotAllowedError"; authsvc's with an AuthError.
 */

import { signedIn } from "./challenge.js";
import { AuthError } from "./errors.js";
import { Routes } from "./routes.js";
import { SIGN_IN } from "./session.js";
import { TotpClient } from "./totp.js";
import { assertion, creationOptions, credentialJson } from "./webauthn.js";

/** @typedef {import("./session.js").AuthClientOptions} AuthClientOptions */
/** @typedef {import("./events.js").AuthState} AuthState */

/**
 * @typedef {object} Passkey
 * @property {string} id
 * @property {string} name
 * @property {string} createdAt ISO 8601
 * @property {string | null} lastUsedAt ISO 8601; null until it signs in
 * @property {boolean} backedUp synced by a passkey provider across devices
 * @property {ReadonlyArray<string>} transports how the browser reaches the authenticator
 */

/**
 * @param {Record<string, any>} body authsvc's passkey object
 * @returns {Passkey}
 */
function passkeyFrom(body) {
  return {
    id: body.id,
    name: body.name,
    createdAt: body.created_at,
    lastUsedAt: body.last_used_at ?? null,
    backedUp: body.backed_up,
    transports: Object.freeze([...body.transports]),
  };
}

/**
 * @param {Credential | null} credential
 * @returns {PublicKeyCredential}
 */
function publicKeyCredential(credential) {
  if (credential instanceof PublicKeyCredential) return credential;
  throw new AuthError("The browser gave no passkey", 400);
}

export class PasskeyClient extends TotpClient {
  #routes;

  /** @param {AuthClientOptions} [options] */
  constructor(options = {}) {
    super(options);
    this.#routes = new Routes(options);
  }

  /**
   * Create a passkey with the browser's authenticator and keep it on the account.
   * @param {string} [name] how lists show it; authsvc names it when absent
   * @returns {Promise<Passkey>}
   * @throws {AuthError} 400 refused answer, 409 registered already, 404 passkeys off
   */
  async registerPasskey(name) {
    const start = await (await this.#authorized("POST", "/passkeys/register/options")).json();
    const created = await navigator.credentials.create({
      publicKey: creationOptions(start.publicKey),
    });
    /** @type {Record<string, unknown>} */
    const body = {
      challenge_id: start.challenge_id,
      credential: credentialJson(publicKeyCredential(created)),
    };
    if (name) body.name = name;
    const response = await this.#authorized("POST", "/passkeys/register/verify", body);
    return passkeyFrom(await response.json());
  }

  /**
   * The user's passkeys, oldest first.
   * @returns {Promise<Passkey[]>}
   */
  async listPasskeys() {
    const body = await (await this.#authorized("GET", "/passkeys")).json();
    return body.passkeys.map(passkeyFrom);
  }

  /**
   * @param {string} id
   * @param {string} name 1 to 64 characters, no control characters
   * @returns {Promise<Passkey>}
   * @throws {AuthError} 404 no such passkey of this user, 422 refused name
   */
  async renamePasskey(id, name) {
    const response = await this.#authorized("PATCH", this.#path(id), { name });
    return passkeyFrom(await response.json());
  }

  /**
   * Remove a passkey. The account's last second factor goes only with the current password.
   * @param {string} id
   * @param {{ currentPassword?: string }} [proof]
   * @returns {Promise<void>}
   * @throws {AuthError} 403 the current password is needed, 401 wrong password, 404
   */
  async deletePasskey(id, { currentPassword } = {}) {
    const body = currentPassword ? { current_password: currentPassword } : undefined;
    await this.#authorized("DELETE", this.#path(id), body);
  }

  /**
   * Sign in with a passkey of this site, which the user picks: no username. A passkey is
   * two factors on its own (the token's `amr` is `["hwk", "mfa"]`).
   * @returns {Promise<AuthState>}
   * @throws {AuthError} 401 "Passkey not accepted", 403 account disabled, 429, 404 passkeys off
   */
  async signInWithPasskey() {
    const start = await (await this.#routes.call("POST", "/passkeys/login/options", {})).json();
    const credential = await assertion(start.publicKey);
    const body = { challenge_id: start.challenge_id, credential };
    return signedIn(await this[SIGN_IN]("/passkeys/login/verify", body));
  }

  /**
   * @param {string} id
   * @returns {string}
   */
  #path(id) {
    return `/passkeys/${encodeURIComponent(id)}`;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {Record<string, unknown>} [body]
   * @returns {Promise<Response>}
   */
  #authorized(method, path, body) {
    return this.#routes.authorized(this, method, path, body);
  }
}
