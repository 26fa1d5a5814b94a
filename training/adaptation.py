"""What training changes to fit a network to data it was not drawn for, in words and numbers, before
anything is loaded or built: the training tab shows it before Start, the loop reports the same notes."""

from __future__ import annotations

Shape = tuple[int, ...]


def shape_notes(network: Shape, data: Shape) -> list[str]:
    """How images of shape ``data`` (C, H, W) are converted for a network taking ``network``."""
    (c, h, w), (c0, h0, w0) = network, data
    notes = []
    if c != c0:
        notes.append("grayscale -> RGB (gray replicated)" if c == 3 else "RGB -> grayscale (luma)")
    if (h, w) != (h0, w0):
        notes.append(f"resized {h0}x{w0} -> {h}x{w} (bilinear)")
    return notes


def class_note(network: int, data: int) -> str | None:
    """The classifier is rebuilt for the data's classes."""
    return None if network == data else f"num_classes {network} -> {data} (the data's classes)"


def planned(network: Shape, classes: int, data: Shape, data_classes: int) -> list[str]:
    """Every adaptation a run of this network on this data makes, with the pixel factor of a resize."""
    notes = shape_notes(network, data)
    (_, h, w), (_, h0, w0) = network, data
    if (h, w) != (h0, w0):
        factor = (h * w) / (h0 * w0)
        notes[-1] += f": {factor:.3g}x the pixels, so about {factor:.3g}x the compute per image"
    note = class_note(classes, data_classes)
    return notes + ([note] if note else [])
