"""Find Swiss QR-bill codes in page images with zxing-cpp."""

from dataclasses import dataclass

import zxingcpp
from PIL import Image, ImageOps


@dataclass(frozen=True, slots=True)
class DecodedQr:
    payload: str
    # Bounding box in the image's pixels: x0, top, x1, bottom.
    box: tuple[float, float, float, float]


def _decode(image: Image.Image) -> list[DecodedQr]:
    found = []
    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    for result in zxingcpp.read_barcodes(image, formats=formats):
        if not result.valid or not result.text.startswith("SPC"):
            continue
        pos = result.position
        xs = [pos.top_left.x, pos.top_right.x, pos.bottom_left.x, pos.bottom_right.x]
        ys = [pos.top_left.y, pos.top_right.y, pos.bottom_left.y, pos.bottom_right.y]
        found.append(DecodedQr(result.text, (min(xs), min(ys), max(xs), max(ys))))
    return found


def decode_swiss_qr(image: Image.Image, *, thorough: bool = False) -> list[DecodedQr]:
    """QR-bill payloads in `image` (text starting with SPC).

    `thorough` also tries a contrast-stretched and a downscaled copy, for photos and poor
    scans where the plain pass finds nothing.
    """
    found = _decode(image)
    if found or not thorough:
        return found
    gray = image.convert("L")
    stretched = ImageOps.autocontrast(gray, cutoff=2)
    found = _decode(stretched)
    if found:
        return found
    if max(gray.size) > 2000:
        factor = 2000 / max(gray.size)
        small = stretched.resize((int(gray.width * factor), int(gray.height * factor)))
        return [
            DecodedQr(q.payload, tuple(v / factor for v in q.box))  # type: ignore[arg-type]
            for q in _decode(small)
        ]
    return []
