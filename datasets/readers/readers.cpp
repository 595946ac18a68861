// Format detection, load_dataset, and the CIFAR-10 / CIFAR-100 binary and IDX readers.
// The SVHN .mat reader is in mat_reader.cpp, the image-folder reader in image_folder.cpp.
#include "datasets/readers/readers.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/error.h"
#include "datasets/readers/procedural.h"
#include "datasets/readers/reader_util.h"

namespace vhmn::data {

using namespace detail;

namespace {

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/// What identifies one format in a folder: any one marker file (or marker folder) present.
struct Signature {
    const char* format;
    const char* official_subdir;       ///< "" when the release has none
    std::vector<std::string> markers;  ///< file names (IDX: also with ".gz"); image folder: folders
    const char* description;           ///< for the "nothing recognised" message
};

const std::vector<Signature>& signatures() {
    static const std::vector<Signature> s = {
        {"cifar10-bin",
         "cifar-10-batches-bin",
         {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
          "data_batch_5.bin", "test_batch.bin"},
         "cifar-10-batches-bin/ or data_batch_1..5.bin + test_batch.bin (CIFAR-10 binary)"},
        {"cifar100-bin",
         "cifar-100-binary",
         {"train.bin", "test.bin"},
         "cifar-100-binary/ or train.bin + test.bin (CIFAR-100 binary)"},
        {"idx",
         "",
         {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
          "t10k-labels-idx1-ubyte"},
         "train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz] + t10k-... (MNIST-style "
         "IDX)"},
        {"svhn-mat",
         "",
         {"train_32x32.mat", "test_32x32.mat"},
         "train_32x32.mat + test_32x32.mat (SVHN)"},
        {"image-folder", "", {"train", "test"}, "train/<class>/ + test/<class>/ (image folder)"},
    };
    return s;
}

struct Detected {
    std::string format;
    fs::path dir;  ///< folder holding the files (the official sub-folder when the parent was given)
};

Detected detect(const std::string& path) {
    if (path == "builtin" || path == "builtin-small") return {"builtin", path};
    std::error_code ec;
    if (!fs::exists(path, ec)) throw FileError(path, "no such file or folder");
    if (!fs::is_directory(path, ec))
        throw FileError(path, "is a file; give the folder that holds the dataset's files");
    std::vector<std::string> looked_for;
    for (const auto& sig : signatures()) {
        const bool is_folder_format = std::string(sig.format) == "image-folder";
        fs::path dir =
            *sig.official_subdir ? official_subdir(path, sig.official_subdir) : fs::path(path);
        for (const auto& marker : sig.markers) {
            const bool hit = is_folder_format ? fs::is_directory(dir / marker, ec)
                                              : !find_existing(dir, {marker}, /*gz=*/true).empty();
            if (hit) return {sig.format, dir};
        }
        looked_for.push_back(sig.description);
    }
    throw FileError(path, "no dataset recognised; looked for " + join(looked_for, "; "));
}

void require_dir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw FileError(dir.string(), "no such folder");
    if (!fs::is_directory(dir, ec)) throw FileError(dir.string(), "is not a folder");
}

// ---------------------------------------------------------------------------------------------
// CIFAR binary: fixed-size records of label byte(s) then 3072 pixels (R, G, B planes of 32x32)
// ---------------------------------------------------------------------------------------------

constexpr int64_t kCifarPixels = 3 * 32 * 32;

struct LabelField {
    int64_t column;   ///< byte of the record holding this label
    int64_t classes;  ///< valid labels: [0, classes)
};

/// Read and concatenate the records of `files`; each record is `label_bytes` label bytes then
/// kCifarPixels pixel bytes. The label is taken from `field`.
Split read_cifar_records(const std::vector<fs::path>& files, int64_t label_bytes, LabelField field,
                         const std::string& what) {
    const int64_t record = label_bytes + kCifarPixels;
    std::vector<torch::Tensor> images, labels;
    for (const auto& f : files) {
        require_file(f, what);
        Bytes bytes = read_file(f);
        check_records(f, bytes.size(), size_t(record));
        const int64_t n = int64_t(bytes.size()) / record;
        auto t = torch::from_blob(bytes.data(), {n, record}, torch::kUInt8);  // view of `bytes`
        auto lab = t.select(1, field.column).to(torch::kInt64);               // [n] (a copy)
        check_labels(f, lab, field.classes);
        // [n, 3, 32, 32]; clone() copies out of `bytes` before it is freed.
        images.push_back(
            t.slice(1, label_bytes).reshape({n, 3, 32, 32}).clone(at::MemoryFormat::Contiguous));
        labels.push_back(lab);
    }
    return make_split(torch::cat(images), torch::cat(labels));
}

const std::vector<std::string> kCifar10Names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

// ---------------------------------------------------------------------------------------------
// IDX (MNIST, Fashion-MNIST): big-endian magic 0x000008 <ndims>, ndims int32 sizes, then bytes
// ---------------------------------------------------------------------------------------------

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                "Bag",         "Ankle boot"};

/// Contents of one unsigned-byte IDX file of `ndims` dimensions: [d0, ..., d(ndims-1)] uint8.
torch::Tensor read_idx_file(const fs::path& path, int ndims) {
    const Bytes bytes = read_file(path);
    const size_t header = 4 + 4 * size_t(ndims);
    if (bytes.size() < header)
        throw FileError(path.string(), "truncated: " + std::to_string(bytes.size()) +
                                           " bytes, shorter than the " + std::to_string(header) +
                                           "-byte IDX header");
    const uint32_t expected = 0x00000800u | uint32_t(ndims), found = be32(bytes.data());
    if (found != expected)
        throw FileError(path.string(), "wrong magic number: expected " + hex32(expected) +
                                           " (unsigned bytes, " + std::to_string(ndims) +
                                           " dimension(s)), found " + hex32(found));
    std::vector<int64_t> dims;
    double count = 1;  // in double: three 32-bit sizes can overflow any integer type
    std::string shape;
    for (int i = 0; i < ndims; ++i) {
        dims.push_back(int64_t(be32(bytes.data() + 4 + 4 * i)));
        count *= double(dims.back());
        shape += (i ? "x" : "") + std::to_string(dims.back());
    }
    const uint64_t have = bytes.size() - header;
    if (double(have) < count)
        throw FileError(path.string(), "truncated: the header announces " + shape + " = " +
                                           whole(count) + " bytes of data, the file holds " +
                                           std::to_string(have));
    if (double(have) > count)
        throw FileError(path.string(), "holds " + whole(double(have) - count) +
                                           " bytes more than its header announces (" + shape + ")");
    auto out = torch::empty(dims, torch::kUInt8);
    if (have) std::memcpy(out.data_ptr<uint8_t>(), bytes.data() + header, have);
    return out;
}

/// One IDX split from its image and label files.
Split read_idx_split(const fs::path& dir, const std::string& prefix) {
    const auto image_file = find_required(dir, {prefix + "-images-idx3-ubyte"}, "IDX", /*gz=*/true);
    const auto label_file = find_required(dir, {prefix + "-labels-idx1-ubyte"}, "IDX", /*gz=*/true);
    auto images = read_idx_file(image_file, 3);  // [N, H, W]
    auto labels = read_idx_file(label_file, 1);  // [N]
    if (labels.size(0) != images.size(0))
        throw FileError(label_file.string(), "holds " + std::to_string(labels.size(0)) +
                                                 " labels but " + image_file.filename().string() +
                                                 " holds " + std::to_string(images.size(0)) +
                                                 " images");
    labels = labels.to(torch::kInt64);
    check_labels(label_file, labels, 10);
    return make_split(images.unsqueeze(1), labels);  // images [N, 1, H, W]
}

}  // namespace

// -------------------------------------------------------------------------------------------------

std::string detect_format(const std::string& path) {
    return detect(path).format;
}

Dataset read_cifar10_bin(const std::string& path) {
    const fs::path dir = official_subdir(path, "cifar-10-batches-bin");
    require_dir(dir);
    std::vector<fs::path> train_files;
    for (int i = 1; i <= 5; ++i)
        train_files.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
    Dataset ds;
    ds.name = "cifar10";
    ds.format = "cifar10-bin";
    ds.path = dir.string();
    ds.train = read_cifar_records(train_files, 1, {0, 10}, "CIFAR-10 training batch");
    ds.test = read_cifar_records({dir / "test_batch.bin"}, 1, {0, 10}, "CIFAR-10 test batch");
    ds.class_names = read_names(dir / "batches.meta.txt", 10, kCifar10Names);
    return ds;
}

Dataset read_cifar100_bin(const std::string& path, bool coarse) {
    const fs::path dir = official_subdir(path, "cifar-100-binary");
    require_dir(dir);
    const LabelField field = coarse ? LabelField{0, 20} : LabelField{1, 100};
    Dataset ds;
    ds.name = "cifar100";
    ds.format = "cifar100-bin";
    ds.path = dir.string();
    ds.train = read_cifar_records({dir / "train.bin"}, 2, field, "CIFAR-100 training file");
    ds.test = read_cifar_records({dir / "test.bin"}, 2, field, "CIFAR-100 test file");
    ds.class_names = read_names(dir / (coarse ? "coarse_label_names.txt" : "fine_label_names.txt"),
                                size_t(field.classes), numbered_names(field.classes));
    return ds;
}

Dataset read_idx(const std::string& path) {
    const fs::path dir(path);
    require_dir(dir);
    std::string folder = folder_name(dir);
    std::transform(folder.begin(), folder.end(), folder.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const bool fashion = folder.find("fashion") != std::string::npos;
    Dataset ds;
    ds.name = fashion ? "fashion-mnist" : "mnist";
    ds.format = "idx";
    ds.path = dir.string();
    ds.train = read_idx_split(dir, "train");
    ds.test = read_idx_split(dir, "t10k");
    if (ds.train.images.sizes().slice(1).vec() != ds.test.images.sizes().slice(1).vec())
        throw FileError(dir.string(), "training and test images differ in size");
    ds.class_names = fashion ? kFashionNames : numbered_names(10);
    return ds;
}

Dataset load_dataset(const std::string& path, const LoadOptions& opt) {
    validate(opt);
    const Detected d = detect(path);
    if (d.format == "builtin") {
        ProceduralOptions p;  // drawn directly at the requested size and channel count
        if (d.dir == "builtin-small") {  // a quick set for tests and demos: 16×16, 30 + 10 per class
            p.train_per_class = 30, p.test_per_class = 10, p.image_size = 16;
        }
        if (opt.image_size > 0) p.image_size = opt.image_size;
        if (opt.channels > 0) p.channels = opt.channels;
        Dataset ds = make_procedural(p);
        ds.path = d.dir.string();
        return ds;
    }
    if (d.format == "image-folder") return read_image_folder(d.dir.string(), opt);
    Dataset ds;
    if (d.format == "cifar10-bin")
        ds = read_cifar10_bin(d.dir.string());
    else if (d.format == "cifar100-bin")
        ds = read_cifar100_bin(d.dir.string(), opt.cifar100_coarse);
    else if (d.format == "idx")
        ds = read_idx(d.dir.string());
    else
        ds = read_svhn_mat(d.dir.string());
    adapt(ds, opt);
    return ds;
}

}  // namespace vhmn::data
