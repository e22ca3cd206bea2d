"""A small U-Net shaped for the browser: 3x3 convolutions, ReLU, max-pooling, nearest upsampling and
concatenation only (every operator runs on ONNX Runtime Web's WASM and WebGPU providers), channel
counts in multiples of 8 (WASM SIMD and GPU friendly).

Outputs:
- kind "star": prob [N,1,H/g,W/g] (sigmoid applied) and dist [N,n_rays,H/g,W/g] (px, >= 0).
- kind "flow": cellprob [N,1,H,W] (logit; threshold 0 = probability 0.5) and flow [N,2,H,W] (dy, dx,
  trained at FLOW_SCALE x unit flows as Cellpose does)."""
import torch
from torch import nn

FLOW_SCALE = 5.0


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, kind, in_channels=1, base=16, depth=3, n_rays=32, grid=2, max_width=0):
        super().__init__()
        assert kind in ("star", "flow")
        assert grid in (1, 2) and depth >= 1
        self.kind, self.n_rays, self.grid, self.depth = kind, n_rays, grid, depth
        # Widths double with each level; max_width (0: none) caps them, so a deeper network can keep the
        # full-resolution width, where the outlines are drawn, within the download budget (the deep
        # levels hold most of the weights, the full-resolution ones most of the compute).
        chans = [base * 2 ** i for i in range(depth + 1)]
        if max_width:
            chans = [min(c, max_width) for c in chans]
        self.down = nn.ModuleList([block(in_channels, chans[0])] +
                                  [block(chans[i - 1], chans[i]) for i in range(1, depth + 1)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        # Decoder levels depth-1 .. stop: a grid-2 model stops one level early (half resolution).
        stop = 1 if grid == 2 else 0
        self.levels = list(range(depth - 1, stop - 1, -1))
        self.dec = nn.ModuleList([block(chans[i + 1] + chans[i], chans[i]) for i in self.levels])
        head_in = chans[stop]
        head = 4 * base
        outs = 1 + n_rays if kind == "star" else 3
        self.head = nn.Sequential(nn.Conv2d(head_in, head, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(head, outs, 1))

    def forward(self, x):
        skips = []
        for i, layer in enumerate(self.down):
            x = layer(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips[-1]
        for layer, level in zip(self.dec, self.levels):
            x = layer(torch.cat([self.up(x), skips[level]], dim=1))
        y = self.head(x)
        if self.kind == "star":
            return torch.sigmoid(y[:, :1]), torch.relu(y[:, 1:])
        return y[:, :1], y[:, 1:]
