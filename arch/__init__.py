"""ConvSmith's architecture layer: spec, block registry, graph IR, builder and exporters."""
