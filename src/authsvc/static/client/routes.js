// @ts-check
/**
 * How the client reaches authsvc's routes: where they are, which calls carry the cookie, how
 * long a call may take, and the Bearer header for the calls that carry the access token.
 */

import { errorFrom } from "./errors.js";

/** @typedef {import("./session.js").AuthClientOptions} AuthClientOptions */

export class Routes {
  #base;
  #csrfHeader;
  #timeoutMs;

  /** @param {AuthClientOptions} options */
  constructor(options) {
    const baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.#base = baseUrl + (options.prefix ?? "/auth");
    this.#csrfHeader = options.csrfHeader ?? "X-Requested-With";
    this.#timeoutMs = options.timeoutMs ?? 10000;
  }

  /** @returns {string} authsvc's origin and prefix, e.g. "https://auth.example.com/auth" */
  get base() {
    return this.#base;
  }

  /**
   * A cookie route (login, refresh, logout): the only calls that send credentials.
   * @param {string} path
   * @param {{ body?: string, headers?: Record<string, string> }} [extra]
   * @returns {Promise<Response>}
   */
  cookieRoute(path, extra = {}) {
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
   * A route that needs no credentials.
   * @param {string} method
   * @param {string} path
   * @param {Record<string, unknown>} body
   * @returns {Promise<Response>} a 2xx answer
   * @throws {AuthError} authsvc's refusal
   */
  async call(method, path, body) {
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
   * The request of a route of the signed-in user, still without its Bearer header. One
   * timeout covers the request and its repetition after a refresh.
   * @param {string} method
   * @param {Record<string, unknown>} [body]
   * @returns {RequestInit}
   */
  userRequest(method, body) {
    /** @type {RequestInit} */
    const init = { method, cache: "no-store", signal: AbortSignal.timeout(this.#timeoutMs) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    return init;
  }
}

/**
 * @param {RequestInfo | URL} input
 * @param {RequestInit} init
 * @param {string} token
 * @returns {RequestInit}
 */
export function withBearer(input, init, token) {
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : {}));
  headers.set("Authorization", `Bearer ${token}`);
  return { ...init, headers };
}
