// Passkeys (WebAuthn) in the browser: add one (Account → Security → Passkeys),
// sign in with one (the login page: a button, and the browser's own suggestions
// in the email field), and confirm it is you with one (sudo prompts).
// Each ceremony: POST for options (the login page's suggestions bring theirs with
// the page), hand them to navigator.credentials, POST the answer back as JSON. The server's refusals are JSON {error, message}; the
// message is shown next to the button that started the ceremony.
(() => {
  const supported = Boolean(window.PublicKeyCredential && navigator.credentials);

  // base64url <-> ArrayBuffer: WebAuthn speaks binary, JSON does not.
  function toBuffer(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    return {
      ...json,
      challenge: toBuffer(json.challenge),
      user: { ...json.user, id: toBuffer(json.user.id) },
      excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: toBuffer(c.id) })),
    };
  }

  function requestOptions(json) {
    return {
      ...json,
      challenge: toBuffer(json.challenge),
      allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: toBuffer(c.id) })),
    };
  }

  // The credential as the JSON py_webauthn reads (what PublicKeyCredential.toJSON gives).
  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch {
      return "";
    }
  }

  class Refused extends Error {}

  // POST `body` (FormData, or an object sent as JSON); return the JSON answer or throw Refused.
  async function post(url, body) {
    const headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    let payload = body;
    if (!(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, { method: "POST", headers, body: payload, credentials: "same-origin" });
    } catch {
      throw new Refused("Keyward could not be reached. Check your connection and try again.");
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (!response.ok || !answer) {
      throw new Refused((answer && answer.message) || "Something went wrong. Reload the page and try again.");
    }
    return answer;
  }

  // Say in words why the browser did not give a passkey.
  function browserMessage(error, creating) {
    if (error instanceof Refused) return error.message;
    switch (error && error.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out. Try again when you are ready.";
      case "InvalidStateError":
        return creating
          ? "This device or security key already holds a passkey for your account."
          : "This passkey cannot be used here.";
      case "SecurityError":
        return "Passkeys cannot be used on this address: they need Keyward's own domain over HTTPS.";
      case "AbortError":
        return "The passkey request was stopped. Try again.";
      default:
        return "Your browser could not use a passkey. Try again, or use your password.";
    }
  }

  function show(status, message) {
    if (!status) return;
    status.textContent = message;
    status.hidden = !message;
  }

  const UNSUPPORTED = "This browser cannot use passkeys. Use your password, or another browser.";

  // Add a passkey: the name, then the browser's ceremony, then store it.
  async function addPasskey(form) {
    const status = form.querySelector("[data-passkey-status]");
    const button = form.querySelector("button[type=submit]");
    if (!supported) return show(status, UNSUPPORTED);
    show(status, "");
    button.disabled = true;
    try {
      const options = await post(form.action, new FormData(form));
      const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      const name = form.querySelector("[name=name]").value;
      const done = await post(form.dataset.finishUrl, { name, credential: credentialJSON(credential) });
      window.location.assign(done.redirect);
    } catch (error) {
      show(status, browserMessage(error, true));
      button.disabled = false;
    }
  }

  // Sudo prompt: confirm with a passkey, then submit the form the prompt is in, as typed
  // (the view finds sudo mode on and ignores an empty password; removing the last factor
  // still checks the password typed, with the passkey as the current factor).
  async function confirmWithPasskey(box) {
    const status = box.querySelector("[data-passkey-status]");
    if (!supported) return show(status, UNSUPPORTED);
    const button = box.querySelector("[data-passkey-sudo-button]");
    show(status, "");
    button.disabled = true;
    try {
      const options = await post(box.dataset.optionsUrl);
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      await post(box.dataset.url, {
        credential: credentialJSON(credential),
        purpose: box.dataset.purpose || "sudo",
      });
      const form = box.closest("form");
      if (form) form.requestSubmit();
      else window.location.reload();
    } catch (error) {
      show(status, browserMessage(error, false));
      button.disabled = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-passkey-add]");
    if (!form) return;
    event.preventDefault();
    addPasskey(form);
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-passkey-sudo-button]");
    if (button) confirmWithPasskey(button.closest("[data-passkey-sudo]"));
  });

  // Sign in with a passkey (the login page).
  const login = document.querySelector("[data-passkey-login]");
  let conditional = null; // the pending request behind the email field's suggestions

  // The login page brings the suggestions' options with it (no request as it loads);
  // a page without them (the second-factor step) asks when the button is pressed.
  function suggestionOptions() {
    if (!login.dataset.suggestions) throw new Refused("");
    return JSON.parse(login.dataset.suggestions);
  }

  async function signIn(mediation) {
    const status = login.querySelector("[data-passkey-status]");
    const button = login.querySelector("[data-passkey-login-button]");
    if (mediation !== "conditional") {
      if (!supported) return show(status, UNSUPPORTED);
      if (conditional) conditional.abort();
      button.disabled = true;
      show(status, "");
    }
    const controller = new AbortController();
    if (mediation === "conditional") conditional = controller;
    try {
      const options = mediation === "conditional" ? suggestionOptions() : await post(login.dataset.optionsUrl);
      const request = { publicKey: requestOptions(options), signal: controller.signal };
      if (mediation) request.mediation = mediation;
      const credential = await navigator.credentials.get(request);
      const done = await post(login.dataset.url, {
        credential: credentialJSON(credential),
        next: login.dataset.next || "",
        ...(mediation === "conditional" ? { ticket: login.dataset.ticket } : {}),
      });
      window.location.assign(done.redirect);
    } catch (error) {
      // Suggestions in the email field were not asked for: if they fail (or the button's
      // request replaces them), the password form is still there; say nothing.
      if (mediation !== "conditional") {
        show(status, browserMessage(error, false));
        button.disabled = false;
      }
    }
  }

  if (login) {
    if (!supported) {
      show(login.querySelector("[data-passkey-status]"), UNSUPPORTED);
      login.querySelector("[data-passkey-login-button]").disabled = true;
    } else {
      login.querySelector("[data-passkey-login-button]").addEventListener("click", () => signIn(null));
      const canSuggest = PublicKeyCredential.isConditionalMediationAvailable;
      if (canSuggest) {
        canSuggest.call(PublicKeyCredential).then((available) => {
          // The second-factor step has no email field to suggest passkeys in.
          if (available && login.dataset.suggest !== "off") signIn("conditional");
        });
      }
    }
  }

  // The passkeys page says plainly when this browser cannot use them.
  const notice = document.querySelector("[data-webauthn-unsupported]");
  if (notice && !supported) notice.hidden = false;
})();
