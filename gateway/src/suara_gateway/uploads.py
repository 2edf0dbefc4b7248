"""Content checks and metadata stripping for the files a worker uploads.

Workers photograph payslips, contracts, passports and injuries on cheap phones, and sometimes
send a PDF. Those files routinely carry things that can identify the reporter to an employer:
GPS coordinates, the phone's make and serial-like model strings, capture times, the owner name
an app wrote into a PDF, an editor's XMP history, an EXIF thumbnail of the uncropped photo. So
nothing the worker sends is stored as sent: `clean` judges the type from the bytes alone,
refuses what it cannot make safe, and rebuilds what it accepts from content only:

* images (JPEG, PNG, WebP, GIF's first frame) are decoded to pixels, turned upright as the
  phone meant them, shrunk to a sensible size and re-encoded from those pixels alone, so no
  chunk, segment or profile of the original can survive;
* PDFs are rewritten page by page into a new document that has no document information
  dictionary, no XMP, no JavaScript, no embedded files and no open actions, and whose JPEG
  images lose their EXIF, XMP, comments and thumbnails.

The type is never taken from a file name or a declared content type: `clean` is not given
either, because a sender controls both. Refusals carry a machine-readable `code` and a plain
English `message` (from `MESSAGES`) so the gateway can translate them by code.

`clean` is synchronous and CPU-bound (decoding a 40-megapixel photo takes a while): callers in
async code should run it in a worker thread, e.g. ``await anyio.to_thread.run_sync(clean,
data)`` or ``await asyncio.to_thread(clean, data)``, so the event loop keeps serving others.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, StreamObject

__all__ = ["MESSAGES", "Cleaned", "Limits", "Refused", "check_file_count", "clean"]

MESSAGES: dict[str, str] = {
    "empty": "This file is empty. Choose the file again and send it.",
    "too-large": "This file is too big. Send a file under {limit}.",
    "not-allowed": (
        "This kind of file cannot be sent. Send a photo (JPEG, PNG, WebP or GIF) or a PDF."
    ),
    "unreadable": (
        "This file is damaged or incomplete and cannot be opened. "
        "Send it again, or take a new photo."
    ),
    "too-many-pixels": (
        "This picture is too large to open. Take a new photo, or send a screenshot of it."
    ),
    "encrypted-pdf": (
        "This PDF is locked with a password. "
        "Send a copy without a password, or send photos of the pages."
    ),
    "too-many-files": "You can send at most {limit} files at a time.",
}
"""English message template per refusal code. Translations are keyed on the code; the only
placeholder is ``{limit}``, and nothing from the file itself is ever formatted in."""


@dataclass(frozen=True)
class Limits:
    """What the gateway accepts. The defaults suit phone photos and scanned documents."""

    max_bytes: int = 10 * 1024 * 1024
    """Raw upload size, checked before any parsing."""
    max_pixels: int = 40_000_000
    """Width × height, checked from the header before decoding (decompression-bomb guard)."""
    max_side: int = 2560
    """Longest side of a stored image; larger photos are downscaled, which also drops detail
    nobody needs to read a payslip and keeps storage small."""
    max_files: int = 5
    """Files in one report; see `check_file_count`."""

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_side", "max_files"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be positive")


@dataclass(frozen=True)
class Cleaned:
    """A file rebuilt from its content alone, safe to store."""

    data: bytes
    media_type: str
    """"image/jpeg", "image/png" or "application/pdf"."""
    extension: str
    """"jpg", "png" or "pdf": for a stored name of our own choosing, never the sender's."""
    width: int | None
    """Pixels, for images; None for PDFs."""
    height: int | None


class Refused(Exception):
    """The upload cannot be accepted; `code` is for machines, `message` for the worker."""

    def __init__(self, code: str, limit: str | None = None) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(code, limit)  # args round-trip through pickle (process pools)
        self.code = code
        self.limit = limit
        self.message = MESSAGES[code].format(limit=limit)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def check_file_count(count: int, limits: Limits = Limits()) -> None:
    """Refuse a report carrying more than `limits.max_files` files ("too-many-files")."""
    if count > limits.max_files:
        raise Refused("too-many-files", str(limits.max_files))


def clean(data: bytes, limits: Limits = Limits()) -> Cleaned:
    """Check an upload and rebuild it without metadata, or raise `Refused`.

    The type is judged from the content only. Accepted: JPEG, PNG, WebP and GIF (first frame),
    re-encoded as JPEG, or PNG when transparency is used, and PDF, rewritten. Anything else
    (archives, programs, HTML, SVG, which can carry script, text, audio...) is "not-allowed".
    Any other failure to parse hostile bytes is reported as `Refused`, never as another error.

    Synchronous and CPU-bound: from async code run it in a thread (``anyio.to_thread.run_sync``
    or ``asyncio.to_thread``).
    """
    if not data:
        raise Refused("empty")
    if len(data) > limits.max_bytes:  # before any parsing: parsing costs memory and time
        raise Refused("too-large", _human_size(limits.max_bytes))
    data = bytes(data)
    kind = _sniff(data)
    if kind is None:
        raise Refused("not-allowed")
    if kind == "PDF":
        return _clean_pdf(data)
    return _clean_image(data, kind, limits)


# --- type detection ----------------------------------------------------------------------

def _sniff(data: bytes) -> str | None:
    """The accepted type the magic bytes announce: a Pillow format name, "PDF", or None.

    Pillow is then told to try only that format, so a file cannot be read as something other
    than what its first bytes claim, and Pillow's many other readers (TIFF, PSD, EPS...) stay
    out of reach of uploads.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"%PDF-"):
        return "PDF"
    return None


# --- images ------------------------------------------------------------------------------

def _clean_image(data: bytes, kind: str, limits: Limits) -> Cleaned:
    try:
        img = Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (about 89 M pixels; a warning, or an error at twice that). The
        # warning only arrives as an exception where warnings are errors (the tests); otherwise
        # the size check below refuses the image anyway.
        raise Refused("too-many-pixels") from exc
    except Exception as exc:  # the magic bytes promised an image Pillow cannot parse
        raise Refused("unreadable") from exc

    with img:
        width, height = img.size
        if width < 1 or height < 1:
            raise Refused("unreadable")
        if width * height > limits.max_pixels:  # from the header: nothing decoded yet
            raise Refused("too-many-pixels")
        try:
            if kind == "JPEG" and max(width, height) > limits.max_side:
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still leaves both
                # sides at least max_side: far less memory and time for big phone photos.
                img.draft(None, (limits.max_side, limits.max_side))
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise Refused("too-many-pixels") from exc
        except Exception as exc:  # truncated or corrupt pixel data
            raise Refused("unreadable") from exc
        try:
            upright = _upright(img)
            pixels = _fit(_normalise_mode(upright), limits.max_side)
            # Pixels only: a new image has an empty `info`, so no EXIF, XMP, ICC profile,
            # comment or PNG text can be carried into the encoder from the original.
            bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
        except Exception as exc:  # e.g. a palette that does not match the pixel data
            raise Refused("unreadable") from exc

    out = io.BytesIO()
    if bare.mode == "RGBA":
        bare.save(out, "PNG")
        media_type, extension = "image/png", "png"
    else:
        bare.save(out, "JPEG", quality=85, optimize=True)
        media_type, extension = "image/jpeg", "jpg"
    return Cleaned(out.getvalue(), media_type, extension, bare.width, bare.height)


def _upright(img: Image.Image) -> Image.Image:
    """The image turned as the EXIF orientation says, so the picture still looks right once
    the EXIF is gone. Broken EXIF must not cost the worker their evidence: keep it as stored."""
    try:
        turned = ImageOps.exif_transpose(img)
    except Exception:
        return img
    return turned if turned is not None else img


def _fit(img: Image.Image, max_side: int) -> Image.Image:
    """Downscaled so the longest side is `max_side`, aspect kept; never enlarged."""
    longest = max(img.size)
    if longest <= max_side:
        return img
    scale = max_side / longest
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _normalise_mode(img: Image.Image) -> Image.Image:
    """RGBA when transparency is actually used (encoded as PNG), else RGB or L (as JPEG).

    Palette, CMYK, YCbCr, 1-bit and 16-bit modes are converted; 16-bit grey is scaled down
    rather than clipped, which would turn most of the picture white.
    """
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        alpha_min, _ = rgba.getchannel("A").getextrema()
        if alpha_min < 255:
            return rgba
        return rgba.convert("RGB")  # an alpha channel that is fully opaque everywhere
    if img.mode in ("RGB", "L"):
        return img
    if img.mode == "1":
        return img.convert("L")
    if img.mode.startswith("I"):  # I;16, I;16B... (16-bit grey PNG) and I
        return img.convert("I").point(lambda v: v / 256).convert("L")
    return img.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX...


# --- PDFs --------------------------------------------------------------------------------

# Page keys that are metadata or behaviour rather than what the page shows.
_PAGE_DROPPED = ("/Metadata", "/PieceInfo", "/AA", "/Thumb", "/LastModified")
# Annotation kinds that carry files, media or script rather than marks on the page.
_ANNOTATION_DROPPED = frozenset({
    "/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D",
})
# Annotation keys that say who made a comment and when.
_ANNOTATION_AUTHOR = ("/T", "/M", "/CreationDate", "/NM")
# Actions that may stay on a link: going somewhere, nothing else (no script, launch, submit).
_ACTIONS_KEPT = frozenset({"/URI", "/GoTo"})


def _clean_pdf(data: bytes) -> Cleaned:
    """Copy the pages into a new document; the old catalog, trailer and history stay behind.

    A fresh `PdfWriter` has its own catalog holding only the page tree, so the original's
    /Metadata (XMP), /OpenAction, /AA, /Names (JavaScript, embedded files), /AcroForm scripts,
    /Outlines and file /ID are never copied; earlier incremental revisions are not either, as
    only objects the pages reach are written.
    """
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise Refused("unreadable") from exc
    if encrypted:
        raise Refused("encrypted-pdf")

    try:
        writer = PdfWriter()
        writer.metadata = None  # no /Info at all, not even pypdf's own /Producer
        pages = reader.pages
        if len(pages) == 0:
            raise Refused("unreadable")
        for page in pages:
            writer.add_page(page, excluded_keys=_PAGE_DROPPED)
        seen: set[int] = set()  # XObjects already scrubbed: pages share them
        for page in writer.pages:
            _scrub_annotations(page, seen)
            _scrub_resources(page.get("/Resources"), seen)
        out = io.BytesIO()
        writer.write(out)
    except Refused:
        raise
    except Exception as exc:
        raise Refused("unreadable") from exc
    return Cleaned(out.getvalue(), "application/pdf", "pdf", None, None)


def _scrub_annotations(page: DictionaryObject, seen: set[int]) -> None:
    annots = _resolve(page.get("/Annots"))
    if not isinstance(annots, list):
        return
    kept = []
    for ref in annots:
        annot = _resolve(ref)
        if not isinstance(annot, DictionaryObject):
            continue
        if annot.get("/Subtype") in _ANNOTATION_DROPPED:
            continue
        dropped = ("/AA", "/Metadata")
        if annot.get("/Subtype") != "/Widget":  # a widget's /T is its form field's name
            dropped += _ANNOTATION_AUTHOR
        for key in dropped:
            annot.pop(key, None)
        action = _resolve(annot.get("/A"))
        if action is not None:
            if not isinstance(action, DictionaryObject) or action.get("/S") not in _ACTIONS_KEPT:
                del annot["/A"]
            else:
                action.pop("/Next", None)  # a chained action could be a script
        appearance = _resolve(annot.get("/AP"))  # what the annotation looks like: may hold images
        if isinstance(appearance, DictionaryObject):
            for state in appearance.values():  # /N, /R, /D: a stream, or streams by state
                state = _resolve(state)
                if isinstance(state, StreamObject):
                    _scrub_xobject(state, seen)
                elif isinstance(state, DictionaryObject):
                    for stream in state.values():
                        _scrub_xobject(stream, seen)
        kept.append(ref)
    annots.clear()
    annots.extend(kept)


def _scrub_resources(resources: Any, seen: set[int]) -> None:
    resources = _resolve(resources)
    if not isinstance(resources, DictionaryObject):
        return
    xobjects = _resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        return
    for ref in xobjects.values():
        _scrub_xobject(ref, seen)


def _scrub_xobject(ref: Any, seen: set[int]) -> None:
    """Drop an XObject's XMP and private data; strip metadata segments from JPEG images, which
    photo-to-PDF apps embed byte for byte, EXIF and GPS included; recurse into forms."""
    xobj = _resolve(ref)
    if not isinstance(xobj, StreamObject) or id(xobj) in seen:
        return
    seen.add(id(xobj))
    for key in ("/Metadata", "/PieceInfo", "/LastModified"):
        xobj.pop(key, None)
    if xobj.get("/Subtype") == "/Image":
        if _filters(xobj) == ["/DCTDecode"]:
            # The raw stream bytes *are* the JPEG file. pypdf refuses to re-encode DCT streams,
            # so the plain StreamObject setter replaces them (/Length is recomputed on write).
            StreamObject.set_data(xobj, _strip_jpeg(xobj._data))
        _scrub_xobject(xobj.get("/SMask"), seen)  # a soft mask is an image too
    else:  # a form, or an appearance stream (which need not say /Form)
        _scrub_resources(xobj.get("/Resources"), seen)


def _resolve(obj: Any) -> Any:
    return None if obj is None else obj.get_object()


def _filters(stream: StreamObject) -> list[str]:
    filters = _resolve(stream.get("/Filter"))
    if filters is None:
        return []
    if isinstance(filters, list):
        return [str(f) for f in filters]
    return [str(filters)]


def _strip_jpeg(data: bytes) -> bytes:
    """The JPEG without APPn segments (EXIF, XMP, ICC, maker notes, Photoshop IRB, thumbnails)
    and comments, keeping only JFIF (APP0) and Adobe (APP14, which says how to read CMYK), and
    without anything after the end-of-image marker (phones append extra pictures there).

    Raises ValueError when the stream is not a JPEG this walk understands: the caller then
    refuses the PDF rather than store a JPEG it could not clean.
    """
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG stream")
    out = [b"\xff\xd8"]
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            raise ValueError("expected a marker")
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # end of image: drop any trailer
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            out.append(bytes((0xFF, marker)))
            continue
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > end:
            raise ValueError("segment runs past the end")
        payload = data[pos + 2:pos + length]
        segment = bytes((0xFF, marker)) + data[pos:pos + length]
        pos += length
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            if (marker == 0xE0 and payload.startswith(b"JFIF\x00")) or (
                marker == 0xEE and payload.startswith(b"Adobe")
            ):
                out.append(segment)
            continue
        out.append(segment)
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            start = pos
            while True:
                i = data.find(b"\xff", pos)
                if i < 0 or i + 1 >= end:  # no end-of-image marker: keep the scan as it is
                    out.append(data[start:])
                    pos = end
                    break
                following = data[i + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart
                    pos = i + 2
                    continue
                out.append(data[start:i])
                pos = i
                break
    out.append(b"\xff\xd9")
    return b"".join(out)


def _human_size(n: int) -> str:
    mib, kib = 1024 * 1024, 1024
    if n >= mib:
        return f"{n // mib} MB" if n % mib == 0 else f"{n / mib:.1f} MB"
    if n >= kib:
        return f"{n // kib} KB"
    return f"{n} bytes"
