#!/usr/bin/env python3
"""The issue-10 throughput models in PyTorch, for side-by-side runs with scripts/bench.mjs.

Same architectures as src/bench/models.ts: MLP VAE 784-400-400-20 (ReLU, Bernoulli
likelihood) and conv VAE 28x28x1 (3x3 stride-2 convs 32/64, latent 16, mirrored
transposed convs, 3x3 output conv, ReLU, no BatchNorm), Adam lr 1e-3, random data
in [0, 1]. Prints one JSON line: {"model", "samplesPerSec", "msPerStep", "gemmGflops"?}.

usage: torch_bench.py MODEL STEPS [WARMUP] [--gemm]
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MlpVae(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU())
        self.mu = nn.Linear(400, 20)
        self.logvar = nn.Linear(400, 20)
        self.dec = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 784))

    def forward(self, x):
        h = self.enc(x)
        return self.mu(h), self.logvar(h)


class ConvVae(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.mu = nn.Linear(7 * 7 * 64, 16)
        self.logvar = nn.Linear(7 * 7 * 64, 16)
        self.fc = nn.Linear(16, 7 * 7 * 64)
        self.t1 = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
        self.t2 = nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1)
        self.out = nn.Conv2d(32, 1, 3, padding=1)

    def forward(self, x):
        h = F.relu(self.c2(F.relu(self.c1(x)))).flatten(1)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        h = self.fc(z).view(-1, 64, 7, 7)
        return self.out(F.relu(self.t2(F.relu(self.t1(h)))))


def main():
    name = sys.argv[1]
    steps = int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 and not sys.argv[3].startswith('--') else 3
    torch.manual_seed(0)
    torch.set_num_threads(int(__import__('os').environ.get('TORCH_THREADS', '2')))
    if name == 'mlp':
        model, batch, shape = MlpVae(), 128, (128, 784)
        decode = model.dec
    else:
        model, batch, shape = ConvVae(), 64, (64, 1, 28, 28)
        decode = model.decode
    x = torch.rand(shape)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        mu, logvar = model(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = decode(z).reshape(x.shape)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction='none').flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        loss = (rec + kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    ms = (time.perf_counter() - t0) * 1000
    out = {'model': name, 'samplesPerSec': steps * batch * 1000 / ms, 'msPerStep': ms / steps, 'finalLoss': loss.item()}
    if '--gemm' in sys.argv:
        a, b = torch.rand(512, 512), torch.rand(512, 512)
        for _ in range(3):
            torch.mm(a, b)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.3 or n < 3:
            torch.mm(a, b)
            n += 1
        out['gemmGflops512'] = 2 * 512 ** 3 * n / (time.perf_counter() - t0) / 1e9
    print(json.dumps(out))


if __name__ == '__main__':
    main()
