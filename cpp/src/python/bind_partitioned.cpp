// bind_partitioned.cpp — a GLMM on partitioned rows for Python: RowBlock (one
// partition, on the worker that holds it) and PartitionedGlmm (the driver's
// model, fed the partitions' summed sums by a Python callable), see
// model/row_block.hpp and model/partitioned_glmm.hpp.
//
// RowSums travel as a tuple (valid, loglik, dev, pearson, eta_abs, UtWU,
// UtWr, XtWr, UtWX, XtWX) of a bool, four floats and NumPy arrays:
// picklable, summed field by field wherever the partitions' answers meet.  A
// pattern travels as two int32 arrays (rows, cols) of its lower-triangle
// pairs, sorted.  The gradient's round trips travel as a pair of arrays
// (trace_sums) and a triple (gradient_sums: theta, beta, the family parameters
// asked for by name, a list of str);
// the family's parameter values as an array, which weights as a bool.
// CrossProductLmm (model/cross_product_lmm.hpp): the LMM on partitioned rows,
// built on the driver from the partitions' summed cross-products.
#include "model/cross_product_lmm.hpp"
#include "model/partitioned_glmm.hpp"
#include "model/row_block.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {
namespace {

py::tuple sums_tuple(const RowSums& s) {
    return py::make_tuple(s.valid, s.loglik, s.dev, s.pearson, s.eta_abs, s.UtWU, s.UtWr, s.XtWr, s.UtWX, s.XtWX);
}

RowSums sums_from(const py::handle& obj) {
    const auto t = obj.cast<py::tuple>();
    if (t.size() != 10) throw std::invalid_argument("partition sums must be a 10-tuple");
    RowSums s;
    s.valid = t[0].cast<bool>();
    s.loglik = t[1].cast<double>();
    s.dev = t[2].cast<double>();
    s.pearson = t[3].cast<double>();
    s.eta_abs = t[4].cast<double>();
    s.UtWU = t[5].cast<Eigen::VectorXd>();
    s.UtWr = t[6].cast<Eigen::VectorXd>();
    s.XtWr = t[7].cast<Eigen::VectorXd>();
    s.UtWX = t[8].cast<Eigen::MatrixXd>();
    s.XtWX = t[9].cast<Eigen::MatrixXd>();
    return s;
}

GradientSums gradient_from(const py::handle& obj) {
    const auto t = obj.cast<py::tuple>();
    if (t.size() != 3) throw std::invalid_argument("partition gradients must be a 3-tuple");
    return GradientSums{t[0].cast<Eigen::VectorXd>(), t[1].cast<Eigen::VectorXd>(), t[2].cast<Eigen::VectorXd>()};
}

py::tuple pattern_arrays(const std::vector<std::pair<int, int>>& pairs) {
    Eigen::VectorXi rows(pairs.size()), cols(pairs.size());
    for (size_t k = 0; k < pairs.size(); ++k) {
        rows[static_cast<Eigen::Index>(k)] = pairs[k].first;
        cols[static_cast<Eigen::Index>(k)] = pairs[k].second;
    }
    return py::make_tuple(rows, cols);
}

std::vector<std::pair<int, int>> pattern_pairs(const IntArray& rows, const IntArray& cols) {
    if (rows.size() != cols.size()) throw std::invalid_argument("pattern rows and cols differ in length");
    std::vector<std::pair<int, int>> out(static_cast<size_t>(rows.size()));
    for (py::ssize_t k = 0; k < rows.size(); ++k) out[static_cast<size_t>(k)] = {rows.at(k), cols.at(k)};
    return out;
}

}  // namespace

void bind_partitioned(py::module_& m) {
    py::class_<RowBlock>(m, "RowBlock")
        .def(py::init([](const Eigen::MatrixXd& X, int z_rows, int z_cols, const IntArray& indptr,
                         const IntArray& indices, const DblArray& data, const DblArray& y, const DblArray& weights,
                         const DblArray& offset, const Family& family, const std::vector<TermShape>& terms) {
                 const long n = X.rows();
                 SpMat Z = z_matrix(z_rows, z_cols, indptr, indices, data);
                 return std::make_unique<RowBlock>(X, Z, vec(y, n, "y"), vec(weights, n, "weights"),
                                                   vec(offset, n, "offset"), family, terms);
             }),
             py::arg("X"), py::arg("z_rows"), py::arg("z_cols"), py::arg("indptr"), py::arg("indices"),
             py::arg("data"), py::arg("y"), py::arg("weights"), py::arg("offset"), py::arg("family"), py::arg("terms"))
        .def_property_readonly("n", &RowBlock::n)
        .def_property_readonly("p", &RowBlock::p)
        .def_property_readonly("q", &RowBlock::q)
        .def("pattern", [](const RowBlock& r) { return pattern_arrays(r.pattern()); })
        .def("set_pattern", [](RowBlock& r, const IntArray& rows, const IntArray& cols) {
            r.set_pattern(pattern_pairs(rows, cols));
        }, py::arg("rows"), py::arg("cols"))
        .def("sums", [](RowBlock& r, const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                        const Eigen::VectorXd& u, const Eigen::VectorXd& values, bool exact) {
            RowSums s;
            {
                EngineCall call;
                s = r.sums(theta, beta, u, values, exact);
            }
            return sums_tuple(s);
        }, py::arg("theta"), py::arg("beta"), py::arg("u"), py::arg("values"), py::arg("exact") = false)
        .def("trace_sums", [](RowBlock& r, const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                              const Eigen::VectorXd& u, const Eigen::VectorXd& values, const Eigen::VectorXd& sel) {
            VectorPair out;
            {
                EngineCall call;
                out = r.trace_sums(theta, beta, u, values, sel);
            }
            return py::make_tuple(out.first, out.second);
        }, py::arg("theta"), py::arg("beta"), py::arg("u"), py::arg("values"), py::arg("sel"))
        .def("gradient_sums", [](RowBlock& r, const Eigen::VectorXd& z_u, const Eigen::VectorXd& z_b,
                                 const std::vector<std::string>& log_parameters) {
            GradientSums out;
            {
                EngineCall call;
                out = r.gradient_sums(z_u, z_b, log_parameters);
            }
            return py::make_tuple(out.theta, out.beta, out.family);
        }, py::arg("z_u"), py::arg("z_b"), py::arg("log_parameters"))
        .def_property_readonly("moved_parameter_passes", &RowBlock::moved_parameter_passes)
        .def("start_sums", [](RowBlock& r, const Eigen::VectorXd& values) {
            std::pair<Eigen::MatrixXd, Eigen::VectorXd> out;
            {
                EngineCall call;
                out = r.start_sums(values);
            }
            return py::make_tuple(out.first, out.second);
        }, py::arg("values"))
        .def("glm_means", &RowBlock::glm_means, py::arg("beta"))
        .def_property_readonly("y", &RowBlock::y)
        .def_property_readonly("prior_weights", &RowBlock::prior_weights);

    // The driver's own calls keep the GIL (every PIRLS step calls back into
    // Python, the gather; the factorisations between are of size q); the
    // callbacks take it back when an Objective (optimiser) calls without it.
    py::class_<PartitionedGlmm>(m, "PartitionedGlmm")
        .def(py::init([](const std::vector<TermShape>& terms, const IntArray& rows, const IntArray& cols, int p,
                         const Family& family, py::function gather, const std::string& factorization,
                         py::object traces, py::object gradient) {
                 GatherSums g = [gather](const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                                         const Eigen::VectorXd& u, const Eigen::VectorXd& values, bool exact) {
                     py::gil_scoped_acquire gil;
                     return sums_from(gather(theta, beta, u, values, exact));
                 };
                 GatherTraces gt;
                 GatherGradient gg;
                 if (!traces.is_none() && !gradient.is_none()) {
                     gt = [traces](const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u,
                                   const Eigen::VectorXd& values, const Eigen::VectorXd& sel) {
                         py::gil_scoped_acquire gil;
                         return traces(theta, beta, u, values, sel).cast<VectorPair>();
                     };
                     gg = [gradient](const Eigen::VectorXd& zu, const Eigen::VectorXd& zb,
                                     const std::vector<std::string>& log_parameters) {
                         py::gil_scoped_acquire gil;
                         return gradient_from(gradient(zu, zb, log_parameters));
                     };
                 }
                 return std::make_unique<PartitionedGlmm>(terms, pattern_pairs(rows, cols), p, family, std::move(g),
                                                          factorization, std::move(gt), std::move(gg));
             }),
             py::arg("terms"), py::arg("rows"), py::arg("cols"), py::arg("p"), py::arg("family"), py::arg("gather"),
             py::arg("factorization") = "auto", py::arg("traces") = py::none(), py::arg("gradient") = py::none())
        .def_property_readonly("p", &PartitionedGlmm::p)
        .def_property_readonly("q", &PartitionedGlmm::q)
        .def_property_readonly("theta", &PartitionedGlmm::theta)
        .def_property_readonly("beta", &PartitionedGlmm::beta)
        .def_property_readonly("u", &PartitionedGlmm::u)
        .def_property_readonly("b", &PartitionedGlmm::b)
        .def_property_readonly("evaluations", &PartitionedGlmm::evaluations)
        .def_property_readonly("pirls_iterations", &PartitionedGlmm::pirls_iterations)
        .def_property_readonly("gathers", &PartitionedGlmm::gathers)
        .def_property_readonly("factorizations", &PartitionedGlmm::factorizations)
        .def_property_readonly("has_laplace_gradient", &PartitionedGlmm::has_laplace_gradient)
        .def_property_readonly("beta_zi", &PartitionedGlmm::beta_zi)
        .def_property_readonly("n_zi", &PartitionedGlmm::n_zi)
        .def_property_readonly("n_disp", &PartitionedGlmm::n_disp)
        .def("laplace_gradient", &PartitionedGlmm::laplace_gradient, py::arg("beta_profiled") = false,
             py::arg("log_parameters") = std::vector<std::string>())
        .def("set_dispersion", &PartitionedGlmm::set_dispersion, py::arg("phi"))
        .def("set_nb_theta", &PartitionedGlmm::set_nb_theta, py::arg("theta"))
        .def("set_shape", &PartitionedGlmm::set_shape, py::arg("name"), py::arg("value"))
        .def_property_readonly("dispersion", &PartitionedGlmm::dispersion)
        .def_property_readonly("family_values", &PartitionedGlmm::family_values)
        .def_property_readonly("pearson_chi2", &PartitionedGlmm::pearson_chi2)
        .def_property_readonly("eta_abs_sum", &PartitionedGlmm::eta_abs_sum)
        .def_property_readonly("factorization",
                               [](const PartitionedGlmm& g) { return g.system().factor_kind(); })
        .def("lower_bounds", [](const PartitionedGlmm& g) { return g.lambda().lower_bounds(); })
        .def("initial_theta", [](const PartitionedGlmm& g) { return g.lambda().initial_theta(); })
        .def("set_theta", &PartitionedGlmm::set_theta)
        .def("set_beta", &PartitionedGlmm::set_beta)
        .def("set_u", &PartitionedGlmm::set_u)
        .def("pirls", [](PartitionedGlmm& g, bool update_beta) { return g.pirls(update_beta); }, py::arg("update_beta"))
        .def("laplace_deviance", &PartitionedGlmm::laplace_deviance)
        .def("sum_dev_resid", &PartitionedGlmm::sum_dev_resid)
        .def("deviance_at", &PartitionedGlmm::deviance_at, py::arg("theta"), py::arg("beta"))
        .def("deviance_profiled_beta", &PartitionedGlmm::deviance_profiled_beta, py::arg("theta"))
        .def("cond_var", &PartitionedGlmm::cond_var, py::arg("term"))
        .def("beta_unscaled_vcov", &PartitionedGlmm::beta_unscaled_vcov);

    py::class_<CrossProductLmm>(m, "CrossProductLmm")
        .def(py::init([](const std::vector<TermShape>& terms, const IntArray& rows, const IntArray& cols,
                         const Eigen::VectorXd& ZtWZ, const Eigen::MatrixXd& ZtWX, const Eigen::VectorXd& ZtWy,
                         const Eigen::MatrixXd& XtWX, const Eigen::VectorXd& XtWy, double ytWy, long n,
                         double log_w_sum, double y_shift, int shift_column, const std::string& factorization) {
                 // y_shift: the products are of y - y_shift, X's column shift_column all ones.
                 Eigen::VectorXd beta_shift = Eigen::VectorXd::Zero(XtWX.cols());
                 if (shift_column >= 0 && shift_column < beta_shift.size()) beta_shift[shift_column] = y_shift;
                 else if (y_shift != 0.0) throw std::invalid_argument("a shift of y needs X's all-ones column");
                 LmmCrossProducts cp{ZtWZ, ZtWX, ZtWy, XtWy, XtWX, ytWy, log_w_sum, n, beta_shift};
                 EngineCall call;  // the pattern's analysis
                 return std::make_unique<CrossProductLmm>(terms, pattern_pairs(rows, cols), std::move(cp),
                                                          factorization);
             }),
             py::arg("terms"), py::arg("rows"), py::arg("cols"), py::arg("ZtWZ"), py::arg("ZtWX"), py::arg("ZtWy"),
             py::arg("XtWX"), py::arg("XtWy"), py::arg("ytWy"), py::arg("n"), py::arg("log_w_sum"),
             py::arg("y_shift") = 0.0, py::arg("shift_column") = -1, py::arg("factorization") = "auto")
        .def_property_readonly("n", &CrossProductLmm::n)
        .def_property_readonly("p", &CrossProductLmm::p)
        .def_property_readonly("q", &CrossProductLmm::q)
        .def_property_readonly("theta", &CrossProductLmm::theta)
        .def_property_readonly("beta", &CrossProductLmm::beta)
        .def_property_readonly("u", &CrossProductLmm::u)
        .def_property_readonly("b", &CrossProductLmm::b)
        .def_property_readonly("pwrss", &CrossProductLmm::pwrss)
        .def_property_readonly("log_det_L2", &CrossProductLmm::log_det_L2)
        .def_property_readonly("log_det_RX2", &CrossProductLmm::log_det_RX2)
        .def_property_readonly("evaluations", &CrossProductLmm::evaluations)
        .def_property_readonly("factorization",
                               [](const CrossProductLmm& g) { return g.system().factor_kind(); })
        .def("lower_bounds", [](const CrossProductLmm& g) { return g.lambda().lower_bounds(); })
        .def("initial_theta", [](const CrossProductLmm& g) { return g.lambda().initial_theta(); })
        .def("evaluate", &CrossProductLmm::evaluate, py::arg("theta"), engine_call())
        .def("criterion", &CrossProductLmm::criterion, py::arg("reml"))
        .def("gradient", &CrossProductLmm::gradient, py::arg("reml"), engine_call())
        .def("deviance", &CrossProductLmm::deviance, py::arg("theta"), py::arg("reml"), engine_call())
        .def("sigma", &CrossProductLmm::sigma, py::arg("reml"))
        .def("beta_unscaled_vcov", &CrossProductLmm::beta_unscaled_vcov)
        .def("cond_var", &CrossProductLmm::cond_var, py::arg("term"), engine_call());
}

}  // namespace glmmfast::python
