"""Uploads: the type is judged from content alone, and nothing that could identify a reporter
(EXIF, GPS, camera, XMP, comments, ICC, PNG text, PDF info/XMP/scripts/attachments, metadata
inside a PDF's JPEGs) survives `clean`. All files are made in memory."""

from __future__ import annotations

import io
import pickle
import random
import struct
import zipfile
import zlib

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from PIL.TiffImagePlugin import IFDRational
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript, PageTrigger
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from suara_gateway.uploads import (
    MESSAGES,
    Cleaned,
    Limits,
    Refused,
    check_file_count,
    clean,
)

MAKE = "SuaraTestCam"
MODEL = "Model S-42"
NAME = "Siti Rahayu"
XMP = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{NAME}</dc:creator></x:xmpmeta>'.encode()
RED, BLUE = (255, 0, 0), (0, 0, 255)

# --- helpers -----------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def open_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int = 1) -> Image.Exif:
    """What a phone writes: camera, time, orientation and a GPS fix (Jakarta)."""
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif[0x0132] = "2024:05:06 07:08:09"
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[0x01] = "S"  # GPSLatitudeRef
    gps[0x02] = (IFDRational(6), IFDRational(12), IFDRational(61, 2))  # GPSLatitude
    gps[0x03] = "E"
    gps[0x04] = (IFDRational(106), IFDRational(49), IFDRational(10))  # GPSLongitude
    gps[0x12] = "WGS-84"  # GPSMapDatum
    gps[0x1B] = b"ASCII\x00\x00\x00GPS"  # GPSProcessingMethod
    return exif


def halves(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    img = Image.new("RGB", size, RED)
    img.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return img


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the first scan."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append(data[pos + 4:pos + 8])
        pos += 12 + length
    return chunks


def metadata_free_jpeg(data: bytes) -> None:
    """Header segments are only JFIF (APP0), tables and frame: no APP1 (EXIF/XMP), APP2 (ICC),
    APP13 (IPTC) or COM."""
    markers = jpeg_markers(data)
    assert not [m for m in markers if (0xE1 <= m <= 0xEF) or m == 0xFE], [hex(m) for m in markers]


def pdf_with_jpeg(jpeg: bytes, size: tuple[int, int], mode: str = "/DeviceRGB") -> bytes:
    """A hand-built one-page PDF showing `jpeg` byte for byte, as photo-to-PDF apps make them."""
    width, height = size
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject << /Im0 4 0 R"
        b" >> >> /Contents 5 0 R >>" % (width, height),
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s"
        b" /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
        % (width, height, mode.encode(), len(jpeg), jpeg),
    ]
    content = b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % (width, height)
    objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def pdf_bytes(writer: PdfWriter) -> bytes:
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def refused(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(Refused) as caught:
        clean(data, limits or Limits())
    return caught.value.code


# --- images: metadata --------------------------------------------------------------------


def test_jpeg_loses_exif_gps_camera_xmp_comment_and_icc() -> None:
    original = encode(
        halves((400, 200)), "JPEG", exif=camera_exif(orientation=6), comment=f"by {NAME}".encode(),
        xmp=XMP, icc_profile=icc_profile(),
    )
    before = open_image(original)  # the fixture really carries everything we mean to strip
    assert before.getexif().get_ifd(0x8825)[0x01] == "S"
    assert {"exif", "xmp", "comment", "icc_profile"} <= before.info.keys()
    for needle in (b"Exif", b"GPS", b"<x:xmpmeta", MAKE.encode(), MODEL.encode(), NAME.encode()):
        assert needle in original

    result = clean(original)

    assert (result.media_type, result.extension) == ("image/jpeg", "jpg")
    after = open_image(result.data)
    assert after.format == "JPEG"
    assert len(after.getexif()) == 0
    assert not {"exif", "xmp", "comment", "icc_profile"} & after.info.keys()
    for needle in (b"Exif", b"GPS", b"<x:xmpmeta", b"xmp", MAKE.encode(), MODEL.encode(),
                   NAME.encode(), b"2024:05:06", b"WGS-84"):
        assert needle not in result.data, needle
    metadata_free_jpeg(result.data)
    # orientation 6 was honoured before the tag went: 400x200 stored, 200x400 shown
    assert (result.width, result.height) == after.size == (200, 400)


@pytest.mark.parametrize(
    ("orientation", "size", "top_left", "bottom_right"),
    [
        (1, (40, 20), RED, BLUE),
        (3, (40, 20), BLUE, RED),  # turned 180°
        (6, (20, 40), RED, BLUE),  # turned 90° clockwise: the left half is now on top
        (8, (20, 40), BLUE, RED),  # turned 90° anticlockwise: the left half is now below
    ],
)
def test_exif_orientation_is_applied_to_the_pixels(
    orientation: int, size: tuple[int, int], top_left: tuple[int, int, int],
    bottom_right: tuple[int, int, int],
) -> None:
    result = clean(encode(halves(), "JPEG", exif=camera_exif(orientation), quality=95))
    after = open_image(result.data)
    assert after.size == size
    assert close_to(after.getpixel((1, 1)), top_left)
    assert close_to(after.getpixel((after.width - 2, after.height - 2)), bottom_right)


def test_png_with_text_chunks_and_transparency_stays_png_without_chunks() -> None:
    img = Image.new("RGBA", (30, 30), (0, 128, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, 10, 10))  # a transparent corner
    info = PngInfo()
    info.add_text("Author", NAME)  # tEXt
    info.add_text("Comment", f"payslip of {NAME}", zip=True)  # zTXt
    info.add_itxt("Description", f"{NAME} at the factory", lang="id")  # iTXt
    original = encode(img, "PNG", pnginfo=info, exif=camera_exif(), icc_profile=icc_profile())
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunks(original))

    result = clean(original)

    assert (result.media_type, result.extension) == ("image/png", "png")
    assert set(png_chunks(result.data)) <= {b"IHDR", b"IDAT", b"IEND"}
    after = open_image(result.data)
    assert after.mode == "RGBA"
    assert after.getpixel((2, 2))[3] == 0  # transparency kept
    assert after.getpixel((20, 20)) == (0, 128, 0, 255)
    assert not after.text
    assert not {"exif", "icc_profile", "xmp"} & after.info.keys()
    for needle in (NAME.encode(), MAKE.encode(), b"Exif"):
        assert needle not in result.data


def test_png_without_transparency_becomes_jpeg() -> None:
    info = PngInfo()
    info.add_text("Author", NAME)
    result = clean(encode(halves(), "PNG", pnginfo=info))
    assert result.media_type == "image/jpeg"
    assert NAME.encode() not in result.data
    assert close_to(open_image(result.data).getpixel((1, 1)), RED)


def test_alpha_channel_that_is_opaque_everywhere_becomes_jpeg() -> None:
    result = clean(encode(Image.new("RGBA", (10, 10), (1, 2, 3, 255)), "PNG"))
    assert result.media_type == "image/jpeg"
    assert open_image(result.data).mode == "RGB"


def test_webp_is_accepted_as_jpeg_or_png() -> None:
    opaque = clean(encode(halves(), "WEBP", exif=camera_exif().tobytes(), xmp=XMP))
    assert opaque.media_type == "image/jpeg"
    assert close_to(open_image(opaque.data).getpixel((1, 1)), RED)
    for needle in (MAKE.encode(), NAME.encode(), b"Exif"):
        assert needle not in opaque.data
    see_through = clean(encode(Image.new("RGBA", (16, 16), (0, 0, 255, 0)), "WEBP", lossless=True))
    assert see_through.media_type == "image/png"
    assert open_image(see_through.data).getpixel((3, 3))[3] == 0


def test_gif_first_frame_is_accepted() -> None:
    frames = [Image.new("P", (12, 12), 0), Image.new("P", (12, 12), 1)]
    for frame in frames:
        frame.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    animated = encode(frames[0], "GIF", save_all=True, append_images=frames[1:],
                      comment=NAME.encode())
    result = clean(animated)
    assert result.media_type == "image/jpeg"
    assert close_to(open_image(result.data).getpixel((5, 5)), RED)  # the first frame
    assert NAME.encode() not in result.data


def test_gif_with_transparency_becomes_png() -> None:
    frame = Image.new("P", (12, 12), 0)
    frame.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    frame.paste(1, (0, 0, 6, 12))
    result = clean(encode(frame, "GIF", transparency=1))
    assert result.media_type == "image/png"
    after = open_image(result.data)
    assert after.getpixel((1, 1))[3] == 0
    assert after.getpixel((10, 1)) == (255, 0, 0, 255)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    result = clean(encode(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG"))
    after = open_image(result.data)
    assert after.mode == "RGB"
    assert close_to(after.getpixel((5, 5)), RED)


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    img = Image.new("I;16", (8, 8), 32768)  # mid grey
    assert img.getpixel((4, 4)) == 32768
    result = clean(encode(img, "PNG"))
    after = open_image(result.data)
    assert after.mode == "L"
    assert abs(after.getpixel((4, 4)) - 128) <= 3  # clipping would give 255


def test_palette_png_without_transparency_becomes_jpeg() -> None:
    img = Image.new("P", (10, 10), 1)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    result = clean(encode(img, "PNG"))
    assert result.media_type == "image/jpeg"
    assert close_to(open_image(result.data).getpixel((5, 5)), BLUE)


def test_data_after_the_image_does_not_survive() -> None:
    """A JPEG/ZIP polyglot (or a phone's trailer with more pictures) is cut to the picture."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("secret-list-of-names.txt", NAME)
    result = clean(encode(halves(), "JPEG") + archive.getvalue())
    assert b"PK\x03\x04" not in result.data
    assert b"secret-list-of-names" not in result.data


# --- images: size ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [((5000, 3000), (2560, 1536)), ((3000, 5000), (1536, 2560)), ((2560, 100), (2560, 100))],
)
def test_large_photos_are_downscaled_to_max_side(
    size: tuple[int, int], expected: tuple[int, int],
) -> None:
    result = clean(encode(Image.new("RGB", size, (10, 200, 30)), "JPEG", quality=50))
    assert (result.width, result.height) == expected
    after = open_image(result.data)
    assert after.size == expected
    assert close_to(after.getpixel((expected[0] // 2, expected[1] // 2)), (10, 200, 30))


def test_max_side_is_configurable_and_small_images_are_not_enlarged() -> None:
    result = clean(encode(halves((400, 200)), "PNG"), Limits(max_side=100))
    assert (result.width, result.height) == (100, 50)
    small = clean(encode(halves((40, 20)), "PNG"), Limits(max_side=100))
    assert (small.width, small.height) == (40, 20)


def test_too_many_pixels() -> None:
    limits = Limits(max_pixels=10_000)
    assert refused(encode(Image.new("RGB", (101, 100)), "PNG"), limits) == "too-many-pixels"
    assert clean(encode(Image.new("RGB", (100, 100)), "PNG"), limits).width == 100


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but holds no pixel data: decoding it would fail."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_pixel_count_is_checked_before_decoding() -> None:
    """Refused for its size, not as unreadable: the check reads the header and decodes nothing."""
    assert refused(png_header_only(100, 100)) == "unreadable"  # the fixture cannot decode
    assert refused(png_header_only(2000, 2000), Limits(max_pixels=1_000_000)) == "too-many-pixels"
    # far past Pillow's own bomb guard too: still a refusal, not a crash
    assert refused(png_header_only(50_000, 50_000)) == "too-many-pixels"


# --- refusals ----------------------------------------------------------------------------


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


NOT_ALLOWED = {
    "html": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "zip": _zip(),
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
           b"</script></svg>",
    "svg-bare": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    "elf": b"\x7fELF\x02\x01\x01\x00" + bytes(200),
    "exe": b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200),
    "text": b"Saya dipaksa kerja lembur tanpa bayaran.",
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40),
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100),
    "random": random.Random(7).randbytes(4096),
    # formats Pillow reads but uploads do not accept (TIFF is all metadata)
    "tiff": encode(Image.new("RGB", (4, 4)), "TIFF"),
    "bmp": encode(Image.new("RGB", (4, 4)), "BMP"),
    "pdf-not-at-start": b"junk\n" + pdf_bytes(PdfWriter()),
}


@pytest.mark.parametrize("data", NOT_ALLOWED.values(), ids=NOT_ALLOWED.keys())
def test_other_kinds_of_file_are_not_allowed(data: bytes) -> None:
    assert refused(data) == "not-allowed"


def _truncated_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    return pdf_bytes(writer)[:30]


UNREADABLE = {
    "truncated-jpeg": encode(halves((200, 200)), "JPEG")[:300],
    "truncated-png": encode(halves((200, 200)), "PNG")[:60],
    "jpeg-magic-then-garbage": b"\xff\xd8\xff\xe0" + random.Random(1).randbytes(500),
    "gif-header-only": b"GIF89a",
    "webp-header-only": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "pdf-garbage": b"%PDF-1.7\n" + random.Random(2).randbytes(500),
    "truncated-pdf": _truncated_pdf(),
}


@pytest.mark.parametrize("data", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_broken_images_and_pdfs_are_unreadable(data: bytes) -> None:
    assert refused(data) == "unreadable"


def test_empty() -> None:
    assert refused(b"") == "empty"


def test_too_large_is_checked_first() -> None:
    limits = Limits(max_bytes=100)
    assert refused(b"<html>" + bytes(95), limits) == "too-large"  # before it is even sniffed
    png = encode(Image.new("RGB", (1, 1)), "PNG")
    assert len(png) <= 100
    assert clean(png, limits).width == 1  # exactly at or under the limit is fine
    with pytest.raises(Refused) as caught:
        clean(bytes(10 * 1024 * 1024 + 1))
    assert caught.value.message == "This file is too big. Send a file under 10 MB."
    assert caught.value.limit == "10 MB"


# --- PDFs --------------------------------------------------------------------------------


def test_pdf_loses_info_xmp_scripts_attachments_and_open_action() -> None:
    writer = PdfWriter()
    writer.add_blank_page(200, 300)
    writer.add_blank_page(200, 300)
    writer.add_metadata({"/Author": NAME, "/Title": "x", "/Creator": "Scanner of " + NAME})
    xmp = DecodedStreamObject()
    xmp.set_data(XMP)
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    xmp[NameObject("/Subtype")] = NameObject("/XML")
    xmp_ref = writer._add_object(xmp)
    writer.root_object[NameObject("/Metadata")] = xmp_ref
    writer.pages[0][NameObject("/Metadata")] = xmp_ref  # page-level XMP too
    writer.add_open_action(JavaScript("app.alert('names');"))  # document-level script
    open_action = writer._add_object(JavaScript("app.alert('open');"))
    writer.root_object[NameObject("/OpenAction")] = open_action
    writer.pages[1].add_action(PageTrigger.OPEN, JavaScript("app.alert('page');"))  # page /AA
    writer.add_attachment("passport.txt", f"passport of {NAME}".encode())
    original = pdf_bytes(writer)
    before = PdfReader(io.BytesIO(original))
    assert before.metadata["/Author"] == NAME
    assert before.attachments
    assert NAME.encode() in original
    for needle in (b"/JavaScript", b"/OpenAction", b"/AA", b"/Metadata"):
        assert needle in original

    result = clean(original)

    assert (result.media_type, result.extension) == ("application/pdf", "pdf")
    assert result.width is None
    assert result.height is None
    assert NAME.encode() not in result.data
    for needle in (b"/JavaScript", b"app.alert", b"/EmbeddedFile", b"/OpenAction", b"/Metadata",
                   b"/AA", b"passport", b"/Producer", b"/Author", b"<x:xmpmeta"):
        assert needle not in result.data, needle
    after = PdfReader(io.BytesIO(result.data))
    assert len(after.pages) == 2
    assert after.metadata is None or "/Author" not in after.metadata
    assert after.xmp_metadata is None
    assert not after.attachments
    assert "/Names" not in after.trailer["/Root"]


def test_pdf_annotations_lose_authors_scripts_and_attached_files() -> None:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    rect = ArrayObject([FloatObject(10), FloatObject(10), FloatObject(50), FloatObject(50)])

    def annotation(subtype: str, **entries: object) -> DictionaryObject:
        annot = DictionaryObject({NameObject("/Type"): NameObject("/Annot"),
                                  NameObject("/Subtype"): NameObject(subtype),
                                  NameObject("/Rect"): rect})
        annot.update({NameObject(f"/{k}"): v for k, v in entries.items()})
        return annot

    comment = annotation("/Text", T=TextStringObject(NAME), Contents=TextStringObject("unpaid"))
    script = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert(1)")})
    link = annotation("/Link", A=script)
    uri = DictionaryObject({NameObject("/S"): NameObject("/URI"),
                            NameObject("/URI"): TextStringObject("https://example.org/")})
    web = annotation("/Link", A=uri)
    attached = annotation("/FileAttachment", Contents=TextStringObject("attached-id-card"))
    for annot in (comment, link, web, attached):
        writer.add_annotation(0, annot)
    assert NAME.encode() in pdf_bytes(writer)

    result = clean(pdf_bytes(writer))

    annots = [a.get_object() for a in PdfReader(io.BytesIO(result.data)).pages[0]["/Annots"]]
    assert sorted(a["/Subtype"] for a in annots) == ["/Link", "/Link", "/Text"]
    text = next(a for a in annots if a["/Subtype"] == "/Text")
    assert "/T" not in text
    assert text["/Contents"] == "unpaid"  # what the worker wrote stays
    assert [a["/A"]["/URI"] for a in annots if "/A" in a] == ["https://example.org/"]
    for needle in (NAME.encode(), b"app.alert", b"attached-id-card"):
        assert needle not in result.data


@pytest.mark.parametrize(
    "params",
    [{}, {"progressive": True}, {"restart_marker_blocks": 1}],
    ids=["baseline", "progressive", "restart-markers"],
)
def test_jpeg_inside_pdf_loses_its_metadata_but_not_its_pixels(params: dict[str, object]) -> None:
    photo = halves((64, 32))
    jpeg = encode(photo, "JPEG", exif=camera_exif(), comment=NAME.encode(), xmp=XMP,
                  icc_profile=icc_profile(), **params)
    original = pdf_with_jpeg(jpeg + b"trailing data from the phone", photo.size)
    assert MAKE.encode() in original
    assert len(PdfReader(io.BytesIO(original)).pages) == 1

    result = clean(original)

    for needle in (b"Exif", b"GPS", MAKE.encode(), NAME.encode(), b"<x:xmpmeta",
                   b"trailing data"):
        assert needle not in result.data, needle
    page = PdfReader(io.BytesIO(result.data)).pages[0]
    stored = page["/Resources"]["/XObject"]["/Im0"].get_object()._data  # the raw JPEG bytes
    metadata_free_jpeg(stored)
    assert open_image(stored).tobytes() == open_image(jpeg).tobytes()  # a lossless strip


def test_jpegs_in_annotation_appearances_and_soft_masks_are_stripped_too() -> None:
    """A stamp's look is a form XObject of its own, and an image's soft mask another image:
    both can hold a phone's JPEG byte for byte."""
    photo = halves((32, 16))
    jpeg = encode(photo, "JPEG", exif=camera_exif(), comment=NAME.encode())
    mask = encode(Image.new("L", photo.size, 200), "JPEG", exif=camera_exif(), xmp=XMP)

    def dct(data: bytes, colour_space: str) -> StreamObject:
        return StreamObject.initialize_from_dictionary({
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(32), NameObject("/Height"): NumberObject(16),
            NameObject("/ColorSpace"): NameObject(colour_space),
            NameObject("/BitsPerComponent"): NumberObject(8),
            NameObject("/Filter"): NameObject("/DCTDecode"), "__streamdata__": data,
        })

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    image = dct(jpeg, "/DeviceRGB")
    image[NameObject("/SMask")] = writer._add_object(dct(mask, "/DeviceGray"))
    look = StreamObject.initialize_from_dictionary({
        NameObject("/BBox"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(32),
                                          NumberObject(16)]),
        NameObject("/Resources"): DictionaryObject({NameObject("/XObject"): DictionaryObject(
            {NameObject("/Im0"): writer._add_object(image)})}),
        "__streamdata__": b"q 32 0 0 16 0 0 cm /Im0 Do Q",
    })
    stamp = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Stamp"),
        NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (10, 10, 42, 26)]),
        NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(look)}),
    })
    writer.add_annotation(0, stamp)
    original = pdf_bytes(writer)
    assert original.count(MAKE.encode()) == 2

    result = clean(original)

    for needle in (b"Exif", MAKE.encode(), NAME.encode(), b"<x:xmpmeta"):
        assert needle not in result.data, needle
    (annot,) = PdfReader(io.BytesIO(result.data)).pages[0]["/Annots"]
    stored = annot.get_object()["/AP"]["/N"]["/Resources"]["/XObject"]["/Im0"].get_object()
    assert open_image(stored._data).tobytes() == open_image(jpeg).tobytes()
    assert open_image(stored["/SMask"].get_object()._data).tobytes() == open_image(mask).tobytes()


def test_encrypted_pdf_is_refused() -> None:
    for password in ("pw", ""):  # even with an empty user password: we do not decrypt
        writer = PdfWriter()
        writer.add_blank_page(100, 100)
        writer.encrypt(password)
        assert refused(pdf_bytes(writer)) == "encrypted-pdf"


def test_pdf_without_pages_is_unreadable() -> None:
    assert refused(pdf_bytes(PdfWriter())) == "unreadable"


# --- the refusal contract ----------------------------------------------------------------


def test_messages_cover_every_code_and_format_only_the_limit() -> None:
    assert set(MESSAGES) == {"empty", "too-large", "not-allowed", "unreadable",
                             "too-many-pixels", "encrypted-pdf", "too-many-files"}
    for code, template in MESSAGES.items():
        message = Refused(code, "7").message
        assert message == template.format(limit="7")
        assert "{" not in message
        assert message.endswith(".")
    with pytest.raises(ValueError, match="unknown refusal code"):
        Refused("no-such-code")


def test_refused_pickles_for_process_pools() -> None:
    copy = pickle.loads(pickle.dumps(Refused("too-many-files", "5")))
    assert (copy.code, copy.limit, copy.message) == (
        "too-many-files", "5", "You can send at most 5 files at a time.")
    assert str(copy) == "too-many-files: You can send at most 5 files at a time."


def test_check_file_count() -> None:
    check_file_count(5)
    with pytest.raises(Refused) as caught:
        check_file_count(6)
    assert caught.value.code == "too-many-files"
    check_file_count(2, Limits(max_files=2))
    with pytest.raises(Refused):
        check_file_count(3, Limits(max_files=2))


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_side"):
        Limits(max_side=0)


# --- property: hostile bytes never escape as anything but Refused ------------------------


def _samples() -> list[bytes]:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.add_metadata({"/Author": NAME})
    photo = halves((48, 24))
    return [
        encode(photo, "JPEG", exif=camera_exif(6), comment=b"c"),
        encode(photo, "JPEG", progressive=True),
        encode(Image.new("RGBA", (20, 20), (1, 2, 3, 4)), "PNG"),
        encode(photo, "WEBP"),
        encode(photo.convert("P"), "GIF"),
        pdf_bytes(writer),
        pdf_with_jpeg(encode(photo, "JPEG", exif=camera_exif()), photo.size),
    ]


def _hostile_inputs(count: int, seed: int = 20240506) -> list[bytes]:
    """Random bytes, random bytes behind every accepted magic number, and valid files that are
    truncated or have bytes flipped: what a fuzzer would try first. Seeded, so reproducible."""
    rng = random.Random(seed)
    samples = _samples()
    magics = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP",
              b"%PDF-1.7\n"]
    inputs = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            inputs.append(rng.randbytes(rng.randrange(0, 600)))
        elif kind == 1:
            inputs.append(rng.choice(magics) + rng.randbytes(rng.randrange(0, 600)))
        elif kind == 2:
            sample = rng.choice(samples)
            inputs.append(sample[:rng.randrange(1, len(sample))])
        else:
            sample = bytearray(rng.choice(samples))
            for _ in range(rng.randrange(1, 8)):
                sample[rng.randrange(len(sample))] = rng.randrange(256)
            inputs.append(bytes(sample))
    return inputs


def outcome(data: bytes) -> Cleaned | Refused:
    """What `clean` made of `data`; any other exception propagates and fails the test."""
    try:
        return clean(data)
    except Refused as exc:
        return exc


def test_arbitrary_bytes_give_cleaned_or_refused_and_nothing_else() -> None:
    outcomes = [outcome(data) for data in _hostile_inputs(200)]
    refusals = [o for o in outcomes if isinstance(o, Refused)]
    cleaned = [o for o in outcomes if isinstance(o, Cleaned)]
    assert len(refusals) + len(cleaned) == 200
    assert {r.code for r in refusals} <= set(MESSAGES)
    assert {"not-allowed", "unreadable"} <= {r.code for r in refusals}
    assert cleaned  # some flipped bytes land in pixel data and still decode
    for result in cleaned:
        assert result.media_type in {"image/jpeg", "image/png", "application/pdf"}
        if result.media_type != "application/pdf":
            assert open_image(result.data).size == (result.width, result.height)
            assert b"Exif" not in result.data
