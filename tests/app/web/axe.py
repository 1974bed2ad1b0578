"""axe-core in the browser tests: inject it (from npm, node_modules/axe-core) and run it on a page.

    serious_violations(page)   axe's violations of impact serious or critical, as readable lines

scripts/setup.sh installs axe-core with `npm ci` (a devDependency of package.json); a test that
needs it is skipped when it is missing. The <details> of the page are opened first, so that what
is behind them is checked too, and the animations that end are let end (a row fading in is not
yet at its contrast).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"

RUN = """async () => {
  const ending = document.getAnimations()
    .filter((a) => a.effect && a.effect.getTiming().iterations !== Infinity);
  await Promise.all(ending.map((a) => a.finished.catch(() => null)));  // contrast of the final state
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id} (${v.nodes.length}): ${v.help}: `
      + v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(" | "));
}"""


def serious_violations(page: Page, open_details: bool = True) -> list[str]:
    """What axe-core finds of impact serious or critical on the page as it stands."""
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: run npm ci (scripts/setup.sh)")
    if open_details:
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(RUN)
    return found
