// zero_inflation.cpp — the zero-inflated mixture's log density and eta
// derivatives (and the exact gradient's third derivatives) from the base's
// (see zero_inflation.hpp for the equations).
#include "family/zero_inflation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>


namespace glmmfast {

void log_logistic(const Eigen::ArrayXd& eta, Eigen::ArrayXd& log_p, Eigen::ArrayXd& log1m_p) {
    log_p.resize(eta.size());
    log1m_p.resize(eta.size());
    for (Eigen::Index i = 0; i < eta.size(); ++i) {
        // log p = -log(1 + e^-eta), log(1 - p) = -log(1 + e^eta)
        const double e = eta[i];
        const double a = std::log1p(std::exp(-std::abs(e)));
        log_p[i] = e >= 0 ? -a : e - a;
        log1m_p[i] = e >= 0 ? -e - a : -a;
    }
}

namespace {

// log f_ZI(y) of one observation from the base's unit-weight log f(y) (its
// P(structural zero | y) in pi).  At y = 0, f_ZI(0) = p + (1 - p) f(0): with
// a = log p, c = log(1 - p) + log f(0), m = max(a, c) and e = exp(-|a - c|) <= 1,
//     log f_ZI(0) = m + log1p(e),   pi = p / f_ZI(0) = e^(a - m) / (1 + e),
// 1 / (1 + e) where a is the larger and e / (1 + e) where c is: one exp for
// both (log_add_exp and then exp(a - log f_ZI(0)) took two, on every zero row
// of every PIRLS iteration).  Without with_log the log1p is skipped (pi
// alone; the value returned is then not the log density).
double mixture_log_density(double y, double base, double log_p, double log1m_p, bool zero_mass, double& pi,
                           bool with_log = true) {
    pi = 0.0;
    if (y != 0) return base + log1m_p;
    const double b = zero_mass ? base : -std::numeric_limits<double>::infinity();
    if (!std::isfinite(b)) {
        pi = 1.0;
        return log_p;
    }
    const double a = log_p, c = log1m_p + b;
    const double e = std::exp(-std::abs(a - c));
    pi = (a >= c ? 1.0 : e) / (1.0 + e);
    return with_log ? std::max(a, c) + std::log1p(e) : 0.0;
}

// zero_inflate without a zero part (pi = 0): the prior weights times the base's terms, which the mixture's
// formulas give with q = 1 and pi q = 0 (the same products, up to the sign of a zero), without their
// per-row arithmetic (the exact gradient's rows of every dispersion family come here).
void weight_terms(const Eigen::ArrayXd& wt, ObservationTerms& t, bool third, bool with_log_density) {
    for (Eigen::Index i = 0; i < wt.size(); ++i) {
        // a row without weight has no terms (0, not 0 times a base's term that may not be finite there)
        const bool weighted = wt[i] > 0;
        const double w = wt[i];
        t.score[i] = weighted ? w * t.score[i] : 0.0;
        t.information[i] = weighted ? w * t.information[i] : 0.0;
        t.fisher[i] = weighted ? w * t.fisher[i] : 0.0;
        if (third) t.information_deriv[i] = weighted ? w * t.information_deriv[i] : 0.0;
        if (with_log_density) t.log_density[i] = weighted ? w * t.log_density[i] : 0.0;
    }
    if (!with_log_density) t.log_density.resize(0);
}

}  // namespace

void zero_inflate_log_density(const Eigen::ArrayXd& y, const Eigen::ArrayXd& wt, const Eigen::ArrayXd& log_p,
                              const Eigen::ArrayXd& log1m_p, bool zero_mass, Eigen::ArrayXd& log_density) {
    const bool zi = log_p.size() == y.size();
    double pi;
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        if (wt[i] <= 0) {
            log_density[i] = 0.0;
            continue;
        }
        const double ld = zi ? mixture_log_density(y[i], log_density[i], log_p[i], log1m_p[i], zero_mass, pi)
                             : log_density[i];
        log_density[i] = wt[i] * ld;
    }
}

void zero_inflate(const Eigen::ArrayXd& y, const Eigen::ArrayXd& wt, const Eigen::ArrayXd& log_p,
                  const Eigen::ArrayXd& log1m_p, bool zero_mass, ObservationTerms& t,
                  Eigen::ArrayXd* structural_zero, bool with_log_density) {
    const Eigen::Index n = y.size();
    const bool zi = log_p.size() == n;
    const bool third = t.information_deriv.size() == n;
    if (structural_zero) structural_zero->setZero(n);
    if (!zi) return weight_terms(wt, t, third, with_log_density);
    if (third && zi) {
        t.zi_log_density.setZero(n);
        t.zi_score.setZero(n);
        t.zi_information.setZero(n);
    }
    for (Eigen::Index i = 0; i < n; ++i) {
        if (wt[i] <= 0) {
            t.log_density[i] = t.score[i] = t.information[i] = t.fisher[i] = 0.0;
            if (third) t.information_deriv[i] = 0.0;
            continue;
        }
        double pi = 0.0;
        if (zi)
            t.log_density[i] =
                mixture_log_density(y[i], t.log_density[i], log_p[i], log1m_p[i], zero_mass, pi, with_log_density);
        if (structural_zero) (*structural_zero)[i] = pi;
        if (third && zi) t.zi_log_density[i] = wt[i] * (pi - std::exp(log_p[i]));
        if (pi >= 1.0) {
            t.score[i] = t.information[i] = t.fisher[i] = 0.0;
            if (third) t.information_deriv[i] = 0.0;
        } else {
            const double s = t.score[i], h = t.information[i], q = 1.0 - pi, pq = pi * q;
            if (third) {
                const double mixing = pq * (3.0 * s * h + (1.0 - 2.0 * pi) * s * s * s);
                t.information_deriv[i] = wt[i] * (q * t.information_deriv[i] + mixing);
                if (zi) {
                    t.zi_score[i] = -wt[i] * pq * s;
                    t.zi_information[i] = -wt[i] * pq * (h + (1.0 - 2.0 * pi) * s * s);
                }
            }
            t.information[i] = wt[i] * (q * h - pq * s * s);
            t.score[i] = wt[i] * q * s;
            t.fisher[i] = wt[i] * q * t.fisher[i];
        }
        t.log_density[i] *= wt[i];
    }
    if (!with_log_density) t.log_density.resize(0);
}

}  // namespace glmmfast
