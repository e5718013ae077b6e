#!/usr/bin/env python3
"""The throughput models in PyTorch, the reference of `pnpm bench throughput --reference pytorch`.

Same architectures as elbo's throughput models (src/bench/product.ts, built there with createModel):
MLP VAE 784-400-400-20 (ReLU, Bernoulli likelihood) and conv VAE 28x28x1 (3x3 stride-2 convs
32/64, latent 16, dense 16 -> 7x7x64, mirrored stride-2 transposed convs 64 -> 32 -> 32, 3x3
output conv, ReLU, no BatchNorm), Adam lr 1e-3, trained on real MNIST: the training images of the
IDX files in --mnist (plain or .gz), scaled to [0, 1], shuffled each epoch, one batch sliced per step.

Threads: torch's default unless --threads is given. The allocator is whatever the caller set up
(MALLOC_* variables, LD_PRELOAD of jemalloc): this script only reports what it sees.

Prints one JSON line per batch size:
{"model", "batch", "samplesPerSec", "msPerStep", "threads", "peakRssMiB", "finalLoss", "gemmGflops512"?}

usage: torch_bench.py --model mlp|conv --mnist DIR [--steps 50 | --steps 30,30,15,8] [--warmup 10] [--batches 128,...]
                      [--threads N] [--gemm] [--max-seconds S]
"""
import argparse
import gzip
import json
import os
import resource
import time

import numpy as np
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

    def decode(self, z):
        return self.dec(z)


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


def read_idx_images(folder):
    for name in ('train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith('.gz') else open
            with opener(path, 'rb') as f:
                raw = f.read()
            magic, n, h, w = np.frombuffer(raw[:16], dtype='>i4')
            if magic != 2051:
                raise SystemExit(f'torch_bench: {path} is not an IDX image file (magic {magic})')
            return torch.from_numpy(np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, h * w).copy())
    raise SystemExit(f'torch_bench: no train-images-idx3-ubyte(.gz) in {folder}')


def measure(name, images, batch, steps, warmup, max_seconds):
    torch.manual_seed(0)
    model = MlpVae() if name == 'mlp' else ConvVae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    shape = (-1, 784) if name == 'mlp' else (-1, 1, 28, 28)
    g = torch.Generator().manual_seed(0)
    state = {'order': torch.randperm(images.shape[0], generator=g), 'pos': 0}

    def next_batch():
        if state['pos'] + batch > images.shape[0]:
            state['order'], state['pos'] = torch.randperm(images.shape[0], generator=g), 0
        idx = state['order'][state['pos']:state['pos'] + batch]
        state['pos'] += batch
        return images[idx].float().div_(255).view(shape)

    def step():
        x = next_batch()
        mu, logvar = model(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = model.decode(z).reshape(x.shape)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction='none').flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        loss = (rec + kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    w0 = time.perf_counter()
    for _ in range(warmup):
        step()
        if max_seconds > 0 and time.perf_counter() - w0 > max_seconds:
            break
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        loss = step()
        done += 1
        # A setting that crawls (e.g. two threads beside a busy co-tenant) is timed on fewer steps.
        if max_seconds > 0 and done >= 3 and time.perf_counter() - t0 > max_seconds:
            break
    final = loss.item()
    ms = (time.perf_counter() - t0) * 1000
    return {'samplesPerSec': done * batch * 1000 / ms, 'msPerStep': ms / done, 'steps': done, 'finalLoss': final}


def gemm512():
    a, b = torch.rand(512, 512), torch.rand(512, 512)
    for _ in range(3):
        torch.mm(a, b)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.3 or n < 3:
        torch.mm(a, b)
        n += 1
    return 2 * 512 ** 3 * n / (time.perf_counter() - t0) / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', choices=['mlp', 'conv'], required=True)
    p.add_argument('--mnist', required=True, help='folder with the MNIST IDX files')
    p.add_argument('--steps', default='50', help='timed steps, or one count per batch size')
    p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--batches', default='')
    p.add_argument('--threads', type=int, default=0, help="0: torch's default")
    p.add_argument('--gemm', action='store_true')
    p.add_argument('--max-seconds', type=float, default=0, help='end the timed steps early after this long (at least 3 steps)')
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    images = read_idx_images(a.mnist)
    batches = [int(b) for b in a.batches.split(',') if b] or [128 if a.model == 'mlp' else 64]
    steps = [int(s) for s in a.steps.split(',')]
    if len(steps) == 1:
        steps = steps * len(batches)
    if len(steps) != len(batches):
        raise SystemExit('torch_bench: --steps needs one count, or one per batch size')
    for i, batch in enumerate(batches):
        out = {'model': a.model, 'batch': batch, **measure(a.model, images, batch, steps[i], a.warmup, a.max_seconds)}
        out['threads'] = torch.get_num_threads()
        out['peakRssMiB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if a.gemm and i == 0:
            out['gemmGflops512'] = gemm512()
        print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
