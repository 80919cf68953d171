// links.cpp — the nine links R's families use, one class each, and the table
// make_link reads (see link.hpp).
//
// linkinv and mu_eta clamp as R's families do (logit at |eta| = 30, probit
// and cauchit at the quantile of eps, dmu/deta floored at eps); the
// MeanTerms are exact from eta:
//   logit:   log mu = -log1p(e^-eta), log(1 - mu) = -log1p(e^eta), as
//            min(eta, 0) - s and -max(eta, 0) - s with s = log1p(e^-|eta|);
//   probit:  log Phi(eta), log Phi(-eta);
//   cloglog: log(1 - mu) = -e^eta exactly, log mu = log1mexp(e^eta), or
//            eta - e^eta / 2 + O(e^{2 eta}) below eta = -30 (e^eta may underflow);
//   cauchit: log F(eta), log F(-eta);
//   log:     log mu = eta (as a probability: log(1 - mu) = log1mexp(-eta),
//            admissible for eta <= 0);
//   identity, inverse, sqrt, 1/mu^2: mu, log mu and 1/mu in closed form.
// Each class's per-observation formulas are inline lambdas handed to one of
// two block loops (fill_scale_means, fill_probabilities): no virtual call
// per observation.
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "family/link.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
// Same thresholds as R's binomial links: keep mu strictly inside (0, 1).
constexpr double kThresh = 30.0;

// out's terms for a block from the per-observation mean mu_of(eta_i, i),
// log mean log_of(eta_i, mu_i) and inverse mean inv_of(eta_i, mu_i).
template <class Mu, class Log, class Inv>
void fill_scale_means(const ConstArrayRef& eta, MeanRange r, unsigned needed, MeanTerms& out, Mu mu_of, Log log_of,
                      Inv inv_of) {
    out.resize(eta.size());
    for (Eigen::Index i = 0; i < eta.size(); ++i) {
        const double e = eta[i], m = mu_of(e, i);
        out.mu[i] = m;
        if (needed & kLogMu) out.log_mu[i] = log_of(e, m);
        if (needed & kInvMu) out.inv_mu[i] = inv_of(e, m);
        out.admissible[i] = admissible_mean(r, m);
    }
}

// out's log mu (where y is null or y > 0) and log(1 - mu) (y null or y < 1)
// for a block, from log_probs(eta_i, lmu*, l1mu*) which fills the non-null
// ones and returns whether eta_i gives a probability.
template <class LogProbs>
void fill_probabilities(const ConstArrayRef& eta, const double* y, MeanTerms& out, LogProbs log_probs) {
    out.resize(eta.size());
    for (Eigen::Index i = 0; i < eta.size(); ++i) {
        double* lmu = !y || y[i] > 0 ? &out.log_mu[i] : nullptr;
        double* l1mu = !y || y[i] < 1 ? &out.log1m_mu[i] : nullptr;
        out.admissible[i] = log_probs(eta[i], lmu, l1mu);
    }
}

// The outputs of Link::mu_eta_derivatives sized for n rows (me3 where not null).
void resize_derivatives(Eigen::Index n, ArrayXd& me, ArrayXd& me2, ArrayXd* me3) {
    me.resize(n);
    me2.resize(n);
    if (me3) me3->resize(n);
}

// Whether every eta is positive (the mean of the identity, inverse and
// 1/mu^2 links is then positive) / non-zero.
bool all_positive(const ArrayXd& eta) { return (eta > 0).all(); }
bool all_nonzero(const ArrayXd& eta) { return (eta != 0).all(); }
bool positive_range(MeanRange r) { return r == MeanRange::NonNegative || r == MeanRange::Positive; }

class IdentityLink final : public Link {
public:
    const char* name() const override { return "identity"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return mu; }
    ArrayXd linkinv(const ArrayXd& eta) const override { return eta; }
    ArrayXd mu_eta(const ArrayXd& eta) const override { return ArrayXd::Ones(eta.size()); }
    ArrayXd mu_eta2(const ArrayXd& eta) const override { return ArrayXd::Zero(eta.size()); }
    ArrayXd mu_eta3(const ArrayXd& eta) const override { return ArrayXd::Zero(eta.size()); }
    bool valid_eta(const ArrayXd& eta, MeanRange r) const override {
        return positive_range(r) ? all_positive(eta) : true;
    }
    void scale_means(const ConstArrayRef& eta, const double*, MeanRange r, unsigned needed,
                     MeanTerms& out) const override {
        fill_scale_means(
            eta, r, needed, out, [](double e, Eigen::Index) { return e; },
            [](double e, double) { return std::log(e); }, [](double e, double) { return 1.0 / e; });
    }
};

// As a probability link (binomial log): log mu = eta, log(1 - mu) = log1mexp(-eta).
bool log_link_log_probs(double eta, double* lmu, double* l1mu) {
    if (lmu) *lmu = eta;
    if (l1mu) *l1mu = log1mexp(-eta);
    return eta <= 0;
}

// e^eta from the log link's mu = max(e^eta, eps): mu itself above eps (no exp).
ArrayXd exp_given_mean(const ArrayXd& eta, const ArrayXd& mu) {
    ArrayXd out(eta.size());
    for (Eigen::Index i = 0; i < eta.size(); ++i) out[i] = mu[i] > kEps ? mu[i] : std::exp(eta[i]);
    return out;
}

class LogLink final : public Link {
public:
    const char* name() const override { return "log"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return mu.log(); }
    ArrayXd linkinv(const ArrayXd& eta) const override { return eta.exp().max(kEps); }
    ArrayXd mu_eta(const ArrayXd& eta) const override { return eta.exp().max(kEps); }
    ArrayXd mu_eta(const ArrayXd&, const ArrayXd& mu) const override { return mu; }  // linkinv floors mu at eps
    ArrayXd mu_eta2(const ArrayXd& eta) const override { return eta.exp(); }
    ArrayXd mu_eta3(const ArrayXd& eta) const override { return eta.exp(); }
    // e^eta: a given mu = max(e^eta, eps) is e^eta itself above eps.
    ArrayXd mu_eta2(const ArrayXd& eta, const ArrayXd& mu) const override { return exp_given_mean(eta, mu); }
    ArrayXd mu_eta3(const ArrayXd& eta, const ArrayXd& mu) const override { return exp_given_mean(eta, mu); }
    bool valid_eta(const ArrayXd& eta, MeanRange r) const override {
        return r == MeanRange::UnitInterval ? (eta < 0).all() : true;
    }
    bool log_mean_is_eta() const override { return true; }
    // linkinv gives max(e^eta, eps): a given mu is e^eta itself above eps.
    // 1/mu by a division where mu is a normal number (cheaper than a second
    // exp, within an ulp).
    void scale_means(const ConstArrayRef& eta, const double* mu, MeanRange r, unsigned needed,
                     MeanTerms& out) const override {
        fill_scale_means(
            eta, r, needed, out,
            [mu](double e, Eigen::Index i) { return mu && mu[i] > kEps ? mu[i] : std::exp(e); },
            [](double e, double) { return e; },
            [](double e, double m) { return std::isnormal(m) ? 1.0 / m : std::exp(-e); });
    }
    void probabilities(const ConstArrayRef& eta, const double*, const double* y, MeanTerms& out) const override {
        fill_probabilities(eta, y, out, log_link_log_probs);
    }
};

bool logit_log_probs(double eta, double* lmu, double* l1mu) {
    const double s = std::log1p(std::exp(-std::abs(eta)));
    if (lmu) *lmu = std::min(eta, 0.0) - s;
    if (l1mu) *l1mu = -std::max(eta, 0.0) - s;
    return true;
}

class LogitLink final : public Link {
public:
    const char* name() const override { return "logit"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return (mu / (1.0 - mu)).log(); }
    ArrayXd linkinv(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) {
            double t = e < -kThresh ? std::exp(-kThresh) : e > kThresh ? std::exp(kThresh) : std::exp(e);
            return t / (1.0 + t);
        });
    }
    ArrayXd mu_eta(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) {
            double a = std::abs(e);
            return a > kThresh ? kEps : std::exp(e) / ((1 + std::exp(e)) * (1 + std::exp(e)));
        });
    }
    ArrayXd mu_eta(const ArrayXd& eta, const ArrayXd& mu) const override {
        return (eta.abs() > kThresh).select(ArrayXd::Constant(eta.size(), kEps), mu * (1.0 - mu));
    }
    ArrayXd mu_eta2(const ArrayXd& eta) const override {
        const ArrayXd mu = linkinv(eta);
        return mu * (1.0 - mu) * (1.0 - 2.0 * mu);
    }
    // d/deta of m (1 - 2 mu), m = mu (1 - mu), dm/deta = m (1 - 2 mu): m (1 - 6 m).
    ArrayXd mu_eta3(const ArrayXd& eta) const override {
        const ArrayXd mu = linkinv(eta), m = mu * (1.0 - mu);
        return m * (1.0 - 6.0 * m);
    }
    bool valid_eta(const ArrayXd&, MeanRange) const override { return true; }
    // Inside the clamp a given mu = e^eta / (1 + e^eta) is unclamped and one
    // log gives both log mu and log(1 - mu) = log mu - eta (rounding
    // ~ulp(eta) <= 4e-15, far below |log(1 - mu)| >= 9e-14 there, so never
    // of the wrong sign); beyond it, and without mu, the exact forms.
    void probabilities(const ConstArrayRef& eta, const double* mu, const double* y, MeanTerms& out) const override {
        if (!mu) return fill_probabilities(eta, y, out, logit_log_probs);
        out.resize(eta.size());
        for (Eigen::Index i = 0; i < eta.size(); ++i) {
            out.admissible[i] = true;
            if (std::abs(eta[i]) <= kThresh) {
                out.log_mu[i] = std::log(mu[i]);
                out.log1m_mu[i] = out.log_mu[i] - eta[i];
            } else {
                logit_log_probs(eta[i], !y || y[i] > 0 ? &out.log_mu[i] : nullptr,
                                !y || y[i] < 1 ? &out.log1m_mu[i] : nullptr);
            }
        }
    }
};

class ProbitLink final : public Link {
public:
    const char* name() const override { return "probit"; }
    ArrayXd linkfun(const ArrayXd& mu) const override {
        return mu.unaryExpr([](double m) { return norm_quantile(m); });
    }
    ArrayXd linkinv(const ArrayXd& eta) const override {
        const double th = -norm_quantile(kEps);
        return eta.unaryExpr([th](double e) { return norm_cdf(std::min(std::max(e, -th), th)); });
    }
    ArrayXd mu_eta(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) { return std::max(norm_pdf(e), kEps); });
    }
    ArrayXd mu_eta2(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) { return -e * norm_pdf(e); });
    }
    ArrayXd mu_eta3(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) { return (e * e - 1.0) * norm_pdf(e); });
    }
    // One normal density per row for the three (the separate calls take three), the same expressions.
    void mu_eta_derivatives(const ArrayXd& eta, const ArrayXd&, ArrayXd& me, ArrayXd& me2,
                            ArrayXd* me3) const override {
        resize_derivatives(eta.size(), me, me2, me3);
        for (Eigen::Index i = 0; i < eta.size(); ++i) {
            const double e = eta[i], pdf = norm_pdf(e);
            me[i] = std::max(pdf, kEps);
            me2[i] = -e * pdf;
            if (me3) (*me3)[i] = (e * e - 1.0) * pdf;
        }
    }
    bool valid_eta(const ArrayXd&, MeanRange) const override { return true; }
    void probabilities(const ConstArrayRef& eta, const double*, const double* y, MeanTerms& out) const override {
        fill_probabilities(eta, y, out, [](double e, double* lmu, double* l1mu) {
            if (lmu) *lmu = log_norm_cdf(e);
            if (l1mu) *l1mu = log_norm_cdf(-e);
            return true;
        });
    }
};

class CloglogLink final : public Link {
public:
    const char* name() const override { return "cloglog"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return (-(1.0 - mu).log()).log(); }
    ArrayXd linkinv(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) { return std::max(std::min(-std::expm1(-std::exp(e)), 1.0 - kEps), kEps); });
    }
    ArrayXd mu_eta(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) {
            double ee = std::min(e, 700.0);
            return std::max(std::exp(ee) * std::exp(-std::exp(ee)), kEps);
        });
    }
    ArrayXd mu_eta2(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) {
            const double ee = std::exp(std::min(e, 700.0));
            return ee * std::exp(-ee) * (1.0 - ee);
        });
    }
    // With t = e^eta (dt/deta = t): d/deta [(t - t^2) e^-t] = t e^-t (1 - 3t + t^2).
    ArrayXd mu_eta3(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) {
            const double ee = std::exp(std::min(e, 700.0));
            return ee * std::exp(-ee) * (1.0 - 3.0 * ee + ee * ee);
        });
    }
    // One e^eta and one exp(-e^eta) per row for the three (the separate calls take two each), the same
    // expressions: with t = e^eta, t e^-t times 1, (1 - t) and (1 - 3t + t^2).
    void mu_eta_derivatives(const ArrayXd& eta, const ArrayXd&, ArrayXd& me, ArrayXd& me2,
                            ArrayXd* me3) const override {
        resize_derivatives(eta.size(), me, me2, me3);
        for (Eigen::Index i = 0; i < eta.size(); ++i) {
            const double ee = std::exp(std::min(eta[i], 700.0)), d = ee * std::exp(-ee);
            me[i] = std::max(d, kEps);
            me2[i] = d * (1.0 - ee);
            if (me3) (*me3)[i] = d * (1.0 - 3.0 * ee + ee * ee);
        }
    }
    bool valid_eta(const ArrayXd&, MeanRange) const override { return true; }
    // Above e^eta = log 2, log mu = log1p(-exp(-e^eta)) has condition number
    // e^eta in e^eta (up to e^6.6 before it rounds to 0): e^eta in long
    // double (64-bit mantissa on x86) keeps it to an ulp.
    void probabilities(const ConstArrayRef& eta, const double*, const double* y, MeanTerms& out) const override {
        fill_probabilities(eta, y, out, [](double e, double* lmu, double* l1mu) {
            const double ee = std::exp(e);
            if (!lmu) {
            } else if (e < -30) {
                *lmu = e - 0.5 * ee;
            } else if (ee <= M_LN2) {
                *lmu = log1mexp(ee);
            } else {
                *lmu = std::log1p(-static_cast<double>(std::exp(-std::exp(static_cast<long double>(e)))));
            }
            if (l1mu) *l1mu = -ee;
            return true;
        });
    }
};

class CauchitLink final : public Link {
public:
    const char* name() const override { return "cauchit"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return (M_PI * (mu - 0.5)).tan(); }
    // R: eta clamped to +-(-qcauchy(eps)) so mu stays inside (0, 1).
    ArrayXd linkinv(const ArrayXd& eta) const override {
        const double th = std::tan(M_PI * (0.5 - kEps));
        return eta.unaryExpr([th](double e) { return 0.5 + std::atan(std::min(std::max(e, -th), th)) / M_PI; });
    }
    ArrayXd mu_eta(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) { return std::max(1.0 / (M_PI * (1.0 + e * e)), kEps); });
    }
    ArrayXd mu_eta2(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) { return -2.0 * e / (M_PI * (1 + e * e) * (1 + e * e)); });
    }
    ArrayXd mu_eta3(const ArrayXd& eta) const override {
        return eta.unaryExpr([](double e) { return (6.0 * e * e - 2.0) / (M_PI * std::pow(1 + e * e, 3)); });
    }
    bool valid_eta(const ArrayXd&, MeanRange) const override { return true; }
    void probabilities(const ConstArrayRef& eta, const double*, const double* y, MeanTerms& out) const override {
        fill_probabilities(eta, y, out, [](double e, double* lmu, double* l1mu) {
            if (lmu) *lmu = log_cauchy_cdf(e);
            if (l1mu) *l1mu = log_cauchy_cdf(-e);
            return true;
        });
    }
};

class InverseLink final : public Link {
public:
    const char* name() const override { return "inverse"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return mu.inverse(); }
    ArrayXd linkinv(const ArrayXd& eta) const override { return eta.inverse(); }
    ArrayXd mu_eta(const ArrayXd& eta) const override { return -eta.square().inverse(); }
    ArrayXd mu_eta2(const ArrayXd& eta) const override { return 2.0 * eta.cube().inverse(); }
    ArrayXd mu_eta3(const ArrayXd& eta) const override { return -6.0 * eta.square().square().inverse(); }
    // mu > 0 needs eta > 0 where the mean must be positive; the gaussian only eta != 0.
    bool valid_eta(const ArrayXd& eta, MeanRange r) const override {
        return positive_range(r) ? all_positive(eta) : all_nonzero(eta);
    }
    void scale_means(const ConstArrayRef& eta, const double*, MeanRange r, unsigned needed,
                     MeanTerms& out) const override {
        fill_scale_means(
            eta, r, needed, out, [](double e, Eigen::Index) { return 1.0 / e; },
            [](double e, double) { return -std::log(e); }, [](double e, double) { return e; });
    }
};

class SqrtLink final : public Link {
public:
    const char* name() const override { return "sqrt"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return mu.sqrt(); }
    ArrayXd linkinv(const ArrayXd& eta) const override { return eta.square(); }
    ArrayXd mu_eta(const ArrayXd& eta) const override { return 2.0 * eta; }
    ArrayXd mu_eta2(const ArrayXd& eta) const override { return ArrayXd::Constant(eta.size(), 2.0); }
    ArrayXd mu_eta3(const ArrayXd& eta) const override { return ArrayXd::Zero(eta.size()); }
    // mu = eta^2 is a valid mean for any eta (lme4's PIRLS does not restrict
    // it either; R's glm.fit does, via valideta).
    bool valid_eta(const ArrayXd& eta, MeanRange) const override { return all_nonzero(eta); }
    void scale_means(const ConstArrayRef& eta, const double*, MeanRange r, unsigned needed,
                     MeanTerms& out) const override {
        fill_scale_means(
            eta, r, needed, out, [](double e, Eigen::Index) { return e * e; },
            [](double e, double) { return 2.0 * std::log(std::abs(e)); },
            [](double e, double) { return 1.0 / (e * e); });
    }
};

class InverseSquareLink final : public Link {
public:
    const char* name() const override { return "1/mu^2"; }
    ArrayXd linkfun(const ArrayXd& mu) const override { return mu.square().inverse(); }
    ArrayXd linkinv(const ArrayXd& eta) const override { return eta.rsqrt(); }
    ArrayXd mu_eta(const ArrayXd& eta) const override { return -0.5 * eta.pow(-1.5); }
    ArrayXd mu_eta2(const ArrayXd& eta) const override { return 0.75 * eta.pow(-2.5); }
    ArrayXd mu_eta3(const ArrayXd& eta) const override { return -1.875 * eta.pow(-3.5); }
    bool valid_eta(const ArrayXd& eta, MeanRange) const override { return all_positive(eta); }
    // NaN (1/mu^2 at eta < 0) fails admissible_mean.
    void scale_means(const ConstArrayRef& eta, const double*, MeanRange r, unsigned needed,
                     MeanTerms& out) const override {
        fill_scale_means(
            eta, r, needed, out, [](double e, Eigen::Index) { return 1.0 / std::sqrt(e); },
            [](double e, double) { return -0.5 * std::log(e); }, [](double e, double) { return std::sqrt(e); });
    }
};

template <class L>
std::shared_ptr<const Link> shared_link() {
    static const std::shared_ptr<const Link> link = std::make_shared<L>();
    return link;
}

// The table: one line per link.
const std::vector<std::pair<const char*, std::function<std::shared_ptr<const Link>()>>>& link_table() {
    static const std::vector<std::pair<const char*, std::function<std::shared_ptr<const Link>()>>> table = {
        {"identity", shared_link<IdentityLink>},  {"log", shared_link<LogLink>},
        {"logit", shared_link<LogitLink>},        {"probit", shared_link<ProbitLink>},
        {"cloglog", shared_link<CloglogLink>},    {"cauchit", shared_link<CauchitLink>},
        {"inverse", shared_link<InverseLink>},    {"sqrt", shared_link<SqrtLink>},
        {"1/mu^2", shared_link<InverseSquareLink>},
    };
    return table;
}

}  // namespace

void Link::mu_eta_derivatives(const ArrayXd& eta, const ArrayXd& mu, ArrayXd& me, ArrayXd& me2,
                              ArrayXd* me3) const {
    me = mu_eta(eta, mu);
    me2 = mu_eta2(eta, mu);
    if (me3) *me3 = mu_eta3(eta, mu);
}

void Link::scale_means(const ConstArrayRef&, const double*, MeanRange, unsigned, MeanTerms&) const {
    throw std::logic_error(std::string("the ") + name() + " link gives no mean on a scale");
}

void Link::probabilities(const ConstArrayRef&, const double*, const double*, MeanTerms&) const {
    throw std::logic_error(std::string("the ") + name() + " link gives no probability");
}

std::shared_ptr<const Link> make_link(const std::string& name) {
    for (const auto& [n, make] : link_table())
        if (name == n) return make();
    throw std::invalid_argument("unknown link '" + name + "'");
}

}  // namespace glmmfast
