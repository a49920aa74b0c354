// The demo's page logic: everything it knows about tokens goes through authsvc's client.
import { AUTHSVC_URL, DEMO_ACCOUNT } from "./config.js";

// The client as authsvc serves it; an app could as well ship its own copy.
const { createAuthClient, AuthError } = await import(`${AUTHSVC_URL}/auth/client.js`);

export const auth = createAuthClient({ baseUrl: AUTHSVC_URL });

const $ = (id) => document.getElementById(id);

function log(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("log").prepend(item);
}

function showError(error) {
  $("error").textContent = error ? String(error.message ?? error) : "";
}

let shownSession = null;
let shownExpiry = null;

function render(state) {
  const signedIn = state.status === "signed-in";
  $("status").textContent = signedIn
    ? `Signed in as ${state.username}`
    : state.status === "signed-out" ? "Signed out" : "Restoring your session…";
  $("status").dataset.state = state.status;
  $("login").hidden = state.status !== "signed-out";
  $("account").hidden = !signedIn;
  if (signedIn && state.sessionId !== shownSession) log(`signed in as ${state.username}`);
  else if (signedIn && state.expiresAt !== shownExpiry) log("access token renewed");
  else if (!signedIn && shownSession !== null) log("signed out");
  shownSession = signedIn ? state.sessionId : null;
  shownExpiry = state.expiresAt;
  if (!signedIn) $("api-result").textContent = "";
  renderExpiry();
}

function renderExpiry() {
  const { expiresAt } = auth.state;
  $("expiry").textContent = expiresAt
    ? `Access token valid for ${Math.max(0, Math.round((expiresAt - Date.now()) / 1000))} s`
    : "";
}

if (DEMO_ACCOUNT) {
  // The launcher made this account for whoever is trying the demo; nothing secret about it.
  $("credentials").textContent =
    `Demo account: ${DEMO_ACCOUNT.username} / ${DEMO_ACCOUNT.password}`;
  $("credentials").hidden = false;
}

auth.onChange(render);
setInterval(renderExpiry, 1000);

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  showError(null);
  try {
    await auth.login(form.get("username"), form.get("password"));
    event.target.reset();
  } catch (error) {
    showError(error);
  }
});

$("call-api").addEventListener("click", async () => {
  showError(null);
  try {
    // The sample API on the demo's own origin, behind the gateway's forward-auth rules: it
    // learns who is calling from authsvc's /auth/verify, never from the token itself.
    const response = await auth.fetch("/api/whoami");
    const body = await response.json();
    $("api-result").textContent = response.ok
      ? JSON.stringify(body, null, 2)
      : `${response.status} ${body.detail}`;
    log(`GET /api/whoami answered ${response.status}`);
  } catch (error) {
    showError(error instanceof AuthError ? "Your session has ended; please sign in again." : error);
  }
});

$("logout").addEventListener("click", async () => {
  showError(null);
  try {
    await auth.logout();
  } catch (error) {
    showError(error);
  }
});

auth.restore().catch(showError);
