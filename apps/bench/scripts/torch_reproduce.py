#!/usr/bin/env python3
"""PyTorch reference for `elbo-bench reproduce burda-vae | burda-iwae-k5 | burda-iwae-k50`.

The same protocol as apps/bench/src/reproduce/protocols.ts (Burda, Grosse &
Salakhutdinov 2016, "Importance Weighted Autoencoders", one stochastic layer):
MLP 784-200-200-50 encoder and 50-200-200-784 decoder with tanh, diagonal
Gaussian q(z|x) (mean and log-variance heads), Bernoulli p(x|z); the ELBO
(k = 1, analytic KL) or the IWAE bound with k samples; dynamically binarised
MNIST (a fresh Bernoulli draw of every training pixel each epoch); Adam (0.9,
0.999, eps 1e-4), batch 20; 3^i epochs at 1e-3 * 10^(-i/7), i = 0..7, truncated
to --epochs; test NLL by importance sampling with --nll-samples draws on the
binarised test images the bench wrote (--test, uint8 0/1, [n, 784]).

Reads the MNIST IDX files the bench reads (--mnist DIR), with numpy only: no
network. Weights start from PyTorch's default Linear initialisation, which is
what elbo's Dense layers use. Seeds are the same numbers as the bench's but
drive torch's generators, so the draws differ across frameworks.

Prints one JSON object per line: start, epoch (each epoch), curve (every
--eval-every epochs), result. With --checkpoint FILE it saves the model,
optimiser and generator state after every epoch and resumes from the file when
it exists, so a killed run continues when rerun.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def emit(obj):
    print(json.dumps(obj), flush=True)


def read_idx_images(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack('>IIII', data[:16])
    if magic != 2051:
        raise ValueError(f'{path}: not an IDX image file (magic {magic})')
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols)


def find_file(folder, stem):
    for name in (stem, stem + '.gz'):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f'neither {stem} nor {stem}.gz is in {folder}')


def burda_lr(epoch):
    """Learning rate of 0-based epoch `epoch`: stage i lasts 3^i epochs at 1e-3 * 10^(-i/7)."""
    end = 0
    for i in range(8):
        end += 3 ** i
        if epoch < end:
            return 1e-3 * 10 ** (-i / 7)
    return 1e-3 * 10 ** (-7 / 7)


class Vae(nn.Module):
    def __init__(self, hidden=(200, 200), latent=50, data=784):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(data, hidden[0]), nn.Tanh(), nn.Linear(hidden[0], hidden[1]), nn.Tanh())
        self.mu = nn.Linear(hidden[1], latent)
        self.log_var = nn.Linear(hidden[1], latent)
        self.dec = nn.Sequential(nn.Linear(latent, hidden[1]), nn.Tanh(), nn.Linear(hidden[1], hidden[0]), nn.Tanh(), nn.Linear(hidden[0], data))

    def log_weights(self, x, k, generator=None):
        """log p(x, z) - log q(z|x) for k draws z ~ q(z|x): [k, batch]."""
        h = self.enc(x)
        mu, log_var = self.mu(h), self.log_var(h)
        std = torch.exp(0.5 * log_var)
        eps = torch.randn((k,) + mu.shape, generator=generator, dtype=mu.dtype)
        z = mu + std * eps
        logits = self.dec(z)
        log_px = -F.binary_cross_entropy_with_logits(logits, x.expand(k, -1, -1), reduction='none').sum(-1)
        log_pz = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_qz = (-0.5 * eps ** 2 - 0.5 * math.log(2 * math.pi) - 0.5 * log_var).sum(-1)
        return log_px + log_pz - log_qz

    def loss(self, x, k, generator):
        """Nats per example to minimise: -ELBO (k = 1, analytic KL) or minus the IWAE bound."""
        if k == 1:
            h = self.enc(x)
            mu, log_var = self.mu(h), self.log_var(h)
            z = mu + torch.exp(0.5 * log_var) * torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
            recon = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction='none').sum(-1)
            kl = 0.5 * (mu ** 2 + torch.exp(log_var) - 1 - log_var).sum(-1)
            return (recon + kl).mean()
        w = self.log_weights(x, k, generator)
        return -(torch.logsumexp(w, 0) - math.log(k)).mean()


@torch.no_grad()
def importance_nll(model, x, samples, generator, batch=50, chunk=250):
    """Mean of -log p(x) estimated with `samples` importance draws (running logsumexp over chunks)."""
    total = 0.0
    elbo = 0.0
    for s in range(0, x.shape[0], batch):
        xb = x[s:s + batch]
        running = torch.full((xb.shape[0],), -math.inf, dtype=torch.float64)
        wsum = torch.zeros(xb.shape[0], dtype=torch.float64)
        done = 0
        while done < samples:
            k = min(chunk, samples - done)
            w = model.log_weights(xb, k, generator).double()
            running = torch.logaddexp(running, torch.logsumexp(w, 0))
            wsum += w.sum(0)
            done += k
        total += (-(running - math.log(samples))).sum().item()
        elbo += (wsum / samples).sum().item()
    return total / x.shape[0], -elbo / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mnist', required=True, help='folder of the MNIST IDX files')
    ap.add_argument('--test', required=True, help='binarised test images, uint8 0/1, [n, 784]')
    ap.add_argument('--test-count', type=int, required=True)
    ap.add_argument('--train-limit', type=int, default=60000, help='the first N training images')
    ap.add_argument('--epochs', type=int, required=True)
    ap.add_argument('--batch-size', type=int, default=20)
    ap.add_argument('--iwae-samples', type=int, default=1)
    ap.add_argument('--nll-samples', type=int, default=5000)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--eval-every', type=int, default=0)
    ap.add_argument('--curve-samples', type=int, default=100)
    ap.add_argument('--curve-limit', type=int, default=1000)
    ap.add_argument('--checkpoint', default=None)
    a = ap.parse_args()

    train = read_idx_images(find_file(a.mnist, 'train-images-idx3-ubyte'))[: a.train_limit]
    train = torch.from_numpy(train.astype(np.float32) / 255.0)
    test = np.fromfile(a.test, dtype=np.uint8)
    if test.size != a.test_count * 784:
        raise ValueError(f'{a.test}: expected {a.test_count} x 784 bytes, got {test.size}')
    test = torch.from_numpy(test.reshape(a.test_count, 784).astype(np.float32))

    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    model = Vae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-4)
    start_epoch, step, history = 0, 0, []
    # What a checkpoint must share with this run to be resumed (a shorter run of the schedule is a prefix of a longer one).
    settings = {'trainImages': int(train.shape[0]), 'batchSize': a.batch_size, 'iwaeSamples': a.iwae_samples, 'seed': a.seed}
    if a.checkpoint and os.path.exists(a.checkpoint):
        try:
            ck = torch.load(a.checkpoint, weights_only=False)
        except TypeError:  # torch before 1.13 has no weights_only (and loads everything)
            ck = torch.load(a.checkpoint)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['optimizer'])
        gen.set_state(ck['generator'])
        if ck.get('settings') != settings:
            raise ValueError(f'{a.checkpoint} was saved with other settings ({ck.get("settings")}, this run: {settings}); delete it or use another runs folder')
        if ck['epoch'] > a.epochs:
            raise ValueError(f'{a.checkpoint} is at epoch {ck["epoch"]}, past this run\'s {a.epochs} epochs; use another runs folder')
        start_epoch, step, history = ck['epoch'], ck['step'], ck['history']
    emit({'type': 'start', 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'trainImages': train.shape[0], 'testImages': test.shape[0], 'resumedEpoch': start_epoch})

    n = train.shape[0]
    steps_per_epoch = math.ceil(n / a.batch_size)
    for epoch in range(start_epoch, a.epochs):
        lr = burda_lr(epoch)
        for g in opt.param_groups:
            g['lr'] = lr
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * a.batch_size:(b + 1) * a.batch_size]
            x = torch.bernoulli(train[idx], generator=gen)
            loss = model.loss(x, a.iwae_samples, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * x.shape[0]
            step += 1
        seconds = time.perf_counter() - t0
        history.append(seconds)
        emit({'type': 'epoch', 'epoch': epoch + 1, 'step': step, 'lr': lr, 'loss': loss_sum / n, 'seconds': seconds})
        if a.eval_every > 0 and (epoch + 1) % a.eval_every == 0:
            t1 = time.perf_counter()
            model.eval()
            curve_gen = torch.Generator().manual_seed(a.seed)
            nll, _ = importance_nll(model, test[: a.curve_limit], a.curve_samples, curve_gen)
            emit({'type': 'curve', 'epoch': epoch + 1, 'step': step, 'nll': nll, 'samples': a.curve_samples, 'examples': min(a.curve_limit, test.shape[0]), 'trainLoss': loss_sum / n, 'seconds': time.perf_counter() - t1})
        if a.checkpoint:
            tmp = a.checkpoint + '.tmp'
            torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'generator': gen.get_state(), 'epoch': epoch + 1, 'step': step, 'history': history, 'settings': settings}, tmp)
            os.replace(tmp, a.checkpoint)

    model.eval()
    t2 = time.perf_counter()
    nll, neg_elbo = importance_nll(model, test, a.nll_samples, torch.Generator().manual_seed(a.seed))
    emit({
        'type': 'result', 'nll': nll, 'negElbo': neg_elbo, 'samples': a.nll_samples, 'examples': test.shape[0],
        'epochs': a.epochs, 'steps': step, 'trainSeconds': sum(history),
        'secondsPerEpoch': sum(history) / len(history) if history else 0.0, 'evalSeconds': time.perf_counter() - t2,
        'torch': torch.__version__, 'threads': torch.get_num_threads(),
    })


if __name__ == '__main__':
    try:
        main()
    except Exception as e:  # one JSON line the bench can show, then a non-zero exit
        emit({'type': 'error', 'message': f'{type(e).__name__}: {e}'})
        print(f'torch_reproduce.py: {type(e).__name__}: {e}', file=sys.stderr)
        sys.exit(1)
