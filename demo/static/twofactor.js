// The signed-in view's "Two-factor sign-in" part: an authenticator app set up with its QR code,
// the recovery codes shown once, and turned off again.

const $ = (id) => document.getElementById(id);

function listItem(text) {
  const item = document.createElement("li");
  item.textContent = text;
  return item;
}

export function installTwoFactor(auth, { onSubmit, say, svgDataUrl }) {
  function forgetEnrolment() {
    $("totp-enrol").hidden = true;
    $("totp-qr").removeAttribute("src");
    $("totp-secret").textContent = "";
  }

  function show(status) {
    $("totp-status").textContent = status.totpEnabled
      ? `On: signing in takes a code from your authenticator app (${status.recoveryCodesLeft}`
        + " recovery codes left)."
      : "Off: your password alone signs you in.";
    $("totp-status").dataset.enabled = String(status.totpEnabled);
    $("totp-start").hidden = status.totpEnabled;
    $("totp-disable").hidden = !status.totpEnabled;
    if (status.totpEnabled) forgetEnrolment();
  }

  async function load() {
    show(await auth.mfaStatus());
  }

  function clear() {
    forgetEnrolment();
    for (const id of ["totp-start", "totp-disable", "recovery"]) $(id).hidden = true;
    $("recovery-codes").replaceChildren();
    $("totp-status").textContent = "";
  }

  onSubmit("totp-start", async ({ current_password: currentPassword }) => {
    const setup = await auth.setupTotp(currentPassword || undefined);
    // authsvc's SVG as an image, never as markup: nothing in it can run or reach the page.
    $("totp-qr").src = svgDataUrl(setup.qrSvg);
    $("totp-secret").textContent = setup.secret;
    $("totp-enrol").hidden = false;
    $("totp-start").hidden = true;
  });

  onSubmit("totp-confirm", async ({ code }) => {
    const codes = await auth.confirmTotp(code.trim());
    $("recovery-codes").replaceChildren(...codes.map(listItem));
    $("recovery").hidden = false;
    say("Two-factor sign-in is on. Save your recovery codes now.");
    await load();
  });

  // The codes leave the page once the user has them: authsvc never shows them again.
  $("recovery-done").addEventListener("click", () => {
    $("recovery-codes").replaceChildren();
    $("recovery").hidden = true;
  });

  onSubmit("totp-disable", async ({ current_password: currentPassword, code }) => {
    await auth.disableTotp(code ? { code: code.trim() } : { currentPassword });
    say("Two-factor sign-in is off.");
    await load();
  });

  return { load, clear };
}
