// Announce results in the polite live region #toasts: messages from the
// server's HX-Trigger "toast" event, and a plain message when a request fails.
(() => {
  const region = document.getElementById("toasts");
  if (!region) return;
  const lifetime = 6000;

  function show(message, level) {
    if (!message) return;
    const toast = document.createElement("div");
    toast.className = "toast toast-" + (level || "info");
    toast.textContent = message;
    region.append(toast);
    window.setTimeout(() => toast.remove(), lifetime);
  }

  for (const toast of region.querySelectorAll(".toast")) {
    window.setTimeout(() => toast.remove(), lifetime);
  }

  document.body.addEventListener("toast", (event) => show(event.detail.message, event.detail.level));

  document.body.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    const reasons = {
      403: "You are not allowed to do that.",
      404: "That no longer exists. Reload the page.",
      429: "Too many requests. Wait a moment and try again.",
    };
    show(reasons[status] || "Something went wrong (" + status + "). Try again.", "error");
  });

  document.body.addEventListener("htmx:sendError", () => {
    show("The server could not be reached. Check your connection and try again.", "error");
  });
})();
