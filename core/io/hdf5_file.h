// H5File: an RAII HDF5 file holding tensors, attributes and extendable 1-D streams, the
// on-disk format of checkpoints and token shards. Every failure is one linea error.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace linea {

// Which exception an H5File throws: CheckpointError (checkpoints) or DataError (shards).
enum class H5Errors { checkpoint, data };

// Element type of an extendable 1-D stream (token ids, document offsets).
enum class StreamElement { u16, u32, i64 };

// Object paths are absolute: "/model/layers.0.self_attn.q_proj.weight" is the dataset
// "layers.0.self_attn.q_proj.weight" in group "/model"; only '/' separates groups.
//
// Tensor datasets keep their dtype: f32, f64, i32, i64 and u8 map to the matching HDF5
// types, f16 to an IEEE half float (h5py reads it as float16), and bf16 to uint16 bit
// patterns with the attribute linea_dtype = "bf16". Other integer datasets (e.g. uint16
// token streams) read back as i32 or i64, whichever holds every value. Tensors are written
// from any device and layout and read back contiguous on the CPU.
class H5File {
 public:
  // A new file at `path`, replacing any existing one.
  static H5File create(const std::string& path, H5Errors errors = H5Errors::checkpoint);
  // An existing file, read-only. A missing file, a non-HDF5 file and a truncated one throw
  // with "no such file: <path>" or "not an HDF5 file or truncated: <path>".
  static H5File open_read(const std::string& path, H5Errors errors = H5Errors::checkpoint);

  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&& other) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  ~H5File();  // closes quietly; call close() to see errors

  const std::string& path() const { return path_; }
  bool is_open() const { return id_ >= 0; }
  void flush();
  void close();

  bool exists(const std::string& object) const;
  // Names of the members of a group, sorted.
  std::vector<std::string> list(const std::string& group = "/") const;

  // Writes a dataset (intermediate groups created); the path must not exist yet.
  void write_tensor(const std::string& object, const Tensor& tensor);
  Tensor read_tensor(const std::string& object) const;
  Shape dataset_shape(const std::string& object) const;

  // Extendable, chunked 1-D datasets written piece by piece and read by hyperslab.
  void create_stream(const std::string& object, StreamElement element, int64_t chunk_elements);
  // Appends a 1-D integer tensor, converting to the stream's element type; values must fit.
  void append(const std::string& object, const Tensor& values);
  int64_t length(const std::string& object) const;  // elements of a 1-D dataset
  // Elements [start, start + count) of a 1-D dataset as a CPU tensor of `dtype`.
  Tensor read_range(const std::string& object, int64_t start, int64_t count, DType dtype = DType::i64) const;

  // Scalar attributes on "/" or any group or dataset; setting one replaces it.
  void set_string_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_int_attr(const std::string& object, const std::string& name, int64_t value);
  void set_double_attr(const std::string& object, const std::string& name, double value);
  bool has_attr(const std::string& object, const std::string& name) const;
  std::string string_attr(const std::string& object, const std::string& name) const;
  int64_t int_attr(const std::string& object, const std::string& name) const;
  double double_attr(const std::string& object, const std::string& name) const;

  // Throws this file's exception type with "<path>: <message>".
  [[noreturn]] void fail(const std::string& message) const;

 private:
  H5File(int64_t id, std::string path, H5Errors errors) : id_(id), path_(std::move(path)), errors_(errors) {}
  int64_t open_object(const std::string& object) const;  // group or dataset, checked
  int64_t open_dataset(const std::string& object) const;
  int64_t open_attr(const std::string& object, const std::string& name) const;
  void set_attr(const std::string& object, const std::string& name, int64_t type, const void* value);

  int64_t id_ = -1;  // hid_t
  std::string path_;
  H5Errors errors_ = H5Errors::checkpoint;
};

}  // namespace linea
