"""Seeing what a network learned, as arrays and numbers (no Qt): each method takes a model, a layer path
(``body.3.conv``, as the analysis names it), inputs, and for long work a progress callback and a cancel
check; ``methods`` holds them as one table for the CLI (``convsmith inspect``) and the app.

- ``patches``: top-k activating patches of a channel, cropped to the theoretical receptive field
- ``deconv``: Zeiler-Fergus deconvnet and guided backpropagation of one unit
- ``occlusion``: probability drop of the true class under a sliding grey patch
- ``gradcam``: Grad-CAM and guided Grad-CAM
- ``maximize``: activation maximisation of a channel or a class (jitter, blur, total variation)
- ``probs``: softmax top-5 and every validation prediction (confusion-matrix cells)
- ``histograms``: per-layer weight/gradient histograms and norms, recorded per epoch by the training loop
- ``subject``: a run's checkpoint, analysis and validation images, loaded once for all of the above
"""
