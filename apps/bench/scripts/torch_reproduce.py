#!/usr/bin/env python3
"""PyTorch reference for `elbo-bench reproduce burda-vae | burda-iwae-k5 | burda-iwae-k50 | ladder`.

The same protocol as apps/bench/src/reproduce/protocols.ts (Burda, Grosse &
Salakhutdinov 2016, "Importance Weighted Autoencoders", one stochastic layer):
MLP 784-200-200-50 encoder and 50-200-200-784 decoder with tanh, diagonal
Gaussian q(z|x) (mean and log-variance heads), Bernoulli p(x|z); the ELBO
(k = 1, analytic KL) or the IWAE bound with k samples; dynamically binarised
MNIST (a fresh Bernoulli draw of every training pixel each epoch); Adam (0.9,
0.999, eps 1e-4), batch 20; 3^i epochs at 1e-3 * 10^(-i/7), i = 0..7, truncated
to --epochs; test NLL by importance sampling with --nll-samples draws on the
binarised test images the bench wrote (--test, uint8 0/1, [n, 784]).

With --model ladder: Sønderby et al. (2016), "Ladder Variational Autoencoders",
as elbo's protocol states it: latent levels 64-32-16-8-4 over deterministic
blocks 512-256-128-64-32 of two (Linear, BatchNorm, leaky ReLU 0.2) layers,
precision-weighted merge, p(x|z1) an MLP of two 512 layers; Adam 0.002 (eps
1e-8), batch 256, constant rate; KL warm-up linear in steps (--warmup-steps).

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

    def loss(self, x, k, generator, kl_weight=1.0):
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


def gaussian_log_prob(z, mu, log_var):
    return (-0.5 * ((z - mu) ** 2) / torch.exp(log_var) - 0.5 * log_var - 0.5 * math.log(2 * math.pi)).sum(-1)


def gaussian_kl(mq, lvq, mp, lvp):
    """KL(N(mq, exp lvq) || N(mp, exp lvp)) summed over the last axis."""
    return 0.5 * (lvp - lvq + (torch.exp(lvq) + (mq - mp) ** 2) / torch.exp(lvp) - 1).sum(-1)


def dense_block(d_in, width, depth):
    """`depth` x (Linear without bias, BatchNorm, leaky ReLU 0.2), as Sønderby et al. 2016."""
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(d_in, width, bias=False), nn.BatchNorm1d(width), nn.LeakyReLU(0.2)]
        d_in = width
    return nn.Sequential(*layers)


class Ladder(nn.Module):
    """Ladder VAE (Sønderby et al. 2016): a deterministic bottom-up pass gives a Gaussian estimate per
    level; top-down, each level's posterior is the precision-weighted merge of that estimate with the
    conditional prior p(z_i | z_{i+1}); p(x | z_1) is an MLP of two layers of the bottom width."""

    def __init__(self, latents=(64, 32, 16, 8, 4), hidden=(512, 256, 128, 64, 32), depth=2, data=784):
        super().__init__()
        self.latents = latents
        self.bu = nn.ModuleList()
        self.bu_mu = nn.ModuleList()
        self.bu_lv = nn.ModuleList()
        d = data
        for lat, width in zip(latents, hidden):
            self.bu.append(dense_block(d, width, depth))
            self.bu_mu.append(nn.Linear(width, lat))
            self.bu_lv.append(nn.Linear(width, lat))
            d = width
        self.td = nn.ModuleList(dense_block(latents[i + 1], hidden[i], depth) for i in range(len(latents) - 1))
        self.td_mu = nn.ModuleList(nn.Linear(hidden[i], latents[i]) for i in range(len(latents) - 1))
        self.td_lv = nn.ModuleList(nn.Linear(hidden[i], latents[i]) for i in range(len(latents) - 1))
        layers, d = [], latents[0]
        for _ in range(depth):
            layers += [nn.Linear(d, hidden[0]), nn.LeakyReLU(0.2)]
            d = hidden[0]
        self.dec = nn.Sequential(*layers, nn.Linear(d, data))

    def walk(self, x, k, generator):
        """Draw k ancestral samples top-down: returns log p(x|z1) [k*B], sum of analytic KLs [k*B],
        log p(z) - log q(z|x) [k*B]. x is tiled k times (rows: k blocks of the batch)."""
        hats, h = [], x
        for block, mu, lv in zip(self.bu, self.bu_mu, self.bu_lv):
            h = block(h)
            hats.append((mu(h), lv(h)))
        tile = lambda t: t.repeat(k, 1)
        hats = [(tile(m), tile(v)) for m, v in hats]
        top = len(self.latents) - 1
        mq, lvq = hats[top]
        z = mq + torch.exp(0.5 * lvq) * torch.randn(mq.shape, generator=generator, dtype=mq.dtype)
        zeros = torch.zeros_like(mq)
        kl = gaussian_kl(mq, lvq, zeros, zeros)
        log_ratio = gaussian_log_prob(z, zeros, zeros) - gaussian_log_prob(z, mq, lvq)
        for i in range(top - 1, -1, -1):
            hp = self.td[i](z)
            mp, lvp = self.td_mu[i](hp), self.td_lv[i](hp)
            ma, lva = hats[i]
            d = lva - lvp
            lvq = lva - F.softplus(d)
            mq = ma * torch.sigmoid(-d) + mp * torch.sigmoid(d)
            z = mq + torch.exp(0.5 * lvq) * torch.randn(mq.shape, generator=generator, dtype=mq.dtype)
            kl = kl + gaussian_kl(mq, lvq, mp, lvp)
            log_ratio = log_ratio + gaussian_log_prob(z, mp, lvp) - gaussian_log_prob(z, mq, lvq)
        log_px = -F.binary_cross_entropy_with_logits(self.dec(z), x.repeat(k, 1), reduction='none').sum(-1)
        return log_px, kl, log_ratio

    def log_weights(self, x, k, generator=None):
        log_px, _, log_ratio = self.walk(x, k, generator)
        return (log_px + log_ratio).view(k, x.shape[0])

    def loss(self, x, k, generator, kl_weight=1.0):
        log_px, kl, _ = self.walk(x, 1, generator)
        return (-log_px + kl_weight * kl).mean()


@torch.no_grad()
def importance_nll(model, x, samples, generator, batch=20, chunk=250):
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
    ap.add_argument('--model', choices=['vae', 'ladder'], default='vae', help="vae: Burda et al.'s one-layer model; ladder: Sønderby et al.'s")
    ap.add_argument('--schedule', choices=['burda', 'constant'], default='burda', help='burda: 3^i epochs at lr * 10^(-i/7); constant: --lr throughout')
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--adam-eps', type=float, default=1e-4)
    ap.add_argument('--warmup-steps', type=int, default=0, help='linear KL warm-up from 0 to 1 over this many steps (0: none)')
    a = ap.parse_args()

    train = read_idx_images(find_file(a.mnist, 'train-images-idx3-ubyte'))[: a.train_limit]
    train = torch.from_numpy(train.astype(np.float32) / 255.0)
    test = np.fromfile(a.test, dtype=np.uint8)
    if test.size != a.test_count * 784:
        raise ValueError(f'{a.test}: expected {a.test_count} x 784 bytes, got {test.size}')
    test = torch.from_numpy(test.reshape(a.test_count, 784).astype(np.float32))

    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    model = Vae() if a.model == 'vae' else Ladder()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=a.adam_eps)
    start_epoch, step, history = 0, 0, []
    # What a checkpoint must share with this run to be resumed (a shorter run of the schedule is a prefix of a longer one).
    settings = {'model': a.model, 'trainImages': int(train.shape[0]), 'batchSize': a.batch_size, 'iwaeSamples': a.iwae_samples, 'seed': a.seed}
    if a.schedule != 'burda' or a.warmup_steps > 0:
        # Only the Burda schedule is a prefix of a longer run; others must match in length too.
        settings.update({'schedule': a.schedule, 'lr': a.lr, 'epochs': a.epochs, 'warmupSteps': a.warmup_steps})
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
    emit({'type': 'start', 'torch': torch.__version__, 'parameters': sum(p.numel() for p in model.parameters()), 'threads': torch.get_num_threads(), 'trainImages': train.shape[0], 'testImages': test.shape[0], 'resumedEpoch': start_epoch})

    n = train.shape[0]
    steps_per_epoch = math.ceil(n / a.batch_size)
    for epoch in range(start_epoch, a.epochs):
        lr = a.lr * burda_lr(epoch) / 1e-3 if a.schedule == 'burda' else a.lr
        for g in opt.param_groups:
            g['lr'] = lr
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * a.batch_size:(b + 1) * a.batch_size]
            x = torch.bernoulli(train[idx], generator=gen)
            kl_weight = min(step / a.warmup_steps, 1.0) if a.warmup_steps > 0 else 1.0
            loss = model.loss(x, a.iwae_samples, gen, kl_weight)
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
