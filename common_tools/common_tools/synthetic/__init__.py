"""Embedded data sets in real on-disk formats, drawn from known attributes.

``GENERATORS`` maps a CLI name to ``(function, add_arguments)``: the CLI builds a sub-command per
entry with ``add_arguments(parser)`` and calls ``function(**options)`` with the parsed options.
A new generator (``digits`` for MNIST IDX, ``birds`` for CUB-200) is one more line here.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

from common_tools.synthetic import birds, digits, faces

GENERATORS: Dict[str, Tuple[Callable[..., object], Callable]] = {
    "faces": (faces.generate, faces.add_arguments),            # CelebA layout (SynthFaces)
    "faces-grid": (faces.save_grid, faces.add_grid_arguments),  # labelled PNG grid of SynthFaces
    "digits": (digits.generate, digits.add_arguments),          # MNIST IDX layout (SynthDigits)
    "digits-grid": (digits.save_grid, digits.add_grid_arguments),  # labelled PNG grid of SynthDigits
    "birds": (birds.generate, birds.add_arguments),             # CUB-200-2011 layout + captions (SynthBirds)
}
