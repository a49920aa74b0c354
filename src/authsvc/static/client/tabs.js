// @ts-check
/**
 * The tabs of one app share the refresh cookie, so they coordinate: one Web Lock serialises
 * every cookie operation, and a BroadcastChannel shares new tokens and sign-outs.
 */

/** @typedef {import("./tokens.js").Token} Token */
/** @typedef {import("./events.js").SignOutReason} SignOutReason */

/**
 * @typedef {{ type: "token", token: Token }
 *   | { type: "signed-out", sessionId: string, reason: SignOutReason }} Message
 */

export class Tabs {
  #name;
  /** @type {BroadcastChannel | null} */
  #channel = null;

  /**
   * @param {string} name the lock's and the channel's name, one per authsvc
   * @param {(data: unknown) => void} receive called with each message from another tab
   */
  constructor(name, receive) {
    this.#name = name;
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(name);
      this.#channel.onmessage = (event) => receive(event.data);
    }
  }

  /**
   * Run `task` while holding the tabs' shared lock, where the browser has Web Locks.
   * @template T
   * @param {() => Promise<T>} task
   * @returns {Promise<T>}
   */
  locked(task) {
    const locks = globalThis.navigator?.locks;
    if (!locks) return task();
    // request() resolves with what the task resolves with; its typing nests the promise.
    return /** @type {Promise<T>} */ (/** @type {unknown} */ (locks.request(this.#name, task)));
  }

  /** @param {Message} message */
  post(message) {
    this.#channel?.postMessage(message);
  }

  close() {
    this.#channel?.close();
    this.#channel = null;
  }
}
