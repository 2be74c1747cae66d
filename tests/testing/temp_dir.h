#ifndef TIERSCORE_TESTS_TESTING_TEMP_DIR_H_
#define TIERSCORE_TESTS_TESTING_TEMP_DIR_H_

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tierscore::testing {

// A fresh directory under $TEST_TMPDIR or /tmp, removed with its contents
// when the object goes away.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/tierscore-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `text` to a file in the directory and returns its path.
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") {
      gzFile gz = gzopen(p.c_str(), "wb");
      gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
      gzclose(gz);
    } else {
      std::ofstream(p, std::ios::binary) << text;
    }
    return p;
  }

  static std::string Read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string path_;
};

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_TEMP_DIR_H_
