// student_t.cpp — the Student t distribution (glmmTMB's t_family; links
// identity, log, inverse): location mu, scale sigma (glmmTMB's sigma()) and
// degrees of freedom df (glmmTMB's family_params), both shape parameters
// ("sigma", "df").  With e = y - mu, c = e^2 / sigma^2 and q = c / df,
// times the prior weight:
//   log f = lgamma((df + 1) / 2) - lgamma(df / 2) - log(df pi) / 2 - log sigma
//           - (df + 1) / 2 log1p(q).
// In mu, with D = df sigma^2 + e^2:
//   d log f / d mu = (df + 1) e / D,   d^2 log f / d mu^2 = (df + 1) (e^2 - df sigma^2) / D^2,
// positive (not log-concave) where e^2 > df sigma^2: the observed
// information in eta, -(me^2 d^2 log f / d mu^2 + me2 d log f / d mu), can
// be negative there, and PIRLS's Fisher-type steps use the expected
// information me^2 (df + 1) / ((df + 3) sigma^2) > 0 instead
// (model/observation_model.cpp).
// Parameter "sigma" (s):
//   d log f / d s = -1/s + (df + 1) q / (s (1 + q)),
//   d^2 log f / d s^2 = 1/s^2 - (df + 1) q (3 + q) / (s^2 (1 + q)^2).
// Parameter "df" (v), with K = psi((v + 1) / 2) / 2 - psi(v / 2) / 2 - 1 / (2 v):
//   d log f / d v = K - log1p(q) / 2 + (v + 1) c / (2 v (v + c)),
//   d^2 log f / d v^2 = psi'((v + 1) / 2) / 4 - psi'(v / 2) / 4 + 1 / (2 v^2)
//                       + c / (2 v (v + c)) - c (v^2 + 2 v + c) / (2 v^2 (v + c)^2).
// V(mu) = sigma^2 df / (df - 2) (infinite for df <= 2).  Unit "deviance":
// 2 wt [log f(y; y) - log f(y; mu)] = wt (df + 1) log1p(q).  Simulation:
// mu + sigma Z / sqrt(X / df), Z ~ N(0, 1), X ~ chi^2(df).  sigma may vary by
// observation (sigma(i), shape_by_row: a dispersion model); df is one value.
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "family/distribution.hpp"
#include "family/row_values.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

constexpr double kPi = 3.14159265358979323846;

class StudentT final : public DistributionBase<StudentT> {
public:
    const char* name() const override { return "t"; }
    std::vector<std::string> links() const override { return {"identity", "log", "inverse"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Real; }
    unsigned mean_terms_needed() const override { return 0u; }
    bool exponential_dispersion() const override { return false; }
    bool has_zero_mass() const override { return false; }

    std::vector<std::string> shape_parameters() const override { return {"sigma", "df"}; }
    void set_shape(const std::string& p, double value) override {
        if (p != "sigma" && p != "df") unknown_parameter(p);
        if (!(value > 0 && std::isfinite(value)))
            throw std::invalid_argument("the t family's " + p + " must be positive and finite");
        (p == "sigma" ? sigma_ : df_) = value;
        if (p == "sigma") sigma_rows_.values.resize(0);
    }
    bool shape_by_row(const std::string& p) const override { return p == "sigma"; }
    void set_shape_rows(const std::string& p, const ArrayXd& values) override {
        if (p != "sigma") Distribution::set_shape_rows(p, values);
        sigma_rows_.values = values;
    }
    double shape(const std::string& p) const override {
        if (p != "sigma" && p != "df") unknown_parameter(p);
        return p == "sigma" ? sigma_ : df_;
    }

    ArrayXd variance(const ArrayXd& mu) const override {
        if (df_ <= 2) return ArrayXd::Constant(mu.size(), std::numeric_limits<double>::infinity());
        return sigma_rows_.over(sigma_, mu.size()).square() * df_ / (df_ - 2);
    }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return ArrayXd::Zero(mu.size()); }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y; }
    ArrayXd fisher_weight(const ArrayXd&, const ArrayXd& me, const ArrayXd& wt) const override {
        const ArrayXd s = sigma_rows_.over(sigma_, me.size());
        return wt * me.square() * (df_ + 1.0) / ((df_ + 3.0) * s * s);
    }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        const double constant = std::lgamma((df_ + 1.0) / 2) - std::lgamma(df_ / 2) - 0.5 * std::log(df_ * kPi);
        // log sigma once where sigma is one value (sigma_rows_ empty)
        const double log_sigma = std::log(sigma_);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double s = sigma(m.first_row + i), r = (y[i] - m.mu[i]) / s;
            out[i] = wt[i] * (constant - (sigma_rows_.values.size() ? std::log(s) : log_sigma) -
                              0.5 * (df_ + 1.0) * std::log1p(r * r / df_));
        }
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double r = (y[i] - m.mu[i]) / sigma(m.first_row + i);
            out[i] = wt[i] * (df_ + 1.0) * std::log1p(r * r / df_);
        }
    }

    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        const ArrayXd e = y - mu, s = sigma_rows_.over(sigma_, e.size());
        return wt * me * (df_ + 1.0) * e / (df_ * s * s + e.square());
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        const ArrayXd s2 = sigma_rows_.over(sigma_, y.size()).square();
        const ArrayXd e = y - mu, d = df_ * s2 + e.square();
        const ArrayXd l1 = (df_ + 1.0) * e / d, l2 = (df_ + 1.0) * (e.square() - df_ * s2) / d.square();
        return -wt * (me.square() * l2 + me2 * l1);
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "sigma" && p != "df") unknown_parameter(p);
        const double v = df_;
        const double k1 = 0.5 * digamma((v + 1.0) / 2) - 0.5 * digamma(v / 2) - 0.5 / v;
        const double k2 = 0.25 * trigamma((v + 1.0) / 2) - 0.25 * trigamma(v / 2) + 0.5 / (v * v);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double s = sigma(m.first_row + i), r = (y[i] - m.mu[i]) / s, c = r * r, q = c / v;
            if (p == "sigma") {
                d1[i] = wt[i] * (-1.0 / s + (v + 1.0) * q / (s * (1.0 + q)));
                d2[i] = wt[i] * (1.0 / (s * s) - (v + 1.0) * q * (3.0 + q) / (s * s * (1.0 + q) * (1.0 + q)));
            } else {
                const double vc = v + c;
                d1[i] = wt[i] * (k1 - 0.5 * std::log1p(q) + (v + 1.0) * c / (2.0 * v * vc));
                d2[i] = wt[i] * (k2 + c / (2.0 * v * vc) - c * (v * v + 2.0 * v + c) / (2.0 * v * v * vc * vc));
            }
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        std::normal_distribution<double> z;
        std::chi_squared_distribution<double> x(df_);
        for (Eigen::Index i = 0; i < mu.size(); ++i) y[i] = mu[i] + sigma(i) * z(rng) / std::sqrt(x(rng) / df_);
        return y;
    }

private:
    double sigma(Eigen::Index i) const { return sigma_rows_.at(sigma_, i); }
    double sigma_ = 1.0, df_ = 10.0;
    RowValues sigma_rows_;
};

}  // namespace

std::unique_ptr<Distribution> make_student_t() { return std::make_unique<StudentT>(); }

}  // namespace glmmfast
