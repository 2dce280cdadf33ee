"""Where a run shows itself: a workflow step (:mod:`.workflow`) or a terminal (:mod:`.terminal`).

Both implement :class:`~.base.Surface`. Which one a run gets is decided once, at the entry
(:func:`ld_release_phase.cli.main`), and passed down.
"""
