"""The public year report as a file: PDF and HTML with charts (matplotlib), CSV and JSON with the same figures.

Everything drawn or written comes from `YearReport.published()` or the report's own monthly series, with small counts
as "<5" (a bar under five is drawn empty and labelled "<5"), so no output can show a figure the published table
would not. HTML is one self-contained file (charts inline as PNG, every text escaped).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

from console.errors import UserError
from console.services.transparency_report import SMALL, YearReport, shown

FORMATS = ("pdf", "html", "csv", "json")


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display, no Qt: the report is made on a server too
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return out.getvalue()


def _bars(ax, labels, values, colour) -> None:
    heights = [0 if 0 < v < SMALL else v for v in values]
    bars = ax.bar(range(len(labels)), heights, color=colour)
    for bar, value in zip(bars, values):
        ax.annotate(str(shown(value)), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                    va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, max(max(heights, default=0), SMALL) * 1.15)
    ax.yaxis.set_major_locator(_ticks())
    ax.spines[["top", "right"]].set_visible(False)


def _ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def charts(report: YearReport) -> list[tuple[str, bytes]]:
    """(title, PNG) for each chart."""
    plt = _plt()
    short = [m[5:] for m in report.months]
    out = []
    fig, ax = plt.subplots(figsize=(7, 2.8))
    # A month with 1 to 4 cameras is not drawn (a gap in the line), as the table shows it as "<5".
    ax.plot(short, [float("nan") if 0 < v < SMALL else v for v in report.cameras_registered], marker="o",
            label="registered")
    ax.plot(short, [float("nan") if 0 < v < SMALL else v for v in report.cameras_live], marker="s",
            label="live-capable")
    ax.set_ylabel("cameras (gaps: <5)")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(_ticks())
    ax.legend(fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    out.append((f"Cameras in the registry at each month's end, {report.year}", _png(fig)))
    fig, ax = plt.subplots(figsize=(7, 2.8))
    _bars(ax, short, report.views_by_month, "#3b6ea8")
    ax.set_ylabel("live views")
    out.append((f"Live views by month, {report.year}", _png(fig)))
    for title, values, colour in (("Live views by purpose (CAD incident type)", report.views_by_purpose, "#5b8c5a"),
                                  ("Denied live views by rule", report.denials_by_rule, "#a84b3b"),
                                  ("Footage requests by outcome", report.footage_requests, "#8a6d3b")):
        if values:
            fig, ax = plt.subplots(figsize=(7, 2.8))
            labels = sorted(values)
            _bars(ax, labels, [values[k] for k in labels], colour)
            out.append((title, _png(fig)))
    return out


def _rows(report: YearReport) -> list[tuple[str, str]]:
    """(measure, value) lines of the published table."""
    figures = report.published()
    rows = [("live views", str(figures["live_views"])),
            ("median minutes per view", "n/a" if report.median_view_minutes is None else
             f"{report.median_view_minutes:.1f}"),
            ("longest view (minutes)", "n/a" if report.longest_view_minutes is None else
             f"{report.longest_view_minutes:.1f}"),
            ("contact details revealed", str(figures["contact_reveals"])),
            ("retention runs", str(figures["retention_runs"])),
            ("legal holds placed", str(figures["legal_holds_placed"])),
            ("legal holds released", str(figures["legal_holds_released"])),
            ("audit trail intact", "yes" if report.chain_intact else "NO")]
    for name, key in (("owner alerts", "owner_alerts_by_source"), ("footage requests", "footage_requests_by_outcome"),
                      ("denied views", "denied_views_by_rule"), ("records purged", "retention_purged_by_kind"),
                      ("live views for", "live_views_by_purpose")):
        rows += [(f"{name}: {label}", str(value)) for label, value in figures[key].items()]
    last = figures["cameras_at_month_end"][-1]
    rows += [("cameras registered at year end", str(last["registered"])),
             ("of them live-capable", str(last["live_capable"]))]
    return rows


INTRO = ("Counts only: no names, addresses, camera positions, user names or reasons. Counts from 1 to 4 are shown "
         "as \"<5\". Live views are those the console opened; a live view needs the owner's consent, and every one "
         "is in the signed audit trail.")


def write(report: YearReport, fmt: str, path: Path) -> None:
    if fmt not in FORMATS:
        raise UserError(f"the year report is written as {', '.join(FORMATS)}, not {fmt!r}")
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        if fmt == "json":
            path.write_text(json.dumps(report.published(), sort_keys=True, indent=1) + "\n", encoding="utf-8")
        elif fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(("measure", "value"))
            writer.writerows(_rows(report))
            for m, r, lv, v in zip(report.months, report.cameras_registered, report.cameras_live,
                                   report.views_by_month):
                writer.writerows(((f"{m} cameras registered", shown(r)), (f"{m} live-capable", shown(lv)),
                                  (f"{m} live views", shown(v))))
            path.write_text(out.getvalue(), encoding="utf-8")
        elif fmt == "html":
            path.write_text(_html(report), encoding="utf-8")
        else:
            path.write_bytes(_pdf(report))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def _html(report: YearReport) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>Camera registry report {report.year}</title>",
             "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto}td{padding:.2em .8em}"
             "td+td{text-align:right}</style>",
             f"<h1>Camera registry: public report for {report.year}</h1><p>{e(INTRO)}</p><table>"]
    parts += [f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in _rows(report)]
    parts.append("</table>")
    for title, png in charts(report):
        parts.append(f"<h2>{e(title)}</h2><img alt=\"{e(title)}\" src=\"data:image/png;base64,"
                     f"{base64.b64encode(png).decode()}\">")
    return "".join(parts) + "</html>\n"


def _pdf(report: YearReport) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.cell(0, 9, f"Camera registry: public report for {report.year}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    pdf.multi_cell(0, 4.5, INTRO, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for key, value in _rows(report):
        pdf.cell(120, 5, key.encode("latin-1", "replace").decode("latin-1"))
        pdf.cell(30, 5, value, align="R", new_x="LMARGIN", new_y="NEXT")
    for title, png in charts(report):
        if pdf.get_y() > 200:
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
        pdf.image(io.BytesIO(png), w=170)
    return bytes(pdf.output())
