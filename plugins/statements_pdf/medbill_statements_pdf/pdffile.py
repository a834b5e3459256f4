"""The PDF file of a document drawn in the built-in fonts, written from fpdf's pages directly.

``FPDF.output`` builds an object per page, content stream, font, resources dictionary and the
document's information, and serializes each by listing and reading all its attributes: about
a third of a statement's rendering. A statement drawn in Helvetica is always the same few
objects (pages, catalog, a page and its content stream per page, the fonts, a resources
dictionary per page, the information dictionary): :func:`file_bytes` writes them, the bytes
fpdf writes (a test compares every document both ways, byte for byte), or ``None`` when the
document holds anything else (then fpdf writes it).
"""

from __future__ import annotations

import hashlib
import zlib
from binascii import hexlify
from codecs import BOM_UTF16_BE
from datetime import UTC
from typing import Any

_HEADER = "%PDF-1.4\n%\u00e9\u00eb\u00f1\u00bf\n".encode("latin-1")
_GROUP = "/Group <</Type /Group /S /Transparency /CS /DeviceRGB>>"
_PROC_SET = "/ProcSet [/PDF /Text /ImageB /ImageC /ImageI]"


def _string(value: str) -> str:
    """fpdf's ``PDFString``: ASCII in parentheses, anything else UTF-16 in hex."""
    if value.isascii():
        from fpdf.util import escape_parens

        return f"({escape_parens(value)})"
    return f"<{hexlify(BOM_UTF16_BE + value.encode('utf-16-be')).decode('latin-1')}>"


def _writable(pdf: Any) -> bool:
    """Only what this module writes: letter pages of text and paths in the built-in
    fonts, a page count known (no alias), no images, links, outline or other extras."""
    from fpdf.fonts import CoreFont

    extras = ("_security_handler", "_compliance", "_sign_key", "embedded_files", "links",
              "toc_placeholder", "_outline", "viewer_preferences", "xmp_metadata",
              "_output_intents", "single_resources_object")
    return (pdf.pdf_version == "1.4" and not pdf.buffer and pdf.page > 0
            and not any(getattr(pdf, name, True) for name in extras)
            and not pdf.image_cache.images and not pdf.struct_builder.doc_struct_elem.k
            and pdf.allow_images_transparency is True and pdf.compress in (True, False)
            and str(pdf.zoom_mode) == "fullwidth" and pdf.page_layout is not None
            and pdf.page_layout.value == "OneColumn"
            and all(isinstance(font, CoreFont) and font.name not in ("Symbol", "ZapfDingbats")
                    for font in pdf.fonts.values())
            and all(isinstance(page.contents, bytearray) and not page.annots
                    and page.dimensions() == pdf.default_page_dimensions
                    and not page.get_text_substitutions() for page in pdf.pages.values()))


def file_bytes(pdf: Any) -> bytes | None:
    """The file ``pdf.output()`` would write, or ``None`` when it holds what is not written
    here (see :func:`_writable`). ``pdf`` is left as it was (it can still be output)."""
    if not _writable(pdf):
        return None
    from fpdf.enums import PDFResourceType

    pages = [pdf.pages[number] for number in range(1, len(pdf.pages) + 1)]
    fonts = sorted(pdf.fonts.values(), key=lambda font: font.i)
    count = len(pages)
    font_ids = {font.i: 3 + 2 * count + n for n, font in enumerate(fonts)}
    resources_first = 3 + 2 * count + len(fonts)
    info_id = resources_first + count
    objects: list[str | tuple[str, bytes]] = []
    width, height = pdf.default_page_dimensions
    kids = "\n".join(f"{3 + 2 * n} 0 R" for n in range(count))
    objects.append(f"/Count {count}\n/Kids [{kids}]\n"
                   f"/MediaBox [0 0 {width:.2f} {height:.2f}]\n/Type /Pages")
    language = getattr(pdf, "lang", None)
    lang = f"/Lang {_string(language)}\n" if language else ""
    objects.append(f"{lang}/OpenAction [3 0 R /FitH null]\n/PageLayout /OneColumn\n"
                   "/Pages 1 0 R\n/Type /Catalog")
    for n, page in enumerate(pages):
        objects.append(f"/Contents {4 + 2 * n} 0 R\n{_GROUP}\n/Parent 1 0 R\n"
                       f"/Resources {resources_first + n} 0 R\n/Type /Page")
        contents = bytes(page.contents)
        if pdf.compress:
            contents = zlib.compress(contents, level=-1)
            objects.append((f"/Filter /FlateDecode\n/Length {len(contents)}", contents))
        else:
            objects.append((f"/Length {len(contents)}", contents))
    for font in fonts:
        objects.append(f"/BaseFont /{font.name}\n/Encoding /WinAnsiEncoding\n"
                       "/Subtype /Type1\n/Type /Font")
    catalog = pdf._resource_catalog
    for number in range(1, count + 1):
        used = sorted(int(i) for i in catalog.get_resources_per_page(
            number, PDFResourceType.FONT))
        if used:
            names = "\n".join(f"/F{i} {font_ids[i]} 0 R" for i in used)
            objects.append(f"/Font <<{names}>>\n{_PROC_SET}")
        else:
            objects.append(_PROC_SET)
    created = pdf.creation_date
    if created and created.tzinfo != UTC:
        return None
    entries = {key: getattr(pdf, key.lower(), None) for key in (
        "Author", "Creator", "Keywords", "Producer", "Subject", "Title")}
    entries["CreationDate"] = f"D:{created:%Y%m%d%H%M%SZ}" if created else None
    info = [f"/{key} {_string(value)}" for key, value in sorted(entries.items()) if value]
    objects.append("\n".join(info))
    assert len(objects) == info_id
    buffer = bytearray(_HEADER)
    offsets = []
    for number, item in enumerate(objects, start=1):
        offsets.append(len(buffer))
        if isinstance(item, tuple):
            head, stream = item
            buffer += (f"{number} 0 obj\n<<\n{head}\n>>\nstream\n").encode("latin-1")
            buffer += stream
            buffer += b"\nendstream\nendobj\n"
        else:
            buffer += f"{number} 0 obj\n<<\n{item}\n>>\nendobj\n".encode("latin-1")
    startxref = len(buffer)
    file_id = hashlib.md5(buffer, usedforsecurity=False)
    if created:
        file_id.update(created.strftime("%Y%m%d%H%M%S").encode("utf8"))
    digest = file_id.hexdigest().upper()
    xref = "".join(f"{offset:010} 00000 n \n" for offset in offsets)
    buffer += (f"xref\n0 {info_id + 1}\n0000000000 65535 f \n{xref}trailer\n<<\n"
               f"/Size {info_id + 1}\n/Root 2 0 R\n/Info {info_id} 0 R\n"
               f"/ID [<{digest}><{digest}>]\n>>\nstartxref\n{startxref}\n%%EOF\n"
               ).encode("latin-1")
    return bytes(buffer)
