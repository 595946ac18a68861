#include <cstring>
#include <iostream>
#include <vector>

#include <torch/torch.h>

#ifdef VHMN_TESTS_WITH_GUI
#include <QApplication>
using TestApplication = QApplication;
#else
#include <QCoreApplication>
using TestApplication = QCoreApplication;  // headless build: core, datasets and CLI suites only
#endif
#include <QtTest>

#include "core/runtime.h"
#include "tests/suite.h"

namespace vhmn::test {
std::map<std::string, SuiteFactory>& suites() {
    static std::map<std::string, SuiteFactory> s;
    return s;
}
}  // namespace vhmn::test

int main(int argc, char** argv) {
    auto& all = vhmn::test::suites();
    if (argc < 2 || all.find(argv[1]) == all.end()) {
        std::cerr << "usage: vhmn_tests <Suite> [QTest options]\nsuites:";
        for (const auto& [name, make] : all) std::cerr << " " << name;
        std::cerr << "\n";
        return 2;
    }
    vhmn::configure_allocator();  // the product's allocation policy, as in vhmn and vhmn-studio
    torch::set_num_threads(2);
    TestApplication app(argc, argv);
    auto suite = all[argv[1]]();
    std::vector<char*> args{argv[0]};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    return QTest::qExec(suite.get(), int(args.size()), args.data());
}
