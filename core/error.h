// Typed exceptions for every linea library and the check macros that raise them.
// User errors (bad config, data, checkpoint, shapes) are subclasses the CLI maps to exit 2.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace linea {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};
// A tensor of the wrong shape, dtype or device reached an op.
class ShapeError : public Error { using Error::Error; };
class ConfigError : public Error { using Error::Error; };
class DataError : public Error { using Error::Error; };
class CheckpointError : public Error { using Error::Error; };
// A broken invariant inside linea: a bug, not a user mistake.
class InternalError : public Error { using Error::Error; };

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

// Concatenates anything streamable into one message.
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

[[noreturn]] void throw_internal(const char* file, int line, const char* cond, const std::string& msg);

}  // namespace linea

// User-facing check: throws ExcType with the streamed message.
#define LINEA_CHECK_T(ExcType, cond, ...)                       \
  do {                                                          \
    if (!(cond)) throw ExcType(::linea::str_cat(__VA_ARGS__));  \
  } while (0)
#define LINEA_CHECK(cond, ...) LINEA_CHECK_T(::linea::ShapeError, cond, __VA_ARGS__)

// Internal invariant; stays on in release builds.
#define LINEA_ASSERT(cond, ...)                                                              \
  do {                                                                                       \
    if (!(cond)) ::linea::throw_internal(__FILE__, __LINE__, #cond, ::linea::str_cat(__VA_ARGS__)); \
  } while (0)
