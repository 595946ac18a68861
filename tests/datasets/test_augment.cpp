// Batched data augmentation (datasets/augment/augment.h): known answers for each op, MixUp/CutMix
// bookkeeping, determinism, config validation and JSON.
#include <array>
#include <random>

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <QtTest>

#include "core/error.h"
#include "datasets/augment/augment.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;
using namespace vhmn::data;

namespace {

/// The per-family reference (the implementation before the batched one): each op type applied
/// by its own function to the images that drew it.
torch::Tensor apply_aug_ops_reference(const torch::Tensor& x, const std::vector<int64_t>& ops, const std::vector<double>& mags) {
    auto op = torch::tensor(ops, torch::kLong);
    auto mag = torch::tensor(mags, torch::kDouble);
    auto out = x.clone();
    for (int64_t t = 1; t < kAugOpCount; ++t) {
        auto sel = (op == t).nonzero().reshape({-1});
        if (sel.numel() == 0) continue;
        out.index_copy_(0, sel, apply_aug_op(x.index_select(0, sel), static_cast<AugOp>(t), mag.index_select(0, sel)));
    }
    return out;
}

at::Generator make_gen(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

torch::Tensor vals(std::vector<double> v) { return torch::tensor(v, torch::kDouble); }

/// Random image batch with values in [lo, hi).
torch::Tensor images(int64_t b, int64_t c, int64_t h, int64_t w, uint64_t seed, double lo = 0.0, double hi = 1.0) {
    auto gen = make_gen(seed);
    return torch::rand({b, c, h, w}, gen, torch::kFloat) * (hi - lo) + lo;
}

/// Images whose values are exact 8-bit levels k/255, k in [0, 254].
torch::Tensor levels(int64_t b, int64_t c, int64_t h, int64_t w, uint64_t seed) {
    auto gen = make_gen(seed);
    return torch::randint(0, 255, {b, c, h, w}, gen, torch::kLong).to(torch::kFloat) / 255.0;
}

AugmentConfig only_mixup() {
    auto c = AugmentConfig::recipe("none");
    c.mixup_alpha = 0.8;
    return c;
}

AugmentConfig only_cutmix() {
    auto c = AugmentConfig::recipe("none");
    c.cutmix_alpha = 1.0;
    return c;
}

bool in_unit_range(const torch::Tensor& x) {
    return x.isfinite().all().item<bool>() && x.min().item<double>() >= 0.0 && x.max().item<double>() <= 1.0;
}

bool message_contains(const std::exception& e, const std::string& what) {
    return std::string(e.what()).find(what) != std::string::npos;
}

}  // namespace

class TestAugment : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void batchedOpsMatchTheOpByOpReference() {
        // Every op family at once on one batch (and −1 / Identity): each image must come out as its
        // own op's function makes it. Pixel ops are exact; the affine resampling too, here.
        torch::manual_seed(21);
        for (const auto& [channels, h, w] : {std::array<int64_t, 3>{3, 12, 12}, {1, 12, 12}, {3, 10, 16}}) {
            const int64_t n = 96;
            auto x = torch::rand({n, channels, h, w});
            std::vector<int64_t> ops(n);
            std::vector<double> mags(n);
            std::mt19937 rng(5);
            for (int64_t s = 0; s < n; ++s) {
                ops[size_t(s)] = int64_t(s % (kAugOpCount + 1)) - 1;  // −1 … Invert, every one several times
                const auto op = static_cast<AugOp>(std::max<int64_t>(ops[size_t(s)], 0));
                double m = aug_op_magnitude(op, int64_t(rng() % 10), 10, h, w);
                if (aug_op_signed(op) && rng() % 2) m = -m;
                mags[size_t(s)] = m;
            }
            const auto want = apply_aug_ops_reference(x, ops, mags);
            const auto got = apply_aug_ops(x, ops, mags);
            QVERIFY2(torch::equal(got, want), test::diff_message(got, want).c_str());
            // The tensor form is the same function.
            QVERIFY(torch::equal(apply_aug_ops(x, torch::tensor(ops, torch::kLong), torch::tensor(mags, torch::kDouble)), want));
        }
    }

    // ---- geometric ops with randomness -------------------------------------------------------

    void cropWithoutPaddingIsIdentity() {
        auto x = images(5, 3, 8, 8, 1);
        auto gen = make_gen(7);
        QVERIFY(torch::equal(random_crop(x, 0, gen), x));
    }

    void cropIsAShiftedWindowOfThePaddedImage() {
        const int64_t pad = 2, n = 24;
        auto x = images(n, 3, 8, 8, 2, 0.1, 1.0);  // no zeros, so padding is recognisable
        auto gen = make_gen(3);
        auto y = random_crop(x, pad, gen);
        QCOMPARE(y.sizes(), x.sizes());
        auto padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0.0);
        int64_t shifted = 0;
        for (int64_t b = 0; b < n; ++b) {
            int64_t matches = 0;
            for (int64_t dy = 0; dy <= 2 * pad; ++dy)
                for (int64_t dx = 0; dx <= 2 * pad; ++dx) {
                    auto window = padded[b].slice(1, dy, dy + 8).slice(2, dx, dx + 8);
                    if (torch::equal(window, y[b])) {
                        ++matches;
                        if (dy != pad || dx != pad) ++shifted;
                    }
                }
            QCOMPARE(matches, int64_t(1));
        }
        QVERIFY(shifted > n / 2);  // 24 of 25 offsets move the image
    }

    void flipFlipsAboutHalfAndTwiceIsIdentity() {
        const int64_t n = 256;
        auto x = images(n, 1, 4, 5, 4);
        auto gen = make_gen(5);
        auto y = random_flip(x, gen);
        auto same = (y == x).flatten(1).all(1);
        auto flipped = (y == x.flip({3})).flatten(1).all(1);
        QVERIFY((same ^ flipped).all().item<bool>());  // each sample is one or the other
        const int64_t count = flipped.sum().item<int64_t>();
        QVERIFY2(count > 96 && count < 160, std::to_string(count).c_str());
        auto back = torch::where(flipped.view({n, 1, 1, 1}), y.flip({3}), y);
        QVERIFY(torch::equal(back, x));
    }

    void erasingFillsOneRectanglePerSample() {
        const int64_t n = 64, h = 16, w = 16;
        auto x = torch::zeros({n, 3, h, w});
        auto gen0 = make_gen(1);
        QVERIFY(torch::equal(random_erasing(x, 0.0, gen0), x));
        auto gen = make_gen(6);
        auto y = random_erasing(x, 1.0, gen);
        QVERIFY(in_unit_range(y));
        int64_t erased = 0;
        for (int64_t b = 0; b < n; ++b) {
            auto hit = y[b].ne(0).any(0);  // [H, W]
            const int64_t count = hit.sum().item<int64_t>();
            if (count == 0) continue;
            ++erased;
            auto rows = hit.any(1).nonzero(), cols = hit.any(0).nonzero();
            const int64_t rh = rows.max().item<int64_t>() - rows.min().item<int64_t>() + 1;
            const int64_t rw = cols.max().item<int64_t>() - cols.min().item<int64_t>() + 1;
            QCOMPARE(count, rh * rw);  // a full rectangle
            QVERIFY(rh < h && rw < w);
            QVERIFY2(count >= 1 && count <= int64_t(0.45 * h * w), std::to_string(count).c_str());
        }
        QVERIFY(erased > n * 3 / 4);
    }

    // ---- affine ops -------------------------------------------------------------------------

    void translateMovesAPixelByExactlyK() {
        auto x = torch::zeros({3, 1, 8, 8});
        x.index_put_({torch::indexing::Slice(), 0, 3, 2}, 1.0);
        auto tx = translate_x(x, vals({3, -2, 0}));
        QCOMPARE(tx[0][0][3][5].item<float>(), 1.0f);  // +k: to the right
        QCOMPARE(tx[1][0][3][0].item<float>(), 1.0f);
        QCOMPARE(tx[2][0][3][2].item<float>(), 1.0f);
        QVERIFY(torch::equal(tx.sum({1, 2, 3}), torch::ones({3})));
        auto ty = translate_y(x, vals({2, -3, 0}));
        QCOMPARE(ty[0][0][5][2].item<float>(), 1.0f);  // +k: down
        QCOMPARE(ty[1][0][0][2].item<float>(), 1.0f);
        QVERIFY(torch::equal(ty.sum({1, 2, 3}), torch::ones({3})));
        // Moved out of the image: zero fill.
        QCOMPARE(translate_x(x, vals({6, 6, 6})).sum().item<float>(), 0.0f);
    }

    void rotate90IsRot90() {
        for (int64_t side : {6, 5}) {
            auto x = images(3, 2, side, side, 8);
            // Counter-clockwise as displayed (y down), like torchvision and torch::rot90(·, 1, {2, 3}).
            QVERIFY(torch::equal(rotate(x, vals({90})), torch::rot90(x, 1, {2, 3})));
            QVERIFY(torch::equal(rotate(x, vals({-90})), torch::rot90(x, -1, {2, 3})));
            QVERIFY(torch::equal(rotate(x, vals({0})), x));
        }
        // Non-square: the top-left pixel goes to the bottom-left under a counter-clockwise turn.
        auto p = torch::zeros({1, 1, 6, 8});
        p[0][0][1][1] = 1.0;
        auto rp = rotate(p, vals({90}));
        QCOMPARE(rp[0][0][5][2].item<float>(), 1.0f);
        QCOMPARE(rp.sum().item<float>(), 1.0f);
        auto r = images(2, 3, 6, 8, 9);
        QVERIFY(torch::equal(rotate(r, vals({180, 180})), r.flip({2, 3})));
        // Per-sample angles in one call.
        auto x = images(2, 1, 6, 6, 10);
        auto y = rotate(x, vals({90, 0}));
        QVERIFY(torch::equal(y[0], torch::rot90(x[0], 1, {1, 2})));
        QVERIFY(torch::equal(y[1], x[1]));
    }

    void shearKeepsRowsAndUsesTheTopLeftOrigin() {
        auto x = torch::zeros({2, 1, 8, 8});
        x[0][0][0][4] = 1.0;  // top row: unaffected by shear_x (corner origin)
        x[1][0][6][4] = 1.0;
        auto y = shear_x(x, vals({0.5, 0.5}));
        QCOMPARE(y[0][0][0][4].item<float>(), 1.0f);
        // Row 6 (centre 6.5): output(u) = input(u + 3.25) → the pixel moves 3 columns left.
        QCOMPARE(y[1][0][6][1].item<float>(), 1.0f);
        QCOMPARE(y.sum().item<float>(), 2.0f);
        auto t = x.transpose(2, 3).contiguous();
        auto z = shear_y(t, vals({0.5, 0.5}));
        QVERIFY(torch::equal(z, y.transpose(2, 3)));
        QVERIFY(torch::equal(shear_x(x, vals({0.0})), x));
    }

    // ---- pixel ops --------------------------------------------------------------------------

    void invertAndSolarize() {
        auto x = levels(4, 3, 5, 5, 11);  // levels 0..254
        QVERIFY(torch::equal(invert(x), 1.0 - x));
        QVERIFY(torch::equal(solarize(x, vals({0})), 1.0 - x));
        QVERIFY(torch::equal(solarize(x, vals({1})), x));
        auto half = solarize(x, vals({128.0 / 255.0}));
        auto q = (x * 255).round();
        QVERIFY(torch::equal(half, torch::where(q >= 128, 1.0 - x, x)));
        // Per sample.
        auto mixed = solarize(x, vals({0, 1, 0, 1}));
        QVERIFY(torch::equal(mixed[0], 1.0 - x[0]));
        QVERIFY(torch::equal(mixed[1], x[1]));
    }

    void posterizeKeepsTheTopBits() {
        auto x = images(4, 3, 6, 6, 12);
        QVERIFY(torch::equal(vhmn::data::posterize(x, vals({8})), x));
        auto one = vhmn::data::posterize(x, vals({1}));
        auto q = (x * 255).round();
        QVERIFY(torch::equal(one, torch::where(q >= 128, torch::full_like(x, 128.0f / 255.0f), torch::zeros_like(x))));
        auto four = vhmn::data::posterize(x, vals({4}));
        auto q4 = (four * 255).round();
        QVERIFY(torch::equal(q4.remainder(16), torch::zeros_like(q4)));
        QVERIFY(((four - x).abs() <= 16.0 / 255.0 + 1e-6).all().item<bool>());
    }

    void equalizeSpreadsFewLevels() {
        // Four equally common levels 100..103 on a 32×32 image: PIL's algorithm gives 0, 85, 171, 255.
        auto idx = torch::arange(32 * 32).remainder(4).to(torch::kFloat);
        auto x = ((idx + 100) / 255.0).view({1, 1, 32, 32}).repeat({2, 3, 1, 1});
        auto y = equalize(x);
        QCOMPARE(y.min().item<float>(), 0.0f);
        QCOMPARE(y.max().item<float>(), 1.0f);
        auto expected = torch::tensor({0.0, 85.0, 171.0, 255.0}).index_select(0, idx.to(torch::kLong)) / 255.0;
        VHMN_VERIFY_CLOSE(y, expected.to(torch::kFloat).view({1, 1, 32, 32}).expand_as(y), 1e-6);
        // A constant image has a zero step: unchanged.
        auto flat = torch::full({1, 1, 16, 16}, 0.3f);
        QVERIFY(torch::equal(equalize(flat), flat));
        QVERIFY(in_unit_range(equalize(images(8, 3, 16, 16, 13))));
    }

    void enhancementFactors() {
        auto x = images(3, 3, 6, 6, 14);
        QVERIFY(torch::equal(contrast(x, vals({1})), x));
        QVERIFY(torch::equal(brightness(x, vals({1})), x));
        QVERIFY(torch::equal(brightness(x, vals({0})), torch::zeros_like(x)));
        VHMN_VERIFY_CLOSE(color(x, vals({1})), x, 1e-6);
        VHMN_VERIFY_CLOSE(sharpness(x, vals({1})), x, 1e-6);
        // Contrast 0: every pixel = mean luma of its image.
        auto luma = (0.299 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.114 * x.select(1, 2)).mean({1, 2});
        auto flat = contrast(x, vals({0}));
        VHMN_VERIFY_CLOSE(flat, luma.view({3, 1, 1, 1}).expand_as(x), 1e-5);
        // Colour 0: grayscale in every channel; identity on one channel.
        auto gray = color(x, vals({0}));
        VHMN_VERIFY_CLOSE(gray, grayscale(x).expand_as(x), 1e-6);
        auto g1 = images(2, 1, 6, 6, 15);
        QVERIFY(torch::equal(color(g1, vals({0})), g1));
        // Sharpness 0: the smoothed image inside, border kept.
        auto s = sharpness(x, vals({0}));
        QVERIFY(torch::equal(s.select(2, 0), x.select(2, 0)));
        auto k = torch::ones({3, 1, 3, 3});
        k[0][0][1][1] = 5.0;
        k = (k / 13.0).select(0, 0).unsqueeze(0).expand({3, 1, 3, 3}).contiguous();
        auto smooth = torch::nn::functional::conv2d(x, k, torch::nn::functional::Conv2dFuncOptions().groups(3));
        VHMN_VERIFY_CLOSE(s.slice(2, 1, 5).slice(3, 1, 5), smooth, 1e-6);
        // Per-sample factors and clamping.
        auto bright = brightness(x, vals({0, 1, 3}));
        QVERIFY(torch::equal(bright[0], torch::zeros_like(x[0])));
        QVERIFY(torch::equal(bright[1], x[1]));
        QVERIFY(in_unit_range(bright) && bright[2].max().item<float>() == 1.0f);
    }

    void autocontrastStretchesEachChannel() {
        auto x = images(3, 3, 6, 6, 16, 0.2, 0.7);
        x[2][1].fill_(0.4f);  // a constant channel stays as it is
        auto y = autocontrast(x);
        auto lo = y.amin({2, 3}), hi = y.amax({2, 3});
        for (int64_t b = 0; b < 3; ++b)
            for (int64_t c = 0; c < 3; ++c) {
                if (b == 2 && c == 1) continue;
                QCOMPARE(lo[b][c].item<float>(), 0.0f);
                QVERIFY(std::abs(hi[b][c].item<float>() - 1.0f) < 1e-6);
            }
        QVERIFY(torch::equal(y[2][1], x[2][1]));
    }

    void perSampleOpDispatch() {
        auto x = images(4, 3, 6, 6, 17);
        auto ops = torch::tensor({int64_t(AugOp::Invert), int64_t(AugOp::Identity), int64_t(-1),
                                  int64_t(AugOp::Brightness)});
        auto y = apply_aug_ops(x, ops, vals({0, 0, 0, -1}));  // brightness factor 1 + (−1) = 0
        QVERIFY(torch::equal(y[0], 1.0 - x[0]));
        QVERIFY(torch::equal(y[1], x[1]));
        QVERIFY(torch::equal(y[2], x[2]));
        QVERIFY(torch::equal(y[3], torch::zeros_like(x[3])));
    }

    void torchvisionMagnitudes() {
        std::vector<double> bits;
        for (int64_t b = 0; b < 10; ++b) bits.push_back(aug_op_magnitude(AugOp::Posterize, b, 10, 32, 32));
        QCOMPARE(bits, (std::vector<double>{8, 8, 7, 7, 6, 6, 5, 5, 4, 4}));
        QCOMPARE(aug_op_magnitude(AugOp::Posterize, 9, 31, 32, 32), 7.0);
        QCOMPARE(aug_op_magnitude(AugOp::Solarize, 0, 10, 32, 32), 255.0);
        QCOMPARE(aug_op_magnitude(AugOp::Solarize, 9, 10, 32, 32), 0.0);
        QVERIFY(std::abs(aug_op_magnitude(AugOp::TranslateX, 9, 10, 32, 40) - 150.0 / 331.0 * 40) < 1e-9);
        QVERIFY(std::abs(aug_op_magnitude(AugOp::Rotate, 9, 31, 32, 32) - 9.0) < 1e-9);
        QVERIFY(std::abs(aug_op_magnitude(AugOp::Color, 30, 31, 32, 32) - 0.9) < 1e-9);
        QVERIFY(aug_op_signed(AugOp::ShearX) && !aug_op_signed(AugOp::Solarize));
    }

    void policiesKeepShapeAndRange() {
        for (int64_t c : {1, 3}) {
            auto x = images(256, c, 16, 16, 18);  // ≥ 256 pixels: equalize has a non-zero step
            auto gen = make_gen(19);
            auto a = auto_augment(x, gen);
            QCOMPARE(a.sizes(), x.sizes());
            QVERIFY(in_unit_range(a));
            QVERIFY(!torch::equal(a, x));
            auto r = rand_augment(x, 2, 9, gen);
            QCOMPARE(r.sizes(), x.sizes());
            QVERIFY(in_unit_range(r));
            QVERIFY(!torch::equal(r, x));
            QVERIFY(torch::equal(rand_augment(x, 0, 9, gen), x));
            // Some samples untouched (identity ops / steps skipped), most changed.
            const int64_t changed = (a != x).flatten(1).any(1).sum().item<int64_t>();
            QVERIFY2(changed > 100 && changed < 256, std::to_string(changed).c_str());
        }
    }

    // ---- MixUp / CutMix ---------------------------------------------------------------------

    void betaAndGammaSamples() {
        auto gen = make_gen(20);
        double sum = 0, sum_g = 0, sum_small = 0;
        const int n = 2000;
        for (int i = 0; i < n; ++i) {
            const double b = sample_beta(0.8, 0.8, gen);
            QVERIFY(b >= 0.0 && b <= 1.0);
            sum += b;
            sum_g += sample_gamma(2.5, gen);
            sum_small += sample_gamma(0.5, gen);
        }
        QVERIFY2(std::abs(sum / n - 0.5) < 0.03, std::to_string(sum / n).c_str());
        QVERIFY2(std::abs(sum_g / n - 2.5) < 0.15, std::to_string(sum_g / n).c_str());
        QVERIFY2(std::abs(sum_small / n - 0.5) < 0.06, std::to_string(sum_small / n).c_str());
    }

    void mixupBlendsWithThePartner() {
        const int64_t n = 8, classes = 10;
        Augmenter aug(only_mixup(), classes);
        auto x = images(n, 3, 6, 6, 21);
        auto labels = torch::arange(n, torch::kLong);  // partner B−1−i has another label
        auto indices = torch::arange(100, 100 + n, torch::kLong);
        bool own_dominant = false, partner_dominant = false;
        for (uint64_t seed = 0; seed < 20; ++seed) {
            auto gen = make_gen(seed);
            auto out = aug(x, labels, indices, gen);
            VHMN_VERIFY_CLOSE(out.targets.sum(1), torch::ones({n}), 1e-6);
            const double lam = out.targets[0][0].item<double>();
            QVERIFY(std::abs(out.targets[0][n - 1].item<double>() - (1 - lam)) < 1e-6);
            for (int64_t i = 0; i < n; ++i)
                QVERIFY(std::abs(out.targets[i][i].item<double>() - lam) < 1e-6);
            VHMN_VERIFY_CLOSE(out.images, lam * x + (1 - lam) * x.flip({0}), 1e-5);
            const bool own = lam >= 0.5;
            (own ? own_dominant : partner_dominant) = true;
            auto expected = own ? labels : labels.flip({0});
            QVERIFY(torch::equal(out.write_labels, expected));
            QVERIFY(torch::equal(out.accuracy_labels, expected));
            QVERIFY(torch::equal(out.write_indices, own ? indices : indices.flip({0})));
        }
        QVERIFY(own_dominant && partner_dominant);
    }

    void cutmixTakesExactlyOneMinusLambdaFromThePartner() {
        const int64_t n = 6, classes = 6, h = 10, w = 12;
        Augmenter aug(only_cutmix(), classes);
        auto values = (torch::arange(n, torch::kFloat) + 1) / float(n + 1);
        auto x = values.view({n, 1, 1, 1}).expand({n, 3, h, w}).contiguous();
        auto labels = torch::arange(n, torch::kLong);
        auto indices = torch::arange(n, torch::kLong);
        int64_t boxes = 0;
        for (uint64_t seed = 0; seed < 20; ++seed) {
            auto gen = make_gen(seed);
            auto out = aug(x, labels, indices, gen);
            const double lam = out.targets[0][0].item<double>();
            if (lam < 1.0) ++boxes;
            VHMN_VERIFY_CLOSE(out.targets.sum(1), torch::ones({n}), 1e-6);
            for (int64_t i = 0; i < n; ++i) {
                const float partner = values[n - 1 - i].item<float>();
                const double taken = out.images[i].eq(partner).to(torch::kDouble).mean().item<double>();
                QVERIFY2(std::abs(taken - (1.0 - lam)) < 1e-6,
                         (std::to_string(taken) + " vs " + std::to_string(1.0 - lam)).c_str());
                // The rest is the sample's own value.
                const double own = out.images[i].eq(values[i].item<float>()).to(torch::kDouble).mean().item<double>();
                QVERIFY(std::abs(own - lam) < 1e-6);
            }
            QVERIFY(torch::equal(out.write_labels, lam >= 0.5 ? labels : labels.flip({0})));
        }
        QVERIFY(boxes > 10);
    }

    void labelSmoothing() {
        auto cfg = AugmentConfig::recipe("none");
        cfg.label_smoothing = 0.1;
        Augmenter aug(cfg, 10);
        auto gen = make_gen(1);
        auto labels = torch::tensor({3, 0}, torch::kLong);
        auto out = aug(images(2, 1, 4, 4, 22), labels, torch::arange(2), gen);
        auto expected = torch::full({2, 10}, 0.01f);
        expected[0][3] = 0.91f;
        expected[1][0] = 0.91f;
        VHMN_VERIFY_CLOSE(out.targets, expected, 1e-6);
    }

    // ---- the pipeline ----------------------------------------------------------------------

    void noneRecipeReturnsTheInput() {
        Augmenter aug(AugmentConfig::recipe("none"), 5);
        auto x = images(4, 3, 8, 8, 23);
        auto labels = torch::tensor({4, 0, 2, 2}, torch::kLong);
        auto indices = torch::tensor({10, 11, 12, 13}, torch::kLong);
        auto gen = make_gen(2);
        auto out = aug(x, labels, indices, gen);
        QVERIFY(torch::equal(out.images, x));
        QVERIFY(torch::equal(out.targets, torch::one_hot(labels, 5).to(torch::kFloat)));
        QVERIFY(torch::equal(out.write_labels, labels));
        QVERIFY(torch::equal(out.accuracy_labels, labels));
        QVERIFY(torch::equal(out.write_indices, indices));
    }

    void sameSeedSameBatch() {
        auto cfg = AugmentConfig::recipe("paper");
        cfg.randaugment = true;
        cfg.erasing_prob = 0.5;
        Augmenter aug(cfg, 10);
        auto x = images(32, 3, 12, 12, 24);
        auto labels = torch::arange(32, torch::kLong).remainder(10);
        auto indices = torch::arange(32, torch::kLong);
        auto g1 = make_gen(42), g2 = make_gen(42), g3 = make_gen(43);
        auto a = aug(x, labels, indices, g1), b = aug(x, labels, indices, g2), c = aug(x, labels, indices, g3);
        QVERIFY(torch::equal(a.images, b.images));
        QVERIFY(torch::equal(a.targets, b.targets));
        QVERIFY(torch::equal(a.write_labels, b.write_labels));
        QVERIFY(torch::equal(a.write_indices, b.write_indices));
        QVERIFY(!torch::equal(a.images, c.images));
        // The generator advanced: a second batch from g1 differs from the first.
        QVERIFY(!torch::equal(aug(x, labels, indices, g1).images, a.images));
    }

    void pipelineOnOneAndThreeChannels() {
        for (const auto& name : AugmentConfig::recipe_names()) {
            for (int64_t c : {1, 3}) {
                auto cfg = AugmentConfig::recipe(name);
                cfg.label_smoothing = 0.1;
                Augmenter aug(cfg, 7);
                auto x = images(64, c, 16, 16, 25);
                auto labels = torch::arange(64, torch::kLong).remainder(7);
                auto gen = make_gen(26);
                auto out = aug(x, labels, torch::arange(64, torch::kLong), gen);
                QCOMPARE(out.images.sizes(), x.sizes());
                QCOMPARE(out.images.scalar_type(), torch::kFloat);
                QVERIFY(in_unit_range(out.images));
                QCOMPARE(out.targets.sizes(), (torch::IntArrayRef{64, 7}));
                VHMN_VERIFY_CLOSE(out.targets.sum(1), torch::ones({64}), 1e-5);
                QCOMPARE(out.write_labels.sizes(), (torch::IntArrayRef{64}));
                QCOMPARE(out.write_indices.scalar_type(), torch::kLong);
            }
        }
    }

    void rejectsBadInput() {
        Augmenter aug(AugmentConfig::recipe("basic"), 3);
        auto gen = make_gen(1);
        auto x = images(2, 3, 8, 8, 27);
        QVERIFY_THROWS_EXCEPTION(c10::Error, aug(x, torch::tensor({0, 3}, torch::kLong), torch::arange(2), gen));
        QVERIFY_THROWS_EXCEPTION(c10::Error, aug(x, torch::tensor({0}, torch::kLong), torch::arange(1), gen));
        QVERIFY_THROWS_EXCEPTION(ConfigError, Augmenter(AugmentConfig::recipe("basic"), 0));
    }

    void sameResultOnCuda() {
        if (!torch::cuda::is_available()) QSKIP("no CUDA device");
        auto cfg = AugmentConfig::recipe("paper");
        cfg.randaugment = true;
        cfg.erasing_prob = 0.5;
        Augmenter aug(cfg, 10);
        auto x = images(32, 3, 12, 12, 28);
        auto labels = torch::arange(32, torch::kLong).remainder(10);
        auto g1 = make_gen(5), g2 = make_gen(5);
        auto cpu = aug(x, labels, labels, g1);
        auto gpu = aug(x.to(torch::kCUDA), labels, labels, g2);
        QVERIFY(gpu.images.is_cuda() && gpu.targets.is_cuda() && gpu.write_labels.is_cuda());
        // Same parameters; the pixel math may round differently (a few pixels on a level edge).
        const double differ = (gpu.images.cpu() - cpu.images).abs().gt(1e-4).to(torch::kDouble).mean().item<double>();
        QVERIFY2(differ < 0.01, std::to_string(differ).c_str());
        VHMN_VERIFY_CLOSE(gpu.targets.cpu(), cpu.targets, 1e-6);
        QVERIFY(torch::equal(gpu.write_indices.cpu(), cpu.write_indices));
    }

    // ---- config ------------------------------------------------------------------------------

    void recipes() {
        QVERIFY(AugmentConfig::recipe("paper") == AugmentConfig{});
        const auto none = AugmentConfig::recipe("none");
        QVERIFY(!none.crop && !none.flip && !none.autoaugment && !none.randaugment);
        QCOMPARE(none.mixup_alpha, 0.0);
        QCOMPARE(none.cutmix_alpha, 0.0);
        const auto basic = AugmentConfig::recipe("basic");
        QVERIFY(basic.crop && basic.flip && !basic.autoaugment && basic.mixup_alpha == 0.0);
        const auto im = AugmentConfig::recipe("imagenet");
        QVERIFY(!im.crop && !im.autoaugment && im.randaugment);
        QCOMPARE(im.randaugment_n, int64_t(2));
        QCOMPARE(im.randaugment_m, int64_t(9));
        QCOMPARE(im.erasing_prob, 0.25);
        QVERIFY(im.mixup_alpha > 0 && im.cutmix_alpha > 0);
        for (const auto& name : AugmentConfig::recipe_names()) AugmentConfig::recipe(name).validate();
        try {
            AugmentConfig::recipe("fancy");
            QFAIL("expected an error");
        } catch (const ConfigError& e) {
            QVERIFY(message_contains(e, "fancy") && message_contains(e, "--augment") &&
                    message_contains(e, "imagenet") && message_contains(e, "none"));
        }
    }

    void validateNamesTheField_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<double>("value");
        QTest::newRow("negative mixup") << "mixup_alpha" << -0.1;
        QTest::newRow("negative cutmix") << "cutmix_alpha" << -1.0;
        QTest::newRow("mix prob > 1") << "mix_prob" << 1.5;
        QTest::newRow("switch prob < 0") << "switch_prob" << -0.2;
        QTest::newRow("erasing prob > 1") << "erasing_prob" << 2.0;
        QTest::newRow("smoothing 1") << "label_smoothing" << 1.0;
        QTest::newRow("negative smoothing") << "label_smoothing" << -0.1;
        QTest::newRow("negative N") << "randaugment_n" << -1.0;
        QTest::newRow("M 31") << "randaugment_m" << 31.0;
        QTest::newRow("negative M") << "randaugment_m" << -1.0;
        QTest::newRow("negative padding") << "crop_padding" << -2.0;
    }
    void validateNamesTheField() {
        QFETCH(QString, field);
        QFETCH(double, value);
        nlohmann::json j = AugmentConfig{};
        const std::string key = field.toStdString();
        if (j[key].is_number_integer())
            j[key] = int64_t(value);
        else
            j[key] = value;
        auto cfg = j.get<AugmentConfig>();
        try {
            cfg.validate();
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            QVERIFY2(message_contains(e, key), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(ConfigError, Augmenter(cfg, 10));
    }

    void jsonRoundTrip() {
        AugmentConfig c;
        c.crop = false, c.crop_padding = 3, c.randaugment = true, c.randaugment_n = 3;
        c.randaugment_m = 14, c.mixup_alpha = 0.2, c.cutmix_alpha = 0.0, c.mix_prob = 0.7;
        c.switch_prob = 0.25, c.erasing_prob = 0.1, c.label_smoothing = 0.05;
        nlohmann::json j = c;
        QCOMPARE(j.size(), size_t(13));
        QVERIFY(j.contains("label_smoothing") && j.contains("randaugment_m") && j.contains("autoaugment"));
        auto back = nlohmann::json::parse(j.dump()).get<AugmentConfig>();
        QVERIFY(back == c);
        QVERIFY(back != AugmentConfig{});
        // An integer is accepted for a real field.
        auto k = j;
        k["mixup_alpha"] = 1;
        QCOMPARE(k.get<AugmentConfig>().mixup_alpha, 1.0);
    }

    void jsonErrorsNameTheKey() {
        nlohmann::json j = AugmentConfig{};
        j["mixup"] = 0.3;
        try {
            j.get<AugmentConfig>();
            QFAIL("expected an error");
        } catch (const ConfigError& e) {
            QVERIFY2(message_contains(e, "'mixup'"), e.what());
        }
        for (const char* key : {"crop", "randaugment_n", "mix_prob"}) {
            nlohmann::json bad = AugmentConfig{};
            bad[key] = "yes";
            try {
                bad.get<AugmentConfig>();
                QFAIL("expected an error");
            } catch (const ConfigError& e) {
                QVERIFY2(message_contains(e, std::string("'") + key + "'"), e.what());
            }
        }
        nlohmann::json frac = AugmentConfig{};
        frac["crop_padding"] = 2.5;
        QVERIFY_THROWS_EXCEPTION(ConfigError, frac.get<AugmentConfig>());
    }
};

VHMN_TEST_SUITE(TestAugment);
#include "test_augment.moc"
