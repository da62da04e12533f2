// Guards against a code-generation bug: GCC 12.2 with -O3 -march=native (AVX-512) and SLP
// vectorization passes the braced list {1, 1, 1, 0} to a std::vector<int64_t> parameter as
// {1, 1, 1, 1} (see the top-level CMakeLists.txt, which turns SLP vectorization off).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

// noinline keeps the call and its constant-array construction as the bug needs them.
__attribute__((noinline)) std::vector<int64_t> concat(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> out(a);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

__attribute__((noinline)) std::vector<int64_t> call_with_constants() { return concat({1, 2, 2, 0}, {1, 1, 1, 0}); }

TEST(Compiler, SmallIntegerConstantListsArriveIntact) {
  EXPECT_EQ(call_with_constants(), (std::vector<int64_t>{1, 2, 2, 0, 1, 1, 1, 0}));
}

}  // namespace
