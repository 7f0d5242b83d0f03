"""Moved: the placement ladder lives in porter/place/ (start at porter/place/ladder.py). These names stay
importable from here for code written before the move."""

from porter.place.result import Placement, Refusal  # noqa: F401
from porter.place.text import (  # noqa: F401
    MAX_FUZZ,
    RARE_LINE_MIN,
    TRIVIAL_LINES,
    build_replacement,
    find_windows,
    norm_ws,
    stated_index,
)
