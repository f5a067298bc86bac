"""Groups the failures in schemathesis' JUnit reports by operation and check, with a
one-line reason each, and the roles and databases that saw them.

Usage: python summarize.py OUT_DIR  (run.sh writes OUT_DIR/schemathesis-findings.md)
"""

from __future__ import annotations

import collections
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TITLE = re.compile(r"^- (?:(ST\d+) )?(.+?)\s*$", re.M)


def problem_summary(block: str) -> str:
    """The status and the problem's code or field errors, from the answer shown."""
    status = re.search(r"^\[(\d{3})\]", block, re.M)
    body = re.search(r"^\s+`(\{.*\})`\s*$", block, re.M)
    text = f"[{status.group(1)}]" if status else ""
    if body:
        try:
            problem = json.loads(body.group(1))
        except ValueError:
            return f"{text} {body.group(1)[:120]}"
        errors = problem.get("errors") or []
        if errors:
            fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors[:3])
            return f"{text} {problem.get('code')}: {fields}"
        return f"{text} {problem.get('code')}: {problem.get('detail', '')[:120]}"
    return text


def reason(code: str, title: str, block: str) -> str:
    lines = [l.strip() for l in block.splitlines()[1:] if l.strip()]
    if code == "ST103":
        received = re.search(r"Received: (\S+)", block)
        documented = re.search(r"Documented: (.+)", block)
        got = received.group(1) if received else "?"
        return f"{got} not documented (documented: {documented.group(1) if documented else '?'}); {problem_summary(block)}"
    if code in ("ST202", "ST201"):
        request = re.search(r"curl (.+)$", block, re.M)
        sent = request.group(1)[:160] if request else ""
        return f"{problem_summary(block)} for `{sent}`"
    if code == "ST108":
        at = re.search(r"Schema at (\S+?):", block)
        first = next((l for l in lines if "Validated against" not in l), "")
        return f"{first[:200]} (schema at {at.group(1) if at else '?'})"
    if code == "ST204":
        return lines[0] if lines else title
    return "; ".join(lines[:2])[:240]


def main(out: Path) -> int:
    found: dict[tuple[str, str], dict] = {}
    for report in sorted(out.glob("*/schemathesis-*.xml")):
        backend = report.parent.name
        role = report.stem.removeprefix("schemathesis-")
        for case in ET.parse(report).getroot().iter("testcase"):
            operation = case.attrib.get("name", "?")
            for child in case:
                if child.tag not in ("failure", "error"):
                    continue
                text = f"{child.attrib.get('message', '')}\n{child.text or ''}"
                if child.tag == "error":
                    first = next((l for l in text.splitlines() if l.strip()), "error")
                    detail = re.search(r"^(Nothing satisfies.*|.*Error:.*)$", text, re.M)
                    key = (operation, f"error: {first.strip()}")
                    entry = found.setdefault(key, {"reasons": collections.Counter(), "who": set()})
                    entry["reasons"][(detail.group(1) if detail else first)[:240]] += 1
                    entry["who"].add(f"{backend}/{role}")
                    continue
                titles = list(TITLE.finditer(text))
                for n, match in enumerate(titles):
                    end = titles[n + 1].start() if n + 1 < len(titles) else len(text)
                    code, title = match.group(1) or "", match.group(2)
                    title = re.sub(r" \(\d+ violations?\)", "", title)
                    block = text[match.start():end]
                    key = (operation, f"{code} {title}".strip())
                    entry = found.setdefault(key, {"reasons": collections.Counter(), "who": set()})
                    entry["reasons"][reason(code, title, block)] += 1
                    entry["who"].add(f"{backend}/{role}")
    lines = [f"# schemathesis failures ({len(found)} operation × check)", ""]
    by_check = collections.defaultdict(list)
    for (operation, check), entry in found.items():
        by_check[check].append((operation, entry))
    for check in sorted(by_check):
        lines.append(f"## {check} ({len(by_check[check])} operations)")
        for operation, entry in sorted(by_check[check]):
            who = ", ".join(sorted(entry["who"]))
            top = [r for r, _ in entry["reasons"].most_common(2)]
            lines.append(f"- `{operation}` [{who}]: {top[0]}")
            for extra in top[1:]:
                lines.append(f"  - also: {extra}")
        lines.append("")
    (out / "schemathesis-findings.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
