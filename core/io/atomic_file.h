#pragma once
// Atomic file writes: write to a temporary file beside the target, then rename over it. A crash
// or error midway leaves the previous file untouched.
#include <functional>
#include <string>

namespace vhmn {

/// `write(tmp_path)` fills the temporary file; on success it replaces `path`.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);
/// Convenience: write a text file atomically.
void write_text_atomically(const std::string& path, const std::string& text);
/// Read a whole text file (FileError if missing/unreadable).
std::string read_text_file(const std::string& path);

}  // namespace vhmn
