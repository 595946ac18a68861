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
    // --require-cuda: a GPU-only selection (ctest's AppCuda) exits 77, "skipped", without a GPU.
    std::vector<char*> rest;
    bool require_cuda = false;
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "--require-cuda") == 0) require_cuda = true;
        else rest.push_back(argv[i]);
    }
    if (require_cuda && !vhmn::cuda_available()) {
        std::cout << "no CUDA GPU visible (or no CUDA in this build): skipped\n";
        return 77;
    }
    vhmn::configure_allocator();  // the product's allocation policy, as in vhmn and vhmn-studio
    torch::set_num_threads(2);
    TestApplication app(argc, argv);
    auto suite = all[argv[1]]();
    std::vector<char*> args{argv[0]};
    args.insert(args.end(), rest.begin(), rest.end());
    return QTest::qExec(suite.get(), int(args.size()), args.data());
}
