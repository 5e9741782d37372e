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
