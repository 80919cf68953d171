// tweedie_series.cpp — the Dunn-Smyth series for the Tweedie density's
// normalising term a(y, phi, p) and its phi and p derivatives (equations and
// the window that bounds the work in tweedie_series.hpp).
#include "family/tweedie_series.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

// Terms more than this far below the largest (in log) are not added: e^-40
// relative is below the rounding of the sum.
constexpr double kTweedieCutoff = 40.0;
// Up to this width sigma of the terms around their peak the series is summed term by term
// (at most ~2 sqrt(2 kTweedieCutoff) sigma ~ 290 terms); wider, as the integral of W(j) over j by the
// trapezoid rule of step sigma / kStepsPerSigma (the sum over the integers is itself that
// integral's trapezoid rule of step 1, and for a smooth peak of width sigma both are the integral
// to a relative e^(-2 pi^2 (sigma / step)^2): e^-5000 and e^-316).
constexpr double kTermByTermSigma = 16.0;
constexpr double kStepsPerSigma = 4.0;
// Term by term only below 2^52, where j + 1 is still another double (a power within ~1e-13 of 1
// could otherwise have a narrow peak there).
constexpr double kTermByTermLimit = 4503599627370496.0;

// The series' terms W_j at j = center + k step (k = 0, +-1, ...), relative to W_center.
struct Series {
    double r, log_z, center, step, log_ref;
    bool term_by_term;
    Series(double y, double phi, double p)
        : r((2.0 - p) / (p - 1.0)),
          log_z(r * std::log(y) - r * std::log(p - 1.0) - (1.0 + r) * std::log(phi) - std::log(2.0 - p)) {
        // j* = y^(2-p) / (phi (2-p)), the peak to O(1); -d^2 log W / dj^2 = psi'(j + 1) + r^2 psi'(j r) there
        // (sigma^2 < 1 / psi'(j + 1) < j + 1: a peak below kTermByTermSigma^2 is narrow without computing it)
        const double peak = std::exp((2.0 - p) * std::log(y) - std::log(phi) - std::log(2.0 - p));
        const double sigma = peak < kTermByTermSigma * kTermByTermSigma
                                 ? 0.0
                                 : 1.0 / std::sqrt(trigamma(peak + 1.0) + r * r * trigamma(peak * r));
        term_by_term = !(sigma > kTermByTermSigma) && peak < kTermByTermLimit;  // (a NaN sigma: a peak at j -> 0)
        if (term_by_term) {
            center = std::max(1.0, std::round(peak));
            step = 1.0;
            log_ref = 0.0;
        } else {
            center = peak;
            step = sigma / kStepsPerSigma;
            log_ref = log_w(center);
        }
    }
    double log_w(double j) const { return j * log_z - log_factorial(j) - std::lgamma(j * r); }
    // log W_j - log_ref.  Off the integers (a wide peak, far from j = 0) as
    // d log z - [lgamma(c + 1 + d) - lgamma(c + 1)] - [lgamma(c r + d r) - lgamma(c r)] (d = j - c):
    // W_c's own log is ~ c (1 + r), whose rounding would swamp the differences.
    double term(double j) const {
        if (term_by_term) return log_w(j);
        const double d = j - center;
        return d * log_z - log_gamma_ratio(center + 1.0, d, 0.0) - log_gamma_ratio(center * r, d * r, 0.0);
    }
    double at(long k) const { return center + static_cast<double>(k) * step; }
};

// visit(j, log W_j - log_ref) for the terms that matter: k = 0, then downward and upward from the
// center, each direction stopping a cutoff below the largest term seen (log W_j is concave in j).
template <class Visit>
void for_each_term(const Series& s, Visit&& visit) {
    double log_max = -INFINITY;
    auto add = [&](long k) {
        const double lw = s.term(s.at(k));
        log_max = std::max(log_max, lw);
        visit(s.at(k), lw);
        return lw >= log_max - kTweedieCutoff;
    };
    add(0);
    for (long k = -1; s.at(k) >= 1.0 && add(k); --k) {}
    for (long k = 1; add(k); ++k) {}
}

}  // namespace

TweedieLogAPhi tweedie_log_a_phi(double y, double phi, double p) {
    // One pass, no storage: the sums of W, W (j - c), W (j - c)^2 are kept relative to the largest
    // term so far (moments about the center c, so the variance does not cancel at a large j).
    const Series series(y, phi, p);
    double log_max = -INFINITY, s0 = 0.0, s1 = 0.0, s2 = 0.0;
    for_each_term(series, [&](double j, double lw) {
        const double d = j - series.center;
        double w = 1.0;
        if (lw > log_max) {
            const double rescale = std::exp(log_max - lw);
            s0 *= rescale;
            s1 *= rescale;
            s2 *= rescale;
            log_max = lw;
        } else {
            w = std::exp(lw - log_max);
        }
        s0 += w;
        s1 += w * d;
        s2 += w * d * d;
    });
    const double mean_offset = s1 / s0;
    TweedieLogAPhi out;
    out.value = series.log_ref + log_max + std::log(s0 * series.step) - std::log(y);
    out.mean_j = series.center + mean_offset;
    out.var_j = std::max(0.0, s2 / s0 - mean_offset * mean_offset);
    return out;
}

TweedieLogA tweedie_log_a_derivatives(double y, double phi, double p) {
    const Series series(y, phi, p);
    std::vector<double> js, log_w;
    for_each_term(series, [&](double j, double lw) {
        js.push_back(j);
        log_w.push_back(lw);
    });
    const double log_max = *std::max_element(log_w.begin(), log_w.end());
    const double r = series.r, q = p - 1.0, t = 2.0 - p;
    const double r1 = -1.0 / (q * q), r2 = 2.0 / (q * q * q);
    const double L = std::log(y) - std::log(q) - std::log(phi);
    const double c1 = r1 * L - r / q + 1.0 / t;
    const double c2 = r2 * L - 2.0 * r1 / q + r / (q * q) + 1.0 / (t * t);
    // Weighted moments, two passes (means first) so the variances do not cancel.
    const std::size_t m = js.size();
    std::vector<double> w(m), g(m), h(m);
    double sw = 0.0, ej = 0.0, eg = 0.0, eh = 0.0;
    for (std::size_t k = 0; k < m; ++k) {
        const double j = js[k], jr = j * r;
        const double psi = digamma(jr);
        w[k] = std::exp(log_w[k] - log_max);
        g[k] = j * c1 - j * r1 * psi;
        h[k] = j * c2 - j * r2 * psi - j * j * r1 * r1 * trigamma(jr);
        sw += w[k];
        ej += w[k] * j;
        eg += w[k] * g[k];
        eh += w[k] * h[k];
    }
    ej /= sw;
    eg /= sw;
    eh /= sw;
    double vj = 0.0, vg = 0.0;
    for (std::size_t k = 0; k < m; ++k) {
        const double dj = js[k] - ej, dg = g[k] - eg;
        vj += w[k] * dj * dj;
        vg += w[k] * dg * dg;
    }
    vj /= sw;
    vg /= sw;
    TweedieLogA out;
    out.value = series.log_ref + log_max + std::log(sw * series.step) - std::log(y);
    out.d_phi = -(1.0 + r) * ej / phi;
    out.d2_phi = ((1.0 + r) * ej + (1.0 + r) * (1.0 + r) * vj) / (phi * phi);
    out.d_power = eg;
    out.d2_power = eh + vg;
    return out;
}

}  // namespace glmmfast
