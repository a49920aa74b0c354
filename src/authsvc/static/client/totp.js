// @ts-check
/**
 * TotpClient: the account client (account.js) plus the second factors' status and the
 * enrolment of an authenticator app (TOTP): set up, confirm with a first code, remove.
 */

import { AccountClient } from "./account.js";
import { Routes } from "./routes.js";

/** @typedef {import("./session.js").AuthClientOptions} AuthClientOptions */

const SVG_NAMESPACE = "http://www.w3.org/2000/svg";

/**
 * @typedef {object} MfaStatus
 * @property {boolean} totpEnabled
 * @property {boolean} totpPending set up but not confirmed with a first code yet
 * @property {number} recoveryCodesLeft
 * @property {ReadonlyArray<string>} methods what the second login step offers the account
 */

/**
 * @typedef {object} TotpSetup
 * @property {string} secret base32, for typing into an authenticator app
 * @property {string} uri the `otpauth://` URI the QR code holds
 * @property {string} qrSvg the QR code, an SVG document made by authsvc; show it as an image
 *   (`<img src="data:image/svg+xml;base64,…">`, see `svgDataUrl`), never as markup
 */

/**
 * How `disableTotp` proves it is the user: a code from the app or a recovery code (only while
 * another second factor remains), or the current password.
 * @typedef {{ code: string } | { currentPassword: string }} TotpProof
 */

export class TotpClient extends AccountClient {
  #routes;

  /** @param {AuthClientOptions} [options] */
  constructor(options = {}) {
    super(options);
    this.#routes = new Routes(options);
  }

  /**
   * The signed-in user's second factors.
   * @returns {Promise<MfaStatus>}
   */
  async mfaStatus() {
    const body = await (await this.#routes.authorized(this, "GET", "/mfa")).json();
    return {
      totpEnabled: body.totp_enabled,
      totpPending: body.totp_pending,
      recoveryCodesLeft: body.recovery_codes_left,
      methods: Object.freeze([...body.methods]),
    };
  }

  /**
   * A new secret for an authenticator app, replacing an unconfirmed one; TOTP is on once
   * `confirmTotp` gets a code from the app.
   * @param {string} [currentPassword] needed unless this session signed in within five minutes
   * @returns {Promise<TotpSetup>}
   * @throws {AuthError} 403 the current password is required, 401 wrong password, 409 TOTP
   *   is on already, 404 TOTP is not configured, 429
   */
  async setupTotp(currentPassword) {
    const body = currentPassword ? { current_password: currentPassword } : undefined;
    const path = "/mfa/totp/setup";
    const answer = await (await this.#routes.authorized(this, "POST", path, body)).json();
    return { secret: answer.secret, uri: answer.otpauth_uri, qrSvg: answer.qr_svg };
  }

  /**
   * Turn TOTP on with a first code from the app.
   * @param {string} code
   * @returns {Promise<string[]>} ten recovery codes, each good for one login: show them once
   * @throws {AuthError} 401 wrong code, 409 nothing to confirm, 429 too many codes
   */
  async confirmTotp(code) {
    const path = "/mfa/totp/confirm";
    const answer = await (await this.#routes.authorized(this, "POST", path, { code })).json();
    return answer.recovery_codes;
  }

  /**
   * Turn TOTP off and drop its recovery codes.
   * @param {TotpProof} proof
   * @returns {Promise<void>}
   * @throws {AuthError} 401 wrong password or code, 403 the password is required, 404 not on
   */
  async disableTotp(proof) {
    const body =
      "code" in proof ? { code: proof.code } : { current_password: proof.currentPassword };
    await this.#routes.authorized(this, "DELETE", "/mfa/totp", body);
  }
}

/**
 * A `data:` URL showing an SVG document as an image: scripts and links in it stay inert,
 * which markup inserted into the page would not guarantee.
 * @param {string} svg
 * @returns {string}
 */
export function svgDataUrl(svg) {
  // authsvc's SVG carries the namespace a standalone image needs; an SVG from elsewhere may not.
  const document = /^\s*<svg\b(?![^>]*\sxmlns=)/.test(svg)
    ? svg.replace(/<svg\b/, `<svg xmlns="${SVG_NAMESPACE}"`)
    : svg;
  const bytes = new TextEncoder().encode(document);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}
