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
