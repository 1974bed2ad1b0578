// What axe cannot check, run in the page by tests/app/web/test_screens_browser.py.
// Each function's name is the key the test reads it by.

// smallControls: controls smaller than 24 x 24 px (WCAG 2.2 target size), a control wrapped in
// its label measured with the label; links inside sentences are not controls here.
const smallControls = () => [...document.querySelectorAll('button, select, input:not([type=hidden]), summary, .learn-steps a')]
  .filter((el) => el.offsetParent !== null && !el.closest('[hidden], .skip'))
  .map((el) => [el, (el.closest('label') || el).getBoundingClientRect()])
  .filter(([el, r]) => r.width > 0 && (r.height < 24 || r.width < 24))
  .map(([el, r]) => `${el.tagName}#${el.id}.${el.className} ${Math.round(r.width)}x${Math.round(r.height)}`);

// overlaps: text over other text: the line boxes of leaf elements with their own text, compared
// pairwise (a few px of slack for sub- and superscripts), outside scrolling boxes and charts.
const overlaps = () => {
  const leaves = [...document.querySelectorAll('body *')].filter((el) => el.offsetParent !== null
    && [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
    && !el.closest('svg, .unrolled-box, .table-box, .scroll-x, .grad-box, .skip, [hidden]'));
  const lines = leaves.flatMap((el) => [...el.getClientRects()].filter((r) => r.width > 0 && r.height > 0).map((r) => [el, r]));
  const out = [];
  for (let a = 0; a < lines.length; a++) for (let b = a + 1; b < lines.length; b++) {
    const [ea, ra] = lines[a], [eb, rb] = lines[b];
    if (ea === eb || ea.contains(eb) || eb.contains(ea)) continue;
    const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (w > 4 && h > 6) out.push(`${ea.tagName}.${ea.className} "${ea.textContent.trim().slice(0, 20)}" / ${eb.tagName}.${eb.className} "${eb.textContent.trim().slice(0, 20)}"`);
  }
  return out.slice(0, 10);
};
