"""Pictures of attention (matplotlib): heatmaps with token labels, one row as bars,
2-D vectors, and the chapters' figures.

A drawing toolkit, then the figures the chapters draw with it:

=============  =========================================================================
``style``      the book's look: colours, colour maps, sizes, black or white ink, labels
``canvas``     figures outside pyplot (``new_figure``) and fast PNGs (``FastPNG``)
``artists``    what the explorers update in place: ``Heatmap``, ``RowBars``,
               ``Arrows2D``, ``Hull2D``
``charts``     reusable figures of data: ``attention_figure``, ``heatmaps``,
               ``curves``, ``compare_rows``, ``blend_picture``, ``head_rows``
``tables``     chapter figures with numbers in their cells: ``worked_example``,
               ``projections``, ``score_tables``
``diagrams``   matrix shapes drawn to scale: ``shape_diagram``, ``heads_diagram``
``grids``      many small matrices: ``small_multiples``, ``position_heatmap``,
               ``similarity_heatmaps``
=============  =========================================================================

Every public name is available here too (``plotting.worked_example``). Only the chapter
figures (``tables``) know the package's examples; the toolkit draws any numbers.
"""

from __future__ import annotations

from . import style
from .artists import Arrows2D, Changing, Heatmap, Hull2D, RowBars, convex_hull, largest
from .canvas import FastPNG, new_figure, stack_layers
from .charts import (
    attention_figure,
    blend_picture,
    compare_rows,
    curves,
    head_rows,
    heatmaps,
)
from .diagrams import HEAD_COLORS, heads_diagram, shape_diagram
from .grids import position_heatmap, similarity_heatmaps, small_multiples
from .style import (
    CMAP,
    DPI,
    HIGHLIGHT_HATCH,
    KEY_COLOR,
    LABEL_CHARS,
    OUTPUT_COLOR,
    QUERY_COLOR,
    SERIES_HATCHES,
    SERIES_STYLES,
    SIGNED_CMAP,
    SMALL,
    WIDTH,
    ink,
    missing_glyphs,
    short_labels,
    slanted_xticks,
)
from .tables import projections, score_tables, worked_example

__all__ = [
    "CMAP",
    "DPI",
    "HEAD_COLORS",
    "HIGHLIGHT_HATCH",
    "KEY_COLOR",
    "LABEL_CHARS",
    "OUTPUT_COLOR",
    "QUERY_COLOR",
    "SERIES_HATCHES",
    "SERIES_STYLES",
    "SIGNED_CMAP",
    "SMALL",
    "WIDTH",
    "Arrows2D",
    "Changing",
    "FastPNG",
    "Heatmap",
    "Hull2D",
    "RowBars",
    "attention_figure",
    "blend_picture",
    "compare_rows",
    "convex_hull",
    "curves",
    "head_rows",
    "heads_diagram",
    "heatmaps",
    "ink",
    "largest",
    "missing_glyphs",
    "new_figure",
    "position_heatmap",
    "projections",
    "score_tables",
    "shape_diagram",
    "short_labels",
    "similarity_heatmaps",
    "slanted_xticks",
    "small_multiples",
    "stack_layers",
    "style",
    "worked_example",
]
