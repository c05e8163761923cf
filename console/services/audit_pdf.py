"""The audit export as a PDF an auditor can hand to a court: header, chain verification, one row per event with its hash."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fpdf import FPDF

from console.domain.audit import AuditRecord, VerifyResult
from console.services.audit_reports import PlainNames, details_in_words, never_played, reason_of

# A Unicode TrueType font when the system has one (names and reasons are not always Latin-1);
# else the PDF core font, with characters it cannot show replaced.
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("C:/Windows/Fonts"), Path("/Library/Fonts"))
_FONT_FILES = {"": ("DejaVuSans.ttf", "arial.ttf", "Arial.ttf"), "B": ("DejaVuSans-Bold.ttf", "arialbd.ttf", "Arial Bold.ttf")}
_MONO_FILES = ("DejaVuSansMono.ttf", "consola.ttf")

_HEADINGS = ("Seq", "Time (UTC)", "User", "Workstation", "Action", "Outcome", "Camera (label, address)",
             "CAD number", "Reason", "Details", "SHA-256 of event")
_WIDTHS = (10, 26, 18, 18, 18, 14, 42, 20, 36, 52, 23)  # mm; landscape A4 leaves 277
_SIZE_PT = 6.0
_CHAR_MM = _SIZE_PT * 0.6 * 25.4 / 72  # every monospace glyph is 0.6 em wide
_LINE_MM = 2.7
_PAD_MM = 0.6


class _Report(FPDF):
    title_text = "Audit log export"

    def header(self) -> None:
        self.set_font(self.body_font, "B", 9)
        self.cell(0, 6, self.title_text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body_font, "", 7)
        self.cell(0, 6, f"page {self.page_no()} of {{nb}}", align="C")


def _find(names: tuple[str, ...]) -> Path | None:
    for folder in _FONT_DIRS:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def _setup_fonts(pdf: _Report) -> bool:
    regular, bold, mono = _find(_FONT_FILES[""]), _find(_FONT_FILES["B"]), _find(_MONO_FILES)
    if regular and bold and mono:
        pdf.add_font("body", "", str(regular))
        pdf.add_font("body", "B", str(bold))
        pdf.add_font("mono", "", str(mono))
        pdf.body_font, pdf.mono_font = "body", "mono"
        return True
    pdf.body_font, pdf.mono_font = "helvetica", "courier"
    return False


def pdf_bytes(records: list[AuditRecord], meta: dict) -> bytes:
    pdf = _Report(orientation="L", unit="mm", format="A4")
    unicode_ok = _setup_fonts(pdf)

    def shown(text: str) -> str:
        return text if unicode_ok else text.encode("latin-1", "replace").decode("latin-1")

    pdf.set_title("Audit log export")
    pdf.set_creator("Community Connect Console")
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_page()
    verification: VerifyResult = meta["verification"]
    pdf.set_font(pdf.body_font, "", 9)
    lines = [
        f"Generated {meta['generated_at']} by {meta['generated_by']} on workstation {meta['workstation']}.",
        f"Filters: {', '.join(f'{k}={v}' for k, v in sorted(meta['filters'].items())) or 'none (every event)'}.",
        f"Events in this export: {len(records)}.",
    ]
    for line in lines:
        pdf.multi_cell(0, 5, shown(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.body_font, "B", 10)
    pdf.set_text_color(0, 100, 0) if verification.ok else pdf.set_text_color(180, 0, 0)
    pdf.multi_cell(0, 6, shown("Chain verification of the whole audit log: " + verification.summary()), align="L",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    if verification.anchor:
        pdf.set_font(pdf.body_font, "", 8)
        pdf.multi_cell(0, 5, f"Anchor for later checks (rtic-console audit verify --anchor): {verification.anchor}",
                       new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.body_font, "", 7)
    pdf.multi_cell(0, 4, "Camera, CAD number, reason and details are written out from each event and the registry "
                         "for reading; the hash covers the event as stored (camera and incident ids, details as JSON: "
                         "the CSV export carries both). "
                         "Each event's hash is the SHA-256 of its canonical form, the compact JSON array "
                         "[seq, occurred_at, username, workstation, action, outcome, camera_id, incident_id, details, "
                         "prev_hash], and each event's prev_hash is the hash of the event before it. "
                         "`rtic-console audit verify --anchor SEQ:HASH` re-checks the log against this export.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _EventTable(pdf, shown, meta.get("names") or PlainNames()).draw(records)
    return bytes(pdf.output())


class _EventTable:
    """Rows drawn by hand in a monospace font: fpdf2's table() measures every glyph and takes ~20 ms a row,
    too slow for a year of events; with fixed-width glyphs wrapping is plain string slicing."""

    def __init__(self, pdf: _Report, shown, names: PlainNames):
        self.pdf, self.shown, self.names = pdf, shown, names
        self.capacity = [max(1, int((width - 2 * _PAD_MM) / _CHAR_MM)) for width in _WIDTHS]

    def _lines(self, values) -> list[list[str]]:
        out = []
        for value, capacity in zip(values, self.capacity):
            lines: list[str] = []
            for part in self.shown(value).split("\n"):
                lines += textwrap.wrap(part, capacity, break_long_words=True, break_on_hyphens=False,
                                       drop_whitespace=False) or [""]
            out.append(lines)
        return out

    def _row(self, cells: list[list[str]], bold: bool = False) -> None:
        pdf = self.pdf
        height = max(len(lines) for lines in cells) * _LINE_MM + 2 * _PAD_MM
        if pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page()
            self._heading()
        x, y = pdf.l_margin, pdf.get_y()
        if bold:
            pdf.set_fill_color(225, 225, 225)
        for width, lines in zip(_WIDTHS, cells):
            pdf.rect(x, y, width, height, style="DF" if bold else "D")
            for n, line in enumerate(lines):
                pdf.text(x + _PAD_MM, y + _PAD_MM + (n + 0.8) * _LINE_MM, line)
            x += width
        pdf.set_y(y + height)

    def _heading(self) -> None:
        self.pdf.set_font(self.pdf.body_font, "B", _SIZE_PT)
        self._row([[h] for h in _HEADINGS], bold=True)
        self.pdf.set_font(self.pdf.mono_font, "", _SIZE_PT)

    def draw(self, records: list[AuditRecord]) -> None:
        self.pdf.set_draw_color(150, 150, 150)
        self.pdf.set_line_width(0.1)
        self._heading()
        for r in records:
            self._row(self._lines((
                str(r.seq), r.occurred_at.replace("T", " "), r.username, r.workstation, r.action.replace("_", " "),
                "never played" if never_played(r) else r.outcome, self.names.camera(r.camera_id),
                self.names.incident(r), reason_of(r), details_in_words(r),
                "\n".join(r.hash[i:i + 16] for i in range(0, 64, 16)),
            )))
