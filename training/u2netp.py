"""U^2-Net-p (Qin et al., 2020) in torch, with convolution + folded batch norm as one conv, and extra input channels.

The architecture is the published one (RSU blocks, 16 middle / 64 out channels, six side outputs fused by a
1x1 conv). Batch norm is already folded into each conv's weights in rembg's u2netp.onnx, so every REBNCONV here
is a biased conv and a ReLU: `load_onnx_weights` copies the ONNX file's convs in execution order, and the extra
input channels (the studio features) start at zero, so the untrained network computes exactly u2netp's mask.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from torch import nn


class ConvRelu(nn.Module):
    """REBNCONV with its batch norm folded in: 3x3 conv (dilated), bias, ReLU."""

    def __init__(self, in_ch: int, out_ch: int, dirate: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=dirate, dilation=dirate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


def _up_like(src: torch.Tensor, tar: torch.Tensor) -> torch.Tensor:
    return F.interpolate(src, size=tar.shape[2:], mode="bilinear", align_corners=False)


def _pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, 2, stride=2, ceil_mode=True)


class RSU(nn.Module):
    """Residual U-block of `height` levels (RSU-7 .. RSU-4): pooling encoder, dilated bottom, upsampling decoder."""

    def __init__(self, height: int, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.height = height
        self.conv_in = ConvRelu(in_ch, out_ch)
        self.enc = nn.ModuleList([ConvRelu(out_ch, mid_ch)] + [ConvRelu(mid_ch, mid_ch) for _ in range(height - 2)])
        self.bottom = ConvRelu(mid_ch, mid_ch, dirate=2)
        self.dec = nn.ModuleList(
            [ConvRelu(mid_ch * 2, mid_ch) for _ in range(height - 2)] + [ConvRelu(mid_ch * 2, out_ch)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.conv_in(x)
        skips = []
        hx = hxin
        for i, conv in enumerate(self.enc):
            hx = conv(hx)
            skips.append(hx)
            if i < len(self.enc) - 1:
                hx = _pool(hx)
        hx = self.bottom(hx)
        for i, conv in enumerate(self.dec):
            skip = skips[-1 - i]
            hx = conv(torch.cat((hx, skip), 1))
            if i < len(self.dec) - 1:
                hx = _up_like(hx, skips[-2 - i])
        return hx + hxin


class RSUF(nn.Module):
    """RSU-4F: the dilated block without pooling (dilations 1, 2, 4, 8)."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv_in = ConvRelu(in_ch, out_ch)
        self.enc = nn.ModuleList(
            [ConvRelu(out_ch, mid_ch, 1), ConvRelu(mid_ch, mid_ch, 2), ConvRelu(mid_ch, mid_ch, 4)]
        )
        self.bottom = ConvRelu(mid_ch, mid_ch, 8)
        self.dec = nn.ModuleList([ConvRelu(mid_ch * 2, mid_ch, 4), ConvRelu(mid_ch * 2, mid_ch, 2),
                                  ConvRelu(mid_ch * 2, out_ch, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.conv_in(x)
        hx1 = self.enc[0](hxin)
        hx2 = self.enc[1](hx1)
        hx3 = self.enc[2](hx2)
        hx4 = self.bottom(hx3)
        hx3d = self.dec[0](torch.cat((hx4, hx3), 1))
        hx2d = self.dec[1](torch.cat((hx3d, hx2), 1))
        hx1d = self.dec[2](torch.cat((hx2d, hx1), 1))
        return hx1d + hxin


class U2NetP(nn.Module):
    """u2netp with `in_ch` inputs; forward returns the fused logits and the six side logits (training)."""

    def __init__(self, in_ch: int = 3) -> None:
        super().__init__()
        self.stage1 = RSU(7, in_ch, 16, 64)
        self.stage2 = RSU(6, 64, 16, 64)
        self.stage3 = RSU(5, 64, 16, 64)
        self.stage4 = RSU(4, 64, 16, 64)
        self.stage5 = RSUF(64, 16, 64)
        self.stage6 = RSUF(64, 16, 64)
        self.stage5d = RSUF(128, 16, 64)
        self.stage4d = RSU(4, 128, 16, 64)
        self.stage3d = RSU(5, 128, 16, 64)
        self.stage2d = RSU(6, 128, 16, 64)
        self.stage1d = RSU(7, 128, 16, 64)
        self.side = nn.ModuleList([nn.Conv2d(64, 1, 3, padding=1) for _ in range(6)])
        self.outconv = nn.Conv2d(6, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        hx1 = self.stage1(x)
        hx2 = self.stage2(_pool(hx1))
        hx3 = self.stage3(_pool(hx2))
        hx4 = self.stage4(_pool(hx3))
        hx5 = self.stage5(_pool(hx4))
        hx6 = self.stage6(_pool(hx5))
        hx5d = self.stage5d(torch.cat((_up_like(hx6, hx5), hx5), 1))
        hx4d = self.stage4d(torch.cat((_up_like(hx5d, hx4), hx4), 1))
        hx3d = self.stage3d(torch.cat((_up_like(hx4d, hx3), hx3), 1))
        hx2d = self.stage2d(torch.cat((_up_like(hx3d, hx2), hx2), 1))
        hx1d = self.stage1d(torch.cat((_up_like(hx2d, hx1), hx1), 1))
        sides = [self.side[0](hx1d)]
        for k, feat in enumerate((hx2d, hx3d, hx4d, hx5d, hx6), start=1):
            sides.append(_up_like(self.side[k](feat), sides[0]))
        fused = self.outconv(torch.cat(sides, 1))
        return fused, sides


class Exported(nn.Module):
    """What the ONNX file holds: the fused output through a sigmoid, (N, 1, H, W) in 0..1."""

    def __init__(self, net: U2NetP) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)[0])


def _conv_call_order(net: U2NetP, in_ch: int) -> list[nn.Conv2d]:
    order: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
             for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(torch.zeros(1, in_ch, 64, 64))
    for hook in hooks:
        hook.remove()
    return order


def load_onnx_weights(net: U2NetP, onnx_path: Path) -> None:
    """Copy u2netp.onnx's conv weights into `net` in execution order; extra input channels start at zero."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    onnx_convs = [node for node in model.graph.node if node.op_type == "Conv"]
    in_ch = net.stage1.conv_in.conv.in_channels
    ours = _conv_call_order(net, in_ch)
    if len(ours) != len(onnx_convs):
        raise ValueError(f"{len(ours)} convs here, {len(onnx_convs)} in {onnx_path}")
    for conv, node in zip(ours, onnx_convs, strict=True):
        w = torch.from_numpy(weights[node.input[1]].copy())
        b = torch.from_numpy(weights[node.input[2]].copy())
        target = conv.weight
        if w.shape[1] < target.shape[1]:  # the first conv: RGB weights, zeros for the studio channels
            padded = torch.zeros(target.shape)
            padded[:, : w.shape[1]] = w
            w = padded
        if w.shape != target.shape:
            raise ValueError(f"shape {tuple(w.shape)} from {node.name} does not fit {tuple(target.shape)}")
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(b)


# -- the studio head ---------------------------------------------------------------------------------------

HEAD_WIDTH = 16
HEAD_DILATIONS = (1, 2, 4, 8, 1)
EPS = 1e-6


class StudioHead(nn.Module):
    """A small dilated conv net that corrects u2netp's fused logit from the photo and the studio channels.

    Input: the five studio inputs and u2netp's seven outputs (fused and side maps, as probabilities); output: a
    correction added to the fused logit. The last layer starts at zero, so the untrained head is u2netp exactly.
    Receptive field 33 px at 224: enough to tell a gap between slats, a hole in a net or a shadow under a foot
    from a white panel, which a single pixel's colour cannot.
    """

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width_in = in_ch
        for dilation in HEAD_DILATIONS:
            layers += [nn.Conv2d(width_in, HEAD_WIDTH, 3, padding=dilation, dilation=dilation), nn.ReLU()]
            width_in = HEAD_WIDTH
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(HEAD_WIDTH, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, studio: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """studio (N, 5, H, W), maps (N, 7, H, W) in 0..1 -> the corrected fused logit (N, 1, H, W).

        The correction is scaled by 4 p (1 - p) of u2netp's fused map: full where u2netp is at 0.5, nothing where
        it is sure. The head decides what u2netp left open (slats, net holes, shadows it half kept) and cannot
        talk it out of a white panel it saw clearly: a first run without the gate did exactly that (validation
        IoU 0.90 -> 0.74: a white stool and a clear bulb cut away, their insides look like backdrop locally).
        """
        fused = maps[:, :1].clamp(EPS, 1.0 - EPS)
        gate = 4.0 * fused * (1.0 - fused)
        return torch.log(fused / (1.0 - fused)) + gate * self.out(self.body(torch.cat((studio, maps), 1)))


class StudioNet(nn.Module):
    """What packshot-studio.onnx holds: u2netp on the RGB channels, then the studio head; a mask in 0..1."""

    def __init__(self, in_ch: int = 5) -> None:
        super().__init__()
        self.u2netp = U2NetP(in_ch=3)
        self.head = StudioHead(in_ch + 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fused, sides = self.u2netp(x[:, :3])
        maps = torch.sigmoid(torch.cat([fused, *sides], 1))
        return torch.sigmoid(self.head(x, maps))
