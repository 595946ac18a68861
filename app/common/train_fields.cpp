#include "app/common/train_fields.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/error.h"
#include "core/models/config.h"

namespace vhmn::app {
namespace {

using json = nlohmann::json;
constexpr double kMaxSeed = 4e18;  // below 2^63: the CLI converts the range to int64

/// A field stored in the request's ModelConfig or TrainConfig under its own key: read and written
/// through their JSON, so types and another architecture's fields are refused as config.json does.
TrainField model_field(std::string key, std::string label, std::string help, double min, double max) {
    TrainField f;
    f.flag = "--" + key;
    for (char& c : f.flag)
        if (c == '_') c = '-';
    f.key = std::move(key), f.group = FieldGroup::Model, f.label = std::move(label), f.help = std::move(help);
    f.min = min, f.max = max;
    f.get = [k = f.key](const TrainRequest& r) { return json(r.model).value(k, json()); };
    f.set = [k = f.key](TrainRequest& r, const json& v) {
        json m = r.model;
        m[k] = v;
        r.model = m.get<ModelConfig>();
    };
    return f;
}

TrainField train_field_row(std::string key, std::string flag, FieldKind kind, std::string label, std::string help,
                           double min = 0, double max = 0, int decimals = 0, double step = 1) {
    TrainField f;
    f.key = std::move(key), f.flag = std::move(flag), f.kind = kind, f.group = FieldGroup::Training;
    f.label = std::move(label), f.help = std::move(help), f.min = min, f.max = max, f.decimals = decimals, f.step = step;
    f.get = [k = f.key](const TrainRequest& r) { return json(r.train).at(k); };
    f.set = [k = f.key](TrainRequest& r, const json& v) {
        json t = r.train;
        t[k] = v;
        r.train = t.get<TrainConfig>();
    };
    return f;
}

TrainField real_model_field(std::string key, std::string label, std::string help, double min, double max, int decimals,
                            double step) {
    auto f = model_field(std::move(key), std::move(label), std::move(help), min, max);
    f.kind = FieldKind::Real, f.decimals = decimals, f.step = step;
    return f;
}

std::vector<TrainField> data_fields() {
    std::vector<TrainField> out(3);
    auto& data = out[0];
    data.key = "data", data.flag = "--data", data.kind = FieldKind::Text, data.group = FieldGroup::Data;
    data.help = "Dataset folder (CIFAR-10/100 binary, IDX, SVHN .mat, image folder) or 'builtin'";
    data.get = [](const TrainRequest& r) { return json(r.data); };
    data.set = [](TrainRequest& r, const json& v) { r.data = v.get<std::string>(); };
    auto& fraction = out[1];
    fraction.key = "fraction", fraction.flag = "--fraction", fraction.kind = FieldKind::Real, fraction.group = FieldGroup::Data;
    fraction.label = "Fraction";
    fraction.help = "Fraction of every class kept for training, class-stratified and seeded, in (0, 1]";
    fraction.min = 1e-9, fraction.max = 1.0, fraction.decimals = 3, fraction.step = 0.05;
    fraction.get = [](const TrainRequest& r) { return json(r.fraction); };
    fraction.set = [](TrainRequest& r, const json& v) { r.fraction = v.get<double>(); };
    auto& imbalance = out[2];
    imbalance.key = "imbalance", imbalance.flag = "--imbalance", imbalance.kind = FieldKind::Real;
    imbalance.group = FieldGroup::Data, imbalance.label = "Imbalance";
    imbalance.help = "Long-tail ratio r >= 1: n_c = n_max·r^(−c/(C−1)); 1 = balanced";
    imbalance.min = 1.0, imbalance.max = 1e6, imbalance.decimals = 1, imbalance.step = 10;
    imbalance.get = [](const TrainRequest& r) { return json(r.imbalance); };
    imbalance.set = [](TrainRequest& r, const json& v) { r.imbalance = v.get<double>(); };
    return out;
}

std::vector<TrainField> choice_model_fields() {
    TrainField arch;
    arch.key = "arch", arch.flag = "--arch", arch.kind = FieldKind::Choice, arch.group = FieldGroup::Model;
    arch.label = "Architecture";
    arch.help = "vhmn: the paper's model; vit, mixer, poolformer: baselines of the same size, same recipe";
    arch.choices = [] { return arch_names(); };
    arch.get = [](const TrainRequest& r) { return json(r.model.arch); };
    arch.set = [](TrainRequest& r, const json& v) {
        r.model = preset(r.preset, v.get<std::string>());
        r.arch_given = true;  // a resume checks it against the run's own
    };
    TrainField pre;
    pre.key = "preset", pre.flag = "--preset", pre.kind = FieldKind::Choice, pre.group = FieldGroup::Model;
    pre.label = "Preset";
    pre.help = "Model size preset: fills every model field (a baseline gets about the V-HMN preset's parameter count)";
    pre.choices = [] { return preset_names(); };
    pre.get = [](const TrainRequest& r) { return json(r.preset); };
    pre.set = [](TrainRequest& r, const json& v) {
        r.preset = v.get<std::string>();
        r.model = preset(r.preset, r.model.arch);
    };
    return {arch, pre};
}

std::vector<TrainField> model_fields() {
    std::vector<TrainField> out = choice_model_fields();
    const double big = double(1 << 24);
    out.push_back(model_field("patch", "Patch p", "Non-overlapping p×p patches", 1, 64));
    out.push_back(model_field("dim", "Embedding D", "Token embedding dimension", 1, 65536));
    out.push_back(model_field("latent", "Latent L", "Hopfield latent dimension", 1, 65536));
    out.push_back(model_field("depth", "Depth", "Number of HMN blocks", 1, 1024));
    out.push_back(model_field("window", "Window k", "Local k×k neighbourhood (odd)", 1, 63));
    out.push_back(model_field("mlp_ratio", "MLP ratio r", "MLP hidden = r·D", 1, 64));
    out.push_back(model_field("local_slots", "Local slots", "Local bank size per block", 1, big));
    out.push_back(model_field("global_slots", "Global slots", "Global bank size per block", 1, big));
    out.push_back(model_field("iterations", "Iterations T", "Refinement steps T (0 = no retrieval)", 0, 64));
    out.push_back(real_model_field("beta_init", "β init", "Initial β of every branch", 0.0, 1.0, 3, 0.05));
    out.push_back(model_field("tokens_per_image", "Tokens / image", "Local-bank writes per training image", 1, 4096));
    out.push_back(model_field("heads", "Attention heads", "ViT only: D must be a multiple", 1, 1024));
    out.push_back(model_field("token_hidden", "Token-MLP width", "MLP-Mixer only: hidden width of the token-mixing MLP", 1, 65536));
    out.push_back(model_field("pool_size", "Pooling window", "PoolFormer only: k×k average pooling (odd)", 1, 63));
    return out;
}

TrainField augment_field() {
    TrainField f;
    f.key = "augment", f.flag = "--augment", f.kind = FieldKind::Choice, f.label = "Augmentation";
    f.help = "Augmentation recipe: none; basic = crop + flip; paper = + AutoAugment, MixUp, CutMix; imagenet";
    f.choices = [] { return data::AugmentConfig::recipe_names(); };
    f.get = [](const TrainRequest& r) {  // the recipe the request's augmentation is (label smoothing aside)
        for (const auto& name : data::AugmentConfig::recipe_names()) {
            auto c = data::AugmentConfig::recipe(name);
            c.label_smoothing = r.augment.label_smoothing;
            if (c == r.augment) return json(name);
        }
        return json("custom");
    };
    f.set = [](TrainRequest& r, const json& v) { r.augment = data::AugmentConfig::recipe(v.get<std::string>()); };
    return f;
}

TrainField label_smoothing_field() {
    TrainField f;
    f.key = "label_smoothing", f.flag = "--label-smoothing", f.kind = FieldKind::Real, f.label = "Label smoothing";
    f.help = "Label smoothing (default: the recipe's)";
    f.min = 0.0, f.max = 0.99, f.decimals = 3, f.step = 0.05;
    f.get = [](const TrainRequest& r) { return json(r.augment.label_smoothing); };
    f.set = [](TrainRequest& r, const json& v) { r.augment.label_smoothing = v.get<double>(); };
    return f;
}

std::vector<TrainField> training_fields() {
    using K = FieldKind;
    std::vector<TrainField> out = {
        train_field_row("epochs", "--epochs", K::Int, "Epochs", "Epochs (paper: 400)", 1, 100000),
        train_field_row("batch", "--batch", K::Int, "Batch", "Batch size (paper: 256)", 1, double(1 << 20)),
        train_field_row("lr", "--lr", K::Real, "Learning rate", "Peak learning rate (paper: 1e-3)", 1e-12, 10.0, 6, 1e-4),
        train_field_row("min_lr", "--min-lr", K::Real, "Final lr", "The cosine schedule decays to this", 0.0, 10.0, 7, 1e-5),
        train_field_row("weight_decay", "--weight-decay", K::Real, "Weight decay", "Weight decay (paper: 5e-5)", 0.0, 10.0, 6, 1e-5),
        train_field_row("optimizer", "--optimizer", K::Choice, "Optimizer", "adam (L2 weight decay) or adamw (decoupled)"),
        train_field_row("warmup_epochs", "--warmup", K::Real, "Warm-up epochs",
                        "Linear warm-up epochs (paper: 5; at most 10% of training)", 0.0, 1e5, 2, 1),
        train_field_row("grad_clip", "--grad-clip", K::Real, "Gradient clip", "Max gradient norm, 0 = off", 0.0, 1e9, 3, 0.1),
        augment_field(),
        label_smoothing_field(),
        train_field_row("log_every", "--log-every", K::Int, "Log every (steps)", "Steps between progress lines and curve points",
                        1, double(1 << 30)),
        train_field_row("checkpoint_every", "--checkpoint-every", K::Int, "",
                        "Also write checkpoint.pt every N steps within an epoch (resumable exactly there; 0: at epoch ends)",
                        0, double(int64_t(1) << 40)),
        train_field_row("eval_batch", "--eval-batch", K::Int, "", "Test images per forward pass of the evaluation", 1,
                        double(1 << 20)),
        train_field_row("device", "--device", K::Text, "",
                        "cpu, cuda or cuda:N (emulated: a CPU stand-in for a GPU that refuses device mixing, for tests)"),
        train_field_row("bf16", "--bf16", K::OnOff, "", "bf16 autocast on CUDA (default on; ignored on the CPU)"),
        train_field_row("tf32", "--tf32", K::OnOff, "",
                        "On CUDA GPUs that have it: TF32 matmuls and convolutions (default on; recorded in config.json "
                        "with the precision used)"),
        train_field_row("seed", "--seed", K::Int, "Seed", "Random seed", 0, kMaxSeed),
    };
    out[5].choices = [] { return std::vector<std::string>{"adam", "adamw"}; };
    return out;
}

}  // namespace

std::string TrainField::arch() const { return group == FieldGroup::Model ? field_arch(key) : std::string(); }

const std::vector<TrainField>& train_fields() {
    static const std::vector<TrainField> fields = [] {
        std::vector<TrainField> all = data_fields();
        for (auto* part : {model_fields, training_fields})
            for (auto& f : part()) all.push_back(std::move(f));
        return all;
    }();
    return fields;
}

const TrainField* train_field(const std::string& key) {
    for (const auto& f : train_fields())
        if (f.key == key) return &f;
    return nullptr;
}

void apply_field(TrainRequest& r, const std::string& key, const json& v, FieldNaming naming) {
    const TrainField* f = train_field(key);
    if (!f) throw ConfigError("unknown field '" + key + "'");
    const std::string name = naming == FieldNaming::Flag && !f->flag.empty() ? f->flag : "field '" + key + "'";
    auto need = [&](bool ok, const std::string& what) {
        if (!ok) throw ConfigError(name + ": expected " + what + ", got " + v.dump());
    };
    switch (f->kind) {
        case FieldKind::Int: need(v.is_number(), "an integer"); break;
        case FieldKind::Real: need(v.is_number(), "a number"); break;
        case FieldKind::OnOff: need(v.is_boolean(), "true or false"); break;
        case FieldKind::Text:
        case FieldKind::Choice: need(v.is_string(), "a string"); break;
    }
    const std::string owner = f->arch();
    if (naming == FieldNaming::Flag && !owner.empty() && owner != r.model.arch)
        throw ConfigError(f->flag + " is a " + arch_display_name(owner) + " setting; --arch " + r.model.arch + " has " +
                          (owner == "vhmn" ? "no memory banks" : "no such field"));
    f->set(r, v);
}

void apply_fields(TrainRequest& r, const json& fields, FieldNaming naming,
                  const std::function<void(const std::string&, const std::string&)>& on_error) {
    static const char* first[] = {"preset", "arch", "augment"};
    auto apply = [&](const std::string& key, const json& v) {
        if (!on_error) return apply_field(r, key, v, naming);
        try {
            apply_field(r, key, v, naming);
        } catch (const std::exception& e) {
            on_error(key, e.what());
        }
    };
    for (const char* k : first)
        if (fields.contains(k)) apply(k, fields.at(k));
    for (auto it = fields.begin(); it != fields.end(); ++it)
        if (std::find(std::begin(first), std::end(first), it.key()) == std::end(first)) apply(it.key(), *it);
}

json field_value_from_text(const TrainField& f, const std::string& text) {
    switch (f.kind) {
        case FieldKind::Int: return json(int64_t(std::stoll(text)));
        case FieldKind::Real: return json(std::stod(text));
        case FieldKind::OnOff: return json(text == "on");
        case FieldKind::Text:
        case FieldKind::Choice: break;
    }
    return json(text);
}

}  // namespace vhmn::app
