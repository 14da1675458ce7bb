"""An HTML contact sheet of a batch: one row per input with thumbnails of the input, the
output and the kernel, the status, the method and the seconds.

The page is a single file: thumbnails are embedded as PNG data URIs, so it opens in any
browser and can be moved or mailed on its own.
"""

from __future__ import annotations

import base64
import html
import os
import secrets
from pathlib import Path

import numpy as np

__all__ = ["write_report"]

THUMB = 160  # longest side of a thumbnail, in pixels
KERNEL_THUMB = 64


def _uint8(image):
    a = np.asarray(image, dtype=np.float64)
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def _resize(a, side, nearest=False):
    import cv2

    h, w = a.shape[:2]
    scale = side / max(h, w)
    if nearest or scale > 1:
        interp = cv2.INTER_NEAREST
    else:
        interp = cv2.INTER_AREA
    return cv2.resize(a, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)


def _png_uri(bgr_or_gray):
    import cv2

    ok, buf = cv2.imencode(".png", bgr_or_gray)
    if not ok:  # pragma: no cover
        return None
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _image_thumb(path):
    from .. import read_image

    img = _uint8(read_image(path).image)
    if img.ndim == 3:
        img = img[..., ::-1]  # RGB -> BGR for OpenCV
    return _png_uri(_resize(img, THUMB))


def _video_thumb(path):
    from .video import read_first_frame

    frame = read_first_frame(path)
    return None if frame is None else _png_uri(_resize(frame, THUMB))


def _thumb(path: Path, kind: str):
    """A data URI of a thumbnail of an image, a video's first frame or a frames folder's first frame."""
    try:
        if path.is_dir():
            first = sorted(path.glob("frame_*.png"))
            return _image_thumb(first[0]) if first else None
        if kind == "image":
            return _image_thumb(path)
        return _video_thumb(path)
    except Exception:  # a thumbnail never stops a report
        return None


def _kernel_thumb(path: Path):
    from .. import resolve_kernel

    try:
        k = np.asarray(resolve_kernel(path), dtype=np.float64)
    except Exception:
        return None
    return _png_uri(_resize(_uint8(k / k.max()), KERNEL_THUMB, nearest=True))


def _img(uri, alt):
    return f'<img src="{uri}" alt="{html.escape(alt)}">' if uri else '<span class="none">-</span>'


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 10px; text-align: left; vertical-align: middle; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { display: block; image-rendering: auto; }
td.kernel img { image-rendering: pixelated; background: #000; }
.done { color: #1a7f37; } .skipped { color: #57606a; } .failed { color: #cf222e; }
.none { color: #999; } .reason { max-width: 28em; font-size: 90%; }
"""


def write_report(path, records, out_dir):
    """Write the contact sheet of ``records`` (as :func:`deblur_files` returns them) to ``path``.

    The file is written atomically (temporary file in the same folder, then
    :func:`os.replace`).
    """
    out_dir = Path(out_dir)
    counts = {s: sum(r["status"] == s for r in records) for s in ("done", "skipped", "failed")}
    rows = []
    for i, r in enumerate(records, 1):
        src = Path(r["input"])
        out = out_dir / r["output"] if r.get("output") else None
        ker = out_dir / r["kernel"] if r.get("kernel") else None
        secs = "-" if r.get("seconds") is None else f"{r['seconds']:.2f}"
        extra = f"<br>{r['frames']} frames, {r['fps']:.3g} fps" if r.get("frames") else ""
        rows.append(
            "<tr>"
            f'<td class="num">{i}</td>'
            f"<td>{html.escape(src.name)}{extra}</td>"
            f"<td>{_img(_thumb(src, r['kind']), 'input')}</td>"
            f"<td>{_img(_thumb(out, r['kind']) if out is not None else None, 'output')}</td>"
            f'<td class="kernel">{_img(_kernel_thumb(ker) if ker is not None else None, "kernel")}</td>'
            f'<td class="{r["status"]}">{r["status"]}</td>'
            f"<td>{html.escape(r.get('method') or '')}</td>"
            f'<td class="num">{secs}</td>'
            f'<td class="reason">{html.escape(r.get("reason") or "; ".join(r.get("warnings") or []))}</td>'
            "</tr>"
        )
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>classicdeblur batch: {html.escape(str(out_dir))}</title>
<style>{_STYLE}</style></head>
<body>
<h1>classicdeblur batch</h1>
<p>Output folder <code>{html.escape(str(out_dir))}</code>: {len(records)} inputs, {summary}.
Seconds are the compute time of each input (summed over frames for videos).</p>
<table>
<tr><th>#</th><th>input</th><th>input</th><th>output</th><th>kernel</th><th>status</th><th>method</th>
<th>seconds</th><th>reason or warnings</th></tr>
{chr(10).join(rows)}
</table>
</body></html>
"""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
