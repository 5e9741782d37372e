/*
 * nonlin_ref.c — float64 twins of the secure non-linear functions: the exact
 * functions (not the approximations), used by tests and the bench.
 */
#include "mpct_nonlin.h"

#include <math.h>

double mpct_nl_ref_exp(double x) { return exp(x); }
double mpct_nl_ref_recip(double x) { return 1.0 / x; }
double mpct_nl_ref_rsqrt(double x) { return 1.0 / sqrt(x); }
double mpct_nl_ref_gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
double mpct_nl_ref_tanh(double x) { return tanh(x); }
double mpct_nl_ref_gelu_tanh(double x)
{
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 /* sqrt(2/pi) */ * (x + 0.044715 * x * x * x)));
}
double mpct_nl_ref_silu(double x) { return x / (1.0 + exp(-x)); }

void mpct_nl_ref_rmsnorm(const double *x, const double *gain, double eps, size_t rows, size_t h, double *out)
{
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * h;
        double ms = 0;
        for (size_t j = 0; j < h; j++)
            ms += xr[j] * xr[j];
        const double is = 1.0 / sqrt(ms / (double)h + eps);
        for (size_t j = 0; j < h; j++)
            out[r * h + j] = xr[j] * is * gain[j];
    }
}

void mpct_nl_ref_softmax(const double *x, const uint8_t *mask, size_t rows, size_t cols, double *out)
{
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * cols;
        const uint8_t *mr = mask ? mask + r * cols : NULL;
        int any = 0;
        for (size_t j = 0; j < cols; j++)
            any |= !mr || mr[j];
        double mx = -INFINITY, s = 0;
        for (size_t j = 0; j < cols; j++)
            if (!any || !mr || mr[j])
                mx = fmax(mx, xr[j]);
        for (size_t j = 0; j < cols; j++) {
            double v = (!any || !mr || mr[j]) ? exp(xr[j] - mx) : 0;
            out[r * cols + j] = v;
            s += v;
        }
        for (size_t j = 0; j < cols; j++)
            out[r * cols + j] /= s;
    }
}

void mpct_nl_ref_layernorm(const double *x, const double *gain, const double *bias, double eps, size_t rows,
                           size_t h, double *out)
{
    for (size_t r = 0; r < rows; r++) {
        const double *xr = x + r * h;
        double mu = 0, var = 0;
        for (size_t j = 0; j < h; j++)
            mu += xr[j];
        mu /= (double)h;
        for (size_t j = 0; j < h; j++)
            var += (xr[j] - mu) * (xr[j] - mu);
        var /= (double)h;
        double is = 1.0 / sqrt(var + eps);
        for (size_t j = 0; j < h; j++)
            out[r * h + j] = (xr[j] - mu) * is * gain[j] + bias[j];
    }
}

void mpct_nl_ref_rope(const double *x, const mpct_nl_rope_cfg *rp, size_t rows, double *out)
{
    const size_t hd = rp->head_dim, h2 = hd / 2;
    for (size_t r = 0; r < rows; r++)
        for (size_t h = 0; h < rp->heads; h++) {
            const double *a = x + (r * rp->heads + h) * hd;
            double *o = out + (r * rp->heads + h) * hd;
            for (size_t i = 0; i < h2; i++) {
                const double ang = (double)rp->pos[r] * pow(rp->theta, -(double)(2 * i) / (double)hd);
                o[i] = a[i] * cos(ang) - a[i + h2] * sin(ang);
                o[i + h2] = a[i + h2] * cos(ang) + a[i] * sin(ang);
            }
        }
}

void mpct_nl_ref_argmax(const double *x, size_t rows, size_t V, size_t *idx)
{
    for (size_t r = 0; r < rows; r++) {
        size_t best = 0;
        for (size_t j = 1; j < V; j++)
            if (x[r * V + j] > x[r * V + best])
                best = j;
        idx[r] = best;
    }
}
