"""Rebuild ``fonts/ShenduCJK-Regular.otf``: the Chinese characters the lessons use, cut from Noto Sans CJK SC.

    python -m shendu.lessons._fontbuild [/path/to/NotoSansCJK-Regular.ttc]

matplotlib's own font (DejaVu Sans) has no Chinese; a whole CJK font is 16–20 MB. The lessons
need a few hundred characters, so the package ships those alone (OFL licence in
``fonts/OFL.txt``): every character of the lesson sources that DejaVu Sans lacks, plus common
Chinese punctuation. Rerun after adding Chinese text to a lesson (``tests/lessons/test_i18n.py``
fails until you do). Needs the full font (Debian/Ubuntu: ``apt install fonts-noto-cjk``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "fonts" / "ShenduCJK-Regular.otf"
FAMILY = "Shendu CJK"
SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
PUNCTUATION = "，。、；：？！（）“”‘’《》【】〈〉—…·「」『』～％＋－×÷≈≠≤≥→←↑↓∂∑√∞²³⁻¹₀₁₂₃ₖ"


def lesson_text() -> str:
    """Every character written in the lessons' source files."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(HERE.glob("*.py")))


def needed_chars(latin_cmap: set[int]) -> list[int]:
    """Code points of the lesson text (and punctuation) that the Latin font cannot draw."""
    chars = {ord(c) for c in lesson_text() + PUNCTUATION if ord(c) > 0x7F}
    return sorted(c for c in chars if c not in latin_cmap)


def build(source: str = SOURCE, out: Path = OUT) -> Path:
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont
    from matplotlib import font_manager

    latin = TTFont(font_manager.findfont("DejaVu Sans"))
    codepoints = needed_chars(set(latin.getBestCmap()))
    if source.endswith(".ttc"):
        fonts = TTCollection(source).fonts
        font = next(f for f in fonts if f["name"].getDebugName(4).endswith("CJK SC"))
    else:
        font = TTFont(source)
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(unicodes=codepoints)
    sub.subset(font)
    names = font["name"]
    for rec in list(names.names):
        if rec.nameID in (1, 4, 16):
            rec.string = FAMILY if rec.nameID != 4 else f"{FAMILY} Regular"
        elif rec.nameID in (3, 6):
            rec.string = "ShenduCJK-Regular"
        if rec.nameID in (16, 17):
            names.names.remove(rec)
    font["CFF "].cff.fontNames = ["ShenduCJK-Regular"]
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)
    missing = [chr(c) for c in codepoints if c not in font.getBestCmap()]
    print(
        f"{out}: {len(codepoints)} characters, {out.stat().st_size / 1024:.0f} KiB; not in source: {missing}"
    )
    return out


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else SOURCE)
