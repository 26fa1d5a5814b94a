"""Torch modules the builder needs beyond torch.nn. Each class imports only torch, so the
Python exporter can copy its source verbatim into a generated file."""

import torch
import torch.nn.functional as F
from torch import nn


class NMaxPool2d(nn.Module):
    """Mean of the n largest values in each window (n=1: max pooling).

    Padding and the ceil_mode tail are filled with -inf and never counted, so a window at the border
    averages the n largest *real* values it covers (fewer when it covers fewer than n).
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, n=2):
        super().__init__()
        self.kernel_size = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        stride = kernel_size if stride is None else stride
        self.stride = tuple(stride) if isinstance(stride, (tuple, list)) else (stride,) * 2
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * 2
        self.ceil_mode = bool(ceil_mode)
        self.n = int(n)

    def _out(self, size, k, s, p):
        out = (size + 2 * p - k + (s - 1 if self.ceil_mode else 0)) // s + 1
        if self.ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        return out

    def forward(self, x):
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        h, w = x.shape[-2], x.shape[-1]
        oh, ow = self._out(h, kh, sh, ph), self._out(w, kw, sw, pw)
        extra_h = max(0, (oh - 1) * sh + kh - (h + 2 * ph))
        extra_w = max(0, (ow - 1) * sw + kw - (w + 2 * pw))
        x = F.pad(x, (pw, pw + extra_w, ph, ph + extra_h), value=float("-inf"))
        windows = x.unfold(2, kh, sh).unfold(3, kw, sw)[:, :, :oh, :ow].flatten(-2)
        top = windows.topk(self.n, dim=-1).values
        real = torch.isfinite(top)
        total = torch.where(real, top, torch.zeros_like(top)).sum(-1)
        return total / real.sum(-1).clamp(min=1).to(top.dtype)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}, n={self.n}")


class ChannelGate(nn.Module):
    """CBAM channel attention (Woo et al. 2018): one MLP (1x1 convs, C -> hidden -> C) shared by the global
    average and the global max of each channel; their sum through a sigmoid is a (C, 1, 1) gate."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        avg = self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True))))
        top = self.fc2(torch.relu(self.fc1(x.amax((2, 3), keepdim=True))))
        return torch.sigmoid(avg + top)


class SpatialGate(nn.Module):
    """CBAM spatial attention: the mean and the max over channels, stacked, through a k x k conv and a
    sigmoid: a (1, H, W) gate."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return torch.sigmoid(self.conv(pooled))
