// Internals shared by the H5File sources (hdf5_file.cpp, hdf5_stream.cpp, hdf5_verify.cpp):
// owned HDF5 identifiers, the call checker that turns HDF5 failures into linea errors, and
// the memory types of tensor dtypes. Nothing outside core/io includes this.
#pragma once
#include <hdf5.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "core/io/hdf5_file.h"

namespace linea::h5detail {

static_assert(std::is_same<hid_t, int64_t>::value, "H5File stores hid_t as int64_t");

// The innermost message on HDF5's error stack (the most specific reason), then clears it.
std::string hdf5_reason();

// HDF5 verifies the checksums of a 1.10-format file's metadata as it loads it; a mismatch
// surfaces as an error whose reason names the checksum.
inline bool is_checksum_failure(const std::string& reason) { return reason.find("checksum") != std::string::npos; }

// Returns `result` unless it is negative (HDF5's failure value), else throws naming the call
// and the object; a metadata checksum failure is reported as damage to that object.
template <class R>
R checked(const H5File& file, R result, const char* call, const std::string& object, const char* source, int line) {
  if (result >= 0) return result;
  const std::string function(call, std::strcspn(call, "("));
  const std::string reason = hdf5_reason();
  if (is_checksum_failure(reason))
    file.fail(str_cat(object, ": damaged HDF5 metadata (", function, ": ", reason, "), expected an intact file"));
  const char* slash = std::strrchr(source, '/');
  file.fail(str_cat("HDF5 ", function, " failed on '", object, "': ", reason, " (", slash ? slash + 1 : source, ":",
                    line, ")"));
}
#define H5_CHECKED(call, object) ::linea::h5detail::checked(*this, (call), #call, (object), __FILE__, __LINE__)

// An owned HDF5 identifier, closed with the matching H5*close.
class H5Id {
 public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Id() {
    if (id_ >= 0) close_(id_);
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  operator hid_t() const { return id_; }
  hid_t release() {  // the caller closes it now
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// The in-memory HDF5 type of a tensor dtype (a fresh copy the caller closes).
hid_t new_memory_type(DType dtype);

// Attribute and dataset names of the checksums (docs/architecture.md, "File formats").
constexpr const char* kChecksumAttr = "checksum";        // on "/": the algorithm, "xxh64"
constexpr const char* kDigestAttr = "xxh64";             // on a tensor dataset: hex digest of its bytes
constexpr const char* kBlockAttr = "xxh64_block";        // on a stream: elements per checksummed block
inline std::string block_digests(const std::string& stream) { return stream + "_xxh64"; }

}  // namespace linea::h5detail
