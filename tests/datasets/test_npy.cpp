// NumPy .npy reader/writer and the released CIFAR-10-C layout (datasets/readers/npy.h). Files are written
// byte by byte here by a small independent writer (npy_file), so the reader is checked against the
// format description (NEP 1), not against its own writer.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "core/error.h"
#include "datasets/readers/npy.h"
#include "tests/suite.h"

using namespace vhmn;
using namespace vhmn::data;
namespace fs = std::filesystem;

namespace {

/// A .npy file by hand: magic, version major.0, header length (2 bytes LE for 1.x, 4 for 2.x/3.x),
/// `dict` padded with spaces and a final '\n' so the header is a multiple of `align`, then `data`.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1,
                     size_t align = 64) {
    const size_t len_bytes = major == 1 ? 2 : 4;
    std::string text = dict;
    while ((6 + 2 + len_bytes + text.size() + 1) % align != 0) text += ' ';
    text += '\n';
    std::string out("\x93NUMPY", 6);
    out += char(major);
    out += char(0);
    for (size_t b = 0; b < len_bytes; ++b) out += char((text.size() >> (8 * b)) & 0xff);
    return out + text + data;
}

/// The dict numpy writes: {'descr': '<i8', 'fortran_order': False, 'shape': (5,), }
std::string dict_of(const std::string& descr, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

/// The raw bytes of a tensor (little-endian host).
std::string bytes_of(const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()),
                       size_t(c.numel() * c.element_size()));
}

template <class T>
std::string bytes_of(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

void write_file(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// uint8 [rows, 4, 4, 3] whose element k (flat, C order) is (k + seed) % 251.
torch::Tensor pattern(int64_t rows, int64_t seed = 0, int64_t h = 4, int64_t w = 4, int64_t c = 3) {
    return torch::arange(rows * h * w * c, torch::kInt64)
        .add(seed)
        .remainder(251)
        .to(torch::kUInt8)
        .reshape({rows, h, w, c});
}

/// A released-layout image file written by hand: |u1, shape `t.sizes()`.
void write_images(const fs::path& path, const torch::Tensor& t) {
    std::string shape = "(";
    for (int64_t d = 0; d < t.dim(); ++d) shape += (d ? ", " : "") + std::to_string(t.size(d));
    write_file(path, npy_file(dict_of("|u1", shape + ")"), bytes_of(t)));
}

/// The message of the `E` thrown by `f` ("NO ERROR" / "WRONG TYPE: ..." otherwise).
template <class E>
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("WRONG TYPE: ") + e.what();
    }
    return "NO ERROR";
}

}  // namespace

/// `expr` throws an `Type` whose message contains every needle given.
#define VHMN_EXPECT_THROW(Type, expr, ...)                                  \
    do {                                                                    \
        const std::string what_ = error_of<Type>([&] { (void)(expr); });    \
        for (const std::string& n_ : std::vector<std::string>{__VA_ARGS__}) \
            QVERIFY2(what_.find(n_) != std::string::npos,                   \
                     ("'" + n_ + "' not in: " + what_).c_str());            \
    } while (0)

#define VHMN_COMPARE_STR(a, b) QCOMPARE(QString::fromStdString(a), QString::fromStdString(b))

class TestNpy : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path path(const std::string& name) const {
        return fs::path(tmp_.path().toStdString()) / name;
    }

    /// The folder of the released-layout tests: fog.npy and brightness.npy (n = 3, 4x4x3; fog
    /// written first, so sorting matters), a stray README.txt, and labels.npy = `labels_file`.
    fs::path released_folder(const std::string& name, const std::string& labels_file) const {
        const fs::path d = path(name);
        write_images(d / "fog.npy", pattern(15, 0));
        write_images(d / "brightness.npy", pattern(15, 100));
        write_file(d / "README.txt", "not an array");
        write_file(d / "labels.npy", labels_file);
        return d;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    // ------------------------------------------------------------------ reading .npy
    void readsHandWrittenUint8() {
        const fs::path p = path("u8.npy");
        const torch::Tensor expected = pattern(10);  // values i % 251, i = 0..479
        write_file(p, npy_file(dict_of("|u1", "(10, 4, 4, 3)"), bytes_of(expected)));
        const NpyHeader h = read_npy_header(p.string());
        VHMN_COMPARE_STR(h.descr, "|u1");
        QVERIFY(!h.fortran_order);
        QCOMPARE(h.shape, (std::vector<int64_t>{10, 4, 4, 3}));
        QCOMPARE(h.data_offset, int64_t(128));  // 10 + 66-character dict + '\n' -> padded to 128
        QCOMPARE(h.item_size(), int64_t(1));
        QCOMPARE(h.count(), int64_t(480));
        const torch::Tensor t = read_npy(p.string());
        QVERIFY(t.scalar_type() == torch::kUInt8);
        QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{10, 4, 4, 3}));
        QVERIFY(torch::equal(t, expected));
        QCOMPARE(t[9][3][3][2].item<int>(), 479 % 251);  // the last byte: 228
        QCOMPARE(t[5][0][0][0].item<int>(), 240);        // flat 240
        QCOMPARE(t[6][0][0][0].item<int>(), 288 - 251);  // flat 288 wraps to 37
    }

    void readsRowsBySeeking() {
        const fs::path p = path("rows.npy");
        const torch::Tensor all = pattern(10);
        write_file(p, npy_file(dict_of("|u1", "(10, 4, 4, 3)"), bytes_of(all)));
        const torch::Tensor r = read_npy_rows(p.string(), 3, 7);
        QCOMPARE(r.sizes().vec(), (std::vector<int64_t>{4, 4, 4, 3}));
        QVERIFY(torch::equal(r, all.slice(0, 3, 7)));
        QCOMPARE(r[0][0][0][0].item<int>(), 144);  // flat 3 * 48
        QVERIFY(torch::equal(read_npy_rows(p.string(), 9, 10), all.slice(0, 9, 10)));
        QCOMPARE(read_npy_rows(p.string(), 10, 10).sizes().vec(),
                 (std::vector<int64_t>{0, 4, 4, 3}));
        VHMN_EXPECT_THROW(ConfigError, read_npy_rows(p.string(), -1, 2), "rows.npy", "outside");
        VHMN_EXPECT_THROW(ConfigError, read_npy_rows(p.string(), 5, 4), "rows.npy", "outside");
        VHMN_EXPECT_THROW(ConfigError, read_npy_rows(p.string(), 0, 11), "rows.npy", "outside");
        // int64 rows: the byte offset is row * row_elems * 8
        const fs::path q = path("rows_i8.npy");
        write_file(q, npy_file(dict_of("<i8", "(4, 2)"),
                               bytes_of(std::vector<int64_t>{0, 1, 10, 11, 20, 21, 30, 31})));
        QVERIFY(torch::equal(read_npy_rows(q.string(), 2, 4),
                             torch::tensor({20, 21, 30, 31}, torch::kInt64).view({2, 2})));
    }

    void readsVersion2And3AndUnalignedHeaders() {
        const std::string data = bytes_of(std::vector<uint8_t>{7, 8, 9, 10, 11, 12});
        const torch::Tensor expected =
            torch::tensor({7, 8, 9, 10, 11, 12}, torch::kUInt8).view({2, 3});
        const std::vector<std::pair<std::string, std::string>> files = {
            {"v2.npy", npy_file(dict_of("|u1", "(2, 3)"), data, 2)},
            {"v3.npy", npy_file(dict_of("|u1", "(2, 3)"), data, 3)},
            {"align16.npy", npy_file(dict_of("|u1", "(2, 3)"), data, 1, 16)},
            {"unaligned.npy", npy_file(dict_of("|u1", "(2, 3)"), data, 1, 1)}};
        for (const auto& [name, bytes] : files) {
            write_file(path(name), bytes);
            const NpyHeader h = read_npy_header(path(name).string());
            QCOMPARE(h.data_offset, int64_t(bytes.size() - 6));
            QVERIFY2(torch::equal(read_npy(path(name).string()), expected), name.c_str());
        }
        QCOMPARE(read_npy_header(path("v2.npy").string()).data_offset,
                 int64_t(128));  // 12 + 59-char dict + '\n' -> 128
    }

    void readsLabelsAndOtherDtypes() {
        // keys in another order, double quotes, extra spaces, no trailing comma, a 1-tuple
        const fs::path p = path("labels_i8.npy");
        write_file(p, npy_file("{ \"shape\" :( 5 , ),'fortran_order':False ,  'descr' : '<i8' }",
                               bytes_of(std::vector<int64_t>{3, -1, 7, 0, 9000000000})));
        const torch::Tensor l = read_npy(p.string());
        QVERIFY(l.scalar_type() == torch::kInt64);
        QVERIFY(torch::equal(l, torch::tensor({int64_t(3), int64_t(-1), int64_t(7), int64_t(0),
                                               int64_t(9000000000)})));
        QCOMPARE(read_npy_header(p.string()).item_size(), int64_t(8));

        auto check = [&](const std::string& descr, const std::string& data, torch::ScalarType type,
                         const torch::Tensor& want) {
            const fs::path f =
                path("dtype_" + std::to_string(data.size()) + descr.substr(1) + ".npy");
            write_file(f, npy_file(dict_of(descr, "(3,)"), data));
            const torch::Tensor t = read_npy(f.string());
            QVERIFY2(t.scalar_type() == type, descr.c_str());
            QVERIFY2(torch::equal(t, want), descr.c_str());
        };
        check("|i1", bytes_of(std::vector<int8_t>{-128, 0, 127}), torch::kInt8,
              torch::tensor({-128, 0, 127}, torch::kInt8));
        check("<i2", bytes_of(std::vector<int16_t>{-300, 0, 30000}), torch::kInt16,
              torch::tensor({-300, 0, 30000}, torch::kInt16));
        check("<i4", bytes_of(std::vector<int32_t>{-70000, 1, 2}), torch::kInt32,
              torch::tensor({-70000, 1, 2}, torch::kInt32));
        check("<u2", bytes_of(std::vector<uint16_t>{65535, 1, 2}), torch::kInt64,
              torch::tensor({65535, 1, 2}, torch::kInt64));
        check("<u4", bytes_of(std::vector<uint32_t>{4000000000u, 1, 2}), torch::kInt64,
              torch::tensor({int64_t(4000000000), int64_t(1), int64_t(2)}));
        check("<u8", bytes_of(std::vector<uint64_t>{5, 1, 2}), torch::kInt64,
              torch::tensor({5, 1, 2}, torch::kInt64));
        check("<f4", bytes_of(std::vector<float>{-1.5f, 0.25f, 3.0f}), torch::kFloat,
              torch::tensor({-1.5f, 0.25f, 3.0f}));
        check("<f8", bytes_of(std::vector<double>{-1.5, 1e300, 3.0}), torch::kDouble,
              torch::tensor({-1.5, 1e300, 3.0}, torch::kDouble));
        check("|b1", bytes_of(std::vector<uint8_t>{1, 0, 1}), torch::kBool,
              torch::tensor({true, false, true}));
        check("=i4", bytes_of(std::vector<int32_t>{4, 5, 6}), torch::kInt32,
              torch::tensor({4, 5, 6}, torch::kInt32));

        // uint64 above int64's range
        const fs::path big = path("u8_big.npy");
        write_file(big, npy_file(dict_of("<u8", "(2,)"),
                                 bytes_of(std::vector<uint64_t>{1, uint64_t(1) << 63})));
        VHMN_EXPECT_THROW(FileError, read_npy(big.string()), "u8_big.npy", "9223372036854775808",
                          "int64");

        // a 0-d array (empty tuple) and a Python 2 header with long integers
        const fs::path scalar = path("scalar.npy");
        write_file(scalar, npy_file(dict_of("<f8", "()"), bytes_of(std::vector<double>{2.5})));
        QCOMPARE(read_npy_header(scalar.string()).count(), int64_t(1));
        const torch::Tensor s = read_npy(scalar.string());
        QCOMPARE(s.dim(), int64_t(0));
        QCOMPARE(s.item<double>(), 2.5);
        VHMN_EXPECT_THROW(FileError, read_npy_rows(scalar.string(), 0, 1), "scalar.npy", "0-d");
        const fs::path py2 = path("py2.npy");
        write_file(py2, npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 1L), }",
                                 "\x05\x06"));
        QVERIFY(torch::equal(read_npy(py2.string()),
                             torch::tensor({5, 6}, torch::kUInt8).view({2, 1})));
        // an empty array
        const fs::path empty = path("empty.npy");
        write_file(empty, npy_file(dict_of("<i8", "(0, 3)"), ""));
        QCOMPARE(read_npy(empty.string()).sizes().vec(), (std::vector<int64_t>{0, 3}));
    }

    // ------------------------------------------------------------------ writing .npy
    void writesAndReadsBack() {
        const fs::path p = path("w/u8.npy");
        const torch::Tensor u8 =
            torch::tensor({1, 2, 3, 250, 251, 255}, torch::kUInt8).view({2, 3});
        write_npy(p.string(), u8);
        const std::string bytes = read_file(p);
        QCOMPARE(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
        const size_t hlen = uint8_t(bytes[8]) + 256 * uint8_t(bytes[9]);
        QCOMPARE((10 + hlen) % 64, size_t(0));
        QCOMPARE(bytes.size(), 10 + hlen + 6);
        const std::string dict = bytes.substr(10, hlen);
        QVERIFY2(dict.find("'descr': '|u1'") != std::string::npos, dict.c_str());
        QVERIFY2(dict.find("'fortran_order': False") != std::string::npos, dict.c_str());
        QVERIFY2(dict.find("'shape': (2, 3), ") != std::string::npos, dict.c_str());
        QCOMPARE(dict.back(), '\n');
        QCOMPARE(bytes.substr(10 + hlen), std::string("\x01\x02\x03\xfa\xfb\xff", 6));
        QVERIFY(torch::equal(read_npy(p.string()), u8));

        const fs::path q = path("w/i8.npy");
        const torch::Tensor i8 =
            torch::tensor({int64_t(-5), int64_t(0), int64_t(1) << 40, int64_t(9)});
        write_npy(q.string(), i8);
        const std::string qb = read_file(q);
        QVERIFY(qb.find("'descr': '<i8'") != std::string::npos);
        QVERIFY(qb.find("'shape': (4,), ") != std::string::npos);
        QCOMPARE(qb.substr(qb.size() - 32, 8),
                 std::string("\xfb\xff\xff\xff\xff\xff\xff\xff", 8));  // -5 LE
        QVERIFY(torch::equal(read_npy(q.string()), i8));

        const fs::path f = path("w/f4.npy");
        const torch::Tensor f4 =
            torch::tensor({-1.5f, 0.0f, 2.25f, 1e-3f, 7.0f, 8.0f, 9.0f, -0.5f}).view({2, 2, 2});
        write_npy(f.string(), f4);
        QVERIFY(read_file(f).find("'descr': '<f4'") != std::string::npos);
        QVERIFY(torch::equal(read_npy(f.string()), f4));

        // int32, double, bool, a 0-d tensor and a non-contiguous view (written in logical order)
        for (const torch::Tensor& t :
             {torch::tensor({1, -2, 3}, torch::kInt32), torch::tensor({0.1, -2.0}, torch::kDouble),
              torch::tensor({true, false}), torch::tensor(42, torch::kInt64),
              torch::arange(6, torch::kInt64).view({2, 3}).t()}) {
            write_npy(path("w/other.npy").string(), t);
            const torch::Tensor back = read_npy(path("w/other.npy").string());
            QVERIFY(back.scalar_type() == t.scalar_type());
            QVERIFY(torch::equal(back, t));
        }
        QVERIFY(read_file(path("w/other.npy")).find("'shape': (3, 2), ") != std::string::npos);
        write_npy(path("w/other.npy").string(), torch::tensor(42, torch::kInt64));
        QVERIFY(read_file(path("w/other.npy")).find("'shape': (), ") != std::string::npos);
        VHMN_EXPECT_THROW(
            FileError, write_npy(path("w/c.npy").string(), torch::zeros({2}, torch::kComplexFloat)),
            "c.npy", "dtype");
        // written atomically: no temporary file left beside the targets
        for (const auto& e : fs::directory_iterator(path("w")))
            QVERIFY2(e.path().extension() == ".npy", e.path().string().c_str());
    }

    // ------------------------------------------------------------------ .npy errors
    void rejectsMalformedNpy() {
        const std::string data = std::string(6, '\x01');
        auto file = [&](const std::string& name, const std::string& bytes) {
            write_file(path(name), bytes);
            return path(name).string();
        };
        VHMN_EXPECT_THROW(FileError, read_npy(path("absent.npy").string()), "absent.npy",
                          "no such file");
        VHMN_EXPECT_THROW(FileError,
                          read_npy(file("magic.npy", "\x93NUMPZ\x01\x00" + std::string(100, ' '))),
                          "magic.npy", "not a .npy file");
        VHMN_EXPECT_THROW(FileError, read_npy(file("short.npy", "\x93NUM")), "short.npy",
                          "not a .npy file");
        VHMN_EXPECT_THROW(FileError, read_npy(file("text.npy", "hello, world")), "text.npy",
                          "not a .npy file");
        std::string v4 = npy_file(dict_of("|u1", "(6,)"), data);
        v4[6] = 4;
        VHMN_EXPECT_THROW(FileError, read_npy(file("v4.npy", v4)), "v4.npy",
                          "unsupported .npy version 4.0");
        for (const std::string& bad :
             {std::string("garbage"), std::string("{'descr': '|u1', 'fortran_order': False}"),
              dict_of("|u1", "6"),
              std::string("{'descr': '|u1, 'fortran_order': False, 'shape': (6,)}"),
              dict_of("|u1", "(6, -1)"), dict_of("|u1", "(6.0,)"),
              std::string("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (6,)}"),
              std::string("{'descr': '|u1', 'fortran_order': 0, 'shape': (6,)}"),
              dict_of("|u1", "(6,)") + " extra"})
            VHMN_EXPECT_THROW(FileError, read_npy(file("header.npy", npy_file(bad, data))),
                              "header.npy", "unparseable .npy header");
        VHMN_EXPECT_THROW(
            FileError,
            read_npy(
                file("header.npy", npy_file("{'descr': '|u1', 'fortran_order': False}", data))),
            "missing key 'shape'");

        const std::string fortran =
            file("fortran.npy",
                 npy_file("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", data));
        QVERIFY(read_npy_header(fortran).fortran_order);
        VHMN_EXPECT_THROW(FileError, read_npy(fortran), "fortran.npy", "fortran_order True");
        VHMN_EXPECT_THROW(FileError, read_npy_rows(fortran, 0, 1), "fortran.npy",
                          "fortran_order True");

        // 2 x 3 int32 = 24 data bytes after a 128-byte header promised; 20 present
        const std::string trunc =
            file("trunc.npy", npy_file(dict_of("<i4", "(2, 3)"), std::string(20, '\0')));
        VHMN_EXPECT_THROW(FileError, read_npy_header(trunc), "trunc.npy", "truncated",
                          "promises 152 bytes", "24 data bytes", "holds 148");
        VHMN_EXPECT_THROW(FileError, read_npy_rows(trunc, 0, 1), "trunc.npy", "truncated");
        const std::string whole = npy_file(dict_of("|u1", "(6,)"), data);
        VHMN_EXPECT_THROW(FileError, read_npy(file("trunc_header.npy", whole.substr(0, 30))),
                          "trunc_header.npy", "truncated", "promises 128 header bytes", "holds 30");
        VHMN_EXPECT_THROW(FileError, read_npy(file("trunc_len.npy", whole.substr(0, 9))),
                          "trunc_len.npy", "truncated");

        VHMN_EXPECT_THROW(FileError,
                          read_npy(file("be.npy", npy_file(dict_of(">i4", "(1,)"),
                                                           std::string("\0\0\0\x01", 4)))),
                          "be.npy", "big-endian arrays are not supported");
        VHMN_EXPECT_THROW(
            FileError,
            read_npy(file("c16.npy", npy_file(dict_of("<c16", "(1,)"), std::string(16, '\0')))),
            "c16.npy", "unsupported dtype '<c16'");
        VHMN_EXPECT_THROW(
            FileError,
            read_npy_header(file("obj.npy", npy_file(dict_of("|O", "(1,)"), std::string(8, '\0')))),
            "obj.npy", "unsupported dtype '|O'");
    }

    // ------------------------------------------------------------------ the released layout
    void opensReleasedLayoutWithNLabels() {
        const fs::path d = released_folder(
            "released_n",
            npy_file(dict_of("<i8", "(3,)"), bytes_of(std::vector<int64_t>{4, 0, 9})));
        const ReleasedCorruptions set = open_released_corruptions(d.string());
        VHMN_COMPARE_STR(set.dir, d.string());
        QCOMPARE(set.per_severity, int64_t(3));
        QCOMPARE(set.height, int64_t(4));
        QCOMPARE(set.width, int64_t(4));
        QCOMPARE(set.channels, int64_t(3));
        QCOMPARE(set.corruptions, (std::vector<std::string>{"brightness", "fog"}));
        QVERIFY(set.labels.scalar_type() == torch::kInt64);
        QVERIFY(torch::equal(set.labels, torch::tensor({4, 0, 9}, torch::kInt64)));

        const torch::Tensor fog = pattern(15, 0);
        const torch::Tensor s4 = read_released(set, "fog", 4);  // severity 4: rows 9, 10, 11
        QVERIFY(s4.scalar_type() == torch::kUInt8);
        QCOMPARE(s4.sizes().vec(), (std::vector<int64_t>{3, 4, 4, 3}));
        QVERIFY(torch::equal(s4, fog.slice(0, 9, 12)));
        QCOMPARE(s4[0][0][0][0].item<int>(), 9 * 48 % 251);  // 181
        QVERIFY(torch::equal(read_released(set, "fog", 4, 1, 2), fog.slice(0, 10, 12)));
        QVERIFY(torch::equal(read_released(set, "fog", 4, 2), fog.slice(0, 11, 12)));
        QVERIFY(torch::equal(read_released(set, "fog", 1, 0, 1), fog.slice(0, 0, 1)));
        QCOMPARE(read_released(set, "fog", 5, 3, 0).size(0), int64_t(0));
        QVERIFY(
            torch::equal(read_released(set, "brightness", 5), pattern(15, 100).slice(0, 12, 15)));
        VHMN_EXPECT_THROW(ConfigError, read_released(set, "fog", 1, 2, 2), "outside");
        VHMN_EXPECT_THROW(ConfigError, read_released(set, "fog", 1, 4), "outside");
        VHMN_EXPECT_THROW(ConfigError, read_released(set, "fog", 1, -1, 1), "outside");
    }

    void writesReleasedLayoutWith5nLabels() {
        const fs::path d = path("released_5n");
        std::vector<torch::Tensor> blocks;
        for (int s = 0; s < 5; ++s) blocks.push_back(pattern(3, 10 * s, 4, 4, 1));  // grayscale
        write_released(d.string(), "snow", blocks);
        write_released_labels(d.string(), torch::tensor({2, 7, 255}, torch::kInt64));
        const NpyHeader lh = read_npy_header((d / "labels.npy").string());
        VHMN_COMPARE_STR(lh.descr, "|u1");
        QCOMPARE(lh.shape, (std::vector<int64_t>{15}));
        QVERIFY(torch::equal(
            read_npy((d / "labels.npy").string()),
            torch::tensor({2, 7, 255, 2, 7, 255, 2, 7, 255, 2, 7, 255, 2, 7, 255}, torch::kUInt8)));
        QCOMPARE(read_npy_header((d / "snow.npy").string()).shape,
                 (std::vector<int64_t>{15, 4, 4, 1}));

        const ReleasedCorruptions set = open_released_corruptions(d.string());
        QCOMPARE(set.per_severity, int64_t(3));
        QCOMPARE(set.channels, int64_t(1));
        QCOMPARE(set.corruptions, (std::vector<std::string>{"snow"}));
        QVERIFY(torch::equal(set.labels, torch::tensor({2, 7, 255}, torch::kInt64)));
        for (int s = 1; s <= 5; ++s)
            QVERIFY(torch::equal(read_released(set, "snow", s), blocks[s - 1]));
        QCOMPARE(read_released(set, "snow", 3, 1, 1)[0][0][0][0].item<int>(),
                 16 + 20);  // block 3 = seed 20, image 1

        // a hand-written 5n uint8 labels file opens the same way
        const fs::path h = released_folder(
            "released_5n_hand",
            npy_file(dict_of("|u1", "(15,)"), bytes_of(std::vector<uint8_t>(15, 6))));
        QVERIFY(torch::equal(open_released_corruptions(h.string()).labels,
                             torch::full({3}, 6, torch::kInt64)));

        VHMN_EXPECT_THROW(ConfigError, write_released(d.string(), "x", {blocks[0], blocks[1]}),
                          "5 blocks");
        VHMN_EXPECT_THROW(ConfigError,
                          write_released(d.string(), "x",
                                         {blocks[0], blocks[1], blocks[2], blocks[3], pattern(2)}),
                          "uint8");
        VHMN_EXPECT_THROW(ConfigError, write_released(d.string(), "labels", blocks), "labels");
        VHMN_EXPECT_THROW(ConfigError, write_released_labels(d.string(), torch::tensor({1, 256})),
                          "0..255");
    }

    void rejectsMalformedReleasedFolders() {
        const std::string labels3 =
            npy_file(dict_of("<i8", "(3,)"), bytes_of(std::vector<int64_t>{1, 2, 3}));
        auto folder = [&](const std::string& name) { return released_folder(name, labels3); };
        auto open = [](const fs::path& d) { return open_released_corruptions(d.string()); };

        VHMN_EXPECT_THROW(FileError, open(path("no_such_folder")), "no_such_folder",
                          "no such folder");
        fs::path d = folder("no_labels");
        fs::remove(d / "labels.npy");
        VHMN_EXPECT_THROW(FileError, open(d), "no_labels", "missing labels.npy");
        d = path("only_labels");
        write_file(d / "labels.npy", labels3);
        VHMN_EXPECT_THROW(FileError, open(d), "only_labels", "no <corruption>.npy");

        d = folder("three_d");
        write_file(d / "fog.npy", npy_file(dict_of("|u1", "(15, 4, 12)"), std::string(720, '\0')));
        VHMN_EXPECT_THROW(FileError, open(d), "fog.npy", "wrong shape (15, 4, 12)", "4-D");
        d = folder("not_5n");
        write_images(d / "fog.npy", pattern(14));
        VHMN_EXPECT_THROW(FileError, open(d), "fog.npy", "first axis 14", "multiple of 5");
        d = folder("other_n");
        write_images(d / "fog.npy", pattern(20));
        VHMN_EXPECT_THROW(FileError, open(d), "fog.npy", "wrong shape (20, 4, 4, 3)",
                          "expected (15, 4, 4, 3)", "brightness.npy");
        d = folder("other_hw");
        write_images(d / "fog.npy", pattern(15, 0, 5, 4, 3));
        VHMN_EXPECT_THROW(FileError, open(d), "fog.npy", "wrong shape (15, 5, 4, 3)",
                          "expected (15, 4, 4, 3)");
        d = folder("two_channels");
        write_images(d / "brightness.npy", pattern(15, 0, 4, 4, 2));
        VHMN_EXPECT_THROW(FileError, open(d), "brightness.npy", "2 channels", "1 or 3");
        d = folder("truncated");
        write_file(d / "fog.npy",
                   npy_file(dict_of("|u1", "(15, 4, 4, 3)"), std::string(700, '\0')));
        VHMN_EXPECT_THROW(FileError, open(d), "fog.npy", "truncated", "720 data bytes",
                          "holds 828");
        d = folder("float_images");
        write_file(d / "fog.npy",
                   npy_file(dict_of("<f4", "(15, 4, 4, 3)"), std::string(720 * 4, '\0')));
        VHMN_EXPECT_THROW(FileError, open(d), "fog.npy", "wrong dtype", "'<f4'", "'|u1'");
        d = folder("bad_magic");
        write_file(d / "fog.npy", "PK\x03\x04 a zip file, not an array");
        VHMN_EXPECT_THROW(FileError, open(d), "fog.npy", "not a .npy file");

        d = released_folder("labels_4n",
                            npy_file(dict_of("|u1", "(12,)"), std::string(12, '\x01')));
        VHMN_EXPECT_THROW(FileError, open(d), "labels.npy", "wrong shape (12,)", "(3,) or (15,)");
        std::vector<uint8_t> blocks_differ = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 9, 3, 1, 2, 3};
        d = released_folder("labels_differ",
                            npy_file(dict_of("|u1", "(15,)"), bytes_of(blocks_differ)));
        VHMN_EXPECT_THROW(FileError, open(d), "labels.npy", "blocks of labels differ",
                          "label 1 is 9 in block 4");
        d = released_folder("labels_float",
                            npy_file(dict_of("<f4", "(3,)"), std::string(12, '\0')));
        VHMN_EXPECT_THROW(FileError, open(d), "labels.npy", "wrong dtype '<f4'");
        d = released_folder("labels_2d", npy_file(dict_of("|u1", "(3, 5)"), std::string(15, '\0')));
        VHMN_EXPECT_THROW(FileError, open(d), "labels.npy", "wrong shape (3, 5)");

        const ReleasedCorruptions set = open(folder("good"));
        VHMN_EXPECT_THROW(FileError, read_released(set, "frost", 1), "good",
                          "unknown corruption 'frost'", "brightness, fog");
        VHMN_EXPECT_THROW(ConfigError, read_released(set, "fog", 0), "severity 0", "1..5");
        VHMN_EXPECT_THROW(ConfigError, read_released(set, "fog", 6), "severity 6", "1..5");
        // the file changed after the folder was opened
        write_images(path("good") / "fog.npy", pattern(20));
        VHMN_EXPECT_THROW(FileError, read_released(set, "fog", 1), "fog.npy",
                          "wrong shape (20, 4, 4, 3)");
    }
};

VHMN_TEST_SUITE(TestNpy);
#include "test_npy.moc"
