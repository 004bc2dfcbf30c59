"""2-D max pooling with torch's faster CPU kernel, bit for bit the result of ``F.max_pool2d``.

torch's CPU max-pool kernel for contiguous (NCHW) tensors loops over each window with scalar
code; its channels-last (NHWC) kernel vectorises over the channels and is several times faster
for LeNet-sized feature maps, even counting the copy into channels-last order. Both kernels
scan a window in the same order and keep the first maximum (``val > max``, a NaN always taken),
so values and indices are the same; max pooling has no arithmetic to round. The backward is
torch's own ``max_pool2d_with_indices_backward`` on the original contiguous tensors, the call
autograd makes for ``F.max_pool2d``. Outputs and indices are contiguous, as ``F.max_pool2d``'s
are, so every later layer runs the kernels it ran before.

Other devices, and inputs that are not 4-D contiguous CPU tensors, go to ``F.max_pool2d``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_aten = torch.ops.aten


class _ChannelsLastMaxPool2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride):
        out, idx = _aten.max_pool2d_with_indices(
            x.contiguous(memory_format=torch.channels_last), kernel_size, stride)
        out, idx = out.contiguous(), idx.contiguous()
        ctx.save_for_backward(x, idx)
        ctx.kernel_size, ctx.stride = kernel_size, stride
        ctx.mark_non_differentiable(idx)
        return out, idx

    @staticmethod
    def backward(ctx, grad_out, _grad_idx):
        x, idx = ctx.saved_tensors
        grad = _aten.max_pool2d_with_indices_backward(
            grad_out.contiguous(), x, ctx.kernel_size, ctx.stride, [0, 0], [1, 1], False, idx)
        return grad, None, None


def max_pool2d(x: torch.Tensor, kernel_size: int, stride: int | None = None,
               return_indices: bool = False):
    """``F.max_pool2d(x, kernel_size, stride, return_indices=...)`` (no padding, dilation 1,
    floor mode): the same values, indices and gradients, computed faster on the CPU."""
    stride = kernel_size if stride is None else stride
    if (x.device.type != "cpu" or x.dim() != 4 or not x.is_floating_point()
            or not x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
        return F.max_pool2d(x, kernel_size, stride, return_indices=return_indices)
    out, idx = _ChannelsLastMaxPool2d.apply(x, [kernel_size] * 2, [stride] * 2)
    return (out, idx) if return_indices else out


class MaxPool2d(nn.Module):
    """``nn.MaxPool2d(kernel_size, stride)`` through :func:`max_pool2d`."""

    def __init__(self, kernel_size: int, stride: int | None = None):
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.stride = self.kernel_size if stride is None else int(stride)

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"
