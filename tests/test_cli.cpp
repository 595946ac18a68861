// The `vhmn` CLI run as a user would: exit codes, JSON, error messages.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QtTest>

#include "core/config.h"
#include "core/stats.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

struct Result {
    int code;
    QString out, err;
};

Result run_cli(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(VHMN_CLI_PATH), args);
    if (!p.waitForFinished(120000)) return {-1, {}, "timeout"};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2,
            QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void infoJson_data() {
        QTest::addColumn<QString>("name");
        for (const auto& n : preset_names()) QTest::newRow(n.c_str()) << QString::fromStdString(n);
    }
    void infoJson() {
        QFETCH(QString, name);
        auto r = run_cli({"info", "--preset", name, "--json"});
        QCOMPARE(r.code, 0);
        auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["parameters"].get<int64_t>(), count_parameters(preset(name.toStdString())));
        QCOMPARE(j["forward_flops_per_image"].get<int64_t>(), forward_flops(preset(name.toStdString())));
        QVERIFY(j["local_slots_per_block"].get<int64_t>() > 0);
    }

    void infoText() {
        auto r = run_cli({"info", "--preset", "cpu-tiny"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("Parameters"));
    }

    void badFlagValuesFailCleanly_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("unknown preset") << QStringList{"info", "--preset", "huge"} << "--preset";
        QTest::newRow("negative classes") << QStringList{"info", "--classes", "-2"} << "--classes";
        QTest::newRow("size not multiple of patch") << QStringList{"info", "--image-size", "30"} << "patch";
        QTest::newRow("no command") << QStringList{} << "subcommand";
    }
    void badFlagValuesFailCleanly() {
        QFETCH(QStringList, args);
        QFETCH(QString, mentions);
        auto r = run_cli(args);
        QVERIFY2(r.code > 0, qPrintable(QString::number(r.code)));
        QVERIFY2(r.err.contains(mentions), qPrintable(r.err));
    }
};

VHMN_TEST_SUITE(TestCli);
#include "test_cli.moc"
