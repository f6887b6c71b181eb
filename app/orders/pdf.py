"""The page layout of the order PDFs (fpdf2, DejaVu for accents).

A module of its own so that fpdf2, which brings fontTools and costs a web worker ~15 MB, is imported
only when a PDF is built (app/orders/documents.py imports it inside its functions).
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "fonts"


class Document(FPDF):
    """An A4 document with the DejaVu fonts and the helpers the invoice and the packing slips use."""

    def __init__(self, title: str):
        super().__init__(format="A4")
        self.set_title(title)
        self.set_creator(current_app.config["BUSINESS_NAME"])
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)

    def heading(self, text: str, size: int = 16) -> None:
        self.set_font("DejaVu", "B", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def para(self, text: str, size: int = 10, bold: bool = False) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    def row(self, left: str, right: str, bold: bool = False) -> None:
        self.set_font("DejaVu", "B" if bold else "", 10)
        self.multi_cell(140, 6, left, new_x="RIGHT", new_y="TOP")
        self.multi_cell(0, 6, right, align="R", new_x="LMARGIN", new_y="NEXT")
