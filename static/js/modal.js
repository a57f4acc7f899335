// The console's one modal: HTMX swaps a dialog body into #modal-content; this
// opens the <dialog>, moves focus in, and gives focus back to the button that
// opened it when it closes (Escape, Cancel, the close button, or the server's
// "modal:close" event after a successful action).
(() => {
  const dialog = document.getElementById("modal");
  const content = document.getElementById("modal-content");
  if (!dialog || !content) return;
  // The element whose request is loading a body into the closed modal, and the
  // one that opened the modal now showing: kept apart, so that a new request
  // started while the last close is still being handled keeps its own opener.
  let pendingOpener = null;
  let opener = null;
  let showing = false;
  let swaps = 0; // bodies swapped into the modal so far

  const focusables = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  // The first invalid field; in an invalid radio group, its checked radio rather
  // than its first one (focusing "7 days" when "Custom date" is chosen misleads).
  function firstInvalid() {
    const field = content.querySelector('[aria-invalid="true"]');
    if (!field || field.type !== "radio" || !field.form) return field;
    const checked = [...field.form.elements].find(
      (el) => el.type === "radio" && el.name === field.name && el.checked,
    );
    return checked || field;
  }

  function focusInside() {
    const target =
      firstInvalid() ||
      content.querySelector("[autofocus]") ||
      content.querySelector("form input:not([type=hidden]):not([readonly]), form select, form textarea") ||
      content.querySelector(focusables);
    if (target) target.focus();
  }

  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.target === content && !dialog.open) {
      pendingOpener = event.detail.elt;
    }
  });

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target === content) swaps += 1;
  });

  // Open and move focus in once the new body has settled: htmx wires up its
  // hx-post forms only then, and a fast Enter on a form not yet wired would
  // submit it as a plain full-page post.
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target !== content) return;
    if (!dialog.open) {
      opener = pendingOpener;
      pendingOpener = null;
      showing = true;
      dialog.showModal();
    }
    focusInside();
  });

  document.body.addEventListener("modal:close", () => closeModal());

  // A click on the backdrop closes the modal only if the press began there too:
  // selecting text and letting go outside the dialog must not close it. A body
  // marked data-modal-keep (a value shown once) closes only through its buttons
  // or Escape, never by a stray click.
  let pressedOnBackdrop = false;
  dialog.addEventListener("pointerdown", (event) => {
    pressedOnBackdrop = event.target === dialog;
  });

  dialog.addEventListener("click", (event) => {
    if (event.target.closest("[data-modal-close]")) {
      event.preventDefault();
      closeModal();
    } else if (
      event.target === dialog &&
      pressedOnBackdrop &&
      !content.querySelector("[data-modal-keep]")
    ) {
      closeModal();
    }
  });

  // Escape: close at once rather than wait for the "close" event, which the
  // browser fires later, possibly after the next request has begun.
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    closeModal();
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

  // Close the modal, empty it and give focus back; once per opening.
  function closeModal() {
    if (dialog.open) dialog.close();
    if (!showing) return;
    showing = false;
    // Empty the body (a revealed secret must not stay in the page) once the
    // current event is over: the server's "modal:close" is one of several
    // HX-Trigger events fired in turn at the form inside it, and a form taken
    // out of the page would stop the next ones (the toast) reaching <body>.
    const closedAt = swaps;
    window.setTimeout(() => {
      if (!showing && swaps === closedAt) content.replaceChildren();
    }, 0);
    returnTo = opener;
    opener = null;
    restoreFocus(returnTo);
  }

  // The browser may close the dialog by itself (Escape pressed again before a
  // cancel is allowed); the event comes late, so only act if nothing reopened it.
  dialog.addEventListener("close", () => {
    if (!dialog.open) closeModal();
  });
})();
