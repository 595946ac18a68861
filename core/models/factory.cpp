#include "core/models/factory.h"

#include "core/models/mixer.h"
#include "core/models/poolformer.h"
#include "core/models/vhmn.h"
#include "core/models/vit.h"

namespace vhmn {

Model make_model(const ModelConfig& cfg) {
    cfg.validate();
    if (cfg.arch == "vit") return Model(ViT(cfg));
    if (cfg.arch == "mixer") return Model(Mixer(cfg));
    if (cfg.arch == "poolformer") return Model(PoolFormer(cfg));
    return Model(VHMN(cfg));
}

}  // namespace vhmn
