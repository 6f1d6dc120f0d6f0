// Which opens are worth asking the decider about (record --scan). The scanner's filter
// (src/scanner/filter.ts) judges an open by its name's extension and its first bytes; asking it
// about every open for reading is a round trip to JavaScript while the program waits (a compiler
// reads thousands of headers). The tracer applies the same test first, on the same bytes (the page
// cache is what the program will read), and asks only when it passes or cannot tell, so the
// decider sees a superset of what its filter would scan. Names that are not there, or are no regular
// file, are never asked about (the decider passes them), --scan-all included.
#pragma once
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace eyrie {

struct ScanFilter {
  /** ask about every open that can read (--scan-all, or no filter given) */
  bool all = true;
  /** lower case, without the dot */
  std::unordered_set<std::string> extensions;
  std::vector<std::string> magic;

  /** path is canonical. False when it names nothing or no regular file; else true with `all`, when its
   *  extension is listed (or its name is not plain ASCII), when its first bytes are a listed magic, or
   *  when it cannot be stat'ed or read to tell. */
  bool worthAsking(const std::string& path) const;
  /** For a regular file: true with `all`, when the last name of `path` has a listed extension (or is
   *  not plain ASCII), or when the first bytes read through `content` (the same file, by any name)
   *  are a listed magic or cannot be read. */
  bool passes(const std::string& path, const std::string& content) const;
  /** true with `all`, or when the last name of `path` has a listed extension (or is not plain ASCII) */
  bool byName(const std::string& path) const;
  /** Whether the first bytes read through `content` are a listed magic; nullopt when they cannot be
   *  read to tell. */
  std::optional<bool> byMagic(const std::string& content) const;
};

/** The extension as filter.ts extensionOf reads it: the last component's, lower case; `.so.N...`
 *  counts as `so`; "" when there is none (a leading dot is not one). */
std::string extensionOf(const std::string& path);

}  // namespace eyrie
