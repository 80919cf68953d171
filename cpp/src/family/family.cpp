// family.cpp — a distribution with a link, over whole arrays (see family.hpp).
#include "family/family.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "family/registry.hpp"
#include "linalg/all_finite.hpp"

namespace glmmfast {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Log densities of a block where the weight is not positive (0) or the mean
// is not admissible (-inf).
void mask_log_density(const ConstArrayRef& wt, const MeanTerms& m, ArrayRef out) {
    for (Eigen::Index i = 0; i < out.size(); ++i) {
        if (wt[i] <= 0) out[i] = 0.0;
        else if (!m.admissible[i]) out[i] = -kInf;
    }
}

// Unit deviances of a block where the weight is 0 (0) or the mean is not admissible (+inf).
void mask_deviance(const ConstArrayRef& wt, const MeanTerms& m, ArrayRef out) {
    for (Eigen::Index i = 0; i < out.size(); ++i) {
        if (wt[i] == 0) out[i] = 0.0;
        else if (!m.admissible[i]) out[i] = kInf;
    }
}

// Points the block starting at row `start` at its response terms (none: r null).
void attach_response(const ResponseTerms* r, Eigen::Index start, MeanTerms& m) {
    m.log_y = r && r->log_y.size() ? r->log_y.data() + start : nullptr;
    m.log1m_y = r && r->log1m_y.size() ? r->log1m_y.data() + start : nullptr;
}

}  // namespace

Family::Family(const std::string& distribution, const std::string& link, double theta)
    : dist_(make_distribution(distribution)), link_(make_link(link)) {
    const auto links = dist_->links();
    if (std::find(links.begin(), links.end(), link) == links.end())
        throw std::invalid_argument("link not supported for this family");
    canonical_ = link == dist_->canonical_link();
    if (has_shape("theta")) dist_->set_shape("theta", theta);
}

Family::Family(const Family& other)
    : dist_(other.dist_->clone()), link_(other.link_), canonical_(other.canonical_), response_(other.response_) {}

Family& Family::operator=(const Family& other) {
    if (this != &other) {
        dist_ = other.dist_->clone();
        link_ = other.link_;
        canonical_ = other.canonical_;
        response_ = other.response_;
    }
    return *this;
}

void Family::set_response(const ArrayXd& y) {
    const unsigned needed = dist_->response_terms_needed();
    response_ = needed ? std::make_shared<const ResponseTerms>(y, needed) : nullptr;
}

std::shared_ptr<const ResponseTerms> Family::response_terms(const ArrayXd& y) const {
    const unsigned needed = dist_->response_terms_needed();
    if (!needed) return nullptr;
    if (response_ && response_->describes(y)) return response_;
    return std::make_shared<const ResponseTerms>(y, needed);
}

bool Family::has_shape(const std::string& name) const {
    const auto s = dist_->shape_parameters();
    return std::find(s.begin(), s.end(), name) != s.end();
}

bool Family::valid_eta(const ArrayXd& eta) const {
    return all_finite(eta) && link_->valid_eta(eta, dist_->mean_range());
}

void Family::terms_at_eta(const ArrayXd& eta, const ArrayXd& y, Eigen::Index start, Eigen::Index len, MeanTerms& m,
                          const double* mu) const {
    const MeanRange r = dist_->mean_range();
    const auto block = eta.segment(start, len);
    if (mu) mu += start;
    if (r == MeanRange::UnitInterval)
        link_->probabilities(block, mu, dist_->mean_terms_needed() & kBothLogProbabilities ? nullptr : y.data() + start,
                             m);
    else link_->scale_means(block, mu, r, dist_->mean_terms_needed(), m);
    m.first_row = start;
}

ArrayXd Family::observed_weights(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                 const ArrayXd& wt) const {
    return dist_->eta_information(y, mu, me, me2, wt);
}

void Family::log_density_derivatives(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double dispersion,
                                     ArrayXd& d1, ArrayXd& d2) const {
    const ArrayXd mu = linkinv(eta), me = mu_eta(eta);
    const double phi = has_dispersion() ? dispersion : 1.0;  // phi is 1 for the others
    d1 = dist_->eta_score(y, mu, me, wt) / phi;
    d2 = -dist_->eta_information(y, mu, me, mu_eta2(eta), wt) / phi;
}

ArrayXd Family::log_density_third_derivative(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt,
                                             double dispersion) const {
    const double phi = has_dispersion() ? dispersion : 1.0;
    return -dist_->eta_information_deriv(y, linkinv(eta), mu_eta(eta), mu_eta2(eta), mu_eta3(eta), wt) / phi;
}

void Family::unit_observation_terms(const ArrayXd& y, const ArrayXd& eta, double dispersion, const ArrayXd& wt,
                                    ObservationTerms& t, bool information_deriv, bool log_density,
                                    const ArrayXd* mu_at_eta) const {
    // mu once: the link's derivatives and the log density's terms reuse it where exact (every PIRLS
    // iteration of the general path comes here; for the log link that is one exp per row instead of four).
    ArrayXd own_mu;
    const ArrayXd& mu = mu_at_eta ? *mu_at_eta : (own_mu = linkinv(eta));
    ArrayXd me, me2, me3;
    link_->mu_eta_derivatives(eta, mu, me, me2, information_deriv ? &me3 : nullptr);
    const double phi = has_dispersion() ? dispersion : 1.0;
    if (log_density) t.log_density = this->log_density(y, eta, wt, dispersion, mu.data());
    else t.log_density.resize(0);
    dist_->eta_terms(y, mu, me, me2, information_deriv ? &me3 : nullptr, wt, t.score, t.information, t.fisher,
                     t.information_deriv);
    t.score /= phi;
    t.information /= phi;
    t.fisher /= phi;
    if (information_deriv) t.information_deriv /= phi;
    else t.information_deriv.resize(0);
}

void Family::parameter_derivatives(const std::string& p, const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt,
                                   double dispersion, ArrayXd& d1, ArrayXd& d2) const {
    d1.resize(y.size());
    d2.resize(y.size());
    MeanTerms m;
    const auto response = response_terms(y);
    for_each_block(y.size(), [&](Eigen::Index s, Eigen::Index len) {
        terms_at_eta(eta, y, s, len, m);
        attach_response(response.get(), s, m);
        dist_->parameter_derivatives(p, y.segment(s, len), m, wt.segment(s, len), dispersion, d1.segment(s, len),
                                     d2.segment(s, len));
        for (Eigen::Index j = 0; j < len; ++j)
            if (wt[s + j] <= 0) d1[s + j] = d2[s + j] = 0.0;
    });
}

ArrayXd Family::dev_resid(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt) const {
    ArrayXd d(y.size());
    MeanTerms m;
    const auto response = response_terms(y);
    for_each_block(y.size(), [&](Eigen::Index s, Eigen::Index len) {
        mean_terms_at_mu(mu.segment(s, len), dist_->mean_range(), m);
        m.first_row = s;
        attach_response(response.get(), s, m);
        dist_->unit_deviance(y.segment(s, len), m, wt.segment(s, len), d.segment(s, len));
        mask_deviance(wt.segment(s, len), m, d.segment(s, len));
    });
    return d;
}

ArrayXd Family::dev_resid_eta(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt,
                              const double* mu_at_eta) const {
    ArrayXd d(y.size());
    MeanTerms m;
    const auto response = response_terms(y);
    for_each_block(y.size(), [&](Eigen::Index s, Eigen::Index len) {
        terms_at_eta(eta, y, s, len, m, mu_at_eta);
        attach_response(response.get(), s, m);
        dist_->unit_deviance(y.segment(s, len), m, wt.segment(s, len), d.segment(s, len));
        mask_deviance(wt.segment(s, len), m, d.segment(s, len));
    });
    return d;
}

template <class Each>
void Family::for_each_mean_block(const ArrayXd& y, const ArrayXd& eta, const double* mu_at_eta, Each each) const {
    MeanTerms m;
    const auto response = response_terms(y);
    for_each_block(y.size(), [&](Eigen::Index s, Eigen::Index len) {
        terms_at_eta(eta, y, s, len, m, mu_at_eta);
        attach_response(response.get(), s, m);
        each(s, len, m);
    });
}

void Family::block_log_density(const ArrayXd& y, const MeanTerms& m, const ArrayXd& wt, double dispersion,
                               Eigen::Index start, Eigen::Index len, ArrayXd& out) const {
    dist_->log_density(y.segment(start, len), m, wt.segment(start, len), dispersion, out.segment(start, len));
    mask_log_density(wt.segment(start, len), m, out.segment(start, len));
}

ArrayXd Family::log_density(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double dispersion,
                            const double* mu_at_eta) const {
    ArrayXd ld(y.size());
    for_each_mean_block(y, eta, mu_at_eta, [&](Eigen::Index s, Eigen::Index len, const MeanTerms& m) {
        block_log_density(y, m, wt, dispersion, s, len, ld);
    });
    return ld;
}

void Family::log_density_pair(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double phi_a, double phi_b,
                              ArrayXd& ld_a, ArrayXd& ld_b, const double* mu_at_eta) const {
    ld_a.resize(y.size());
    ld_b.resize(y.size());
    for_each_mean_block(y, eta, mu_at_eta, [&](Eigen::Index s, Eigen::Index len, const MeanTerms& m) {
        block_log_density(y, m, wt, phi_a, s, len, ld_a);
        block_log_density(y, m, wt, phi_b, s, len, ld_b);
    });
}

double Family::loglik(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt, double dispersion) const {
    MeanTerms::Block ld(std::min<Eigen::Index>(y.size(), kMeanBlock));
    MeanTerms m;
    double ll = 0.0;
    const auto response = response_terms(y);
    for_each_block(y.size(), [&](Eigen::Index s, Eigen::Index len) {
        mean_terms_at_mu(mu.segment(s, len), dist_->mean_range(), m);
        m.first_row = s;
        attach_response(response.get(), s, m);
        auto out = ld.head(len);
        dist_->log_density(y.segment(s, len), m, wt.segment(s, len), dispersion, out);
        mask_log_density(wt.segment(s, len), m, out);
        for (Eigen::Index j = 0; j < len; ++j) ll += out[j];
    });
    return ll;
}

ArrayXd Family::simulate(const ArrayXd& mu, const ArrayXd& wt, double dispersion, unsigned long long seed) const {
    std::mt19937_64 rng(seed);
    return dist_->simulate(mu, wt, dispersion, rng);
}

WeightRoles weight_roles(const Family& family, const ArrayXd& pw) {
    if (family.weights_are_trials()) return {pw, (pw > 0).cast<double>()};
    return {ArrayXd::Ones(pw.size()), pw};
}

}  // namespace glmmfast
