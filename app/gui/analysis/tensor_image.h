#pragma once
// uint8 [C, H, W] image tensors → QImage (grayscale for C = 1, RGB for C = 3).
#include <algorithm>
#include <cstring>

#include <torch/torch.h>

#include <QImage>

namespace vhmn::gui {

inline QImage tensor_to_image(const torch::Tensor& image) {
    auto t = image.to(torch::kCPU).to(torch::kUInt8);
    if (t.dim() != 3) return {};
    const int c = int(t.size(0)), h = int(t.size(1)), w = int(t.size(2));
    auto hwc = t.permute({1, 2, 0}).contiguous();  // [H, W, C]
    const uint8_t* p = hwc.data_ptr<uint8_t>();
    if (c == 1) {
        QImage out(w, h, QImage::Format_Grayscale8);
        for (int y = 0; y < h; ++y) std::memcpy(out.scanLine(y), p + size_t(y) * size_t(w), size_t(w));
        return out;
    }
    QImage out(w, h, QImage::Format_RGB888);
    for (int y = 0; y < h; ++y) {
        uchar* line = out.scanLine(y);
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < 3; ++k) line[3 * x + k] = p[(size_t(y) * size_t(w) + size_t(x)) * size_t(c) + size_t(std::min(k, c - 1))];
    }
    return out;
}

}  // namespace vhmn::gui
