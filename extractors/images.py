"""Photos and scans as image files: opened safely, turned upright by their EXIF tag.

Pillow only reads the header at `open`, so the pixel count is checked before any pixel is
decoded: a 30,000 x 30,000 px "image" of a few kilobytes is refused at once.
"""

import io
import warnings
from collections.abc import Iterator

from PIL import Image, ImageOps, UnidentifiedImageError

from domain.enums import ReadErrorKind
from extractors.errors import ReadFailure

# 60 Mpx is a 9000 x 6700 photo, more than any phone takes; beyond it we refuse.
MAX_PIXELS = 60_000_000
MAX_FRAMES = 100
# Pillow's own guard, as a second line: it raises past twice this.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_HEIF_READY = False


def _register_heif() -> None:
    global _HEIF_READY
    if not _HEIF_READY:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _HEIF_READY = True


def open_image(data: bytes) -> Image.Image:
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ReadFailure(ReadErrorKind.TOO_LARGE, f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ReadFailure(ReadErrorKind.CORRUPT, f"image cannot be read: {exc}") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ReadFailure(
            ReadErrorKind.TOO_LARGE, f"image is {width} x {height} px (limit {MAX_PIXELS:,} px)"
        )
    if width < 16 or height < 16:
        raise ReadFailure(ReadErrorKind.UNREADABLE, f"image is only {width} x {height} px")
    return image


def frames(data: bytes) -> Iterator[tuple[Image.Image, float]]:
    """Each page of the image file, upright and grayscale, with its resolution in dpi."""
    image = open_image(data)
    count = getattr(image, "n_frames", 1)
    if count > MAX_FRAMES:
        raise ReadFailure(ReadErrorKind.TOO_LARGE, f"image has {count} pages")
    for index in range(count):
        try:
            image.seek(index)
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                frame = ImageOps.exif_transpose(image) if index == 0 else image.copy()
                frame.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ReadFailure(ReadErrorKind.TOO_LARGE, f"image too large: {exc}") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise ReadFailure(ReadErrorKind.CORRUPT, f"image is broken: {exc}") from exc
        dpi = image.info.get("dpi", (0, 0))[0] or 0
        yield frame.convert("L"), float(dpi) if dpi and 70 <= float(dpi) <= 1200 else 0.0


# Longest side we hand to OCR: A4 at 300 dpi. Bigger photos cost time and add nothing.
MAX_OCR_SIDE = 3508


def limit_size(image: Image.Image) -> Image.Image:
    longest = max(image.size)
    if longest <= MAX_OCR_SIDE:
        return image
    factor = MAX_OCR_SIDE / longest
    return image.resize(
        (round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS
    )
