#include "core/io/atomic_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/error.h"

namespace vhmn {
namespace fs = std::filesystem;

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
    const fs::path target(path);
    std::error_code ec;
    if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    try {
        write(tmp);
    } catch (const FileError&) {
        fs::remove(tmp, ec);
        throw;
    } catch (const std::exception& e) {
        fs::remove(tmp, ec);
        throw FileError(path, std::string("cannot write: ") + e.what());
    }
    fs::rename(tmp, target, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw FileError(path, "cannot replace file: " + ec.message());
    }
}

void write_text_atomically(const std::string& path, const std::string& text) {
    write_atomically(path, [&](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw FileError(tmp, "cannot open for writing");
        out << text;
        out.flush();
        if (!out) throw FileError(tmp, "write failed (disk full?)");
    });
}

std::string read_text_file(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw FileError(path, "no such file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FileError(path, "cannot open for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace vhmn
