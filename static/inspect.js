// Inspect panel (templates/partials/inspect.html): the one thing its htmx attributes cannot say.
// After each swap, the accumulation table scrolls inside its own box (never the page) so that
// the row the step-backwards walk has lit stays in sight; a poll keeps the user's own scroll.
document.addEventListener("htmx:after:settle", (event) => {
  if (!event.target.closest || !event.target.closest("#inspect-panel")) return;
  const row = document.querySelector("#inspect-walk tr.walk-current");
  const box = row && row.closest(".table-box");
  if (!box) return;
  const top = row.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
  if (top < box.scrollTop + 24 || top > box.scrollTop + box.clientHeight - 24) {
    box.scrollTop = top - box.clientHeight / 2;
  }
});
