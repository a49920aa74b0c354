// The signed-in view's "Passkeys" page: add one with the browser's authenticator, list them,
// rename and delete them; and the sign-in page's "Sign in with a passkey".

const $ = (id) => document.getElementById(id);

export function installPasskeys(auth, { act, onSubmit, say }) {
  function passkeyItem(passkey) {
    const item = document.createElement("li");
    item.dataset.passkeyId = passkey.id;
    const name = document.createElement("input");
    name.value = passkey.name;
    name.maxLength = 64;
    name.setAttribute("aria-label", "Name");
    const used = passkey.lastUsedAt
      ? `last used ${new Date(passkey.lastUsedAt).toLocaleString()}`
      : "not used yet";
    const details = document.createElement("span");
    details.textContent = ` added ${new Date(passkey.createdAt).toLocaleString()}, ${used}`;
    const rename = button("Rename", async () => {
      await auth.renamePasskey(passkey.id, name.value);
      say("The passkey is renamed.");
      await load();
    });
    const remove = button("Delete", async () => {
      const currentPassword = $("passkey-password").value || undefined;
      await auth.deletePasskey(passkey.id, { currentPassword });
      $("passkey-password").value = "";
      say("The passkey is deleted.");
      await load();
    });
    rename.dataset.action = "rename";
    remove.dataset.action = "delete";
    item.append(name, rename, remove, details);
    return item;
  }

  function button(text, action) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    element.addEventListener("click", () => act(action));
    return element;
  }

  async function load() {
    let passkeys;
    try {
      passkeys = await auth.listPasskeys();
    } catch (error) {
      if (error.status !== 404) throw error;
      // This authsvc has passkeys off (production without WEBAUTHN_RP_ID).
      $("no-passkeys").textContent = "Passkeys are off on this server.";
      $("passkey-add").hidden = true;
      return;
    }
    $("passkeys").replaceChildren(...passkeys.map(passkeyItem));
    $("passkeys").dataset.count = String(passkeys.length);
    $("no-passkeys").hidden = passkeys.length > 0;
  }

  function clear() {
    $("passkeys").replaceChildren();
    delete $("passkeys").dataset.count;
  }

  onSubmit("passkey-add", async ({ name }) => {
    const passkey = await auth.registerPasskey(name.trim() || undefined);
    say(`Passkey "${passkey.name}" added: you can sign in with it, no password needed.`);
    await load();
  });

  $("passkey-sign-in").addEventListener("click", () => act(() => auth.signInWithPasskey()));

  return { load, clear };
}
