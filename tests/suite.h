#pragma once
// All Qt Test suites are linked into one binary (one precompiled torch header for all of them);
// `vhmn_tests <Suite> [QTest options]` runs one suite, and ctest registers one test per suite.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <QObject>

namespace vhmn::test {

using SuiteFactory = std::function<std::unique_ptr<QObject>()>;
std::map<std::string, SuiteFactory>& suites();

struct RegisterSuite {
    RegisterSuite(const char* name, SuiteFactory make) { suites()[name] = std::move(make); }
};

}  // namespace vhmn::test

#define VHMN_TEST_SUITE(Class)                                                     \
    static ::vhmn::test::RegisterSuite vhmn_register_##Class(#Class, [] {           \
        return std::unique_ptr<QObject>(new Class);                                  \
    })
