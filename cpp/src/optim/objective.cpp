// objective.cpp — the optimiser's coordinates mapped to engine evaluations
// (see objective.hpp).
#include "optim/objective.hpp"

#include <cmath>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

int parameter_count(const JointCoordinates& c) {
    if (c.parameter == FamilyParameter::None) return 0;
    return c.parameter == FamilyParameter::Shape ? static_cast<int>(c.shape_names.size()) : 1;
}

// The family parameter's value at coordinate x_k (k-th of them): exp(x), or between finite bounds
// lower + (upper - lower) / (1 + e^-x); PirlsError where that rounds onto a bound (the optimiser
// backs off, as from a failed PIRLS).
double parameter_value(const JointCoordinates& c, std::size_t k, double x) {
    if (k >= c.bounds.size() || !std::isfinite(c.bounds[k].second)) return std::exp(x);
    const auto [lower, upper] = c.bounds[k];
    const double value = lower + (upper - lower) / (1.0 + std::exp(-x));
    if (!(value > lower && value < upper)) throw PirlsError("a family parameter rounds onto its bound");
    return value;
}

// d log value / dx at coordinate x_k: 1 on the log scale, (value - lower) (upper - value) /
// ((upper - lower) value) on the logit scale (the chain rule from the model's gradient in log value).
double log_value_slope(const JointCoordinates& c, std::size_t k, double x) {
    if (k >= c.bounds.size() || !std::isfinite(c.bounds[k].second)) return 1.0;
    const auto [lower, upper] = c.bounds[k];
    const double value = parameter_value(c, k, x);
    return (value - lower) * (upper - value) / ((upper - lower) * value);
}

// Sets the family parameters from the last coordinates (their scales above): on
// GlmmModel and PartitionedGlmm alike (the same setters).
template <class Model>
void apply_parameter(Model& model, const JointCoordinates& c, const Eigen::VectorXd& x) {
    if (c.parameter == FamilyParameter::None) return;
    if (c.parameter == FamilyParameter::Shape) {
        const Eigen::Index first = x.size() - static_cast<Eigen::Index>(c.shape_names.size());
        for (std::size_t k = 0; k < c.shape_names.size(); ++k) {
            const double value = parameter_value(c, k, x[first + static_cast<Eigen::Index>(k)]);
            if (c.shape_names[k] == "dispersion")
                model.set_dispersion(value);
            else
                model.set_shape(c.shape_names[k], value);
        }
        return;
    }
    const double value = parameter_value(c, 0, x[x.size() - 1]);
    if (c.parameter == FamilyParameter::Dispersion)
        model.set_dispersion(value);
    else
        model.set_nb_theta(value);
}

// A model on partitioned rows has no AGQ.
void check_coordinates(GlmmModel&, const JointCoordinates&) {}
void check_coordinates(PartitionedGlmm&, const JointCoordinates& c) {
    if (c.nagq > 1) throw std::invalid_argument("a model on partitioned rows has no AGQ");
}
double agq_deviance(GlmmModel& m, const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, int k) {
    return m.agq_deviance_at(theta, beta, k);
}
double agq_deviance(PartitionedGlmm&, const Eigen::VectorXd&, const Eigen::VectorXd&, int) {
    throw std::logic_error("no AGQ on partitioned rows");
}
bool has_agq_gradient(const GlmmModel& m) { return m.has_agq_gradient(); }
bool has_agq_gradient(const PartitionedGlmm&) { return false; }
Eigen::VectorXd agq_gradient(const GlmmModel& m, int k) { return m.agq_gradient(k); }
Eigen::VectorXd agq_gradient(const PartitionedGlmm&, int) { throw std::logic_error("no AGQ on partitioned rows"); }

// The model's exact gradient in (theta, [beta], beta_zi, log par) (no
// beta_zi on partitioned rows).
std::vector<std::string> parameter_names(const JointCoordinates& c) {
    switch (c.parameter) {
        case FamilyParameter::Dispersion: return {"dispersion"};
        case FamilyParameter::NbTheta: return {"theta"};
        case FamilyParameter::Shape: return c.shape_names;
        default: return {};
    }
}
// ... with the family parameters' entries taken from log value to their coordinates x (the last ones).
template <class Model>
Eigen::VectorXd model_gradient(const Model& m, bool beta_profiled, const JointCoordinates& c,
                               const Eigen::VectorXd& x) {
    Eigen::VectorXd g = m.laplace_gradient(beta_profiled, parameter_names(c));
    const std::size_t npar = parameter_names(c).size();
    for (std::size_t k = 0; k < npar && k < c.bounds.size(); ++k) {
        const Eigen::Index at = g.size() - static_cast<Eigen::Index>(npar - k);
        g[at] *= log_value_slope(c, k, x[at]);
    }
    return g;
}

// Sets beta_zi from the n_zi coordinates starting at `start` (none on
// partitioned rows).
void apply_zero_inflation(PartitionedGlmm&, const Eigen::VectorXd&, int) {}
void apply_zero_inflation(GlmmModel& model, const Eigen::VectorXd& x, int start) {
    if (model.n_zi() > 0) model.set_beta_zi(x.segment(start, model.n_zi()));
}

// Sets beta_disp from the n_disp coordinates after the zero-inflation ones
// (none on partitioned rows).
void apply_dispersion_model(PartitionedGlmm&, const Eigen::VectorXd&, int) {}
void apply_dispersion_model(GlmmModel& model, const Eigen::VectorXd& x, int start) {
    if (model.n_disp() > 0) model.set_beta_disp(x.segment(start + model.n_zi(), model.n_disp()));
}

// The coordinates after theta (and beta): beta_zi, beta_disp, the family parameter.
template <class Model>
int extra_coordinates(const Model& model, const JointCoordinates& c) {
    return model.n_zi() + model.n_disp() + parameter_count(c);
}

// The joint stage's point x set on the model (family parameter, beta_zi, beta_disp) and its
// (theta, beta): theta = s x_theta, beta = beta_base + beta_scale .* gamma.
struct JointPoint {
    Eigen::VectorXd theta, beta;
};
template <class Model>
JointPoint apply_joint_point(Model& m, const JointCoordinates& c, int nt, int p, const Eigen::VectorXd& x) {
    apply_parameter(m, c, x);
    apply_zero_inflation(m, x, nt + p);
    apply_dispersion_model(m, x, nt + p);
    return {x.head(nt) * c.theta_scale, c.beta_base + c.beta_scale.cwiseProduct(x.segment(nt, p))};
}

// A gradient in (theta, beta, ...) chained to the joint stage's x (the Laplace and the AGQ gradient alike):
// theta = s x_theta, beta = beta_base + beta_scale .* gamma (beta_zi and log par are coordinates themselves).
Eigen::VectorXd chain_to_joint_coordinates(Eigen::VectorXd g, const JointCoordinates& c, int nt, int p) {
    g.head(nt) *= c.theta_scale;
    g.segment(nt, p) = g.segment(nt, p).cwiseProduct(c.beta_scale);
    return g;
}

// The joint stage's gradient in x at the model's state.
template <class Model>
Eigen::VectorXd joint_gradient(const Model& m, const JointCoordinates& c, int nt, int p, const Eigen::VectorXd& x) {
    return chain_to_joint_coordinates(model_gradient(m, false, c, x), c, nt, p);
}

// The model at x's parameters, theta and beta in deviance_at's order, its modes left as they are (the
// neighbour gradient and return_to then set them).
void set_joint_point(GlmmModel& m, const JointCoordinates& c, int nt, int p, const Eigen::VectorXd& x) {
    const JointPoint at = apply_joint_point(m, c, nt, p, x);
    m.set_theta(at.theta);
    m.set_beta(at.beta);
}

void check_dim(const Eigen::VectorXd& x, int dim) {
    if (x.size() != dim)
        throw std::invalid_argument("objective expects " + std::to_string(dim) + " coordinates, got " +
                                    std::to_string(x.size()));
}

}  // namespace

template <class Model>
Objective Objective::profiled_beta(Model& model, const JointCoordinates& c) {
    check_coordinates(model, c);
    const int nt = static_cast<int>(model.lambda().ntheta());
    Model* m = &model;
    auto last_x = std::make_shared<Eigen::VectorXd>();  // the point evaluated last: the gradient's chain rule
    Objective obj(
        nt + extra_coordinates(model, c),
        [m, c, nt, last_x](const Eigen::VectorXd& x) {
            *last_x = x;
            apply_parameter(*m, c, x);
            apply_zero_inflation(*m, x, nt);
            apply_dispersion_model(*m, x, nt);
            return m->deviance_profiled_beta(x.head(nt) * c.theta_scale);
        },
        [m] { m->set_u(Eigen::VectorXd::Zero(m->q())); });
    // PIRLS's start here is (u, beta): both, to re-enter the best evaluation's mode
    obj.state_ = [m] {
        Eigen::VectorXd s(m->q() + m->p());
        s << m->u(), m->beta();
        return s;
    };
    obj.restore_state_ = [m](const Eigen::VectorXd& s) {
        m->set_u(s.head(m->q()));
        m->set_beta(s.tail(m->p()));
    };
    if (model.has_laplace_gradient()) {
        // Chain rule to x: theta = s x_theta; beta_zi and log par are coordinates themselves.
        obj.grad_ = [m, c, nt, last_x] {
            Eigen::VectorXd g = model_gradient(*m, true, c, *last_x);
            g.head(nt) *= c.theta_scale;
            return g;
        };
    }
    return obj;
}

template <class Model>
Objective Objective::joint(Model& model, const JointCoordinates& c) {
    check_coordinates(model, c);
    const int nt = static_cast<int>(model.lambda().ntheta());
    const int p = model.p();
    if (c.beta_base.size() != p || c.beta_scale.size() != p)
        throw std::invalid_argument("beta_base and beta_scale must have length p = " + std::to_string(p));
    if (c.nagq < 1) throw std::invalid_argument("the joint objective needs nAGQ >= 1");
    Model* m = &model;
    auto last_x = std::make_shared<Eigen::VectorXd>();  // the point evaluated last: the gradient's chain rule
    Objective obj(
        nt + p + extra_coordinates(model, c),
        [m, c, nt, p, last_x](const Eigen::VectorXd& x) {
            *last_x = x;
            const JointPoint at = apply_joint_point(*m, c, nt, p, x);
            return c.nagq == 1 ? m->deviance_at(at.theta, at.beta) : agq_deviance(*m, at.theta, at.beta, c.nagq);
        },
        [m] { m->set_u(Eigen::VectorXd::Zero(m->q())); });
    obj.state_ = [m] { return Eigen::VectorXd(m->u()); };  // beta is set from x
    obj.restore_state_ = [m](const Eigen::VectorXd& s) { m->set_u(s); };
    if (c.nagq > 1 && has_agq_gradient(model)) {
        obj.grad_ = [m, c, nt, p] { return chain_to_joint_coordinates(agq_gradient(*m, c.nagq), c, nt, p); };
    }
    if (c.nagq == 1 && model.has_laplace_gradient()) {
        obj.grad_ = [m, c, nt, p, last_x] { return joint_gradient(*m, c, nt, p, *last_x); };
        if constexpr (std::is_same_v<Model, GlmmModel>) {
            obj.modes_ = [m] { return m->u(); };
            obj.mode_slopes_ = [m, c, nt, p, dim = obj.dim_] {
                Eigen::MatrixXd slopes = Eigen::MatrixXd::Constant(m->q(), dim, NAN);
                slopes.middleCols(nt, p) = m->mode_beta_slopes() * c.beta_scale.asDiagonal();  // beta = base + scale gamma
                return slopes;
            };
            obj.return_to_ = [m, c, nt, p](const Eigen::VectorXd& x, const Eigen::VectorXd& modes) {
                set_joint_point(*m, c, nt, p, x);
                m->return_to_mode(modes);
            };
            obj.neighbour_grad_ = [m, c, nt, p](const Eigen::VectorXd& x, const Eigen::VectorXd& modes,
                                                int steps) -> Eigen::VectorXd {
                set_joint_point(*m, c, nt, p, x);
                m->set_u(modes);
                if (m->newton_modes(steps)) return joint_gradient(*m, c, nt, p, x);
                m->set_u(modes);  // the caller's PIRLS starts from the modes, not from where a step failed
                return {};
            };
        }
    }
    return obj;
}

template Objective Objective::profiled_beta(GlmmModel&, const JointCoordinates&);
template Objective Objective::profiled_beta(PartitionedGlmm&, const JointCoordinates&);
template Objective Objective::joint(GlmmModel&, const JointCoordinates&);
template Objective Objective::joint(PartitionedGlmm&, const JointCoordinates&);

Objective Objective::lmm(CrossProductLmm& model, bool reml) {
    CrossProductLmm* m = &model;
    Objective obj(
        static_cast<int>(model.lambda().ntheta()),
        [m, reml](const Eigen::VectorXd& x) { return m->deviance(x, reml); }, [] {});
    obj.grad_ = [m, reml] { return m->gradient(reml); };
    return obj;
}


Objective Objective::function(int dim, std::function<double(const Eigen::VectorXd&)> eval,
                              std::function<void()> reset, std::function<Eigen::VectorXd()> gradient) {
    if (dim < 0) throw std::invalid_argument("an objective needs dim >= 0");
    Objective obj(dim, std::move(eval), reset ? std::move(reset) : [] {});
    obj.grad_ = std::move(gradient);
    return obj;
}

double Objective::evaluate(const Eigen::VectorXd& x) {
    check_dim(x, dim_);
    return eval_(x);
}

Eigen::VectorXd Objective::gradient(const Eigen::VectorXd& x) {
    if (!has_gradient()) throw std::logic_error("this objective has no gradient");
    ++evaluations_;
    ++gradient_evaluations_;
    evaluate(x);
    return grad_();
}

Eigen::VectorXd Objective::modes() const {
    if (!has_neighbour_gradient()) throw std::logic_error("this objective has no neighbour gradient");
    return modes_();
}

void Objective::return_to(const Eigen::VectorXd& x, const Eigen::VectorXd& modes) {
    if (!has_neighbour_gradient()) throw std::logic_error("this objective has no neighbour gradient");
    check_dim(x, dim_);
    return_to_(x, modes);
}

Eigen::VectorXd Objective::neighbour_gradient(const Eigen::VectorXd& x, const Eigen::VectorXd& modes, int steps) {
    if (!has_neighbour_gradient()) throw std::logic_error("this objective has no neighbour gradient");
    check_dim(x, dim_);
    ++evaluations_;
    ++gradient_evaluations_;
    return neighbour_grad_(x, modes, steps);
}

double Objective::operator()(const Eigen::VectorXd& x, Eigen::VectorXd* grad) {
    check_dim(x, dim_);
    if (grad && !has_gradient()) throw std::logic_error("this objective has no gradient");
    // Interrupted is not a trial-point failure: it propagates (nlopt's
    // caller stops), the model left at its last accepted PIRLS iterate.
    check_interrupt();
    ++evaluations_;
    if (grad) ++gradient_evaluations_;
    double f;
    try {
        f = eval_(x);
        if (grad && std::isfinite(f)) *grad = grad_();
    } catch (const PirlsError& err) {
        last_error_ = err.what();
        f = NAN;
    } catch (const InvalidCovariance& err) {  // a parameter value with no covariance (covariance.hpp)
        last_error_ = err.what();
        f = NAN;
    }
    if (!std::isfinite(f)) {
        ++failures_;
        reset_();
        if (grad) grad->setZero(dim_);
        return penalty;
    }
    if (!has_best() || f < best_f_) {
        best_f_ = f;
        best_x_ = x;
        if (state_) best_state_ = state_();
    }
    return f;
}

void Objective::clear_best() {
    best_x_.resize(0);
    best_state_.resize(0);
    best_f_ = 0.0;
}

double Objective::return_to_best() {
    if (!has_best()) throw std::logic_error("return_to_best: nothing evaluated yet");
    if (best_state_.size()) restore_state_(best_state_);
    return eval_(best_x_);
}

}  // namespace glmmfast
