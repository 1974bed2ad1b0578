// BPTT Lab: the one behaviour htmx attributes cannot express.
// Clicking a name (generated, greedy or sampled) inspects it: the Inspect panel's
// input takes the name and fires "change", which that panel's htmx request listens to;
// the panel comes to the top of the window, where its first view fits.
const STILL = window.matchMedia("(prefers-reduced-motion: reduce)");
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-name]");
  const input = document.querySelector('[data-testid="inspect-input"]');
  if (!button || !input) return;
  input.value = button.dataset.name;
  input.dispatchEvent(new Event("change", { bubbles: true }));
  const behavior = STILL.matches ? "auto" : "smooth";
  document.getElementById("inspect-panel").scrollIntoView({ behavior, block: "start" });
});

// An older answer never overwrites a newer state: the run's blocks carry its version
// (data-version), and a swap that would put an older one over a newer one is dropped, whichever
// arrives last of a button's answer and the event stream's.
document.addEventListener("htmx:before:swap", (event) => {
  const tasks = event.detail.tasks || [];
  for (let i = tasks.length - 1; i >= 0; i--) {
    const { target, fragment } = tasks[i];
    const incoming = fragment && fragment.firstElementChild && fragment.firstElementChild.dataset
      ? fragment.firstElementChild.dataset.version : undefined;
    const shown = target && target.dataset ? target.dataset.version : undefined;
    if (incoming !== undefined && shown !== undefined && Number(incoming) < Number(shown)) tasks.splice(i, 1);
  }
});

// Start replaces the run on screen: when it has trained, the page asks first (hx-confirm on the
// form, kept in step with the run's state as the controls are re-rendered).
function startAsks() {
  const form = document.getElementById("train-form");
  const controls = document.getElementById("controls");
  if (!form || !controls) return;
  const trained = Number(controls.dataset.step || 0) > 0;
  if (trained) {
    form.setAttribute("hx-confirm", `Start throws away this run (step ${Number(controls.dataset.step).toLocaleString("en")}, ${controls.dataset.state}) and trains a new one with the settings below. Go on?`);
  } else {
    form.removeAttribute("hx-confirm");
  }
}
document.addEventListener("htmx:after:settle", startAsks);
document.addEventListener("DOMContentLoaded", startAsks);

// The page never contradicts the run: where the training form's settings (from the address or
// typed) differ from the running run's (#run-config, re-rendered with the controls), the note
// #run-differs names them and says that Start applies them.
function runDiffers() {
  const note = document.getElementById("run-differs");
  const run = document.getElementById("run-config");
  const form = document.getElementById("train-form");
  if (!note || !run || !form) return;
  const config = { ...JSON.parse(run.dataset.config || "{}"), dataset: run.dataset.dataset };
  const differ = [];
  for (const [key, have] of Object.entries(config)) {
    const field = form.elements.namedItem(key);
    if (!field || field.closest(".live-field")) continue; // live fields change the run at once
    const text = field.value.trim();
    const same = typeof have === "number" ? text !== "" && Number(text) === have
      : have === null ? text === "" : text === String(have);
    if (!same) {
      differ.push(`${key.replace(/_/g, " ")}: the form says ${text || "(empty)"}, the run has ${have === null ? "(none)" : have}`);
    }
  }
  note.hidden = differ.length === 0;
  note.querySelector(".which").textContent = differ.join("; ");
}
document.addEventListener("input", (event) => { if (event.target.form && event.target.form.id === "train-form") runDiffers(); });
document.addEventListener("change", (event) => { if (event.target.form && event.target.form.id === "train-form") runDiffers(); });
document.addEventListener("htmx:after:settle", runDiffers);
document.addEventListener("DOMContentLoaded", runDiffers);

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
  // The page of a run names it on every request; a visitor's own run is driven with its token,
  // kept in this browser's localStorage when the run was created here.
  const page = document.querySelector("main[data-run]");
  if (!page) return;
  event.detail.ctx.request.headers["X-BPTT-Run"] = page.dataset.run;
  // A request about one of "My runs" carries that run's token; any other, the page's run's.
  const about = event.target.closest ? event.target.closest("[data-run-id]") : null;
  const runToken = localStorage.getItem(RUN_TOKEN_KEY + (about ? about.dataset.runId : page.dataset.run));
  if (runToken && !token) event.detail.ctx.request.headers.Authorization = `Bearer ${runToken}`;
});

// "New run": the answer names the new run and its token (shown once); the token is kept in
// localStorage (losing it leaves the run watch-only) and the browser goes to the run's page.
const RUN_TOKEN_KEY = "bptt-lab-run-token:";
document.addEventListener("htmx:after:swap", () => {
  const experiment = document.querySelector("[data-preset-runs]");
  if (experiment) {
    for (const [run, token] of Object.entries(JSON.parse(experiment.dataset.presetRuns))) {
      localStorage.setItem(RUN_TOKEN_KEY + run, token);
    }
    // Acted on once: later swaps (the stream's) must not start the navigation again and abort it.
    experiment.removeAttribute("data-preset-runs");
    window.location.assign(experiment.dataset.compare);
    return;
  }
  const made = document.querySelector("[data-new-run]");
  if (!made) return;
  const run = made.dataset.newRun;
  made.removeAttribute("data-new-run");
  localStorage.setItem(RUN_TOKEN_KEY + run, made.dataset.token);
  window.location.assign(`/runs/${run}`);
});
document.addEventListener("DOMContentLoaded", () => {
  const page = document.querySelector("main[data-run]");
  const note = document.querySelector('[data-testid="run-token-note"]');
  if (!page || !note || page.dataset.run === "default") return;
  const mine = localStorage.getItem(RUN_TOKEN_KEY + page.dataset.run);
  note.textContent = mine
    ? "You drive this run: its token is kept in this browser's localStorage (lose it, and the run is watch-only)."
    : "You watch this run: its token is not in this browser, so only its owner or the teacher can drive it.";
});
document.addEventListener("DOMContentLoaded", () => {
  const note = document.getElementById("token-note");
  if (note && sessionStorage.getItem(TOKEN_KEY)) note.textContent = "a token is kept for this tab";
});

// /runs: the runs ticked for Compare stay ticked when the table is redrawn from the event stream.
const TICKED = new Set();
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box.matches || !box.matches('[data-testid="compare-tick"]')) return;
  if (box.checked) TICKED.add(box.value); else TICKED.delete(box.value);
});
document.addEventListener("htmx:after:swap", () => {
  for (const box of document.querySelectorAll('[data-testid="compare-tick"]')) box.checked = TICKED.has(box.value);
});
