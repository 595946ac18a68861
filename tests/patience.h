#pragma once
// How long a test waits for something it expects (a process to exit, a file to appear): the
// suite's own Qt Test watchdog, less a margin. ctest sets QTEST_FUNCTION_TIMEOUT per suite from its
// idle time × 4 (tests/CMakeLists.txt), so a busy machine slows a test without failing it, and a
// hung process still fails at its own wait, with its own message, before the watchdog aborts.
#include <algorithm>
#include <cstdlib>
#include <string>

namespace vhmn::test {

/// Milliseconds to wait: the watchdog (QTEST_FUNCTION_TIMEOUT, ms; Qt's default 300 s when unset)
/// less 10 % and 5 s, and never less than `at_least_ms`.
inline int patience_ms(int at_least_ms = 30000) {
    long watchdog = 300000;
    if (const char* v = std::getenv("QTEST_FUNCTION_TIMEOUT")) {
        try {
            watchdog = std::stol(v);
        } catch (...) {
        }
    }
    const long wait = watchdog - watchdog / 10 - 5000;
    return int(std::clamp<long>(wait, at_least_ms, 24L * 3600 * 1000));
}

}  // namespace vhmn::test
