// Inspect and Learn (templates/partials/inspect.html, partials/learn/): what htmx attributes cannot say.
// The server renders every number and every mark; this file only moves focus and toggles classes.
(() => {
  const panel = () => document.getElementById("inspect-result");
  const TYPING = "input, select, textarea, [contenteditable], [role=grid]";

  // Linked views: a cell (t, k) of the triangle (data-t, data-k), and a row of the tables, a bar,
  // a column of the unrolled network (data-link-k): lighting one lights the others of its step k,
  // and lighting a step lights its whole column k of the triangle.
  const CELLS = "[role=grid] .g-cell";
  function light(css, pairs) {
    const root = panel();
    if (!root) return;
    root.querySelectorAll("." + css).forEach((el) => el.classList.remove(css));
    for (const [t, k] of pairs) {
      const cells = t > 0 ? `${CELLS}[data-t="${t}"][data-k="${k}"]` : `${CELLS}[data-k="${k}"]`;
      root.querySelectorAll(`${cells}, [data-link-k="${k}"]`).forEach((el) => el.classList.add(css));
    }
  }
  function linkOf(el) {
    if (!el.closest) return null;
    const cell = el.closest(CELLS);
    if (cell) return [[Number(cell.dataset.t), Number(cell.dataset.k)]];
    const item = el.closest("[data-link-k]");
    return item ? [[0, Number(item.dataset.linkK)]] : null;
  }
  for (const type of ["pointerover", "focusin"]) {
    document.addEventListener(type, (event) => {
      if (!panel() || !panel().contains(event.target)) return;
      const pairs = linkOf(event.target);
      if (pairs) light("linked", pairs);
    });
  }
  document.addEventListener("pointerleave", (event) => {
    if (event.target === panel()) light("linked", []);
  }, true);

  // Learn lights what its step is about: data-marks="t:k ..." on the card (t = 0: the step k).
  function lightLearn() {
    const card = document.getElementById("learn");
    const marks = card && card.dataset.marks ? card.dataset.marks.split(" ") : [];
    light("learn-lit", marks.map((m) => m.split(":").map(Number)));
  }

  // The charts are ARIA grids with one tab stop: the arrow keys move it, Home and End go to the
  // ends of a row, Enter and Space click (which shows the cell's numbers).
  document.addEventListener("keydown", (event) => {
    const cell = event.target.closest && event.target.closest("[role=gridcell]");
    if (!cell) return;
    const grid = cell.closest("[role=grid]");
    const rows = [...grid.querySelectorAll("[role=row]")].map((r) => [...r.querySelectorAll("[role=gridcell]")]);
    const r = rows.findIndex((row) => row.includes(cell));
    const c = rows[r].indexOf(cell);
    const at = (rr, cc) => rows[rr][Math.min(cc, rows[rr].length - 1)];
    const next = {
      ArrowRight: () => rows[r][c + 1],
      ArrowLeft: () => rows[r][c - 1],
      ArrowDown: () => (r + 1 < rows.length ? at(r + 1, c) : null),
      ArrowUp: () => (r > 0 ? at(r - 1, c) : null),
      Home: () => rows[r][0],
      End: () => rows[r][rows[r].length - 1],
    }[event.key];
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      cell.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      return;
    }
    if (!next) return;
    event.preventDefault();
    const target = next();
    if (!target) return;
    grid.querySelectorAll('[tabindex="0"]').forEach((el) => el.setAttribute("tabindex", "-1"));
    target.setAttribute("tabindex", "0");
    target.focus();
  });

  // Learn: the arrow keys move between steps anywhere but in a field or a chart's grid.
  document.addEventListener("keydown", (event) => {
    if (!["ArrowRight", "ArrowLeft"].includes(event.key) || event.altKey || event.ctrlKey || event.metaKey) return;
    if (!document.getElementById("learn") || (event.target.closest && event.target.closest(TYPING))) return;
    const button = document.querySelector(`#learn [data-testid="learn-${event.key === "ArrowRight" ? "next" : "prev"}"]`);
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  });

  // What the student opened stays open when training's refresh morphs the panel body. The parts
  // drawn on demand (the table, the check, the decay) are named in that refresh by their hidden
  // input and come back drawn; a part reopened here that came back as a placeholder asks for
  // itself on its toggle event (hx-trigger in partials/inspect/more.html).
  let opened = [];
  document.addEventListener("htmx:before:swap", () => {
    opened = [...document.querySelectorAll("#inspect-panel details[open][id]")].map((d) => d.id);
  });
  document.addEventListener("htmx:after:swap", () => {
    for (const id of opened) {
      const details = document.getElementById(id);
      if (details) details.open = true;
    }
  });

  document.addEventListener("htmx:after:settle", (event) => {
    if (!event.target.closest || !event.target.closest("#inspect-panel")) return;
    lightLearn();
    const card = document.getElementById("learn");
    if (card && !card.contains(document.activeElement) && document.activeElement === document.body) {
      card.focus({ preventScroll: true }); // a step swapped under the keyboard keeps it in the walk
    }
    // The accumulation table scrolls inside its own box (never the page) so that the row the
    // step-backwards walk has lit stays in sight.
    const row = document.querySelector("#inspect-walk tr.walk-current");
    const box = row && row.closest(".table-box");
    if (!box) return;
    const top = row.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    if (top < box.scrollTop + 24 || top > box.scrollTop + box.clientHeight - 24) {
      box.scrollTop = top - box.clientHeight / 2;
    }
  });
})();
