#!/usr/bin/env python3
"""Regenerates the fitted coefficients of nonlin.c (pure Python, no numpy).

  fit_nonlin.py                 prints both fits as C initialisers, with their errors
  fit_nonlin.py --check FILE.c  refits and compares with the (rounded) constants in FILE.c
                                (exit 1 when they differ or fit worse; CTest nonlin_fit)

GeLU (gelu_q, GELU_T): GeLU(x) = x/2 + E(x), E(x) = x (Phi(x) - 1/2), even.
  On |x| <= T, E is a degree-5 polynomial in v = (x/T)^2, the least-squares
  fit of E at the 4001 points x = linspace(0, T, 4001).
GeLU-tanh (gelu_tanh_q, the same T): GPT-2's gelu_new
  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x/2 + E_t(x), E_t even;
  fitted exactly as GeLU's E.
exp (exp_fit4): p(y) = 1 + y + y^2 (c2 + c3 y + c4 y^2), minimising the
  maximum of |p(y)^8 - e^(8y)| (3 squarings) over the 2001 points
  y = linspace(-2, 0.07, 2001), by Nelder-Mead from the Taylor coefficients,
  restarted once with a smaller simplex.
"""
import math
import re
import sys

GELU_POINTS = 4001
EXP_LO, EXP_HI, EXP_POINTS, EXP_SQUARINGS = -2.0, 0.07, 2001, 3


def gelu_even(x):
    return x * (0.5 * (1 + math.erf(x / math.sqrt(2))) - 0.5)


def gelu_tanh_even(x):
    return 0.5 * x * math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))


def solve(a, b):
    """Gaussian elimination with partial pivoting."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    return [m[r][n] / m[r][r] for r in range(n)]


def gelu_poly(q, x, t):
    v = (x / t) ** 2
    return sum(c * v**k for k, c in enumerate(q))


def fit_gelu(t, deg=5, fn=gelu_even):
    xs = [t * i / (GELU_POINTS - 1) for i in range(GELU_POINTS)]
    n = deg + 1
    a = [[0.0] * n for _ in range(n)]
    b = [0.0] * n
    for x in xs:
        v, y = (x / t) ** 2, fn(x)
        p = [v**k for k in range(n)]
        for r in range(n):
            b[r] += p[r] * y
            for c in range(n):
                a[r][c] += p[r] * p[c]
    return solve(a, b)


def gelu_max_err(q, t, fn=gelu_even):
    xs = [t * i / (GELU_POINTS - 1) for i in range(GELU_POINTS)]
    return max(abs(gelu_poly(q, x, t) - fn(x)) for x in xs)


EXP_YS = [EXP_LO + (EXP_HI - EXP_LO) * i / (EXP_POINTS - 1) for i in range(EXP_POINTS)]


def exp_max_err(c):
    k = 2**EXP_SQUARINGS
    m = 0.0
    for y in EXP_YS:
        p = 1 + y + y * y * (c[0] + c[1] * y + c[2] * y * y)
        m = max(m, abs(p**k - math.exp(k * y)))
    return m


def nelder_mead(f, x0, step, iters=2000, tol=1e-14):
    n = len(x0)
    pts = [x0[:]] + [[x0[j] + (step if j == i else 0) for j in range(n)] for i in range(n)]
    vals = [f(p) for p in pts]
    for _ in range(iters):
        order = sorted(range(n + 1), key=lambda i: vals[i])
        pts, vals = [pts[i] for i in order], [vals[i] for i in order]
        if vals[-1] - vals[0] < tol:
            break
        cen = [sum(p[j] for p in pts[:-1]) / n for j in range(n)]
        xr = [2 * cen[j] - pts[-1][j] for j in range(n)]
        fr = f(xr)
        if fr < vals[0]:
            xe = [3 * cen[j] - 2 * pts[-1][j] for j in range(n)]
            fe = f(xe)
            pts[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = xr, fr
        else:
            xc = [(cen[j] + pts[-1][j]) / 2 for j in range(n)]
            fc = f(xc)
            if fc < vals[-1]:
                pts[-1], vals[-1] = xc, fc
            else:
                for i in range(1, n + 1):
                    pts[i] = [(pts[0][j] + pts[i][j]) / 2 for j in range(n)]
                    vals[i] = f(pts[i])
    best = min(range(n + 1), key=lambda i: vals[i])
    return pts[best]


def fit_exp():
    c = nelder_mead(exp_max_err, [0.5, 1 / 6, 1 / 24], 0.01)
    return nelder_mead(exp_max_err, c, 0.001)


def c_array(src, name):
    m = re.search(r"\b" + name + r"\s*\[\s*\d+\s*\]\s*=\s*\{([^}]*)\}", src)
    if not m:
        raise SystemExit("fit_nonlin: no array %s in the source" % name)
    return [float(v) for v in m.group(1).replace("\n", " ").split(",") if v.strip()]


def c_define(src, name):
    m = re.search(r"#define\s+" + name + r"\s+([0-9.eE+-]+)", src)
    if not m:
        raise SystemExit("fit_nonlin: no #define %s in the source" % name)
    return float(m.group(1))


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        src = open(argv[2], encoding="utf-8").read()
        t, q_code, e_code = c_define(src, "GELU_T"), c_array(src, "gelu_q"), c_array(src, "exp_fit4")
        q, e = fit_gelu(t), fit_exp()
        bad = 0
        dq = max(abs(a - b) for a, b in zip(q, q_code)) if len(q_code) == len(q) else math.inf
        eg_code, eg = gelu_max_err(q_code, t), gelu_max_err(q, t)
        print("gelu_q: largest coefficient difference %.2e; max |E err| on [0, %g]: source %.3e, refit %.3e"
              % (dq, t, eg_code, eg))
        if not (dq <= 1e-5 and eg_code <= eg * 1.001):
            print("fit_nonlin: gelu_q in %s is not the least-squares fit (refit: %s)" % (argv[2], q))
            bad = 1
        qt_code, qt = c_array(src, "gelu_tanh_q"), fit_gelu(t, fn=gelu_tanh_even)
        dt = max(abs(a - b) for a, b in zip(qt, qt_code)) if len(qt_code) == len(qt) else math.inf
        et_code, et = gelu_max_err(qt_code, t, gelu_tanh_even), gelu_max_err(qt, t, gelu_tanh_even)
        print("gelu_tanh_q: largest coefficient difference %.2e; max |E_t err| on [0, %g]: source %.3e, refit %.3e"
              % (dt, t, et_code, et))
        if not (dt <= 1e-5 and et_code <= et * 1.001):
            print("fit_nonlin: gelu_tanh_q in %s is not the least-squares fit (refit: %s)" % (argv[2], qt))
            bad = 1
        de = max(abs(a - b) for a, b in zip(e, e_code)) if len(e_code) == len(e) else math.inf
        ee_code, ee = exp_max_err(e_code), exp_max_err(e)
        print("exp_fit4: largest coefficient difference %.2e; max |p^8 - e^8y|: source %.3e, refit %.3e"
              % (de, ee_code, ee))
        if not (de <= 1e-7 and ee_code <= ee * 1.001):
            print("fit_nonlin: exp_fit4 in %s is not the minimax fit (refit: %s)" % (argv[2], e))
            bad = 1
        print("fit_nonlin: %s" % ("MISMATCH" if bad else "the source's coefficients are reproduced"))
        return bad
    if len(argv) != 1:
        print(__doc__)
        return 2
    t = 3.2
    q, e = fit_gelu(t), fit_exp()
    print("#define GELU_T %g" % t)
    print("static const double gelu_q[6] = {%s};" % ", ".join(repr(v) for v in q))
    print("/* max |E error| on [0, T]: %.3e; at the joints T Phi(-T) = %.3e */"
          % (gelu_max_err(q, t), t * 0.5 * (1 + math.erf(-t / math.sqrt(2)))))
    qt = fit_gelu(t, fn=gelu_tanh_even)
    print("static const double gelu_tanh_q[6] = {%s};" % ", ".join(repr(v) for v in qt))
    print("/* max |E_t error| on [0, T]: %.3e; at the joints %.3e */"
          % (gelu_max_err(qt, t, gelu_tanh_even), t / 2 - gelu_tanh_even(t)))
    print("static const double exp_fit4[3] = {%s};" % ", ".join("%.8f" % v for v in e))
    print("/* max |p^8 - e^8y| on [%g, %g]: %.3e (Taylor: %.3e) */"
          % (EXP_LO, EXP_HI, exp_max_err(e), exp_max_err([0.5, 1 / 6, 1 / 24])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
