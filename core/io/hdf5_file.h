// H5File: an RAII HDF5 file holding tensors, attributes and extendable 1-D streams, the
// on-disk format of checkpoints and token shards, with a checksum on everything it writes.
// Every failure is one linea error.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/io/xxh64.h"
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
//
// Integrity: files are written in HDF5's 1.10 format, whose metadata (superblock, object
// headers holding the attributes, links, shapes and types, chunk indexes) carries checksums
// HDF5 verifies whenever it loads it, and with the root attribute checksum = "xxh64". Every
// tensor dataset gets the attribute xxh64 (the hex XXH64 of its bytes as stored); every
// stream the attribute xxh64_block (elements per block: its chunk size, at most 8192) and
// the tensor dataset <stream>_xxh64 (int64 bit patterns of the XXH64 of each block's
// stored bytes). Every read checks them: a mismatch throws "<path>: <dataset>: damaged
// data: ..., expected ..." and damaged metadata "<path>: <object>: damaged HDF5 metadata
// (...)". Files without the root attribute (older linea) are read unverified, saying so
// once per process for checkpoints and once for token shards.
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
  ~H5File();  // finishes streams and closes quietly; call close() to see errors

  const std::string& path() const { return path_; }
  bool is_open() const { return id_ >= 0; }
  // Whether the file carries checksums (every file H5File writes does).
  bool checksummed() const { return checksummed_; }
  void flush();
  // Writes the block checksums of the streams created in this file, then closes it.
  void close();

  bool exists(const std::string& object) const;
  // Names of the members of a group, sorted.
  std::vector<std::string> list(const std::string& group = "/") const;

  // Writes a dataset (intermediate groups created); the path must not exist yet.
  void write_tensor(const std::string& object, const Tensor& tensor);
  // Reads a whole dataset (a stream too), verifying its checksum.
  Tensor read_tensor(const std::string& object) const;
  // Reads the datasets in order, handing each to `consume` on this thread as soon as it is
  // read while a second thread verifies the checksums of those read before (so `consume`
  // must not modify it); throws for the first damaged one once all are read (so `consume`
  // may have seen its data: callers drop what they built from a read that throws). Loads
  // checkpoints at nearly the speed of unchecked reads.
  void read_tensors(const std::vector<std::string>& objects,
                    const std::function<void(size_t index, const Tensor& tensor)>& consume) const;
  Shape dataset_shape(const std::string& object) const;

  // Extendable, chunked 1-D datasets written piece by piece and read by hyperslab, with a
  // checksum per block of elements. Reads of a stream still being written are refused.
  void create_stream(const std::string& object, StreamElement element, int64_t chunk_elements);
  // Appends a 1-D integer tensor, converting to the stream's element type; values must fit.
  void append(const std::string& object, const Tensor& values);
  int64_t length(const std::string& object) const;  // elements of a 1-D dataset
  // Elements [start, start + count) of a 1-D dataset as a CPU tensor of `dtype`. A stream
  // is read and verified in whole blocks (the ones the range touches), any other dataset whole.
  Tensor read_range(const std::string& object, int64_t start, int64_t count, DType dtype = DType::i64) const;

  // Reads every dataset (verifying its checksums) and loads every attribute of every
  // object. `damaged` holds one error message per damaged object (a damaged group hides
  // what is below it).
  struct VerifyReport {
    bool checksummed = false;              // false: read, but damage could not be detected
    int64_t datasets = 0, attributes = 0;  // read intact
    std::vector<std::string> damaged;
  };
  VerifyReport verify() const;
  // Opens and verifies `path`; a file that does not open is one damage message.
  static VerifyReport verify_file(const std::string& path, H5Errors errors = H5Errors::checkpoint);

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
  // Creates the missing groups above `object`, without timestamps.
  void create_parent_groups(const std::string& object);
  // The string attribute `name` of the open object `obj` (false when it has none).
  bool find_string_attr(int64_t obj, const std::string& object, const std::string& name, std::string& value) const;
  std::string read_string_attr(int64_t attr, const std::string& where) const;
  int64_t read_int_attr(int64_t attr, const std::string& where) const;
  Shape shape_of(int64_t dset, const std::string& object) const;
  // Attributes of an open object (the public setters open `object` first).
  void set_attr(int64_t obj, const std::string& object, const std::string& name, int64_t type, const void* value);
  void set_string_attr(int64_t obj, const std::string& object, const std::string& name, const std::string& value);
  // Elements [start, start + count) of an open 1-D dataset into `out`, as `mem_type`.
  void read_elements(int64_t dset, const std::string& object, int64_t mem_type, int64_t start, int64_t count,
                     void* out) const;
  // Elements of the open stream `dset`, read and verified in whole blocks.
  Tensor read_stream_range(int64_t dset, const std::string& object, int64_t start, int64_t count, DType dtype) const;
  int64_t length_of(int64_t dset, const std::string& object) const;
  // Creates and fills a dataset, `written` being the CPU contiguous tensor written; returns
  // the open dataset (hid_t, the caller closes it) for its checksum attribute.
  int64_t write_data(const std::string& object, const Tensor& tensor, Tensor& written);
  // A dataset's contents and, in `want_digest`, the xxh64 they must have: "" when nothing is
  // left to check (a stream, whose blocks are checked as read, or a file without checksums).
  Tensor read_contents(const std::string& object, std::string& want_digest) const;
  // Throws naming `object` as damaged unless `got` is the digest `want`.
  void check_digest(const std::string& object, const std::string& want, uint64_t got) const;
  // Says once per process and error kind that a file without checksums is read unverified.
  void note_unverified() const;
  void finish_streams();
  void close_quietly() noexcept;  // finishes streams and closes, ignoring errors
  void verify_group(const std::string& group, VerifyReport& report) const;
  int64_t count_attributes(const std::string& object) const;

  // A stream being written: the checksum of its current block and those of the blocks done.
  struct StreamChecksums {
    int64_t block_bytes = 0;
    Xxh64 block;
    int64_t block_fill = 0;  // bytes in the current block
    std::vector<uint64_t> digests;
  };

  int64_t id_ = -1;  // hid_t
  std::string path_;
  H5Errors errors_ = H5Errors::checkpoint;
  bool checksummed_ = false;
  std::map<std::string, StreamChecksums> streams_;  // created in this file, finished by close()
};

}  // namespace linea
