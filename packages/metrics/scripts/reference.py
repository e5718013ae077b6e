"""Reference values for @elbo/metrics' tests, computed ONCE with Debian's
python3-scipy 1.10.1, python3-skimage 0.19.3 and python3-sklearn 1.2.1:

    /usr/bin/python3 packages/metrics/scripts/reference.py

The printed numbers are pasted as literals into src/**/*.test.ts (CI runs no
Python). Inputs come from the Park-Miller generator below, which the tests
reproduce exactly (src/test-helpers.ts, parkMiller).
"""
import numpy as np
import scipy.linalg
from skimage.metrics import structural_similarity
from sklearn import svm
from sklearn.metrics import mutual_info_score


def park_miller(seed, n):
    """x <- 16807 x mod (2^31 - 1); returns x / (2^31 - 1), exact in doubles."""
    out = np.empty(n)
    x = seed
    for i in range(n):
        x = (16807 * x) % 2147483647
        out[i] = x / 2147483647
    return out


def ssim_cases():
    a = park_miller(1, 32 * 32).reshape(32, 32)
    b = np.clip(a + 0.2 * (park_miller(2, 32 * 32).reshape(32, 32) - 0.5), 0, 1)
    print("ssim random 32x32 noisy:", repr(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)))
    i, j = np.meshgrid(np.arange(28), np.arange(40), indexing="ij")
    s1 = ((i // 4 + j // 4) % 2).astype(float) * 0.8 + 0.1 * i / 27
    s2 = np.roll(s1, 1, axis=1) * 0.9 + 0.05
    print("ssim structured 28x40:", repr(structural_similarity(s1, s2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)))
    c1 = (park_miller(3, 20 * 24 * 3) * 255).reshape(20, 24, 3)
    c2 = (park_miller(4, 20 * 24 * 3) * 60).reshape(20, 24, 3) + 0.7 * c1
    print("ssim colour 20x24x3 range 255:", repr(structural_similarity(c1, c2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1)))


def frechet_scipy(mu1, s1, mu2, s2):
    """The pytorch-fid / TF-GAN formula with scipy.linalg.sqrtm."""
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def frechet_cases():
    d = 8
    A = park_miller(5, d * d).reshape(d, d) - 0.5
    B = park_miller(6, d * d).reshape(d, d) - 0.5
    s1 = A @ A.T + 0.1 * np.eye(d)
    s2 = B @ B.T + 0.05 * np.eye(d)
    mu1 = park_miller(7, d)
    mu2 = park_miller(8, d) * 2
    print("frechet d=8 gaussians:", repr(frechet_scipy(mu1, s1, mu2, s2)))
    x = park_miller(9, 200 * 6).reshape(200, 6)
    y = park_miller(10, 150 * 6).reshape(150, 6) ** 2 + 0.1
    print("frechet of features (200x6 vs 150x6, np.cov):", repr(frechet_scipy(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))))


def codes_and_factors(seed, n):
    """Two discrete factors and three codes: code 0 ~ factor 0, code 1 mixes both, code 2 is noise."""
    f0 = np.floor(park_miller(seed, n) * 5)
    f1 = np.floor(park_miller(seed + 1, n) * 3)
    e = park_miller(seed + 2, 3 * n).reshape(n, 3) - 0.5
    codes = np.stack([f0 + 0.6 * e[:, 0], 0.5 * f1 + 0.3 * f0 + 0.8 * e[:, 1], e[:, 2]], axis=1)
    return codes, np.stack([f0, f1], axis=1)


def histogram_discretize(target, num_bins=20):
    """disentanglement_lib utils._histogram_discretize (target is [num_codes, n])."""
    discretized = np.zeros_like(target)
    for i in range(target.shape[0]):
        discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return discretized


def mig_lib(mus, ys):
    """disentanglement_lib mig._compute_mig with its utils (mus [num_codes, n], ys [num_factors, n])."""
    d = histogram_discretize(mus)
    m = np.zeros([d.shape[0], ys.shape[0]])
    for i in range(d.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = mutual_info_score(ys[j, :], d[i, :])
    entropy = np.array([mutual_info_score(ys[j, :], ys[j, :]) for j in range(ys.shape[0])])
    sorted_m = np.sort(m, axis=0)[::-1]
    return np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], entropy[:])), m, entropy


def sap_lib(mus, ys, mus_test, ys_test):
    """disentanglement_lib sap_score.compute_score_matrix + compute_avg_diff_top_two (discrete factors)."""
    score = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            clf = svm.LinearSVC(C=0.01, class_weight="balanced")
            clf.fit(mus[i, :][:, np.newaxis], ys[j, :])
            pred = clf.predict(mus_test[i, :][:, np.newaxis])
            score[i, j] = np.mean(pred == ys_test[j, :])
    s = np.sort(score, axis=0)
    return np.mean(s[-1, :] - s[-2, :]), score


def disentanglement_cases():
    codes, factors = codes_and_factors(11, 1000)
    mig, m, h = mig_lib(codes.T, factors.T)
    print("mig (seed 11, n 1000):", repr(mig))
    print("  mutual information [code][factor]:", m.tolist())
    print("  factor entropy:", h.tolist())
    print("  discretized code 1 first 10:", histogram_discretize(codes.T)[1, :10].tolist())
    tr, ftr = codes_and_factors(21, 600)
    te, fte = codes_and_factors(31, 300)
    sap, score = sap_lib(tr.T, ftr.T, te.T, fte.T)
    print("sap (train seed 21 n 600, test seed 31 n 300):", repr(sap))
    print("  score matrix:", score.tolist())
    clf = svm.LinearSVC(C=0.01, class_weight="balanced").fit(tr[:, :1], ftr[:, 0])
    print("  LinearSVC code0->factor0 coef", clf.coef_.ravel().tolist(), "intercept", clf.intercept_.tolist())
    clf = svm.LinearSVC(C=0.01, class_weight="balanced").fit(tr[:, 1:2], (ftr[:, 1] > 0).astype(float))
    print("  LinearSVC binary code1->(factor1>0) coef", clf.coef_.ravel().tolist(), "intercept", clf.intercept_.tolist())


if __name__ == "__main__":
    ssim_cases()
    frechet_cases()
    disentanglement_cases()
