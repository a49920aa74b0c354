// @ts-check
/** Mailed links: the token authsvc put in a link's URL fragment. */

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
