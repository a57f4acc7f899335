// The console's one modal: HTMX swaps a dialog body into #modal-content; this
// opens the <dialog>, moves focus in, and gives focus back to the button that
// opened it when it closes (Escape, Cancel, the close button, or the server's
// "modal:close" event after a successful action).
(() => {
  const dialog = document.getElementById("modal");
  const content = document.getElementById("modal-content");
  if (!dialog || !content) return;
  let opener = null;

  const focusables = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function focusInside() {
    const target =
      content.querySelector('[aria-invalid="true"]') ||
      content.querySelector("[autofocus]") ||
      content.querySelector("form input:not([type=hidden]):not([readonly]), form select, form textarea") ||
      content.querySelector(focusables);
    if (target) target.focus();
  }

  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.target === content && !dialog.open) {
      opener = event.detail.elt;
    }
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== content) return;
    if (!dialog.open) dialog.showModal();
    focusInside();
  });

  document.body.addEventListener("modal:close", () => {
    if (dialog.open) dialog.close();
  });

  dialog.addEventListener("click", (event) => {
    if (event.target.closest("[data-modal-close]")) {
      event.preventDefault();
      dialog.close();
    } else if (event.target === dialog) {
      dialog.close(); // a click on the backdrop
    }
  });

  // The element to give focus back to, kept until the request that closed the
  // modal has settled: the server's "modal:close" arrives before its swap, and
  // the swap may replace the opener (the list holding "Invite member") or
  // remove it (the row of a removed member).
  let returnTo = null;

  function restoreFocus(element) {
    const target =
      (element && element.isConnected && element) ||
      (element && element.id && document.getElementById(element.id)) ||
      document.querySelector("[data-focus-after-modal]") ||
      document.getElementById("main");
    if (target) target.focus();
  }

  document.body.addEventListener("htmx:beforeRequest", () => {
    returnTo = null;
  });

  document.body.addEventListener("htmx:afterSettle", () => {
    if (!returnTo) return;
    const element = returnTo;
    returnTo = null;
    const active = document.activeElement;
    if (!element.isConnected && (!active || active === document.body)) restoreFocus(element);
  });

  dialog.addEventListener("close", () => {
    content.replaceChildren();
    returnTo = opener;
    opener = null;
    restoreFocus(returnTo);
  });
})();
