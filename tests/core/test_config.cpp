// Config presets, validation and JSON.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <QtTest>

#include "core/models/config.h"
#include "core/error.h"
#include "tests/suite.h"

using namespace vhmn;

class TestConfig : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void presetsMatchTheDesign() {
        for (const auto& name : preset_names()) preset(name).validate();
        const auto p = preset("paper-small");
        QCOMPARE(p.dim, int64_t(300));
        QCOMPARE(p.depth, int64_t(6));
        QCOMPARE(p.local_slots, int64_t(2500));
        QCOMPARE(p.global_slots, int64_t(1000));
        QCOMPARE(p.beta_init, 0.2);
        QCOMPARE(p.iterations, int64_t(1));
        const auto im = preset("paper-imagenet");
        QCOMPARE(im.patch, int64_t(14));
        QCOMPARE(im.depth, int64_t(12));
        QCOMPARE(im.tokens(), int64_t(256));
        QCOMPARE(preset("cpu-tiny").local_per_class(), int64_t(50));
    }

    void unknownPresetListsKnownNames() {
        try {
            preset("huge");
            QFAIL("expected an error");
        } catch (const ConfigError& e) {
            QVERIFY(QString(e.what()).contains("huge") && QString(e.what()).contains("cpu-tiny"));
        }
    }

    void nonsenseValuesNameTheField_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<int>("value");
        QTest::newRow("even window") << "window" << 4;
        QTest::newRow("patch not dividing") << "patch" << 5;
        QTest::newRow("negative dim") << "dim" << -3;
        QTest::newRow("zero depth") << "depth" << 0;
        QTest::newRow("too few local slots") << "local_slots" << 5;
        QTest::newRow("negative T") << "iterations" << -1;
        QTest::newRow("too many writes") << "tokens_per_image" << 1000;
    }
    void nonsenseValuesNameTheField() {
        QFETCH(QString, field);
        QFETCH(int, value);
        nlohmann::json j = preset("cpu-tiny");
        j[field.toStdString()] = value;
        auto cfg = j.get<ModelConfig>();
        try {
            cfg.validate();
            QFAIL("expected a ConfigError");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains(field), e.what());
        }
    }

    void betaOutOfRange() {
        auto c = preset("cpu-tiny");
        c.beta_init = 1.5;
        QVERIFY_THROWS_EXCEPTION(ConfigError, c.validate());
        c.beta_init = std::nan("");
        QVERIFY_THROWS_EXCEPTION(ConfigError, c.validate());
    }

    void jsonRoundTrip() {
        auto c = preset("paper-small");
        c.beta_init = 0.4;
        c.iterations = 3;
        nlohmann::json j = c;
        QCOMPARE(j["dim"].get<int>(), 300);
        auto back = nlohmann::json::parse(j.dump()).get<ModelConfig>();
        QVERIFY(back == c);
    }

    void jsonErrorsNameTheKey() {
        try {
            nlohmann::json::parse(R"({"dimm": 3})").get<ModelConfig>();
            QFAIL("unknown key accepted");
        } catch (const ConfigError& e) {
            QVERIFY(QString(e.what()).contains("dimm"));
        }
        try {
            nlohmann::json::parse(R"({"depth": "six"})").get<ModelConfig>();
            QFAIL("string accepted for an integer");
        } catch (const ConfigError& e) {
            QVERIFY(QString(e.what()).contains("depth"));
        }
    }

    void shapeDifferencesIgnoreRuntimeFields() {
        auto a = preset("cpu-tiny");
        auto b = a;
        b.iterations = 3;
        b.beta_init = 0.8;
        QVERIFY(a.shape_differences(b).empty());
        b.window = 5;
        QCOMPARE(a.shape_differences(b).size(), size_t(1));
        QCOMPARE(QString::fromStdString(a.shape_differences(b)[0]), QString("window: 3 vs 5"));
    }
};

VHMN_TEST_SUITE(TestConfig);
#include "test_config.moc"
