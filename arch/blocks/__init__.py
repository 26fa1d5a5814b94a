"""Block families. Importing this package registers every family in ``arch.registry.REGISTRY``."""

from arch.blocks import (  # noqa: F401
    conv,
    head,
    inception,
    inverted_residual,
    layers,
    pool,
    residual,
    se,
    separable,
    stage,
)
