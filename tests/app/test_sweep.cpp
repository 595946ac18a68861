// The sweep runner: expansion of a sweep file, resuming without repeating runs, mean ± std tables.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include "app/common/run_compare.h"
#include "app/common/sweep.h"
#include "app/common/train_fields.h"
#include "core/io/atomic_file.h"
#include "core/error.h"
#include "core/models/stats.h"
#include "core/train/train_config.h"
#include "tests/cli_runner.h"
#include "tests/suite.h"

using namespace vhmn;
namespace fs = std::filesystem;

namespace {

/// A sweep of 2 fractions × 2 seeds of a very small model on the built-in 16×16 set.
nlohmann::json small_sweep(const std::string& out) {
    return {{"name", "test sweep"},
            {"data", "builtin-small"},
            {"out", out},
            {"base", {{"preset", "cpu-tiny"}, {"epochs", 1}, {"augment", "none"}, {"batch", 100}, {"dim", 16},
                      {"latent", 16}, {"depth", 1}, {"local_slots", 20}, {"global_slots", 10}, {"log_every", 100}}},
            {"vary", {{"fraction", {0.5, 1.0}}}},
            {"seeds", {0, 1}},
            {"metrics", {"test_top1", "train_loss"}}};
}

std::string write_file(const QTemporaryDir& dir, const std::string& name, const nlohmann::json& j) {
    const std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
    write_text_atomically(path, j.dump(2));
    return path;
}

}  // namespace

class TestSweep : public QObject {
    Q_OBJECT
private Q_SLOTS:
    /// One table of training fields (app/common/train_fields.h): every row is a `vhmn train` flag
    /// when it has one, reads back what it sets, and a sweep, the CLI and config.json name it alike.
    void trainingFieldsAreOneTable() {
        const auto help = test::run_cli({"train", "--help"});
        QCOMPARE(help.code, 0);
        std::set<std::string> keys;
        for (const auto& f : app::train_fields()) {
            QVERIFY2(keys.insert(f.key).second, f.key.c_str());
            if (!f.flag.empty()) QVERIFY2(help.out.contains(QString::fromStdString(f.flag)), f.flag.c_str());
            app::TrainRequest r;
            r.model = preset("cpu-tiny", f.arch().empty() ? "vhmn" : f.arch());
            const auto before = f.get(r);
            if (before.is_null()) continue;  // (a recipe's name is read back: "paper")
            app::apply_field(r, f.key, before);
            QCOMPARE(f.get(r), before);
        }
        // Setting a value through the table changes what the run is made of.
        app::TrainRequest r;
        r.model = preset("cpu-tiny");
        app::apply_fields(r, {{"warmup_epochs", 2.5}, {"dim", 24}, {"tf32", false}, {"augment", "basic"},
                              {"label_smoothing", 0.2}, {"preset", "cpu-small"}});
        QCOMPARE(r.train.warmup_epochs, 2.5);
        QCOMPARE(r.model.dim, int64_t(24));  // after the preset, whichever order the fields came in
        QCOMPARE(r.preset, std::string("cpu-small"));
        QVERIFY(!r.train.tf32);
        QCOMPARE(r.augment.label_smoothing, 0.2);  // after the recipe
        QVERIFY(!r.augment.autoaugment);
        // Wrong types and unknown names are refused by name; another architecture's field too, by flag on the CLI.
        QVERIFY_THROWS_EXCEPTION(ConfigError, app::apply_field(r, "epochs", "many"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, app::apply_field(r, "warp_drive", 1));
        try {
            app::apply_field(r, "heads", 2, app::FieldNaming::Flag);
            QFAIL("a V-HMN took --heads");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("--heads is a ViT setting"), e.what());
        }
    }

    void expandsGridCasesAndSeeds() {
        app::SweepSpec s;
        s.out = "/tmp/x";
        s.base = {{"preset", "cpu-small"}, {"epochs", 3}, {"augment", "basic"}, {"label_smoothing", 0.1}};
        s.vary = {{"iterations", {0, 2}}};
        s.cases = {{{"local_slots", 100}}, {{"local_slots", 200}, {"beta_init", 0.5}}};
        s.seeds = {4, 5};
        const auto runs = app::expand_sweep(s);
        QCOMPARE(runs.size(), size_t(8));  // 2 cases × 2 T × 2 seeds
        QCOMPARE(runs[0].name, std::string("iterations=0_local_slots=100_seed=4"));  // fields by name
        QCOMPARE(runs[0].request.model.local_slots, int64_t(100));
        QCOMPARE(runs[0].request.model.dim, preset("cpu-small").dim);  // from the preset
        QCOMPARE(runs[0].request.train.epochs, int64_t(3));
        QCOMPARE(runs[0].request.augment.label_smoothing, 0.1);  // applied after the recipe
        QCOMPARE(runs[1].request.train.seed, uint64_t(5));
        QCOMPARE(runs[7].request.model.iterations, int64_t(2));
        QCOMPARE(runs[7].request.model.beta_init, 0.5);
        QCOMPARE(runs[7].request.out, std::string("/tmp/x/beta_init=0.5_iterations=2_local_slots=200_seed=5"));
        s.base["warp_drive"] = 1;
        QVERIFY_THROWS_EXCEPTION(ConfigError, app::expand_sweep(s));
        s.base.erase("warp_drive");
        s.base["epochs"] = -3;
        QVERIFY_THROWS_EXCEPTION(ConfigError, app::expand_sweep(s));
    }

    /// `arch` is a sweep field: every architecture at the preset's size, in the same recipe;
    /// a V-HMN-only field for a baseline is refused by name.
    void archIsASweepField() {
        app::SweepSpec s;
        s.out = "/tmp/x";
        s.base = {{"preset", "cpu-tiny"}, {"epochs", 2}};
        s.vary = {{"arch", {"vhmn", "vit", "mixer", "poolformer"}}};
        s.seeds = {0};
        const auto runs = app::expand_sweep(s);
        QCOMPARE(runs.size(), size_t(4));
        for (size_t i = 0; i < runs.size(); ++i) {
            const std::string arch = arch_names()[i];
            QCOMPARE(runs[i].request.model, preset("cpu-tiny", arch));
            QCOMPARE(runs[i].request.train.epochs, int64_t(2));
            QCOMPARE(runs[i].name, "arch=" + arch + "_seed=0");
        }
        s.base["iterations"] = 2;
        try {
            app::expand_sweep(s);
            QFAIL("a ViT took iterations");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("'iterations' is V-HMN-only"), e.what());
        }
        s.base.erase("iterations");
        s.vary = {{"arch", {"resnet"}}};
        QVERIFY_THROWS_EXCEPTION(ConfigError, app::expand_sweep(s));
    }

    /// The runs browser's Compare: runs differing only in seed are one case (mean ± sample std);
    /// another architecture is another case, with its own parameter count.
    void finalMetricsGroupSeeds() {
        auto config = [](const std::string& arch, int seed, double lr) {
            RunConfig c;
            c.preset = "cpu-tiny";
            c.model = preset("cpu-tiny", arch);
            c.train.seed = uint64_t(seed), c.train.lr = lr;
            c.data.mean = {0.1 * seed};  // differs between seeds' subsets: not part of the case
            return nlohmann::json(c);
        };
        std::vector<app::RunFinal> runs = {{"a", config("vhmn", 0, 1e-3), 50, 90}, {"b", config("vhmn", 1, 1e-3), 60, 92},
                                           {"c", config("vit", 0, 1e-3), 40, 80}, {"d", config("vit", 0, 2e-3), 45, 85},
                                           {"e", config("vit", 1, 2e-3), -1, -1}};  // unfinished: left out
        const Table t = app::final_metrics_table(runs);
        QCOMPARE(t.columns(), (std::vector<std::string>{"arch", "preset", "lr", "parameters", "runs", "test_top1", "test_top5"}));
        QCOMPARE(t.rows(), size_t(3));
        QCOMPARE(std::get<std::string>(t.at(0, 0)), std::string("V-HMN"));
        QCOMPARE(std::get<int64_t>(t.at(0, 4)), int64_t(2));
        QCOMPARE(std::get<std::string>(t.at(0, 5)), std::string("55.00 \xC2\xB1 7.07"));  // sd of {50, 60} = 7.07
        QCOMPARE(std::get<std::string>(t.at(1, 0)), std::string("ViT"));
        QCOMPARE(std::get<int64_t>(t.at(1, 3)), count_parameters(preset("cpu-tiny", "vit")));
        QCOMPARE(std::get<std::string>(t.at(2, 2)), std::string("0.002"));
        QCOMPARE(std::get<std::string>(t.at(2, 5)), std::string("45.00 \xC2\xB1 0.00"));
    }

    void badSweepFilesNameFileAndKey() {
        QTemporaryDir dir;
        auto expect = [&](const nlohmann::json& j, const std::string& needle) {
            const auto path = write_file(dir, "bad.json", j);
            try {
                app::read_sweep(path);
                QFAIL(("accepted: " + j.dump()).c_str());
            } catch (const FileError& e) {
                QVERIFY2(std::string(e.what()).find("bad.json") != std::string::npos, e.what());
                QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
            }
        };
        expect({{"vary", {{"fraction", 0.5}}}}, "vary.fraction");
        expect({{"seeds", {-1}}}, "seeds");
        expect({{"colour", "red"}}, "colour");
        expect({{"metrics", {"speed"}}}, "metrics");
        expect({{"base", {{"window", "big"}}}}, "window");
        const std::string broken = dir.filePath("broken.json").toStdString();
        write_text_atomically(broken, "{ \"name\": ");
        QVERIFY_THROWS_EXCEPTION(FileError, app::read_sweep(broken));
        QVERIFY_THROWS_EXCEPTION(FileError, app::read_sweep(dir.filePath("missing.json").toStdString()));
    }

    void shippedExamplesAreValid() {
        const fs::path dir = fs::path(VHMN_SOURCE_DIR) / "examples" / "sweeps";
        int n = 0;
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().extension() != ".json") continue;
            const auto spec = app::read_sweep(e.path().string());
            QVERIFY2(!app::expand_sweep(spec).empty(), e.path().c_str());
            ++n;
        }
        QVERIFY(n >= 12);  // Tables 1, 2, 3, 6, 7, 8: paper setting and CPU variant each
    }

    void resumesWithoutRepeatingRuns() {
        QTemporaryDir dir;
        const std::string out = dir.filePath("sweep").toStdString();
        const auto spec = app::read_sweep(write_file(dir, "s.json", small_sweep(out)));
        std::vector<std::string> actions;
        app::SweepCallbacks cb;
        cb.on_run = [&](size_t, size_t, const app::SweepRun& r, const std::string& what) { actions.push_back(what + " " + r.name); };

        // Interrupt: stop the sweep during its third run.
        TrainControl control;
        int epochs_seen = 0;
        cb.train.on_epoch = [&](const EpochStats&) {
            if (++epochs_seen == 2) control.stop();  // the next run starts and stops at its first step
        };
        auto first = app::run_sweep(spec, cb, &control);
        QVERIFY(first.stopped);
        QCOMPARE(first.runs.rows(), size_t(2));
        QCOMPARE(actions.size(), size_t(3));

        // Run again: the finished two are skipped, the stopped one starts afresh, the last trains.
        actions.clear();
        cb.train.on_epoch = nullptr;
        const auto mtime = fs::last_write_time(fs::path(out) / "fraction=0.5_seed=0" / "model.pt");
        auto second = app::run_sweep(spec, cb);
        QVERIFY(!second.stopped);
        QCOMPARE(second.skipped, size_t(2));
        QCOMPARE(second.trained, size_t(2));
        QCOMPARE(actions[0], std::string("skip fraction=0.5_seed=0"));
        QCOMPARE(actions[2], std::string("train fraction=1.0_seed=0"));
        QCOMPARE(fs::last_write_time(fs::path(out) / "fraction=0.5_seed=0" / "model.pt"), mtime);

        // A run interrupted after a checkpoint resumes from it.
        fs::remove(fs::path(out) / "fraction=1.0_seed=1" / "result.json");
        actions.clear();
        auto third = app::run_sweep(spec, cb);
        QCOMPARE(third.resumed, size_t(1));
        QCOMPARE(third.skipped, size_t(3));
        QCOMPARE(actions[3], std::string("resume fraction=1.0_seed=1"));

        // Summary: one row per fraction, mean and sample std over the two seeds.
        const auto& s = third.summary;
        QCOMPARE(s.rows(), size_t(2));
        QCOMPARE(s.columns(), (std::vector<std::string>{"fraction", "parameters", "seeds", "test_top1_mean",
                                                         "test_top1_std", "train_loss_mean", "train_loss_std"}));
        // Parameters of the model as trained (its run's config: inputs and classes from the data).
        QCOMPARE(int64_t(s.numbers("parameters")[0]),
                 count_parameters(read_run_config((fs::path(out) / "fraction=0.5_seed=0").string()).model));
        const auto top1 = third.runs.numbers("test_top1");  // runs in order: f0.5 s0, s1, f1.0 s0, s1
        QCOMPARE(third.runs.rows(), size_t(4));
        const double mean = (top1[2] + top1[3]) / 2, sd = std::abs(top1[2] - top1[3]) / std::sqrt(2.0);
        QVERIFY(std::abs(s.numbers("test_top1_mean")[1] - mean) < 1e-9);
        QVERIFY(std::abs(s.numbers("test_top1_std")[1] - sd) < 1e-9);
        for (const char* f : {"results.csv", "results.md", "results.tex", "runs.csv", "sweep.json"})
            QVERIFY2(fs::exists(fs::path(out) / f), f);
        const std::string md = read_text_file((fs::path(out) / "results.md").string());
        QVERIFY2(md.find("\xC2\xB1") != std::string::npos, md.c_str());
        const std::string tex = read_text_file((fs::path(out) / "results.tex").string());
        QVERIFY2(tex.find("$\\pm$") != std::string::npos && tex.find("\\caption{test sweep") != std::string::npos, tex.c_str());
        QVERIFY2(tex.find("\xC2\xB1") == std::string::npos, "a raw \u00b1 left in the LaTeX table");
    }
};

VHMN_TEST_SUITE(TestSweep);
#include "test_sweep.moc"
