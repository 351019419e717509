"""Write README.md from nbs/index.ipynb (the docs home page): its markdown, its visible code and their text outputs.

Relative links become links into the documentation site; figures are left on the site, with a note.
Usage: python tools/readme.py
"""
import json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = "https://smp-nb.github.io/smp-nb/"

def site_links(md: str) -> str:
    "Point relative Markdown links at the docs site (notebooks become .html pages)."
    def fix(m):
        text, url = m.group(1), m.group(2)
        if re.match(r"[a-z]+:|#|/", url): return m.group(0)
        page = re.sub(r"(^|/)\d+_", r"\1", re.sub(r"[.]ipynb", ".html", url))   # the site drops the numbers of page names
        return f"[{text}]({SITE}{page})"
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", fix, md)

def main():
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text())
    out = ["<!-- This file is generated from nbs/index.ipynb: edit the notebook instead. -->", ""]
    for c in nb["cells"]:
        src = "".join(c["source"]).strip()
        if c["cell_type"] == "markdown": out += [site_links(src), ""]; continue
        if src.startswith("#| hide") or not src: continue
        if "#| echo: false" not in src:
            out += ["```python", "\n".join(l for l in src.splitlines() if not l.startswith("#|")), "```", ""]
        for o in c.get("outputs", []):
            if "text/markdown" in o.get("data", {}):   # a table the cell builds (e.g. the supported families)
                out += ["".join(o["data"]["text/markdown"]).strip(), ""]
            elif o.get("output_type") == "stream" or "text/plain" in o.get("data", {}) and "image/png" not in o.get("data", {}):
                text = "".join(o.get("text") or o["data"]["text/plain"]).rstrip()
                out += ["\n".join("    " + l for l in text.splitlines()), ""]
            elif "image/png" in o.get("data", {}):
                out += [f"*(The heatmap is on the [documentation home page]({SITE}).)*", ""]
    (ROOT / "README.md").write_text("\n".join(out).rstrip() + "\n")

if __name__ == "__main__": main()
