"""Turn a clean document into what clients really send: scans and phone photos.

Everything random comes from the given generator (noise from `randbytes`, not from
Pillow's `effect_noise`, which uses the C library's own random state), so the same seed
gives the same bytes.
"""

from __future__ import annotations

import copy
import io
import random
from datetime import datetime, time
from statistics import NormalDist

import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader

from .model import GeneratedDocument, Rng, Truth, resolve_rng
from .pdfkit import new_canvas

Image.MAX_IMAGE_PIXELS = 60_000_000


def _pages(doc: GeneratedDocument, dpi: float, grayscale: bool) -> list[Image.Image]:
    """The document's pages as images at `dpi` (images pass through, rescaled)."""
    if doc.media_type == "application/pdf":
        pdf = pdfium.PdfDocument(doc.data)
        try:
            return [
                page.render(scale=dpi / 72, grayscale=grayscale)
                .to_pil()
                .convert("L" if grayscale else "RGB")
                for page in pdf
            ]
        finally:
            pdf.close()
    if doc.media_type.startswith("image/"):
        img = ImageOps.exif_transpose(Image.open(io.BytesIO(doc.data)))
        return [img.convert("L" if grayscale else "RGB")]
    raise ValueError(f"cannot degrade {doc.media_type}")


def _page_sizes_mm(
    doc: GeneratedDocument, images: list[Image.Image], dpi: float
) -> list[tuple[float, float]]:
    return [(img.width / dpi * 25.4, img.height / dpi * 25.4) for img in images]


def _gaussian_lut(sigma: float, offset: int) -> list[int]:
    """Uniform byte -> offset + N(0, sigma), clipped: noise with the right distribution."""
    dist = NormalDist(0, sigma)
    return [max(0, min(255, round(offset + dist.inv_cdf((u + 0.5) / 256)))) for u in range(256)]


def add_noise(img: Image.Image, r: random.Random, sigma: float) -> Image.Image:
    if sigma <= 0:
        return img
    offset = 64
    noise = Image.frombytes("L", img.size, r.randbytes(img.width * img.height))
    noise = noise.point(_gaussian_lut(sigma, offset))
    if img.mode == "RGB":
        noise = Image.merge("RGB", (noise, noise, noise))
    return ImageChops.add(img, noise, scale=1.0, offset=-offset)


def _contrast_loss(img: Image.Image, black: int, white: int) -> Image.Image:
    lut = [round(black + v * (white - black) / 255) for v in range(256)]
    return img.point(lut * (3 if img.mode == "RGB" else 1))


def _dust(img: Image.Image, r: random.Random, count: int) -> None:
    draw = ImageDraw.Draw(img)
    fill = 60 if img.mode == "L" else (60, 60, 60)
    for _ in range(count):
        x, y = r.randrange(img.width), r.randrange(img.height)
        radius = r.choice((1, 1, 1, 2, 3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)


def _punch_holes(img: Image.Image, dpi: float) -> None:
    """Two filing holes at the left edge, scanned as dark discs (80 mm apart, 6 mm wide)."""
    draw = ImageDraw.Draw(img)
    px = dpi / 25.4
    cx = 12 * px
    for cy in (img.height / 2 - 40 * px, img.height / 2 + 40 * px):
        draw.ellipse(
            (cx - 3 * px, cy - 3 * px, cx + 3 * px, cy + 3 * px),
            fill=90 if img.mode == "L" else (90, 90, 90),
        )


def scan(
    doc: GeneratedDocument,
    rng: Rng,
    dpi: int = 200,
    rotation: float | None = None,
    blur: float | None = None,
    noise: float | None = None,
    *,
    grayscale: bool | None = None,
    fmt: str = "pdf",
) -> GeneratedDocument:
    """An office-scanner copy: image-only PDF (no text layer), each page rendered at `dpi`
    (150-300), rotated (±1.5°), blurred, noisy, with a little contrast loss.

    `rotation` in degrees, `blur` Gaussian radius in pixels, `noise` the grey-level sigma;
    None draws each at random. `fmt` "pdf" (default) or "png"/"jpeg" for a single-page
    document as one image. The truth is carried over (a copy) with `copy="scan"`.
    """
    if not 72 <= dpi <= 600:
        raise ValueError("dpi must lie between 72 and 600")
    r, seed = resolve_rng(rng)
    gray = grayscale if grayscale is not None else r.random() < 0.75
    images = _pages(doc, dpi, gray)
    sizes = _page_sizes_mm(doc, images, dpi)
    params = {
        "dpi": dpi,
        "rotation": rotation if rotation is not None else round(r.uniform(-1.5, 1.5), 2),
        "blur": blur if blur is not None else round(r.uniform(0.3, 1.0) * dpi / 200, 2),
        "noise": noise if noise is not None else round(r.uniform(3.0, 9.0), 1),
        "black": r.randint(12, 40),
        "white": r.randint(228, 250),
        "quality": r.randint(70, 86),
        "holes": r.random() < 0.2,
        "seed": seed,
    }
    out_pages = []
    for img in images:
        page = _degrade_scan(img, r, params)
        buf = io.BytesIO()
        if fmt == "png":
            page.save(buf, "PNG", optimize=False, dpi=(dpi, dpi))
        else:
            page.save(buf, "JPEG", quality=params["quality"], dpi=(dpi, dpi))
        out_pages.append(buf.getvalue())
    truth = _copied_truth(doc.truth, "scan", params)
    stamp = datetime.combine(
        doc.truth.issue_date or datetime(2026, 1, 5).date(),
        time(r.randint(8, 17), r.randint(0, 59), r.randint(0, 59)),
    )
    name = r.choice(
        (
            f"Scan_{stamp:%Y%m%d_%fh%M%S}",
            f"SCAN{r.randint(1, 9999):04d}",
            f"doc{r.randint(100000, 999999)}{stamp:%Y%m%d%fh%M%S}",
            doc.filename.rsplit(".", 1)[0] + "_scan",
        )
    )
    if fmt in ("png", "jpeg"):
        if len(out_pages) != 1:
            raise ValueError("image output needs a single-page document")
        ext, media = ("png", "image/png") if fmt == "png" else ("jpg", "image/jpeg")
        return GeneratedDocument(
            out_pages[0],
            f"{name}.{ext}",
            media,
            truth,
            "scan",
            doc.seed,
            _copy_parts(doc, "scan", params),
            list(doc.page_ranges),
        )
    if fmt != "pdf":
        raise ValueError("fmt must be pdf, png or jpeg")
    buf = io.BytesIO()
    c = new_canvas(buf, sizes[0], seed=seed, when=stamp, creator="Scanner")
    # JPEG goes in as it is (DCTDecode); reportlab's pure-Python ASCII85 wrapping would
    # cost ~0.5 s a page and a quarter more bytes.
    use_a85, rl_config.useA85 = rl_config.useA85, 0
    try:
        for data, (w, h) in zip(out_pages, sizes, strict=True):
            c.setPageSize((w * mm, h * mm))
            c.drawImage(ImageReader(io.BytesIO(data)), 0, 0, w * mm, h * mm)
            c.showPage()
        c.save()
    finally:
        rl_config.useA85 = use_a85
    return GeneratedDocument(
        buf.getvalue(),
        f"{name}.pdf",
        "application/pdf",
        truth,
        "scan",
        doc.seed,
        _copy_parts(doc, "scan", params),
        list(doc.page_ranges),
    )


def _degrade_scan(img: Image.Image, r: random.Random, p: dict) -> Image.Image:
    fill = 255 if img.mode == "L" else (255, 255, 255)
    shift = (r.randint(-12, 12), r.randint(-12, 12))
    page = img.rotate(
        p["rotation"],
        resample=Image.Resampling.BILINEAR,
        expand=False,
        fillcolor=fill,
        translate=shift,
    )
    if p["holes"]:
        _punch_holes(page, p["dpi"])
    _dust(page, r, r.randint(5, 40))
    page = page.filter(ImageFilter.GaussianBlur(p["blur"]))
    page = _contrast_loss(page, p["black"], p["white"])
    return add_noise(page, r, p["noise"])


def _copied_truth(truth: Truth, kind: str, params: dict) -> Truth:
    out = copy.deepcopy(truth)
    out.extra = {**out.extra, kind: {k: v for k, v in params.items()}}
    return out


def _copy_parts(doc: GeneratedDocument, kind: str, params: dict) -> list[Truth]:
    return [_copied_truth(t, kind, params) for t in doc.parts]


# --- phone photos -------------------------------------------------------------


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8x8: no numpy needed)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda i: abs(m[i][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for i in range(col + 1, n):
            f = m[i][col] / m[col][col]
            for j in range(col, n + 1):
                m[i][j] -= f * m[col][j]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):
        x[i] = (m[i][n] - sum(m[i][j] * x[j] for j in range(i + 1, n))) / m[i][i]
    return x


def perspective_coeffs(
    dst: list[tuple[float, float]], src: list[tuple[float, float]]
) -> list[float]:
    """Coefficients for `Image.transform(PERSPECTIVE)`: output point dst[i] samples src[i]."""
    a: list[list[float]] = []
    b: list[float] = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.append(v)
    return _solve(a, b)


_BACKGROUNDS = ((112, 84, 60), (150, 150, 146), (205, 200, 190), (60, 62, 66), (176, 140, 100))
_ORIENTATION_STORE = {
    1: None,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def photo(
    doc: GeneratedDocument,
    rng: Rng,
    *,
    page: int = 1,
    long_side: int | None = None,
    orientation: int | None = None,
    quality: int | None = None,
) -> GeneratedDocument:
    """A phone photo (JPEG) of one page: the sheet on a desk, slight perspective skew,
    uneven light, a soft shadow, sensor noise, quality ~80, and sometimes an EXIF
    orientation tag (3, 6 or 8) with the pixels stored rotated accordingly, so that
    `ImageOps.exif_transpose` gives the upright picture.

    The truth is copied with `copy="photo"`; for a multi-page document only `page` is
    pictured (`truth.extra["photo"]["of_pages"]` says how many the document had).
    """
    r, seed = resolve_rng(rng)
    long_side = long_side or r.randint(1900, 2600)
    src = _pages(doc, 36, False)[page - 1]  # only for the page's proportions
    w_mm, h_mm = src.width / 36 * 25.4, src.height / 36 * 25.4
    # A 3:4 phone frame, portrait for portrait pages; the sheet fills most of it.
    size = (
        (round(long_side * 3 / 4), long_side)
        if h_mm >= w_mm
        else (long_side, round(long_side * 3 / 4))
    )
    frame = r.uniform(1.08, 1.25)  # how much desk shows around the sheet
    dpi = min(size[0] / (w_mm * frame), size[1] / (h_mm * frame)) * 25.4
    sheet = _pages(doc, dpi, False)[page - 1]
    params = {
        "page": page,
        "of_pages": doc.truth.pages,
        "long_side": long_side,
        "dpi": round(dpi, 1),
        "seed": seed,
    }
    img = _desk(r, size)
    _place_sheet(img, sheet, r)
    img = _light(img, r)
    img = img.filter(ImageFilter.BoxBlur(r.uniform(0.4, 0.8)))  # focus and motion softness
    img = add_noise(img, r, r.uniform(2.5, 5.0))
    orient = (
        orientation
        if orientation is not None
        else r.choices((1, 6, 8, 3), weights=(60, 30, 5, 5))[0]
    )
    if orient not in _ORIENTATION_STORE:
        raise ValueError("orientation must be 1, 3, 6 or 8")
    transpose = _ORIENTATION_STORE[orient]
    if transpose is not None:
        img = img.transpose(transpose)
    exif = Image.Exif()
    exif[0x010F] = r.choice(("Apple", "samsung", "Google"))  # Make
    exif[0x0110] = {"Apple": "iPhone 13", "samsung": "SM-S911B", "Google": "Pixel 7"}[exif[0x010F]]
    when = datetime.combine(
        doc.truth.issue_date or datetime(2026, 1, 5).date(),
        time(r.randint(8, 21), r.randint(0, 59), r.randint(0, 59)),
    )
    exif[0x0132] = when.strftime("%Y:%m:%d %fh:%M:%S")  # DateTime
    exif[0x0112] = orient  # Orientation
    buf = io.BytesIO()
    q = quality or r.randint(75, 86)
    img.save(buf, "JPEG", quality=q, exif=exif.tobytes())
    params.update(orientation=orient, quality=q)
    truth = _copied_truth(doc.truth, "photo", params)
    truth.pages = 1
    name = r.choice(
        (
            f"IMG_{r.randint(1000, 9999)}.jpg",
            f"PXL_{when:%Y%m%d_%fh%M%S}{r.randint(100, 999)}.jpg",
            f"WhatsApp Image {when:%Y-%m-%d at %fh.%M.%S}.jpeg",
            f"{when:%Y%m%d_%fh%M%S}.jpg",
        )
    )
    return GeneratedDocument(buf.getvalue(), name, "image/jpeg", truth, "photo", doc.seed)


def _desk(r: random.Random, size: tuple[int, int]) -> Image.Image:
    base = r.choice(_BACKGROUNDS)
    small = Image.new("RGB", (16, 16), base)
    px = small.load()
    for x in range(16):
        for y in range(16):
            d = r.randint(-14, 14)
            px[x, y] = tuple(max(0, min(255, c + d)) for c in base)
    return small.resize(size, Image.Resampling.BICUBIC)


def _place_sheet(img: Image.Image, sheet: Image.Image, r: random.Random) -> None:
    fw, fh = img.size
    w, h = sheet.size
    x0, y0 = (fw - w) / 2 + r.uniform(-0.03, 0.03) * fw, (fh - h) / 2 + r.uniform(-0.03, 0.03) * fh
    jitter = 0.035
    corners = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
    dst = [
        (x + r.uniform(-jitter, jitter) * w, y + r.uniform(-jitter, jitter) * h) for x, y in corners
    ]
    src = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    warped = sheet.transform(
        img.size,
        Image.Transform.PERSPECTIVE,
        perspective_coeffs(dst, src),
        Image.Resampling.BILINEAR,
    )
    # The sheet's outline and its drop shadow are smooth: work on them at 1/4 size.
    k = 4
    small = (fw // k, fh // k)
    mask = Image.new("L", small, 0)
    ImageDraw.Draw(mask).polygon([(x / k, y / k) for x, y in dst], fill=255)
    shadow = mask.filter(ImageFilter.GaussianBlur(max(small) / 150)).resize(
        img.size, Image.Resampling.BILINEAR
    )
    mask = mask.resize(img.size, Image.Resampling.BILINEAR)
    img.paste((25, 25, 25), (round(fw * 0.006), round(fh * 0.006)), _scale(shadow, 0.5))
    img.paste(warped, (0, 0), mask)


def _scale(mask: Image.Image, factor: float) -> Image.Image:
    return mask.point([round(v * factor) for v in range(256)])


def _light(img: Image.Image, r: random.Random) -> Image.Image:
    """Uneven light (a gradient across the frame), a warm or cool cast and a soft hand/phone
    shadow, computed as one smooth light map at 1/8 size and applied in one multiply."""
    fw, fh = img.size
    small = (max(fw // 8, 8), max(fh // 8, 8))
    w, h = small
    grad = Image.linear_gradient("L").rotate(
        r.uniform(0, 360), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=128
    )
    low = r.randint(150, 205)
    light = grad.resize(small, Image.Resampling.BICUBIC).point(
        [round(low + v * (255 - low) / 255) for v in range(256)]
    )
    shade = Image.new("L", small, 0)
    draw = ImageDraw.Draw(shade)
    edge = r.choice(("left", "bottom", "right"))
    depth = r.uniform(0.08, 0.25)
    if edge == "left":
        draw.polygon([(0, h * 0.3), (w * depth, h * 0.45), (w * depth * 0.7, h), (0, h)], 130)
    elif edge == "right":
        draw.polygon([(w, h * 0.2), (w * (1 - depth), h * 0.5), (w, h)], 130)
    else:
        draw.polygon([(w * 0.2, h), (w * 0.5, h * (1 - depth)), (w * 0.8, h)], 130)
    shade = shade.filter(ImageFilter.GaussianBlur(max(small) / 25))
    light = Image.composite(_scale(light, 0.35), light, shade)
    tint = [r.randint(236, 255) for _ in range(3)]
    rgb = Image.merge("RGB", [light.point([round(v * t / 255) for v in range(256)]) for t in tint])
    return ImageChops.multiply(img, rgb.resize(img.size, Image.Resampling.BILINEAR))
