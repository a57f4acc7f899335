// The Tokens tab: the Add token form's presets and summary, and the one-time
// reveal (eye toggle, copy to clipboard with a fallback). Works on content that
// HTMX swaps in, through event delegation and htmx:load.
(() => {
  // ----- Add token form -------------------------------------------------------
  function checkedValues(form, name) {
    return [...form.querySelectorAll(`input[name="${name}"]:checked`)];
  }

  function syncPreset(form) {
    const list = form.querySelector("[data-presets]");
    const preset = form.querySelector('input[name="preset"]:checked');
    if (!list || !preset || preset.value === "custom") return;
    const scopes = JSON.parse(list.dataset.presets)[preset.value] || [];
    for (const box of form.querySelectorAll('input[name="scopes"]')) {
      box.checked = scopes.includes(box.value);
    }
  }

  function presetFromScopes(form) {
    const list = form.querySelector("[data-presets]");
    if (!list) return;
    const chosen = checkedValues(form, "scopes").map((box) => box.value).sort().join(" ");
    const presets = JSON.parse(list.dataset.presets);
    let match = "custom";
    for (const [key, scopes] of Object.entries(presets)) {
      if ([...scopes].sort().join(" ") === chosen) match = key;
    }
    const radio = form.querySelector(`input[name="preset"][value="${match}"]`);
    if (radio) radio.checked = true;
  }

  function toggleCustomDate(form) {
    const box = form.querySelector("[data-custom-date]");
    const expiration = form.querySelector('input[name="expiration"]:checked');
    if (box) box.hidden = !(expiration && expiration.value === "custom");
  }

  function describeExpiry(form) {
    const expiration = form.querySelector('input[name="expiration"]:checked');
    if (!expiration) return "";
    if (expiration.value === "never") return "It never expires: revoke it when it is no longer needed.";
    if (expiration.value === "custom") {
      const day = form.querySelector('input[name="expires_on"]').value;
      return day ? `It expires at the end of ${day} (UTC).` : "Choose the date it expires.";
    }
    const date = new Date(Date.now() + Number(expiration.value) * 86400000);
    return `It expires in ${expiration.value} days, on ${date.toLocaleDateString(undefined, { dateStyle: "medium" })}.`;
  }

  function updateSummary(form) {
    const out = form.querySelector("[data-token-summary]");
    if (!out) return;
    const kindInput = form.querySelector('input[name="kind"]:checked') || form.querySelector('input[name="kind"]');
    const kind = kindInput && kindInput.value === "personal" ? "This personal token acts as you and can" : "This workspace token can";
    // An HTTP service's scope says its own phrase ("call Orders with GET, HEAD, OPTIONS").
    const scopes = checkedValues(form, "scopes").map((box) => box.dataset.summary || box.dataset.description.toLowerCase());
    const resources = checkedValues(form, "resources").map((box) => box.closest("label").textContent.trim());
    const ranges = (form.querySelector('textarea[name="allowed_ips"]') || { value: "" }).value
      .split(/[\n,]/).map((r) => r.trim()).filter(Boolean);
    const parts = [];
    parts.push(scopes.length ? `${kind}: ${scopes.join("; ")}.` : "Choose at least one scope: without one the token can do nothing.");
    parts.push(resources.length ? `Only on ${resources.join(", ")}.` : "On every resource of the workspace.");
    parts.push(ranges.length ? `Only from ${ranges.join(", ")}.` : "From any IP address.");
    parts.push(describeExpiry(form));
    out.textContent = parts.filter(Boolean).join(" ");
  }

  function setUpForm(form) {
    if (form.dataset.ready) return;
    form.dataset.ready = "1";
    syncPreset(form);
    toggleCustomDate(form);
    updateSummary(form);
  }

  document.addEventListener("change", (event) => {
    const form = event.target.closest("[data-token-form]");
    if (!form) return;
    if (event.target.name === "preset") syncPreset(form);
    if (event.target.name === "scopes") presetFromScopes(form);
    toggleCustomDate(form);
    updateSummary(form);
  });
  document.addEventListener("input", (event) => {
    const form = event.target.closest("[data-token-form]");
    if (form) updateSummary(form);
  });

  // ----- One-time reveal ----------------------------------------------------
  function say(reveal, message) {
    const status = reveal.querySelector("[data-copy-status]");
    if (status) status.textContent = message;
  }

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function showSecret(reveal, visible) {
    const code = reveal.querySelector("[data-secret-code]");
    const toggle = reveal.querySelector("[data-reveal-toggle]");
    code.textContent = visible ? code.dataset.secret : code.dataset.masked;
    code.setAttribute("aria-label", `Token value, ${visible ? "shown" : "censored"}. Activate to copy the token`);
    toggle.setAttribute("aria-pressed", String(visible));
    const label = visible ? "Hide token" : "Reveal token";
    toggle.setAttribute("aria-label", label);
    toggle.title = label;
  }

  async function copySecret(reveal) {
    const code = reveal.querySelector("[data-secret-code]");
    try {
      await navigator.clipboard.writeText(code.dataset.secret);
      say(reveal, "Copied to the clipboard.");
      reveal.classList.add("copied");
    } catch {
      // The Clipboard API was refused (no permission, or not a secure context):
      // show the value selected so that the user can copy it with the keyboard.
      showSecret(reveal, true);
      selectText(code);
      say(reveal, "Your browser blocked copying. The token is selected: press Ctrl+C (⌘C on a Mac).");
    }
  }

  document.addEventListener("click", (event) => {
    const reveal = event.target.closest("[data-reveal]");
    if (!reveal) return;
    if (event.target.closest("[data-reveal-toggle]")) {
      const toggle = reveal.querySelector("[data-reveal-toggle]");
      showSecret(reveal, toggle.getAttribute("aria-pressed") !== "true");
    } else if (event.target.closest("[data-copy]") || event.target.closest("[data-secret-code]")) {
      copySecret(reveal);
    }
  });
  document.addEventListener("keydown", (event) => {
    const code = event.target.closest && event.target.closest("[data-secret-code]");
    if (code && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      copySecret(code.closest("[data-reveal]"));
    }
  });

  // A stored token fetched with "Reveal" shows at once; with "Copy", it goes to the clipboard.
  function setUpReveal(reveal) {
    if (reveal.dataset.ready) return;
    reveal.dataset.ready = "1";
    if (reveal.hasAttribute("data-show-on-load")) showSecret(reveal, true);
    if (reveal.hasAttribute("data-copy-on-load")) copySecret(reveal);
  }

  function within(root, selector) {
    const found = [...root.querySelectorAll(selector)];
    return root.matches && root.matches(selector) ? [root, ...found] : found;
  }

  function setUp(root) {
    for (const form of within(root, "[data-token-form]")) setUpForm(form);
    for (const reveal of within(root, "[data-reveal]")) setUpReveal(reveal);
  }
  document.addEventListener("DOMContentLoaded", () => setUp(document));
  document.addEventListener("htmx:load", (event) => setUp(event.detail.elt));
})();
