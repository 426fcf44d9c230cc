"""Photos and scans as image files: opened safely, turned upright by their EXIF tag, and
levelled before OCR (`skew_angle`, `deskew`).

Pillow only reads the header at `open`, so the pixel count is checked before any pixel is
decoded: a 30,000 x 30,000 px "image" of a few kilobytes is refused at once.
"""

import io
import math
import warnings
from collections.abc import Iterator

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

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


# --- levelling a page before OCR ---------------------------------------------------------
# Pillow only: a few C-level image operations, some 20 ms on an A4 page at 200 dpi
# against half a second of OCR.

# A scanner feeds a sheet a few degrees askew at most; beyond that the page is turned,
# which tesseract's orientation detection handles (extractors.ocr).
MAX_SKEW = 5.0
# Below this tesseract reads about as well as level: not worth resampling the page (a
# sixteenth of its OCR time at 200 dpi). On generated scans turned by 3 to 4 degrees,
# 170 of 188 values were in the text, 181 once levelled; levelling from 0.3 degrees on
# read no more fields on either benchmark than from 1 degree on.
MIN_SKEW = 1.0
SKEW_WIDTH = 800  # the estimate looks at the page this wide: lines of text stay apart
_SKEW_STRIPS = 32


def skew_angle(image: Image.Image, limit: float = MAX_SKEW) -> float:
    """Degrees to turn the page counter-clockwise (as `Image.rotate` does) to level its
    lines of text; 0.0 when nothing on it says otherwise.

    Projection profiles: where the lines are level, the page's rows are most unequal
    (dark rows of letters, white gaps between lines), so the variance of the row sums
    is highest. Rather than turning the page for every candidate angle, it is cut into
    narrow vertical strips, each summed into one column of row darkness; sliding the
    strips against each other by a candidate slope and adding them up gives that
    angle's profile for the cost of shearing a 32-pixel-wide image. Half-degree steps
    first, then tenths around the best.
    """
    gray = image.convert("L")
    if gray.width > SKEW_WIDTH:
        height = max(1, round(gray.height * SKEW_WIDTH / gray.width))
        gray = gray.resize((SKEW_WIDTH, height), Image.Resampling.BOX)
    if gray.width < 16 or gray.height < 16:
        return 0.0
    darkness = gray.point([255 - v for v in range(256)])
    strips = min(_SKEW_STRIPS, gray.width // 8)
    columns = darkness.resize((strips, gray.height), Image.Resampling.BOX)
    strip_width = gray.width / strips
    centre = strips / 2

    def spread(angle: float) -> float:
        slope = math.tan(math.radians(angle)) * strip_width
        # Row y of strip x in the output is row y + slope * (x - centre) of the input.
        sheared = columns.transform(
            columns.size,
            Image.Transform.AFFINE,
            (1, 0, 0, slope, 1, -slope * centre),
            resample=Image.Resampling.BILINEAR,
            fillcolor=0,
        )
        rows = sheared.resize((1, gray.height), Image.Resampling.BOX)
        return ImageStat.Stat(rows).var[0]

    steps = round(limit * 2)
    _, coarse = max((spread(a / 2), a / 2) for a in range(-steps, steps + 1))
    score, best = max((spread(coarse + a / 10), coarse + a / 10) for a in range(-5, 6))
    if score <= 0 or abs(best) > limit:
        return 0.0  # a blank page, or the search ran off its edge
    return round(best, 2)


def deskew(image: Image.Image, angle: float) -> Image.Image:
    """The page turned `angle` degrees counter-clockwise about its centre, in grayscale
    and at its own size (word positions stay those of the page), new corners white."""
    return image.convert("L").rotate(
        angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255
    )
