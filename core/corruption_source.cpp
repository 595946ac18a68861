#include "core/corruption_source.h"

#include "core/error.h"

namespace vhmn {

const std::vector<CCorruption>& c_corruptions() {
    static const std::vector<CCorruption> all = {
        {"gaussian_noise", "Gaussian noise", "noise", true, true, ""},
        {"shot_noise", "Shot noise", "noise", true, true, ""},
        {"impulse_noise", "Impulse noise", "noise", true, true, ""},
        {"defocus_blur", "Defocus blur", "blur", true, true, ""},
        {"glass_blur", "Glass blur", "blur", true, false,
         "severity 4 blurs with sigma .25 (severity 3: .4) but shuffles pixels twice"},
        {"motion_blur", "Motion blur", "blur", true, true, ""},
        {"zoom_blur", "Zoom blur", "blur", true, true, ""},
        {"snow", "Snow", "weather", true, true, ""},
        {"frost", "Frost", "weather", true, false,
         "severities 4-5 lower the image weight (.9 -> .85 -> .75) with little more frost (.4, .4, .45): the "
         "darkening partly cancels the added frost, so the image can move less", true},
        {"fog", "Fog", "weather", true, true, ""},
        {"brightness", "Brightness", "weather", true, true, ""},
        {"contrast", "Contrast", "digital", true, true, ""},
        {"elastic_transform", "Elastic", "digital", true, false,
         "severity 1 is the largest random affine (8% of the image) with no elastic field; later ones trade "
         "affine for elastic displacement"},
        {"pixelate", "Pixelate", "digital", true, true, ""},
        {"jpeg_compression", "JPEG", "digital", true, true, ""},
        {"speckle_noise", "Speckle noise", "extra", false, true, ""},
        {"gaussian_blur", "Gaussian blur", "extra", false, true, ""},
        {"spatter", "Spatter", "extra", false, false,
         "severities 1-3 splash water, 4-5 mud: a different kind of damage"},
        {"saturate", "Saturate", "extra", false, false,
         "severities 1-2 desaturate (x.3, x.1), 3-5 oversaturate (x1.5, x2, x2.5)"},
    };
    return all;
}

int64_t c_corruption_index(const std::string& name) {
    const auto& all = c_corruptions();
    for (size_t i = 0; i < all.size(); ++i)
        if (all[i].name == name) return int64_t(i);
    std::string known;
    for (const auto& c : all) known += (known.empty() ? "" : ", ") + c.name;
    throw ConfigError("unknown corruption '" + name + "' (known: " + known + ")");
}

const CCorruption& c_corruption(const std::string& name) { return c_corruptions()[size_t(c_corruption_index(name))]; }

const std::vector<std::string>& c_families() {
    static const std::vector<std::string> f{"noise", "blur", "weather", "digital", "extra"};
    return f;
}

}  // namespace vhmn
