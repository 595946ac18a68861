#include "core/io/run_record.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/io/atomic_file.h"
#include "core/error.h"

#ifdef VHMN_WITH_HDF5
#include <H5Cpp.h>
#endif

namespace vhmn {

#ifndef VHMN_WITH_HDF5

bool run_record_available() { return false; }
void write_run_record(const std::string& path, const RunConfig&, const History&, Model, const ProbeResult*) {
    throw FileError(path, "this build has no HDF5 support (install libhdf5-dev and rebuild)");
}
RunRecord read_run_record(const std::string& path) {
    throw FileError(path, "this build has no HDF5 support (install libhdf5-dev and rebuild)");
}
void write_probe_record(const std::string& path, const ProbeResult&) {
    throw FileError(path, "this build has no HDF5 support (install libhdf5-dev and rebuild)");
}
StoredProbe read_probe_record(const std::string& path, const std::string&) {
    throw FileError(path, "this build has no HDF5 support (install libhdf5-dev and rebuild)");
}
std::vector<std::string> probe_names(const std::string&) { return {}; }
RecordedImageHashes read_image_hashes(const std::string& path) {
    throw FileError(path, "this build has no HDF5 support (install libhdf5-dev and rebuild)");
}

#else

bool run_record_available() { return true; }

namespace {

void put_string_attr(H5::H5Object& obj, const char* name, const std::string& value) {
    H5::StrType type(H5::PredType::C_S1, value.empty() ? 1 : value.size());
    auto attr = obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
    attr.write(type, value.empty() ? std::string(" ") : value);
}

template <typename T>
void put_scalar_attr(H5::H5Object& obj, const char* name, T value, const H5::PredType& type) {
    auto attr = obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
    attr.write(type, &value);
}

void put_vector(H5::Group& g, const char* name, const std::vector<double>& v) {
    hsize_t dims[1] = {v.size()};
    auto ds = g.createDataSet(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(1, dims));
    if (!v.empty()) ds.write(v.data(), H5::PredType::NATIVE_DOUBLE);
}

void put_vector(H5::Group& g, const char* name, const std::vector<uint64_t>& v) {
    hsize_t dims[1] = {v.size()};
    auto ds = g.createDataSet(name, H5::PredType::NATIVE_UINT64, H5::DataSpace(1, dims));
    if (!v.empty()) ds.write(v.data(), H5::PredType::NATIVE_UINT64);
}

void put_vector(H5::Group& g, const char* name, const std::vector<int64_t>& v) {
    hsize_t dims[1] = {v.size()};
    auto ds = g.createDataSet(name, H5::PredType::NATIVE_INT64, H5::DataSpace(1, dims));
    if (!v.empty()) ds.write(v.data(), H5::PredType::NATIVE_INT64);
}

void put_matrix(H5::Group& g, const char* name, const std::vector<std::vector<double>>& rows) {
    const hsize_t cols = rows.empty() ? 0 : rows.front().size();
    std::vector<double> flat;
    for (const auto& r : rows) {
        if (r.size() != cols) throw std::runtime_error(std::string("ragged rows in ") + name);
        flat.insert(flat.end(), r.begin(), r.end());
    }
    hsize_t dims[2] = {rows.size(), cols};
    auto ds = g.createDataSet(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, dims));
    if (!flat.empty()) ds.write(flat.data(), H5::PredType::NATIVE_DOUBLE);
}

/// A CPU contiguous tensor as a dataset of its own shape (float32, int64 or uint8).
void put_tensor(H5::Group& g, const std::string& name, torch::Tensor t) {
    t = t.detach().to(torch::kCPU);
    if (t.scalar_type() == torch::kBool) t = t.to(torch::kUInt8);
    if (t.is_floating_point()) t = t.to(torch::kFloat);
    t = t.contiguous();
    std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
    const H5::PredType& type = t.scalar_type() == torch::kFloat ? H5::PredType::NATIVE_FLOAT
                               : t.scalar_type() == torch::kUInt8 ? H5::PredType::NATIVE_UINT8
                                                                  : H5::PredType::NATIVE_INT64;
    if (t.scalar_type() != torch::kFloat && t.scalar_type() != torch::kUInt8) t = t.to(torch::kInt64);
    H5::DataSpace space(int(dims.size()), dims.data());
    auto ds = g.createDataSet(name, type, space);
    if (t.numel() > 0) ds.write(t.data_ptr(), type);
}

std::string get_string_attr(const H5::H5Object& obj, const char* name) {
    auto attr = obj.openAttribute(name);
    std::string out;
    attr.read(attr.getStrType(), out);
    return out;
}

template <typename T>
std::vector<T> get_vector(const H5::Group& g, const char* name, const H5::PredType& type) {
    auto ds = g.openDataSet(name);
    hsize_t n = 0;
    ds.getSpace().getSimpleExtentDims(&n);
    std::vector<T> v(n);
    if (n) ds.read(v.data(), type);
    return v;
}

std::vector<std::vector<double>> get_matrix(const H5::Group& g, const char* name) {
    auto ds = g.openDataSet(name);
    hsize_t dims[2] = {0, 0};
    ds.getSpace().getSimpleExtentDims(dims);
    std::vector<double> flat(dims[0] * dims[1]);
    if (!flat.empty()) ds.read(flat.data(), H5::PredType::NATIVE_DOUBLE);
    std::vector<std::vector<double>> rows(dims[0]);
    for (hsize_t i = 0; i < dims[0]; ++i)
        rows[i].assign(flat.begin() + i * dims[1], flat.begin() + (i + 1) * dims[1]);
    return rows;
}

/// One field of every row, as a column.
template <typename Row, typename Get>
std::vector<double> column(const std::vector<Row>& rows, Get get) {
    std::vector<double> v;
    v.reserve(rows.size());
    for (const auto& r : rows) v.push_back(get(r));
    return v;
}

void write_metrics(H5::H5File& file, const History& h) {
    auto metrics = file.createGroup("/metrics");
    auto ep = metrics.createGroup("epoch");
    auto col = [&](auto get) { return column(h.epochs, get); };
    std::vector<int64_t> epoch, step;
    for (const auto& e : h.epochs) epoch.push_back(e.epoch), step.push_back(e.step);
    put_vector(ep, "epoch", epoch);
    put_vector(ep, "step", step);
    for (const auto& f : epoch_fields()) put_vector(ep, f.name, col([&f](const EpochStats& e) { return e.*f.member; }));
    // Memory over training [epochs, depth]; epochs recorded before these existed are NaN rows.
    for (const auto& s : epoch_series()) {
        size_t depth = 0;
        for (const auto& e : h.epochs) depth = std::max(depth, (e.*s.member).size());
        std::vector<std::vector<double>> rows;
        for (const auto& e : h.epochs) {
            auto row = e.*s.member;
            row.resize(depth, std::numeric_limits<double>::quiet_NaN());
            rows.push_back(std::move(row));
        }
        put_matrix(ep, s.name, rows);
    }

    auto st = metrics.createGroup("step");
    auto scol = [&](auto get) { return column(h.steps, get); };
    std::vector<int64_t> sstep, sepoch;
    std::vector<std::vector<double>> bl, bg, el, eg;
    for (const auto& s : h.steps) {
        sstep.push_back(s.step), sepoch.push_back(s.epoch);
        bl.push_back(s.beta_local), bg.push_back(s.beta_global);
        el.push_back(s.entropy_local), eg.push_back(s.entropy_global);
    }
    put_vector(st, "step", sstep);
    put_vector(st, "epoch", sepoch);
    put_vector(st, "epoch_progress", scol([](const StepStats& s) { return s.epoch_progress; }));
    put_vector(st, "loss", scol([](const StepStats& s) { return s.loss; }));
    put_vector(st, "accuracy", scol([](const StepStats& s) { return s.accuracy; }));
    put_vector(st, "lr", scol([](const StepStats& s) { return s.lr; }));
    put_vector(st, "images_per_s", scol([](const StepStats& s) { return s.images_per_s; }));
    put_matrix(st, "beta_local", bl);
    put_matrix(st, "beta_global", bg);
    put_matrix(st, "entropy_local", el);
    put_matrix(st, "entropy_global", eg);
}

void write_model_and_banks(H5::H5File& file, Model& model) {
    auto g = file.createGroup("/model");
    for (const auto& p : model->named_parameters()) put_tensor(g, p.key(), p.value());
    if (!model->has_memory()) return;  // a baseline: no /banks
    auto banks = file.createGroup("/banks");
    for (int64_t b = 0; b < model->config().depth; ++b) {
        auto block = banks.createGroup("block_" + std::to_string(b));
        for (auto branch : {Branch::Local, Branch::Global}) {
            auto bank = model->memory_model()->bank(b, branch);
            auto bg = block.createGroup(branch == Branch::Local ? "local" : "global");
            for (const auto& buf : bank->named_buffers(false)) put_tensor(bg, buf.key(), buf.value());
        }
    }
}

void write_dataset_info(H5::H5File& file, const DataInfo& d) {
    auto g = file.createGroup("/dataset");
    put_string_attr(g, "name", d.name);
    put_string_attr(g, "format", d.format);
    put_string_attr(g, "path", d.path);
    put_string_attr(g, "class_names", nlohmann::json(d.class_names).dump());
    put_scalar_attr(g, "train_size", d.train_size, H5::PredType::NATIVE_INT64);
    put_scalar_attr(g, "test_size", d.test_size, H5::PredType::NATIVE_INT64);
    put_scalar_attr(g, "full_train_size", d.full_train_size, H5::PredType::NATIVE_INT64);
    put_scalar_attr(g, "fraction", d.fraction, H5::PredType::NATIVE_DOUBLE);
    put_scalar_attr(g, "imbalance", d.imbalance, H5::PredType::NATIVE_DOUBLE);
    put_vector(g, "mean", d.mean);
    put_vector(g, "std", d.std);
    if (d.fingerprint) {
        put_string_attr(g, "fingerprint", nlohmann::json(*d.fingerprint).dump());
        put_vector(g, "train_image_hashes", d.fingerprint->train.image_hashes);
        put_vector(g, "test_image_hashes", d.fingerprint->test.image_hashes);
    }
}


/// Open (creating as needed) the group at a '/'-separated path below `root`.
H5::Group ensure_group(H5::Group root, const std::string& path) {
    H5::Group g = root;
    size_t start = 0;
    while (start < path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        const std::string part = path.substr(start, end - start);
        if (!part.empty()) g = g.exists(part) ? g.openGroup(part) : g.createGroup(part);
        start = end + 1;
    }
    return g;
}

void put_strings(H5::Group& g, const std::string& name, const std::vector<std::string>& v) {
    size_t len = 1;
    for (const auto& s : v) len = std::max(len, s.size());
    std::vector<char> flat(v.size() * len, '\0');
    for (size_t i = 0; i < v.size(); ++i) std::copy(v[i].begin(), v[i].end(), flat.begin() + long(i * len));
    H5::StrType type(H5::PredType::C_S1, len);
    type.setStrpad(H5T_STR_NULLPAD);
    hsize_t dims[1] = {v.size()};
    auto ds = g.createDataSet(name, type, H5::DataSpace(1, dims));
    if (!v.empty()) ds.write(flat.data(), type);
}

std::vector<std::string> get_strings(const H5::Group& g, const std::string& name) {
    auto ds = g.openDataSet(name);
    hsize_t n = 0;
    ds.getSpace().getSimpleExtentDims(&n);
    auto type = ds.getStrType();
    if (type.isVariableStr()) throw H5::DataSetIException("get_strings", "variable-length strings are not supported");
    const size_t len = type.getSize();
    std::vector<char> flat(n * len);
    if (n) ds.read(flat.data(), type);
    std::vector<std::string> out(n);
    for (hsize_t i = 0; i < n; ++i) {
        std::string s(flat.data() + i * len, len);
        out[i] = s.substr(0, s.find('\0'));
    }
    return out;
}

void write_probe(H5::H5File& file, const ProbeResult& r) {
    auto probes = ensure_group(file.openGroup("/"), "probes");
    if (probes.exists(r.name)) probes.unlink(r.name);
    auto g = probes.createGroup(r.name);
    put_string_attr(g, "format", "vhmn-probe-1");
    put_string_attr(g, "params", r.params.dump());
    put_string_attr(g, "columns", nlohmann::json(r.table.columns()).dump());
    auto t = g.createGroup("table");
    for (size_t c = 0; c < r.table.columns().size(); ++c) {
        const auto& name = r.table.columns()[c];
        if (r.table.is_text(c)) {
            put_strings(t, name, r.table.texts(name));
        } else if (r.table.is_integer(c)) {
            std::vector<int64_t> v;
            for (size_t i = 0; i < r.table.rows(); ++i) v.push_back(std::get<int64_t>(r.table.at(i, c)));
            put_vector(t, name.c_str(), v);
        } else {
            put_vector(t, name.c_str(), r.table.numbers(name));
        }
    }
    for (const auto& [key, tensor] : r.arrays) {
        const auto slash = key.rfind('/');
        auto parent = slash == std::string::npos ? g : ensure_group(g, key.substr(0, slash));
        put_tensor(parent, slash == std::string::npos ? key : key.substr(slash + 1), tensor);
    }
}

/// Carry /probes from an earlier record into a new file (both open).
void copy_probes(const std::string& old_path, H5::H5File& file) {
    std::error_code ec;
    if (!std::filesystem::exists(old_path, ec) || !H5::H5File::isHdf5(old_path)) return;
    H5::H5File old(old_path, H5F_ACC_RDONLY);
    if (!old.exists("probes")) return;
    if (H5Ocopy(old.getId(), "probes", file.getId(), "probes", H5P_DEFAULT, H5P_DEFAULT) < 0)
        throw H5::FileIException("copy_probes", "cannot copy /probes from the previous record");
}

}  // namespace

void write_run_record(const std::string& path, const RunConfig& config, const History& history,
                      Model model, const ProbeResult* also) {
    write_atomically(path, [&](const std::string& tmp) {
        try {
            H5::Exception::dontPrint();
            H5::H5File file(tmp, H5F_ACC_TRUNC);
            auto root = file.openGroup("/");
            put_string_attr(root, "format", "vhmn-run-1");
            put_string_attr(root, "config", nlohmann::json(config).dump());
            write_metrics(file, history);
            write_model_and_banks(file, model);
            write_dataset_info(file, config.data);
            try {
                copy_probes(path, file);
            } catch (const H5::Exception&) {
                // An unreadable earlier record must not stop training: its probes are dropped.
            }
            if (also) write_probe(file, *also);
            file.close();
        } catch (const H5::Exception& e) {
            throw FileError(path, "HDF5 write failed: " + e.getDetailMsg());
        }
    });
}

/// An existing run record opened read-only (FileError when missing or not HDF5; HDF5's own
/// errors are thrown as H5::Exception for the caller to name).
static H5::H5File open_record(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw FileError(path, "no such file");
    H5::Exception::dontPrint();
    if (!H5::H5File::isHdf5(path)) throw FileError(path, "not an HDF5 file");
    return H5::H5File(path, H5F_ACC_RDONLY);
}

RunRecord read_run_record(const std::string& path) {
    RunRecord r;
    try {
        H5::H5File file = open_record(path);
        auto root = file.openGroup("/");
        if (!root.attrExists("format") || get_string_attr(root, "format") != "vhmn-run-1")
            throw FileError(path, "not a V-HMN run record (no format \"vhmn-run-1\")");
        r.config = nlohmann::json::parse(get_string_attr(root, "config")).get<RunConfig>();
        auto ep = file.openGroup("/metrics/epoch");
        const auto epoch = get_vector<int64_t>(ep, "epoch", H5::PredType::NATIVE_INT64);
        const auto step = get_vector<int64_t>(ep, "step", H5::PredType::NATIVE_INT64);
        r.history.epochs.resize(epoch.size());
        for (size_t i = 0; i < epoch.size(); ++i) r.history.epochs[i].epoch = epoch[i], r.history.epochs[i].step = step[i];
        for (const auto& f : epoch_fields()) {
            if (f.optional && !ep.nameExists(f.name)) continue;  // absent in runs recorded before it
            const auto v = get_vector<double>(ep, f.name, H5::PredType::NATIVE_DOUBLE);
            for (size_t i = 0; i < v.size() && i < epoch.size(); ++i) r.history.epochs[i].*f.member = v[i];
        }
        // Memory over training: absent in runs recorded before it; NaN rows for epochs without it.
        for (const auto& s : epoch_series()) {
            if (!ep.nameExists(s.name)) continue;
            const auto rows = get_matrix(ep, s.name);
            for (size_t i = 0; i < rows.size() && i < r.history.epochs.size(); ++i)
                if (!rows[i].empty() && !std::isnan(rows[i][0])) r.history.epochs[i].*s.member = rows[i];
        }
        auto st = file.openGroup("/metrics/step");
        const auto sstep = get_vector<int64_t>(st, "step", H5::PredType::NATIVE_INT64);
        const auto sepoch = get_vector<int64_t>(st, "epoch", H5::PredType::NATIVE_INT64);
        auto sd = [&](const char* n) { return get_vector<double>(st, n, H5::PredType::NATIVE_DOUBLE); };
        const auto prog = sd("epoch_progress"), loss = sd("loss"), acc = sd("accuracy"), slr = sd("lr"),
                   ips = sd("images_per_s");
        const auto bl = get_matrix(st, "beta_local"), bg = get_matrix(st, "beta_global"),
                   el = get_matrix(st, "entropy_local"), eg = get_matrix(st, "entropy_global");
        for (size_t i = 0; i < sstep.size(); ++i) {
            StepStats s;
            s.step = sstep[i], s.epoch = sepoch[i], s.epoch_progress = prog[i], s.loss = loss[i];
            s.accuracy = acc[i], s.lr = slr[i], s.images_per_s = ips[i];
            s.beta_local = bl[i], s.beta_global = bg[i], s.entropy_local = el[i], s.entropy_global = eg[i];
            s.epochs = r.config.train.epochs;
            r.history.steps.push_back(s);
        }
    } catch (const H5::Exception& e) {
        throw FileError(path, "corrupt run record: " + e.getDetailMsg());
    } catch (const nlohmann::json::exception& e) {
        throw FileError(path, std::string("corrupt run config: ") + e.what());
    } catch (const ConfigError& e) {
        throw FileError(path, e.what());
    }
    return r;
}

RecordedImageHashes read_image_hashes(const std::string& path) {
    RecordedImageHashes h;
    try {
        H5::H5File file = open_record(path);
        if (!file.nameExists("/dataset")) return h;
        auto g = file.openGroup("/dataset");
        if (g.nameExists("train_image_hashes"))
            h.train = get_vector<uint64_t>(g, "train_image_hashes", H5::PredType::NATIVE_UINT64);
        if (g.nameExists("test_image_hashes"))
            h.test = get_vector<uint64_t>(g, "test_image_hashes", H5::PredType::NATIVE_UINT64);
    } catch (const H5::Exception& e) {
        throw FileError(path, "corrupt run record: " + e.getDetailMsg());
    }
    return h;
}

void write_probe_record(const std::string& path, const ProbeResult& result) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw FileError(path, "no such file (train the run first)");
    if (result.name.empty() || result.name.find('/') != std::string::npos)
        throw ConfigError("probe name '" + result.name + "' is not a plain name");
    write_atomically(path, [&](const std::string& tmp) {
        std::filesystem::copy_file(path, tmp, std::filesystem::copy_options::overwrite_existing);
        try {
            H5::Exception::dontPrint();
            if (!H5::H5File::isHdf5(tmp)) throw FileError(path, "not an HDF5 file");
            H5::H5File file(tmp, H5F_ACC_RDWR);
            write_probe(file, result);
            file.close();
        } catch (const H5::Exception& e) {
            throw FileError(path, "HDF5 write failed: " + e.getDetailMsg());
        }
    });
}

StoredProbe read_probe_record(const std::string& path, const std::string& name) {
    try {
        H5::H5File file = open_record(path);
        if (!file.exists("probes") || !file.openGroup("probes").exists(name))
            throw FileError(path, "has no probe '" + name + "' (run `vhmn probe " + name + "` first)");
        auto g = file.openGroup("probes").openGroup(name);
        StoredProbe out;
        out.params = nlohmann::json::parse(get_string_attr(g, "params"));
        const auto columns = nlohmann::json::parse(get_string_attr(g, "columns")).get<std::vector<std::string>>();
        auto t = g.openGroup("table");
        std::vector<std::vector<Cell>> cols;
        size_t rows = 0;
        for (const auto& c : columns) {
            auto ds = t.openDataSet(c);
            std::vector<Cell> v;
            const auto cls = ds.getTypeClass();
            if (cls == H5T_STRING) {
                for (auto& s : get_strings(t, c)) v.emplace_back(std::move(s));
            } else if (cls == H5T_INTEGER) {
                for (auto x : get_vector<int64_t>(t, c.c_str(), H5::PredType::NATIVE_INT64)) v.emplace_back(x);
            } else {
                for (auto x : get_vector<double>(t, c.c_str(), H5::PredType::NATIVE_DOUBLE)) v.emplace_back(x);
            }
            rows = v.size();
            cols.push_back(std::move(v));
        }
        out.table = Table(columns);
        for (size_t i = 0; i < rows; ++i) {
            std::vector<Cell> row;
            for (auto& col : cols) {
                if (col.size() != rows) throw FileError(path, "probe '" + name + "' has columns of different lengths");
                row.push_back(col[i]);
            }
            out.table.add_row(std::move(row));
        }
        return out;
    } catch (const H5::Exception& e) {
        throw FileError(path, "corrupt probe record '" + name + "': " + e.getDetailMsg());
    } catch (const nlohmann::json::exception& e) {
        throw FileError(path, "corrupt probe record '" + name + "': " + e.what());
    }
}

std::vector<std::string> probe_names(const std::string& path) {
    std::vector<std::string> names;
    try {
        H5::Exception::dontPrint();
        if (!H5::H5File::isHdf5(path)) return names;
        H5::H5File file(path, H5F_ACC_RDONLY);
        if (!file.exists("probes")) return names;
        auto g = file.openGroup("probes");
        for (hsize_t i = 0; i < g.getNumObjs(); ++i) names.push_back(g.getObjnameByIdx(i));
    } catch (const H5::Exception&) {
    }
    return names;
}

#endif

}  // namespace vhmn
