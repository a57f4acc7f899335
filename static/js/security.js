// Account → Security and the code step: focus the field whose error the page shows, and copy
// the recovery codes shown once to the clipboard.
const invalid = document.querySelector('main [aria-invalid="true"]');
if (invalid) invalid.focus();

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-codes]");
  if (!button) return;
  const text = document.querySelector("[data-codes-text]").value;
  const status = document.querySelector("[data-copy-status]");
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied the codes to the clipboard.";
  } catch {
    status.textContent = "Could not copy: select the codes and copy them.";
  }
});
