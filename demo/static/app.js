// The demo's page logic: everything it knows about tokens goes through authsvc's client.
import { AUTHSVC_URL, DEMO_ACCOUNT } from "./config.js";
import { installPasskeys } from "./passkeys.js";
import { installTwoFactor } from "./twofactor.js";

// The client as authsvc serves it; an app could as well ship its own copy.
const { createAuthClient, AuthError, isMfaChallenge, svgDataUrl, takeLinkToken } = await import(
  `${AUTHSVC_URL}/auth/client.js`
);

export const auth = createAuthClient({ baseUrl: AUTHSVC_URL });

// The forms of a signed-out visitor; one shows at a time.
const SIGNED_OUT_FORMS = ["login", "mfa", "register", "forgot", "reset"];
const SESSIONS_PER_PAGE = 5;
// Where authsvc's mailed links lead (its EMAIL_VERIFY_URL and PASSWORD_RESET_URL).
const RESET_PATH = "/reset-password";
const VERIFY_PATH = "/verify-email";

const $ = (id) => document.getElementById(id);

let shownForm = "login";
let resetToken = null;
let sessionsCursor = null;
// The second login step a password login asked for, until it is completed or given up.
let challenge = null;

function log(text, data = {}) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  Object.assign(item.dataset, data);
  $("log").prepend(item);
}

function say(text) {
  $("notice").textContent = text ?? "";
}

function showError(error) {
  $("error").textContent = error ? String(error.message ?? error) : "";
}

function showForm(name) {
  shownForm = name;
  render(auth.state);
}

function render(state) {
  const signedIn = state.status === "signed-in";
  $("status").textContent = signedIn
    ? `Signed in as ${state.username}`
    : state.status === "signed-out" ? "Signed out" : "Restoring your session…";
  $("status").dataset.state = state.status;
  // A reset link's form shows whoever is signed in: the link may be for another account.
  const resetting = shownForm === "reset";
  const formShown = resetting || state.status === "signed-out";
  for (const id of SIGNED_OUT_FORMS) $(id).hidden = !formShown || id !== shownForm;
  $("account").hidden = !signedIn || resetting;
  $("back").hidden = !formShown || shownForm === "login";
  if (!signedIn) $("api-result").textContent = "";
  $("amr").textContent = signedIn ? `Signed in with: ${state.amr.join(", ")}` : "";
  $("amr").dataset.amr = state.amr.join(",");
  renderExpiry();
}

function renderExpiry() {
  const { expiresAt } = auth.state;
  $("expiry").textContent = expiresAt
    ? `Access token valid for ${Math.max(0, Math.round((expiresAt - Date.now()) / 1000))} s`
    : "";
}

function describe(event) {
  const initial = event.initial ? " (on subscribing)" : "";
  if (event.kind === "signed_in") return `signed_in as ${event.state.username}${initial}`;
  if (event.kind === "token_refreshed") return "token_refreshed: a new access token";
  return `signed_out: ${event.reason}${initial}`;
}

async function loadProfile() {
  const response = await auth.fetch(`${AUTHSVC_URL}/auth/me`);
  if (!response.ok) return;
  const me = await response.json();
  $("profile").textContent = me.email
    ? `${me.email} (${me.email_verified ? "verified" : "not verified yet"})`
    : "No address on this account.";
  $("profile").dataset.email = me.email ?? "";
  $("profile").dataset.verified = String(me.email_verified);
  $("resend").hidden = !me.email || me.email_verified;
}

function sessionItem(session) {
  const item = document.createElement("li");
  item.dataset.sessionId = session.id;
  const seen = new Date(session.last_used_at).toLocaleString();
  const agent = session.user_agent ?? "an unknown device";
  const device = agent.length > 60 ? `${agent.slice(0, 60)}…` : agent;
  item.textContent = `${device} from ${session.ip ?? "an unknown address"}, last used ${seen}`;
  if (session.current) {
    item.dataset.current = "true";
    item.append(" (this browser)");
  } else {
    const end = document.createElement("button");
    end.type = "button";
    end.textContent = "End";
    end.addEventListener("click", () => act(async () => {
      await auth.endSession(session.id);
      say("That session has ended.");
      await loadSessions();
    }));
    item.append(end);
  }
  return item;
}

async function loadSessions(more = false) {
  const page = await auth.listSessions({
    limit: SESSIONS_PER_PAGE,
    cursor: more ? sessionsCursor : null,
  });
  if (!more) $("sessions").replaceChildren();
  $("sessions").append(...page.sessions.map(sessionItem));
  sessionsCursor = page.nextCursor;
  $("more-sessions").hidden = sessionsCursor === null;
}

// The signed-in view's pages (Account, Two-factor, …); one shows at a time.
function showPage(id) {
  for (const button of document.querySelectorAll("[data-page]")) {
    const current = button.dataset.page === id;
    $(button.dataset.page).hidden = !current;
    if (current) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
}

function clearAccount() {
  showPage("profile-page");
  twoFactor.clear();
  passkeys.clear();
  $("profile").textContent = "";
  $("sessions").replaceChildren();
  $("more-sessions").hidden = true;
}

// Runs one action, showing its failure if it fails; a user's action first clears the
// messages of the one before, a background reload leaves them.
async function act(action, { byUser = true } = {}) {
  if (byUser) {
    say(null);
    showError(null);
  }
  const wasSignedIn = auth.state.status === "signed-in";
  try {
    await action();
  } catch (error) {
    // A 401 that signed the tab out ended the session; any other is about what was typed.
    const ended = wasSignedIn && auth.state.status !== "signed-in";
    showError(error instanceof AuthError && error.status === 401 && ended
      ? "Your session has ended; please sign in again."
      : error);
  }
}

function onSubmit(id, action) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act(async () => {
      await action(Object.fromEntries(new FormData(form)));
      form.reset();
    });
  });
}

if (DEMO_ACCOUNT) {
  // The launcher made this account for whoever is trying the demo; nothing secret about it.
  $("credentials").textContent =
    `Demo account: ${DEMO_ACCOUNT.username} / ${DEMO_ACCOUNT.password}`;
  $("credentials").hidden = false;
}

const twoFactor = installTwoFactor(auth, { onSubmit, say, svgDataUrl });
const passkeys = installPasskeys(auth, { act, onSubmit, say });

for (const button of document.querySelectorAll("[data-page]")) {
  button.addEventListener("click", () => showPage(button.dataset.page));
}

for (const button of document.querySelectorAll("[data-show]")) {
  button.addEventListener("click", () => {
    say(null);
    showError(null);
    showForm(button.dataset.show);
  });
}

auth.onChange(render);
auth.subscribe((event) => {
  log(describe(event), { kind: event.kind, reason: event.reason ?? "" });
  if (event.kind === "signed_in") {
    const loads = [loadProfile, loadSessions, twoFactor.load, passkeys.load];
    act(() => Promise.all(loads.map((load) => load())), { byUser: false });
  }
  if (event.kind === "signed_out") clearAccount();
});
setInterval(renderExpiry, 1000);

onSubmit("login", async ({ username, password }) => {
  const outcome = await auth.login(username, password);
  // Not signed in yet: the account has a second factor, and the client stays signed out.
  if (isMfaChallenge(outcome)) {
    challenge = outcome;
    const codes = [...$("mfa").method.options];
    for (const option of codes) option.hidden = !outcome.methods.includes(option.value);
    $("mfa-code").hidden = codes.every((option) => option.hidden);
    $("mfa").method.value = codes.find((option) => !option.hidden)?.value ?? "";
    $("mfa-passkey").hidden = !outcome.methods.includes("passkey");
    showForm("mfa");
  }
});

async function finishSecondStep(step) {
  try {
    await step();
  } catch (error) {
    // A dead mfa_token (expired, used, too many wrong codes) needs the password again.
    if (error instanceof AuthError && /log in again/.test(error.message)) showForm("login");
    throw error;
  }
  challenge = null;
  showForm("login");
}

onSubmit("mfa", ({ method, code }) =>
  finishSecondStep(() => challenge.complete(method, code.trim())),
);

$("mfa-passkey").addEventListener("click", () =>
  act(() => finishSecondStep(() => challenge.completeWithPasskey())),
);

onSubmit("register", async ({ username, email, password }) => {
  await auth.register(username, password, email || null);
  await auth.login(username, password);
  if (email) say(`Welcome! A verification link is on its way to ${email}.`);
});

onSubmit("forgot", async ({ email }) => {
  await auth.forgotPassword(email);
  showForm("login");
  say(`If an account has the address ${email}, a reset link is on its way to it.`);
});

onSubmit("reset", async ({ new_password: newPassword }) => {
  await auth.resetPassword(resetToken, newPassword);
  resetToken = null;
  history.replaceState(null, "", "/");
  showForm("login");
  say("Your password is changed and every session signed out. Sign in with the new one.");
});

onSubmit("change-email", async ({ email, current_password: currentPassword }) => {
  await auth.changeEmail(email, currentPassword);
  say(`A link is on its way to ${email}; your address changes once you open it.`);
});

$("resend").addEventListener("click", () => act(async () => {
  await auth.resendVerification();
  say("A new verification link is on its way.");
}));

$("more-sessions").addEventListener("click", () => act(() => loadSessions(true)));

$("logout-everywhere").addEventListener("click", () => act(() => auth.logoutEverywhere()));

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
    log(`GET /api/whoami answered ${response.status}`, { kind: "api" });
  } catch (error) {
    showError(error instanceof AuthError ? "Your session has ended; please sign in again." : error);
  }
});

$("logout").addEventListener("click", () => act(() => auth.logout()));

// A mailed link: its token is read, then taken out of the address bar and the history.
if (location.pathname === RESET_PATH) {
  resetToken = takeLinkToken();
  if (resetToken) showForm("reset");
  else showError("This reset link is incomplete; ask for a new one.");
} else if (location.pathname === VERIFY_PATH) {
  const token = takeLinkToken();
  history.replaceState(null, "", "/");
  act(async () => {
    if (!token) throw new Error("This verification link is incomplete.");
    await auth.verifyEmail(token);
    say("Your e-mail address is verified.");
    if (auth.state.status === "signed-in") await loadProfile();
  });
}

auth.restore().catch(showError);
