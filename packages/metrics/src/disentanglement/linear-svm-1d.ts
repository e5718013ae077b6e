import { encodeLabels } from './columns';

/** A fitted one-feature linear SVM: one (weight, bias) per one-vs-rest problem. */
export interface LinearSvm1d {
  classes: number[];
  /** Binary: one problem whose positive class is classes[1]; otherwise one per class. */
  weights: Float64Array;
  biases: Float64Array;
}

/**
 * min_{w,b} 0.5 (w^2 + b^2) + sum_i c_i max(0, 1 - t_i (w x_i + b))^2, the
 * problem liblinear solves for LinearSVC (squared hinge, L2, the intercept as a
 * regularised extra feature of value 1). Solved to machine precision by
 * Newton's method on the generalised Hessian with a backtracking line search
 * (the objective is convex and piecewise quadratic in two variables).
 */
function solveSquaredHinge(x: Float64Array, t: Int8Array, c: Float64Array): [number, number] {
  let w = 0;
  let b = 0;
  const objective = (w_: number, b_: number) => {
    let f = 0.5 * (w_ * w_ + b_ * b_);
    for (let i = 0; i < x.length; i++) {
      const m = 1 - t[i] * (w_ * x[i] + b_);
      if (m > 0) f += c[i] * m * m;
    }
    return f;
  };
  let f = objective(w, b);
  for (let iter = 0; iter < 100; iter++) {
    let gw = w;
    let gb = b;
    let hww = 1;
    let hwb = 0;
    let hbb = 1;
    for (let i = 0; i < x.length; i++) {
      const m = 1 - t[i] * (w * x[i] + b);
      if (m > 0) {
        const g = 2 * c[i] * m * t[i];
        gw -= g * x[i];
        gb -= g;
        hww += 2 * c[i] * x[i] * x[i];
        hwb += 2 * c[i] * x[i];
        hbb += 2 * c[i];
      }
    }
    const det = hww * hbb - hwb * hwb;
    const dw = -(hbb * gw - hwb * gb) / det;
    const db = -(-hwb * gw + hww * gb) / det;
    const slope = gw * dw + gb * db;
    if (-slope < 1e-24 * Math.max(1, f)) break;
    let step = 1;
    let fNew = objective(w + dw, b + db);
    while (fNew > f + 1e-4 * step * slope && step > 1e-12) {
      step /= 2;
      fNew = objective(w + step * dw, b + step * db);
    }
    w += step * dw;
    b += step * db;
    if (f - fNew <= 1e-15 * Math.max(1, Math.abs(f))) {
      f = fNew;
      break;
    }
    f = fNew;
  }
  return [w, b];
}

/**
 * Fit scikit-learn's `LinearSVC(C, class_weight='balanced')` on one feature
 * (the classifier disentanglement_lib's SAP uses with C = 0.01): one-vs-rest,
 * squared hinge, regularised intercept. As in liblinear, in a one-vs-rest
 * problem the positive examples get C * weight(class) and the negatives C;
 * in the binary case each class gets C * its weight. Balanced weights are
 * n / (classes * count(class)).
 * @param x [n] feature values @param y [n] labels (any numbers)
 */
export function fitLinearSvm1d(x: Float64Array, y: Float64Array, options: { C?: number; classWeight?: 'balanced' | 'none' } = {}): LinearSvm1d {
  const C = options.C ?? 1;
  if (!(C > 0)) throw new Error(`fitLinearSvm1d: C must be positive, got ${C}`);
  if (x.length !== y.length || x.length === 0) throw new Error(`fitLinearSvm1d: x and y must be non-empty and of equal length (${x.length} vs ${y.length})`);
  const { codes, classes } = encodeLabels(y);
  const k = classes.length;
  if (k < 2) throw new Error('fitLinearSvm1d: y must contain at least two classes');
  const counts = new Float64Array(k);
  for (const c of codes) counts[c]++;
  const weight = Float64Array.from(counts, (n) => (options.classWeight === 'none' ? 1 : x.length / (k * n)));
  const problems = k === 2 ? [1] : Array.from({ length: k }, (_, i) => i);
  const weights = new Float64Array(problems.length);
  const biases = new Float64Array(problems.length);
  const t = new Int8Array(x.length);
  const c = new Float64Array(x.length);
  problems.forEach((pos, p) => {
    for (let i = 0; i < x.length; i++) {
      const isPos = codes[i] === pos;
      t[i] = isPos ? 1 : -1;
      c[i] = k === 2 || isPos ? C * weight[codes[i]] : C;
    }
    [weights[p], biases[p]] = solveSquaredHinge(x, t, c);
  });
  return { classes, weights, biases };
}

/** Predicted labels: binary sign (decision > 0 gives classes[1]), else the first argmax. */
export function predictLinearSvm1d(model: LinearSvm1d, x: Float64Array): Float64Array {
  const { classes, weights, biases } = model;
  if (classes.length === 2) return Float64Array.from(x, (v) => (weights[0] * v + biases[0] > 0 ? classes[1] : classes[0]));
  return Float64Array.from(x, (v) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let p = 0; p < weights.length; p++) {
      const s = weights[p] * v + biases[p];
      if (s > bestScore) {
        bestScore = s;
        best = p;
      }
    }
    return classes[best];
  });
}
