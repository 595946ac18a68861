#pragma once
// Running the `vhmn` CLI from a suite as a user would (exit code, stdout, stderr).
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include "tests/patience.h"

namespace vhmn::test {

struct CliResult {
    int code;  ///< exit code; -1 timeout, -2 crash
    QString out, err;
};

inline CliResult run_cli(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) {
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(VHMN_CLI_PATH), args);
    if (!p.waitForFinished(patience_ms())) return {-1, {}, "timeout"};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2,
            QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

}  // namespace vhmn::test
