"""Block families. Importing this package registers every family in ``arch.registry.REGISTRY``."""

from arch.blocks import (  # noqa: F401
    branch,
    cbam,
    conv,
    head,
    inception,
    inverted_residual,
    layers,
    lrn,
    pool,
    residual,
    se,
    separable,
    stage,
)
