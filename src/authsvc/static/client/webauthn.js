// @ts-check
/**
 * WebAuthn in its JSON form: authsvc sends a ceremony's options with base64url strings for
 * their binary members and takes the browser's credential back the same way. Browsers with
 * `PublicKeyCredential.parseCreationOptionsFromJSON`, `parseRequestOptionsFromJSON` and
 * `toJSON` convert both ways themselves; for the others it is done here, member by member.
 */

import { AuthError } from "./errors.js";

/**
 * @param {string} text base64url, padded or not
 * @returns {ArrayBuffer}
 */
export function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
}

/**
 * @param {ArrayBuffer} buffer
 * @returns {string} base64url without padding, as WebAuthn's JSON form spells it
 */
export function toBase64url(buffer) {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * @param {{ id: string, type: string, transports?: string[] }} json
 * @returns {PublicKeyCredentialDescriptor}
 */
function descriptor(json) {
  return /** @type {PublicKeyCredentialDescriptor} */ ({ ...json, id: fromBase64url(json.id) });
}

/**
 * `navigator.credentials.create()`'s options from authsvc's JSON.
 * @param {any} json PublicKeyCredentialCreationOptionsJSON
 * @returns {PublicKeyCredentialCreationOptions}
 */
export function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials ?? []).map(descriptor),
  };
}

/**
 * `navigator.credentials.get()`'s options from authsvc's JSON.
 * @param {any} json PublicKeyCredentialRequestOptionsJSON
 * @returns {PublicKeyCredentialRequestOptions}
 */
export function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials ?? []).map(descriptor),
  };
}

/**
 * The browser's answer in the JSON form authsvc takes.
 * @param {PublicKeyCredential} credential
 * @returns {Record<string, unknown>}
 */
export function credentialJson(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const answer = credential.response;
  /** @type {Record<string, unknown>} */
  const response = { clientDataJSON: toBase64url(answer.clientDataJSON) };
  if (answer instanceof AuthenticatorAttestationResponse) {
    response.attestationObject = toBase64url(answer.attestationObject);
    response.transports = answer.getTransports();
  } else if (answer instanceof AuthenticatorAssertionResponse) {
    response.authenticatorData = toBase64url(answer.authenticatorData);
    response.signature = toBase64url(answer.signature);
    response.userHandle = answer.userHandle ? toBase64url(answer.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
    response,
  };
}

/**
 * The browser's authenticator answering authsvc's request options, as the JSON authsvc takes.
 * Rejects with the browser's DOMException when the user cancels or has no passkey here.
 * @param {any} json PublicKeyCredentialRequestOptionsJSON
 * @returns {Promise<Record<string, unknown>>}
 */
export async function assertion(json) {
  const asserted = await navigator.credentials.get({ publicKey: requestOptions(json) });
  if (!(asserted instanceof PublicKeyCredential)) {
    throw new AuthError("The browser gave no passkey", 400);
  }
  return credentialJson(asserted);
}
