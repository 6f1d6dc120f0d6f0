#include "scanfilter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace eyrie {

namespace {

// libc.so.6, libfoo.so.1.2.3: filter.ts's /\.so(\.\d+)+$/ with the first ".so" not at the start
bool versionedLibrary(const std::string& name) {
  if (name.find(".so") == 0 || name.find(".so") == std::string::npos) return false;
  // strip ".<digits>" groups from the end; after any of them the rest may end in ".so"
  size_t end = name.size();
  for (;;) {
    size_t i = end;
    while (i > 0 && std::isdigit(static_cast<unsigned char>(name[i - 1]))) i--;
    if (i == end || i == 0 || name[i - 1] != '.') return false;
    end = i - 1;
    if (end >= 3 && name.compare(end - 3, 3, ".so") == 0) return true;
  }
}

}  // namespace

std::string extensionOf(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (versionedLibrary(name)) return "so";
  size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? "" : name.substr(dot + 1);
}

bool ScanFilter::worthAsking(const std::string& path) const {
  // a name that is not there (a compiler probing its include directories, the loader its library
  // paths: thousands per build) cannot be opened for reading, and the decider passes what is not a
  // regular file: neither is worth a round trip, with or without the filter
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return errno != ENOENT && errno != ENOTDIR;
  return S_ISREG(st.st_mode) && passes(path, path);
}

bool ScanFilter::passes(const std::string& path, const std::string& content) const {
  return byName(path) || byMagic(content).value_or(true);
}

bool ScanFilter::byName(const std::string& path) const {
  if (all) return true;
  // JavaScript lower-cases beyond ASCII (the Kelvin sign becomes k): such a name is its to judge
  auto name = path.begin() + static_cast<std::ptrdiff_t>(path.rfind('/') + 1);
  if (std::any_of(name, path.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; })) return true;
  std::string ext = extensionOf(path);
  return !ext.empty() && extensions.count(ext) > 0;
}

std::optional<bool> ScanFilter::byMagic(const std::string& content) const {
  size_t want = 0;
  for (const auto& m : magic) want = std::max(want, m.size());
  // O_NONBLOCK: the file may have become a FIFO since the stat
  int fd = open(content.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  std::string head(want, '\0');
  ssize_t n = pread(fd, head.data(), want, 0);
  close(fd);
  if (n < 0) return std::nullopt;
  head.resize(static_cast<size_t>(n));
  for (const auto& m : magic)
    if (head.size() >= m.size() && head.compare(0, m.size(), m) == 0) return true;
  return false;
}

}  // namespace eyrie
