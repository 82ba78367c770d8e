"""The report opened in a real headless browser (Debian's chromium, installed by .ci/run): a probe script added
to a copy of the report walks the Snakemake report app (its global ``app``, ``categories`` and ``results``)
and records what the DOM shows. Checked: every category and every analysis section (subcategory) is rendered in
the DOM, every figure (PNG and SVG) decodes in the page when shown, the run and checklist pages render, and the
browser's console shows no error and no uncaught exception."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from runner import REPO, run_snakemake

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())

PROBE = """
<script>
window.__probe = {errors: [], views: {}, images: {}, html: {}};
const __err = console.error.bind(console);
console.error = (...a) => { window.__probe.errors.push(a.map(String).join(" ")); __err(...a); };
window.addEventListener("error", ev => window.__probe.errors.push("uncaught: " + ev.message));
window.addEventListener("unhandledrejection", ev => window.__probe.errors.push("rejection: " + ev.reason));
</script>
"""

WALK = """
<script>
(async () => {
  const p = window.__probe, tick = ms => new Promise(r => setTimeout(r, ms));
  const out = document.createElement("pre"); out.id = "probe"; document.body.appendChild(out);
  const save = done => { p.done = done; out.textContent = JSON.stringify(p); };
  save(false);
  await tick(500);
  try {
    for (const cat of Object.keys(categories)) {
      app.setView({navbarMode: "category", category: cat});
      await tick(50);
      p.views[cat] = document.querySelector("#app").innerText;
    }
    for (const [path, entry] of Object.entries(results)) {
      const mime = path.endsWith(".svg") ? "svg" : path.endsWith(".png") ? "png" : path.endsWith(".html") ? "html" : "";
      if (!mime) continue;
      app.setView({content: mime === "html" ? "html" : "img", contentPath: entry.data_uri, resultPath: path});
      await tick(50);
      if (mime === "html") {
        const frame = document.querySelector("#app iframe");
        p.html[path] = frame ? "iframe" : "missing";
        continue;
      }
      const img = [...document.querySelectorAll("#app img")].find(i => i.src === entry.data_uri);
      if (!img) { p.images[path] = "not in the DOM"; continue; }
      p.images[path] = img.complete ? (img.naturalWidth > 0 ? "ok" : "does not decode") : "still loading";
      save(false);
    }
  } catch (e) { p.errors.push("probe: " + e); }
  save(true);
})();
</script>
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_report_in_a_headless_browser(default_run: Path, tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    report = tmp_path / "report.html"
    proc = run_snakemake(default_run, "--report", str(report), cores=1, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = report.read_text()
    head = html.index("<head>") + len("<head>")
    tail = html.rindex("</body>")
    probed = tmp_path / "probed.html"
    probed.write_text(html[:head] + PROBE + html[head:tail] + WALK + html[tail:])
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=120000", "--dump-dom", probed.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    m = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert m, "the probe did not finish: " + run.stdout[-500:]
    probe = json.loads(m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                       .replace("&amp;", "&"))
    assert probe["done"], "the probe did not walk the whole report"
    assert probe["errors"] == []
    assert not [ln for ln in run.stderr.splitlines() if "CONSOLE" in ln and "Uncaught" in ln]
    # every analysis section is rendered in the DOM of the Analyses category
    assert "Analyses" in probe["views"], sorted(probe["views"])
    missing = [a for a in CONFIG["analyses"] if a not in probe["views"]["Analyses"]]
    assert not missing, f"analysis sections not in the DOM: {missing}"
    assert {"1. Run", "2. Reporting checklists", "Cohorts"} <= set(probe["views"])
    # every figure decodes when shown; the analyses' PNG figures are all there
    assert probe["images"], "no figures in the report"
    bad = {k: v for k, v in probe["images"].items() if v != "ok"}
    assert not bad, bad
    for name in CONFIG["analyses"]:
        assert any(k.endswith(f"figures/{name}.png") for k in probe["images"]), name
    # the inline tables and pages render as HTML frames
    assert probe["html"] and all(v == "iframe" for v in probe["html"].values()), probe["html"]
    assert any(k.endswith("report/run.html") for k in probe["html"])
    assert any(k.endswith("report/strobe.html") for k in probe["html"])
