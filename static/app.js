// BPTT Lab: the one behaviour htmx attributes cannot express.
// Clicking a name (generated, greedy or sampled) inspects it: the Inspect panel's
// input takes the name and fires "change", which that panel's htmx request listens to.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-name]");
  const input = document.querySelector('[data-testid="inspect-input"]');
  if (!button || !input) return;
  input.value = button.dataset.name;
  input.dispatchEvent(new Event("change", { bubbles: true }));
  input.scrollIntoView({ behavior: "smooth", block: "center" });
});

// The control token (when the teacher set one): kept in this tab's sessionStorage,
// sent as "Authorization: Bearer ..." on every htmx request of the page.
const TOKEN_KEY = "bptt-lab-control-token";
document.addEventListener("htmx:config:request", (event) => {
  const field = document.getElementById("control-token");
  if (field && event.target.id === "token-form") {
    sessionStorage.setItem(TOKEN_KEY, field.value.trim());
    field.value = "";
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) event.detail.ctx.request.headers.Authorization = `Bearer ${token}`;
});
document.addEventListener("DOMContentLoaded", () => {
  const note = document.getElementById("token-note");
  if (note && sessionStorage.getItem(TOKEN_KEY)) note.textContent = "a token is kept for this tab";
});
